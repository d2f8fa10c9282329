# SPDX-License-Identifier: GPL-2.0-or-later
"""The image store: den import / images / tag / rmi / inspect, and hostile layers."""
import io
import json
import os
import subprocess
import tarfile

import pytest

from conftest import BUILD, ROOT, has_subids, make_rootfs, subid_range

DEN = os.path.abspath(os.path.join(BUILD, "den"))


@pytest.fixture
def den(tmp):
    root = os.path.join(tmp, "store")

    def run(*args, check=True, **kw):
        p = subprocess.run([DEN, "--root", root, *args], capture_output=True, text=True, timeout=120, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"den {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p
    run.root = root
    return run


def make_tar(path, entries, compress=""):
    """entries: (name, kind, extra) with kind file/dir/symlink/hardlink/chr/fifo"""
    with tarfile.open(path, "w" + (":" + compress if compress else "")) as t:
        for name, kind, extra in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o755 if kind == "dir" else 0o644
            ti.uid = ti.gid = extra.get("uid", 0) if isinstance(extra, dict) else 0
            data = None
            if kind == "file":
                data = extra.get("data", b"x") if isinstance(extra, dict) else b"x"
                ti.size = len(data)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, extra
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, extra
            elif kind == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            t.addfile(ti, io.BytesIO(data) if data is not None else None)


def store_is_clean(root):
    """no image, no layer, nothing left in tmp/"""
    assert os.listdir(os.path.join(root, "tmp")) == []
    assert os.listdir(os.path.join(root, "layers")) == []
    names = os.path.join(root, "names.json")
    assert not os.path.exists(names) or json.load(open(names)) == {}


def test_import_images_tag_inspect_rmi(den, tmp):
    rootfs = os.path.join(tmp, "rootfs")
    make_rootfs(rootfs)
    for comp, ext in (("gz", ".tar.gz"), ("xz", ".tar.xz"), ("", ".tar")):
        tarball = os.path.join(tmp, "bb" + ext)
        with tarfile.open(tarball, "w" + (":" + comp if comp else "")) as t:
            t.add(rootfs, arcname=".")
        man = den("import", tarball, "busybox:" + (comp or "plain")).stdout.strip()
        assert man.startswith("sha256:") and len(man) == 71
    # zstd, as sbuild and mmdebstrap write chroot tarballs
    plain = os.path.join(tmp, "bb.tar")
    subprocess.run(["zstd", "-q", "-f", plain, "-o", plain + ".zst"], check=True)
    den("import", plain + ".zst", "busybox:zst")
    out = den("images").stdout
    assert "localhost/busybox" in out and "gz" in out and "plain" in out and "zst" in out
    # the same content is one layer, whatever the compression
    assert len(os.listdir(os.path.join(den.root, "layers"))) == 1
    den("tag", "busybox:gz", "example.org:5000/team/bb:v1")
    info = json.loads(den("inspect", "example.org:5000/team/bb:v1").stdout)[0]
    assert "example.org:5000/team/bb:v1" in info["RepoTags"]
    assert info["Config"]["rootfs"]["diff_ids"][0] == info["Manifest"]["layers"][0]["digest"]
    layer = os.path.join(den.root, "layers", info["Manifest"]["layers"][0]["digest"][7:], "diff")
    assert os.path.isfile(os.path.join(layer, "bin", "denprobe"))
    den("rmi", "example.org:5000/team/bb:v1")
    p = den("inspect", "example.org:5000/team/bb:v1", check=False)
    assert p.returncode != 0 and "not found" in p.stderr
    # stdin works too
    with open(os.path.join(tmp, "bb.tar.gz"), "rb") as f:
        den("import", "-", "fromstdin", stdin=f)
    assert "fromstdin" in den("images").stdout


@pytest.mark.parametrize("name", ["UPPER", "a//b", "-x", "x:", "x@sha256:00", "a:b:c", ""])
def test_bad_names(den, tmp, name):
    tarball = os.path.join(tmp, "t.tar")
    make_tar(tarball, [("f", "file", {})])
    p = den("import", tarball, name, check=False)
    assert p.returncode != 0 and "invalid reference" in p.stderr
    store_is_clean(den.root)


def test_missing_image_and_bad_archives(den, tmp):
    p = den("inspect", "nosuch", check=False)
    assert p.returncode != 0 and "image 'nosuch' not found" in p.stderr
    junk = os.path.join(tmp, "junk.tar")
    open(junk, "wb").write(b"this is not a tar file at all" * 40)
    p = den("import", junk, "junk", check=False)
    assert p.returncode != 0 and "layer" in p.stderr
    store_is_clean(den.root)
    good = os.path.join(tmp, "good.tar")
    make_tar(good, [("dir", "dir", {}), ("dir/f", "file", {"data": b"y" * 100000})])
    data = open(good, "rb").read()
    open(junk, "wb").write(data[:len(data) // 2])
    p = den("import", junk, "truncated", check=False)
    assert p.returncode != 0
    store_is_clean(den.root)
    p = den("import", os.path.join(tmp, "nofile.tar"), "x", check=False)
    assert p.returncode != 0 and "nofile.tar" in p.stderr


HOSTILE = {
    "dotdot": ([("../evil", "file", {})], "escapes the layer root"),
    "dotdot-deep": ([("a/../../evil", "file", {})], "escapes the layer root"),
    "absolute": ([("/tmp/evil-abs", "file", {})], "absolute path"),
    "symlink-write": ([("lnk", "symlink", "/VICTIM"), ("lnk/planted", "file", {})], "passes through a symlink"),
    "symlink-rel-write": ([("lnk", "symlink", "../../../../../../../VICTIM"), ("lnk/planted", "file", {})],
                          "passes through a symlink"),
    "hardlink-out": ([("hl", "hardlink", "../../../../etc/passwd")], "hard link"),
    "hardlink-abs": ([("hl", "hardlink", "/etc/passwd")], "hard link"),
    "whiteout-dotdot": ([("d", "dir", {}), ("d/.wh...", "file", {})], "whiteout of an invalid name"),
    "deep": ([("a/" * 5000 + "f", "file", {})], "too deep"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_layers_are_refused(den, tmp, case):
    victim = os.path.join(tmp, "victim")
    os.mkdir(victim)
    entries, why = HOSTILE[case]
    entries = [(n, k, e.replace("/VICTIM", victim) if isinstance(e, str) else e) for n, k, e in entries]
    tarball = os.path.join(tmp, "hostile.tar")
    make_tar(tarball, entries)
    before = set(os.listdir(tmp))
    p = den("import", tarball, "hostile", check=False)
    assert p.returncode != 0, p.stdout
    assert why in p.stderr and "layer sha256:" in p.stderr, p.stderr
    assert os.listdir(victim) == []
    assert not os.path.exists(os.path.join(os.path.dirname(den.root), "evil"))
    assert not os.path.exists("/tmp/evil-abs")
    store_is_clean(den.root)
    assert set(os.listdir(tmp)) - before <= {"store"}
    # /tmp is shared with everything else on the machine: only the names a hostile entry would leave count
    assert not {"evil", "evil-abs", "planted", "hl", "lnk"} & set(os.listdir("/tmp"))


def test_size_limit(den, tmp):
    tarball = os.path.join(tmp, "big.tar")
    make_tar(tarball, [("big", "file", {"data": b"z" * 2_000_000})])
    p = den("import", "--max-size", "1000000", tarball, "big", check=False)
    assert p.returncode != 0 and "more than 1000000 bytes" in p.stderr
    store_is_clean(den.root)


def test_device_nodes(den, tmp):
    # a root filesystem's own /dev (as mmdebstrap makes it): kept as root, left out rootless
    tarball = os.path.join(tmp, "dev.tar")
    make_tar(tarball, [("dev", "dir", {}), ("dev/null", "chr", {}), ("p", "fifo", {})])
    den("import", tarball, "dev")
    info = json.loads(den("inspect", "dev").stdout)[0]
    layer = os.path.join(den.root, "layers", info["Config"]["rootfs"]["diff_ids"][0][7:], "diff")
    assert os.path.exists(os.path.join(layer, "dev", "null")) == ROOT
    # a device node anywhere else: refused without privileges
    make_tar(tarball, [("etc", "dir", {}), ("etc/sneaky", "chr", {})])
    p = den("import", tarball, "sneaky", check=False)
    if ROOT:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode != 0 and "device node" in p.stderr and "etc/sneaky" in p.stderr
        assert "sneaky" not in den("images").stdout


def layer_of(den, ref):
    info = json.loads(den("inspect", ref).stdout)[0]
    return os.path.join(den.root, "layers", info["Manifest"]["layers"][0]["digest"][7:], "diff")


def test_whiteouts_become_overlay_whiteouts(den, tmp):
    tarball = os.path.join(tmp, "wh.tar")
    make_tar(tarball, [("d", "dir", {}), ("d/.wh.gone", "file", {}), ("o", "dir", {}), ("o/.wh..wh..opq", "file", {}),
                       ("o/kept", "file", {})])
    den("import", tarball, "wh")
    layer = layer_of(den, "wh")
    st = os.lstat(os.path.join(layer, "d", "gone"))
    import stat
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert not os.path.exists(os.path.join(layer, "d", ".wh.gone"))
    if ROOT:
        assert os.getxattr(os.path.join(layer, "o"), "trusted.overlay.opaque") == b"y"
    else:
        assert os.getxattr(os.path.join(layer, "o"), "user.overlay.opaque") == b"y"
    assert os.path.exists(os.path.join(layer, "o", "kept"))


def test_ownership_mapped_through_the_user_namespace(den, tmp):
    tarball = os.path.join(tmp, "own.tar")
    make_tar(tarball, [("f42", "file", {"uid": 42}), ("f0", "file", {"uid": 0}),
                       ("lnk", "symlink", "f42"), ("hl", "hardlink", "f42")])
    den("import", tarball, "own")
    layer = layer_of(den, "own")
    owner42 = os.lstat(os.path.join(layer, "f42")).st_uid
    if ROOT:
        assert owner42 == 42
        assert os.lstat(os.path.join(layer, "f0")).st_uid == 0
    elif has_subids():
        base, _ = subid_range()
        assert owner42 == base + 41
        assert os.lstat(os.path.join(layer, "f0")).st_uid == os.getuid()
    else:
        # a single-id map: everything is the user's (root inside)
        assert owner42 == os.getuid()
    assert os.readlink(os.path.join(layer, "lnk")) == "f42"
    assert os.stat(os.path.join(layer, "hl")).st_ino == os.stat(os.path.join(layer, "f42")).st_ino


def test_system_check_repair_and_prune(den, tmp):
    tarball = os.path.join(tmp, "t.tar")
    make_tar(tarball, [("f", "file", {"data": b"hello"})])
    den("import", tarball, "one")
    make_tar(tarball, [("g", "file", {"data": b"other"})])
    den("import", tarball, "two")
    assert "store is clean" in den("system", "check").stdout
    # a blob whose bytes lie, and a leftover of a killed writer
    info = json.loads(den("inspect", "two").stdout)[0]
    cfg = os.path.join(den.root, "blobs", "sha256", info["Id"][7:])
    os.chmod(cfg, 0o600)
    open(cfg, "w").write("{}")
    os.mkdir(os.path.join(den.root, "tmp", "w.999999.killed"))
    p = den("system", "check", check=False)
    assert p.returncode == 1
    assert "does not match its digest" in p.stdout
    # what a dead writer left in tmp/ is garbage, swept by any check
    assert "swept" in p.stdout and "left by an interrupted writer" in p.stdout
    assert os.listdir(os.path.join(den.root, "tmp")) == []
    p = den("system", "check", "--repair")
    assert "removed the name localhost/two:latest" in p.stdout
    assert "store is clean" in den("system", "check").stdout
    assert "one" in den("images").stdout and "two" not in den("images").stdout
    # prune takes what no name reaches
    den("rmi", "one")
    assert "removed" in den("image", "prune").stdout
    assert os.listdir(os.path.join(den.root, "layers")) == []
    assert os.listdir(os.path.join(den.root, "blobs", "sha256")) == []
    p = den("system", "bogus", check=False)
    assert p.returncode == 2 and "check" in p.stderr


def big_tarball(tmp):
    path = os.path.join(tmp, "big.tar.gz")
    entries = [("d%d/f%d" % (i % 20, i), "file", {"data": os.urandom(20000)}) for i in range(600)]
    make_tar(path, entries, "gz")
    return path


def test_kill_9_during_import_and_load_leaves_a_clean_store(den, tmp):
    import random
    import signal
    import time
    tarball = big_tarball(tmp)
    rnd = random.Random(42)
    for i in range(20):
        p = subprocess.Popen([DEN, "--root", den.root, "import", tarball, "killed"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.0, 0.25))
        p.send_signal(signal.SIGKILL)
        p.wait()
        c = den("system", "check", check=False)
        assert c.returncode == 0 and "store is clean" in c.stdout, c.stdout + c.stderr
    # a retry completes, and what the killed runs left is gone
    den("import", tarball, "killed")
    assert "store is clean" in den("system", "check").stdout
    assert os.listdir(os.path.join(den.root, "tmp")) == []
    saved = os.path.join(tmp, "saved.tar")
    den("save", "-o", saved, "killed")
    other = os.path.join(tmp, "other")
    for i in range(10):
        p = subprocess.Popen([DEN, "--root", other, "load", "-i", saved], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.0, 0.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        c = subprocess.run([DEN, "--root", other, "system", "check"], capture_output=True, text=True)
        assert c.returncode == 0 and "store is clean" in c.stdout, c.stdout + c.stderr


def test_concurrent_loads_of_one_image(den, tmp):
    tarball = big_tarball(tmp)
    den("import", tarball, "shared")
    saved = os.path.join(tmp, "saved.tar")
    den("save", "-o", saved, "shared")
    other = os.path.join(tmp, "other")
    procs = [subprocess.Popen([DEN, "--root", other, "load", "-i", saved], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "Loaded image: localhost/shared:latest" in out
    c = subprocess.run([DEN, "--root", other, "system", "check"], capture_output=True, text=True)
    assert "store is clean" in c.stdout
