# SPDX-License-Identifier: GPL-2.0-or-later
"""linux.resources applied to the container's cgroup, read back from the host;
`update` and its runc flags; memory and pids limits enforced.  Root only: an
unprivileged user here has no delegated cgroup (den-runtime then warns, which
test_cgroups_console.py checks)."""
import json
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import ROOT, kv

pytestmark = pytest.mark.skipif(not ROOT, reason="needs a cgroup of its own: rootless here has no delegated cgroup")

CG = "/sys/fs/cgroup"
V2 = subprocess.run(["stat", "-fc", "%T", CG], capture_output=True, text=True).stdout.strip() == "cgroup2fs"


def path(ctl, cgpath, f):
    return os.path.join(CG, cgpath.lstrip("/"), f) if V2 else os.path.join(CG, ctl, cgpath.lstrip("/"), f)


def read(ctl, cgpath, f):
    with open(path(ctl, cgpath, f)) as fh:
        return fh.read().strip()


def start(rt, b, resources, cid="c1", args=("/bin/denprobe", "sleep", "30")):
    """a running container with resources in a top-level cgroup of its own"""
    cgpath = f"/den-rtcg-{uuid.uuid4().hex[:8]}"
    b.set_args(*args)
    b.config["linux"]["resources"] = resources
    b.config["linux"]["cgroupsPath"] = cgpath
    b.save()
    rt("run", "-d", "--bundle", b.path, cid)
    return cgpath


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
def test_memory_fields(rt, bundle):
    cg = start(rt, bundle(), {"memory": {"limit": 32 << 20, "reservation": 16 << 20, "swap": 64 << 20,
                                         "swappiness": 10, "kernelTCP": 8 << 20, "disableOOMKiller": True}})
    assert read("memory", cg, "memory.limit_in_bytes") == str(32 << 20)
    assert read("memory", cg, "memory.soft_limit_in_bytes") == str(16 << 20)
    if os.path.exists(path("memory", cg, "memory.memsw.limit_in_bytes")):
        assert read("memory", cg, "memory.memsw.limit_in_bytes") == str(64 << 20)
    assert read("memory", cg, "memory.swappiness") == "10"
    assert read("memory", cg, "memory.kmem.tcp.limit_in_bytes") == str(8 << 20)
    assert "oom_kill_disable 1" in read("memory", cg, "memory.oom_control")


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
def test_cpu_fields(rt, bundle):
    cg = start(rt, bundle(), {"cpu": {"shares": 512, "quota": 20000, "period": 50000, "realtimePeriod": 100000,
                                      "realtimeRuntime": 1000, "cpus": "0", "mems": "0", "idle": 0}})
    assert read("cpu", cg, "cpu.shares") == "512"
    assert read("cpu", cg, "cpu.cfs_quota_us") == "20000"
    assert read("cpu", cg, "cpu.cfs_period_us") == "50000"
    assert read("cpu", cg, "cpu.rt_period_us") == "100000"
    assert read("cpu", cg, "cpu.rt_runtime_us") == "1000"
    # cpuset is joined only when asked for, with cpus and mems set
    assert read("cpuset", cg, "cpuset.cpus") == "0"
    assert read("cpuset", cg, "cpuset.mems") == "0"
    pid = rt.state("c1")["pid"]
    assert f"cpuset:{cg}" in open(f"/proc/{pid}/cgroup").read()
    assert read("cpu", cg, "cpu.idle") == "0"


