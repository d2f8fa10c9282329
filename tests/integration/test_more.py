# SPDX-License-Identifier: GPL-2.0-or-later
"""Idmapped mounts, seccomp notification, exec with a terminal, time namespace."""
import array
import errno
import json
import os
import pty
import socket
import subprocess
import time

import pytest

from conftest import ROOT, kv, run, run_in_pty
from test_cgroups_console import read_until, recv_fd


def test_idmapped_bind_mount(rt, bundle, tmp):
    src = os.path.join(tmp, "owned")
    os.mkdir(src)
    open(os.path.join(src, "f"), "w").write("x")
    b = bundle().set_args("/bin/denprobe", "stat", "/data/f")
    b.add_mount(destination="/data", type="bind", source=src, options=["bind", "idmap"],
                uidMappings=[{"containerID": os.getuid(), "hostID": 1000, "size": 1}],
                gidMappings=[{"containerID": os.getgid(), "hostID": 1000, "size": 1}])
    p = run(rt, b, check=False)
    if not ROOT:
        assert p.returncode != 0 and "idmapped mounts need root" in p.stderr
        return
    assert p.returncode == 0, p.stderr
    out = kv(p.stdout)
    # on disk root's; seen through the mount as 1000
    assert out["uid"] == "1000" and out["gid"] == "1000"


def test_seccomp_notify_sends_fd_and_state(rt, bundle, tmp):
    path = os.path.join(tmp, "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    b = bundle().set_args("/bin/denprobe", "try", "mkdir", "/tmp/n")
    b.config["process"]["noNewPrivileges"] = True
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
                                    "listenerMetadata": "hello-agent",
                                    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    b.save()
    proc = subprocess.Popen(rt.cmd("run", "--bundle", b.path, "c1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    srv.settimeout(10)
    conn, _ = srv.accept()
    msg, fd = recv_fd(conn)
    st = json.loads(msg)
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "hello-agent" and st["state"]["id"] == "c1"
    # an agent that goes away: the waiting syscall fails with ENOSYS
    os.close(fd)
    out, err = proc.communicate(timeout=10)
    assert kv(out)["errno"] == str(errno.ENOSYS), out + err


def test_exec_with_terminal_through_console_socket(rt, bundle, tmp):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c1")
    path = os.path.join(tmp, "c.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    p = subprocess.Popen(rt.cmd("exec", "-t", "--console-socket", path, "c1", "/bin/denprobe", "tty"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    srv.settimeout(10)
    conn, _ = srv.accept()
    _, master = recv_fd(conn)
    text = read_until(master, b"ttyname")
    p.wait(timeout=10)
    assert kv(text)["isatty"] == "1" and kv(text)["ttyname"].startswith("/dev/pts/"), text
    os.close(master)


def test_run_in_the_foreground_with_a_terminal(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "/bin/denprobe tty; read line; echo got:$line")
    b.config["process"]["terminal"] = True
    b.save()
    code, text = run_in_pty(rt.cmd("run", "--bundle", b.path, "c1"), send=b"typed\r", until=b"ttyname")
    assert "isatty=1" in text and "got:typed" in text, text
    assert code == 0


def test_time_namespace(rt, bundle):
    b = bundle().set_args("/bin/ls", "-l", "/proc/self/ns/time")
    b.config["linux"]["namespaces"].append({"type": "time"})
    b.save()
    out = run(rt, b).stdout
    assert os.readlink("/proc/self/ns/time") not in out, out


def test_no_pivot(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "ls", "/")
    out = rt("run", "--no-pivot", "--bundle", b.path, "c1").stdout.split()
    assert "bin" in out and "proc" in out


def test_exec_user_and_cap(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c1")
    out = kv(rt("exec", "--user", "0:0", "--cap", "CAP_NET_RAW", "c1", "/bin/denprobe", "caps").stdout)
    assert int(out["CapEff"], 16) & (1 << 13)
    p = rt("exec", "--user", "root", "c1", "/bin/true", check=False)
    assert p.returncode != 0 and "--user" in p.stderr
    p = rt("exec", "--cap", "CAP_BOGUS", "c1", "/bin/true", check=False)
    assert p.returncode != 0 and "CAP_BOGUS" in p.stderr


@pytest.mark.parametrize("prop,tag", [("rshared", "shared:"), ("rslave", None), ("rprivate", None)])
def test_mount_propagation(rt, bundle, prop, tag):
    b = bundle().set_args("/bin/denprobe", "mounts")
    b.add_mount(destination="/p", type="tmpfs", source="tmpfs", options=[prop])
    line = [l for l in run(rt, b).stdout.splitlines() if l.split()[4] == "/p"][0]
    fields = line.split(" - ")[0].split()[6:]
    if tag:
        assert any(f.startswith(tag) for f in fields), line
    else:
        assert not any(f.startswith("shared:") for f in fields), line
