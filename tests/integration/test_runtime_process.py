# SPDX-License-Identifier: GPL-2.0-or-later
"""den-runtime: the process and its namespaces, hooks and errors (issue 11)."""
import os

import pytest

from conftest import ROOT, has_subids, kv, run, subid_range


@pytest.mark.parametrize("how", ["run", "exec"])
@pytest.mark.parametrize("nnp", [False, True])
def test_seccomp_keeps_no_new_privs_as_configured(rt, bundle, nnp, how):
    # libseccomp sets no_new_privs on load unless told not to: the config decides
    b = bundle().set_args(*(["/bin/denprobe", "caps"] if how == "run" else ["/bin/sleep", "30"]))
    b.config["process"]["noNewPrivileges"] = nnp
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                    "syscalls": [{"names": ["swapon"], "action": "SCMP_ACT_ERRNO"}]}
    b.save()
    if how == "run":
        out = kv(run(rt, b).stdout)
    else:
        rt("run", "-d", "--bundle", b.path, "c1")
        out = kv(rt("exec", "c1", "/bin/denprobe", "caps").stdout)
    assert out["Seccomp"] == "2"
    assert out["NoNewPrivs"] == ("1" if nnp else "0")


def uid_map(text):
    return [tuple(int(x) for x in l.split()) for l in text.splitlines() if l.strip()]


def test_user_namespace_without_maps_maps_root_to_caller(rt, bundle):
    # crun's default; `crun spec --rootless` writes no maps
    b = bundle().set_args("/bin/cat", "/proc/self/uid_map", "/proc/self/gid_map")
    if "user" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    for m in b.config["mounts"]:
        # a single-id map has no gid 5 for devpts (`crun spec --rootless` leaves it out too)
        m["options"] = [o for o in m.get("options", []) if o != "gid=5"]
    b.save()
    maps = uid_map(run(rt, b).stdout)
    assert (0, os.geteuid(), 1) in maps and (0, os.getegid(), 1) in maps
    if has_subids():
        start, count = subid_range()
        assert (1, start, count) in maps


def test_rootless_without_user_namespace_gets_one(rt, bundle):
    b = bundle().set_args("/bin/cat", "/proc/self/uid_map")
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "user"]
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    b.save()
    maps = uid_map(run(rt, b).stdout)
    # root needs none and gets none
    assert maps[0] == ((0, 0, 4294967295) if ROOT else (0, os.geteuid(), 1))
