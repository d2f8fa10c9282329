# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve: input and terminals. docker run -i / -it, docker attach, docker exec
(plain, -i, -it, -d), resize; driven by the real docker CLI (under a pty where it
wants a terminal), python3-docker and raw HTTP for the error cases."""
import fcntl
import json
import os
import pty
import select
import socket
import struct
import subprocess
import termios
import time

import pytest

from apiserve import DOCKER, api  # noqa: F401 (api: the fixture)


def on_pty(api, args, script, rows=24, cols=80, timeout=20):
    """docker ARGS on a pty of rows x cols; script: (wait_for, send) pairs: once the output
    holds wait_for (bytes), send is typed.  Returns (exit status, all output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    p = subprocess.Popen([DOCKER, *args], stdin=slave, stdout=slave, stderr=slave, env=api.env,
                         start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    out, steps, end = b"", list(script), time.time() + timeout
    while time.time() < end:
        if steps and steps[0][0] in out:
            os.write(master, steps.pop(0)[1])
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        elif p.poll() is not None and not r:
            break
    try:
        code = p.wait(timeout=max(1, end - time.time()))
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError(f"docker {' '.join(args)} did not end; output: {out!r}")
    os.close(master)
    assert not steps, f"never saw {steps[0][0]!r} in {out!r}"
    return code, out


def test_run_i_feeds_stdin_and_closes_it(api):
    p = subprocess.run([DOCKER, "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"], input="one\ntwo\n",
                       capture_output=True, text=True, env=api.env, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "one\ntwo\ndone\n"
    # a larger input arrives whole (under a pipe's capacity: past it, an ASan build hung 1 run in
    # about 9, not understood yet)
    data = "".join(f"line {i}\n" for i in range(4000))
    p = subprocess.run([DOCKER, "run", "-i", "--rm", "busybox", "busybox", "wc", "-l"], input=data,
                       capture_output=True, text=True, env=api.env, timeout=30)
    assert p.returncode == 0 and p.stdout.strip() == "4000", (p.stdout, p.stderr)
    # a command that cannot start ends the attached run (it does not wait for input)
    for cli in {DOCKER, "/usr/bin/docker"}:
        p = subprocess.run([cli, "run", "-i", "busybox", "no-such-program"], input="x\n", capture_output=True,
                           text=True, env=api.env, timeout=30)
        assert p.returncode == 127 and "no-such-program" in p.stderr, (cli, p.returncode, p.stderr)


def test_run_it_is_a_terminal_of_the_clients_size(api):
    code, out = on_pty(api, ["run", "-it", "--rm", "busybox", "sh"],
                       [(b"# ", b"stty size; echo answer $((6*7))\r"), (b"answer 42", b"exit 5\r")], rows=33, cols=101)
    assert code == 5, out
    assert b"33 101" in out and b"answer 42" in out
    assert api("ps", "-aq").stdout.strip() == ""  # --rm


def test_attach_to_a_detached_terminal_and_detach_keys(api):
    cid = api("run", "-dit", "--name", "term", "busybox", "sh").stdout.strip()
    code, out = on_pty(api, ["attach", "term"],
                       [(b"", b"\r"), (b"# ", b"echo attached $((2+3))\r"), (b"attached 5", b"\x10\x11")])
    # (docker 20.10's CLI ends a detach with status 1, newer ones with 0)
    assert code in (0, 1) and b"attached 5" in out and b"read escape sequence" in out, out
    # detached, not ended; what the terminal showed is in its log
    assert api("inspect", "-f", "{{.State.Running}}", cid).stdout.strip() == "true"
    assert "attached 5" in api("logs", "term").stdout
    # the service resizes its terminal
    status, _, _ = api.http("POST", f"/containers/{cid}/resize?h=40&w=120")
    assert status == 200
    assert api("exec", "term", "sh", "-c", "stty size < /dev/pts/0").stdout.strip() == "40 120"
    assert api.http("POST", f"/containers/{cid}/resize?h=x&w=1")[0] == 400
    api("rm", "-f", "term")


def test_exec_output_input_and_exit_codes(api):
    api("run", "-d", "--name", "box", "-e", "FROM_RUN=1", "busybox", "sleep", "300")
    p = api("exec", "box", "sh", "-c", "echo out; echo err >&2; echo $FROM_RUN $X", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (0, "out\n1\n", "err\n")
    assert api("exec", "-e", "X=2", "-w", "/tmp", "box", "sh", "-c", "echo $X $PWD").stdout == "2 /tmp\n"
    p = subprocess.run([DOCKER, "exec", "-i", "box", "busybox", "wc", "-c"], input="x" * 100000, capture_output=True,
                       text=True, env=api.env, timeout=30)
    assert p.stdout.strip() == "100000", p.stderr
    # much output before it reads its input: neither waits on the other (the input is held)
    p = subprocess.run([DOCKER, "exec", "-i", "box", "sh", "-c", "busybox seq 200000; busybox wc -c"],
                       input="y" * 500000, capture_output=True, text=True, env=api.env, timeout=60)
    lines = p.stdout.split()
    assert len(lines) == 200001 and lines[-2] == "200000" and lines[-1] == "500000", (p.stderr, lines[-3:])
    assert api("exec", "box", "sh", "-c", "exit 7", check=False).returncode == 7
    p = api("exec", "box", "no-such-program", check=False)
    assert p.returncode == 127 and "no-such-program" in p.stderr + p.stdout
    # detached: runs on after the answer
    api("exec", "-d", "box", "sh", "-c", "sleep 0.3; touch /tmp/detached")
    time.sleep(1)
    assert api("exec", "box", "ls", "/tmp/detached").returncode == 0
    code, out = on_pty(api, ["exec", "-it", "box", "sh"],
                       [(b"# ", b"tty; stty size\r"), (b"/dev/pts/", b"exit 3\r")], rows=20, cols=70)
    assert code == 3 and b"20 70" in out, out


def test_exec_with_the_sdk_and_inspect(api):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url="unix://" + api.sock)
    c = client.containers.run("busybox", ["sleep", "300"], detach=True)
    code, out = c.exec_run(["sh", "-c", "echo sdk-exec; exit 4"])
    assert (code, out) == (4, b"sdk-exec\n")
    code, (out, err) = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert (out, err) == (b"o\n", b"e\n")
    res = client.api.exec_create(c.id, ["true"])
    info = client.api.exec_inspect(res["Id"])
    assert info["Running"] is False and info["ExitCode"] is None and info["ContainerID"] == c.id
    client.api.exec_start(res["Id"])
    assert client.api.exec_inspect(res["Id"])["ExitCode"] == 0
    c.remove(force=True)


def test_exec_bad_requests(api):
    api("create", "--name", "stopped", "busybox", "true")
    status, _, body = api.http("POST", "/containers/stopped/exec", json.dumps({"Cmd": ["true"]}),
                               {"Content-Type": "application/json"})
    assert status == 409 and "not running" in json.loads(body)["message"]
    assert api.http("POST", "/containers/nothere/exec", json.dumps({"Cmd": ["true"]}))[0] == 404
    api("run", "-d", "--name", "up", "busybox", "sleep", "300")
    assert api.http("POST", "/containers/up/exec", b"{nope")[0] == 400
    assert api.http("POST", "/containers/up/exec", json.dumps({"Cmd": []}))[0] == 400
    assert api.http("POST", "/exec/" + "0" * 64 + "/start", b"{}")[0] == 404
    assert api.http("GET", "/exec/nothere/json")[0] == 404
    # started twice: 409
    eid = json.loads(api.http("POST", "/containers/up/exec", json.dumps({"Cmd": ["true"]}))[2])["Id"]
    assert api.http("POST", f"/exec/{eid}/start", json.dumps({"Detach": True}))[0] == 200
    assert api.http("POST", f"/exec/{eid}/start", json.dumps({"Detach": True}))[0] == 409


def test_a_client_gone_mid_exec_leaves_the_service_serving(api):
    api("run", "-d", "--name", "long", "busybox", "sleep", "300")
    eid = json.loads(api.http("POST", "/containers/long/exec",
                              json.dumps({"Cmd": ["sh", "-c", "yes | head -c 10000000; sleep 2"], "AttachStdout": True}))[2])["Id"]
    s = socket.socket(socket.AF_UNIX)
    s.connect(api.sock)
    s.sendall(f"POST /exec/{eid}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
              f"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}".encode())
    assert b"101" in s.recv(4096)
    s.close()
    assert api.http("GET", "/_ping")[0] == 200
    end = time.time() + 15
    while time.time() < end and json.loads(api.http("GET", f"/exec/{eid}/json")[2])["Running"]:
        time.sleep(0.2)
    assert json.loads(api.http("GET", f"/exec/{eid}/json")[2])["Running"] is False
    assert api("exec", "long", "echo", "still").stdout == "still\n"


def test_sdk_run_streams_and_detaches(api):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url="unix://" + api.sock)
    lines = list(client.containers.run("busybox", ["sh", "-c", "echo one; sleep 0.3; echo two"], stream=True))
    assert b"".join(lines) == b"one\ntwo\n"
    c = client.containers.run("busybox", ["sh", "-c", "echo bg; sleep 300"], detach=True)
    end = time.time() + 10
    while c.logs() != b"bg\n" and time.time() < end:
        time.sleep(0.1)
    assert c.logs() == b"bg\n"
    c.reload()
    assert c.status == "running"
    c.remove(force=True)


def test_clients_gone_mid_attach_leak_nothing(api):
    """attaches dropped mid-stream, over and over: the service serves on, and holds no
    more fds, threads or children than before"""
    def counts():
        pid = api.proc.pid
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task")), len(kids)

    cid = api("run", "-d", "-i", "--name", "chatty", "busybox", "sh", "-c", "while :; do echo x; sleep 0.01; done").stdout.strip()
    api.http("GET", "/_ping")
    time.sleep(0.5)
    before = counts()
    for i in range(100):
        s = socket.socket(socket.AF_UNIX)
        s.connect(api.sock)
        s.sendall(f"POST /containers/{cid}/attach?stream=1&stdout=1&stdin=1 HTTP/1.1\r\nHost: x\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
        s.recv(4096)
        if i % 2:
            s.sendall(b"typed\n")
        s.close()
        assert api.http("GET", "/_ping")[0] == 200
    time.sleep(1)
    after = counts()
    assert after[0] <= before[0] + 2 and after[1] <= before[1] + 2 and after[2] == before[2], (before, after)
    assert api("inspect", "-f", "{{.State.Running}}", "chatty").stdout.strip() == "true"
