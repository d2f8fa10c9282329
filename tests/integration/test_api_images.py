# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve's image routes driven by the docker CLI: pull and push against a real
registry (Debian's docker-registry on 127.0.0.1, plain http as docker takes a
loopback registry), load, save, import, prune, search and the filters of
docker images; a client that leaves in the middle of a pull."""
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time

import pytest

from apiserve import UnixHTTP, api  # noqa: F401 (api: the fixture)
from conftest import derived_image, make_rootfs, tar_as_root
from test_registry import REGISTRY, registries  # noqa: F401 (registries: the fixture)

needs_registry = pytest.mark.skipif(not REGISTRY, reason="docker-registry is not installed")


def lines(body):
    return [json.loads(x) for x in body.decode().splitlines() if x.strip()]


def short(name):
    """a name as the CLI sent it: docker 20.10 leaves "x" alone, newer ones send docker.io/library/x"""
    for p in ("localhost/", "docker.io/library/"):
        if name.startswith(p):
            return name[len(p):]
    return name


def repo_tags(api):
    return sorted(short(n) for n in api("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())


def repos(api, *args):
    return [short(n) for n in api("images", "--format", "{{.Repository}}", *args).stdout.split()]


@needs_registry
def test_push_then_pull_with_progress(api, registries):
    reg = registries()
    ref = f"{reg.host}/test/bb"
    api("tag", "busybox", ref + ":1")
    p = api("push", ref + ":1")
    assert f"The push refers to repository [{ref}]" in p.stdout and "Pushed" in p.stdout, p.stdout
    assert "1: digest: sha256:" in p.stdout, p.stdout
    digest = p.stdout.split("digest: ")[1].split()[0]
    # the registry has it, as pushed
    assert os.path.exists(reg.blob_path(digest))
    # the raw stream: the aux line docker's CLI reads for its digest
    st, _, body = api.http("POST", f"/v1.41/images/{ref}/push?tag=1", headers={"X-Registry-Auth": "e30="})
    ls = lines(body)
    assert st == 200 and "Layer already exists" in [x.get("status") for x in ls], ls
    assert ls[-1]["aux"] == {"Tag": "1", "Digest": digest, "Size": ls[-1]["aux"]["Size"]} and ls[-1]["aux"]["Size"] > 0
    # every tag of the repository at once
    api("tag", "busybox", ref + ":2")
    p = api("push", "--all-tags", ref)
    assert "1: digest: " in p.stdout and "2: digest: " in p.stdout, p.stdout
    api("rmi", ref + ":2")
    # gone locally, pulled back: docker's progress lines, then runnable
    api("rmi", ref + ":1")
    p = api("pull", ref + ":1")
    assert "Pulling from test/bb" in p.stdout and f"Digest: {digest}" in p.stdout, p.stdout
    assert f"Status: Downloaded newer image for {ref}:1" in p.stdout, p.stdout
    st, _, body = api.http("POST", f"/images/create?fromImage={ref}&tag=1")
    ls = lines(body)
    assert st == 200 and ls[0] == {"status": "Pulling from test/bb", "id": "1"}, ls
    assert {"Already exists"} <= {x.get("status") for x in ls} and ls[-1] == {
        "status": f"Status: Image is up to date for {ref}:1"}, ls
    assert "hello" in api("run", ref + ":1", "echo", "hello").stdout
    # into a store that has nothing: every layer downloaded, per-layer progress
    api("rmi", ref + ":1")
    api("rmi", "busybox")
    api.den("system", "prune")
    st, _, body = api.http("POST", f"/images/create?fromImage={ref}&tag=1")
    states = [x.get("status") for x in lines(body)]
    assert "Pulling fs layer" in states and "Pull complete" in states and "Download complete" in states, states
    assert any(x.get("progressDetail", {}).get("total") for x in lines(body) if x.get("status") == "Downloading")
    assert "store is clean" in api.den("system", "check").stdout
    # by digest
    p = api("pull", f"{ref}@{digest}")
    assert f"Digest: {digest}" in p.stdout
    # docker run of an image the store lacks: the CLI pulls it through /images/create
    api("rmi", ref + ":1")
    p = api("run", ref + ":1", "echo", "pulled")
    assert "Unable to find image" in p.stderr and "pulled" in p.stdout, p.stderr
    # python3-docker's pull reads the same stream
    import docker
    api("rmi", ref + ":1")
    c = docker.DockerClient(base_url="unix://" + api.sock, version="1.41")
    img = c.images.pull(ref, tag="1")
    assert f"{ref}:1" in img.tags
    c.close()
    # pulls and pushes are in the event log
    ev = api("events", "--since", "0", "--until", str(int(time.time()) + 1), "--filter", "type=image",
             "--format", "{{.Action}}").stdout.split()
    assert "pull" in ev and "push" in ev, ev


@needs_registry
def test_credentials_from_x_registry_auth(api, registries):
    import base64
    reg = registries("auth", htpasswd=("alice", "s3cret"))
    ref = f"{reg.host}/priv/bb"
    api("tag", "busybox", ref + ":1")
    # no credentials: the registry's refusal reaches the CLI
    p = api("push", ref + ":1", check=False)
    assert p.returncode != 0, p.stdout
    # docker's own: its config.json, sent as X-Registry-Auth
    cfg = api.env["DOCKER_CONFIG"]
    os.makedirs(cfg, exist_ok=True)
    with open(os.path.join(cfg, "config.json"), "w") as f:
        json.dump({"auths": {reg.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}, f)
    p = api("push", ref + ":1")
    assert "digest: sha256:" in p.stdout, p.stdout
    api("rmi", ref + ":1")
    assert "Downloaded newer image" in api("pull", ref + ":1").stdout
    # a wrong password is refused
    hdr = base64.urlsafe_b64encode(json.dumps({"username": "alice", "password": "nope"}).encode()).decode()
    st, _, body = api.http("POST", f"/images/create?fromImage={ref}&tag=1", headers={"X-Registry-Auth": hdr})
    assert st >= 400 and "authentication failed" in json.loads(body)["message"], body


@needs_registry
def test_pull_errors(api, registries, tmp):
    reg, reg2 = registries(), registries("reg2")
    p = api("pull", f"{reg.host}/no/such:1", check=False)
    assert p.returncode != 0 and "no/such" in p.stderr, p.stderr
    # before the pull is under way, an HTTP error, as docker's
    st, _, body = api.http("POST", f"/images/create?fromImage={reg.host}/no/such&tag=1")
    assert st == 404 and "not found" in json.loads(body)["message"], body
    reg.kill()
    p = api("pull", f"{reg.host}/test/bb:1", check=False)
    assert p.returncode != 0 and reg.host in p.stderr, p.stderr
    st, _, body = api.http("POST", "/images/create?fromImage=BAD::name")
    assert st == 400 and json.loads(body)["message"]
    st, _, body = api.http("POST", "/images/create")
    assert st == 400
    # once under way, docker's error line: a layer the registry lost
    rootfs = os.path.join(tmp, "lost")
    make_rootfs(rootfs)
    with open(os.path.join(rootfs, "marker"), "w") as f:
        f.write("lost\n")
    ref = f"{reg2.host}/test/lost:1"
    api.den("import", tar_as_root(rootfs, os.path.join(tmp, "lost.tar")), ref)
    api("push", ref)
    layer = json.loads(api.den("inspect", ref).stdout)[0]["Manifest"]["layers"][0]["digest"]
    api("rmi", ref)
    api.den("system", "prune")
    os.unlink(reg2.blob_path(layer))
    st, _, body = api.http("POST", f"/images/create?fromImage={ref}")
    assert st == 200 and lines(body)[-1]["errorDetail"]["message"] == lines(body)[-1]["error"], body
    assert layer[7:19] in lines(body)[-1]["error"] or "blob" in lines(body)[-1]["error"], body
    p = api("pull", ref, check=False)
    assert p.returncode != 0 and "Pulling fs layer" in p.stdout and "blob" in p.stderr, (p.stdout, p.stderr)
    assert api.http("GET", f"/images/{ref}/json")[0] == 404
    assert "store is clean" in api.den("system", "check").stdout
    # push of a name the store lacks
    p = api("push", f"{reg.host}/none:1", check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr, p.stderr
    assert api.http("GET", "/_ping")[0] == 200


@needs_registry
def test_client_gone_mid_pull(api, registries, tmp):
    reg = registries()
    ref = f"{reg.host}/test/big"
    # a layer large enough that the pull is still running when the client leaves
    rootfs = os.path.join(tmp, "big")
    make_rootfs(rootfs)
    with open(os.path.join(rootfs, "blob"), "wb") as f:
        f.write(os.urandom(24 << 20))
    api.den("import", tar_as_root(rootfs, os.path.join(tmp, "big.tar")), ref + ":1")
    api("push", ref + ":1")
    api("rmi", ref + ":1")
    api.den("system", "prune")
    fds = lambda: len(os.listdir(f"/proc/{api.proc.pid}/fd"))
    before = fds()
    s = UnixHTTP(api.sock)
    s.request("POST", f"/v1.41/images/create?fromImage={ref}&tag=1")
    r = s.getresponse()
    assert r.status == 200 and json.loads(r.readline())["status"] == "Pulling from test/big"
    s.sock.close()
    s.close()
    assert api.http("GET", "/_ping")[0] == 200
    # the pull goes on to its end, or leaves nothing named; the store stays whole
    for _ in range(200):
        if api.http("GET", f"/images/{ref}:1/json")[0] == 200:
            break
        time.sleep(0.1)
    assert api.http("GET", f"/images/{ref}:1/json")[0] == 200
    assert "store is clean" in api.den("system", "check").stdout
    assert api("run", ref + ":1", "true").returncode == 0
    # nothing left open: the pull's pipe, the registry's connections
    for _ in range(50):
        if fds() <= before:
            break
        time.sleep(0.1)
    assert fds() <= before, os.listdir(f"/proc/{api.proc.pid}/fd")


def test_save_load_and_podman(api, tmp):
    out = os.path.join(tmp, "bb.tar")
    api("save", "-o", out, "busybox")
    with tarfile.open(out) as t:
        names = t.getnames()
        man = json.load(t.extractfile("manifest.json"))
    assert man[0]["RepoTags"] == ["localhost/busybox:latest"] and any(n.endswith("/layer.tar") for n in names)
    # the same tar by the single-image route
    st, h, body = api.http("GET", "/images/busybox/get")
    assert st == 200 and h["Content-Type"] == "application/x-tar" and len(body) == os.path.getsize(out)
    api("rmi", "busybox")
    assert repo_tags(api) == []
    p = api("load", "-i", out)
    assert "Loaded image: localhost/busybox:latest" in p.stdout, p.stdout
    assert "ok" in api("run", "busybox", "echo", "ok").stdout
    # quiet, from stdin
    p = subprocess.run(["docker", "load", "-q"], stdin=open(out, "rb"), env=api.env, capture_output=True, text=True)
    assert p.returncode == 0 and "Loaded image" in p.stdout
    # compressed, as docker load takes it too
    import gzip
    gz = out + ".gz"
    with open(out, "rb") as f, gzip.open(gz, "wb") as g:
        shutil.copyfileobj(f, g)
    api("rmi", "busybox")
    assert "Loaded image" in api("load", "-i", gz).stdout
    # den reads docker's save
    api.den("rmi", "busybox")
    assert "Loaded image" in api.den("load", "-i", out).stdout
    # an OCI layout tar (as den save --format oci-archive writes it) loads too
    oci = os.path.join(tmp, "oci.tar")
    api.den("save", "--format", "oci-archive", "-o", oci, "busybox")
    api("rmi", "busybox")
    assert "Loaded image" in api("load", "-i", oci).stdout
    assert repo_tags(api) == ["busybox:latest"]
    # several images in one archive (docker save A B), their shared blobs once
    rootfs = os.path.join(tmp, "two")
    make_rootfs(rootfs)
    with open(os.path.join(rootfs, "marker"), "w") as f:
        f.write("two\n")
    api.den("import", tar_as_root(rootfs, os.path.join(tmp, "two.tar")), "two:v1")
    api("tag", "busybox", "again:v1")
    both = os.path.join(tmp, "both.tar")
    api("save", "-o", both, "busybox", "two:v1", "again:v1")
    with tarfile.open(both) as t:
        man = json.load(t.extractfile("manifest.json"))
        names = t.getnames()
    assert [short(m["RepoTags"][0]) for m in man] == ["busybox:latest", "two:v1", "again:v1"]
    assert len([n for n in names if n.endswith("layer.tar")]) == 2, names
    for n in ("busybox", "two:v1", "again:v1"):
        api("rmi", n)
    p = api("load", "-i", both)
    assert p.stdout.count("Loaded image") == 3, p.stdout
    assert "two" in api("run", "two:v1", "cat", "/marker").stdout
    # by image id, short or whole
    iid = api("inspect", "--format", "{{.Id}}", "busybox").stdout.strip()
    for i in (iid[7:19], iid):
        byid = os.path.join(tmp, "byid.tar")
        api("save", "-o", byid, i)
        with tarfile.open(byid) as t:
            assert "busybox:latest" in [short(n) for n in json.load(t.extractfile("manifest.json"))[0]["RepoTags"]]
    # errors: not an archive, no such image
    p = api("load", "-i", "/etc/hostname", check=False)
    assert p.returncode != 0 and "Error" in p.stderr
    p = api("save", "-o", os.path.join(tmp, "x.tar"), "nothere", check=False)
    assert p.returncode != 0 and "nothere" in p.stderr
    pm = shutil.which("podman")
    if pm and os.geteuid() == 0:
        pmdir = tempfile.mkdtemp(prefix="pm")
        pr = subprocess.run([pm, "--root", os.path.join(pmdir, "s"), "--runroot", os.path.join(pmdir, "r"),
                             "--storage-driver", "vfs", "load", "-i", out], capture_output=True, text=True, timeout=120)
        shutil.rmtree(pmdir, ignore_errors=True)
        assert pr.returncode == 0 and "busybox" in pr.stdout + pr.stderr, pr.stderr


def test_import_from_stdin(api, tmp):
    rootfs = os.path.join(tmp, "rf")
    make_rootfs(rootfs)
    tb = tar_as_root(rootfs, os.path.join(tmp, "rf.tar"))
    p = subprocess.run(["docker", "import", "-", "imp:v1"], stdin=open(tb, "rb"), env=api.env, capture_output=True,
                       text=True)
    assert p.returncode == 0 and p.stdout.strip().startswith("sha256:"), p.stderr
    assert api("inspect", "--format", "{{.Id}}", "imp:v1").stdout.strip() == p.stdout.strip()
    assert "yes" in api("run", "imp:v1", "echo", "yes").stdout
    # what den import cannot do is refused, not dropped
    p = subprocess.run(["docker", "import", "--change", "CMD [\"sh\"]", "-", "imp:v2"], stdin=open(tb, "rb"),
                       env=api.env, capture_output=True, text=True)
    assert p.returncode != 0 and "--change" in p.stderr, p.stderr
    assert api.http("POST", "/images/create?fromSrc=-", b"")[0] == 400
    assert api.http("POST", "/images/create?fromSrc=http://x/y.tar&repo=a")[0] == 400


def test_prune_search_and_filters(api, tmp):
    assert api.http("GET", "/images/search?term=x")[:3:2] == (200, b"[]")
    p = api("search", "anything")
    assert p.returncode == 0 and len(p.stdout.splitlines()) <= 1
    rootfs = os.path.join(tmp, "lab")
    make_rootfs(rootfs)
    api.den("import", tar_as_root(rootfs, os.path.join(tmp, "lab.tar")), "second:v2")
    api("tag", "busybox", "third:v3")
    # an image with a label, created later than the others
    def label(cfg):
        cfg.setdefault("config", {}).setdefault("Labels", {})["team"] = "den"
        cfg["created"] = "2099-01-01T00:00:00Z"
    derived_image(api.den, "busybox", tmp, "lab:v1", config=label)
    assert repo_tags(api) == ["busybox:latest", "lab:v1", "second:v2", "third:v3"]
    assert api("images", "-q", "--filter", "dangling=true").stdout.strip() == ""
    assert len(set(api("images", "-q", "--filter", "dangling=false").stdout.split())) == 3
    assert repos(api, "--filter", "label=team=den") == ["lab"]
    assert repos(api, "--filter", "label=team") == ["lab"]
    assert repos(api, "--filter", "reference=sec*") == ["second"]
    assert repos(api, "--filter", "reference=*:v3") == ["third"]
    assert repos(api, "busybox") == ["busybox"]
    assert api("images", "-q", "--filter", "label=nope").stdout.strip() == ""
    assert repos(api, "--filter", "since=second:v2") == ["lab"]
    assert sorted(repos(api, "--filter", "before=lab:v1")) == ["busybox", "second", "third"]
    st, _, body = api.http("GET", "/images/json?filters=" + '{"reference":{"nothere":true}}')
    assert st == 200 and json.loads(body) == []
    # prune: an image no name reaches goes, its space reclaimed
    iid = api("inspect", "--format", "{{.Id}}", "second:v2").stdout.strip()
    api("rmi", "second:v2")
    p = api("image", "prune", "-f")
    assert f"deleted: {iid}" in p.stdout and "Total reclaimed space: 0B" not in p.stdout, p.stdout
    st, _, body = api.http("POST", "/images/prune")
    assert st == 200 and json.loads(body) == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    assert "store is clean" in api.den("system", "check").stdout
    assert repo_tags(api) == ["busybox:latest", "lab:v1", "third:v3"]
    # prune -a: the images no container uses go, names and all
    labid = api("inspect", "--format", "{{.Id}}", "lab:v1").stdout.strip()
    cid = api("create", "third:v3", "true").stdout.strip()
    p = api("image", "prune", "-a", "-f")
    assert "untagged: localhost/lab:v1" in p.stdout and f"deleted: {labid}" in p.stdout, p.stdout
    assert repo_tags(api) == ["busybox:latest", "third:v3"]
    api("rm", cid)
    assert "store is clean" in api.den("system", "check").stdout
