# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve's more container operations through docker's CLI: cp (archive GET, HEAD,
PUT), export, diff (changes), top, stats, pause, rename, restart, update, prune, ps's
filters, rm's conflicts."""
import base64
import io
import json
import os
import subprocess
import tarfile
import time

from apiserve import api  # noqa: F401


def tar_of(entries):
    """a tar in memory: (name, data or None for a directory, or ('sym', target))"""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif isinstance(data, tuple):
                ti.type, ti.linkname = tarfile.SYMTYPE, data[1]
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def test_cp_both_ways_running_and_stopped(api, tmp):
    api("run", "-d", "--name", "c", "busybox", "sh", "-c", "mkdir -p /data/sub; echo deep > /data/sub/f; busybox ln -s /data/sub/f /tmp/lnk; "
        "busybox ln -s sub/f /data/rel; sleep 300")
    end = time.time() + 10
    while api("exec", "c", "cat", "/data/rel", check=False).returncode and time.time() < end:
        time.sleep(0.1)
    src = os.path.join(tmp, "in.txt")
    with open(src, "w") as f:
        f.write("from the host\n")
    for state in ("running", "stopped"):
        if state == "stopped":
            api("stop", "-t", "0", "c")
        # host -> container: into an existing directory, and to a new name
        api("cp", src, "c:/tmp")
        api("cp", src, f"c:/tmp/renamed-{state}")
        # container -> host: a file, a directory, and to stdout as a tar
        out = os.path.join(tmp, state)
        os.mkdir(out)
        api("cp", "c:/tmp/in.txt", out)
        api("cp", f"c:/tmp/renamed-{state}", os.path.join(out, "r"))
        api("cp", "c:/data", out)
        assert open(os.path.join(out, "in.txt")).read() == "from the host\n"
        assert open(os.path.join(out, "r")).read() == "from the host\n"
        assert open(os.path.join(out, "data", "sub", "f")).read() == "deep\n"
        p = api("cp", "c:/nonexistent", out, check=False)
        assert p.returncode != 0 and ("no such" in p.stderr.lower() or "could not find" in p.stderr.lower())
    # a symlink is copied as itself; with -L, what it points at
    api("cp", "c:/tmp/lnk", os.path.join(tmp, "lnk"))
    assert os.readlink(os.path.join(tmp, "lnk")) == "/data/sub/f"
    api("cp", "-L", "c:/data/rel", os.path.join(tmp, "followed"))
    assert open(os.path.join(tmp, "followed")).read() == "deep\n"
    st, h, _ = api.http("HEAD", "/v1.41/containers/c/archive?path=/data/rel")
    stat = json.loads(base64.b64decode(h["X-Docker-Container-Path-Stat"]))
    assert stat["linkTarget"] == "/data/sub/f" and stat["mode"] & (1 << 27)
    # the stat header of HEAD and GET
    st, h, body = api.http("HEAD", "/v1.41/containers/c/archive?path=/data/sub/f")
    assert st == 200 and body == b""
    stat = json.loads(base64.b64decode(h["X-Docker-Container-Path-Stat"]))
    assert stat["name"] == "f" and stat["size"] == 5 and stat["mode"] & 0o777 == 0o644
    st, h, _ = api.http("HEAD", "/v1.41/containers/c/archive?path=/data")
    assert st == 200 and json.loads(base64.b64decode(h["X-Docker-Container-Path-Stat"]))["mode"] & (1 << 31)
    assert api.http("HEAD", "/v1.41/containers/c/archive?path=/none")[0] == 404
    st, h, body = api.http("GET", "/v1.41/containers/c/archive?path=/data")
    assert st == 200
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert t.extractfile("data/sub/f").read() == b"deep\n"
    # PUT: a tar unpacked into a directory; into a file or a missing directory: refused
    assert api.http("PUT", "/v1.41/containers/c/archive?path=/tmp", tar_of([("put/x", b"px")]))[0] == 200
    api("cp", "c:/tmp/put/x", os.path.join(tmp, "px"))
    assert open(os.path.join(tmp, "px")).read() == "px"
    assert api.http("PUT", "/v1.41/containers/c/archive?path=/tmp/put/x", tar_of([("y", b"y")]))[0] == 400
    assert api.http("PUT", "/v1.41/containers/c/archive?path=/none", tar_of([("y", b"y")]))[0] == 404
    assert api.http("PUT", "/v1.41/containers/nothere/archive?path=/tmp", tar_of([("y", b"y")]))[0] == 404


