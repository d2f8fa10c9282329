# SPDX-License-Identifier: GPL-2.0-or-later
"""What the tests of den serve share: a den serve on a socket of its own with a
store holding busybox (the `api` fixture: call it as the docker CLI; .http() for
raw requests, .den() for den on the same store, .sock, .proc, .env)."""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, make_rootfs, tar_as_root

DEN = os.path.abspath(os.path.join(BUILD, "den"))
DOCKER = shutil.which("docker") or "/usr/bin/docker"
COMPOSE = shutil.which("docker-compose")


def compose_in(api, proj, project="proj"):
    """docker-compose in directory proj against the api fixture's service: compose(*args, check=True)"""
    def compose(*args, check=True):
        p = subprocess.run([COMPOSE, "-p", project, *args], cwd=proj, capture_output=True, text=True, env=api.env,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p
    return compose


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def wait_for(path, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        assert proc.poll() is None, f"den serve ended: {proc.stderr.read()}"
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


@pytest.fixture
def api(tmp):
    root, runroot = os.path.join(tmp, "store"), os.path.join(tmp, "run")
    den = lambda *a, check=True: subprocess.run([DEN, "--root", root, "--runroot", runroot, *a],
                                                capture_output=True, text=True, timeout=60, check=check)
    rootfs = os.path.join(tmp, "img")
    make_rootfs(rootfs)
    den("import", tar_as_root(rootfs, os.path.join(tmp, "img.tar")), "busybox")
    # a short path: sun_path holds 108 bytes, pytest's directories can be long
    sockdir = tempfile.mkdtemp(prefix="denapi")
    sock = os.path.join(sockdir, "den.sock")
    # DEN_SERVE_WRAP="valgrind -q": the service under a debugging tool
    wrap = os.environ.get("DEN_SERVE_WRAP", "").split()
    proc = subprocess.Popen([*wrap, DEN, "--root", root, "--runroot", runroot, "serve", "-H", "unix://" + sock],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(sock, proc)
    env = dict(os.environ, DOCKER_HOST="unix://" + sock, DOCKER_CONFIG=os.path.join(tmp, "dockercfg"))

    def docker(*args, check=True, timeout=60):
        p = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p

    def http(method, path, body=None, headers=None):
        c = UnixHTTP(sock)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    docker.http, docker.sock, docker.den, docker.proc, docker.env = http, sock, den, proc, env
    yield docker
    for cid in den("ps", "-a", "-q", check=False).stdout.split():
        den("rm", "-f", cid, check=False)
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=20)
    assert rc == 0, f"den serve ended with {rc}: {proc.stderr.read()[-4000:]}"
    assert not os.path.exists(sock), "den serve left its socket behind"
    shutil.rmtree(sockdir, ignore_errors=True)
