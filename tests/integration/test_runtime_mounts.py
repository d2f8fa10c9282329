# SPDX-License-Identifier: GPL-2.0-or-later
"""den-runtime: mounts and the root, and podman's uses of them (issue 11)."""
import os
import stat
import subprocess

import pytest

from conftest import ROOT, has_subids, kv, make_rootfs, open_path_to_all, run, tar_as_root

IMAGE = "localhost/den-busybox"
# podman's pause image needs catatonit, missing here: the infra container runs this instead
PAUSE = "#!/bin/sh\ntrap 'exit 0' TERM INT\nwhile :; do sleep 1000 & wait; done\n"

# rootless podman's network needs /dev/net/tun (the harness opens it to the user with sub-ids only)
NET = [] if ROOT or os.access("/dev/net/tun", os.R_OK | os.W_OK) else ["--network", "none"]


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    """one podman session for the module, with the test image imported once"""
    from conftest import podman_session
    tmp = str(tmp_path_factory.mktemp("podman"))
    os.chmod(tmp, 0o755)
    session = podman_session(tmp)
    pm = next(session)
    rootfs = os.path.join(tmp, "img")
    make_rootfs(rootfs)
    with open(os.path.join(rootfs, "bin", "pause"), "w") as f:
        f.write(PAUSE)
    os.chmod(os.path.join(rootfs, "bin", "pause"), 0o755)
    pm("import", tar_as_root(rootfs, os.path.join(tmp, "img.tar")), IMAGE)
    yield pm
    next(session, None)


def mountinfo(text):
    """/proc/self/mountinfo as {mount point: (options, optional fields, fstype, super options)}"""
    out = {}
    for line in text.splitlines():
        if " - " not in line:
            continue
        left, right = line.split(" - ")
        f = left.split()
        r = right.split()
        out[f[4]] = (f[5], f[6:], r[0], r[2] if len(r) > 2 else "")
    return out


def test_podman_pod_joins_ipc_without_host_mqueue(podman):
    # the pod's containers join the infra container's ipc namespace, and podman
    # mounts (rootless: binds) /dev/mqueue for them; the host has none mounted
    podman("pod", "create", *NET, "--name", "p1", "--infra-image", IMAGE, "--infra-command", "/bin/pause")
    try:
        out = podman("run", "--rm", "--pod", "p1", IMAGE, "cat", "/proc/self/mountinfo").stdout
        assert mountinfo(out)["/dev/mqueue"][2] == "mqueue"
        podman("run", "--rm", "--pod", "p1", IMAGE, "true")
    finally:
        podman("pod", "rm", "-f", "-t", "0", "p1", check=False)


@pytest.fixture
def shared_bundle_dir(tmp):
    """as root, the bundles' directory a shared mount of its own, so a slave shows its master"""
    if not ROOT:
        yield
        return
    subprocess.run(["mount", "--bind", tmp, tmp], check=True)
    subprocess.run(["mount", "--make-shared", tmp], check=True)
    yield
    subprocess.run(["umount", "-l", tmp], check=True)


@pytest.mark.parametrize("prop", ["shared", "rshared", "slave", "private", "rprivate", "unbindable"])
def test_rootfs_propagation(rt, bundle, shared_bundle_dir, prop):
    b = bundle().set_args("/bin/cat", "/proc/self/mountinfo")
    b.config["linux"]["rootfsPropagation"] = prop
    b.save()
    fields = " ".join(mountinfo(run(rt, b).stdout)["/"][1])
    base = prop.lstrip("r") if prop != "rprivate" else "private"
    if base == "shared":
        assert "shared:" in fields
    elif base == "slave":
        assert "shared:" not in fields and "unbindable" not in fields
        if ROOT:
            assert "master:" in fields
    elif base == "private":
        assert fields == ""
    else:
        assert fields == "unbindable"


def test_missing_cwd_made_before_root_is_read_only(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "cwd")
    b.config["root"]["readonly"] = True
    b.config["process"]["cwd"] = "/does/not/exist"
    b.save()
    assert "/does/not/exist" in run(rt, b).stdout


def probe_sh(rt, b, script):
    b.set_args("/bin/sh", "-c", script)
    return run(rt, b).stdout


def test_tmpfs_mode_as_asked_and_dev_755(rt, bundle):
    b = bundle()
    b.add_mount(destination="/tmp", type="tmpfs", source="tmpfs", options=["nosuid", "nodev", "mode=1777"])
    b.add_mount(destination="/mnt", type="tmpfs", source="tmpfs", options=["mode=710"])
    out = probe_sh(rt, b, "denprobe stat /tmp; denprobe stat /mnt; denprobe stat /dev; cat /proc/self/mountinfo")
    modes = [l.split("=")[1] for l in out.splitlines() if l.startswith("mode=")]
    assert modes == ["41777", "40710", "40755"]
    mi = mountinfo(out)
    assert "mode=710" in mi["/mnt"][3]
    assert "mode=755" in mi["/dev"][3]


