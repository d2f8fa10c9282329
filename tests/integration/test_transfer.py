# SPDX-License-Identifier: GPL-2.0-or-later
"""den save / load / export, and images traded with podman."""
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from test_den_run import den, image  # noqa: F401 (fixtures)
from test_store import make_tar, store_is_clean


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive", "oci-dir"])
def test_save_load_round_trip(den, image, tmp, fmt):
    out = os.path.join(tmp, "saved" + ("" if fmt == "oci-dir" else ".tar"))
    den("save", "--format", fmt, "-o", out, image)
    digest = json.loads(den("inspect", image).stdout)[0]["Digest"]
    other = os.path.join(tmp, "other-store")
    p = subprocess.run([den.cmd()[0], "--root", other, "--runroot", den.runroot, "load", "-i", out],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "Loaded image: localhost/busybox:latest" in p.stdout
    p = subprocess.run([den.cmd()[0], "--root", other, "--runroot", den.runroot, "run", "--rm", "busybox",
                        "/bin/denprobe", "ids"], capture_output=True, text=True)
    assert p.returncode == 0 and "uid=0" in p.stdout, p.stderr
    info = json.loads(subprocess.run([den.cmd()[0], "--root", other, "inspect", "busybox"], capture_output=True,
                                     text=True).stdout)[0]
    if fmt != "docker-archive":
        assert info["Digest"] == digest  # an OCI layout keeps the manifest byte for byte


def test_load_from_stdin_and_errors(den, image, tmp):
    out = os.path.join(tmp, "s.tar")
    den("save", "-o", out, image)
    den("rmi", image)
    with open(out, "rb") as f:
        assert "Loaded image" in den("load", stdin=f).stdout
    p = den("save", "-o", os.path.join(tmp, "x.tar"), "nosuch", check=False)
    assert p.returncode != 0 and "not found" in p.stderr and not os.path.exists(os.path.join(tmp, "x.tar"))
    p = den("save", "--format", "zip", image, check=False)
    assert p.returncode == 2 and "--format 'zip'" in p.stderr
    junk = os.path.join(tmp, "junk.tar")
    make_tar(junk, [("hello", "file", {})])
    p = den("load", "-i", junk, check=False)
    assert p.returncode != 0 and "neither an OCI layout" in p.stderr


def fresh(den, tmp):
    root = os.path.join(tmp, "fresh")

    def run(*a, **kw):
        return subprocess.run([den.cmd()[0], "--root", root, *a], capture_output=True, text=True, **kw)
    run.root = root
    return run


def test_hostile_archives_are_refused(den, image, tmp):
    # manifest.json naming a file outside the archive
    bad = os.path.join(tmp, "bad.tar")
    manifest = json.dumps([{"Config": "../../../../etc/passwd", "RepoTags": ["evil:latest"], "Layers": []}]).encode()
    make_tar(bad, [("manifest.json", "file", {"data": manifest})])
    f = fresh(den, tmp)
    p = f("load", "-i", bad)
    assert p.returncode != 0 and "etc/passwd" in p.stderr
    store_is_clean(f.root)
    # an archive entry escaping
    make_tar(bad, [("../escape", "file", {})])
    p = f("load", "-i", bad)
    assert p.returncode != 0 and "escapes" in p.stderr
    store_is_clean(f.root)
    # an OCI layout whose layer bytes do not match their digest
    lay = os.path.join(tmp, "layout")
    den("save", "--format", "oci-dir", "-o", lay, image)
    idx = json.load(open(os.path.join(lay, "index.json")))
    man = json.load(open(os.path.join(lay, "blobs", "sha256", idx["manifests"][0]["digest"][7:])))
    layer = os.path.join(lay, "blobs", "sha256", man["layers"][0]["digest"][7:])
    with open(layer, "r+b") as fh:
        fh.seek(600)
        fh.write(b"tampered")
    p = f("load", "-i", lay)
    assert p.returncode != 0 and "digest mismatch" in p.stderr
    store_is_clean(f.root)


def test_export_a_running_container(den, image, tmp):
    den("run", "-d", "--name", "ex", image, "sh", "-c", "echo mark > /marker; sleep 100")
    import time
    time.sleep(0.3)
    out = os.path.join(tmp, "rootfs.tar")
    den("export", "-o", out, "ex")
    with tarfile.open(out) as t:
        names = t.getnames()
        assert "marker" in names and "bin/denprobe" in names
        assert t.extractfile("marker").read() == b"mark\n"
        # proc and friends are mount points: their directories, not their contents
        assert not any(n.startswith("proc/") for n in names)
    # and a stopped one
    den("stop", "-t", "0", "ex")
    den("export", "-o", out, "ex")
    with tarfile.open(out) as t:
        assert t.extractfile("marker").read() == b"mark\n"
    den("rm", "-f", "ex")


@pytest.fixture
def podman(tmp):
    from conftest import podman_session
    yield from podman_session(tmp)


def test_images_traded_with_podman(den, image, tmp, podman):
    # den -> podman, both archive formats
    for fmt in ("docker-archive", "oci-archive"):
        out = os.path.join(tmp, f"den-{fmt}.tar")
        den("save", "--format", fmt, "-o", out, image)
        podman("load", "-i", out)
    p = podman("run", "--rm", "--network", "none", "localhost/busybox:latest", "/bin/denprobe", "ids")
    assert "uid=0" in p.stdout
    # podman -> den
    podman("tag", "localhost/busybox:latest", "localhost/from-podman:v1")
    for fmt in ("docker-archive", "oci-archive"):
        out = os.path.join(tmp, f"pm-{fmt}.tar")
        podman("save", "--format", fmt, "-o", out, "localhost/from-podman:v1")
        den("rmi", "from-podman:v1", check=False)
        assert "Loaded image" in den("load", "-i", out).stdout
        p = den("run", "--rm", "from-podman:v1", "/bin/denprobe", "ids")
        assert "uid=0" in p.stdout


def test_an_image_of_200_layers_runs(den, image, tmp):
    """lower layers are added one fsconfig call each: no mount option length limit"""
    from conftest import derived_image
    derived_image(den, image, tmp, "layers200", [{"etc/which": f"layer {i}\n".encode(),
                                                  f"etc/layer{i}": f"layer {i}\n".encode()} for i in range(200)])
    p = den("run", "--rm", "layers200", "sh", "-c", "cat /etc/which; cat /etc/layer0; ls /etc | wc -l")
    assert p.stdout.split("\n")[:2] == ["layer 199", "layer 0"], p.stdout
    assert int(p.stdout.split("\n")[2]) >= 201


@pytest.mark.parametrize("damage,message", [
    ("mediatype", "unknown media type 'application/x-unknown'"),
    ("notjson", "not JSON"),
])
def test_bad_manifests_are_refused(den, image, tmp, damage, message):
    import hashlib
    lay = os.path.join(tmp, "layout")
    den("save", "--format", "oci-dir", "-o", lay, image)
    idx = json.load(open(os.path.join(lay, "index.json")))
    blobs = os.path.join(lay, "blobs", "sha256")
    man = json.load(open(os.path.join(blobs, idx["manifests"][0]["digest"][7:])))
    if damage == "mediatype":
        man["layers"][0]["mediaType"] = "application/x-unknown"
        data = json.dumps(man).encode()
    else:
        data = b"{ this is not json"
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, h), "wb").write(data)
    idx["manifests"][0]["digest"] = "sha256:" + h
    json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
    f = fresh(den, tmp)
    p = f("load", "-i", lay)
    assert p.returncode != 0 and message in p.stderr, p.stderr
    assert "store is clean" in f("system", "check").stdout
    assert f("images", "-q").stdout.strip() == ""
