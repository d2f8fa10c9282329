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
