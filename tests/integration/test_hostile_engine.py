# SPDX-License-Identifier: GPL-2.0-or-later
"""den against hostile images and names: nothing an image holds wedges the
keeper, requests of any size the engine accepts reach it, names are checked."""
import json
import os
import signal
import subprocess
import tarfile
import time

import pytest

from conftest import ROOT, derived_image, make_rootfs

# den's fixture: den(*args, check=True) runs den on the test's own store (120 s at most)
from test_den_run import den  # noqa: F401


def import_rootfs(den, tmp, name, change=None):
    """a busybox image; change(rootfs) edits its files first"""
    rootfs = os.path.join(tmp, "rootfs-" + name)
    make_rootfs(rootfs)
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    if change:
        change(rootfs)
    tarball = os.path.join(tmp, name + ".tar")

    def as_root(ti):
        ti.uid = ti.gid = 0
        return ti
    with tarfile.open(tarball, "w") as t:
        t.add(rootfs, arcname=".", filter=as_root)
    den("import", tarball, name)
    return name


@pytest.fixture
def image(den, tmp):
    return import_rootfs(den, tmp, "busybox")


def fifo_at(*paths):
    def change(rootfs):
        for p in paths:
            full = os.path.join(rootfs, p)
            if os.path.lexists(full):
                os.unlink(full)
            os.mkfifo(full)
    return change


# ---- item 6: files of the image the keeper reads ----

def test_fifo_passwd_fails_the_request_not_the_keeper(den, tmp):
    img = import_rootfs(den, tmp, "fifopw", fifo_at("etc/passwd"))
    # stdout is a pipe here, as in $(den run ...): it must end, with an error naming the file
    p = den("run", "--rm", "-u", "foo", img, "true", check=False)
    assert p.returncode != 0
    assert "/etc/passwd" in p.stderr and "not a regular file" in p.stderr
    # a numeric user needs no lookup
    assert den("run", "--rm", "-u", "0", img, "echo", "ok").stdout == "ok\n"
    # a session's keeper answers the next request after a failed one
    den("session", "begin", "--name", "s1", img)
    p = den("session", "exec", "-u", "foo", "s1", "--", "true", check=False)
    assert p.returncode != 0 and "/etc/passwd" in p.stderr
    assert den("session", "exec", "s1", "--", "echo", "again").stdout == "again\n"
    den("session", "end", "s1")


def test_fifo_group_and_symlinked_passwd(den, tmp):
    img = import_rootfs(den, tmp, "fifogr", fifo_at("etc/group"))
    p = den("run", "--rm", "-u", "0:wheel", img, "true", check=False)
    assert p.returncode != 0 and "/etc/group" in p.stderr

    def link(rootfs):
        os.unlink(os.path.join(rootfs, "etc", "passwd"))
        os.symlink("/proc/self/fd/0", os.path.join(rootfs, "etc", "passwd"))
    img = import_rootfs(den, tmp, "lnpw", link)
    p = den("run", "--rm", "-u", "foo", img, "true", check=False)
    assert p.returncode != 0 and "/etc/passwd" in p.stderr and "symlink" in p.stderr


def test_big_passwd_is_refused(den, tmp):
    def big(rootfs):
        with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
            f.write(("#" * 1023 + "\n") * 5000)
    img = import_rootfs(den, tmp, "bigpw", big)
    p = den("run", "--rm", "-u", "root", img, "true", check=False)
    assert p.returncode != 0 and "/etc/passwd" in p.stderr and "larger than" in p.stderr


def test_a_process_left_holding_the_log_does_not_keep_the_keeper(den, image):
    cid = den("run", "-d", image, "sh", "-c", "sleep 1000 & echo hi; exit 3").stdout.strip()
    start = time.time()
    assert den("wait", cid).stdout.strip() == "3"
    assert time.time() - start < 20
    assert den("logs", cid).stdout == "hi\n"


# ---- item 7: requests of any size the engine accepts ----

def test_an_env_of_a_megabyte_reaches_the_command(den, image, tmp):
    # 16 variables of 64 KiB: execve takes them (one string may not pass 128 KiB)
    big = [f"BIG{i}=" + "x" * 65536 for i in range(16)]

    def cfg(c):
        c["config"]["Env"] = c["config"].get("Env", []) + big
    derived_image(den, image, tmp, "bigenv", config=cfg)
    p = den("run", "--rm", "bigenv", "sh", "-c", 'echo ${#BIG0} ${#BIG15}')
    assert p.stdout == "65536 65536\n"
    cid = den("run", "-d", "bigenv", "sleep", "100").stdout.strip()
    assert den("exec", cid, "sh", "-c", 'echo ${#BIG7}').stdout == "65536\n"
    den("rm", "-f", cid)


# ---- item 8: names ----

