# SPDX-License-Identifier: GPL-2.0-or-later
"""den session: a container that stays, each command through its keeper with the network it asks for."""
import os
import subprocess

from conftest import ROOT, has_subids, kv
from test_den_run import den, image, live_keepers  # noqa: F401 (fixtures)


def interfaces(out):
    return [l.split(":")[0].strip() for l in out.splitlines()[2:]]


def test_session_lifecycle_and_network_per_command(den, image):
    name = den("session", "begin", "--name", "build1", image).stdout.strip()
    assert name == "build1"
    assert "build1" in den("session", "list").stdout and "open" in den("session", "list").stdout
    # the session survives the client that began it: it is still there for the next command
    p = den("session", "exec", "build1", "--", "sh", "-c", "echo installed > /var-state; cat /proc/net/dev")
    assert len(interfaces(p.stdout)) > 1  # the host's network
    p = den("session", "exec", "--network", "none", "build1", "--", "sh", "-c", "cat /var-state; cat /proc/net/dev")
    assert p.stdout.splitlines()[0] == "installed"  # the same writable layer
    assert interfaces("\n".join(p.stdout.splitlines()[1:])) == ["lo"]  # and no network for this command
    p = den("session", "exec", "build1", "--", "sh", "-c", "exit 9", check=False)
    assert p.returncode == 9
    p = den("session", "exec", "-w", "/tmp", "-e", "X=1", "build1", "--", "sh", "-c", "pwd; echo $X")
    assert p.stdout.split() == ["/tmp", "1"]
    den("session", "end", "build1")
    assert "build1" not in den("session", "list").stdout
    assert live_keepers(den.root) == set()
    assert os.listdir(os.path.join(den.root, "containers")) == []


def test_session_without_network(den, image):
    den("session", "begin", "--name", "offline", "--network", "none", image)
    p = den("session", "exec", "offline", "--", "cat", "/proc/net/dev")
    assert interfaces(p.stdout) == ["lo"]
    p = den("session", "exec", "--network", "host", "offline", "--", "true", check=False)
    assert p.returncode != 0 and "has the network none; a command can have that one or none" in p.stderr
    den("session", "end", "offline")


def test_session_errors(den, image):
    p = den("session", "begin", "nosuchimage", check=False)
    assert p.returncode == 125 and "not found" in p.stderr
    p = den("session", "exec", "nosuch", "--", "true", check=False)
    assert p.returncode != 0 and "no such container" in p.stderr
    p = den("session", "frobnicate", check=False)
    assert p.returncode == 2 and "unknown verb" in p.stderr


def test_session_commands_get_stdin_binary_clean(den, image):
    den("session", "begin", "--name", "s1", image)
    data = bytes(range(256)) * 64
    p = subprocess.run(den.cmd("session", "exec", "s1", "--", "sh", "-c", "cat > /tmp/f; cat /tmp/f"), input=data,
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and p.stdout == data
    den("session", "end", "s1")
