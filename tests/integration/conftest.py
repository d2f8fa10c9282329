# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures for den's integration tests.

The same tests run as root and as an unprivileged user (tests/run-integration.sh
starts pytest once for each).  DEN_BUILD names a directory holding den-runtime
and denprobe, readable by the unprivileged user."""
import json
import os
import pty
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

BUILD = os.environ.get("DEN_BUILD") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
RUNTIME = os.path.abspath(os.path.join(BUILD, "den-runtime"))
PROBE = os.path.abspath(os.path.join(BUILD, "denprobe"))
BUSYBOX = "/bin/busybox"

ROOT = os.geteuid() == 0


def has_subids():
    """True when the current user has sub-ids and newuidmap exists."""
    if ROOT or not shutil.which("newuidmap"):
        return False
    import pwd
    name = pwd.getpwuid(os.getuid()).pw_name
    try:
        with open("/etc/subuid") as f:
            return any(l.split(":")[0] in (name, str(os.getuid())) for l in f)
    except OSError:
        return False


def subid_range():
    import pwd
    name = pwd.getpwuid(os.getuid()).pw_name
    with open("/etc/subuid") as f:
        for l in f:
            p = l.strip().split(":")
            if p[0] in (name, str(os.getuid())):
                return int(p[1]), int(p[2])
    raise RuntimeError("no sub-ids")


def tun_usable():
    """whether this user can open /dev/net/tun (pasta and slirp4netns need it)"""
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
        return True
    except OSError:
        return False


def link_applets(rootfs):
    """every busybox applet linked in rootfs/bin (those already there are left)"""
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        link = os.path.join(rootfs, "bin", a)
        if a != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)


def make_rootfs(path):
    """A busybox + denprobe root filesystem."""
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "root", "mnt"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    shutil.copy(PROBE, os.path.join(path, "bin", "denprobe"))
    for c in ("sh", "true", "false", "echo", "cat", "ls", "id", "sleep", "ps", "touch", "mkdir", "stat", "env", "yes",
              "head", "seq", "ip", "nc", "wget"):
        os.symlink("busybox", os.path.join(path, "bin", c))
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    os.chmod(os.path.join(path, "tmp"), 0o1777)


def open_path_to_all(path):
    """every directory up to path searchable and readable by all: a user namespace's root
    mapped onto sub-ids (100000..) must reach the bundle"""
    while path != "/":
        os.chmod(path, os.stat(path).st_mode | 0o055)
        path = os.path.dirname(path)


def tar_as_root(tree, tarball):
    """tree as a tar whose files all belong to 0:0, an image layer for `den import`"""
    def as_root(ti):
        ti.uid = ti.gid = 0
        return ti
    with tarfile.open(tarball, "w") as t:
        t.add(tree, arcname=".", filter=as_root)
    return tarball


class Runtime:
    def __init__(self, tmp):
        self.root = os.path.join(tmp, "state")
        self.tmp = tmp

    def cmd(self, *args, **kw):
        return [RUNTIME, "--root", self.root, *args]

    def __call__(self, *args, check=True, timeout=60, **kw):
        # a created or detached container keeps the stdio it was given: hand it
        # files, not pipes the test would wait on
        if ("create" in args or "-d" in args) and "capture_output" not in kw and "stdout" not in kw:
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                p = subprocess.run(self.cmd(*args), timeout=timeout, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err, text=True, **kw)
                out.seek(0)
                err.seek(0)
                p.stdout, p.stderr = out.read(), err.read()
        else:
            kw.setdefault("capture_output", True)
            kw.setdefault("text", True)
            p = subprocess.run(self.cmd(*args), timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"den-runtime {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def state(self, cid):
        return json.loads(self("state", cid).stdout)


class Bundle:
    """A bundle whose config.json starts from `den-runtime spec` (--rootless when not root)."""

    def __init__(self, path, rootless):
        self.path = path
        os.makedirs(path)
        make_rootfs(os.path.join(path, "rootfs"))
        args = [RUNTIME, "spec", "--bundle", path] + (["--rootless"] if rootless else [])
        subprocess.run(args, check=True)
        with open(self.config_path) as f:
            self.config = json.load(f)
        self.config["process"]["terminal"] = False
        self.config["process"]["args"] = ["/bin/denprobe", "ids"]
        self.config["root"]["readonly"] = False
        self.save()

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    @property
    def rootfs(self):
        return os.path.join(self.path, "rootfs")

    def save(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1)

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)
        self.save()
        return self

    def namespaces(self):
        return {n["type"] for n in self.config["linux"]["namespaces"]}

    def add_mount(self, **m):
        self.config["mounts"].append(m)
        self.save()


@pytest.fixture
def tmp(tmp_path):
    os.chmod(tmp_path, 0o755)
    return str(tmp_path)


@pytest.fixture
def rt(tmp):
    r = Runtime(tmp)
    yield r
    # nothing may outlive a test
    p = subprocess.run(r.cmd("list", "-q"), capture_output=True, text=True)
    for cid in p.stdout.split():
        subprocess.run(r.cmd("delete", "--force", cid), capture_output=True)


@pytest.fixture
def bundle(tmp):
    counter = [0]

    def make():
        counter[0] += 1
        return Bundle(os.path.join(tmp, f"bundle{counter[0]}"), not ROOT)

    return make


def kv(text):
    """denprobe's key=value lines as a dict."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def run(rt, b, cid="c1", *extra, check=True):
    return rt("run", "--bundle", b.path, *extra, cid, check=check)


