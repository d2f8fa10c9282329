# SPDX-License-Identifier: GPL-2.0-or-later
"""Layers and images made to hurt: a blob that lies about its diff id, size and
inode bombs, configs that are not JSON, odd but legitimate tar entries."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from test_den_run import den, image  # noqa: F401 (fixtures)
from test_registry import HTTP, registries, upload  # noqa: F401 (fixture)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(entries):
    """entries: (TarInfo, data or None)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_entry(name, data, **kw):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode = len(data), 0o644
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, data


def small_tar(text=b"hello\n", name="hello"):
    return tar_bytes([file_entry(name, text)])


def oci_archive(path, layers, diff_ids=None, config=None, name="localhost/hostile:1"):
    """an oci-archive: layers as (blob bytes, media type); the config's diff ids
    are the given ones (default: the blobs' own digests)"""
    blobs = {}

    def blob(data):
        d = sha(data)
        blobs[d] = data
        return {"digest": d, "size": len(data)}
    if config is None:
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids or [sha(b) for b, _ in layers]}}).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": dict(blob(config), mediaType="application/vnd.oci.image.config.v1+json"),
           "layers": [dict(blob(b), mediaType=mt) for b, mt in layers]}
    mb = json.dumps(man).encode()
    md = blob(mb)
    idx = {"schemaVersion": 2, "manifests": [dict(md, mediaType=man["mediaType"],
                                                   annotations={"org.opencontainers.image.ref.name": name})]}
    with tarfile.open(path, "w") as t:
        def add(n, data):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(idx).encode())
        for d, data in blobs.items():
            add("blobs/sha256/" + d[7:], data)
    return md["digest"]


GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
TAR = "application/vnd.oci.image.layer.v1.tar"


def fresh_root(den, tmp, name):
    root = os.path.join(tmp, name)

    def run(*a, check=True, env=None, timeout=120):
        p = subprocess.run([den.cmd()[0], "--root", root, "--runroot", root + "-run", *a], capture_output=True,
                           text=True, timeout=timeout, env=dict(os.environ, **(env or {})))
        if check and p.returncode != 0:
            raise AssertionError(f"den {' '.join(a)}: {p.returncode}: {p.stderr}")
        return p
    run.root = root
    return run


def good_and_evil():
    good = small_tar(b"good\n", "f")
    evil = small_tar(b"evil\n", "f")
    return good, evil


# ---- 3: a blob is checked against its diff id, whether the layer is stored or not ----

@pytest.mark.parametrize("first", ["plain", "gzip"])
def test_poisoned_blob_refused_when_the_layer_is_stored(den, tmp, first):
    good, evil = good_and_evil()
    f = fresh_root(den, tmp, "s")
    a, b = os.path.join(tmp, "good.tar"), os.path.join(tmp, "evil.tar")
    oci_archive(a, [(good, TAR) if first == "plain" else (gzip.compress(good), GZ)], [sha(good)], name="good:1")
    oci_archive(b, [(gzip.compress(evil), GZ)], [sha(good)], name="evil:1")
    f("load", "-i", a)
    p = f("load", "-i", b, check=False)
    assert p.returncode != 0 and "not the diff id" in p.stderr and sha(evil) in p.stderr, p.stderr
    assert "evil" not in f("images").stdout
    assert "store is clean" in f("system", "check").stdout
    # a good blob of a stored layer is checked once and remembered
    c = os.path.join(tmp, "good2.tar")
    gz = gzip.compress(good, 9)
    oci_archive(c, [(gz, GZ)], [sha(good)], name="good:2")
    f("load", "-i", c)
    assert os.path.exists(os.path.join(f.root, "layers", sha(good)[7:], "from", sha(gz)[7:]))
    f("load", "-i", c)


def test_poisoned_blob_refused_by_pull_when_the_layer_is_stored(den, tmp, registries):
    good, evil = good_and_evil()
    reg = registries()
    upload(reg, "t/p", "good", [(gzip.compress(good), GZ)], [sha(good)])
    upload(reg, "t/p", "evil", [(gzip.compress(evil), GZ)], [sha(good)])
    f = fresh_root(den, tmp, "s")
    f("pull", "-q", *HTTP, f"{reg.host}/t/p:good")
    p = f("pull", *HTTP, f"{reg.host}/t/p:evil", check=False)
    assert p.returncode != 0 and "not the diff id" in p.stderr, p.stderr
    assert "evil" not in f("images").stdout
    assert "store is clean" in f("system", "check").stdout


