# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve: the Docker Engine API on a unix socket, driven by the real docker CLI
(its client only, no dockerd), python3-docker and raw HTTP for the error cases."""
import fcntl
import json
import os
import socket
import subprocess
import tempfile
import time

import pytest

from apiserve import DEN, DOCKER, UnixHTTP, api, wait_for  # noqa: F401 (api: the fixture)


def test_ping_version_info(api):
    assert api.proc.stdout.readline().strip() == "export DOCKER_HOST=unix://" + api.sock
    status, headers, body = api.http("GET", "/_ping")
    assert status == 200 and body == b"OK"
    assert headers["Api-Version"] == "1.41" and headers["Ostype"] == "linux"
    assert api.http("HEAD", "/v1.41/_ping")[0] == 200
    p = api("version", "--format", "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}")
    assert p.stdout.split() == ["0.1.0", "1.41", "linux"]
    info = json.loads(api("info", "--format", "{{json .}}").stdout)
    assert info["Images"] == 1 and info["Containers"] == 0 and info["NCPU"] >= 1 and info["MemTotal"] > 0
    status, _, body = api.http("GET", "/v1.99/version")
    assert status == 400 and b"too new" in body
    status, _, body = api.http("GET", "/v1.11/version")
    assert status == 400 and b"too old" in body


def test_images_inspect_tag_history_rmi(api):
    out = api("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert out == ["localhost/busybox:latest"]
    iid = api("inspect", "--format", "{{.Id}}", "busybox").stdout.strip()
    assert iid.startswith("sha256:")
    api("tag", "busybox", "other:v1")
    assert sorted(api("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()) == [
        "localhost/busybox:latest", "other:v1"]  # the CLI sends docker.io/library/other
    assert api("inspect", "--format", "{{.Id}}", "other:v1").stdout.strip() == iid
    # by a short id too
    assert api("image", "inspect", "--format", "{{.Id}}", iid[7:19]).stdout.strip() == iid
    hist = api("history", "-q", "busybox").stdout.split()
    assert hist and hist[0] == iid[7:19]
    p = api("rmi", "other:v1")
    assert "Untagged: other:v1" in p.stdout
    p = api("image", "inspect", "other:v1", check=False)
    assert p.returncode != 0 and "No such image" in p.stderr
    assert api("images", "-q").stdout.split() == [iid[7:19]]
    status, _, body = api.http("GET", "/images/nothere/json")
    assert status == 404 and json.loads(body)["message"]


def test_create_start_wait_logs_inspect_rm(api):
    cid = api("create", "--name", "one", "-e", "A=b", "busybox", "sh", "-c",
              "echo out $A; echo err >&2; exit 3").stdout.strip()
    assert len(cid) == 64
    assert api("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.strip() == "one Created"
    assert api("ps", "--format", "{{.Names}}").stdout.strip() == ""
    api("start", "one")
    assert api("wait", "one").stdout.strip() == "3"
    p = api("logs", "one")
    assert p.stdout == "out b\n" and p.stderr == "err\n"
    st = json.loads(api("inspect", "one").stdout)[0]
    assert st["Id"] == cid and st["Name"] == "/one"
    assert st["State"]["Status"] == "exited" and st["State"]["ExitCode"] == 3 and not st["State"]["Running"]
    assert st["Config"]["Cmd"][0] == "sh" and "A=b" in st["Config"]["Env"]
    assert api("ps", "-a", "--format", "{{.Status}}").stdout.startswith("Exited (3)")
    p = api("create", "--name", "one", "busybox", "true", check=False)
    assert p.returncode != 0 and "in use" in p.stderr
    api("rm", "one")
    assert api("ps", "-aq").stdout.strip() == ""
    p = api("rm", "one", check=False)
    assert p.returncode != 0 and "no such container" in p.stderr.lower()


def test_docker_run_attaches_waits_and_removes(api):
    t = time.time()
    p = api("run", "--rm", "busybox", "echo", "hi")
    assert p.stdout == "hi\n" and time.time() - t < 10
    assert api("ps", "-aq").stdout.strip() == ""
    p = api("run", "--name", "r", "busybox", "sh", "-c", "echo a; echo b >&2; exit 4", check=False)
    assert p.returncode == 4 and p.stdout == "a\n" and p.stderr == "b\n"
    # attached again: the second run's output only
    p = api("start", "-a", "r", check=False)
    assert p.stdout == "a\n" and p.stderr == "b\n"
    assert json.loads(api("inspect", "r").stdout)[0]["State"]["ExitCode"] == 4
    api("rm", "r")
    # detached with --rm: gone once it ends
    api("run", "-d", "--rm", "--name", "d", "busybox", "sleep", "0.3")
    end = time.time() + 10
    while api("ps", "-aq").stdout.strip() and time.time() < end:
        time.sleep(0.1)
    assert api("ps", "-aq").stdout.strip() == ""
    # a terminal: one stream, its line ends
    p = api("run", "--rm", "-t", "busybox", "sh", "-c", "echo out; echo err >&2; exit 2", check=False)
    assert (p.returncode, p.stdout.replace("\r", "")) == (2, "out\nerr\n")


def test_logs_follow_until_the_command_ends(api):
    api("run", "-d", "--name", "f", "busybox", "sh", "-c", "echo one; sleep 1; echo two >&2; sleep 0.5; echo three")
    t = time.time()
    p = api("logs", "-f", "f")
    # it waited for the end (1.5 s) and got what came after it began
    assert p.stdout == "one\nthree\n" and p.stderr == "two\n" and time.time() - t >= 1.0
    p = api("logs", "-f", "--tail", "1", "f")
    assert p.stdout == "three\n" and p.stderr == ""


def test_every_docker_cli_here(api):
    # docker.io's (20.10, API 1.41) and a newer one on the PATH that negotiates down from 1.50
    for cli in sorted({os.path.realpath(DOCKER), "/usr/bin/docker"}):
        if not os.path.exists(cli):
            continue
        p = subprocess.run([cli, "-H", "unix://" + api.sock, "run", "--rm", "busybox", "echo", cli],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, DOCKER_CONFIG=tempfile.mkdtemp(prefix="dockercfg")))
        assert p.returncode == 0 and p.stdout == cli + "\n", p.stderr
    assert api("ps", "-aq").stdout.strip() == ""


def test_stop_kill_and_rm_of_a_running_container(api):
    api("create", "--name", "s", "busybox", "sleep", "300")
    api("start", "s")
    assert api("ps", "--format", "{{.Names}}").stdout.split() == ["s"]
    st = json.loads(api("inspect", "s").stdout)[0]["State"]
    assert st["Running"] and st["Status"] == "running"
    p = api("rm", "s", check=False)
    assert p.returncode != 0 and "running" in p.stderr
    api("kill", "s")
    assert api("wait", "s").stdout.strip() == "137"
    p = api("kill", "s", check=False)
    assert p.returncode != 0 and "not running" in p.stderr
    api("start", "s")
    t = time.time()
    api("stop", "-t", "1", "s")
    assert time.time() - t < 15
    assert json.loads(api("inspect", "s").stdout)[0]["State"]["Running"] is False
    api("start", "s")
    api("rm", "-f", "s")
    assert api("ps", "-aq").stdout.strip() == ""


def test_create_refuses_what_den_does_not_do(api):
    p = api("create", "--privileged", "busybox", "true", check=False)
    assert p.returncode != 0 and "HostConfig.Privileged" in p.stderr
    p = api("create", "--device", "/dev/null", "busybox", "true", check=False)
    assert p.returncode != 0 and "HostConfig.Devices" in p.stderr
    assert api("ps", "-aq").stdout.strip() == ""
    status, _, body = api.http("POST", "/containers/create", json.dumps({"Image": "nothere:1"}),
                               {"Content-Type": "application/json"})
    assert status == 404 and b"No such image" in body


def test_bad_requests_get_docker_errors_and_the_service_keeps_serving(api):
    status, _, body = api.http("POST", "/v1.41/containers/create", b"{not json", {"Content-Type": "application/json"})
    assert status == 400 and "malformed" in json.loads(body)["message"]
    assert api.http("GET", "/_ping")[0] == 200
    status, _, body = api.http("GET", "/v1.41/no/such/thing")
    assert status == 404 and json.loads(body) == {"message": "page not found"}
    assert api.http("GET", "/_ping")[0] == 200
    # a declared body over 64 MiB is refused before it is read
    c = UnixHTTP(api.sock)
    c.putrequest("POST", "/containers/create")
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str((64 << 20) + 1))
    c.endheaders()
    r = c.getresponse()
    assert r.status == 413 and "larger" in json.loads(r.read())["message"]
    c.close()
    # and one sent chunked, without a length
    def chunks():
        block = b"x" * (1 << 20)
        for _ in range(66):
            yield block
    c = UnixHTTP(api.sock)
    c.request("POST", "/containers/create", body=chunks(), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    r = c.getresponse()
    assert r.status == 413
    c.close()
    status, _, body = api.http("GET", "/_ping")
    assert status == 200 and body == b"OK"
    assert api.http("GET", "/containers/nothere/json")[0] == 404
    assert api.http("DELETE", "/_ping")[0] == 405


def test_no_fd_or_thread_leaks_over_many_requests(api):
    def counts():
        pid = api.proc.pid
        return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))
    api.http("GET", "/_ping")
    before = counts()
    for i in range(300):
        path = ["/_ping", "/v1.41/containers/json?all=1", "/images/json", "/nope", "/containers/x/json"][i % 5]
        assert api.http("GET", path)[0] in (200, 404)
        api.http("POST", "/containers/create", b"{bad")
    time.sleep(0.5)
    after = counts()
    assert after[0] <= before[0] + 1 and after[1] <= before[1] + 1, (before, after)


def test_python_docker_sdk(api):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url="unix://" + api.sock)
    assert client.ping()
    assert client.version()["ApiVersion"] == "1.41"
    tags = [t for i in client.images.list() for t in i.tags]
    assert tags == ["localhost/busybox:latest"]
    c = client.containers.create("busybox", ["sh", "-c", "echo sdk"], name="py")
    c.start()
    assert c.wait()["StatusCode"] == 0
    assert c.logs() == b"sdk\n"
    c.reload()
    assert c.status == "exited" and c.name == "py"
    c.remove()
    assert client.containers.list(all=True) == []
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("py")
    assert client.containers.run("busybox", ["echo", "run"], remove=True) == b"run\n"
    assert client.containers.list(all=True) == []


def test_serve_timeout_ends_an_idle_service(tmp):
    sock = os.path.join(tempfile.mkdtemp(prefix="denapi"), "den.sock")
    p = subprocess.Popen([DEN, "--root", os.path.join(tmp, "s"), "--runroot", os.path.join(tmp, "r"), "serve",
                          "--timeout", "1", "-H", "unix://" + sock], stdout=subprocess.PIPE, text=True)
    wait_for(sock, p)
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
    assert p.wait(timeout=10) == 0
    assert not os.path.exists(sock)
    p = subprocess.run([DEN, "serve", "-H", "tcp://1.2.3.4:5"], capture_output=True, text=True)
    assert p.returncode == 2 and "unix://" in p.stderr


def test_socket_activation(tmp):
    # systemd's protocol: a listening socket as fd 3, LISTEN_PID and LISTEN_FDS
    sock = os.path.join(tempfile.mkdtemp(prefix="denapi"), "act.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(sock)
    ls.listen(8)
    high = fcntl.fcntl(ls.fileno(), fcntl.F_DUPFD, 20)
    assert os.path.exists("/proc/self/fd/3")  # kept open by pass_fds, then made the socket
    p = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh",
                          DEN, "--root", os.path.join(tmp, "s"), "--runroot", os.path.join(tmp, "r"), "serve",
                          "--timeout", "2"], stdout=subprocess.PIPE, text=True, pass_fds=(3, high),
                         preexec_fn=lambda: os.dup2(high, 3))
    os.close(high)
    try:
        assert p.stdout.readline().strip() == "export DOCKER_HOST=unix://" + sock
        c = UnixHTTP(sock)
        c.request("GET", "/_ping")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"OK"
        c.close()
        assert p.wait(timeout=15) == 0
        # the socket was given, not made: it stays for whoever gave it
        assert os.path.exists(sock)
    finally:
        if p.poll() is None:
            p.kill()
        ls.close()


def test_logs_timestamps_since_until_and_inspect_times(api):
    api("run", "--name", "t", "-v", "/tmp:/host-tmp:ro", "busybox", "sh", "-c", "echo early; sleep 2; echo late")
    p = api("logs", "-t", "t")
    lines = p.stdout.splitlines()
    assert [x.split(" ", 1)[1] for x in lines] == ["early", "late"] and lines[0][:2] == "20", lines
    # since: a second after the first line, only the second is left; until before it, only the first
    first = time.mktime(time.strptime(lines[0].split(".")[0].split(" ")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert api("logs", "--since", str(int(first) + 1), "t").stdout == "late\n"
    assert api("logs", "--until", str(int(first)), "t").stdout == "early\n"
    info = json.loads(api("inspect", "t").stdout)[0]
    assert info["State"]["StartedAt"][:2] == "20" and info["State"]["FinishedAt"] >= info["State"]["StartedAt"]
    assert info["Mounts"] == [{"Type": "bind", "Source": "/tmp", "Destination": "/host-tmp", "Mode": "ro",
                               "RW": False, "Propagation": "rprivate"}]
    # the classic builder is announced; a log driver den does not keep is refused
    assert api.http("GET", "/_ping")[1].get("Builder-Version") == "1"
    p = api("run", "--log-driver", "none", "busybox", "true", check=False)
    assert p.returncode != 0 and "LogConfig" in p.stderr
