# SPDX-License-Identifier: GPL-2.0-or-later
"""den run and friends: containers from the store, held by a keeper."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, has_subids, kv, make_rootfs, run_in_pty, subid_range, tar_as_root

DEN = os.path.abspath(os.path.join(BUILD, "den"))


@pytest.fixture
def den(tmp):
    root = os.path.join(tmp, "store")
    runroot = os.path.join(tmp, "run")

    def run(*args, check=True, **kw):
        cmd = [DEN, "--root", root, "--runroot", runroot, *args]
        if "-d" in args and "stdout" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("capture_output", True)
        p = subprocess.run(cmd, text=True, timeout=120, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"den {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p
    run.root, run.runroot = root, runroot
    run.cmd = lambda *a: [DEN, "--root", root, "--runroot", runroot, *a]
    yield run
    # nothing outlives a test
    p = subprocess.run(run.cmd("ps", "-a", "-q"), capture_output=True, text=True)
    for cid in p.stdout.split():
        subprocess.run(run.cmd("rm", "-f", cid), capture_output=True)


@pytest.fixture
def image(den, tmp):
    rootfs = os.path.join(tmp, "img")
    make_rootfs(rootfs)
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/home/app:/bin/sh\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\nappgroup:x:1000:\nextra:x:2000:appuser\n")
    den("import", tar_as_root(rootfs, os.path.join(tmp, "img.tar")), "busybox")
    return "busybox"


def test_run_output_exit_code_and_pid1_is_the_keeper(den, image):
    p = den("run", "--rm", image, "/bin/denprobe", "ids")
    out = kv(p.stdout)
    assert out["uid"] == "0" and out["pid"] == "2" and out["ppid"] == "1"
    assert den("run", "--rm", image, "sh", "-c", "exit 7", check=False).returncode == 7
    assert den("ps", "-a", "-q").stdout.split() == []


def test_image_config_and_flags(den, image, tmp):
    p = den("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "--hostname", "box", image, "sh", "-c",
            "echo $FOO; /bin/denprobe cwd; /bin/denprobe hostname; echo $PATH")
    lines = p.stdout.splitlines()
    assert lines[0] == "bar"
    assert kv(p.stdout)["cwd"] == "/tmp" and kv(p.stdout)["hostname"] == "box"
    assert "/bin" in lines[-1]
    envf = os.path.join(tmp, "env")
    open(envf, "w").write("# comment\nA=1\nB=two words\n")
    p = den("run", "--rm", "--env-file", envf, image, "sh", "-c", "echo $A-$B")
    assert p.stdout.strip() == "1-two words"
    p = den("run", "--rm", "--entrypoint", "/bin/echo", image, "from", "entrypoint")
    assert p.stdout.strip() == "from entrypoint"


def test_user_from_the_image(den, image):
    if not ROOT and not has_subids():
        p = den("run", "--rm", "-u", "appuser", image, "/bin/denprobe", "ids", check=False)
        assert p.returncode != 0  # uid 1000 is not mapped without sub-ids
        return
    out = kv(den("run", "--rm", "-u", "appuser", image, "/bin/denprobe", "ids").stdout)
    assert out["uid"] == "1000" and out["gid"] == "1000" and out["groups"] == "2000"
    out = kv(den("run", "--rm", "-u", "appuser:extra", image, "/bin/denprobe", "ids").stdout)
    assert out["gid"] == "2000"
    p = den("run", "--rm", "-u", "nosuchuser", image, "true", check=False)
    assert p.returncode != 0 and "nosuchuser" in p.stderr and "/etc/passwd" in p.stderr


def test_writes_go_to_the_container_not_the_image(den, image):
    den("run", "--name", "w1", image, "sh", "-c", "echo data > /written; rm /bin/ls")
    p = den("run", "--rm", image, "sh", "-c", "ls /written; ls /bin/ls")
    assert "/bin/ls" in p.stdout and "written" not in p.stdout
    # the layer itself is untouched
    assert den("system", "check").stdout.strip().endswith("store is clean")
    den("rm", "w1")


def test_detached_rm_goes_when_it_ends(den, image):
    """run -d --rm and start of an --rm container: removed once the command ends, with their
    anonymous volumes (docker's daemon does it; den leaves a small waiter behind)"""
    cid = den("run", "-d", "--rm", "-v", "/scratch", image, "sh", "-c", "sleep 0.3").stdout.strip()
    den("create", "--rm", "--name", "later", image, "sh", "-c", "sleep 0.3")
    den("start", "later")
    assert den("volume", "ls", "-q").stdout.split(), "the anonymous volume is there while it runs"
    end = time.time() + 15
    while den("ps", "-a", "-q").stdout.split() and time.time() < end:
        time.sleep(0.1)
    assert den("ps", "-a", "-q").stdout.split() == [], f"{cid} or 'later' is still there"
    assert den("volume", "ls", "-q").stdout.split() == []


def test_volumes_tmpfs_read_only(den, image, tmp):
    host = os.path.join(tmp, "vol")
    os.mkdir(host)
    os.chmod(host, 0o777)
    open(os.path.join(host, "in"), "w").write("from-host")
    p = den("run", "--rm", "-v", f"{host}:/data", "--tmpfs", "/scratch", "--read-only", image, "sh", "-c",
            "cat /data/in; echo out > /data/out; echo t > /scratch/t && echo tmpfs-ok; /bin/denprobe write /nope x",
            check=False)
    assert p.returncode == 1
    assert p.stdout.startswith("from-host")
    assert "tmpfs-ok" in p.stdout and "Read-only file system" in p.stdout
    assert open(os.path.join(host, "out")).read() == "out\n"
    p = den("run", "--rm", "-v", f"{host}:/data:ro", image, "/bin/denprobe", "write", "/data/x", "y", check=False)
    assert "Read-only" in p.stdout
    # a word is a volume's name (docker's rule); a relative path is neither that nor a host path
    p = den("run", "--rm", "-v", "./relative:/data", image, "true", check=False)
    assert p.returncode == 125 and "-v './relative:/data'" in p.stderr and "volume name" in p.stderr


def test_network_none_and_host(den, image):
    p = den("run", "--rm", image, "cat", "/proc/net/dev")
    ifaces = [l.split(":")[0].strip() for l in p.stdout.splitlines()[2:]]
    assert ifaces == ["lo"]
    p = den("run", "--rm", "--network", "host", image, "cat", "/proc/net/dev")
    assert len(p.stdout.splitlines()) > 3
    p = den("run", "--rm", "--network", "bridge0", image, "true", check=False)
    assert p.returncode == 125 and "--network 'bridge0'" in p.stderr


def test_detached_exec_stop_wait_logs_rm(den, image):
    cid = den("run", "-d", "--name", "svc", image, "sh", "-c", "echo started; exec sleep 100").stdout.strip()
    assert len(cid) == 64
    assert "svc" in den("ps").stdout
    p = den("exec", "svc", "sh", "-c", "echo exec-ok; exit 4", check=False)
    assert p.returncode == 4 and p.stdout.strip() == "exec-ok"
    p = den("exec", "-e", "X=y", "-w", "/etc", "svc", "sh", "-c", "echo $X; pwd")
    assert p.stdout.split() == ["y", "/etc"]
    # the keeper is pid 1; exec'd commands are its children, never joined from outside
    p = den("exec", "svc", "/bin/denprobe", "ids")
    assert kv(p.stdout)["ppid"] == "1"
    den("kill", "-s", "USR1", "svc")
    den("stop", "-t", "1", "svc")
    assert "Exited" in den("ps", "-a").stdout
    assert den("wait", "svc").stdout.strip() in ("138", "143", "137")
    assert "started" in den("logs", "svc").stdout
    p = den("exec", "svc", "true", check=False)
    assert p.returncode != 0 and "not running" in p.stderr
    den("rm", "svc")
    assert den("ps", "-a", "-q").stdout.split() == []
    assert os.listdir(os.path.join(den.root, "containers")) == []


def test_rm_running_needs_force_and_names_are_unique(den, image):
    den("run", "-d", "--name", "busy", image, "sleep", "100")
    p = den("run", "-d", "--name", "busy", image, "sleep", "100", check=False)
    assert p.returncode == 125 and "in use" in p.stderr
    p = den("rm", "busy", check=False)
    assert p.returncode != 0 and "running" in p.stderr
    den("rm", "-f", "busy")
    p = den("exec", "busy", "true", check=False)
    assert p.returncode != 0 and "no such container" in p.stderr


def test_signals_reach_the_command(den, image):
    p = subprocess.Popen(den.cmd("run", "--rm", image, "/bin/denprobe", "sleep", "30"), stdout=subprocess.PIPE,
                         text=True)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 42 and "signal=15" in out


def test_missing_image_and_no_command(den, image, tmp):
    p = den("run", "--rm", "nosuch", "true", check=False)
    assert p.returncode == 125 and "image 'nosuch' not found" in p.stderr
    p = den("run", "--rm", image, "/bin/nonexistent", check=False)
    assert p.returncode == 125 and "/bin/nonexistent" in p.stderr
    assert den("ps", "-a", "-q").stdout.split() == []


def test_no_host_fd_reaches_the_command(den, image):
    r, w = os.pipe()
    p = subprocess.run(den.cmd("run", "--rm", image, "/bin/denprobe", "fds"), capture_output=True, text=True,
                       pass_fds=(r, w))
    os.close(r)
    os.close(w)
    assert sorted(int(k[2:]) for k in kv(p.stdout)) == [0, 1, 2], p.stdout


def test_keeper_is_sealed(den, image):
    den("run", "-d", "--name", "k", image, "sleep", "100")
    p = den("exec", "k", "/bin/denprobe", "exe", "1")
    out = kv(p.stdout)
    assert out["readlink"] != "ok" and out["open"] != "ok" and out["write"] != "ok", p.stdout
    # its fds are out of reach, and there are only the socket and the exit file beyond stdio
    p = den("exec", "k", "/bin/busybox", "readlink", "/proc/1/fd/3", check=False)
    assert p.returncode != 0 and p.stdout.strip() == ""
    # (the keeper closes connections as it gets to them: on a loaded machine give it a moment)
    for _ in range(20):
        p = den("exec", "k", "/bin/denprobe", "ls", "/proc/1/fd", check=False)
        if "error=" in p.stdout or len(p.stdout.split()) <= 11:
            break
        time.sleep(0.1)
    if "error=" not in p.stdout:
        # stdio, the socket, the exit file, signalfd, epoll, this exec's connection, and the
        # main command's log: two pipes and the log file
        # (a sanitizer build keeps a few of its own)
        if not os.environ.get("ASAN_OPTIONS"):
            assert len(p.stdout.split()) == 11, p.stdout
    if ROOT:
        # seen from the host: not one of them is a directory (the store, a root) or a host binary
        kpid = int(open([os.path.join(r, "keeper.pid") for r in
                         [os.path.join(den.runroot, "containers", x) for x in os.listdir(os.path.join(den.runroot, "containers"))]][0]).read().split()[0])
        for fd in os.listdir(f"/proc/{kpid}/fd"):
            target = os.readlink(f"/proc/{kpid}/fd/{fd}")
            assert not os.path.isdir(target), target
            assert target.startswith(("socket:", "pipe:", "anon_inode:", "/dev/null", den.runroot, den.root)), target
    den("rm", "-f", "k")


def live_keepers(root):
    """pids of this store's live keepers (zombies this machine's init has yet to reap do not count)"""
    out = subprocess.run(["ps", "-eo", "pid,stat,comm"], capture_output=True, text=True).stdout
    pids = set()
    for l in out.splitlines():
        if l.endswith("den-keeper") and l.split()[1][0] != "Z":
            try:
                if root.encode() in open(f"/proc/{l.split()[0]}/cmdline", "rb").read():
                    pids.add(l.split()[0])
            except OSError:
                pass
    return pids


def our_mounts(den):
    return [l for l in open("/proc/self/mountinfo").read().splitlines() if den.root in l or den.runroot in l]


def test_1000_sequential_runs_leave_nothing_behind(den, image):
    before_mounts = our_mounts(den)
    assert live_keepers(den.root) == set()
    for _ in range(1000):
        den("run", "--rm", image, "true")
    assert our_mounts(den) == before_mounts
    assert os.listdir(os.path.join(den.root, "containers")) == []
    assert os.listdir(os.path.join(den.runroot, "containers")) == []
    assert live_keepers(den.root) == set()


def test_concurrent_runs(den, image):
    procs = [subprocess.Popen(den.cmd("run", "--rm", image, "/bin/denprobe", "ids"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(16)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert kv(out)["uid"] == "0"
    assert "store is clean" in den("system", "check").stdout
    assert os.listdir(os.path.join(den.root, "containers")) == []


def test_run_and_exec_with_a_terminal(den, image):
    code, out = run_in_pty(den.cmd("run", "--rm", "-t", image, "sh", "-c",
                                   "/bin/denprobe tty; echo TERM=$TERM; read x; echo got:$x; exit 3"),
                           send=b"typed\r", until=b"TERM=")
    assert code == 3, out
    assert "isatty=1" in out and "ttyname=/dev/pts/" in out and "TERM=xterm" in out and "got:typed" in out
    den("run", "-d", "--name", "t", image, "sleep", "100")
    code, out = run_in_pty(den.cmd("exec", "-t", "t", "/bin/denprobe", "tty"))
    assert code == 0 and "isatty=1" in out, out
    den("rm", "-f", "t")


def test_logs_are_json_lines_with_a_cap(den, image):
    den("run", "-d", "--name", "chatty", image, "sh", "-c",
        "echo first; echo to-stderr >&2; yes 0123456789abcdef0123456789abcdef | head -n 400000; echo last")
    assert den("wait", "chatty").stdout.strip() == "0"
    rec = json.load(open([os.path.join(d, "container.json") for d in
                          [os.path.join(den.root, "containers", x) for x in os.listdir(os.path.join(den.root, "containers"))]][0]))
    log = os.path.join(den.root, "containers", rec["Id"], "ctr.log")
    # 400000 lines of 33 bytes is 13 MB of output: the log keeps the newer part under its cap
    assert os.path.getsize(log) <= (8 << 20) + 4096
    lines = open(log).read().splitlines()
    last = json.loads(lines[-1])
    assert last["log"] == "last\n" and last["stream"] == "stdout" and last["time"].endswith("Z")
    p = den("logs", "--tail", "2", "chatty")
    assert p.stdout.splitlines() == ["0123456789abcdef0123456789abcdef", "last"]
    p = den("logs", "--tail", "x", "chatty", check=False)
    assert p.returncode == 2
    den("rm", "chatty")


def test_log_lines_escape_every_byte(den, image):
    """quotes, backslashes, control bytes and UTF-8 as JSON says; bytes that are not UTF-8 as '?'"""
    script = r"printf 'q\042b\134t\tc\001\033 \303\251 \360\237\230\200 x\377y\n'; printf 'no newline'"
    raw = subprocess.run(den.cmd("run", "--rm", image, "sh", "-c", script), capture_output=True).stdout
    assert raw.startswith(b'q"b\\t\tc\x01\x1b \xc3\xa9 \xf0\x9f\x98\x80 x\xffy\n'), raw
    den("run", "-d", "--name", "odd", image, "sh", "-c", script)
    assert den("wait", "odd").stdout.strip() == "0"
    rec = json.loads(den("inspect", "odd").stdout)[0]
    log = os.path.join(den.root, "containers", rec["Id"], "ctr.log")
    lines = [json.loads(l) for l in open(log, encoding="utf-8").read().splitlines()]
    assert lines[0]["log"] == raw.split(b"\n")[0].decode("utf-8", errors="replace").replace("\ufffd", "?") + "\n"
    assert lines[1]["log"] == "no newline"
    den("rm", "odd")


def test_create_start_attach_restart_rename(den, image):
    cid = den("create", "--name", "c1", image, "sh", "-c", "echo run >> /count; wc -l < /count; exit 5").stdout.strip()
    assert len(cid) == 64
    assert "Created" in den("ps", "-a").stdout
    p = den("start", "-a", "c1", check=False)
    assert p.returncode == 5 and p.stdout.strip() == "1"
    # started again, it keeps its writable layer
    den("start", "c1")
    assert den("wait", "c1").stdout.strip() == "5"
    assert den("logs", "c1").stdout.strip() == "2"
    den("rename", "c1", "c2")
    assert "c2" in den("ps", "-a").stdout
    p = den("rename", "c2", "c2", check=False)
    assert p.returncode != 0 and "in use" in p.stderr
    p = den("start", "nosuch", check=False)
    assert p.returncode != 0 and "no such container" in p.stderr
    den("rm", "c2")


def test_cp_both_ways_inside_the_root(den, image, tmp):
    den("run", "-d", "--name", "cp1", image, "sleep", "100")
    src = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(src, "sub"))
    open(os.path.join(src, "sub", "f"), "w").write("inner")
    os.symlink("/etc/passwd", os.path.join(src, "lnk"))
    single = os.path.join(tmp, "single.txt")
    open(single, "w").write("one file")
    den("cp", single, "cp1:/tmp/")
    assert den("exec", "cp1", "cat", "/tmp/single.txt").stdout == "one file"
    den("cp", src, "cp1:/tmp")
    assert den("exec", "cp1", "cat", "/tmp/tree/sub/f").stdout == "inner"
    assert den("exec", "cp1", "/bin/busybox", "readlink", "/tmp/tree/lnk").stdout.strip() == "/etc/passwd"
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    den("cp", "cp1:/tmp/tree", out)
    assert open(os.path.join(out, "tree", "sub", "f")).read() == "inner"
    # a symlink in the container resolves inside it, never to the host's file
    den("exec", "cp1", "/bin/busybox", "ln", "-s", "/etc", "/tmp/evil")
    den("exec", "cp1", "sh", "-c", "echo container-passwd > /etc/passwd")
    den("cp", "cp1:/tmp/evil/passwd", os.path.join(out, "p"))
    assert open(os.path.join(out, "p")).read() == "container-passwd\n"
    den("exec", "cp1", "/bin/busybox", "ln", "-s", "/proc/1/root/../../..", "/tmp/up")
    p = den("cp", "cp1:/tmp/up/etc/hostname", os.path.join(out, "h"), check=False)
    assert p.returncode != 0 and not os.path.exists(os.path.join(out, "h"))
    p = den("cp", single, "/tmp/nowhere", check=False)
    assert p.returncode != 0 and "CONTAINER:PATH" in p.stderr
    den("stop", "-t", "0", "cp1")
    status = den("wait", "cp1").stdout.strip()
    # a stopped container: a keeper of its own for the time of the copy, its status kept
    den("cp", single, "cp1:/tmp/again.txt")
    den("cp", "cp1:/tmp/again.txt", os.path.join(out, "back.txt"))
    assert open(os.path.join(out, "back.txt")).read() == "one file"
    assert den("wait", "cp1").stdout.strip() == status
    assert "Exited" in den("ps", "-a").stdout and live_keepers(den.root) == set()
    den("rm", "cp1")


@pytest.mark.parametrize("driver", ["overlay", "fuse-overlayfs", "copy"])
def test_storage_drivers(den, image, driver):
    if driver == "fuse-overlayfs" and not os.access("/dev/fuse", os.R_OK | os.W_OK):
        # the host keeps /dev/fuse to root: den must say so, not fail obscurely
        p = den("--storage-driver", driver, "run", "--rm", image, "true", check=False)
        assert p.returncode == 125 and "/dev/fuse is not usable" in p.stderr
        return
    cid = den("--storage-driver", driver, "run", "-d", image, "sh", "-c",
              "rm /bin/ls; echo new > /etc/new; sleep 100").stdout.strip()
    time.sleep(0.3)
    p = den("exec", cid, "sh", "-c", "ls /bin/ls; cat /etc/new; cat /proc/self/mountinfo")
    assert "/bin/ls" in p.stderr + p.stdout and "No such file" in p.stderr + p.stdout
    assert "new" in p.stdout
    root = [l for l in p.stdout.splitlines() if l.split()[4:5] == ["/"]][0]
    want = {"overlay": " overlay ", "fuse-overlayfs": "fuse", "copy": None}[driver]
    if want:
        assert want in root, root
    else:
        assert "overlay" not in root and "fuse" not in root, root
    rec = json.load(open(os.path.join(den.root, "containers", cid, "container.json")))
    assert rec["StorageDriver"] == driver
    den("stop", "-t", "0", cid)
    # started again, the same driver and the same changes
    den("start", cid)
    time.sleep(0.3)
    assert den("exec", cid, "cat", "/etc/new").stdout.strip() == "new"
    den("rm", "-f", cid)
    # the image is untouched
    assert den("run", "--rm", image, "ls", "/bin/ls").stdout.strip() == "/bin/ls"
    p = den("--storage-driver", "bogus", "run", "--rm", image, "true", check=False)
    assert p.returncode == 125 and "--storage-driver 'bogus'" in p.stderr


def test_system_df_info_and_inspect_container(den, image):
    den("run", "-d", "--name", "i1", image, "sleep", "100")
    info = json.loads(den("inspect", "i1").stdout)[0]
    assert info["Name"] == "i1" and info["Status"] == "running" and info["KeeperPid"] > 0
    if os.path.exists(os.path.join(os.path.dirname(DEN), "den-keeper")) and ROOT:
        # the small static keeper runs, not a fork of den
        assert os.readlink(f"/proc/{info['KeeperPid']}/exe").endswith("den-keeper")
    assert json.loads(den("inspect", image).stdout)[0]["RepoTags"] == ["localhost/busybox:latest"]
    p = den("inspect", "neither", check=False)
    assert p.returncode != 0 and "no container 'neither'" in p.stderr and "image 'neither' not found" in p.stderr
    df = den("system", "df").stdout
    assert "Images" in df and "Containers" in df and " 1 " in df
    out = den("system", "info").stdout
    assert "den version" in out and "storage driver" in out
    assert ("rootless:         yes" in out) != ROOT
    den("rm", "-f", "i1")


def test_hosts_hostname_and_resolv_conf(den, image):
    p = den("run", "--rm", "--name", "webby", "--hostname", "box", image, "sh", "-c",
            "cat /etc/hosts; echo ---; cat /etc/hostname; echo ---; cat /etc/resolv.conf")
    hosts, hostname, resolv = p.stdout.split("---\n")
    assert "127.0.0.1\tlocalhost" in hosts and "box webby" in hosts
    assert hostname.strip() == "box"
    assert "nameserver" not in resolv  # no network, no resolvers
    p = den("run", "--rm", "--network", "host", image, "cat", "/etc/resolv.conf")
    assert p.stdout == open("/etc/resolv.conf").read()


def test_stdin_only_with_i(den, image):
    assert den("run", "--rm", image, "cat", input="piped\n").stdout == ""
    assert den("run", "--rm", "-i", image, "cat", input="piped\n").stdout == "piped\n"
    den("run", "-d", "--name", "si", image, "sleep", "100")
    assert den("exec", "si", "cat", input="x\n").stdout == ""
    assert den("exec", "-i", "si", "cat", input="x\n").stdout == "x\n"
    den("rm", "-f", "si")