@pytest.mark.skipif(V2, reason="v1 only: controllers joined on demand")
def test_cpuset_shown_inside(rt, bundle):
    # a controller joined on demand shows in the container's /sys/fs/cgroup
    b = bundle()
    assert any(m["type"] == "cgroup" for m in b.config["mounts"])
    b.set_args("/bin/cat", "/sys/fs/cgroup/cpuset/cpuset.cpus")
    b.config["linux"]["resources"] = {"cpu": {"cpus": "0"}}
    b.config["linux"]["cgroupsPath"] = f"/den-rtcg-{uuid.uuid4().hex[:8]}"
    b.save()
    assert rt("run", "--bundle", b.path, "c1").stdout.strip() == "0"


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
def test_cpuset_nested_path_copies_parents(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    cg = f"/den-rtcg-{uuid.uuid4().hex[:8]}/nested/c1"
    b.config["linux"]["resources"] = {"cpu": {"mems": "0"}}
    b.config["linux"]["cgroupsPath"] = cg
    b.save()
    try:
        rt("run", "-d", "--bundle", b.path, "c1")
        # cpus copied down from the hierarchy's root through the new levels
        assert read("cpuset", cg, "cpuset.cpus") == open(f"{CG}/cpuset/cpuset.cpus").read().strip()
    finally:
        rt("delete", "--force", "c1", check=False)
        top = cg.split("/")[1]
        for ctl in os.listdir(CG):
            for d in (f"{CG}/{ctl}/{top}/nested", f"{CG}/{ctl}/{top}"):
                if os.path.isdir(d):
                    os.rmdir(d)


def test_pids_limit_enforced(rt, bundle):
    b = bundle()
    b.set_args("/bin/denprobe", "fork", "20")
    b.config["linux"]["resources"] = {"pids": {"limit": 5}}
    b.config["linux"]["cgroupsPath"] = f"/den-rtcg-{uuid.uuid4().hex[:8]}"
    b.save()
    p = rt("run", "--bundle", b.path, "c1", check=False)
    out = kv(p.stdout)
    # the container's process is one of the 5
    assert out["forked"] == "4", p.stdout + p.stderr
    assert out["errno"] == "11"  # EAGAIN


def test_memory_limit_oom_kills_hog(rt, bundle):
    b = bundle()
    b.set_args("/bin/denprobe", "alloc", "100")
    b.config["linux"]["resources"] = {"memory": {"limit": 32 << 20, "swap": 32 << 20}}
    b.config["linux"]["cgroupsPath"] = f"/den-rtcg-{uuid.uuid4().hex[:8]}"
    b.save()
    p = rt("run", "--bundle", b.path, "c1", check=False)
    assert "alloc=100" not in p.stdout
    assert p.returncode == 137, (p.returncode, p.stdout, p.stderr)  # SIGKILL


def first_disk():
    for d in sorted(os.listdir("/sys/block")):
        if not d.startswith(("loop", "ram", "zram", "dm-", "md")) and os.path.exists(f"/sys/block/{d}/dev"):
            return open(f"/sys/block/{d}/dev").read().strip()
    return None


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
def test_blkio_fields(rt, bundle):
    disk = first_disk()
    if not disk:
        pytest.skip("no block device to throttle")
    maj, mnr = map(int, disk.split(":"))
    res = {"blockIO": {"throttleReadBpsDevice": [{"major": maj, "minor": mnr, "rate": 1 << 20}],
                       "throttleWriteIOPSDevice": [{"major": maj, "minor": mnr, "rate": 100}]}}
    # CFQ's blkio.weight, else BFQ's (as runc): a new cgroup shows which
    probe = f"{CG}/blkio/den-rtcg-probe-{uuid.uuid4().hex[:8]}"
    os.mkdir(probe)
    try:
        weight = next((f for f in ("blkio.weight", "blkio.bfq.weight") if os.path.exists(f"{probe}/{f}")), None)
    finally:
        os.rmdir(probe)
    if weight:
        res["blockIO"]["weight"] = 300
    cg = start(rt, bundle(), res)
    assert read("blkio", cg, "blkio.throttle.read_bps_device") == f"{disk} {1 << 20}"
    assert read("blkio", cg, "blkio.throttle.write_iops_device") == f"{disk} 100"
    if weight:
        assert read("blkio", cg, weight).split()[-1] == "300"


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
def test_hugetlb_limit(rt, bundle):
    if subprocess.run(["mountpoint", "-q", f"{CG}/hugetlb"]).returncode != 0:
        pytest.skip("no v1 hugetlb hierarchy")
    cg = start(rt, bundle(), {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]})
    assert read("hugetlb", cg, "hugetlb.2MB.limit_in_bytes") == str(4 << 20)


@pytest.mark.skipif(V2, reason="hybrid hosts only")
def test_unified_on_hybrid(rt, bundle):
    if not os.path.isdir(f"{CG}/unified"):
        pytest.skip("legacy host: no v2 hierarchy")
    cg = start(rt, bundle(), {"unified": {"cgroup.max.depth": "3"}})
    assert open(f"{CG}/unified{cg}/cgroup.max.depth").read().strip() == "3"
    # a file the v2 hierarchy has not got (its controllers are on v1): refused, named
    b = bundle().set_args("/bin/true")
    b.config["linux"]["resources"] = {"unified": {"memory.high": "1000000"}}
    b.save()
    p = rt("run", "--bundle", b.path, "c2", check=False)
    assert p.returncode != 0
    assert "linux.resources.unified.memory.high" in p.stderr


