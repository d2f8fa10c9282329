# SPDX-License-Identifier: GPL-2.0-or-later
"""dockerd (Debian's docker.io, 20.10) drives den-runtime: docker run/exec/stop/pause/update, an OOM
kill, and swarm mode services whose every task runs on den-runtime.

One dockerd for the module, root only, with everything of its own under a temporary directory: data
root, exec root, its socket, pid file, and a containerd of its own (so a system containerd's socket,
which dockerd 20.10 would otherwise pick up, is never touched).  No bridge, no iptables, no
ip_forward change; swarm listens on 127.0.0.1 only.  The teardown stops it all and checks that no
process, mount or network interface of it is left."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT, RUNTIME, make_rootfs, tar_as_root

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"  # 20.10 from docker.io, not a newer CLI in /usr/local/bin
CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"


def wait_for(what, cond, timeout=30, step=0.1):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ours(d):
    """pids of every process whose command line names the directory d"""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if d.encode() in f.read():
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def mounts_under(d):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(d + "/") or l.split()[4] == d]


class Docker:
    def __init__(self, d):
        self.d = d
        self.sock = os.path.join(d, "docker.sock")
        self.exec_root = os.path.join(d, "exec")

    def __call__(self, *args, check=True, timeout=60, input=None):
        p = subprocess.run([DOCKER, "-H", f"unix://{self.sock}", *args], capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p

    def inspect(self, cid, fmt):
        return self("inspect", "-f", fmt, cid).stdout.strip()

    def den_state(self, cid):
        """den-runtime's own state file for a container (runc's has no pidStart)"""
        full = self.inspect(cid, "{{.Id}}")
        paths = glob.glob(os.path.join(self.exec_root, "runtime-*", "moby", full, "state.json"))
        assert paths, f"no runtime state for {cid}"
        return json.load(open(paths[0]))


def stop_daemon(proc, pidfile, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def docker(tmp_path_factory):
    if not ROOT:
        pytest.skip("dockerd runs as root here; the root pass covers it")
    for b in (DOCKERD, DOCKER, CONTAINERD):
        if not os.access(b, os.X_OK):
            pytest.skip(f"{b} is not installed (scripts/install-deps.sh installs docker.io)")
    # crun and runc on hybrid cgroups want every v1 controller; this host leaves hugetlb out
    if os.path.isdir("/sys/fs/cgroup/memory") and subprocess.run(
            ["mountpoint", "-q", "/sys/fs/cgroup/hugetlb"]).returncode != 0:
        os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", "/sys/fs/cgroup/hugetlb"], check=True)
    d = str(tmp_path_factory.mktemp("dockerd"))
    os.chmod(d, 0o711)
    forward = open("/proc/sys/net/ipv4/ip_forward").read()
    ctd_sock = os.path.join(d, "containerd.sock")
    cfg = os.path.join(d, "containerd.toml")
    with open(cfg, "w") as f:
        f.write(f'version = 2\nroot = "{d}/containerd"\nstate = "{d}/containerd-state"\n'
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                f'[grpc]\n  address = "{ctd_sock}"\n[ttrpc]\n  address = "{ctd_sock}.ttrpc"\n'
                '[debug]\n  address = ""\n[metrics]\n  address = ""\n')
    log = open(os.path.join(d, "log"), "w")
    ctd = subprocess.Popen([CONTAINERD, "--config", cfg], stdout=log, stderr=log, start_new_session=True)
    dk = Docker(d)
    daemon = None
    try:
        wait_for("containerd's socket", lambda: os.path.exists(ctd_sock), timeout=20, step=0.05)
        daemon = subprocess.Popen([
            DOCKERD, "--debug", "--containerd", ctd_sock, "--data-root", os.path.join(d, "data"),
            "--exec-root", dk.exec_root, "-H", f"unix://{dk.sock}", "--pidfile", os.path.join(d, "docker.pid"),
            "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
            "--add-runtime", f"den={RUNTIME}", "--default-runtime", "den"],
            stdout=log, stderr=log, start_new_session=True)
        wait_for("dockerd", lambda: os.path.exists(dk.sock) and dk("version", check=False).returncode == 0,
                 timeout=30, step=0.1)
        rootfs = os.path.join(d, "rootfs")
        make_rootfs(rootfs)
        tarball = tar_as_root(rootfs, os.path.join(d, "busybox.tar"))
        dk("import", tarball, "den-busybox:1")
        dk("import", "--change", "ENV DEN_IMAGE=2", tarball, "den-busybox:2")
        yield dk
    finally:
        if daemon:
            dk("swarm", "leave", "--force", check=False)
            for c in dk("ps", "-aq", check=False).stdout.split():
                dk("rm", "-f", c, check=False)
            # swarm's local bridge is a host interface: it goes before dockerd does
            dk("network", "rm", "docker_gwbridge", check=False)
            stop_daemon(daemon, os.path.join(d, "docker.pid"))
        stop_daemon(ctd, None)
        log.close()
        left = ours(d)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        for m in reversed(mounts_under(d)):
            subprocess.run(["umount", "-l", m], capture_output=True)
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(forward)
        gw = subprocess.run(["ip", "link", "show", "docker_gwbridge"], capture_output=True).returncode == 0
        if gw:
            subprocess.run(["ip", "link", "delete", "docker_gwbridge"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
        assert not left, f"processes left behind by dockerd: {left}"
        assert not gw, "docker_gwbridge was left behind"
        assert not os.path.exists(d)


def test_version_in_docker_info(docker):
    # dockerd reads `den-runtime --version` as runc's: "X version V" and "commit: C"
    commit = [l.split()[1] for l in subprocess.run([RUNTIME, "--version"], capture_output=True, text=True)
              .stdout.splitlines() if l.startswith("commit: ")]
    assert docker("info", "--format", "{{.DefaultRuntime}} {{.RuncCommit.ID}}").stdout.split() == ["den", *commit]
    comps = json.loads(docker("version", "--format", "{{json .Server.Components}}").stdout)
    den = [c for c in comps if c["Name"] == "den"]
    assert den and den[0]["Version"] and den[0]["Details"]["GitCommit"], comps


def test_run_exit_code_exec_stop(docker):
    p = docker("run", "--rm", "--runtime", "den", "den-busybox:1", "sh", "-c", "echo hi; exit 3", check=False)
    assert p.returncode == 3 and p.stdout == "hi\n", p.stderr
    # the docker CLI reads exit codes 127 and 126 out of the runtime's message
    p = docker("run", "--rm", "--runtime", "den", "den-busybox:1", "/nonexistent", check=False)
    assert p.returncode == 127 and "/nonexistent" in p.stderr, p.stderr
    p = docker("run", "--rm", "--runtime", "den", "den-busybox:1", "/etc/passwd", check=False)
    assert p.returncode == 126, p.stderr
    p = docker("run", "--rm", "-i", "--runtime", "den", "den-busybox:1", "sh", "-c", "cat; echo to-stderr >&2",
               input="from-stdin\n")
    assert p.stdout == "from-stdin\n" and p.stderr == "to-stderr\n"

    docker("run", "-d", "--runtime", "den", "--name", "c1", "den-busybox:1", "sh", "-c",
           "trap 'exit 7' TERM; while :; do sleep 0.1; done")
    assert docker.inspect("c1", "{{.HostConfig.Runtime}} {{.State.Status}}") == "den running"
    assert "pidStart" in docker.den_state("c1")
    p = docker("exec", "c1", "sh", "-c", "echo in-exec; exit 5", check=False)
    assert p.returncode == 5 and p.stdout == "in-exec\n"
    assert docker("exec", "-t", "c1", "busybox", "tty").stdout.strip() == "/dev/pts/0"
    assert docker("exec", "-u", "1000:1000", "c1", "id", "-u").stdout.strip() == "1000"
    assert "sleep" in docker("top", "c1").stdout
    t = time.monotonic()
    docker("stop", "-t", "10", "c1")
    assert time.monotonic() - t < 5, "SIGTERM did not reach the container's first process"
    assert docker.inspect("c1", "{{.State.ExitCode}}") == "7"
    docker("start", "c1")
    assert docker.inspect("c1", "{{.State.Status}}") == "running"
    docker("rm", "-f", "c1")


def test_pause_unpause(docker):
    # the file replaced whole (a rename), never seen empty between a truncation and a write
    docker("run", "-d", "--name", "p1", "den-busybox:1", "sh", "-c",
           "while :; do echo x > /tmp/t.new; busybox mv /tmp/t.new /tmp/t; sleep 0.05; done")
    docker("pause", "p1")
    assert docker.inspect("p1", "{{.State.Status}} {{.State.Paused}}") == "paused true"
    assert docker("exec", "p1", "true", check=False).returncode != 0
    docker("unpause", "p1")
    assert docker.inspect("p1", "{{.State.Status}} {{.State.Paused}}") == "running false"
    assert docker("exec", "p1", "cat", "/tmp/t").stdout == "x\n"
    # a frozen container is killed and removed as runc does it: SIGKILL, then thawed
    docker("pause", "p1")
    docker("rm", "-f", "p1")
    assert docker("ps", "-aq", "--filter", "name=p1").stdout == ""


def memory_limit(cid_full):
    for p in (f"/sys/fs/cgroup/memory/docker/{cid_full}/memory.limit_in_bytes",
              f"/sys/fs/cgroup/docker/{cid_full}/memory.max"):
        if os.path.exists(p):
            return int(open(p).read())
    raise AssertionError(f"no memory cgroup for {cid_full}")


def test_update_memory_and_oom(docker):
    docker("run", "-d", "--name", "u1", "--memory", "256m", "den-busybox:1", "sleep", "1000")
    cid = docker.inspect("u1", "{{.Id}}")
    assert memory_limit(cid) == 256 << 20
    docker("update", "--memory", "128m", "--memory-swap", "256m", "--cpu-shares", "512", "--pids-limit", "50", "u1")
    assert memory_limit(cid) == 128 << 20
    assert docker.inspect("u1", "{{.HostConfig.Memory}}") == str(128 << 20)
    stats = json.loads(docker("stats", "--no-stream", "--format", "{{json .}}", "u1").stdout)
    assert stats["MemUsage"].endswith("128MiB"), stats
    if (os.cpu_count() or 1) > 1:
        docker("update", "--cpuset-cpus", "0", "u1")
        assert docker("exec", "u1", "busybox", "grep", "Cpus_allowed_list", "/proc/self/status").stdout.split()[1] == "0"
    docker("rm", "-f", "u1")
    if (os.cpu_count() or 1) > 1:
        p = docker("run", "--rm", "--cpuset-cpus", "1", "den-busybox:1", "busybox", "grep",
                   "Cpus_allowed_list", "/proc/self/status")
        assert p.stdout.split()[1] == "1"

    p = docker("run", "--name", "oom", "--memory", "64m", "--memory-swap", "64m", "den-busybox:1",
               "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1", check=False)
    assert p.returncode == 137, p.stderr
    assert docker.inspect("oom", "{{.State.OOMKilled}} {{.State.ExitCode}}") == "true 137"
    docker("rm", "oom")


def tasks(docker, service):
    """the running containers of a service's tasks: id -> (image, runtime)"""
    ids = docker("ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={service}").stdout.split()
    if not ids:
        return {}
    out = docker("inspect", "-f", "{{.Id}} {{.Config.Image}} {{.HostConfig.Runtime}} {{.State.Status}}", *ids,
                 check=False).stdout
    return {l.split()[0]: tuple(l.split()[1:3]) for l in out.splitlines() if l.endswith(" running")}


