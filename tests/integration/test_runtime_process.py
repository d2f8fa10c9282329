# SPDX-License-Identifier: GPL-2.0-or-later
"""den-runtime: the process and its namespaces, hooks and errors (issue 11)."""
import pytest

from conftest import kv, run


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
