# SPDX-License-Identifier: GPL-2.0-or-later
"""Volumes (issue 15) through the den CLI: named volumes that outlive their
containers, populated from the image on first use with their owners, nocopy,
:ro, the --mount forms, anonymous volumes (-v /path and an image's VOLUME) and
their removal with rm -v and run --rm, --volumes-from, the removal rules, ls and
its filters, inspect, create, names, prune, system df, tmpfs and bind volumes.

The test image is a busybox root whose /data (and /data/f, "hi") belong to
1000:1000.  Without sub-ids every entry of an imported layer is the user's, so
there the owners inside are 0 and `-u 1000` cannot run: those checks need
MANY_IDS."""
import json
import os
import re
import subprocess
import tarfile
import time

import pytest

from conftest import ROOT, derived_image, has_subids, link_applets, make_rootfs
from test_den_run import den  # noqa: F401 (fixture)

MANY_IDS = ROOT or has_subids()
needs_ids = pytest.mark.skipif(not MANY_IDS, reason="ids other than 0 need sub-ids (a single-id map holds only 0)")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
OWNER = "1000" if MANY_IDS else "0"


# ---------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def img_tar(tmp_path_factory):
    """vimg: busybox (every applet), appuser 1000 in /etc/passwd, /data and /data/f ("hi")
    owned by 1000:1000, /v/seed ("seed") owned by root, /tree: nested directories, modes
    and symlinks (relative, absolute, climbing out); /esc -> /etc, /esc2 -> ../../../../../../etc;
    /many: 300 small files"""
    tmp = str(tmp_path_factory.mktemp("vimg"))
    os.chmod(tmp, 0o755)
    rootfs = os.path.join(tmp, "vroot")
    make_rootfs(rootfs)
    link_applets(rootfs)
    open(os.path.join(rootfs, "etc", "passwd"), "w").write(
        "root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/data:/bin/sh\n")
    open(os.path.join(rootfs, "etc", "group"), "w").write("root:x:0:\nappgroup:x:1000:\n")
    os.makedirs(os.path.join(rootfs, "data"))
    open(os.path.join(rootfs, "data", "f"), "w").write("hi\n")
    os.makedirs(os.path.join(rootfs, "tree", "sub", "deep"))
    open(os.path.join(rootfs, "tree", "sub", "deep", "d"), "w").write("deep\n")
    open(os.path.join(rootfs, "tree", "secret"), "w").write("s\n")
    os.chmod(os.path.join(rootfs, "tree", "secret"), 0o640)
    os.chmod(os.path.join(rootfs, "tree", "sub"), 0o710)
    os.symlink("sub/deep/d", os.path.join(rootfs, "tree", "rel"))
    os.symlink("/etc/hostname", os.path.join(rootfs, "tree", "abs"))
    os.symlink("../../../../../../../../etc", os.path.join(rootfs, "tree", "up"))
    os.symlink("/etc", os.path.join(rootfs, "esc"))
    os.symlink("../../../../../../etc", os.path.join(rootfs, "esc2"))
    os.makedirs(os.path.join(rootfs, "many"))
    for i in range(300):
        open(os.path.join(rootfs, "many", f"m{i:03}"), "w").write(f"{i}\n")
    os.makedirs(os.path.join(rootfs, "v"))
    open(os.path.join(rootfs, "v", "seed"), "w").write("seed\n")

    def owners(ti):
        ti.uid = ti.gid = 1000 if ti.name in ("./data", "./data/f") else 0
        ti.uname = ti.gname = ""
        return ti
    tarball = os.path.join(tmp, "vroot.tar")
    with tarfile.open(tarball, "w") as t:
        t.add(rootfs, arcname=".", filter=owners)
    return tarball


@pytest.fixture
def img(den, img_tar):
    """vimg (img_tar) imported into the test's store"""
    den("import", img_tar, "vimg")
    yield "vimg"
    # volume content may belong to sub-ids the test's user cannot remove from the host:
    # den removes it, after the containers that hold it
    p = subprocess.run(den.cmd("ps", "-a", "-q"), capture_output=True, text=True)
    for cid in p.stdout.split():
        subprocess.run(den.cmd("rm", "-f", cid), capture_output=True)
    subprocess.run(den.cmd("volume", "prune", "-a", "-f"), capture_output=True)


def volume_image(den, tmp, base, name="vvol"):
    """base with VOLUME /v (its /v holds seed)"""
    def vol(cfg):
        cfg.setdefault("config", {})["Volumes"] = {"/v": {}}
    derived_image(den, base, tmp, name, config=vol)
    return name


def names(den, *args):
    """den volume ls -q [ARGS] as a sorted list"""
    return sorted(den("volume", "ls", "-q", *args).stdout.split())


def anonymous(den):
    return [n for n in names(den) if HEX64.match(n)]


def inspect(den, name):
    out = json.loads(den("volume", "inspect", name).stdout)
    assert isinstance(out, list) and len(out) == 1, out
    return out[0]


def sh(den, image, *args, check=True):
    """den run --rm ARGS IMAGE sh -c SCRIPT (the script last in args)"""
    *opts, script = args
    return den("run", "--rm", *opts, image, "sh", "-c", script, check=check)


def record(den, name):
    """the container's record (Options.Volumes, AnonVolumes, Tmpfs)"""
    cid = json.loads(den("inspect", name).stdout)[0]["Id"]
    return json.load(open(os.path.join(den.root, "containers", cid, "container.json")))


# ---------------------------------------------------------------- named volumes

