# SPDX-License-Identifier: GPL-2.0-or-later
"""Real callers drive den-runtime: podman (--runtime) and containerd (ctr --runc-binary)."""
import os
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

from conftest import RUNTIME, ROOT, make_rootfs


@pytest.fixture
def podman(tmp):
    from conftest import podman_session
    session = podman_session(tmp)
    pm = next(session)
    rootfs = os.path.join(tmp, "img")
    make_rootfs(rootfs)
    tarball = os.path.join(tmp, "busybox.tar")
    with tarfile.open(tarball, "w") as t:
        def as_root(ti):
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            return ti
        t.add(rootfs, arcname=".", filter=as_root)
    pm("import", tarball, "localhost/den-busybox")
    yield pm
    next(session, None)


def test_podman_run_exec_stop_rm(podman):
    net = [] if os.access("/dev/net/tun", os.R_OK | os.W_OK) or ROOT else ["--network", "none"]
    p = podman("run", "--rm", *net, "localhost/den-busybox", "echo", "ok")
    assert p.stdout.strip() == "ok"
    p = podman("run", "--rm", "--network", "none", "localhost/den-busybox", "sh", "-c", "exit 5", check=False)
    assert p.returncode == 5
    podman("run", "-d", "--name", "t1", "--network", "none", "localhost/den-busybox", "sleep", "100")
    assert podman("exec", "t1", "sh", "-c", "echo exec-ok").stdout.strip() == "exec-ok"
    assert "running" in podman("inspect", "-f", "{{.State.Status}}", "t1").stdout
    podman("stop", "-t", "1", "t1")
    assert "exited" in podman("inspect", "-f", "{{.State.Status}}", "t1").stdout
    podman("rm", "t1")
    assert "t1" not in podman("ps", "-a").stdout


@pytest.fixture
def containerd(tmp):
    if not ROOT:
        pytest.skip("containerd is started as root by this test; the root pass covers it")
    if not shutil.which("containerd") or not shutil.which("ctr"):
        pytest.skip("containerd is not installed")
    d = os.path.join(tmp, "ctd")
    os.mkdir(d)
    sock = os.path.join(d, "c.sock")
    cfg = os.path.join(d, "config.toml")
    open(cfg, "w").write(f'''version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
''')
    log = open(os.path.join(d, "log"), "w")
    proc = subprocess.Popen(["containerd", "--config", cfg], stdout=log, stderr=log)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)

    def ctr(*args, check=True):
        p = subprocess.run(["ctr", "-a", sock, *args], capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p

    yield ctr
    proc.terminate()
    proc.wait(timeout=20)
    subprocess.run(["umount", "-R", d], capture_output=True)


def test_containerd_run_and_exec(containerd, tmp):
    rootfs = os.path.join(tmp, "rootfs")
    make_rootfs(rootfs)
    p = containerd("run", "--rm", "--rootfs", "--runc-binary", RUNTIME, rootfs, "t1", "/bin/echo", "hello-ctr")
    assert p.stdout.strip() == "hello-ctr"
    containerd("run", "-d", "--rootfs", "--runc-binary", RUNTIME, rootfs, "t2", "/bin/sleep", "100")
    assert containerd("task", "exec", "--exec-id", "e1", "t2", "/bin/echo", "exec-ok").stdout.strip() == "exec-ok"
    assert "RUNNING" in containerd("task", "ls").stdout
    containerd("task", "kill", "-s", "SIGKILL", "t2")
    for _ in range(100):
        if "STOPPED" in containerd("task", "ls").stdout:
            break
        time.sleep(0.05)
    containerd("task", "rm", "t2")
    containerd("container", "rm", "t2")
    assert "t2" not in containerd("container", "ls").stdout