def test_cp_cannot_leave_the_container(api, tmp):
    api("create", "--name", "e", "busybox", "true")
    victim = os.path.join(tmp, "victim")
    os.mkdir(victim)
    os.chmod(tmp, 0o755)
    os.chmod(victim, 0o777)
    # a path of .. and a symlink to the host's directory: both resolved inside the container
    st, _, _ = api.http("PUT", "/v1.41/containers/e/archive?path=/../../../../.." + victim,
                        tar_of([("dotdot", b"x")]))
    assert st == 404
    assert api.http("PUT", "/v1.41/containers/e/archive?path=/tmp",
                    tar_of([("link", ("sym", victim)), ("link/through", b"x")]))[0] != 200
    assert api.http("PUT", "/v1.41/containers/e/archive?path=/tmp",
                    tar_of([("../../../../../../.." + victim + "/up", b"x")]))[0] != 200
    api("cp", "e:/tmp/link", os.path.join(tmp, "gotlink"), check=False)
    assert os.listdir(victim) == []
    # a symlink in the container to the host's path is the container's path, not the host's
    st, _, _ = api.http("PUT", "/v1.41/containers/e/archive?path=/", tar_of([("esc", ("sym", victim))]))
    st, _, _ = api.http("PUT", "/v1.41/containers/e/archive?path=/esc", tar_of([("through", b"x")]))
    assert st == 404 and os.listdir(victim) == []
    # docker's noOverwriteDirNonDir, and no overlay whiteout smuggled in
    st, _, body = api.http("PUT", "/v1.41/containers/e/archive?path=/", tar_of([("tmp", b"not a dir")]))
    assert st == 400 and "cannot overwrite directory" in json.loads(body)["message"]
    st, _, body = api.http("PUT", "/v1.41/containers/e/archive?path=/etc", tar_of([("passwd", None)]))
    assert st == 400 and "cannot overwrite non-directory" in json.loads(body)["message"]
    assert api.http("PUT", "/v1.41/containers/e/archive?path=/bin", tar_of([(".wh.sh", b"")]))[0] == 400
    assert api.http("PUT", "/v1.41/containers/e/archive?path=/tmp", b"not a tar at all")[0] == 400
    api("start", "-a", "e")
    mode = lambda p: json.loads(base64.b64decode(
        api.http("HEAD", "/v1.41/containers/e/archive?path=" + p)[1]["X-Docker-Container-Path-Stat"]))["mode"]
    assert mode("/tmp") & (1 << 31) and not mode("/etc/passwd") & (1 << 31)
    assert api.http("HEAD", "/v1.41/containers/e/archive?path=/bin/sh")[0] == 200


def test_export_and_diff(api, tmp):
    api("run", "--name", "x", "busybox", "sh", "-c", "echo new > /tmp/added; rm /bin/yes; echo >> /etc/passwd")
    out = os.path.join(tmp, "x.tar")
    api("export", "-o", out, "x")
    with tarfile.open(out) as t:
        names = set(n.lstrip("./") for n in t.getnames())
        assert "tmp/added" in names and "bin/busybox" in names and "bin/yes" not in names
        assert t.extractfile([m for m in t.getmembers() if m.name.lstrip("./") == "tmp/added"][0]).read() == b"new\n"
    lines = set(api("diff", "x").stdout.splitlines())
    assert {"A /tmp/added", "D /bin/yes", "C /etc/passwd", "C /tmp"} <= lines, lines
    st, _, body = api.http("GET", "/v1.41/containers/x/changes")
    assert st == 200 and {"Path": "/bin/yes", "Kind": 2} in json.loads(body)
    assert api.http("GET", "/v1.41/containers/nothere/export")[0] == 404