def test_data_written_in_one_container_is_read_in_the_next(den, img):
    assert names(den) == []
    den("run", "--name", "w", "-v", "vol1:/mnt", img, "sh", "-c", "echo kept > /mnt/x")
    # created on first use, a plain directory under the store
    assert names(den) == ["vol1"]
    assert "vol1:/mnt" in record(den, "w")["Options"]["Volumes"]
    den("rm", "w")
    assert names(den) == ["vol1"]
    assert sh(den, img, "-v", "vol1:/mnt", "cat /mnt/x").stdout == "kept\n"
    mp = inspect(den, "vol1")["Mountpoint"]
    assert open(os.path.join(mp, "x")).read() == "kept\n"
    # the volume is the same at another path, and two volumes are two
    assert sh(den, img, "-v", "vol1:/elsewhere", "-v", "vol2:/mnt", "cat /elsewhere/x; ls -A /mnt").stdout == "kept\n"
    assert names(den) == ["vol1", "vol2"]
    # one volume at two paths of one container
    assert sh(den, img, "-v", "vol2:/a", "-v", "vol2:/b", "echo two > /a/t; cat /b/t").stdout == "two\n"


def test_a_new_volume_is_populated_from_the_image_with_its_owners(den, img):
    image_owner = sh(den, img, "stat -c %u:%g /data /data/f").stdout.split()
    assert image_owner == [f"{OWNER}:{OWNER}"] * 2
    p = sh(den, img, "-v", "pop:/data", "cat /data/f; stat -c %u:%g /data /data/f; echo changed > /data/f")
    assert p.stdout.split() == ["hi", f"{OWNER}:{OWNER}", f"{OWNER}:{OWNER}"]
    # populated once: a volume that holds something is not filled again
    assert sh(den, img, "-v", "pop:/data", "cat /data/f").stdout == "changed\n"
    # a volume created empty beforehand is populated too, at its first mount
    assert den("volume", "create", "pre").stdout.strip() == "pre"
    assert os.listdir(inspect(den, "pre")["Mountpoint"]) == []
    assert sh(den, img, "-v", "pre:/data", "cat /data/f; stat -c %u /data/f").stdout.split() == ["hi", OWNER]
    assert os.listdir(inspect(den, "pre")["Mountpoint"]) == ["f"]
    # a tree: nested directories, modes and symlinks kept as they are (never followed out)
    p = sh(den, img, "-v", "tree:/tree", "cat /tree/sub/deep/d /tree/rel; stat -c '%n %a' /tree/secret /tree/sub; "
           "readlink /tree/abs; readlink /tree/up")
    assert p.stdout.splitlines() == ["deep", "deep", "/tree/secret 640", "/tree/sub 710", "/etc/hostname",
                                     "../../../../../../../../etc"]
    mp = inspect(den, "tree")["Mountpoint"]
    assert os.readlink(os.path.join(mp, "abs")) == "/etc/hostname"
    assert os.readlink(os.path.join(mp, "up")) == "../../../../../../../../etc"
    assert sorted(os.listdir(mp)) == ["abs", "rel", "secret", "sub", "up"]
    # at a path the image does not have: empty, nothing copied from elsewhere
    assert sh(den, img, "-v", "fresh:/nothere", "ls -A /nothere").stdout == ""


def test_targets_through_symlinks_stay_in_the_container(den, img):
    """a target reached through the image's symlinks is resolved in the container's root:
    the copy-up reads the image's /etc, never the host's, and nothing is made on the host"""
    image_etc = set(sh(den, img, "ls /etc").stdout.split())
    for target in ("/esc", "/esc2"):
        vol = "through" + target[1:]
        listed = set(sh(den, img, "-v", f"{vol}:{target}", f"ls {target}").stdout.split())
        copied = set(os.listdir(inspect(den, vol)["Mountpoint"]))
        assert copied and copied <= image_etc, (target, copied, image_etc)
        assert listed == copied
    marker = f"den-voltest-{os.getpid()}"
    sh(den, img, "-v", f"inner:/esc/{marker}", "echo x > /esc/" + marker + "/f")
    assert not os.path.exists(os.path.join("/etc", marker))
    assert os.listdir(inspect(den, "inner")["Mountpoint"]) == ["f"]


def test_nocopy_skips_population(den, img):
    assert sh(den, img, "-v", "nc:/data:nocopy", "ls -A /data").stdout == ""
    assert os.listdir(inspect(den, "nc")["Mountpoint"]) == []
    p = sh(den, img, "--mount", "type=volume,src=nc2,dst=/data,volume-nocopy", "ls -A /data")
    assert p.stdout == ""
    # once written, a later mount without nocopy shows what the volume holds, not the image
    sh(den, img, "-v", "nc:/data:nocopy", "echo own > /data/mine")
    assert sh(den, img, "-v", "nc:/data", "ls -A /data").stdout.split() == ["mine"]


def test_read_only_volume_refuses_writes(den, img):
    sh(den, img, "-v", "rov:/mnt", "echo before > /mnt/f")
    p = sh(den, img, "-v", "rov:/mnt:ro", "cat /mnt/f; echo no > /mnt/g", check=False)
    assert p.returncode != 0
    assert p.stdout == "before\n"
    assert "Read-only file system" in p.stderr
    p = sh(den, img, "--mount", "type=volume,source=rov,target=/mnt,readonly", "rm /mnt/f", check=False)
    assert p.returncode != 0 and "Read-only file system" in p.stderr
    p = sh(den, img, "--mount", "type=volume,src=rov,destination=/mnt,ro=true", "touch /mnt/h", check=False)
    assert p.returncode != 0
    assert sorted(os.listdir(inspect(den, "rov")["Mountpoint"])) == ["f"]
    # a new volume mounted read-only is populated all the same (docker copies before it mounts)
    assert sh(den, img, "-v", "newro:/data:ro", "cat /data/f").stdout == "hi\n"
    assert sh(den, img, "--mount", "type=volume,src=newro2,dst=/data,readonly", "cat /data/f").stdout == "hi\n"
    # :rw is the default spelled out
    sh(den, img, "-v", "rov:/mnt:rw", "echo yes > /mnt/g")
    assert sorted(os.listdir(inspect(den, "rov")["Mountpoint"])) == ["f", "g"]


