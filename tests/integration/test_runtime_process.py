# SPDX-License-Identifier: GPL-2.0-or-later
"""den-runtime: the process and its namespaces, hooks and errors (issue 11)."""
import json
import os
import subprocess

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


def test_home_from_passwd_else_slash(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "env")
    assert kv(run(rt, b).stdout)["HOME"] == "/root"
    b.config["process"]["env"].append("HOME=/mine")
    b.save()
    assert kv(run(rt, b).stdout)["HOME"] == "/mine"
    b.config["process"]["env"].remove("HOME=/mine")
    b.save()
    # what the image holds is read safely: a symlink or a FIFO is not followed nor waited on
    passwd = os.path.join(b.rootfs, "etc", "passwd")
    os.unlink(passwd)
    os.symlink("/etc/shadow", passwd)
    assert kv(run(rt, b).stdout)["HOME"] == "/"
    os.unlink(passwd)
    os.mkfifo(passwd)
    assert kv(rt("run", "--bundle", b.path, "c1", timeout=10).stdout)["HOME"] == "/"


@pytest.mark.skipif(not ROOT and not has_subids(), reason="uid 1000 needs sub-ids")
def test_home_of_the_process_user(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "env")
    with open(os.path.join(b.rootfs, "etc", "passwd"), "a") as f:
        f.write("app:x:1000:1000::/home/app:/bin/sh\n")
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    # rootless: den's default map, with the sub-ids
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    b.save()
    assert kv(run(rt, b).stdout)["HOME"] == "/home/app"
    b.config["process"]["user"] = {"uid": 1001, "gid": 1000}
    b.save()
    assert kv(run(rt, b).stdout)["HOME"] == "/"


def test_exec_home(rt, bundle):
    b = bundle().set_args("/bin/sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c1")
    assert kv(rt("exec", "c1", "/bin/denprobe", "env").stdout)["HOME"] == "/root"
    assert kv(rt("exec", "--env", "HOME=/x", "c1", "/bin/denprobe", "env").stdout)["HOME"] == "/x"


def script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def test_poststart_and_poststop_failures_are_warnings(rt, bundle, tmp):
    b = bundle().set_args("/bin/true")
    out = os.path.join(tmp, "log")
    bad = script(os.path.join(tmp, "bad.sh"), "exit 3\n")
    good = script(os.path.join(tmp, "good.sh"), f'echo "$1" >> {out}\n')
    b.config["hooks"] = {k: [{"path": bad}, {"path": good, "args": [good, k]}] for k in ("poststart", "poststop")}
    b.save()
    p = rt("run", "--bundle", b.path, "c1")
    assert "hooks.poststart[0]" in p.stderr and "hooks.poststop[0]" in p.stderr
    assert open(out).read().split() == ["poststart", "poststop"]
    # create + start + delete: start succeeds and the container runs
    b.set_args("/bin/sleep", "30")
    rt("create", "--bundle", b.path, "c2")
    p = rt("start", "c2")
    assert "hooks.poststart[0]" in p.stderr
    assert rt.state("c2")["status"] == "running"
    rt("delete", "--force", "c2")
    assert open(out).read().split() == ["poststart", "poststop"] * 2


