# SPDX-License-Identifier: GPL-2.0-or-later
"""den-runtime's security duties (issue 11): sysctls only in the container's own
namespaces, device rules enforced, the cgroup v1 tree hidden, a cgroup per container."""
import os

import pytest

from conftest import ROOT, run


def without_ns(b, *types):
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] not in types]
    b.save()


def with_ns(b, *types):
    for t in types:
        if t not in b.namespaces():
            b.config["linux"]["namespaces"].append({"type": t})
    b.save()


def host_value(key):
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


@pytest.mark.parametrize("key,ns", [("kernel.shmmax", "ipc"), ("fs.mqueue.msg_max", "ipc"), ("kernel.sem", "ipc"),
                                    ("kernel.domainname", "uts"), ("net.ipv4.ip_forward", "network")])
def test_sysctl_needs_its_namespace(rt, bundle, key, ns):
    b = bundle().set_args("/bin/true")
    without_ns(b, ns)
    b.config.pop("hostname", None)
    # the host's own value: harmless should it land in the host's namespace
    b.config["linux"]["sysctl"] = {key: host_value(key)}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0
    assert f"linux.sysctl.{key}" in p.stderr and f"'{ns}'" in p.stderr, p.stderr


def test_sysctl_in_joined_own_namespace_refused(rt, bundle):
    """a network namespace joined by path that is the caller's own is no namespace of the container's"""
    b = bundle().set_args("/bin/true")
    without_ns(b, "network")
    b.config["linux"]["namespaces"].append({"type": "network", "path": "/proc/self/ns/net"})
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": host_value("net.ipv4.ip_forward")}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and "den-runtime's own" in p.stderr, p.stderr


@pytest.mark.parametrize("key", ["vm.swappiness", "kernel.pid_max", "kernel.msgfoo"])
def test_sysctl_not_namespaced_refused(rt, bundle, key):
    b = bundle().set_args("/bin/true")
    with_ns(b, "ipc", "uts", "network")
    b.config["linux"]["sysctl"] = {key: "1"}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and f"linux.sysctl.{key}: not namespaced" in p.stderr, p.stderr


def test_sysctl_hostname(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "hostname")
    with_ns(b, "uts")
    b.config["hostname"] = "one"
    b.config["linux"]["sysctl"] = {"kernel.hostname": "two"}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and "conflicts with hostname 'one'" in p.stderr, p.stderr
    b.config.pop("hostname")
    b.save()
    if ROOT:
        # rootless, /proc/sys/kernel/hostname stays the host root's file (crun fails alike)
        assert "two" in run(rt, b, "c2").stdout


def test_sysctl_in_own_ipc_namespace(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "cat", "/proc/sys/kernel/shmmni")
    with_ns(b, "ipc")
    b.config["linux"]["sysctl"] = {"kernel.shmmni": "1234"}
    b.save()
    assert run(rt, b).stdout.strip() == "1234"
    assert host_value("kernel.shmmni") != "1234"


# --- cgroups: root only below, unless said otherwise (rootless here has no delegated cgroup) ---

CGROOT = "/sys/fs/cgroup"


def cgroup_mode():
    if os.path.exists(os.path.join(CGROOT, "cgroup.controllers")):
        return "v2"
    return "hybrid" if os.path.exists(os.path.join(CGROOT, "unified", "cgroup.procs")) else "v1"


def v1_controllers():
    return [c for c in ("memory", "pids", "cpu", "cpuacct", "blkio", "freezer", "devices", "systemd")
            if os.path.isdir(os.path.join(CGROOT, c))]


def container_cgroup_dirs(cid):
    """every directory den-runtime's default cgroup path gives container cid"""
    if cgroup_mode() == "v2":
        return [os.path.join(CGROOT, cid)]
    dirs = [os.path.join(CGROOT, c, cid) for c in v1_controllers()]
    if cgroup_mode() == "hybrid":
        dirs.append(os.path.join(CGROOT, "unified", cid))
    return dirs


def pids_dir(cid):
    return os.path.join(CGROOT, cid) if cgroup_mode() == "v2" else os.path.join(CGROOT, "pids", cid)


needs_root = pytest.mark.skipif(not ROOT, reason="cgroups of its own need root here (no delegation)")