def test_mount_forms(den, img, tmp):
    host = os.path.join(tmp, "hostdir")
    os.mkdir(host)
    open(os.path.join(host, "hf"), "w").write("from host\n")
    out = den("run", "--name", "m", "--mount", "type=volume,source=mv,target=/mv",
              "--mount", f"type=bind,src={host},dst=/b", "--mount", "type=tmpfs,destination=/t,tmpfs-size=1m",
              "--mount", "type=tmpfs,dst=/t2,tmpfs-mode=1770",
              "--mount", f"type=bind,source={host},target=/bro,readonly",
              img, "sh", "-c", "echo v > /mv/v; cat /b/hf; echo w > /b/out; grep ' /t ' /proc/mounts; "
              "echo x > /t/x && echo tmpfs-ok; touch /bro/z || echo bro-refused; stat -c 't2=%a' /t2").stdout
    assert "from host" in out and "tmpfs-ok" in out and "bro-refused" in out and "t2=1770" in out
    t = [l for l in out.splitlines() if " /t " in l]
    assert t and t[0].split()[2] == "tmpfs" and "size=1024k" in t[0], out
    assert open(os.path.join(host, "out")).read() == "w\n"
    assert not os.path.exists(os.path.join(host, "z"))
    assert names(den) == ["mv"]
    assert open(os.path.join(inspect(den, "mv")["Mountpoint"], "v")).read() == "v\n"
    rec = record(den, "m")["Options"]
    assert "mv:/mv" in rec["Volumes"]
    assert any(v.startswith(f"{host}:/bro:") and "ro" in v.split(":")[2].split(",") for v in rec["Volumes"]), rec
    # a tmpfs mount is no volume
    den("rm", "m")
    assert names(den) == ["mv"]
    # nonsense is refused before anything runs
    for bad in ("type=volume", "type=nfs,dst=/x", "type=bind,dst=/x", "type=volume,src=v,dst=/x,bogus=1"):
        p = den("run", "--rm", "--mount", bad, img, "true", check=False)
        # docker says 125; den's usage errors are 2
        assert p.returncode in (2, 125) and "--mount" in p.stderr and bad in p.stderr, (bad, p.stderr)
    assert names(den) == ["mv"]
    assert den("ps", "-a", "-q").stdout.split() == []


def test_a_restarted_container_finds_its_volume_as_it_left_it(den, img):
    out = den("run", "--name", "s", "-v", "sv:/data", img, "sh", "-c", "ls /data; echo again >> /data/f").stdout
    assert out.split() == ["f"]
    p = den("start", "-a", "s")
    assert p.stdout.split() == ["f"]
    assert sh(den, img, "-v", "sv:/data", "cat /data/f").stdout == "hi\nagain\nagain\n"


def test_running_containers_share_a_volume(den, img):
    den("run", "-d", "--name", "r1", "-v", "live:/l", img, "sleep", "100")
    den("run", "-d", "--name", "r2", "-v", "live:/m", img, "sleep", "100")
    den("exec", "r1", "sh", "-c", "echo one > /l/f")
    assert den("exec", "r2", "cat", "/m/f").stdout == "one\n"
    # neither rm nor prune -a take it from running containers
    p = den("volume", "rm", "live", check=False)
    assert p.returncode != 0 and "r1" in p.stderr and "r2" in p.stderr
    den("volume", "prune", "-a", "-f")
    assert names(den) == ["live"]
    den("rm", "-f", "r1", "r2")
    assert den("volume", "rm", "live").returncode == 0


def test_a_refused_run_creates_no_volume(den, img):
    """den run's mounts are checked whole before the first volume is made (docker refuses them
    in the client): a refusal leaves no volume behind"""
    for mounts in (["-v", "aa:/x", "-v", "bb:/x"], ["-v", "cc:/x", "-v", "dd:/y:bogus"],
                   ["-v", "ee:/x", "--mount", "type=volume,src=ff"], ["-v", "gg:/x", "-v", "/x"],
                   ["-v", "/anon", "-v", "hh:relative"]):
        p = den("run", "--rm", *mounts, img, "true", check=False)
        assert p.returncode in (2, 125) and p.stderr.strip(), (mounts, p.stderr)
        assert names(den) == [], mounts
    assert den("ps", "-a", "-q").stdout == ""


def test_the_root_is_no_mount_target(den, img, tmp):
    """docker: "invalid mount config: destination can't be '/'" for every kind; den refused nothing
    (a volume at / got a partial copy of the root filesystem, then a failed start)"""
    for mount in (["-v", "rootvol:/"], ["-v", "/"], ["-v", f"{tmp}:/"], ["--mount", "type=volume,src=rootvol,dst=/"],
                  ["--mount", f"type=bind,src={tmp},dst=/"], ["--tmpfs", "/"], ["-v", "rootvol://"]):
        p = den("run", "--rm", *mount, img, "true", check=False)
        assert p.returncode in (2, 125) and "/" in p.stderr, (mount, p.returncode, p.stderr)
        assert names(den) == [], mount
    assert den("ps", "-a", "-q").stdout == ""