def test_hooks_state_status_order_and_env(rt, bundle, tmp):
    b = bundle().set_args("/bin/true")
    hooks = {}
    for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop"):
        hooks[k] = [{"path": script(os.path.join(tmp, f"{k}{i}.sh"),
                                    f'echo "{k}{i} $A $PATH" >> {tmp}/order; /bin/cat > {tmp}/{k}.json\n'),
                     "env": [f"A={i}", f"PATH=/p{i}"]} for i in (1, 2)]
    # startContainer runs inside the container
    script(os.path.join(b.rootfs, "start.sh"), "cat > /tmp/startContainer.json\n")
    hooks["startContainer"] = [{"path": "/start.sh"}]
    b.config["hooks"] = hooks
    b.save()
    rt("run", "--bundle", b.path, "c1")
    want = []
    for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop"):
        want += [f"{k}1 1 /p1", f"{k}2 2 /p2"]
    assert open(os.path.join(tmp, "order")).read().splitlines() == want
    status = {k: json.load(open(os.path.join(tmp, f"{k}.json")))["status"]
              for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
    status["startContainer"] = json.load(open(os.path.join(b.rootfs, "tmp", "startContainer.json")))["status"]
    assert status == {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
                      "startContainer": "created", "poststart": "running", "poststop": "stopped"}


def test_crun_command_line_forms(rt, bundle, tmp):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    # --config FILE instead of the bundle's config.json, kept for exec and delete
    b.config["process"]["args"] = ["/bin/sleep", "30"]
    b.config["hooks"] = {"poststop": [{"path": script(os.path.join(tmp, "stop.sh"), f"echo stopped > {tmp}/stopped\n")}]}
    other = os.path.join(tmp, "other.json")
    with open(other, "w") as f:
        json.dump(b.config, f)
    rt("create", "--bundle", b.path, "--config", other, "a1")
    rt("start", "a1")
    assert "sleep" in rt("exec", "a1", "/bin/cat", "/proc/1/cmdline").stdout
    rt("run", "-d", "--bundle", b.path, "-f", other, "a2")
    rt("create", "--bundle", b.path, "b1")
    rt("delete", "--force", "--regex", "^a")
    assert rt("list", "-q").stdout.split() == ["b1"]
    assert open(os.path.join(tmp, "stopped")).read() == "stopped\n"
    # unanchored, as crun; nothing matching is no error
    rt("delete", "--force", "--regex", "zz")
    rt("delete", "--force", "-r", "1")
    assert rt("list", "-q").stdout.split() == []


@pytest.mark.parametrize("cid,msg", [("bad/id", "invalid container ID format"), ("..", "invalid container ID format"),
                                     ("", "container id cannot be empty")])
def test_invalid_id_gets_runc_message(rt, bundle, cid, msg):
    b = bundle()
    for args in (("create", "--bundle", b.path, cid), ("state", cid), ("delete", cid)):
        p = rt(*args, check=False)
        assert p.returncode != 0 and msg in p.stderr, (args, p.stderr)


def test_loopback_up_in_a_new_network_namespace(rt, bundle):
    b = bundle().set_args("/bin/ip", "link", "show", "lo")
    if "network" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "network"})
        b.save()
    out = run(rt, b).stdout
    assert "LOOPBACK" in out and ",UP" in out, out


def session_of(stat):
    f = stat.rsplit(")", 1)[1].split()
    return {"pgrp": int(f[2]), "sid": int(f[3])}, int(stat.split()[0])


def test_processes_lead_their_own_session_as_with_runc(rt, bundle):
    b = bundle().set_args("/bin/cat", "/proc/self/stat")
    ids, pid = session_of(run(rt, b).stdout)
    assert ids == {"pgrp": pid, "sid": pid}
    b.set_args("/bin/sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c2")
    for extra in ([], ["--tty"]):
        p = rt("exec", *extra, "c2", "/bin/cat", "/proc/self/stat")
        ids, pid = session_of(p.stdout)
        assert ids == {"pgrp": pid, "sid": pid}, extra


@pytest.mark.skipif(not ROOT and not has_subids(), reason="uid 1000 needs sub-ids")
def test_stdio_pipes_usable_by_the_process_user(rt, bundle, tmp):
    # a pipe belongs to its maker, mode 0600: reopening it through /proc/self/fd
    # (what /dev/stdout is) needs it to be the process user's, as runc makes it
    b = bundle().set_args("/bin/sh", "-c", "echo reopened > /proc/self/fd/1")
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    b.save()
    assert run(rt, b).stdout == "reopened\n"
    b.set_args("/bin/sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c2")
    assert rt("exec", "c2", "/bin/sh", "-c", "echo again > /proc/self/fd/1").stdout == "again\n"
    # /dev/null is left as it is
    p = rt("exec", "c2", "/bin/stat", "-L", "-c", "%u", "/dev/null", stdin=subprocess.DEVNULL)
    assert p.stdout.strip() != "1000"


