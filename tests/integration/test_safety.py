# SPDX-License-Identifier: GPL-2.0-or-later
"""Paths from config.json stay inside the root; no host fd crosses; the
runtime's binary is out of reach."""
import os
import subprocess
import time

from conftest import ROOT, kv, run


def host_mounts(own):
    """The host's mounts, less what other programs of the machine mount and unmount meanwhile: under /tmp
    and /run only this test's own directory counts (podman's storage, dockerd's netns files and other
    tests' directories come and go there), so an escape is caught wherever it lands but there."""
    lines = []
    for l in open("/proc/self/mountinfo").read().splitlines():
        point = l.split()[4]
        if point.startswith(("/tmp/", "/run/")) and not point.startswith(own):
            continue
        lines.append(l)
    return lines


def test_proc_symlinked_to_etc_mounts_inside_the_root(rt, bundle, tmp):
    b = bundle().set_args("/bin/denprobe", "ls", "/etc")
    os.rmdir(os.path.join(b.rootfs, "proc"))
    os.symlink("/etc", os.path.join(b.rootfs, "proc"))
    before = host_mounts(tmp)
    out = run(rt, b, check=False).stdout
    # the symlink is followed inside the root: proc lands on rootfs/etc
    assert "self" in out.split() or "error" not in out
    assert host_mounts(tmp) == before
    assert "self" not in os.listdir("/etc")


def test_mount_target_symlink_escape(rt, bundle, tmp):
    victim = os.path.join(tmp, "victim")
    os.mkdir(victim)
    b = bundle().set_args("/bin/denprobe", "write", "/evil/planted", "x")
    os.symlink("../../../../../../../../" + victim.lstrip("/"), os.path.join(b.rootfs, "evil"))
    b.add_mount(destination="/evil", type="tmpfs", source="tmpfs")
    before = host_mounts(tmp)
    run(rt, b)
    assert os.listdir(victim) == []
    assert host_mounts(tmp) == before
    # it was created (and mounted) inside the root instead
    assert os.path.isdir(os.path.join(b.rootfs, victim.lstrip("/")))


def test_bind_destination_through_dotdot(rt, bundle, tmp):
    src = os.path.join(tmp, "src")
    os.mkdir(src)
    b = bundle().set_args("/bin/true")
    b.add_mount(destination="/../../../../../" + tmp.lstrip("/") + "/outside", type="bind", source=src, options=["bind"])
    run(rt, b)
    assert not os.path.exists(os.path.join(tmp, "outside"))


def test_cwd_symlink_stays_inside(rt, bundle, tmp):
    b = bundle().set_args("/bin/denprobe", "write", "marker", "x")
    os.symlink("../../../../../../../../" + tmp.lstrip("/"), os.path.join(b.rootfs, "up"))
    b.config["process"]["cwd"] = "/up"
    b.save()
    run(rt, b)
    assert not os.path.exists(os.path.join(tmp, "marker"))
    assert os.path.exists(os.path.join(b.rootfs, tmp.lstrip("/"), "marker"))


def test_masked_path_symlink_to_host(rt, bundle, tmp):
    victim = os.path.join(tmp, "victim2")
    os.mkdir(victim)
    b = bundle().set_args("/bin/true")
    os.symlink(victim, os.path.join(b.rootfs, "m"))
    b.config["linux"]["maskedPaths"] = ["/m"]
    b.save()
    before = host_mounts(tmp)
    run(rt, b)
    assert host_mounts(tmp) == before


def test_no_host_fd_leaks_and_preserve_fds(rt, bundle, tmp):
    b = bundle().set_args("/bin/denprobe", "fds")
    r, w = os.pipe()
    extra = os.open("/etc/hostname", os.O_RDONLY)
    try:
        p = subprocess.run(rt.cmd("run", "--bundle", b.path, "c1"), capture_output=True, text=True, pass_fds=(r, w, extra))
        fds = sorted(int(k[2:]) for k in kv(p.stdout))
        assert fds == [0, 1, 2], p.stdout
        os.dup2(extra, 3)
        p = subprocess.run(rt.cmd("run", "--preserve-fds", "1", "--bundle", b.path, "c2"), capture_output=True,
                           text=True, pass_fds=(3,))
        got = kv(p.stdout)
        assert sorted(int(k[2:]) for k in got) == [0, 1, 2, 3], p.stdout
        assert got["fd3"] == "/etc/hostname" or got["fd3"].endswith("hostname")
    finally:
        os.close(r)
        os.close(w)
        os.close(extra)


def test_runtime_binary_unreachable_from_inside(rt, bundle):
    # while created, pid 1 is den-runtime's code waiting for start: a process
    # exec'd into the container must not reach its binary or memory
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    rt("create", "--bundle", b.path, "c1")
    p = rt("exec", "c1", "/bin/denprobe", "exe", "1")
    out = kv(p.stdout)
    assert out["write"] != "ok", p.stdout
    if ROOT:
        # pid 1 is non-dumpable: not even a look at the binary or its memory
        assert out["open"] != "ok" and out["readlink"] != "ok", p.stdout
    rt("delete", "--force", "c1")