def test_v1_controller_not_mounted_refused(rt, bundle):
    if V2 or os.path.exists(f"{CG}/rdma"):
        pytest.skip("needs a v1 host without an rdma hierarchy")
    b = bundle().set_args("/bin/true")
    b.config["linux"]["resources"] = {"rdma": {"mlx5_1": {"hcaHandles": 3}}}
    b.save()
    p = rt("run", "--bundle", b.path, "c1", check=False)
    assert p.returncode != 0 and "'rdma' is not mounted" in p.stderr


UPDATES = [
    (["--memory", "48m"], "memory", "memory.limit_in_bytes", str(48 << 20)),
    (["--memory-reservation", "20M"], "memory", "memory.soft_limit_in_bytes", str(20 << 20)),
    (["--memory", "40m", "--memory-swap", "80m"], "memory", "memory.memsw.limit_in_bytes", str(80 << 20)),
    (["--kernel-memory-tcp", "4m"], "memory", "memory.kmem.tcp.limit_in_bytes", str(4 << 20)),
    (["--pids-limit", "42"], "pids", "pids.max", "42"),
    (["--cpu-share", "256"], "cpu", "cpu.shares", "256"),
    (["--cpu-period", "40000", "--cpu-quota", "10000"], "cpu", "cpu.cfs_quota_us", "10000"),
    (["--cpu-quota", "30000"], "cpu", "cpu.cfs_quota_us", "30000"),
    (["--cpu-period", "60000"], "cpu", "cpu.cfs_period_us", "60000"),
    (["--cpu-rt-period", "90000"], "cpu", "cpu.rt_period_us", "90000"),
    (["--cpu-rt-runtime", "500"], "cpu", "cpu.rt_runtime_us", "500"),
    (["--cpuset-cpus", "0"], "cpuset", "cpuset.cpus", "0"),
    (["--cpuset-mems", "0"], "cpuset", "cpuset.mems", "0"),
]


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
@pytest.mark.parametrize("flags,ctl,f,want", UPDATES, ids=[" ".join(u[0]) for u in UPDATES])
def test_update_flag(rt, bundle, flags, ctl, f, want):
    cg = start(rt, bundle(), {"memory": {"limit": 64 << 20}, "cpu": {"cpus": "0-1" if os.cpu_count() > 1 else "0",
                                                                      "realtimeRuntime": 1000}})
    rt("update", *flags, "c1")
    assert read(ctl, cg, f) == want


@pytest.mark.skipif(V2, reason="v1 only: controllers joined on demand")
def test_update_joins_cpuset(rt, bundle):
    # cpuset is joined at create only when asked for; an update joins it then
    cg = start(rt, bundle(), {"pids": {"limit": 50}}, args=("/bin/sh", "-c", "sleep 30 & sleep 30"))
    pid = rt.state("c1")["pid"]
    assert f"cpuset:{cg}\n" not in open(f"/proc/{pid}/cgroup").read()
    rt("update", "--cpuset-cpus", "0", "c1")
    assert read("cpuset", cg, "cpuset.cpus") == "0"
    assert read("cpuset", cg, "cpuset.mems") == open(f"{CG}/cpuset/cpuset.mems").read().strip()
    moved = set(read("cpuset", cg, "cgroup.procs").split())
    assert moved == set(read("pids", cg, "cgroup.procs").split()) and str(pid) in moved
    # recorded: an exec'd process joins it too, and delete removes it
    p = rt("exec", "c1", "/bin/cat", "/proc/self/cgroup")
    # (the cgroup namespace was made when the container was in cpuset's root)
    assert f"cpuset:{cg}\n" in p.stdout
    rt("delete", "--force", "c1")
    assert not os.path.exists(path("cpuset", cg, ""))


