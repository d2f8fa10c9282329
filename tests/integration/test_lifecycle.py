# SPDX-License-Identifier: GPL-2.0-or-later
"""The runc contract: create, start, state, kill, delete, list, run."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT, kv, run


def wait_status(rt, cid, want, timeout=5):
    end = time.time() + timeout
    st = None
    while time.time() < end:
        p = rt("state", cid, check=False)
        if p.returncode != 0:
            time.sleep(0.02)
            continue
        st = json.loads(p.stdout)
        if st["status"] == want:
            return st
        time.sleep(0.02)
    raise AssertionError(f"{cid} never became {want}: {st}")


def test_run_prints_and_exits_with_the_command_status(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "ids")
    p = run(rt, b)
    assert kv(p.stdout)["uid"] == "0"
    assert kv(p.stdout)["pid"] == "1"
    b.set_args("/bin/denprobe", "exit", "7")
    assert run(rt, b, "c2", check=False).returncode == 7
    # run removes the container when it ends
    assert rt("list", "-q").stdout.split() == []


def test_create_start_state_kill_delete(rt, bundle, tmp):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    pidfile = os.path.join(tmp, "pid")
    rt("create", "--bundle", b.path, "--pid-file", pidfile, "c1")
    st = rt.state("c1")
    assert st["status"] == "created"
    assert st["pid"] == int(open(pidfile).read())
    assert st["bundle"] == os.path.realpath(b.path)
    assert st["ociVersion"].startswith("1.")
    rt("start", "c1")
    wait_status(rt, "c1", "running")
    # a second start is refused
    p = rt("start", "c1", check=False)
    assert p.returncode != 0 and "not created" in p.stderr
    lst = json.loads(rt("list", "--format", "json").stdout)
    assert [c["id"] for c in lst] == ["c1"]
    assert "c1" in rt("list").stdout
    # delete of a running container needs --force
    p = rt("delete", "c1", check=False)
    assert p.returncode != 0 and "not stopped" in p.stderr
    rt("kill", "c1", "TERM")
    wait_status(rt, "c1", "stopped")
    rt("delete", "c1")
    p = rt("state", "c1", check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr
    assert not os.path.exists(os.path.join(rt.root, "c1"))


def test_kill_by_number_and_all(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "sleep 30 & /bin/denprobe sleep 30")
    rt("run", "-d", "--bundle", b.path, "c1")
    wait_status(rt, "c1", "running")
    time.sleep(0.2)
    pids = json.loads(rt("ps", "--format", "json", "c1").stdout)
    assert len(pids) >= 2, pids
    rt("kill", "--all", "c1", "9")
    wait_status(rt, "c1", "stopped")
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    p = rt("kill", "c1", "NOSUCHSIG", check=False)
    assert p.returncode != 0 and "unknown signal" in p.stderr
    rt("delete", "c1")


def test_created_container_dies_on_sigterm_and_force_delete(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    rt("create", "--bundle", b.path, "c1")
    rt("kill", "c1", "SIGTERM")
    wait_status(rt, "c1", "stopped")
    rt("delete", "--force", "c1")
    # --force of what does not exist is fine, as with runc
    rt("delete", "--force", "c1")


def test_run_detached_and_signal_reaches_the_process(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    p = subprocess.Popen(rt.cmd("run", "--bundle", b.path, "c1"), stdout=subprocess.PIPE, text=True)
    wait_status(rt, "c1", "running")
    time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    # denprobe handles SIGTERM (forwarded by den-runtime run) and exits 42
    assert p.returncode == 42, out
    assert "signal=15" in out


def test_duplicate_and_invalid_ids(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    rt("create", "--bundle", b.path, "c1")
    p = rt("create", "--bundle", b.path, "c1", check=False)
    assert p.returncode != 0 and "already exists" in p.stderr
    p = rt("create", "--bundle", b.path, "../evil", check=False)
    assert p.returncode != 0 and "invalid container ID format" in p.stderr
    assert not os.path.exists(os.path.join(os.path.dirname(rt.root), "evil"))
    rt("delete", "--force", "c1")


def test_state_of_stopped_container_after_exit(rt, bundle):
    b = bundle().set_args("/bin/true")
    rt("create", "--bundle", b.path, "c1")
    rt("start", "c1")
    st = wait_status(rt, "c1", "stopped")
    assert st["pid"] == 0
    rt("delete", "c1")


def test_version_help_features_checkpoint(rt):
    p = rt("--version")
    assert "den-runtime version" in p.stdout and "+SECCOMP" in p.stdout
    assert "Commands:" in rt("--help").stdout
    f = json.loads(rt("features").stdout)
    assert f["ociVersionMin"] == "1.0.0"
    assert "SCMP_ACT_NOTIFY" in f["linux"]["seccomp"]["actions"]
    assert "user" in f["linux"]["namespaces"]
    assert "createRuntime" in f["hooks"]
    assert f["linux"]["cgroup"]["rdma"] is True and f["linux"]["cgroup"]["systemdUser"] is False
    for verb in ("checkpoint", "restore"):
        p = rt(verb, "c1", check=False)
        assert p.returncode != 0 and "not supported" in p.stderr
    p = rt("nosuchverb", check=False)
    assert p.returncode != 0 and "unknown command" in p.stderr


def test_global_flags_callers_pass(rt, bundle, tmp):
    b = bundle().set_args("/bin/true")
    log = os.path.join(tmp, "log.json")
    rt("--log", log, "--log-format", "json", "--log-level", "debug", "--rootless", "auto",
       "--cgroup-manager", "cgroupfs", "run", "--bundle", b.path, "c1")
    p = rt("--log", log, "--log-format", "json", "state", "nosuch", check=False)
    assert p.returncode == 1
    last = json.loads(open(log).read().splitlines()[-1])
    assert last["level"] == "error" and "nosuch" in last["msg"] and "time" in last
    p = rt("--systemd-cgroup", "list", check=False)
    assert p.returncode != 0 and "cgroupfs" in p.stderr
    p = rt("--rootless", "maybe", "list", check=False)
    assert p.returncode != 0 and "true, false or auto" in p.stderr
    # runc's single-dash long options are accepted too
    rt("-root", rt.root, "list")


def test_spec_command(tmp, rt):
    d = os.path.join(tmp, "s")
    os.mkdir(d)
    rt("spec", "--rootless", "--bundle", d)
    cfg = json.load(open(os.path.join(d, "config.json")))
    assert any(n["type"] == "user" for n in cfg["linux"]["namespaces"])
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.geteuid()
    p = rt("spec", "--bundle", d, check=False)
    assert p.returncode != 0 and "exists" in p.stderr