def test_mounts_inside_mounts_and_overrides(den, img):
    # a volume inside another: its mount point is made in the outer one, its data is its own
    p = sh(den, img, "-v", "outer:/x", "-v", "inner:/x/y", "echo f > /x/y/f; ls /x")
    assert p.stdout.split() == ["y"]
    assert os.listdir(inspect(den, "inner")["Mountpoint"]) == ["f"]
    # a read-only root filesystem and a writable volume
    assert sh(den, img, "--read-only", "-v", "rw:/w", "echo ok > /w/f && cat /w/f").stdout == "ok\n"
    # -v at a path --volumes-from also brings: the container's own -v wins
    den("run", "--name", "src", "-v", "vs:/s", img, "sh", "-c", "echo src > /s/f")
    assert sh(den, img, "--volumes-from", "src", "-v", "vo:/s", "ls -A /s").stdout == ""
    # a commit does not take a volume's content into the image
    den("run", "-d", "--name", "r", "-v", "cv:/data", img, "sh", "-c", "echo vol > /data/new; exec sleep 100")
    den("exec", "r", "sh", "-c", "test -f /data/new || sleep 1; echo layer > /in-layer")
    den("commit", "r", "committed")
    assert sh(den, "committed", "ls /data; cat /in-layer").stdout.split() == ["f", "layer"]
    # den cp reaches into a running container's volume, both ways
    out = os.path.join(den.root, "..", "copied")
    den("cp", "r:/data/new", out)
    assert open(out).read() == "vol\n"
    den("cp", out, "r:/data/back")
    assert open(os.path.join(inspect(den, "cv")["Mountpoint"], "back")).read() == "vol\n"


def test_a_failed_start_and_its_anonymous_volumes(den, img):
    p = den("run", "--rm", "-v", "/anon", "-v", "kept:/k", img, "/nonexistent", check=False)
    assert p.returncode in (125, 126, 127) and "/nonexistent" in p.stderr
    assert names(den) == ["kept"] and den("ps", "-a", "-q").stdout == ""
    # without --rm: docker keeps the container and its volume; den removes a container that could
    # not start: then its anonymous volume goes with it, none is left that nothing holds
    p = den("run", "--name", "f", "-v", "/anon", img, "/nonexistent", check=False)
    assert p.returncode != 0
    kept = den("ps", "-a", "-q").stdout.split()
    assert len(anonymous(den)) == len(kept)
    if kept:
        den("rm", "-v", "f")
    assert names(den) == ["kept"]


# ---------------------------------------------------------------- anonymous volumes

def test_anonymous_volumes_of_dash_v_and_their_removal(den, img):
    den("run", "--name", "a1", "-v", "/anon", img, "sh", "-c", "echo x > /anon/f")
    (v1,) = anonymous(den)
    assert record(den, "a1")["Options"]["AnonVolumes"] == [v1]
    assert open(os.path.join(inspect(den, v1)["Mountpoint"], "f")).read() == "x\n"
    # plain rm keeps it
    den("rm", "a1")
    assert anonymous(den) == [v1]
    # rm -v removes the container's own anonymous volumes, not named ones nor others
    den("run", "--name", "a2", "-v", "/anon", "-v", "named:/n", img, "true")
    assert len(anonymous(den)) == 2
    den("rm", "-v", "a2")
    assert anonymous(den) == [v1]
    assert "named" in names(den)
    # run --rm removes them as it removes the container, and keeps named ones
    sh(den, img, "-v", "/anon", "-v", "/anon2", "-v", "named2:/n", "echo y > /anon/f; echo z > /anon2/f")
    assert anonymous(den) == [v1]
    assert "named2" in names(den)
    den("volume", "rm", "named2")
    # run -d --rm: when the command ends
    den("run", "-d", "--rm", "--name", "bg", "-v", "/anon", img, "sh", "-c", "sleep 0.3")
    for _ in range(100):
        if len(anonymous(den)) == 1 and den("ps", "-a", "-q").stdout == "":
            break
        time.sleep(0.1)
    assert anonymous(den) == [v1] and den("ps", "-a", "-q").stdout == ""
    # ... and when it is stopped
    den("run", "-d", "--rm", "--name", "bg2", "-v", "/anon", img, "sleep", "100")
    assert len(anonymous(den)) == 2
    den("stop", "-t", "1", "bg2")
    for _ in range(100):
        if len(anonymous(den)) == 1 and den("ps", "-a", "-q").stdout == "":
            break
        time.sleep(0.1)
    assert anonymous(den) == [v1] and den("ps", "-a", "-q").stdout == ""
    # den create makes them; rm -v of a container never started removes them
    den("create", "--name", "c", "-v", "/anon", img, "true")
    assert len(anonymous(den)) == 2
    den("rm", "-v", "c")
    assert anonymous(den) == [v1]
    # rm -f -v of a running container
    den("run", "-d", "--name", "r", "-v", "/anon", img, "sleep", "100")
    assert len(anonymous(den)) == 2
    den("rm", "-f", "-v", "r")
    assert anonymous(den) == [v1]
    assert sorted(names(den)) == sorted([v1, "named"])
    # an anonymous volume is populated like a named one
    assert sh(den, img, "-v", "/data", "cat /data/f; stat -c %u /data/f").stdout.split() == ["hi", OWNER]
    assert anonymous(den) == [v1]