def test_rlimit_nofile_soft_exactly_as_configured(rt, bundle):
    import resource
    host_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    b = bundle().set_args("/bin/denprobe", "rlimits")
    cases = [(1000, 2000), (64, 64), (777, host_hard)]
    if not ROOT:
        # above the host's hard limit without CAP_SYS_RESOURCE: the hard limit
        # is capped with a warning, the soft one stays what was asked
        cases.append((1001, host_hard + 5))
    for soft, hard in cases:
        b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard}]
        b.save()
        p = run(rt, b)
        assert kv(p.stdout)["NOFILE"] == f"{soft}:{min(hard, host_hard) if not ROOT else hard}", (soft, hard)
        assert ("capped" in p.stderr) == (hard > host_hard and not ROOT)
    b.set_args("/bin/sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c2")
    assert kv(rt("exec", "c2", "/bin/denprobe", "rlimits").stdout)["NOFILE"].split(":")[0] == str(cases[-1][0])


def test_rlimit_infinity_as_2_64_minus_1(rt, bundle):
    # RLIM_INFINITY as crun and runc read it, past what jansson keeps as an integer
    b = bundle().set_args("/bin/denprobe", "rlimits")
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 2**64 - 1, "hard": 2**64 - 1}]
    b.save()
    import resource
    want = "-1:-1" if resource.getrlimit(resource.RLIMIT_CORE)[1] == resource.RLIM_INFINITY or ROOT else None
    out = kv(run(rt, b).stdout)["CORE"]
    assert want is None or out == want


def uptime(text):
    return float(text.split()[0])


def test_time_namespace_with_offsets(rt, bundle):
    b = bundle().set_args("/bin/cat", "/proc/uptime")
    b.config["linux"]["namespaces"].append({"type": "time"})
    b.config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 10, "nanosecs": 0},
                                        "monotonic": {"secs": 86400 * 10}}
    b.save()
    host = uptime(open("/proc/uptime").read())
    inside = uptime(run(rt, b).stdout)
    assert 86400 * 10 <= inside - host < 86400 * 10 + 60
    # exec joins the time namespace too
    b.set_args("/bin/sleep", "30")
    rt("run", "-d", "--bundle", b.path, "c2")
    assert uptime(rt("exec", "c2", "/bin/cat", "/proc/uptime").stdout) - host >= 86400 * 10
    # offsets are for a namespace of the container's own
    pid = rt.state("c2")["pid"]
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "time"]
    b.config["linux"]["namespaces"].append({"type": "time", "path": f"/proc/{pid}/ns/time"})
    b.save()
    p = rt("run", "--bundle", b.path, "c3", check=False)
    assert p.returncode != 0 and "linux.timeOffsets" in p.stderr


@pytest.mark.skipif(not ROOT and not has_subids(), reason="uid 1000 needs sub-ids")
def test_the_callers_terminal_is_never_chowned(rt, bundle):
    # runc chowns any stdio but /dev/null, the caller's own terminal too; den-runtime
    # leaves character devices that are not the container's own terminal alone
    b = bundle().set_args("/bin/sh", "-c", "echo hi")
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    b.save()
    master, slave = os.openpty()
    try:
        p = subprocess.run(rt.cmd("run", "--bundle", b.path, "c1"), stdin=slave, stdout=slave, stderr=slave,
                           timeout=30)
        assert p.returncode == 0
        assert os.fstat(slave).st_uid == os.geteuid()
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(not ROOT and not has_subids(), reason="uid 1000 needs sub-ids")
def test_the_containers_terminal_belongs_to_the_process_user(rt, bundle):
    b = bundle().set_args("/bin/stat", "-L", "-c", "%u", "/proc/self/fd/0")
    b.config["process"]["terminal"] = True
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    b.save()
    assert rt("run", "--bundle", b.path, "c1", stdin=subprocess.DEVNULL).stdout.strip() == "1000"