def run_in_pty(argv, send=None, until=b"", timeout=10, env=None, cwd=None, settle=0.0):
    """run argv on a new pty (found on env's PATH when env is given, in cwd); type send once until shows
    up, settle seconds later; returns (exit code, output without CRs)"""
    pid, fd = pty.fork()
    if pid == 0:
        if cwd:
            os.chdir(cwd)
        if env is None:
            os.execv(argv[0], argv)
        os.execvpe(argv[0], argv, env)
    out, sent = b"", False
    end = time.time() + timeout
    while time.time() < end:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if send and not sent and until in out:
            time.sleep(settle)
            os.write(fd, send)
            sent = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r", "")


def podman_session(tmp):
    """podman driving den-runtime in private storage; a generator: yields the runner, then cleans up"""
    if not shutil.which("podman"):
        import pytest
        pytest.skip("podman is not installed")
    conf = os.path.join(tmp, "containers.conf")
    # no logind and no systemd here: cgroupfs, events to a file; CNI whether or not netavark is
    # installed (podman 4.3 takes netavark when it is; as root its port publishing to 127.0.0.1
    # did not answer here: the tests are about den-runtime under podman, not podman's backends)
    open(conf, "w").write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                          '[network]\nnetwork_backend = "cni"\n')
    xdg = os.path.join(tmp, "xdg")
    os.mkdir(xdg, 0o700)
    env = dict(os.environ, CONTAINERS_CONF=conf, XDG_RUNTIME_DIR=xdg)
    # podman wants a run root under 50 characters
    runroot = tempfile.mkdtemp(prefix="denpm-", dir="/tmp")
    base = ["podman", "--root", os.path.join(tmp, "pmstore"), "--runroot", runroot, "--runtime", RUNTIME]

    def pm(*args, check=True, **kw):
        p = subprocess.run(base + list(args), env=env, capture_output=True, text=True, timeout=120, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p
    yield pm
    pm("rm", "-af", "-t", "0", check=False)
    subprocess.run(base[:5] + ["unshare", "rm", "-rf", os.path.join(tmp, "pmstore"), runroot], env=env,
                   capture_output=True)
    # rootless podman leaves a pause process holding its user namespace (podman unshare starts one too):
    # it goes last
    pause = os.path.join(xdg, "libpod", "tmp", "pause.pid")
    if os.path.exists(pause):
        try:
            os.kill(int(open(pause).read()), 9)
        except (OSError, ValueError):
            pass
    if ROOT:
        # podman as root keeps its storage's overlay directory mounted (every podman call mounts it again)
        subprocess.run(["umount", "-R", "-l", os.path.join(tmp, "pmstore", "overlay")], capture_output=True)
    shutil.rmtree(runroot, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: the slow tier (a Debian root, sbuild, autopkgtest); CI runs it too")


def derived_image(den, base, tmp, name, layers=(), config=None):
    """An image in den's store: base (saved as an OCI layout) plus one layer per
    {path: bytes} dict, its config changed by config(cfg) when given; loaded as
    name.  Returns the manifest digest and the layers' digests."""
    import hashlib
    import io
    import tarfile
    lay = os.path.join(tmp, "layout-" + name.replace("/", "_").replace(":", "_"))
    den("save", "--format", "oci-dir", "-o", lay, base)
    idx = json.load(open(os.path.join(lay, "index.json")))
    blobs = os.path.join(lay, "blobs", "sha256")
    man = json.load(open(os.path.join(blobs, idx["manifests"][0]["digest"][7:])))
    cfg = json.load(open(os.path.join(blobs, man["config"]["digest"][7:])))

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        open(os.path.join(blobs, h), "wb").write(data)
        return "sha256:" + h, len(data)
    for files in layers:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for path, data in files.items():
                ti = tarfile.TarInfo(path)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
        d, size = put(buf.getvalue())
        man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": size})
        cfg["rootfs"]["diff_ids"].append(d)
    if config:
        config(cfg)
    cd, cs = put(json.dumps(cfg).encode())
    man["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}
    md, ms = put(json.dumps(man).encode())
    ref = name if "/" in name.split(":")[0] else "localhost/" + name
    idx["manifests"] = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                         "annotations": {"org.opencontainers.image.ref.name": ref}}]
    json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
    den("load", "-i", lay)
    return md, [l["digest"] for l in man["layers"]]