@pytest.mark.skipif(V2, reason="v1 files; the v2 plan is unit-tested")
def test_update_resources_file_stdin_and_stats(rt, bundle, tmp):
    cg = start(rt, bundle(), {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}})
    f = os.path.join(tmp, "res.json")
    with open(f, "w") as fh:
        json.dump({"memory": {"limit": 50 << 20}, "pids": {"limit": 30}}, fh)
    rt("update", "-r", f, "c1")
    assert read("memory", cg, "memory.limit_in_bytes") == str(50 << 20)
    assert read("pids", cg, "pids.max") == "30"
    # '-': standard input; a flag wins over the file's field
    rt("update", "-r", "-", "--pids-limit", "25", "c1", input=json.dumps({"pids": {"limit": 20},
                                                                           "memory": {"limit": 40 << 20}}))
    assert read("pids", cg, "pids.max") == "25"
    assert read("memory", cg, "memory.limit_in_bytes") == str(40 << 20)
    # recorded in the state, as runc keeps them
    with open(os.path.join(rt.root, "c1", "state.json")) as fh:
        res = json.load(fh)["resources"]
    assert res["pids"]["limit"] == 25 and res["memory"]["limit"] == 40 << 20
    # a swap alone: the recorded limit stays
    if os.path.exists(path("memory", cg, "memory.memsw.limit_in_bytes")):
        rt("update", "--memory-swap", "100m", "c1")
        assert read("memory", cg, "memory.memsw.limit_in_bytes") == str(100 << 20)
        assert read("memory", cg, "memory.limit_in_bytes") == str(40 << 20)
    stats = json.loads(rt("events", "--stats", "c1").stdout)["data"]
    assert stats["pids"]["limit"] == 25
    assert stats["memory"]["usage"]["limit"] == 40 << 20


def test_update_bad_values_refused(rt, bundle):
    start(rt, bundle(), {"pids": {"limit": 50}})
    for flags, msg in ((["--memory", "12x"], "not a size"), (["--pids-limit", "many"], "not a number"),
                       (["--l3-cache-schema", "L3:0=f"], "Intel RDT")):
        p = rt("update", *flags, "c1", check=False)
        assert p.returncode != 0 and msg in p.stderr, (flags, p.stderr)


@pytest.mark.skipif(V2 or not shutil.which("crun"), reason="compares v1 files with crun's")
def test_same_files_as_crun(rt, bundle, tmp):
    res = {"memory": {"limit": 32 << 20, "reservation": 16 << 20, "swappiness": 20, "kernelTCP": 4 << 20,
                      "disableOOMKiller": True},
           "cpu": {"shares": 300, "quota": 25000, "period": 100000, "cpus": "0", "mems": "0"},
           "pids": {"limit": 40}}
    files = [("memory", "memory.limit_in_bytes"), ("memory", "memory.soft_limit_in_bytes"),
             ("memory", "memory.swappiness"), ("memory", "memory.kmem.tcp.limit_in_bytes"),
             ("memory", "memory.oom_control"), ("cpu", "cpu.shares"), ("cpu", "cpu.cfs_quota_us"),
             ("cpu", "cpu.cfs_period_us"), ("cpuset", "cpuset.cpus"), ("cpuset", "cpuset.mems"),
             ("pids", "pids.max")]
    if os.path.exists(f"{CG}/memory/memory.memsw.limit_in_bytes"):
        res["memory"]["swap"] = 64 << 20
        files.append(("memory", "memory.memsw.limit_in_bytes"))
    if subprocess.run(["mountpoint", "-q", f"{CG}/hugetlb"]).returncode == 0:
        res["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 << 20}]
        files.append(("hugetlb", "hugetlb.2MB.limit_in_bytes"))
    disk = first_disk()
    if disk:
        maj, mnr = map(int, disk.split(":"))
        res["blockIO"] = {"throttleReadBpsDevice": [{"major": maj, "minor": mnr, "rate": 1 << 20}],
                          "throttleWriteIOPSDevice": [{"major": maj, "minor": mnr, "rate": 100}]}
        files += [("blkio", "blkio.throttle.read_bps_device"), ("blkio", "blkio.throttle.write_iops_device")]
    cg = start(rt, bundle(), res)
    ours = {f: read(c, cg, f) for c, f in files}
    b = bundle().set_args("/bin/sleep", "30")
    b.config["linux"]["resources"] = res
    crun_cg = f"/den-rtcg-crun-{uuid.uuid4().hex[:8]}"
    b.config["linux"]["cgroupsPath"] = crun_cg
    b.save()
    croot = os.path.join(tmp, "crun")
    subprocess.run(["crun", "--root", croot, "run", "-d", "--bundle", b.path, "cr1"], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    try:
        theirs = {f: read(c, crun_cg, f) for c, f in files}
    finally:
        subprocess.run(["crun", "--root", croot, "delete", "-f", "cr1"], capture_output=True)
    assert ours == theirs
