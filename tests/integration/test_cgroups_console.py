# SPDX-License-Identifier: GPL-2.0-or-later
import array
import json
import os
import socket
import time

import pytest

from conftest import ROOT, kv, run


def cgroup_mode():
    import subprocess
    t = subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True, text=True).stdout.strip()
    return "v2" if t == "cgroup2fs" else "v1"


def test_resources_applied_as_root_warned_rootless(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    b.config["linux"]["resources"] = {"pids": {"limit": 77}, "memory": {"limit": 64 << 20}}
    b.config["linux"]["cgroupsPath"] = "/den-test/c1"
    b.save()
    p = rt("run", "-d", "--bundle", b.path, "c1")
    pid = rt.state("c1")["pid"]
    if ROOT:
        cg = "/sys/fs/cgroup/pids/den-test/c1" if cgroup_mode() == "v1" else "/sys/fs/cgroup/den-test/c1"
        assert open(os.path.join(cg, "pids.max")).read().strip() == "77"
        assert str(pid) in open(os.path.join(cg, "cgroup.procs")).read().split()
        rt("update", "--pids-limit", "88", "c1")
        assert open(os.path.join(cg, "pids.max")).read().strip() == "88"
        rt("pause", "c1")
        assert rt.state("c1")["status"] == "paused"
        rt("resume", "c1")
        assert rt.state("c1")["status"] == "running"
        rt("delete", "--force", "c1")
        assert not os.path.exists(cg)
    else:
        assert "linux.resources ignored" in p.stderr
        p = rt("pause", "c1", check=False)
        assert p.returncode != 0 and "cgroup" in p.stderr
        p = rt("update", "--pids-limit", "5", "c1", check=False)
        assert p.returncode != 0 and "cgroup" in p.stderr
        rt("delete", "--force", "c1")


def recv_fd(conn):
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(4))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:4])
    return msg, fds[0]


def read_until(fd, marker, timeout=5):
    """what a pty master gives until marker appears (or EOF, or timeout), without CRs"""
    out = b""
    end = time.time() + timeout
    while time.time() < end and marker not in out:
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
    return out.decode(errors="replace").replace("\r", "")


def test_terminal_through_console_socket(rt, bundle, tmp):
    b = bundle().set_args("/bin/sh", "-c", "/bin/denprobe tty; sleep 0.3")
    b.config["process"]["terminal"] = True
    b.config["process"]["consoleSize"] = {"height": 40, "width": 100}
    b.save()
    path = os.path.join(tmp, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    p = rt("create", "--console-socket", path, "--bundle", b.path, "c1")
    conn, _ = srv.accept()
    name, master = recv_fd(conn)
    assert name == b"/dev/ptmx"
    rt("start", "c1")
    text = read_until(master, b"ttyname")
    assert kv(text)["isatty"] == "1", text
    assert kv(text)["ttyname"].startswith("/dev/"), text
    os.close(master)
    rt("delete", "--force", "c1")


def test_terminal_without_socket_when_detached(rt, bundle):
    b = bundle().set_args("/bin/true")
    b.config["process"]["terminal"] = True
    b.save()
    p = rt("create", "--bundle", b.path, "c1", check=False)
    assert p.returncode != 0 and "console-socket" in p.stderr
