# SPDX-License-Identifier: GPL-2.0-or-later
"""linux.memoryPolicy, linux.netDevices and linux.intelRdt."""
import os
import subprocess
import time
import uuid

import pytest

from conftest import ROOT, kv, run

MPOL_BIND, MPOL_INTERLEAVE, MPOL_F_STATIC_NODES = 2, 3, 1 << 15


def test_memory_policy_bind(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "mempolicy")
    b.config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    b.save()
    out = kv(run(rt, b).stdout)
    assert out["mode"] == str(MPOL_BIND) and out["nodes"] == "0x1", out
    b.config["linux"]["memoryPolicy"] = {"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}
    b.save()
    out = kv(run(rt, b, "c2").stdout)
    assert out["mode"] == str(MPOL_INTERLEAVE) and int(out["flags"], 16) == MPOL_F_STATIC_NODES, out
    # exec's processes get it as well
    b.set_args("/bin/denprobe", "sleep", "60")
    b.save()
    rt("run", "-d", "--bundle", b.path, "c4")
    out = kv(rt("exec", "c4", "/bin/denprobe", "mempolicy").stdout)
    assert out["mode"] == str(MPOL_INTERLEAVE) and out["nodes"] == "0x1", out
    rt("kill", "c4", "KILL")
    b.set_args("/bin/denprobe", "mempolicy")
    # without the field, the process keeps the default policy
    del b.config["linux"]["memoryPolicy"]
    b.save()
    assert kv(run(rt, b, "c3").stdout)["mode"] == "0"


@pytest.mark.parametrize("policy,field", [
    ({"mode": "MPOL_BOGUS", "nodes": "0"}, "linux.memoryPolicy.mode"),
    ({"nodes": "0"}, "linux.memoryPolicy.mode"),
    ({"mode": "MPOL_BIND"}, "linux.memoryPolicy.nodes"),
    ({"mode": "MPOL_DEFAULT", "nodes": "0"}, "linux.memoryPolicy.nodes"),
    ({"mode": "MPOL_LOCAL", "nodes": "0"}, "linux.memoryPolicy.nodes"),
    ({"mode": "MPOL_BIND", "nodes": "0-x"}, "linux.memoryPolicy.nodes"),
    ({"mode": "MPOL_BIND", "nodes": "3-1"}, "linux.memoryPolicy.nodes"),
    ({"mode": "MPOL_BIND", "nodes": "99999"}, "linux.memoryPolicy.nodes"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_WHAT"]}, "linux.memoryPolicy.flags[0]"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     "linux.memoryPolicy.flags"),
])
def test_memory_policy_refused(rt, bundle, policy, field):
    b = bundle().set_args("/bin/true")
    b.config["linux"]["memoryPolicy"] = policy
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and field in p.stderr, p.stderr
    assert rt("list", "-q").stdout.split() == []


def test_memory_policy_node_the_host_lacks(rt, bundle):
    """A node the host does not have: the kernel's refusal, naming the field."""
    b = bundle().set_args("/bin/true")
    b.config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "1000"}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and "linux.memoryPolicy" in p.stderr, p.stderr


def test_intel_rdt_refused(rt, bundle):
    b = bundle().set_args("/bin/true")
    b.config["linux"]["intelRdt"] = {"closID": "x"}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and "linux.intelRdt" in p.stderr
    if os.path.isdir("/sys/fs/resctrl/info"):
        assert "not supported by den-runtime" in p.stderr
    else:
        assert "no resctrl file system" in p.stderr


def host_link(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


@pytest.fixture
def dummy():
    """A dummy interface, or one end of a veth pair on kernels without the
    dummy driver: either dies with the namespace it was moved into."""
    name = "den-t" + uuid.uuid4().hex[:6]
    if subprocess.run(["ip", "link", "add", name, "type", "dummy"], capture_output=True).returncode != 0:
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True)
    yield name
    for n in (name, name + "p"):
        if host_link(n):
            subprocess.run(["ip", "link", "del", n], check=False)


@pytest.mark.skipif(not ROOT, reason="moving a host interface needs root")
def test_net_devices_moved_and_renamed(rt, bundle, dummy):
    b = bundle().set_args("/bin/sh", "-c", "ip link show eth9 && ip link show %s || echo gone" % dummy)
    if "network" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "network"})
    b.config["linux"]["netDevices"] = {dummy: {"name": "eth9"}}
    b.save()
    out = run(rt, b).stdout
    assert "eth9" in out and "gone" in out, out
    # a dummy (or veth) device dies with the container's network namespace;
    # the kernel dismantles a namespace in a work queue, a little later
    assert not host_link(dummy) and not host_link("eth9")
    for _ in range(100):
        if not host_link(dummy + "p"):
            break
        time.sleep(0.05)
    assert not host_link(dummy + "p")


@pytest.mark.skipif(not ROOT, reason="moving a host interface needs root")
def test_net_devices_keeps_its_name(rt, bundle, dummy):
    b = bundle().set_args("/bin/sh", "-c", "ip link show %s" % dummy)
    if "network" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "network"})
    b.config["linux"]["netDevices"] = {dummy: {}}
    b.save()
    assert dummy in run(rt, b).stdout


def test_net_devices_refused(rt, bundle):
    b = bundle().set_args("/bin/true")
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "network"]
    b.config["linux"]["netDevices"] = {"den-nosuch0": {"name": "eth9"}}
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode != 0 and "linux.netDevices" in p.stderr and "network namespace" in p.stderr, p.stderr
    b.config["linux"]["namespaces"].append({"type": "network"})
    b.save()
    p = run(rt, b, "c2", check=False)
    assert p.returncode != 0 and "linux.netDevices" in p.stderr, p.stderr
    if ROOT:
        assert "den-nosuch0" in p.stderr, p.stderr
    else:
        assert "root" in p.stderr, p.stderr
    b.config["linux"]["netDevices"] = {"den-nosuch0": {"name": "a/b"}}
    b.save()
    p = run(rt, b, "c3", check=False)
    assert p.returncode != 0 and "linux.netDevices.den-nosuch0.name" in p.stderr, p.stderr
    assert rt("list", "-q").stdout.split() == []
