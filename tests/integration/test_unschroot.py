# SPDX-License-Identifier: GPL-2.0-or-later
"""den-unschroot (schroot's command line over den sessions) and
autopkgtest-virt-den (autopkgtest's line protocol), on the busybox image."""
import os
import pwd
import shutil
import subprocess
import urllib.parse
import uuid

import pytest

from conftest import BUILD, ROOT, has_subids, make_rootfs, tar_as_root
from test_den_run import den, image  # noqa: F401 (fixtures)

UNSCHROOT = os.path.abspath(os.path.join(BUILD, "den-unschroot"))
VIRT = os.path.abspath(os.path.join(BUILD, "autopkgtest-virt-den"))
if not os.path.exists(VIRT):
    VIRT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "autopkgtest-virt-den"))


@pytest.fixture
def us(den, image):
    den("tag", image, "sbuild/bb-test")
    env = dict(os.environ, DEN_ROOT=den.root, DEN_RUNROOT=den.runroot)

    def run(*args, check=True, **kw):
        kw.setdefault("capture_output", True)
        p = subprocess.run([UNSCHROOT, *args], env=env, timeout=60, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"den-unschroot {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p
    run.env = env
    yield run
    assert den("session", "list").stdout.count("\n") == 1, "a session was left behind"


def test_list_info_and_names(us):
    p = us("-l", "--all", text=True)
    assert "chroot:bb-test-sbuild" in p.stdout and "source:bb-test-sbuild" in p.stdout
    # as schroot -l: every chroot, under both names
    assert us("-l", text=True).stdout.split() == ["chroot:bb-test-sbuild", "source:bb-test-sbuild"]
    info = us("--info", text=True).stdout
    # the blocks sbuild parses
    assert "--- Chroot ---" in info and "--- Source ---" in info and "Name                   bb-test-sbuild" in info
    p = us("-c", "nosuch-sbuild", "--begin-session", check=False, text=True)
    assert p.returncode != 0 and "nosuch-sbuild: Chroot not found" in p.stderr
    p = us("--info", "-c", "nosuch", check=False, text=True)
    assert p.returncode != 0 and "nosuch: Chroot not found" in p.stderr


def test_session_like_sbuild_drives_it(us):
    sid = us("-c", "chroot:bb-test-sbuild", "--begin-session", text=True).stdout.strip()
    try:
        assert sid.startswith("bb-test-sbuild-")
        info = us("--info", "--chroot", f"session:{sid}", text=True).stdout
        assert "--- Session ---" in info and f"Name                   {sid}" in info
        loc = [ln.split()[-1] for ln in info.splitlines() if ln.strip().startswith("Location")][0]
        assert os.path.isdir(loc)
        assert sid in us("-l", "--all-sessions", text=True).stdout
        # exit codes pass through; -d sets the directory; -u picks the user
        p = us("-d", "/tmp", "-c", sid, "--run-session", "-q", "-u", "root", "-p", "--", "sh", "-c", "pwd; exit 7",
               check=False, text=True)
        assert p.returncode == 7 and p.stdout == "/tmp\n"
        # binary-clean both ways: sbuild copies files in with `sh -c 'cat > F'`
        blob = bytes(range(256)) * 1000
        us("-c", sid, "--run-session", "-u", "root", "--", "sh", "-c", "cat > /tmp/blob", input=blob)
        assert us("-c", sid, "--run-session", "-u", "root", "--", "cat", "/tmp/blob").stdout == blob
        # the caller exists inside under its name: its own uid with sub-ids, root's without
        me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        if os.getuid() != 0:
            uid = us("-c", sid, "--run-session", "-u", me, "--", "id", "-u", text=True).stdout.strip()
            assert uid == (str(os.getuid()) if has_subids() else "0")
        # the network: the host's, none when asked or for the build command
        net = "cat /proc/net/dev | wc -l"
        host = int(us("-c", sid, "--run-session", "-u", "root", "--", "sh", "-c", net, text=True).stdout)
        iso = int(us("-c", sid, "--run-session", "--isolate-network", "-u", "root", "--", "sh", "-c", net,
                     text=True).stdout)
        assert host > iso == 3
        us.env["DEN_UNSCHROOT_ISOLATE"] = "cat"
        assert len(us("-c", sid, "--run-session", "-u", "root", "--", "cat", "/proc/net/dev",
                      text=True).stdout.splitlines()) == 3
        del us.env["DEN_UNSCHROOT_ISOLATE"]
        # the program only: a command that merely names dpkg-buildpackage ($0 of sh -c) keeps the network
        p = us("-c", sid, "--run-session", "-u", "root", "--", "sh", "-c", net, "dpkg-buildpackage", text=True)
        assert int(p.stdout) == host
    finally:
        us("-c", sid, "--end-session")
    assert sid not in us("-l", "--all-sessions", text=True).stdout


def test_automatic_session(us):
    p = us("-c", "bb-test-sbuild", "--", "sh", "-c", "echo inside; exit 3", check=False, text=True)
    assert p.returncode == 3 and p.stdout == "inside\n"


def virt(us, lines):
    """drive autopkgtest-virt-den with protocol lines; returns the replies"""
    env = dict(us.env, DEN=os.path.join(BUILD, "den"))
    p = subprocess.run(["/usr/bin/python3", VIRT, "sbuild/bb-test"], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, env=env, timeout=120)
    return p


@pytest.mark.skipif(not os.path.exists("/usr/share/autopkgtest/lib/VirtSubproc.py"),
                    reason="autopkgtest is not installed")
def test_autopkgtest_virt_server_protocol(us, tmp):
    src = os.path.join(tmp, "in")
    os.makedirs(src)
    open(os.path.join(src, "f"), "w").write("payload\n")
    out = os.path.join(tmp, "out")
    q = urllib.parse.quote
    os.makedirs(out)
    # single files (directories go through GNU tar, which busybox is not)
    p = virt(us, ["capabilities", "open", "print-execute-command",
                  f"copydown {q(src + '/f')} {q('/tmp/got')}",
                  f"copyup {q('/tmp/got')} {q(out + '/f')}",
                  "revert", "close", "quit"])
    replies = p.stdout.splitlines()
    assert replies[0] == "ok", (p.stdout, p.stderr)
    caps = replies[1].split()
    assert caps[0] == "ok" and {"revert", "root-on-testbed", "isolation-container"} <= set(caps), caps
    assert replies[2].startswith("ok ")
    execute = [urllib.parse.unquote(w) for w in replies[3].split()[1].split(",")]
    assert open(os.path.join(out, "f")).read() == "payload\n"
    assert all(r.startswith("ok") for r in replies[4:]), p.stdout
    # the execute command ran inside the session while it was open: a session was made and is gone now
    assert "session" in " ".join(execute)
    # it names its store and run directory: sbuild runs it with HOME=/sbuild-nonexistent, no XDG_*
    if os.getuid() != 0:
        assert f"DEN_ROOT={us.env['DEN_ROOT']}" in execute and f"DEN_RUNROOT={us.env['DEN_RUNROOT']}" in execute


def test_source_chroot_keeps_its_changes(us, den):
    sid = us("-c", "source:bb-test-sbuild", "--begin-session", text=True).stdout.strip()
    assert sid.startswith("source-bb-test-sbuild-")
    us("-c", sid, "--run-session", "-u", "root", "--", "sh", "-c", "echo updated > /etc/kept; rm /bin/false")
    us("-c", sid, "--end-session")
    # a later session of the plain chroot sees them
    p = us("-c", "bb-test-sbuild", "--", "sh", "-c", "cat /etc/kept; ls /bin/false 2>&1 || true", text=True)
    assert p.stdout.startswith("updated\n") and "No such file" in p.stdout, p.stdout
    assert "store is clean" in den("system", "check").stdout


def test_commit(den, image):
    den("run", "--name", "c1", image, "sh", "-c", "echo new > /newfile; rm /bin/false; mkdir /opq; echo a > /opq/a")
    digest = den("commit", "c1", "committed:1").stdout.strip()
    assert digest.startswith("sha256:")
    p = den("run", "--rm", "committed:1", "sh", "-c", "cat /newfile /opq/a; ls /bin/false 2>&1 || true")
    assert p.stdout.startswith("new\na\n") and "No such file" in p.stdout
    info = den("inspect", "committed:1").stdout
    assert "den commit" in info
    p = den("commit", "nosuch", "x:1", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr
    den("rm", "c1")


@pytest.mark.skipif(ROOT, reason="root's store and run directory (/var/lib/den, /run/den) never come from the environment")
def test_sbuild_environment_finds_the_default_store(tmp):
    """sbuild 0.85 filters the environment before every --run-session and sets
    HOME=/sbuild-nonexistent: with no DEN_ROOT/DEN_RUNROOT, den-unschroot still finds
    the store (the passwd entry's home) and the session.  This uses the test user's
    own default store (its home), with a name of its own, removed at the end."""
    den = os.path.join(BUILD, "den")
    home = pwd.getpwuid(os.getuid()).pw_dir
    login = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LC_ALL": "C"}
    name = "bb-home-" + uuid.uuid4().hex[:8]
    rootfs = os.path.join(tmp, "r")
    make_rootfs(rootfs)
    subprocess.run([den, "import", tar_as_root(rootfs, os.path.join(tmp, "r.tar")), f"sbuild/{name}"], env=login,
                   check=True, capture_output=True)
    # sbuild's PATH: a directory holding den-unschroot as schroot first, no sbin
    link = os.path.join(tmp, "lib-den")
    os.makedirs(link)
    os.symlink(UNSCHROOT, os.path.join(link, "schroot"))
    sbuild_env = {"PATH": f"{link}:/usr/local/bin:/usr/bin:/bin", "HOME": "/sbuild-nonexistent", "LC_ALL": "C"}

    def us(env, *args, check=True):
        p = subprocess.run(["schroot", *args], env=env, capture_output=True, text=True, timeout=60,
                           executable=os.path.join(link, "schroot"))
        if check:
            assert p.returncode == 0, (args, p.stderr)
        return p
    sid = us(dict(login, PATH=sbuild_env["PATH"]), "-c", f"{name}-sbuild", "--begin-session").stdout.strip()
    try:
        assert f"chroot:{name}-sbuild" in us(sbuild_env, "-l").stdout
        p = us(sbuild_env, "-c", sid, "--run-session", "-q", "-u", "root", "-p", "--", "sh", "-c",
               'echo "$HOME"; echo "$PATH"')
        got_home, got_path = p.stdout.splitlines()
        # sbuild's HOME reaches the command; PATH is the caller's without den's directory, with sbin
        assert got_home == "/sbuild-nonexistent"
        dirs = got_path.split(":")
        assert link not in dirs and "/usr/sbin" in dirs and "/sbin" in dirs, got_path
        # a failing command leaves the session as it was, for sbuild to end
        assert us(sbuild_env, "-c", sid, "--run-session", "-q", "-u", "root", "--", "false", check=False).returncode == 1
    finally:
        us(sbuild_env, "-c", sid, "--end-session")
        sessions = subprocess.run([den, "session", "list"], env=login, capture_output=True, text=True).stdout
        subprocess.run([den, "rmi", f"sbuild/{name}"], env=login, capture_output=True)
    assert sid not in sessions
