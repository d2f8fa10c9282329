# SPDX-License-Identifier: GPL-2.0-or-later
"""Other users on the machine (issue 10): the run and state directories den and
den-runtime fall back on in the shared /tmp, another user's store, empty paths.

As root the victim is a uid of its own (no passwd entry needed, setpriv), so the
/tmp names planted here are never the ones the harness's own unprivileged passes
use; the attacker is another such uid.  As an unprivileged user the test plays
the victim inside a user and mount namespace whose /tmp is a directory of the
test: it can plant a symlink or a directory open to others, not a directory of
another owner."""
import json
import os
import random
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, RUNTIME, make_rootfs, tar_as_root

DEN = os.path.abspath(os.path.join(BUILD, "den"))
ENV = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin"]


@pytest.fixture
def victim(tmp):
    """(root only) a uid with no files anywhere yet, and an attacker uid; their /tmp names go afterwards"""
    if not ROOT:
        pytest.skip("planting a directory another user owns needs root")
    while True:
        uid = random.randrange(3_000_000, 3_900_000, 2)
        names = [f"/tmp/den-runtime-{uid}", f"/tmp/den-{uid}"]
        if not any(os.path.lexists(n) for n in names):
            break
    reachable(tmp)
    yield uid, uid + 1
    for n in names:
        if os.path.islink(n) or not os.path.isdir(n):
            if os.path.lexists(n):
                os.unlink(n)
        else:
            shutil.rmtree(n, ignore_errors=True)


def reachable(path):
    """let other uids through path and its parents (pytest's are 0700), as far as root's /tmp"""
    path = os.path.abspath(path)
    while path not in ("/", "/tmp"):
        os.chmod(path, os.stat(path).st_mode | 0o111)
        path = os.path.dirname(path)


def as_uid(uid, *argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *ENV, *argv],
                          timeout=120, **kw)


def owned_dir(path, uid, mode):
    os.mkdir(path)
    os.chown(path, uid, uid)
    os.chmod(path, mode)
    return path


def refused(p, name, option):
    """a refusal that names the directory and says what to do instead"""
    assert p.returncode != 0, p.stdout
    assert name in p.stderr and option in p.stderr and "XDG_RUNTIME_DIR" in p.stderr, p.stderr


# ---- den-runtime's /tmp/den-runtime-<uid> ----

def test_runtime_fallback_is_made_private(victim):
    v, _ = victim
    p = as_uid(v, RUNTIME, "list")
    assert p.returncode == 0, p.stderr
    st = os.lstat(f"/tmp/den-runtime-{v}")
    assert (st.st_uid, st.st_mode & 0o7777) == (v, 0o700)
    # the same directory again: it is the victim's and closed
    assert as_uid(v, RUNTIME, "list").returncode == 0


def test_runtime_refuses_a_fallback_another_user_made(victim):
    """the attacker made /tmp/den-runtime-VICTIM first and planted a state naming a process of the victim"""
    v, a = victim
    d = owned_dir(f"/tmp/den-runtime-{v}", a, 0o777)
    sleeper = subprocess.Popen(["setpriv", f"--reuid={v}", f"--regid={v}", "--clear-groups", "sleep", "60"])
    try:
        time.sleep(0.2)
        with open(f"/proc/{sleeper.pid}/stat") as f:
            start = int(f.read().rsplit(")", 1)[1].split()[19])
        os.mkdir(os.path.join(d, "planted"))
        with open(os.path.join(d, "planted", "state.json"), "w") as f:
            json.dump({"ociVersion": "1.0.2", "id": "planted", "bundle": "/", "rootfs": "/", "created": "",
                       "pid": sleeper.pid, "pidStart": start, "owner": v, "rootless": True}, f)
        p = as_uid(v, RUNTIME, "list")
        refused(p, f"/tmp/den-runtime-{v}", "--root")
        assert "planted" not in p.stdout
        assert f"belongs to uid {a}" in p.stderr
        p = as_uid(v, RUNTIME, "kill", "planted", "KILL")
        refused(p, f"/tmp/den-runtime-{v}", "--root")
        time.sleep(0.2)
        assert sleeper.poll() is None, "den-runtime signalled the process the attacker chose"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_runtime_refuses_a_fallback_symlink(victim, tmp):
    """a symlink to a directory of the victim's (mode 0700) is still not the victim's own name"""
    v, a = victim
    target = owned_dir(os.path.join(tmp, "victims"), v, 0o700)
    os.symlink(target, f"/tmp/den-runtime-{v}")
    os.lchown(f"/tmp/den-runtime-{v}", a, a)
    p = as_uid(v, RUNTIME, "list")
    refused(p, f"/tmp/den-runtime-{v}", "--root")
    assert "symbolic link" in p.stderr
    assert os.listdir(target) == []


@pytest.mark.parametrize("mode", [0o777, 0o755, 0o1777])
def test_runtime_refuses_a_fallback_others_can_reach(victim, mode):
    v, _ = victim
    owned_dir(f"/tmp/den-runtime-{v}", v, mode)
    p = as_uid(v, RUNTIME, "list")
    refused(p, f"/tmp/den-runtime-{v}", "--root")
    assert "not 0700" in p.stderr