def test_top_stats_pause(api):
    api("run", "-d", "--name", "t", "busybox", "sh", "-c", "sleep 301 & sleep 302")
    end = time.time() + 10
    while "sleep 302" not in api("top", "t").stdout and time.time() < end:
        time.sleep(0.1)
    p = api("top", "t")
    head, *rows = p.stdout.splitlines()
    assert head.split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert any(r.endswith("sleep 301") for r in rows) and any(r.endswith("sleep 302") for r in rows), rows
    # ps_args: dockerd's way, the host's ps and the lines of the container's pids
    p = api("top", "t", "-o", "pid,args")
    head, *rows = p.stdout.splitlines()
    assert head.split() == ["PID", "COMMAND"] and any(r.split(None, 1)[1] == "sleep 302" for r in rows), p.stdout
    assert not any("pytest" in r for r in rows), rows
    p = api("top", "t", "-o", "args", check=False)
    assert p.returncode != 0 and "PID" in p.stderr
    # one sample: CPU %, memory and the count of processes as docker prints them
    p = api("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", "t")
    name, cpu, mem, _, limit, pids = p.stdout.split()
    assert name == "t" and cpu.endswith("%") and mem[0].isdigit() and limit[0].isdigit() and int(pids) >= 2
    st, _, body = api.http("GET", "/v1.41/containers/t/stats?stream=false")
    s = json.loads(body)
    assert st == 200 and s["memory_stats"]["usage"] > 0 and s["cpu_stats"]["online_cpus"] >= 1
    assert s["precpu_stats"]["system_cpu_usage"] > 0 and s["pids_stats"]["current"] >= 2
    # streamed: one JSON a second
    c = __import__("apiserve").UnixHTTP(api.sock)
    c.request("GET", "/v1.41/containers/t/stats")
    r = c.getresponse()
    first, second = json.loads(r.readline()), json.loads(r.readline())
    c.close()
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
    # no cgroup, no freezer: refused with the reason
    p = api("pause", "t", check=False)
    assert p.returncode != 0 and "cgroup" in p.stderr
    api("kill", "t")
    api("wait", "t")
    p = api("top", "t", check=False)
    assert p.returncode != 0 and "not running" in p.stderr
    assert api.http("GET", "/v1.41/containers/nothere/stats?stream=false")[0] == 404