def test_system_check_finds_a_poisoned_blob(den, tmp):
    """a store poisoned before the check existed: the evil blob written in by hand"""
    good, evil = good_and_evil()
    f = fresh_root(den, tmp, "s")
    a = os.path.join(tmp, "good.tar")
    oci_archive(a, [(good, TAR)], [sha(good)], name="good:1")
    f("load", "-i", a)
    ev = gzip.compress(evil)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [sha(good)]}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg),
                                 "size": len(cfg)},
                      "layers": [{"mediaType": GZ, "digest": sha(ev), "size": len(ev)}]}).encode()
    for data in (ev, cfg, man):
        open(os.path.join(f.root, "blobs", "sha256", sha(data)[7:]), "wb").write(data)
    names = os.path.join(f.root, "names.json")
    n = json.load(open(names))
    n["localhost/evil:1"] = sha(man)
    json.dump(n, open(names, "w"))
    p = f("system", "check", check=False)
    assert "localhost/evil:1" in p.stdout + p.stderr and sha(ev) in p.stdout + p.stderr, p.stdout + p.stderr
    assert "does not decompress to its diff id" in p.stdout + p.stderr
    assert "store is clean" not in p.stdout
    f("system", "check", "--repair", check=False)
    assert "evil" not in f("images").stdout and "good" in f("images").stdout
    assert "store is clean" in f("system", "check").stdout


# ---- 4: size and inode bombs ----

def sparse_tar(size):
    """a pax (GNU sparse 1.0) file of the given apparent size holding one block of data"""
    ti = tarfile.TarInfo("GNUSparseFile.0/bomb")
    ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "bomb",
                      "GNU.sparse.realsize": str(size)}
    m = b"1\n0\n512\n"
    data = m + b"\0" * (512 - len(m)) + b"x" * 512
    ti.size = len(data)
    return tar_bytes([(ti, data)])


def layers_empty(f):
    d = os.path.join(f.root, "layers")
    return not os.path.exists(d) or os.listdir(d) == []


def test_import_of_dev_zero_fails_fast(den, tmp):
    f = fresh_root(den, tmp, "s")
    t = time.time()
    p = f("import", "/dev/zero", "zero", check=False, timeout=30)
    assert p.returncode != 0 and "empty archive" in p.stderr and "/dev/zero" in p.stderr, p.stderr
    assert time.time() - t < 10
    assert layers_empty(f)


def test_sparse_bomb_refused_by_default(den, tmp, registries):
    """10 KB standing for 1 PiB: more than any store's free space, refused without a flag"""
    bomb = sparse_tar(1 << 50)
    f = fresh_root(den, tmp, "s")
    path = os.path.join(tmp, "bomb.tar")
    open(path, "wb").write(bomb)
    for args in ((), ("--max-size", "1000000")):
        p = f("import", *args, path, "bomb", check=False, timeout=30)
        assert p.returncode != 0 and "unpacks to more than" in p.stderr and "bomb" in p.stderr, p.stderr
        assert str(1 << 50) in p.stderr and "sparse" in p.stderr
    arch = os.path.join(tmp, "bomb-oci.tar")
    oci_archive(arch, [(gzip.compress(bomb), GZ)], [sha(bomb)])
    p = f("load", "-i", arch, check=False, timeout=30)
    assert p.returncode != 0 and "unpacks to more than" in p.stderr, p.stderr
    reg = registries()
    upload(reg, "t/bomb", "1", [(gzip.compress(bomb), GZ)], [sha(bomb)])
    p = f("pull", *HTTP, f"{reg.host}/t/bomb:1", check=False, timeout=30)
    assert p.returncode != 0 and "unpacks to more than" in p.stderr, p.stderr
    assert layers_empty(f) and f("images", "-q").stdout.strip() == ""


def test_zero_bomb_stops_at_the_limit(den, tmp):
    """16 MiB of zeros in 16 KB of gzip, under a 10 MB limit (the env knob)"""
    zeros = tar_bytes([file_entry("z", b"\0" * (16 << 20))])
    gz = gzip.compress(zeros, 9)
    f = fresh_root(den, tmp, "s")
    path = os.path.join(tmp, "z.tar.gz")
    open(path, "wb").write(gz)
    env = {"DEN_LAYER_MAX_SIZE": "10000000"}
    p = f("import", path, "z", check=False, env=env)
    assert p.returncode != 0 and "unpacks to more than 10000000 bytes" in p.stderr, p.stderr
    arch = os.path.join(tmp, "z-oci.tar")
    oci_archive(arch, [(gz, GZ)], [sha(zeros)])
    p = f("load", "-i", arch, check=False, env=env)
    assert p.returncode != 0 and "more than 10000000 bytes" in p.stderr, p.stderr
    assert layers_empty(f)
    # without the knob it is an ordinary image
    f("load", "-i", arch)