def test_runtime_given_root_of_another_user_is_refused(victim, tmp):
    v, a = victim
    d = owned_dir(os.path.join(tmp, "attackers"), a, 0o755)
    p = as_uid(v, RUNTIME, "--root", d, "list")
    assert p.returncode != 0 and d in p.stderr and "--root" in p.stderr, p.stderr


# ---- den's /tmp/den-<uid> ----

def test_den_refuses_a_run_directory_symlink(victim, tmp):
    """/tmp/den-VICTIM -> a directory of the victim's (say ~/.ssh): its keeper.sock, exit and hosts would land there"""
    v, a = victim
    target = owned_dir(os.path.join(tmp, "dotssh"), v, 0o700)
    store = owned_dir(os.path.join(tmp, "store"), v, 0o700)
    os.symlink(target, f"/tmp/den-{v}")
    os.lchown(f"/tmp/den-{v}", a, a)
    p = as_uid(v, DEN, "--root", store, "ps", "-a")
    refused(p, f"/tmp/den-{v}", "--runroot")
    assert "symbolic link" in p.stderr
    assert os.listdir(target) == []


def test_den_refuses_a_run_directory_of_another_user(victim, tmp):
    v, a = victim
    owned_dir(f"/tmp/den-{v}", a, 0o777)
    store = owned_dir(os.path.join(tmp, "store"), v, 0o700)
    p = as_uid(v, DEN, "--root", store, "ps", "-a")
    refused(p, f"/tmp/den-{v}", "--runroot")
    assert f"belongs to uid {a}" in p.stderr
    os.rmdir(f"/tmp/den-{v}")
    owned_dir(f"/tmp/den-{v}", v, 0o750)
    p = as_uid(v, DEN, "--root", store, "ps", "-a")
    refused(p, f"/tmp/den-{v}", "--runroot")


def store_with_image(uid, tmp):
    """a store of uid's holding the image busybox"""
    store = owned_dir(os.path.join(tmp, "store"), uid, 0o700)
    rootfs = os.path.join(tmp, "img")
    make_rootfs(rootfs)
    tarball = tar_as_root(rootfs, os.path.join(tmp, "img.tar"))
    os.chmod(tarball, 0o644)
    p = as_uid(uid, DEN, "--root", store, "import", tarball, "busybox")
    assert p.returncode == 0, p.stderr
    return store


def test_den_runs_in_its_fallback_run_directory(victim, tmp):
    """no --runroot, no XDG_RUNTIME_DIR: /tmp/den-UID made 0700, and the keeper's files are in it"""
    v, _ = victim
    store = store_with_image(v, tmp)
    p = as_uid(v, DEN, "--root", store, "run", "-d", "busybox", "sleep", "30", stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    cid = p.stdout.split()[0]
    try:
        st = os.lstat(f"/tmp/den-{v}")
        assert (st.st_uid, st.st_mode & 0o7777) == (v, 0o700)
        files = os.listdir(f"/tmp/den-{v}/containers/{cid}")
        assert {"keeper.sock", "exit", "hosts"} <= set(files), files
        p = as_uid(v, DEN, "--root", store, "exec", cid, "cat", "/etc/hosts")
        assert p.returncode == 0 and cid[:12] in p.stdout, p.stderr
    finally:
        p = as_uid(v, DEN, "--root", store, "rm", "-f", cid)
        assert p.returncode == 0, p.stderr


def swap_loop(a, b, stop):
    """exchange the names a and b (renameat2 RENAME_EXCHANGE) until stop is set"""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    while not stop.is_set():
        libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE)


def test_den_run_directory_swapped_under_it(victim, tmp):
    """the attacker keeps exchanging /tmp/den-VICTIM with a symlink to a directory of the victim's: whatever
    den does (refuse, or run in its own directory), nothing of it lands in that directory"""
    import threading
    v, a = victim
    store = store_with_image(v, tmp)
    assert as_uid(v, DEN, "--root", store, "ps").returncode == 0  # /tmp/den-VICTIM made by den
    target = owned_dir(os.path.join(tmp, "dotssh"), v, 0o700)
    planted = f"/tmp/den-{v}.x"
    os.symlink(target, planted)
    stop = threading.Event()
    t = threading.Thread(target=swap_loop, args=(f"/tmp/den-{v}", planted, stop))
    t.start()
    outcomes = []
    try:
        for _ in range(15):
            p = as_uid(v, DEN, "--root", store, "run", "--rm", "busybox", "true", stdin=subprocess.DEVNULL)
            outcomes.append(p.returncode)
            # a refusal is about the run directory, nothing else
            assert p.returncode == 0 or "run directory" in p.stderr or "replaced" in p.stderr, p.stderr
    finally:
        stop.set()
        t.join()
        if os.path.islink(f"/tmp/den-{v}"):
            os.rename(planted, f"/tmp/den-{v}.d")
            os.unlink(f"/tmp/den-{v}")
            os.rename(f"/tmp/den-{v}.d", f"/tmp/den-{v}")
        if os.path.lexists(planted):
            os.unlink(planted)
    assert os.listdir(target) == [], outcomes
    print("den run exit codes while swapped:", outcomes)