def device_bundle(b):
    """deny every device but c 1:3; /dev/fuse (c 10:229) made in the container"""
    b.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"},
                                                  {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}
    b.config["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]
    b.set_args("/bin/sh", "-c", "echo x > /dev/null && echo null-ok; exec 3</dev/fuse && echo fuse-opened")
    return b


@needs_root
def test_device_rules_enforced(rt, bundle, tmp):
    b = device_bundle(bundle())
    p = run(rt, b, check=False)
    assert "null-ok" in p.stdout
    assert "fuse-opened" not in p.stdout and "Operation not permitted" in p.stderr, (p.stdout, p.stderr)
    # crun gives the same answer on the same bundle
    import shutil
    import subprocess
    if shutil.which("crun"):
        c = subprocess.run(["crun", "--root", os.path.join(tmp, "crun"), "run", "--bundle", b.path, "c-crun"],
                           capture_output=True, text=True, timeout=30)
        assert "null-ok" in c.stdout and "fuse-opened" not in c.stdout, (c.stdout, c.stderr)
    # without the rule the node opens: the refusal above is the cgroup's
    del b.config["linux"]["resources"]
    b.save()
    assert "fuse-opened" in run(rt, b, "c2").stdout


@needs_root
@pytest.mark.skipif(cgroup_mode() == "v1", reason="needs a cgroup v2 hierarchy")
def test_device_program_on_v2_hierarchy(rt, bundle):
    """the eBPF device program alone, on the v2 hierarchy (all of it on v2; on
    hybrid hosts the v1 list is opened up from inside to leave only the program)"""
    b = device_bundle(bundle())
    m = {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "rw"]}
    b.config["mounts"] = [x for x in b.config["mounts"] if x["destination"] != "/sys/fs/cgroup"] + [m]
    b.config["process"]["capabilities"] = {k: ["CAP_SYS_ADMIN", "CAP_MKNOD"] for k in ("bounding", "effective", "permitted")}
    script = "echo x > /dev/null && echo null-ok; exec 3</dev/fuse && echo fuse-opened"
    if cgroup_mode() == "hybrid":
        script = "echo a > /sys/fs/cgroup/devices/devices.allow 2>/dev/null; cat /sys/fs/cgroup/devices/devices.list; " + script
    b.set_args("/bin/sh", "-c", script)
    p = run(rt, b, check=False)
    if cgroup_mode() == "hybrid":
        assert "a *:* rwm" in p.stdout, (p.stdout, p.stderr)
    assert "null-ok" in p.stdout and "fuse-opened" not in p.stdout, (p.stdout, p.stderr)


@needs_root
def test_cgroup_mount_is_the_containers_own(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "cat /sys/fs/cgroup/pids/cgroup.procs; echo ---; "
                          "ls /sys/fs/cgroup/memory; echo ---; echo 50 > /sys/fs/cgroup/pids/pids.max; echo rc=$?")
    if cgroup_mode() == "v2":
        b.set_args("/bin/sh", "-c", "cat /sys/fs/cgroup/cgroup.procs; echo ---; ls /sys/fs/cgroup; echo ---; "
                   "echo 50 > /sys/fs/cgroup/pids.max; echo rc=$?")
    p = run(rt, b, check=False)
    procs, listing, rest = p.stdout.split("---\n")
    # only the container's processes: sh (pid 1) and cat
    assert sorted(int(x) for x in procs.split()) == [1, 2] or procs.split() == ["1"], procs
    host = {d for d in os.listdir(os.path.join(CGROOT, "memory" if cgroup_mode() != "v2" else ""))
            if os.path.isdir(os.path.join(CGROOT, "memory" if cgroup_mode() != "v2" else "", d))}
    assert host and not host & set(listing.split()), listing
    assert "Read-only file system" in p.stderr and "rc=1" in rest
    # rw when the mount asks for it
    for m in b.config["mounts"]:
        if m["type"] == "cgroup":
            m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    b.save()
    p = run(rt, b, "c2", check=False)
    assert "rc=0" in p.stdout, p.stderr


def test_cgroup_mount_hides_host_tree_rootless(rt, bundle):
    """rootless the mount shows the user's own cgroups, read-only"""
    b = bundle().set_args("/bin/sh", "-c", "mount | grep cgroup; touch /sys/fs/cgroup/x; echo rc=$?")
    p = run(rt, b, check=False)
    assert "rc=1" in p.stdout
    for line in p.stdout.splitlines():
        if " type cgroup" in line:
            assert "(ro," in line, line