BAD_NAMES = ["../../x", "a/b", "", "..", ".", "-x", "a" * 5000, "a\nb", "a b", "x:y"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_bad_names_are_refused(den, image, name):
    p = den("create", "--name", name, image, "true", check=False)
    assert p.returncode != 0 and "name" in p.stderr
    p = den("session", "begin", "--name", name, image, check=False)
    assert p.returncode != 0 and "name" in p.stderr
    den("create", "--name", "good.name_1-2", image, "true")
    p = den("rename", "good.name_1-2", name, check=False)
    assert p.returncode != 0 and "name" in p.stderr
    assert den("ps", "-a", "--format", check=False).returncode == 2
    names = [l.split()[-1] for l in den("ps", "-a").stdout.splitlines()[1:]]
    assert names == ["good.name_1-2"]
    assert not os.path.exists(os.path.join(os.path.dirname(den.root), "x"))


def test_hostname_is_checked_and_names_reach_etc_hosts(den, image):
    for h in ["a_b", "-a", "a\n1.2.3.4 evil", "a" * 65, "a..b", ""]:
        p = den("run", "--rm", "--hostname", h, image, "true", check=False)
        assert p.returncode != 0 and "hostname" in p.stderr, h
    p = den("run", "--rm", "--name", "web.1", "--hostname", "box.example", image, "cat", "/etc/hosts")
    assert "127.0.1.1\tbox.example web.1\n" in p.stdout


def test_double_dash_ends_options_everywhere(den, image):
    cid = den("create", "--name", "c1", image, "true").stdout.strip()
    # a name from before names were checked
    rec = os.path.join(den.root, "containers", cid, "container.json")
    r = json.load(open(rec))
    r["Name"] = "-x"
    json.dump(r, open(rec, "w"))
    assert den("ps", "-aq").stdout.split() == [cid[:12]]
    assert den("rm", "-x", check=False).returncode == 2
    den("start", "--", "-x")
    assert den("wait", "--", "-x").stdout.strip() == "0"
    den("stop", "-t", "1", "--", "-x")
    den("kill", "-s", "TERM", "--", "-x", check=False)
    assert den("inspect", "--", "-x").stdout.count(cid) >= 1
    den("rename", "--", "-x", "y")
    den("rename", "--", "y", "-z", check=False)
    assert den("rm", "-f", "--", "y").stdout.strip() == "y"
    assert den("ps", "-aq").stdout.split() == []
    den("tag", "--", image, "other")
    den("rmi", "--", "other")


# ---- item 12: a command with a network namespace of its own sees its sysfs ----

def test_isolated_session_command_sees_its_own_sysfs(den, image):
    den("session", "begin", "--name", "net", image)

    def ex(*net, cmd):
        return den("session", "exec", *net, "net", "--", "sh", "-c", cmd).stdout
    host = ex(cmd="ls /sys/class/net").split()
    assert host == sorted(os.listdir("/sys/class/net"))
    cgroups = ex(cmd="ls /sys/fs/cgroup")
    assert ex("--network", "none", cmd="ls /sys/class/net") == "lo\n"
    # what was on /sys comes along: the cgroup tree, the mask on /sys/firmware
    assert ex("--network", "none", cmd="ls /sys/fs/cgroup") == cgroups
    assert ex("--network", "none", cmd="ls /sys/firmware | wc -l").strip() == "0"
    assert ex("--network", "none", cmd="touch /sys/x 2>&1 || true") != ""
    # the session itself is unchanged
    assert ex(cmd="ls /sys/class/net").split() == host
    den("session", "end", "net")


# ---- item 10: logs and states ----

def test_logs_keep_a_nul(den, image):
    cid = den("run", "-d", image, "sh", "-c", r"printf 'a\000b\n'; printf 'x\000\n' >&2; echo after").stdout.strip()
    den("wait", cid)
    log = open(os.path.join(den.root, "containers", cid, "ctr.log")).read()
    assert r'"a\u0000b\n"' in log
    p = subprocess.run(den.cmd("logs", cid), capture_output=True, timeout=30)
    assert p.stdout == b"a\x00b\nafter\n" and p.stderr == b"x\x00\n"


def test_a_container_whose_keeper_was_killed_has_exited(den, image):
    cid = den("run", "-d", image, "sleep", "1000").stdout.strip()
    assert den("create", image, "true").returncode == 0

    def states():
        return {e["Id"][:12]: (e["Status"], e["ExitCode"])
                for e in (json.loads(den("inspect", i).stdout)[0] for i in den("ps", "-aq").stdout.split())}
    keeper = json.loads(den("inspect", cid).stdout)[0]["KeeperPid"]
    # den rm -f killed (kill -9) right after it killed the keeper
    os.kill(keeper, signal.SIGKILL)
    for _ in range(100):
        if not os.path.exists(f"/proc/{keeper}"):
            break
        time.sleep(0.05)
    st = states()
    assert st[cid[:12]] == ("exited", 137)
    assert sorted(s for s, _ in st.values()) == ["created", "exited"]
    assert "Exited (137)" in den("ps", "-a").stdout
    assert den("wait", cid).stdout.strip() == "137"
    # ... or after it removed the run directory
    subprocess.run(["rm", "-rf", os.path.join(den.runroot, "containers", cid)], check=True)
    assert states()[cid[:12]] == ("exited", 137)
    den("rm", cid)
    assert len(den("ps", "-aq").stdout.split()) == 1


def test_cp_out_of_a_fifo_fails_and_the_keeper_goes_on(den, tmp):
    img = import_rootfs(den, tmp, "fifocp", fifo_at("etc/passwd", "etc/group"))
    den("run", "-d", "--name", "cpf", img, "sleep", "100")
    p = den("cp", "cpf:/etc/passwd", os.path.join(tmp, "out"), check=False)
    assert p.returncode != 0 and "/etc/passwd" in p.stderr
    # a tree holding one: the FIFO is left out, the rest copied
    den("cp", "cpf:/etc", os.path.join(tmp, "etc-out"))
    assert not os.path.exists(os.path.join(tmp, "etc-out", "passwd"))
    assert den("exec", "cpf", "echo", "alive").stdout == "alive\n"
    den("rm", "-f", "cpf")