def test_entries_limit(den, tmp):
    many = tar_bytes([file_entry(f"f{i}", b"") for i in range(3000)])
    f = fresh_root(den, tmp, "s")
    path = os.path.join(tmp, "many.tar")
    open(path, "wb").write(many)
    env = {"DEN_LAYER_MAX_ENTRIES": "1000"}
    p = f("import", path, "many", check=False, env=env)
    assert p.returncode != 0 and "more than 1000 entries" in p.stderr and "f1000" in p.stderr, p.stderr
    arch = os.path.join(tmp, "many-oci.tar")
    oci_archive(arch, [(gzip.compress(many), GZ)], [sha(many)])
    p = f("load", "-i", arch, check=False, env=env)
    assert p.returncode != 0 and "more than 1000 entries" in p.stderr, p.stderr
    assert layers_empty(f)
    f("import", path, "many")


def test_export_writes_sparse_files_sparse(den, image, tmp):
    """a container's own 1 TiB sparse file is exported as a sparse entry, not a 1 TiB stream"""
    den("run", "--name", "sp", image, "sh", "-c",
        "dd if=/dev/zero of=/big bs=1 count=1 seek=1099511627775 2>/dev/null; "
        "dd if=/dev/zero of=/mid bs=4096 count=1 seek=1000 2>/dev/null; printf data | dd of=/mid conv=notrunc "
        "2>/dev/null")
    out = os.path.join(tmp, "rootfs.tar")
    t0 = time.time()
    p = subprocess.run(den.cmd("export", "-o", out, "sp"), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert time.time() - t0 < 30 and os.path.getsize(out) < 64 << 20
    with tarfile.open(out) as t:
        big, mid = t.getmember("big"), t.getmember("mid")
        assert big.size == 1 << 40 and mid.size == 4096 * 1001
        assert t.extractfile("mid").read(4) == b"data"
    # and it comes back as what it was
    f = fresh_root(den, tmp, "s")
    p = f("import", out, "sparse", check=False)
    if p.returncode == 0:
        info = json.loads(f("inspect", "sparse").stdout)[0]
        d = os.path.join(f.root, "layers", info["Config"]["rootfs"]["diff_ids"][0][7:], "diff")
        assert os.path.getsize(os.path.join(d, "mid")) == 4096 * 1001
    else:
        # a file system with less than 1 TiB free refuses it, by the default bound
        assert "unpacks to more than" in p.stderr and "big" in p.stderr, p.stderr
    den("rm", "-f", "sp")


# ---- 10: clear errors ----

@pytest.mark.parametrize("config,message", [
    (b"this is not json", "not JSON"),
    (b"[" * 50000 + b"]" * 50000, "nested too deep"),
    (b'{"rootfs": {"diff_ids": "no"}}', "no rootfs.diff_ids array"),
])
def test_config_errors_are_precise(den, tmp, config, message):
    layer = small_tar()
    f = fresh_root(den, tmp, "s")
    arch = os.path.join(tmp, "c.tar")
    oci_archive(arch, [(layer, TAR)], config=config)
    p = f("load", "-i", arch, check=False)
    assert p.returncode != 0 and f"image config {sha(config)}" in p.stderr and message in p.stderr, p.stderr
    assert "no diff id" not in p.stderr


def test_hard_link_to_a_symlink(den, tmp):
    lnk = tarfile.TarInfo("lnk")
    lnk.type, lnk.linkname = tarfile.SYMTYPE, "target"
    hl = tarfile.TarInfo("hl")
    hl.type, hl.linkname = tarfile.LNKTYPE, "lnk"
    layer = tar_bytes([file_entry("target", b"t"), (lnk, None), (hl, None)])
    f = fresh_root(den, tmp, "s")
    path = os.path.join(tmp, "l.tar")
    open(path, "wb").write(layer)
    f("import", path, "links")
    d = os.path.join(f.root, "layers", sha(layer)[7:], "diff")
    a, b = os.lstat(os.path.join(d, "lnk")), os.lstat(os.path.join(d, "hl"))
    assert os.path.islink(os.path.join(d, "hl")) and os.readlink(os.path.join(d, "hl")) == "target"
    assert a.st_ino == b.st_ino and b.st_nlink == 2


@pytest.mark.parametrize("field", ["uid", "gid"])
def test_an_owner_that_cannot_be_an_id_is_refused(den, tmp, field):
    layer = tar_bytes([file_entry("ok", b"1"), file_entry("nobody-at-all", b"x", **{field: 4294967295})])
    f = fresh_root(den, tmp, "s")
    path = os.path.join(tmp, "u.tar")
    open(path, "wb").write(layer)
    p = f("import", path, "owners", check=False)
    assert p.returncode != 0 and "nobody-at-all" in p.stderr and f"{field} 4294967295" in p.stderr, p.stderr
    assert layers_empty(f)
