# SPDX-License-Identifier: GPL-2.0-or-later
import json
import os
import time

from conftest import kv


def started(rt, bundle, *args):
    b = bundle().set_args(*(args or ("/bin/denprobe", "sleep", "60")))
    b.config["process"]["env"] = ["PATH=/bin", "BASE=1"]
    b.save()
    rt("run", "-d", "--bundle", b.path, "c1")
    return b


def test_exec_joins_the_container(rt, bundle):
    started(rt, bundle)
    init = rt.state("c1")["pid"]
    p = rt("exec", "c1", "/bin/denprobe", "ns")
    theirs = {n: os.readlink(f"/proc/{init}/ns/{n}") for n in ("pid", "mnt", "uts", "ipc", "user")}
    got = kv(p.stdout)
    for n, v in theirs.items():
        assert got["mnt" if n == "mnt" else n] == v, n


def test_exec_env_cwd_user_exit_code(rt, bundle, tmp):
    started(rt, bundle)
    p = rt("exec", "--env", "X=1", "--cwd", "/tmp", "c1", "/bin/sh", "-c", "echo $X $BASE; /bin/denprobe cwd; exit 3",
           check=False)
    assert p.returncode == 3
    assert p.stdout.splitlines()[0] == "1 1"
    assert kv(p.stdout)["cwd"] == "/tmp"
    pidfile = os.path.join(tmp, "exec.pid")
    rt("exec", "-d", "--pid-file", pidfile, "c1", "/bin/denprobe", "sleep", "5")
    assert int(open(pidfile).read()) > 0


def test_exec_process_json(rt, bundle, tmp):
    started(rt, bundle)
    proc = {"args": ["/bin/denprobe", "caps"], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0}, "noNewPrivileges": True,
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}}
    f = os.path.join(tmp, "process.json")
    json.dump(proc, open(f, "w"))
    out = kv(rt("exec", "-p", f, "c1").stdout)
    assert int(out["CapEff"], 16) == 1 << 5
    assert out["NoNewPrivs"] == "1"
    json.dump({"args": []}, open(f, "w"))
    p = rt("exec", "-p", f, "c1", check=False)
    assert p.returncode != 0 and "process" in p.stderr


def test_exec_no_fd_leak_and_errors(rt, bundle):
    started(rt, bundle)
    r, w = os.pipe()
    import subprocess
    p = subprocess.run(rt.cmd("exec", "c1", "/bin/denprobe", "fds"), capture_output=True, text=True, pass_fds=(r, w))
    os.close(r)
    os.close(w)
    assert sorted(int(k[2:]) for k in kv(p.stdout)) == [0, 1, 2]
    p = rt("exec", "c1", "/bin/nosuch", check=False)
    assert p.returncode != 0 and "/bin/nosuch" in p.stderr
    p = rt("exec", "nosuchcontainer", "/bin/true", check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr
    rt("kill", "c1", "KILL")
    for _ in range(100):
        if rt.state("c1")["status"] == "stopped":
            break
        time.sleep(0.02)
    p = rt("exec", "c1", "/bin/true", check=False)
    assert p.returncode != 0 and "stopped" in p.stderr