def test_an_images_volume_gets_an_anonymous_volume(den, img, tmp):
    vv = volume_image(den, tmp, img)
    out = den("run", "--name", "iv", vv, "sh", "-c", "cat /v/seed; echo new > /v/n; grep ' /v ' /proc/mounts").stdout
    assert out.startswith("seed\n") and " /v " in out, out
    (v1,) = anonymous(den)
    assert sorted(os.listdir(inspect(den, v1)["Mountpoint"])) == ["n", "seed"]
    den("rm", "-v", "iv")
    assert anonymous(den) == []
    # each container gets its own, fresh from the image
    assert den("run", "--rm", vv, "ls", "/v").stdout.split() == ["seed"]
    assert anonymous(den) == []
    den("run", "--name", "iv2", vv, "true")
    assert len(anonymous(den)) == 1
    den("rm", "iv2")
    before = anonymous(den)
    assert len(before) == 1
    # --volumes-from passes an image's anonymous volume on
    den("run", "--name", "iv3", vv, "sh", "-c", "echo third > /v/t")
    (v3,) = [n for n in anonymous(den) if n not in before]
    assert sh(den, img, "--volumes-from", "iv3", "cat /v/t").stdout == "third\n"
    assert v3 in anonymous(den)
    # the image's own VOLUME path, given by --volumes-from, gets no anonymous volume of its own
    count = len(anonymous(den))
    den("run", "--name", "iv4", "--volumes-from", "iv3", vv, "cat", "/v/t")
    assert len(anonymous(den)) == count
    den("rm", "-v", "iv4")
    assert v3 in anonymous(den)
    den("rm", "-v", "iv3")
    assert v3 not in anonymous(den)
    # a named volume at the image's VOLUME path takes its place
    assert den("run", "--rm", "-v", "at-v:/v", vv, "ls", "/v").stdout.split() == ["seed"]
    assert len(anonymous(den)) == 1 and "at-v" in names(den)


def test_volumes_from(den, img):
    den("run", "--name", "src", "-v", "shared:/s", "-v", "/anon", img, "sh", "-c",
        "echo from-src > /s/f; echo anon > /anon/f")
    (anon,) = anonymous(den)
    p = sh(den, img, "--volumes-from", "src", "cat /s/f /anon/f; echo more > /s/g")
    assert p.stdout == "from-src\nanon\n"
    assert sh(den, img, "-v", "shared:/x", "cat /x/g").stdout == "more\n"
    # :ro makes every volume read-only in the new container
    p = sh(den, img, "--volumes-from", "src:ro", "cat /s/f; echo no > /s/h", check=False)
    assert p.returncode != 0 and p.stdout == "from-src\n" and "Read-only file system" in p.stderr
    p = sh(den, img, "--volumes-from", "src:ro", "echo no > /anon/h", check=False)
    assert p.returncode != 0
    # the consumer's --rm does not take the source's anonymous volume with it
    assert anonymous(den) == [anon]
    # transitive: a container that took src's volumes passes them on with its own; several --volumes-from
    den("run", "--name", "mid", "--volumes-from", "src", "-v", "own:/o", img, "sh", "-c", "echo o > /o/f")
    assert sh(den, img, "--volumes-from", "mid", "cat /s/f /anon/f /o/f").stdout == "from-src\nanon\no\n"
    den("run", "--name", "other", "-v", "oth:/oth", img, "sh", "-c", "echo oth > /oth/f")
    assert sh(den, img, "--volumes-from", "src", "--volumes-from", "other", "cat /s/f /oth/f").stdout == \
        "from-src\noth\n"
    den("rm", "mid", "other")
    p = den("run", "--rm", "--volumes-from", "nosuch", img, "true", check=False)
    assert p.returncode == 125 and "nosuch" in p.stderr
    # a container that took them holds them: neither can go while it is there
    den("run", "--name", "consumer", "--volumes-from", "src", img, "true")
    den("rm", "-v", "src")
    assert anonymous(den) == [anon]  # docker's rm -v keeps a volume another container has
    p = den("volume", "rm", "shared", check=False)
    assert p.returncode != 0 and "consumer" in p.stderr
    den("rm", "consumer")
    den("volume", "rm", "shared")
    assert "shared" not in names(den)


# ---------------------------------------------------------------- the volume commands