# ---- the same, played by an unprivileged victim in a /tmp of its own ----

def private_tmp(tmp, script):
    """run script (sh) as root of a new user namespace whose /tmp is a directory of the test, den's
    programs in /tmp/bin; den-runtime's fallback there is /tmp/den-runtime-<our uid>, den's /tmp/den-0
    (root in a user namespace gets the rootless defaults, as real root too)"""
    fake = os.path.join(tmp, "faketmp")
    os.makedirs(os.path.join(fake, "bin"))
    os.chmod(fake, 0o1777)
    setup = (f"mount --bind {os.path.abspath(BUILD)} {fake}/bin && mount --rbind {fake} /tmp && cd /tmp && "
             f"export HOSTUID={os.geteuid()} && ")
    p = subprocess.run(["unshare", "-r", "-m", "--propagation", "private", *ENV, "sh", "-ec", setup + script],
                       capture_output=True, text=True, timeout=120)
    return p, fake


def test_fallbacks_refuse_a_symlink_in_a_private_tmp(tmp):
    p, fake = private_tmp(tmp, """
        mkdir -m 0700 /tmp/mine
        ln -s /tmp/mine /tmp/den-runtime-$HOSTUID
        ln -s /tmp/mine /tmp/den-0
        if /tmp/bin/den-runtime list; then echo RUNTIME-ACCEPTED; fi
        if /tmp/bin/den --root /tmp/store ps -a; then echo DEN-ACCEPTED; fi
        ls -A /tmp/mine
    """)
    assert p.returncode == 0, p.stderr
    assert "ACCEPTED" not in p.stdout, p.stdout + p.stderr
    assert p.stdout.strip() == "", p.stdout
    assert p.stderr.count("symbolic link") == 2, p.stderr
    assert "--root" in p.stderr and "--runroot" in p.stderr and "XDG_RUNTIME_DIR" in p.stderr, p.stderr


def test_fallbacks_refuse_a_directory_open_to_others_in_a_private_tmp(tmp):
    p, fake = private_tmp(tmp, """
        mkdir -m 0777 /tmp/den-runtime-$HOSTUID /tmp/den-0
        chmod 0777 /tmp/den-runtime-$HOSTUID /tmp/den-0
        if /tmp/bin/den-runtime list; then echo RUNTIME-ACCEPTED; fi
        if /tmp/bin/den --root /tmp/store ps -a; then echo DEN-ACCEPTED; fi
        rmdir /tmp/den-runtime-$HOSTUID /tmp/den-0
        /tmp/bin/den-runtime list >/dev/null
        /tmp/bin/den --root /tmp/store ps -a >/dev/null
        stat -c '%a %n' /tmp/den-runtime-$HOSTUID /tmp/den-0
    """)
    assert p.returncode == 0, p.stderr
    assert "ACCEPTED" not in p.stdout, p.stdout + p.stderr
    assert p.stderr.count("has mode 0777, not 0700") == 2, p.stderr
    # made afresh: 0700
    assert p.stdout.split() == ["700", f"/tmp/den-runtime-{os.geteuid()}", "700", "/tmp/den-0"], p.stdout


# ---- another user's store ----

def test_ps_of_a_store_we_cannot_read_fails(tmp):
    store = os.path.join(tmp, "store")
    os.makedirs(os.path.join(store, "containers", "abc"), mode=0o700)
    if ROOT:
        uid = random.randrange(3_000_000, 3_900_000)
        reachable(tmp)
        run = owned_dir(os.path.join(tmp, "run"), uid, 0o700)
        os.chmod(store, 0o755)
        os.chmod(os.path.join(store, "containers"), 0o700)
        p = as_uid(uid, DEN, "--root", store, "--runroot", run, "ps", "-a")
    else:
        os.chmod(os.path.join(store, "containers"), 0)
        try:
            p = subprocess.run([DEN, "--root", store, "--runroot", os.path.join(tmp, "run"), "ps", "-a"],
                               capture_output=True, text=True, timeout=60)
        finally:
            os.chmod(os.path.join(store, "containers"), 0o700)
    assert p.returncode != 0, p.stdout
    assert store in p.stderr and "Permission denied" in p.stderr, p.stderr


# ---- empty paths ----

@pytest.mark.parametrize("argv,option", [
    ([DEN, "--root", "", "images"], "--root"),
    ([DEN, "--runroot", "", "ps"], "--runroot"),
    ([DEN, "--root=", "ps"], "--root"),
    ([RUNTIME, "--root", "", "list"], "--root"),
])
def test_empty_paths_are_refused(argv, option):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert f"{option}: an empty path" in p.stderr, p.stderr
    assert "AddressSanitizer" not in p.stderr
