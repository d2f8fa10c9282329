# SPDX-License-Identifier: GPL-2.0-or-later
"""den's default seccomp profile: every command of den run, den exec and sessions runs under it,
unless --security-opt seccomp=unconfined or seccomp=FILE says otherwise; den start keeps the choice."""
import errno
import json
import os

import pytest

from conftest import ROOT, has_subids, kv
from test_den_run import den, image  # noqa: F401 (fixtures)

CLONE_NEWUSER = 0x10000000
AF_VSOCK = 40


def probe(den, *args, opts=()):
    return kv(den("run", "--rm", *opts, "busybox", "/bin/denprobe", *args).stdout)


def seccomp_mode(out):
    return out["Seccomp"].split()[0]


def test_run_and_exec_are_filtered(den, image):
    assert seccomp_mode(probe(den, "caps")) == "2"
    den("run", "-d", "--name", "svc", image, "sleep", "100")
    assert seccomp_mode(kv(den("exec", "svc", "/bin/denprobe", "caps").stdout)) == "2"
    # as another user too: the filter does not depend on the capabilities dropped after it
    # (without sub-ids there is only the user's own id to be)
    if ROOT or has_subids():
        assert seccomp_mode(kv(den("exec", "-u", "1000", "svc", "/bin/denprobe", "caps").stdout)) == "2"
    den("rm", "-f", "svc")


def test_what_the_default_denies(den, image):
    # namespaces and mounts need CAP_SYS_ADMIN, which a container's root does not hold
    assert probe(den, "syscall", "unshare", hex(CLONE_NEWUSER))["errno"] == str(errno.EPERM)
    assert probe(den, "try", "mount")["errno"] == str(errno.EPERM)
    # clone3 is ENOSYS, so that libcs fall back to clone, whose flags the filter sees
    assert probe(den, "syscall", "clone3")["errno"] == str(errno.ENOSYS)
    # not in the list at all: the kernel keyring; and AF_VSOCK sockets
    assert probe(den, "syscall", "add_key")["errno"] == str(errno.EPERM)
    assert probe(den, "syscall", "socket", str(AF_VSOCK), "1", "0")["errno"] == str(errno.EPERM)
    # and what it allows
    assert probe(den, "syscall", "getpid")["errno"] == "0"
    assert probe(den, "syscall", "personality", "0xffffffff")["errno"] == "0"
    p = den("run", "--rm", image, "sh", "-c", "echo hi | cat > /tmp/f && cat /tmp/f")
    assert p.stdout == "hi\n"


def test_unconfined(den, image):
    opts = ("--security-opt", "seccomp=unconfined")
    assert seccomp_mode(probe(den, "caps", opts=opts)) == "0"
    # clone3 reaches the kernel, which refuses the empty arguments
    assert probe(den, "syscall", "clone3", opts=opts)["errno"] == str(errno.EINVAL)


def write_profile(tmp, name, profile):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(profile, f)
    os.chmod(path, 0o644)
    return path


def test_profile_file_in_docker_format(den, image, tmp):
    # docker's format: rules that hold (no CAP_SYS_ADMIN here) apply, the others are left out
    path = write_profile(tmp, "profile.json", {
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EROFS,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV,
             "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        ]})
    opts = ("--security-opt", f"seccomp={path}")
    assert probe(den, "try", "mkdir", "/tmp/x", opts=opts)["errno"] == str(errno.EROFS)
    assert probe(den, "try", "getcwd", opts=opts)["errno"] == "0"
    # the default's denials are gone: this profile allows by default
    assert probe(den, "syscall", "clone3", opts=opts)["errno"] == str(errno.EINVAL)


@pytest.mark.parametrize("content,says", [
    (None, "No such file"),
    ("{not json", "invalid JSON"),
    ('{"defaultAction": "SCMP_ACT_MAYBE"}', "unknown action 'SCMP_ACT_MAYBE'"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",'
     ' "includes": {"caps": ["CAP_NOPE"]}}]}', "syscalls[0].includes.caps[0]: unknown capability"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/x.sock"}', "listenerPath"),
])
def test_bad_profile_file(den, image, tmp, content, says):
    path = os.path.join(tmp, "bad.json")
    if content is not None:
        with open(path, "w") as f:
            f.write(content)
    p = den("run", "--rm", "--security-opt", f"seccomp={path}", image, "true", check=False)
    assert p.returncode == 125
    assert f"--security-opt seccomp='{path}'" in p.stderr and says in p.stderr
    assert den("ps", "-a", "-q").stdout.split() == []  # nothing was recorded


def test_bad_option(den, image):
    p = den("run", "--rm", "--security-opt", "apparmor=unconfined", image, "true", check=False)
    assert p.returncode == 125 and "--security-opt 'apparmor=unconfined'" in p.stderr


def test_start_keeps_the_choice(den, image, tmp):
    den("create", "--name", "free", "--security-opt", "seccomp=unconfined", image, "/bin/denprobe", "caps")
    den("create", "--name", "plain", image, "/bin/denprobe", "caps")
    path = write_profile(tmp, "p.json", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EROFS}]})
    den("create", "--name", "own", "--security-opt", f"seccomp={path}", image, "/bin/denprobe", "try", "mkdir", "/x")
    os.unlink(path)  # the record holds the profile, not its path
    for _ in range(2):
        assert seccomp_mode(kv(den("start", "-a", "free").stdout)) == "0"
        assert seccomp_mode(kv(den("start", "-a", "plain").stdout)) == "2"
        assert kv(den("start", "-a", "own").stdout)["errno"] == str(errno.EROFS)
    info = json.loads(den("inspect", "free").stdout)[0]
    assert info["Options"]["SecurityOpt"] == ["seccomp=unconfined"]
    info = json.loads(den("inspect", "own").stdout)[0]
    assert info["Options"]["SecurityOpt"] == [f"seccomp={path}"]
    assert info["Options"]["SeccompProfile"]["defaultAction"] == "SCMP_ACT_ALLOW"


def test_sessions(den, image):
    den("session", "begin", "--name", "sb", image)
    # every command, with or without the network (the keeper unshares one before the filter)
    assert seccomp_mode(kv(den("session", "exec", "sb", "--", "/bin/denprobe", "caps").stdout)) == "2"
    out = kv(den("session", "exec", "--network", "none", "sb", "--", "/bin/denprobe", "caps").stdout)
    assert seccomp_mode(out) == "2"
    den("session", "end", "sb")
    den("session", "begin", "--name", "sf", "--security-opt", "seccomp=unconfined", image)
    assert seccomp_mode(kv(den("session", "exec", "sf", "--", "/bin/denprobe", "caps").stdout)) == "0"
    den("session", "end", "sf")