def test_rename_restart_update_prune(api):
    api("run", "-d", "--name", "a", "busybox", "sleep", "300")
    api("create", "--name", "b", "busybox", "true")
    api("rename", "a", "a2")
    assert api("ps", "--format", "{{.Names}}").stdout.split() == ["a2"]
    p = api("rename", "a2", "b", check=False)
    assert p.returncode != 0 and "already in use" in p.stderr
    pid1 = json.loads(api("inspect", "a2").stdout)[0]["State"]["Pid"]
    t = time.time()
    api("restart", "-t", "1", "a2")
    assert time.time() - t < 15
    st = json.loads(api("inspect", "a2").stdout)[0]["State"]
    assert st["Running"] and st["Pid"] != pid1
    # a stopped one is started
    api("restart", "b")
    assert api("wait", "b").stdout.strip() == "0"
    api("update", "--restart", "no", "a2")
    p = api("update", "--memory", "64m", "a2", check=False)
    assert p.returncode != 0 and "Memory" in p.stderr
    api("run", "--name", "c", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /tmp/z")
    # filters: until (only what is older), label (den's containers have none), others refused
    q = lambda f: "/v1.41/containers/prune?filters=" + __import__("urllib.parse").parse.quote(json.dumps(f))
    assert json.loads(api.http("POST", q({"until": ["1h"]}))[2])["ContainersDeleted"] == []
    assert json.loads(api.http("POST", q({"label": ["a=b"]}))[2])["ContainersDeleted"] == []
    assert api.http("POST", q({"bogus": ["1"]}))[0] == 400
    assert api.http("POST", q({"until": ["whenever"]}))[0] == 400
    assert api("ps", "-aq").stdout.count("\n") == 3
    st, _, body = api.http("POST", "/v1.41/containers/prune")
    out = json.loads(body)
    assert st == 200 and len(out["ContainersDeleted"]) == 2 and out["SpaceReclaimed"] >= 100000
    assert api("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["a2"]
    assert "Total reclaimed space: 0B" in api("container", "prune", "-f").stdout


def test_ps_filters_limit_size_and_rm(api):
    api("create", "--name", "old", "busybox", "true")
    api("run", "--name", "ex3", "busybox", "sh", "-c", "head -c 50000 /dev/zero > /tmp/z; exit 3", check=False)
    api("run", "-d", "--name", "run1", "busybox", "sleep", "300")
    ps = lambda *a: api("ps", "--format", "{{.Names}}", *a).stdout.split()
    assert ps() == ["run1"]
    assert ps("-a") == ["run1", "ex3", "old"]
    assert ps("-f", "status=exited") == ["ex3"]
    assert ps("-a", "-f", "status=created") == ["old"]
    assert ps("-a", "-f", "exited=3") == ["ex3"] and ps("-a", "-f", "exited=0") == []
    assert ps("-a", "-f", "name=^/ex") == ["ex3"] and ps("-a", "-f", "name=n1") == ["run1"]
    rid = api("inspect", "-f", "{{.Id}}", "run1").stdout.strip()
    assert ps("-a", "-f", "id=" + rid[:10]) == ["run1"]
    assert ps("-a", "-f", "ancestor=busybox") == ["run1", "ex3", "old"] and ps("-a", "-f", "ancestor=other") == []
    assert ps("-a", "-f", "label=x=y") == []
    assert ps("-a", "-f", "since=old") == ["run1", "ex3"] and ps("-a", "-f", "before=ex3") == ["old"]
    assert ps("-a", "-f", "status=exited", "-f", "status=running") == ["run1", "ex3"]
    assert ps("-n", "2") == ["run1", "ex3"] and ps("-l") == ["run1"]
    p = api("ps", "-a", "-f", "status=bogus", check=False)
    assert p.returncode != 0 and "status=bogus" in p.stderr
    p = api("ps", "-a", "-f", "nosuchfilter=1", check=False)
    assert p.returncode != 0 and "nosuchfilter" in p.stderr
    st, _, body = api.http("GET", "/v1.41/containers/json?all=1&size=1&filters=" +
                           __import__("urllib.parse").parse.quote(json.dumps({"name": ["ex3"]})))
    assert st == 200 and [c["Names"] for c in json.loads(body)] == [["/ex3"]]
    assert json.loads(body)[0]["SizeRw"] >= 50000
    assert "SizeRw" not in json.loads(api.http("GET", "/v1.41/containers/json?all=1")[2])[0]
    # rm: a running one only with force, with docker's words
    p = api("rm", "run1", check=False)
    assert p.returncode != 0 and "You cannot remove a running container " + rid in p.stderr
    st, _, body = api.http("DELETE", "/v1.41/containers/run1")
    assert st == 409 and json.loads(body)["message"].startswith("You cannot remove a running container")
    api("rm", "-f", "-v", "run1")
    assert api.http("DELETE", "/v1.41/containers/run1?force=1&v=1")[0] == 404
    assert ps("-a") == ["ex3", "old"]


def test_docker_20_10(api, tmp):
    """docker.io's CLI (20.10, API 1.41) too, where the fixture's is a newer one"""
    if not os.path.exists("/usr/bin/docker"):
        return
    d = lambda *a: subprocess.run(["/usr/bin/docker", *a], capture_output=True, text=True, timeout=60,
                                  env=api.env, check=True).stdout
    d("run", "-d", "--name", "o", "busybox", "sh", "-c", "echo v > /tmp/v; sleep 300")
    src = os.path.join(tmp, "h")
    with open(src, "w") as f:
        f.write("h\n")
    d("cp", src, "o:/tmp")
    d("cp", "o:/tmp/h", os.path.join(tmp, "back"))
    assert open(os.path.join(tmp, "back")).read() == "h\n"
    assert "A /tmp/h" in d("diff", "o").splitlines()
    assert "sleep 300" in d("top", "o")
    name, pids = d("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "o").split()
    assert name == "o" and int(pids) >= 1
    d("restart", "-t", "0", "o")
    assert d("ps", "-f", "status=running", "--format", "{{.Names}}").split() == ["o"]
    d("export", "-o", os.path.join(tmp, "o.tar"), "o")
    with tarfile.open(os.path.join(tmp, "o.tar")) as t:
        assert any(n.lstrip("./") == "tmp/h" for n in t.getnames())