@needs_root
def test_every_container_gets_a_cgroup(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "cat /proc/self/cgroup; exec /bin/denprobe sleep 30")
    b.config["linux"].pop("cgroupsPath", None)
    b.config["linux"].pop("resources", None)
    b.save()
    rt("run", "-d", "--bundle", b.path, "cg1")
    pid = rt.state("cg1")["pid"]
    for d in container_cgroup_dirs("cg1"):
        assert os.path.isdir(d), d
    assert str(pid) in open(os.path.join(pids_dir("cg1"), "cgroup.procs")).read().split()
    # the cgroup namespace was made in the container's cgroup
    with open(f"/proc/{pid}/cgroup") as f:
        assert all(l.endswith(":/cg1") or l.endswith(":/") for l in f.read().splitlines())
    # exec'd processes are in it too (the namespace's root: no "/.." above it)
    out = rt("exec", "cg1", "/bin/denprobe", "cat", "/proc/self/cgroup").stdout
    assert out and all(l.endswith(":/") for l in out.splitlines()), out
    rt("update", "--pids-limit", "42", "cg1")
    assert open(os.path.join(pids_dir("cg1"), "pids.max")).read().strip() == "42"
    import json
    ev = json.loads(rt("events", "--stats", "cg1").stdout)
    assert ev["type"] == "stats" and ev["id"] == "cg1"
    assert ev["data"]["pids"]["current"] >= 1 and ev["data"]["pids"]["limit"] == 42
    assert ev["data"]["memory"]["usage"]["usage"] > 0 and ev["data"]["cpu"]["usage"]["total"] > 0
    rt("pause", "cg1")
    assert rt.state("cg1")["status"] == "paused"
    rt("resume", "cg1")
    assert rt.state("cg1")["status"] == "running"
    rt("pause", "cg1")
    rt("delete", "--force", "cg1")
    for d in container_cgroup_dirs("cg1"):
        assert not os.path.exists(d), d


@needs_root
def test_cgroup_inside_reads_root(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "cat", "/proc/self/cgroup")
    if "cgroup" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "cgroup"})
    b.config["linux"]["cgroupsPath"] = "/den-test-ns/c1"
    b.save()
    out = run(rt, b).stdout
    assert out and all(l.endswith(":/") for l in out.splitlines()), out
    assert not os.path.exists(os.path.join(pids_dir("den-test-ns"), "c1"))
    for d in container_cgroup_dirs("den-test-ns"):
        os.rmdir(d)


def test_no_cgroup_rootless_says_so(rt, bundle):
    if ROOT:
        pytest.skip("rootless")
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    rt("run", "-d", "--bundle", b.path, "r1")
    p = rt("pause", "r1", check=False)
    assert p.returncode != 0 and "no cgroup of its own" in p.stderr
    p = rt("events", "--stats", "r1", check=False)
    assert p.returncode != 0 and "no cgroup of its own" in p.stderr
    rt("delete", "--force", "r1")


@needs_root
def test_blkio_weight_zero_is_unset(rt, bundle):
    """dockerd sends blockIO.weight 0 for every container"""
    b = bundle().set_args("/bin/true")
    b.config["linux"]["resources"] = {"blockIO": {"weight": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0},
                                      "memory": {"swap": -1}}
    b.save()
    run(rt, b)
    if cgroup_mode() != "v2":
        # a value asked for still fails when the kernel has no file for it
        # (CFQ's leaf weight: gone with the legacy block layer)
        b.config["linux"]["resources"] = {"blockIO": {"leafWeight": 500}}
        b.save()
        p = run(rt, b, "c2", check=False)
        assert p.returncode != 0 and "blkio.leaf_weight" in p.stderr


@needs_root
def test_cgroup_manager_disabled(rt, bundle):
    """crun's --cgroup-manager disabled: the container stays in the caller's cgroup"""
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    b.config["linux"].pop("cgroupsPath", None)
    b.save()
    rt("--cgroup-manager", "disabled", "run", "-d", "--bundle", b.path, "nc1")
    for d in container_cgroup_dirs("nc1"):
        assert not os.path.exists(d), d
    p = rt("pause", "nc1", check=False)
    assert p.returncode != 0 and "cgroup" in p.stderr
    rt("delete", "--force", "nc1")
