# SPDX-License-Identifier: GPL-2.0-or-later
import errno
import os

import pytest

from conftest import kv, run


def profile(**kw):
    p = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": []}
    p.update(kw)
    return p


@pytest.mark.parametrize("nnp", [True, False])
def test_errno_rule(rt, bundle, nnp):
    b = bundle().set_args("/bin/denprobe", "try", "mkdir", "/tmp/x")
    b.config["process"]["noNewPrivileges"] = nnp
    b.config["linux"]["seccomp"] = profile(syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                                      "errnoRet": errno.EROFS}])
    b.save()
    out = kv(run(rt, b).stdout)
    assert out["errno"] == str(errno.EROFS)


def test_compiled_filter_cached(rt, bundle):
    """a second container with the same profile takes the compiled filter from <root>/.seccomp;
    a cut file there is compiled again, not used"""
    b = bundle().set_args("/bin/denprobe", "try", "mkdir", "/tmp/x")
    b.config["linux"]["seccomp"] = profile(syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                                      "errnoRet": errno.EROFS}])
    b.save()
    assert kv(run(rt, b).stdout)["errno"] == str(errno.EROFS)
    cache = os.path.join(rt.root, ".seccomp")
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith(".bpf")
    assert kv(run(rt, b, "c2").stdout)["errno"] == str(errno.EROFS)
    assert os.listdir(cache) == files and ".seccomp" not in rt("list").stdout
    path = os.path.join(cache, files[0])
    size = os.path.getsize(path)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:-3])  # cut in an instruction
    assert kv(run(rt, b, "c3").stdout)["errno"] == str(errno.EROFS)
    assert os.path.getsize(path) == size
    b.config["linux"]["seccomp"]["syscalls"][0]["errnoRet"] = errno.EPERM
    b.save()
    assert kv(run(rt, b, "c4").stdout)["errno"] == str(errno.EPERM)
    assert len(os.listdir(cache)) == 2


def test_default_errno_and_arg_conditions(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "try", "chown", "/tmp")
    def rules(gid):
        # denprobe calls chown(path, 1, 1): the gid is argument 2 of chown, 3 of fchownat
        return [{"names": ["chown", "lchown"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOTSUP,
                 "args": [{"index": 2, "value": gid, "op": "SCMP_CMP_EQ"}]},
                {"names": ["fchownat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOTSUP,
                 "args": [{"index": 3, "value": gid, "op": "SCMP_CMP_EQ"}]}]
    b.config["linux"]["seccomp"] = profile(syscalls=rules(0))
    b.save()
    assert kv(run(rt, b).stdout)["errno"] != str(errno.ENOTSUP)
    b.config["linux"]["seccomp"] = profile(syscalls=rules(1))
    b.save()
    assert kv(run(rt, b, "c2").stdout)["errno"] == str(errno.ENOTSUP)


def test_kill_action(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "try", "mkdir", "/tmp/y")
    b.config["linux"]["seccomp"] = profile(syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}])
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode == 128 + 31  # SIGSYS


def test_seccomp_shown_in_status(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "caps")
    b.config["linux"]["seccomp"] = profile(flags=["SECCOMP_FILTER_FLAG_LOG"])
    b.save()
    assert kv(run(rt, b).stdout)["Seccomp"] == "2"


@pytest.mark.parametrize("bad,field", [
    ({"defaultAction": "SCMP_ACT_MAYBE"}, "linux.seccomp.defaultAction"),
    ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]}, "linux.seccomp.syscalls[0].action"),
    ({"architectures": ["SCMP_ARCH_Z80"]}, "linux.seccomp.architectures[0]"),
    ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 0, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].index"),
    ({"flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}, "linux.seccomp.flags[0]"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "listenerPath"),
])
def test_bad_profiles_name_the_field(rt, bundle, bad, field):
    b = bundle().set_args("/bin/true")
    b.config["linux"]["seccomp"] = profile(**bad)
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode == 1 and field in p.stderr, p.stderr
