# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve --multi-user: one root service, many users, each served strictly as
themselves (a worker running as the peer's uid, their own store and containers).
Root only: the two unprivileged test users of the harness talk to one service."""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from apiserve import DEN, DOCKER, UnixHTTP, wait_for
from conftest import make_rootfs, open_path_to_all, tar_as_root

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="--multi-user is for root")
USERS = ["dentest", "dentest-nosub"]
IMAGE = "mutest-busybox"


def as_user(user, *args, check=True, sock=None, input=None, timeout=60):
    pw = pwd.getpwnam(user)
    env = {"PATH": os.environ["PATH"], "HOME": pw.pw_dir, "DOCKER_HOST": "unix://" + sock,
           "DOCKER_CONFIG": os.path.join(tempfile.gettempdir(), f"dockercfg-{user}")}
    p = subprocess.run(["runuser", "-u", user, "--", *args], capture_output=True, text=True, env=env,
                       input=input, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{user}: {' '.join(args)}: {p.returncode}: {p.stderr}")
    return p


@pytest.fixture
def multi(tmp):
    for u in USERS:
        try:
            pwd.getpwnam(u)
        except KeyError:
            pytest.skip(f"no user {u}")
    rootfs = os.path.join(tmp, "img")
    make_rootfs(rootfs)
    tarball = tar_as_root(rootfs, os.path.join(tmp, "img.tar"))
    open_path_to_all(tmp)
    os.chmod(tarball, 0o644)
    sockdir = tempfile.mkdtemp(prefix="denmu")
    os.chmod(sockdir, 0o755)
    sock = os.path.join(sockdir, "den.sock")
    for u in USERS:
        as_user(u, DEN, "import", tarball, IMAGE, sock=sock)
    proc = subprocess.Popen([DEN, "serve", "--multi-user", "-H", "unix://" + sock, "--timeout", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(sock, proc)
    yield sock, proc
    for u in USERS:
        ids = as_user(u, DEN, "ps", "-a", "-q", sock=sock, check=False).stdout.split()
        for cid in ids:
            as_user(u, DEN, "rm", "-f", cid, sock=sock, check=False)
        as_user(u, DEN, "rmi", IMAGE, sock=sock, check=False)
    proc.terminate()
    assert proc.wait(timeout=20) == 0
    assert not os.path.exists(sock)
    shutil.rmtree(sockdir, ignore_errors=True)


def test_each_user_sees_and_touches_only_their_own(multi):
    sock, _ = multi
    a, b = USERS
    assert os.stat(sock).st_mode & 0o777 == 0o666
    p = as_user(a, DOCKER, "run", "--rm", IMAGE, "echo", "hello", sock=sock)
    assert p.stdout == "hello\n"
    cid = as_user(a, DOCKER, "run", "-d", "--name", f"mine{os.getpid()}", IMAGE, "sleep", "300", sock=sock).stdout.strip()
    assert as_user(a, DOCKER, "ps", "-q", "--no-trunc", sock=sock).stdout.split() == [cid]
    # the other user: none of it, by name or by id, to see, stop or remove
    assert as_user(b, DOCKER, "ps", "-aq", sock=sock).stdout.strip() == ""
    for args in (["inspect", cid], ["inspect", f"mine{os.getpid()}"], ["stop", cid], ["rm", "-f", cid], ["logs", cid]):
        p = as_user(b, DOCKER, *args, sock=sock, check=False)
        # (docker rm -f of a missing container ends 0, with the message)
        assert "no such" in p.stderr.lower() and (p.returncode != 0 or args[:2] == ["rm", "-f"]), (args, p.stderr)
    # raw: a 404, from b's own worker
    out = as_user(b, "/usr/bin/python3", "-c", f"""
import http.client, socket, json
class U(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect({sock!r})
c = U("x"); c.request("GET", "/containers/{cid}/json"); r = c.getresponse(); print(r.status)
""", sock=sock).stdout.strip()
    assert int(out) == 404
    assert as_user(a, DOCKER, "inspect", "-f", "{{.State.Running}}", cid, sock=sock).stdout.strip() == "true"
    # each image store is the user's own: an image a makes is not b's
    as_user(a, DOCKER, "tag", IMAGE, "only-a", sock=sock)
    assert "only-a" in as_user(a, DOCKER, "images", sock=sock).stdout
    assert "only-a" not in as_user(b, DOCKER, "images", sock=sock).stdout
    as_user(a, DOCKER, "rmi", "only-a", sock=sock)


def test_workers_run_as_their_users_and_open_binds_as_them(multi, tmp):
    sock, proc = multi
    a, b = USERS
    pa, pb = pwd.getpwnam(a), pwd.getpwnam(b)
    as_user(a, DOCKER, "version", sock=sock)
    as_user(b, DOCKER, "version", sock=sock)
    workers = subprocess.run(["ps", "-o", "user:32=,args=", "--ppid", str(proc.pid)], capture_output=True,
                             text=True).stdout.splitlines()
    users = sorted(line.split()[0] for line in workers if "--worker-fd" in line)
    assert users == sorted([a, b]), workers
    # a directory only a can read: a mounts it, b is refused
    private = os.path.join(tmp, "private")
    os.mkdir(private, 0o700)
    with open(os.path.join(private, "secret"), "w") as f:
        f.write("a's\n")
    os.chown(private, pa.pw_uid, pa.pw_gid)
    os.chown(os.path.join(private, "secret"), pa.pw_uid, pa.pw_gid)
    assert as_user(a, DOCKER, "run", "--rm", "-v", f"{private}:/p", IMAGE, "cat", "/p/secret",
                   sock=sock).stdout == "a's\n"
    p = as_user(b, DOCKER, "run", "--rm", "-v", f"{private}:/p", IMAGE, "cat", "/p/secret", sock=sock, check=False)
    assert p.returncode != 0 and "a's" not in p.stdout, p
    # what a container writes to a bind belongs to its user on the host
    shared = os.path.join(tmp, "shared")
    os.mkdir(shared, 0o777)
    os.chmod(shared, 0o1777)
    as_user(b, DOCKER, "run", "--rm", "-v", f"{shared}:/s", IMAGE, "touch", "/s/by-b", sock=sock)
    assert os.stat(os.path.join(shared, "by-b")).st_uid == pb.pw_uid


def test_idle_workers_end_and_come_back(multi):
    sock, proc = multi
    a = USERS[0]
    as_user(a, DOCKER, "version", sock=sock)

    def workers():
        return subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()

    assert workers()
    end = time.time() + 15
    while workers() and time.time() < end:
        time.sleep(0.3)
    assert workers() == [], "an idle worker stayed"
    assert as_user(a, DOCKER, "run", "--rm", IMAGE, "echo", "again", sock=sock).stdout == "again\n"


def test_multi_user_is_for_root_and_says_so(tmp):
    p = subprocess.run(["runuser", "-u", USERS[0], "--", DEN, "serve", "--multi-user", "-H",
                        "unix:///tmp/nope-multi.sock"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "root" in p.stderr
    p = subprocess.run([DEN, "serve", "--group", "root", "-H", "unix:///tmp/nope-multi.sock"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 2 and "--multi-user" in p.stderr
    # a group's socket: root:GROUP 0660
    sockdir = tempfile.mkdtemp(prefix="denmu")
    sock = os.path.join(sockdir, "g.sock")
    proc = subprocess.Popen([DEN, "serve", "--multi-user", "--group", "root", "-H", "unix://" + sock],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(sock, proc)
        st = os.stat(sock)
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o660, 0, 0)
        c = UnixHTTP(sock)
        c.request("GET", "/_ping")
        assert c.getresponse().status == 200
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(sockdir, ignore_errors=True)
