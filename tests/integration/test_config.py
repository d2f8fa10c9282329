# SPDX-License-Identifier: GPL-2.0-or-later
"""One test per config.json field, each checked from inside by denprobe."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, has_subids, kv, open_path_to_all, run, subid_range


def caps_mask(names):
    import ctypes  # noqa: F401
    nums = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10,
            "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}
    m = 0
    for n in names:
        m |= 1 << nums[n]
    return m


def test_capabilities_all_five_sets(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "caps")
    b.config["process"]["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL"],
        "ambient": ["CAP_KILL"],
    }
    b.save()
    c = kv(run(rt, b).stdout)
    # after execve, ambient caps join permitted and effective
    assert int(c["CapBnd"], 16) == caps_mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert int(c["CapInh"], 16) == caps_mask(["CAP_KILL"])
    assert int(c["CapAmb"], 16) == caps_mask(["CAP_KILL"])
    assert int(c["CapEff"], 16) == caps_mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    b.config["process"]["capabilities"] = {"bounding": ["CAP_NOT_A_CAP"]}
    b.save()
    p = run(rt, b, "c2", check=False)
    assert p.returncode != 0 and "process.capabilities.bounding[0]" in p.stderr and "CAP_NOT_A_CAP" in p.stderr


def test_no_new_privileges(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "caps")
    b.config["process"]["noNewPrivileges"] = True
    b.save()
    assert kv(run(rt, b).stdout)["NoNewPrivs"] == "1"
    b.config["process"]["noNewPrivileges"] = False
    b.save()
    assert kv(run(rt, b, "c2").stdout)["NoNewPrivs"] == "0"


def test_env_cwd_umask(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "/bin/denprobe env; /bin/denprobe cwd; /bin/denprobe umask")
    b.config["process"]["env"] = ["PATH=/bin", "FOO=bar baz"]
    b.config["process"]["cwd"] = "/work/dir"
    b.config["process"]["user"]["umask"] = 0o027
    b.save()
    out = run(rt, b).stdout
    assert "FOO=bar baz" in out.splitlines()
    assert kv(out)["cwd"] == "/work/dir"
    assert kv(out)["umask"] == "0027"
    # cwd is created inside the root, never on the host
    assert os.path.isdir(os.path.join(b.rootfs, "work", "dir"))


def test_args_resolved_through_path(rt, bundle):
    b = bundle().set_args("denprobe", "cwd")
    b.config["process"]["env"] = ["PATH=/nonexistent:/bin"]
    b.save()
    assert kv(run(rt, b).stdout)["cwd"] == "/"
    b.set_args("no-such-program")
    p = run(rt, b, "c2", check=False)
    assert p.returncode != 0 and "executable file not found" in p.stderr and "no-such-program" in p.stderr
    assert rt("list", "-q").stdout.split() == []


def test_hostname_domainname(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "hostname")
    b.config["hostname"] = "box"
    b.config["domainname"] = "example.org"
    b.save()
    out = kv(run(rt, b).stdout)
    assert out["hostname"] == "box" and out["domainname"] == "example.org"


def test_rlimits(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "rlimits")
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                      {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    b.save()
    out = kv(run(rt, b).stdout)
    assert out["NOFILE"] == "123:456" and out["CORE"] == "0:0"
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    b.save()
    p = run(rt, b, "c2", check=False)
    assert p.returncode != 0 and "process.rlimits[0].type" in p.stderr


def test_oom_score_adj_scheduler_ioprio_personality(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "/bin/denprobe oom; /bin/denprobe sched; /bin/denprobe personality")
    b.config["process"]["oomScoreAdj"] = 500
    b.config["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}
    b.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    b.save()
    out = run(rt, b).stdout
    assert out.splitlines()[0] == "500"
    assert kv(out)["policy"] == "3"  # SCHED_BATCH
    assert kv(out)["ioprio"] == str((2 << 13) | 6)
    assert int(kv(out)["personality"]) & 0xff == 8


def test_user_and_additional_gids(rt, bundle):
    if not ROOT and not has_subids():
        b = bundle().set_args("/bin/denprobe", "ids")
        b.config["process"]["user"] = {"uid": 0, "gid": 0, "additionalGids": [5]}
        b.save()
        p = run(rt, b, check=False)
        assert p.returncode != 0 and "additionalGids" in p.stderr and "subgid" in p.stderr
        return
    b = bundle().set_args("/bin/denprobe", "ids")
    if not ROOT:
        base, size = subid_range()
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": os.getuid(), "size": 1},
                                            {"containerID": 1, "hostID": base, "size": min(size, 65535)}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": os.getgid(), "size": 1},
                                            {"containerID": 1, "hostID": base, "size": min(size, 65535)}]
    b.config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7]}
    b.save()
    out = kv(run(rt, b).stdout)
    assert out["uid"] == "1000" and out["gid"] == "1001" and out["groups"] == "5,7"


def test_uid_mappings_with_subids(rt, bundle):
    if not ROOT and not has_subids():
        pytest.skip("this user has no sub-ids (the no-subid pass checks the single-id map instead)")
    b = bundle().set_args("/bin/denprobe", "cat", "/proc/self/uid_map")
    if ROOT:
        open_path_to_all(b.path)
        b.config["linux"]["namespaces"].append({"type": "user"})
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        want = [["0", "100000", "65536"]]
    else:
        base, size = subid_range()
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": os.getuid(), "size": 1},
                                            {"containerID": 1, "hostID": base, "size": size}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": os.getgid(), "size": 1},
                                            {"containerID": 1, "hostID": base, "size": size}]
        want = [["0", str(os.getuid()), "1"], ["1", str(base), str(size)]]
    b.save()
    lines = [l.split() for l in run(rt, b).stdout.splitlines()]
    assert lines == want


def test_single_id_map_rootless(rt, bundle):
    if ROOT:
        pytest.skip("rootless only")
    b = bundle().set_args("/bin/denprobe", "cat", "/proc/self/uid_map")
    assert run(rt, b).stdout.split() == ["0", str(os.getuid()), "1"]


def test_namespaces_new_and_joined(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    if "network" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "network"})
        b.save()
    rt("run", "-d", "--bundle", b.path, "c1")
    pid = rt.state("c1")["pid"]
    own = {n: os.readlink(f"/proc/self/ns/{n}") for n in ("net", "pid", "mnt", "uts", "ipc")}
    theirs = {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in ("net", "pid", "mnt", "uts", "ipc")}
    for n in own:
        assert own[n] != theirs[n], n
    b2 = bundle().set_args("/bin/denprobe", "ns")
    nss = [n for n in b2.config["linux"]["namespaces"] if n["type"] != "network"]
    nss.append({"type": "network", "path": f"/proc/{pid}/ns/net"})
    if not ROOT:
        # a network namespace belongs to its user namespace: join that too
        nss = [n for n in nss if n["type"] != "user"] + [{"type": "user", "path": f"/proc/{pid}/ns/user"}]
        del b2.config["linux"]["uidMappings"], b2.config["linux"]["gidMappings"]
    b2.config["linux"]["namespaces"] = nss
    b2.save()
    out = kv(run(rt, b2, "c2").stdout)
    assert out["net"] == theirs["net"]
    assert out["uts"] != theirs["uts"]
    rt("delete", "--force", "c1")


def test_mounts_tmpfs_bind_file_and_options(rt, bundle, tmp):
    hostdir = os.path.join(tmp, "hostdir")
    os.mkdir(hostdir)
    open(os.path.join(hostdir, "f"), "w").write("hello")
    hostfile = os.path.join(tmp, "hostfile")
    open(hostfile, "w").write("filedata")
    b = bundle().set_args("/bin/sh", "-c",
                          "cat /data/f; cat /etc/one; /bin/denprobe write /data/new x; /bin/denprobe mounts")
    b.add_mount(destination="/data", type="bind", source=hostdir, options=["rbind", "ro", "nosuid"])
    b.add_mount(destination="/etc/one", type="bind", source=hostfile, options=["bind"])
    b.add_mount(destination="/scratch", type="tmpfs", source="tmpfs", options=["size=1m", "mode=700", "noexec"])
    out = run(rt, b).stdout
    assert out.startswith("hellofiledata")
    assert "error=Read-only file system" in out
    assert not os.path.exists(os.path.join(hostdir, "new"))
    mi = [l.split() for l in out.splitlines() if " / " in l or l.count(" ") > 5]
    data = [l for l in mi if len(l) > 5 and l[4] == "/data"]
    assert data and "ro" in data[0][5].split(",") and "nosuid" in data[0][5].split(",")
    scratch = [l for l in mi if len(l) > 5 and l[4] == "/scratch"]
    assert scratch and "noexec" in scratch[0][5] and "size=1024k" in " ".join(scratch[0]) and "mode=700" in " ".join(scratch[0])


def test_mount_errors_name_the_mount(rt, bundle, tmp):
    b = bundle()
    b.add_mount(destination="/x", type="bind", source=os.path.join(tmp, "missing"), options=["bind"])
    p = run(rt, b, check=False)
    assert p.returncode != 0 and "mounts[" in p.stderr and "missing" in p.stderr
    b.config["mounts"].pop()
    b.add_mount(destination="relative", type="tmpfs", source="tmpfs")
    p = run(rt, b, "c2", check=False)
    assert p.returncode != 0 and "destination" in p.stderr and "not an absolute path" in p.stderr


def test_readonly_root_masked_and_readonly_paths(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c",
                          "/bin/denprobe write /t x; cat /proc/kcore | wc -c; ls /proc/acpi | wc -l;"
                          " /bin/denprobe write /proc/sys/kernel/hostname y; /bin/denprobe write /tmp/ok y")
    b.config["root"]["readonly"] = True
    b.add_mount(destination="/tmp", type="tmpfs", source="tmpfs")
    out = run(rt, b).stdout.splitlines()
    assert out[0] == "error=Read-only file system"
    assert out[1].strip() == "0"
    assert out[2].strip() == "0"
    assert out[3] == "error=Read-only file system"
    assert out[4] == "written=/tmp/ok"


def test_default_devices_and_extra_device(rt, bundle):
    b = bundle().set_args("/bin/sh", "-c", "/bin/denprobe stat /dev/null; /bin/denprobe stat /dev/fuse;"
                          " ls -l /dev/ptmx /dev/fd; echo x > /dev/null && echo null-ok")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    b.config["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]
    b.save()
    out = run(rt, b).stdout
    assert "rdev=1:3" in out and "rdev=10:229" in out
    assert "pts/ptmx" in out and "/proc/self/fd" in out and "null-ok" in out


def test_sysctl(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "cat", "/proc/sys/net/ipv4/ip_forward")
    if "network" not in b.namespaces():
        b.config["linux"]["namespaces"].append({"type": "network"})
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b.save()
    assert run(rt, b).stdout.strip() == "1"
    b.config["linux"]["sysctl"] = {"../../etc/passwd": "x"}
    b.save()
    p = run(rt, b, "c2", check=False)
    assert p.returncode != 0 and "linux.sysctl" in p.stderr


def test_annotations_reach_state(rt, bundle):
    b = bundle().set_args("/bin/denprobe", "sleep", "30")
    b.config["annotations"] = {"org.example.key": "value"}
    b.save()
    rt("create", "--bundle", b.path, "c1")
    assert rt.state("c1")["annotations"] == {"org.example.key": "value"}
    rt("delete", "--force", "c1")


@pytest.mark.parametrize("ver", ["1.0.0", "1.0.2", "1.1.0", "1.2.0", "1.3.0"])
def test_any_1x_oci_version(rt, bundle, ver):
    b = bundle().set_args("/bin/true")
    b.config["ociVersion"] = ver
    b.save()
    run(rt, b)


@pytest.mark.parametrize("mutate,field", [
    (lambda c: c.update(ociVersion="2.0.0"), "ociVersion"),
    (lambda c: c["process"].update(args=[]), "process.args"),
    (lambda c: c["process"].update(cwd="relative"), "process.cwd"),
    (lambda c: c["process"]["user"].update(uid="zero"), "process.user.uid"),
    (lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), "linux.namespaces"),
    (lambda c: c.update(mounts="nope"), "mounts"),
    (lambda c: c["root"].pop("path"), "root.path"),
    (lambda c: c["process"].update(env=["NOEQUALS"]), "process.env[0]"),
])
def test_bad_config_names_the_field(rt, bundle, mutate, field):
    b = bundle()
    mutate(b.config)
    b.save()
    p = run(rt, b, check=False)
    assert p.returncode == 1
    assert field in p.stderr, p.stderr
    assert rt("list", "-q").stdout.split() == []
    assert not os.path.exists(os.path.join(rt.root, "c1"))


def test_broken_json(rt, bundle):
    b = bundle()
    open(b.config_path, "w").write('{"ociVersion": "1.0.0", ')
    p = run(rt, b, check=False)
    assert p.returncode == 1 and "config.json" in p.stderr and "invalid JSON" in p.stderr


def test_selinux_apparmor_labels_warn(rt, bundle):
    b = bundle().set_args("/bin/true")
    b.config["process"]["apparmorProfile"] = "den-default"
    b.save()
    p = run(rt, b)
    assert "ignored" in p.stderr and "den-default" in p.stderr