def test_device_binds_are_nosuid_noexec(rt, bundle):
    b = bundle()
    b.config["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                     "fileMode": 0o666, "uid": 0, "gid": 0}]
    b.save()
    mi = mountinfo(probe_sh(rt, b, "cat /proc/self/mountinfo"))
    devs = [d for d in ("/dev/null", "/dev/zero", "/dev/tty", "/dev/urandom", "/dev/fuse") if d in mi]
    # as root the nodes are made with mknod: no mounts; rootless every one is a bind
    assert len(devs) == (0 if ROOT else 5)
    for d in devs:
        opts = mi[d][0].split(",")
        assert "nosuid" in opts and "noexec" in opts, (d, opts)


@pytest.mark.parametrize("mtype", ["bind", "none", None])
def test_rbind_option_is_recursive(rt, bundle, mtype):
    # the host's /dev has mounts below it (/dev/pts, /dev/shm): an rbind brings them,
    # read-only too when asked (docker's ["rbind", "ro", "rprivate"])
    b = bundle()
    m = {"destination": "/mnt/hostdev", "source": "/dev", "options": ["rbind", "nosuid", "ro", "rprivate"]}
    if mtype:
        m["type"] = mtype
    b.add_mount(**m)
    mi = mountinfo(probe_sh(rt, b, "cat /proc/self/mountinfo"))
    assert mi["/mnt/hostdev/pts"][2] == "devpts"
    assert {"nosuid", "ro"} <= set(mi["/mnt/hostdev"][0].split(","))
    assert "ro" in mi["/mnt/hostdev/pts"][0].split(",")
    assert mi["/mnt/hostdev/pts"][1] == []


def userns_bundle(bundle):
    """a bundle with a user namespace; as root mapped onto 100000.., which must reach the bundle"""
    b = bundle()
    if "user" not in b.namespaces():
        open_path_to_all(b.path)
        b.config["linux"]["namespaces"].append({"type": "user"})
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        b.save()
    return b


def test_devices_in_a_user_namespace(rt, bundle):
    # root makes them with mknod (in a tmpfs of the host's: one mounted in the
    # user namespace is nodev); rootless, where mknod is refused, binds the host's
    b = userns_bundle(bundle)
    b.config["linux"]["devices"] = [{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
                                     "fileMode": 0o620, "uid": 5, "gid": 6}]
    b.save()
    out = probe_sh(rt, b, "denprobe stat /dev/net/tun; echo hi > /dev/null && echo null=ok; "
                          "echo zero=$(head -c 4 /dev/zero | wc -c); cat /proc/self/mountinfo")
    mi = mountinfo(out)
    st = kv(out)
    assert st["null"] == "ok" and st["zero"] == "4"
    assert st["rdev"] == "10:200"
    assert mi["/dev/null"][2] == ("tmpfs" if ROOT else "devtmpfs")
    if ROOT:
        assert st["mode"] == "20620" and (st["uid"], st["gid"]) == ("5", "6")
    for d in ("/dev/null", "/dev/net/tun"):
        assert {"nosuid", "noexec"} <= set(mi[d][0].split(","))


def test_bind_and_idmapped_mounts_in_a_user_namespace(rt, bundle, tmp):
    src = os.path.join(tmp, "owned")
    os.mkdir(src)
    open(os.path.join(src, "f"), "w").write("x")
    b = userns_bundle(bundle)
    uid_map = b.config["linux"]["uidMappings"]
    gid_map = b.config["linux"]["gidMappings"]
    b.add_mount(destination="/mnt", type="bind", source=src, options=["bind"])
    b.add_mount(destination="/root", type="bind", source=src, options=["bind", "idmap"],
                uidMappings=[dict(m) for m in uid_map], gidMappings=[dict(m) for m in gid_map])
    b.set_args("/bin/sh", "-c", "denprobe stat /mnt/f; denprobe stat /root/f")
    p = run(rt, b, check=False)
    if not ROOT:
        # the filesystem's user namespace is the host's: only its root may idmap
        assert p.returncode != 0 and "idmapped mounts need root" in p.stderr
        return
    assert p.returncode == 0, p.stderr
    plain, data = [kv(x) for x in p.stdout.split("mode=")[1:]]
    # on disk the host root's: unmapped in the container, its root through the idmapped mount
    assert (plain["uid"], plain["gid"]) == ("65534", "65534")
    assert (data["uid"], data["gid"]) == ("0", "0")


# podman's everyday uses, each as crun runs them (the module shares one podman session)

def pm_run(podman, *args, **kw):
    return podman("run", "--rm", *NET, *args, **kw)


def test_podman_detached_exec_top_restart_kill(podman):
    podman("run", "-d", "--name", "d1", *NET, IMAGE, "sleep", "1000")
    # a single-id map (no sub-ids) has no other user to become
    user = ("1000", "1001") if ROOT or has_subids() else ("0", "0")
    out = podman("exec", "-u", ":".join(user), "d1", "denprobe", "ids").stdout
    assert (kv(out)["uid"], kv(out)["gid"]) == user
    assert "sleep 1000" in podman("top", "d1").stdout
    podman("restart", "-t", "0", "d1")
    assert podman("inspect", "-f", "{{.State.Status}}", "d1").stdout.strip() == "running"
    podman("kill", "d1")
    podman("wait", "d1")
    assert podman("inspect", "-f", "{{.State.Status}}", "d1").stdout.strip() == "exited"
    podman("rm", "d1")


def test_podman_read_only_and_tmpfs(podman):
    p = pm_run(podman, "--read-only", "--tmpfs", "/scratch:mode=1777,size=1m", IMAGE, "sh", "-c",
               "touch /x 2>/dev/null && echo root=rw || echo root=ro; touch /tmp/t /scratch/s && echo tmp=ok; "
               "denprobe stat /scratch; grep -w /scratch /proc/self/mountinfo")
    out = kv(p.stdout)
    assert out["root"] == "ro" and out["tmp"] == "ok" and out["mode"] == "41777"
    assert " - tmpfs " in p.stdout and "size=1024k" in p.stdout


def test_podman_cap_drop_all_and_default_seccomp(podman):
    out = kv(pm_run(podman, "--cap-drop", "all", IMAGE, "denprobe", "caps").stdout)
    assert int(out["CapEff"], 16) == 0 and int(out["CapBnd"], 16) == 0
    assert out["Seccomp"] == "2"
    out = kv(pm_run(podman, "--security-opt", "seccomp=unconfined", IMAGE, "denprobe", "caps").stdout)
    assert out["Seccomp"] == "0"


def test_podman_userns_keep_id(podman):
    if ROOT or not has_subids():
        pytest.skip("--userns keep-id is rootless only, and podman wants sub-ids for it")
    p = pm_run(podman, "--userns", "keep-id", IMAGE, "denprobe", "ids", check=False)
    assert p.returncode == 0, p.stderr
    assert kv(p.stdout)["uid"] == str(os.getuid())


def test_podman_publish_port(podman):
    if not ROOT and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        pytest.skip("rootless ports need /dev/net/tun (the harness opens it to the user with sub-ids)")
    import socket
    import time
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    podman("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:8080", IMAGE, "denprobe", "tcp-serve", "8080",
           "from-den")
    try:
        got = b""
        # until it answers: a loaded machine (CI on 2 cores) took longer than 5 s once
        end = time.time() + 30
        while time.time() < end:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
                    got = c.recv(100)
                if got:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert got == b"from-den"
    finally:
        podman("rm", "-f", "-t", "0", "web", check=False)


def test_podman_pid_host_init_ulimit_hostname(podman):
    assert pm_run(podman, IMAGE, "sh", "-c", "echo $$").stdout.strip() == "1"
    assert pm_run(podman, "--pid", "host", IMAGE, "sh", "-c", "echo $$").stdout.strip() != "1"
    out = pm_run(podman, "--init", "--init-path", "/usr/bin/tini-static", IMAGE, "sh", "-c",
                 "echo $$; cat /proc/1/cmdline | tr '\\0' ' '").stdout.split("\n")
    # podman binds the init at /run/podman-init
    assert out[0] != "1" and out[1].startswith("/run/podman-init -- sh")
    out = kv(pm_run(podman, "--ulimit", "nofile=1000:2000", IMAGE, "denprobe", "rlimits").stdout)
    assert out["NOFILE"] == "1000:2000"
    out = kv(pm_run(podman, "--hostname", "h1.example", IMAGE, "denprobe", "hostname").stdout)
    assert out["hostname"] == "h1.example"


def test_podman_tty_and_device(podman):
    out = pm_run(podman, "-t", IMAGE, "denprobe", "tty").stdout
    assert kv(out)["isatty"] == "1" and kv(out)["ttyname"].startswith("/dev/pts/")
    out = kv(pm_run(podman, "--device", "/dev/fuse", IMAGE, "denprobe", "stat", "/dev/fuse").stdout)
    assert out["rdev"] == "10:229"
