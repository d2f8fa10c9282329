# SPDX-License-Identifier: GPL-2.0-or-later
"""Networks of den containers: none, host, private through pasta or slirp4netns,
published ports (tcp and udp), host loopback only when allowed, per-command
networks in sessions, and helpers that die with their container."""
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import ROOT, derived_image, tun_usable
from test_den_run import den, image  # noqa: F401 (fixtures)


# pasta (Debian 12's) cannot join a root container's namespaces: as root only slirp4netns
HELPERS = [m for m in ("pasta", "slirp4netns") if shutil.which(m) and not (ROOT and m == "pasta")]
needs_tun = pytest.mark.skipif(not tun_usable(), reason="/dev/net/tun is not usable by this user")


def free_port(udp=False):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def helpers_running():
    """pasta, slirp4netns and den-keeper --netwatch processes of this user (not zombies)"""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{pid}")
            stat = open(f"/proc/{pid}/stat").read()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state = stat.rsplit(")", 1)[1].split()[0]
        if st.st_uid == os.getuid() and state != "Z" and ("pasta" in cmd or "slirp4netns" in cmd or "--netwatch" in cmd):
            found.append(f"{pid}: {cmd}")
    return found


def tcp_get(port, timeout=5):
    end = time.time() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                data = s.recv(100)
                if data:
                    return data.decode()
        except OSError:
            pass
        if time.time() > end:
            return None
        time.sleep(0.05)


def udp_echo(port, timeout=5):
    end = time.time() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        while time.time() < end:
            s.sendto(b"ping", ("127.0.0.1", port))
            try:
                return s.recv(100).decode()
            except OSError:
                pass
    return None