def test_removal_rules(den, img):
    den("run", "--name", "user1", "-v", "busy:/b", img, "true")
    den("run", "--name", "user2", "-v", "busy:/c", img, "true")
    p = den("volume", "rm", "busy", check=False)
    assert p.returncode != 0
    assert "user1" in p.stderr and "user2" in p.stderr, p.stderr
    assert names(den) == ["busy"]
    # force does not take a volume from a container (docker neither)
    p = den("volume", "rm", "-f", "busy", check=False)
    assert p.returncode != 0 and "user1" in p.stderr
    assert names(den) == ["busy"]
    den("rm", "user1")
    p = den("volume", "rm", "busy", check=False)
    assert p.returncode != 0 and "user2" in p.stderr and "user1" not in p.stderr
    den("rm", "user2")
    assert den("volume", "rm", "busy").stdout.split() == ["busy"]
    assert names(den) == []
    assert not os.path.exists(os.path.join(den.root, "volumes", "busy"))
    # a missing volume: an error, unless -f
    p = den("volume", "rm", "nosuch", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr
    assert den("volume", "rm", "-f", "nosuch").returncode == 0
    # several at once: the ones that can go go, the command fails for the rest
    den("volume", "create", "one")
    den("volume", "create", "two")
    p = den("volume", "rm", "one", "nosuch", "two", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr
    assert names(den) == []


def test_ls_quiet_table_and_filters(den, img):
    den("volume", "create", "--label", "env=prod", "--label", "tier=db", "alpha")
    den("volume", "create", "--label", "env=dev", "beta")
    den("volume", "create", "gamma")
    den("run", "--name", "holder", "-v", "gamma:/g", img, "true")
    assert names(den) == ["alpha", "beta", "gamma"]
    table = den("volume", "ls").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert sorted(l.split() for l in table[1:]) == [["local", "alpha"], ["local", "beta"], ["local", "gamma"]]
    assert names(den, "-f", "name=alpha") == ["alpha"]
    assert names(den, "--filter", "name=beta") == ["beta"]
    assert names(den, "-f", "label=env") == ["alpha", "beta"]
    assert names(den, "-f", "label=env=prod") == ["alpha"]
    assert names(den, "-f", "label=tier") == ["alpha"]
    assert names(den, "-f", "label=nolabel") == []
    assert names(den, "-f", "dangling=true") == ["alpha", "beta"]
    assert names(den, "-f", "dangling=false") == ["gamma"]
    assert names(den, "-f", "dangling=true", "-f", "label=env=dev") == ["beta"]
    p = den("volume", "ls", "-f", "bogus=1", check=False)
    assert p.returncode != 0 and "bogus" in p.stderr
    den("rm", "holder")
    assert names(den, "-f", "dangling=true") == ["alpha", "beta", "gamma"]


def test_inspect_fields(den, img):
    den("volume", "create", "--driver", "local", "--label", "k=v", "--label", "empty=", "iv")
    v = inspect(den, "iv")
    assert v["Name"] == "iv" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"k": "v", "empty": ""}
    assert not v["Options"]  # docker: null or {} when none were given
    root = os.path.realpath(den.root)
    mp = v["Mountpoint"]
    assert os.path.isabs(mp) and os.path.realpath(mp).startswith(root + "/") and os.path.isdir(mp), mp
    assert mp.endswith("/iv/_data"), mp
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", v["CreatedAt"]), v["CreatedAt"]
    den("volume", "create", "-o", "type=tmpfs", "-o", "o=size=2m", "tv")
    t = inspect(den, "tv")
    assert t["Options"] == {"type": "tmpfs", "o": "size=2m"} and not t["Labels"]
    # several names: one array, in the order given; a missing one fails the command
    both = json.loads(den("volume", "inspect", "tv", "iv").stdout)
    assert [x["Name"] for x in both] == ["tv", "iv"]
    p = den("volume", "inspect", "nosuch", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr
    p = den("volume", "inspect", "iv", "nosuch", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr
    # a volume den run created is inspected the same way
    sh(den, img, "-v", "byrun:/x", "true")
    assert inspect(den, "byrun")["Driver"] == "local"


def test_create_is_idempotent_and_checks_its_input(den, img):
    assert den("volume", "create", "same").stdout.strip() == "same"
    mp = inspect(den, "same")["Mountpoint"]
    open(os.path.join(mp, "keep"), "w").write("k")
    assert den("volume", "create", "same").stdout.strip() == "same"
    assert names(den) == ["same"]
    assert os.listdir(mp) == ["keep"]
    # the same name with other options is refused, the volume left as it was
    p = den("volume", "create", "-o", "type=tmpfs", "same", check=False)
    assert p.returncode != 0 and "same" in p.stderr
    assert not inspect(den, "same")["Options"] and os.listdir(mp) == ["keep"]
    # without a name: a random 64-hex one
    anon = den("volume", "create").stdout.strip()
    assert HEX64.match(anon) and anon in names(den)
    # options and drivers den does not have
    for args in (["--driver", "nfs", "x1"], ["-o", "type=bogus", "x2"], ["-o", "foo=bar", "x3"],
                 ["-o", "type=none", "-o", "o=bind", "x4"]):  # a bind volume needs its device
        p = den("volume", "create", *args, check=False)
        assert p.returncode != 0 and p.stderr.strip(), args
    assert names(den) == sorted(["same", anon])


def test_a_label_needs_a_name(den):
    """docker: "invalid label '=v': empty name"; nothing is created"""
    for label in ("=v", "=", " =v"):
        p = den("volume", "create", "--label", label, "lab", check=False)
        assert p.returncode != 0 and "label" in p.stderr, (label, p.stderr)
    assert names(den) == []


@pytest.mark.parametrize("bad", ["a", "-x", "a/b", "..", ".hidden", "_under", "sp ace",
                                 pytest.param("x" * 256, id="256-chars")])
def test_bad_names_are_refused(den, img, bad):
    args = ["volume", "create", "--", bad] if bad.startswith("-") else ["volume", "create", bad]
    p = den(*args, check=False)
    assert p.returncode != 0
    err = p.stderr.strip()
    assert err and len(err.splitlines()) == 1, err
    assert bad in err or "name" in err.lower(), err
    assert names(den) == []
    vols = os.path.join(den.root, "volumes")
    assert not os.path.isdir(vols) or os.listdir(vols) == [], os.listdir(vols)
    # nor through den run's -v NAME:/path
    p = den("run", "--rm", "-v", f"{bad}:/m", img, "true", check=False)
    assert p.returncode == 125 and p.stderr.strip()
    assert names(den) == [] and den("ps", "-a", "-q").stdout == ""


def test_good_names(den, img):
    for good in ("ab", "a.b_c-D9", "9lives"):
        assert den("volume", "create", good).stdout.strip() == good
    assert names(den) == sorted(["ab", "a.b_c-D9", "9lives"])
    assert sh(den, img, "-v", "a.b_c-D9:/l", "echo x > /l/x; cat /l/x").stdout == "x\n"


def test_a_name_of_255_characters(den, img):
    """VOLUME_NAME_MAX (255), a file name's limit, is a name den takes"""
    long = "n" * 255
    p = den("volume", "create", long, check=False)
    assert p.returncode == 0 and p.stdout.strip() == long, p.stderr
    assert sh(den, img, "-v", f"{long}:/l", "echo x > /l/x; cat /l/x").stdout == "x\n"
    den("volume", "rm", long)
    assert names(den) == []
    # and through den run's first use
    assert sh(den, img, "-v", f"{'m' * 255}:/l", "ls -A /l").returncode == 0
    assert names(den) == ["m" * 255]


def test_prune(den, img):
    den("run", "--name", "gone", "-v", "/anon", img, "true")
    (unused_anon,) = anonymous(den)
    den("rm", "gone")
    den("run", "--name", "stays", "-v", "/anon", "-v", "inuse:/u", img, "true")
    used_anon = [n for n in anonymous(den) if n != unused_anon][0]
    den("volume", "create", "keepme")
    sh(den, img, "-v", "filled:/f", "head -c 100000 /dev/zero > /f/z")
    # without -a: only anonymous volumes no container has
    p = den("volume", "prune", "-f")
    assert unused_anon in p.stdout and "keepme" not in p.stdout and used_anon not in p.stdout
    assert "reclaimed" in p.stdout.lower()
    assert names(den) == sorted([used_anon, "filled", "inuse", "keepme"])
    # -a: named ones too, still none in use
    p = den("volume", "prune", "-a", "-f")
    assert "keepme" in p.stdout and "filled" in p.stdout and "inuse" not in p.stdout
    space = re.search(r"Total reclaimed space: ([0-9.]+)\s*([kKMG]?B)", p.stdout)
    assert space and float(space.group(1)) > 0 and space.group(2) != "B", p.stdout  # filled's 100 kB
    assert names(den) == sorted([used_anon, "inuse"])
    # nothing left to prune: success, nothing listed
    p = den("volume", "prune", "-a", "-f")
    assert p.returncode == 0 and "inuse" not in p.stdout and used_anon not in p.stdout
    den("rm", "stays")
    den("volume", "prune", "-f")
    assert names(den) == ["inuse"]


def test_system_df_counts_volumes(den, img):
    def volumes_row():
        rows = [l for l in den("system", "df").stdout.splitlines() if "Volumes" in l]
        assert len(rows) == 1, rows
        return [w for w in rows[0].split() if w.isdigit()]
    assert volumes_row()[:1] == ["0"]
    den("volume", "create", "free")
    den("run", "--name", "h", "-v", "held:/h", img, "true")
    assert volumes_row()[:2] == ["2", "1"]  # TOTAL, ACTIVE
    den("rm", "h")
    assert volumes_row()[:2] == ["2", "0"]


def test_system_prune_volumes(den, img):
    den("run", "--name", "gone", "-v", "/anon", img, "true")
    (unused,) = anonymous(den)
    den("rm", "gone")
    den("run", "--name", "stays", "-v", "/anon", img, "true")
    (used,) = [n for n in anonymous(den) if n != unused]
    den("system", "prune")
    assert unused in names(den)  # without --volumes, no volume goes
    den("volume", "create", "named")
    den("system", "prune", "--volumes")
    assert unused not in names(den)
    assert "named" in names(den)  # docker (23+) prunes only anonymous volumes there
    if "stays" in den("ps", "-a").stdout:
        assert used in names(den)


def test_removing_a_volume_follows_no_symlink(den, img, tmp):
    """a container can plant symlinks to host paths in its volume: rm and prune remove the links,
    never what they point at"""
    victim = os.path.join(tmp, "victim")
    os.makedirs(os.path.join(victim, "sub"))
    open(os.path.join(victim, "precious"), "w").write("p")
    os.chmod(victim, 0o777)
    for vol, remove in (("evil1", ["volume", "rm", "evil1"]), ("evil2", ["volume", "prune", "-a", "-f"])):
        sh(den, img, "-v", f"{vol}:/v", f"ln -s {victim} /v/link; ln -s {victim}/precious /v/file; "
           f"mkdir /v/d; ln -s {victim}/sub /v/d/sub")
        den(*remove)
        assert vol not in names(den)
        assert sorted(os.listdir(victim)) == ["precious", "sub"] and open(os.path.join(victim, "precious")).read() == "p"


def test_system_prune_takes_dockers_force_flag(den, img):
    """`docker system prune -f --volumes` is how scripts call it (den volume prune takes -f too)"""
    den("run", "--name", "gone", "-v", "/anon", img, "true")
    den("rm", "gone")
    p = den("system", "prune", "-f", "--volumes", check=False)
    assert p.returncode == 0, p.stderr
    assert anonymous(den) == []


# ---------------------------------------------------------------- owners, tmpfs and bind volumes

@needs_ids
def test_a_user_writes_into_a_volume_populated_from_a_directory_it_owns(den, img):
    p = sh(den, img, "-u", "1000", "-v", "own:/data", "id -u; echo mine > /data/new && stat -c %u:%g /data/new")
    assert p.stdout.split() == ["1000", "1000:1000"]
    assert sh(den, img, "-v", "own:/data", "cat /data/new /data/f").stdout == "mine\nhi\n"
    # a new volume at a root-owned path is root's: the user cannot write there
    p = sh(den, img, "-u", "1000", "-v", "rootowned:/mnt", "echo x > /mnt/x", check=False)
    assert p.returncode != 0 and "Permission denied" in p.stderr
    # nor is a directory the user owns made root's by a second mount as root
    sh(den, img, "-v", "own:/data", "stat -c %u /data")
    assert sh(den, img, "-u", "1000", "-v", "own:/data", "touch /data/again && stat -c %u /data").stdout == "1000\n"
    # files of another id than the user's own (sub-ids rootless) go with the volume
    mp = inspect(den, "own")["Mountpoint"]
    den("volume", "rm", "own", "rootowned")
    assert names(den) == [] and not os.path.exists(mp)


def test_tmpfs_volume_keeps_nothing(den, img):
    den("volume", "create", "-o", "type=tmpfs", "-o", "o=size=2m", "tv")
    p = sh(den, img, "-v", "tv:/t", "echo x > /t/x; grep ' /t ' /proc/mounts; ls /t")
    line = [l for l in p.stdout.splitlines() if " /t " in l]
    assert line and line[0].split()[2] == "tmpfs" and "size=2048k" in line[0], p.stdout
    assert p.stdout.splitlines()[-1] == "x"
    assert sh(den, img, "-v", "tv:/t", "ls -A /t").stdout == ""
    # its mode= holds at a path the image does not have (docker copies the owner and mode of the
    # image's directory only when there is one)
    den("volume", "create", "-o", "type=tmpfs", "-o", "o=size=1m,mode=1777", "tm")
    assert sh(den, img, "-v", "tm:/t", "stat -c %a /t").stdout == "1777\n"


def test_bind_volume_shows_the_host_directory(den, img, tmp):
    host = os.path.join(tmp, "bound")
    os.mkdir(host)
    open(os.path.join(host, "hf"), "w").write("host content\n")
    den("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={host}", "bv")
    assert inspect(den, "bv")["Options"] == {"type": "none", "o": "bind", "device": host}
    p = sh(den, img, "-v", "bv:/b", "cat /b/hf; echo back > /b/from-ctr")
    assert p.stdout == "host content\n"
    assert open(os.path.join(host, "from-ctr")).read() == "back\n"
    # a bind volume that holds something is not filled from the image
    sh(den, img, "-v", "bv:/data", "true")
    assert sorted(os.listdir(host)) == ["from-ctr", "hf"]
    # removing the volume leaves the host directory alone
    den("volume", "rm", "bv")
    assert sorted(os.listdir(host)) == ["from-ctr", "hf"]
    # a device that is not there
    p = den("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={tmp}/nope", "bad", check=False)
    if p.returncode == 0:  # docker checks at mount time
        assert den("run", "--rm", "-v", "bad:/b", img, "true", check=False).returncode != 0


def test_containers_starting_together_on_a_new_volume(den, img):
    """the first use of a volume by several containers at once: made once, populated once, each
    sees it whole (the copy-up is no race: "copy: 'secret': File exists" was seen rootless)"""
    for round in range(3):
        vol = f"race{round}"
        procs = [subprocess.Popen(den.cmd("run", "--rm", "-v", f"{vol}:/many", img, "sh", "-c",
                                          "ls /many | wc -l; cat /many/m299"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(5)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            assert out.split() == ["300", "299"], (out, err)
        assert len(os.listdir(inspect(den, vol)["Mountpoint"])) == 300
    assert names(den) == ["race0", "race1", "race2"]


def test_prune_never_takes_a_volume_a_starting_container_just_made(den, img):
    """a volume made by den run's first use belongs to that container from the start: a prune
    running meanwhile (docker holds a reference from creation) must not remove it under the run"""
    import threading
    stop = threading.Event()

    def pruner():
        while not stop.is_set():
            subprocess.run(den.cmd("volume", "prune", "-a", "-f"), capture_output=True)
    threads = [threading.Thread(target=pruner) for _ in range(2)]
    for t in threads:
        t.start()
    bad = []
    try:
        for i in range(20):
            p = den("run", "--rm", "-v", f"fresh{i}:/x", "-v", "/anon", img, "sh", "-c",
                    "echo ok > /x/f && echo ok > /anon/f && cat /x/f /anon/f", check=False)
            if p.returncode != 0 or p.stdout != "ok\nok\n":
                bad.append((i, p.returncode, p.stdout, p.stderr.strip()))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not bad, "\n".join(map(str, bad))


def test_bind_and_tmpfs_volumes_are_populated_when_empty(den, img, tmp):
    """docker's local driver mounts an --opt volume on its _data and populates it as any other
    while it is empty (the well-known way to fill a host directory from an image): an empty bind
    device gets the image's content, a tmpfs volume starts with it at each mount"""
    host = os.path.join(tmp, "emptybind")
    os.mkdir(host)
    os.chmod(host, 0o777)
    den("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={host}", "eb")
    assert sh(den, img, "-v", "eb:/data", "cat /data/f").stdout == "hi\n"
    assert os.listdir(host) == ["f"]
    den("volume", "create", "-o", "type=tmpfs", "et")
    assert sh(den, img, "-v", "et:/data", "cat /data/f; echo more > /data/g").stdout == "hi\n"
    assert sh(den, img, "-v", "et:/data", "ls /data").stdout.split() == ["f"]
    # nocopy keeps them empty
    den("volume", "create", "-o", "type=tmpfs", "et2")
    assert sh(den, img, "-v", "et2:/data:nocopy", "ls -A /data").stdout == ""