def test_swarm_service(docker):
    docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", f"127.0.0.1:{free_port()}")
    # no routing mesh: its VXLAN socket would listen on every address, and nothing here publishes a port
    docker("network", "rm", "ingress", input="y\n")
    docker("service", "create", "--detach", "--name", "s1", "--replicas", "3", "--stop-grace-period", "1s",
           "den-busybox:1", "sleep", "1000")
    t = wait_for("3 tasks", lambda: (lambda t: t if len(t) == 3 else None)(tasks(docker, "s1")))
    docker("service", "scale", "--detach", "s1=5")
    t = wait_for("5 tasks", lambda: (lambda t: t if len(t) == 5 else None)(tasks(docker, "s1")))
    assert all(v == ("den-busybox:1", "den") for v in t.values()), t
    for cid in t:
        assert "pidStart" in docker.den_state(cid)

    docker("service", "update", "--detach", "--image", "den-busybox:2", "--update-parallelism", "5", "s1")
    t = wait_for("5 updated tasks", lambda: (lambda t: t if len(t) == 5 and all(
        v[0] == "den-busybox:2" for v in t.values()) else None)(tasks(docker, "s1")), timeout=60)
    assert all(v[1] == "den" for v in t.values()), t
    cid = next(iter(t))
    assert "DEN_IMAGE=2" in docker("exec", cid, "env").stdout
    assert "pidStart" in docker.den_state(cid)

    docker("service", "rm", "s1")
    wait_for("the tasks to go", lambda: not docker("ps", "-aq", "--filter",
                                                 "label=com.docker.swarm.service.name=s1").stdout.strip())
    docker("swarm", "leave", "--force")
