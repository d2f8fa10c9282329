# SPDX-License-Identifier: GPL-2.0-or-later
"""The newcomer's walk (issue 12): README.md's commands in order, read from the
README itself, run as the test user in a throwaway directory and each checked
for its exit code and output.

1. `git clone` of the checkout (file://), then `make demo` in the fresh clone
   (it builds there; a `sudo` that fails loudly is first in PATH: with every
   package installed, `make demo` must not ask for it).
2. "den in one minute", mechanically adapted: `some-rootfs` is a busybox root
   (with /etc/os-release and a `my-server`: busybox httpd on :80),
   `registry.example.org` a local docker-registry with TLS whose CA is in
   $XDG_CONFIG_HOME/containers/certs.d, `/srv/data` a directory of the walk,
   8080 a free port; the store and run state are DEN_ROOT/DEN_RUNROOT in the
   throwaway directory.  A command that needs a network helper runs only where
   /dev/net/tun opens, one that needs the internet only where it is reachable.
3. "den-runtime in one minute": the bundle made as written, `run` on a pty
   (the README's shell: the walk types a line into it).

A README command the walk has no check for fails the test: give it one here.
DEN_SRC (tests/run-integration.sh) names the checkout."""
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILD, ROOT, make_rootfs, run_in_pty
from test_registry import REGISTRY, Registry, free_port

SRC = os.environ.get("DEN_SRC") or os.path.join(os.path.dirname(__file__), "..", "..")
README = os.path.join(SRC, "README.md")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(README) or not os.path.exists(os.path.join(SRC, ".git")),
                       reason="no git checkout of den (DEN_SRC)"),
    pytest.mark.skipif(not REGISTRY, reason="docker-registry is not installed"),
    pytest.mark.skipif(not shutil.which("git") or not shutil.which("make"), reason="git or make is missing"),
]


def readme_blocks():
    """{section title: [command lines]} of README.md's indented code blocks, comments dropped
    (a comment is a '#' after two spaces, as the README writes them); '' is the README's first block"""
    blocks, title = {}, ""
    for line in open(README).read().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
        elif line.startswith("    ") and line.strip():
            cmd = re.sub(r"\s{2,}#.*$", "", line.strip())
            if cmd and not cmd.startswith("#"):
                if not blocks:
                    title = ""
                blocks.setdefault(title, []).append(cmd)
    return blocks


def tun_usable():
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError:
        return False
    return bool(shutil.which("pasta") or shutil.which("slirp4netns"))


def online(host="example.org"):
    try:
        socket.create_connection((host, 80), timeout=5).close()
        return True
    except OSError:
        return False


SBIN = "/usr/local/sbin:/usr/sbin:/sbin:" if ROOT else ""  # root's PATH has them (demo.sh: runuser)


class Walk:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "walk")  # the newcomer's directory
        os.makedirs(self.dir)
        self.fakebin = os.path.join(tmp, "fakebin")
        os.makedirs(self.fakebin)
        sudo = os.path.join(self.fakebin, "sudo")
        open(sudo, "w").write('#!/bin/sh\necho "THE WALK CALLED SUDO: $*" >&2\nexit 99\n')
        os.chmod(sudo, 0o755)
        gitconfig = os.path.join(tmp, "gitconfig")  # the checkout belongs to someone else
        open(gitconfig, "w").write("[safe]\n\tdirectory = *\n")
        self.env = dict(os.environ, PATH=f"{self.fakebin}:{os.path.abspath(BUILD)}:{SBIN}/usr/local/bin:/usr/bin:/bin",
                        DEN_ROOT=os.path.join(tmp, "store"), DEN_RUNROOT=os.path.join(tmp, "run"),
                        XDG_CONFIG_HOME=os.path.join(tmp, "config"), GIT_CONFIG_GLOBAL=gitconfig,
                        GIT_CONFIG_NOSYSTEM="1")
        self.env.pop("XDG_RUNTIME_DIR", None)
        self.log = []

    def sh(self, line, timeout=120, expect_rc=0, **kw):
        """line as a shell runs it, in the walk's directory; its exit code checked"""
        start = time.time()
        p = subprocess.run(["sh", "-c", line], cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL, **kw)
        self.log.append(f"{time.time() - start:6.1f}s  {line}")
        assert p.returncode == expect_rc, f"`{line}`: exit {p.returncode}\nstdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}"
        return p

    def den(self, *args):
        return subprocess.run(["den", *args], cwd=self.dir, env=self.env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)