def port_free(port, udp=False):
    """nobody listens there any more (a server could bind it; TIME_WAIT of old connections aside)"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@needs_tun
@pytest.mark.parametrize("helper", HELPERS)
def test_published_tcp_and_udp(den, image, helper):
    tp, up = free_port(), free_port(udp=True)
    cid = den("run", "-d", "--network", helper, "-p", f"127.0.0.1:{tp}:8080", "-p", f"127.0.0.1:{up}:9090/udp",
              image, "sh", "-c", "denprobe tcp-serve 8080 hello-tcp & exec denprobe udp-echo 9090").stdout.strip()
    try:
        assert tcp_get(tp) == "hello-tcp"
        assert udp_echo(up) == "echo:ping"
        ports = den("port", cid).stdout
        assert f"8080/tcp -> 127.0.0.1:{tp}" in ports and f"9090/udp -> 127.0.0.1:{up}" in ports, ports
        assert f"127.0.0.1:{tp}->8080/tcp, 127.0.0.1:{up}->9090/udp" in den("ps").stdout
        # inside: loopback, an interface with a default route, a resolver, the name in /etc/hosts
        p = den("exec", cid, "sh", "-c", "ip route; cat /etc/resolv.conf /etc/hosts; hostname")
        assert "default via" in p.stdout and "nameserver" in p.stdout and cid[:12] in p.stdout, p.stdout
        assert any(helper in h for h in helpers_running())
    finally:
        den("rm", "-f", cid)
    assert port_free(tp) and port_free(up, udp=True)
    assert not helpers_running(), helpers_running()


@needs_tun
@pytest.mark.parametrize("helper", HELPERS)
def test_host_loopback_only_when_allowed(den, image, helper):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.sendall(b"from-host")
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    try:
        p = den("run", "--rm", "--network", helper, image, "sh", "-c",
                f"denprobe connect host.containers.internal {port}; ip route | head -1", check=False)
        assert "got=from-host" not in p.stdout and "error=" in p.stdout, p.stdout
        gw = p.stdout.split("via ")[1].split()[0] if "via " in p.stdout else None
        if gw:
            q = den("run", "--rm", "--network", helper, image, "denprobe", "connect", gw, str(port), check=False)
            assert "got=from-host" not in q.stdout, q.stdout
        for how in (["--allow-host-loopback"], ["--network", f"{helper}:allow_host_loopback=true"]):
            args = how if how[0] != "--allow-host-loopback" else ["--network", helper] + how
            p = den("run", "--rm", *args, image, "denprobe", "connect", "host.containers.internal", str(port))
            assert "got=from-host" in p.stdout, p.stdout
    finally:
        srv.close()


def test_none_has_no_route_out(den, image):
    p = den("run", "--rm", image, "sh", "-c", "ip route; ip link | grep -c '^[0-9]'; denprobe connect 192.0.2.1 80",
            check=False)
    lines = p.stdout.split("\n")
    assert lines[0] == "1" and "Network is unreachable" in p.stdout, p.stdout
    assert "# no network" in den("run", "--rm", image, "cat", "/etc/resolv.conf").stdout


@needs_tun
def test_session_commands_choose_their_network(den, image):
    name = den("session", "begin", "--network", "private", image).stdout.strip()
    try:
        assert "default via" in den("session", "exec", name, "--", "ip", "route").stdout
        assert "default via" in den("session", "exec", "--network", "private", name, "--", "ip", "route").stdout
        assert den("session", "exec", "--network", "none", name, "--", "ip", "route").stdout == ""
        p = den("session", "exec", "--network", "host", name, "--", "true", check=False)
        assert p.returncode != 0 and "a command can have that one or none" in p.stderr, p.stderr
        # the first command's network is still there for the next
        assert "default via" in den("session", "exec", name, "--", "ip", "route").stdout
    finally:
        den("session", "end", name)
    assert not helpers_running(), helpers_running()


@needs_tun
def test_200_start_stop_cycles_leave_nothing(den, image):
    port = free_port()
    for _ in range(200):
        den("run", "--rm", "--network", "private", "-p", f"127.0.0.1:{port}:8080", image, "true")
    assert not helpers_running(), helpers_running()
    assert port_free(port)
    assert os.listdir(os.path.join(den.runroot, "containers")) == []
    assert den("ps", "-a", "-q").stdout.strip() == ""


def test_bad_specs_and_unusable_ports(den, image):
    for spec, msg in (("abc", "expected [IP:]HOST_PORT:CONTAINER_PORT"), ("1:2:3:4", "not an IP address"), ("80/sctp", "tcp or udp"),
                      ("70000:80", "ports 1-65535"), ("8080:0", "ports 1-65535")):
        p = den("run", "--rm", "-p", spec, image, "true", check=False)
        assert p.returncode != 0 and msg in p.stderr and spec in p.stderr, (spec, p.stderr)
    p = den("run", "--rm", "--network", "host", "-p", "8080:80", image, "true", check=False)
    assert p.returncode != 0 and "publishing needs a private network" in p.stderr
    p = den("run", "--rm", "--network", "bridge0", image, "true", check=False)
    assert p.returncode != 0 and "none, host, private, pasta or slirp4netns" in p.stderr
    p = den("run", "--rm", "--allow-host-loopback", image, "true", check=False)
    assert p.returncode != 0 and "allow_host_loopback needs a private network" in p.stderr
    if HELPERS:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            p = den("run", "--rm", "-p", f"127.0.0.1:{port}:80", image, "true", check=False)
            assert p.returncode != 0 and f"127.0.0.1:{port}/tcp is in use" in p.stderr, p.stderr
        start = int(open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read())
        if not ROOT and start > 80:
            p = den("run", "--rm", "-p", "127.0.0.1:80:80", image, "true", check=False)
            assert p.returncode != 0 and f"below {start}" in p.stderr, p.stderr
    if ROOT and shutil.which("pasta"):
        p = den("run", "--rm", "--network", "pasta", image, "true", check=False)
        assert p.returncode != 0 and "as root use slirp4netns" in p.stderr
    if HELPERS and not tun_usable():
        p = den("run", "--rm", "--network", "private", image, "true", check=False)
        assert p.returncode != 0 and "/dev/net/tun" in p.stderr and "chmod 0666" in p.stderr, p.stderr
    # nothing was left by any of these
    assert den("ps", "-a", "-q").stdout.strip() == ""
    assert not helpers_running()


@needs_tun
@pytest.mark.skipif(not HELPERS, reason="neither pasta nor slirp4netns")
def test_publish_all_exposed_ports(den, image, tmp):
    derived_image(den, image, tmp, "exposed:1",
                  config=lambda cfg: cfg.setdefault("config", {}).update(ExposedPorts={"8080/tcp": {}}))
    cid = den("run", "-d", "-P", "exposed:1", "denprobe", "tcp-serve", "8080", "via-P").stdout.strip()
    try:
        line = den("port", cid).stdout.strip()
        assert line.startswith("8080/tcp -> 0.0.0.0:"), line
        assert tcp_get(int(line.rsplit(":", 1)[1])) == "via-P"
    finally:
        den("rm", "-f", cid)