def some_rootfs(path):
    make_rootfs(path)
    open(os.path.join(path, "etc", "os-release"), "w").write('NAME="den walk"\nID=denwalk\n')
    server = os.path.join(path, "bin", "my-server")
    open(server, "w").write("#!/bin/sh\necho 'my-server: serving on :80'\nmkdir -p /tmp/www\n"
                            "echo 'hello from my-server' > /tmp/www/index.html\nexec httpd -f -p 80 -h /tmp/www\n")
    os.chmod(server, 0o755)
    os.symlink("busybox", os.path.join(path, "bin", "httpd"))


def test_newcomer_walk(tmp):
    blocks = readme_blocks()
    w = Walk(tmp)
    start = time.time()

    # 1. a fresh clone, and make demo in it
    top = blocks[""]
    assert any(c.startswith("make demo") for c in top), f"README's first block has no `make demo`: {top}"
    if subprocess.run([os.path.join(SRC, "scripts", "install-deps.sh"), "--check"], capture_output=True).returncode:
        pytest.skip("a package den needs is missing (scripts/install-deps.sh --check): make demo would install it")
    w.sh(f"git clone -q file://{os.path.abspath(SRC)} den")
    clone = os.path.join(w.dir, "den")
    for c in top:
        if c.startswith("make demo"):
            p = w.sh(f"cd den && {c}", timeout=600)
            assert "THE WALK CALLED SUDO" not in p.stderr
            assert "hello from den-runtime" in p.stdout and "hello from den: uid 0" in p.stdout, p.stdout
            assert os.access(os.path.join(clone, "build", "den"), os.X_OK)
        # `sudo make check` is the whole suite this file is part of; `make install` writes /usr/local
    shutil.rmtree(clone)  # the programs the walk uses next are those of this build (DEN_BUILD)

    # 2. den in one minute
    rootfs = os.path.join(tmp, "some-rootfs")
    some_rootfs(rootfs)
    data = os.path.join(tmp, "srv-data")
    os.makedirs(data)
    os.chmod(data, 0o777)
    reg = Registry(tmp, "registry", tls=True)
    try:
        certs = os.path.join(w.env["XDG_CONFIG_HOME"], "containers", "certs.d", reg.host)
        os.makedirs(certs)
        shutil.copy(reg.ca, os.path.join(certs, "ca.crt"))
        # the registry's images: the same root, pushed from a store of its own
        seed = dict(w.env, DEN_ROOT=os.path.join(tmp, "seed"), DEN_RUNROOT=os.path.join(tmp, "seed-run"))
        subprocess.run(f"tar -C {rootfs} -c . | den import - seed && den push seed {reg.host}/debian:bookworm "
                       f"&& den push seed {reg.host}/alpine:3", shell=True, env=seed, check=True,
                       capture_output=True, timeout=120)
        port = free_port()
        net, internet = tun_usable(), online()
        token = os.path.join(tmp, "token")
        open(token, "w").write("t0ken-for-the-walk\n")
        mapping = [("some-rootfs", rootfs), ("registry.example.org", reg.host), ("/srv/data", data),
                   ("-p 8080:", f"-p {port}:"), ("$HOME/.token", token)]
        # each command is known by a word or two of its own, so a renamed flag reaches den and fails there
        for c in blocks["den in one minute"]:
            line = c
            for a, b in mapping:
                line = line.replace(a, b)
            if "den import" in c:
                w.sh(line)
                assert "myimage" in w.den("images").stdout
            elif "den build" in c:
                # the newcomer's directory holds a Dockerfile that reads the secret in one RUN
                open(os.path.join(w.dir, "Dockerfile"), "w").write(
                    "FROM myimage\nRUN --mount=type=secret,id=token test -s /run/secrets/token && echo built > /built\n"
                    "CMD [\"cat\", \"/built\"]\n")
                w.sh(line)
                assert w.den("run", "--rm", "myapp").stdout == "built\n"
            elif "image history" in c:
                out = w.sh(line).stdout
                assert "RUN /bin/sh -c test -s /run/secrets/token" in out and "den import" in out, out
            elif "den pull" in c:
                w.sh(line)
                assert f"{reg.host}/debian" in w.den("images").stdout
            elif "echo hello" in c:
                assert w.sh(line).stdout == "hello\n"
            elif "alpine" in c:
                w.sh(line)
                assert f"{reg.host}/alpine" in w.den("images").stdout
            elif "--name web" in c:
                assert re.fullmatch(r"[0-9a-f]{12,64}\n", w.sh(line).stdout)
                open(os.path.join(data, "probe"), "w").write("from the host\n")
                # a newcomer types slower than this: `run -d` returns once the container runs, before
                # my-server has said anything, and on a loaded machine `logs` could come first
                for _ in range(100):
                    if "my-server: serving" in w.den("logs", "web").stdout:
                        break
                    time.sleep(0.1)
            elif "exec web" in c:
                ps = w.sh(line).stdout
                assert "my-server" in ps or "httpd" in ps, ps
                assert w.den("exec", "web", "cat", "/data/probe").stdout == "from the host\n"
            elif "den rm web" in c:
                p = w.sh(line)
                assert "my-server: serving on :80" in p.stdout
                assert "ID=denwalk" in open(os.path.join(w.dir, "os-release")).read()
                assert "web" not in w.den("ps", "-a").stdout
            elif "-v cache:/cache" in c:
                w.sh(line)
                w.sh(line)
                assert w.den("run", "--rm", "-v", "cache:/cache", "myimage", "cat", "/cache/runs").stdout == "one run\n" * 2
            elif "den volume rm cache" in c:
                out = w.sh(line).stdout
                assert "cache" in out.splitlines()[1] and w.den("volume", "ls", "-q").stdout.strip() == "", out
            elif "8080" in c:
                if not net:
                    w.log.append(f"  -     {line}   (skipped: /dev/net/tun or pasta/slirp4netns)")
                    continue
                cid = w.sh(line).stdout.strip()
                body = b""
                for _ in range(100):
                    try:
                        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                        break
                    except OSError:
                        time.sleep(0.1)
                assert body == b"hello from my-server\n"
                assert w.den("rm", "-f", cid).returncode == 0
            elif "http://example.org" in c:
                if not net or not internet:
                    why = "no /dev/net/tun or pasta/slirp4netns" if not net else "example.org unreachable"
                    w.log.append(f"  -     {line}   (skipped: {why})")
                    continue
                assert "Example Domain" in w.sh(line).stdout
            else:
                raise AssertionError(f"README's `{c}`: the walk has no check for it (tests/integration/test_newcomer.py)")
    finally:
        for cid in w.den("ps", "-a", "-q").stdout.split():
            w.den("rm", "-f", cid)
        reg.kill()

    # 3. den-runtime in one minute: its state under the walk's directory
    rtroot = os.path.join(tmp, "rt")
    for c in blocks["den-runtime in one minute"]:
        if c.startswith("podman ") or c.startswith("ctr "):
            continue  # "With podman or containerd": test_callers.py drives them
        line = c.replace("den-runtime ", f"den-runtime --root {rtroot} ")
        if c.startswith("den-runtime run "):
            rc, out = run_in_pty(["sh", "-c", line], b"echo hello from the $((40 + 2)); exit 3\n", timeout=30,
                                 env=w.env, cwd=w.dir, settle=0.3)
            w.log.append(f"  pty   {line}")
            assert "hello from the 42\n" in out, out
            assert rc == 3, out
        else:
            w.sh(line)
            if " spec " in line:
                assert os.path.exists(os.path.join(w.dir, "bundle", "config.json"))
    print(f"the walk, {time.time() - start:.0f}s:\n" + "\n".join(w.log))
