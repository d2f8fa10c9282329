# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve: build (docker's classic builder), events, system df, networks and volumes,
driven by the real docker CLI."""
import io
import json
import os
import subprocess
import tarfile
import time

from apiserve import DOCKER, api  # noqa: F401 (api: the fixture)

DOCKER_2010 = "/usr/bin/docker"


def context(tmp, files):
    d = os.path.join(tmp, "ctx")
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def classic(api, *args, cli=DOCKER, buildkit="0", check=True):
    env = dict(api.env)
    env.pop("DOCKER_BUILDKIT", None)
    if buildkit is not None:
        env["DOCKER_BUILDKIT"] = buildkit
    p = subprocess.run([cli, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {p.returncode}: {p.stderr}")
    return p


def test_docker_build_classic_steps_tags_and_cache(api, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nARG WHO=nobody\nCOPY hello.txt /hello.txt\n"
                                      "RUN echo built-by-$WHO && cat /hello.txt\nLABEL stage=one\n",
                        "hello.txt": "hello from the context\n"})
    p = classic(api, "build", "-t", "mine:1", "-t", "mine:2", "--build-arg", "WHO=den", "--label", "extra=yes", ctx)
    out = p.stdout
    assert "Step 1/5 : FROM busybox" in out and "Step 4/5 : RUN echo built-by-$WHO" in out
    assert "built-by-den" in out and "hello from the context" in out
    assert "Successfully tagged mine:1" in out and "Successfully tagged mine:2" in out
    tagged = events(api, "--since", "0", "--until", str(int(time.time()) + 1), "--filter", "event=tag")
    assert {e["Actor"]["Attributes"]["name"] for e in tagged} >= {"localhost/mine:1", "localhost/mine:2"}  # den names a local image so
    short = [ln.split()[-1] for ln in out.splitlines() if ln.startswith("Successfully built ")]
    assert len(short) == 1 and len(short[0]) == 12
    iid = api("inspect", "--format", "{{.Id}}", "mine:1").stdout.strip()
    assert iid.startswith("sha256:" + short[0])
    labels = json.loads(api("inspect", "--format", "{{json .Config.Labels}}", "mine:2").stdout)
    assert labels == {"stage": "one", "extra": "yes"}
    # the 20.10 CLI with DOCKER_BUILDKIT unset takes the classic path (no Builder-Version: 2 in /_ping)
    p = classic(api, "build", "-t", "mine:3", "--build-arg", "WHO=den", "--label", "extra=yes", ctx,
                cli=DOCKER_2010, buildkit=None)
    assert "Using cache" in p.stdout and f"Successfully built {short[0]}" in p.stdout
    # -q: the id only
    p = classic(api, "build", "-q", "-f", os.path.join(ctx, "Dockerfile"), "--build-arg", "WHO=den",
                "--label", "extra=yes", ctx)
    assert p.stdout.strip() == iid
    p = classic(api, "build", "--no-cache", "--network", "none", "-t", "mine:4", "--build-arg", "WHO=den", ctx)
    assert "Using cache" not in p.stdout and "built-by-den" in p.stdout
    # the context as a gzipped tar on stdin, a Dockerfile of another name, a target
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, text in {"build/other.df": "FROM busybox AS a\nRUN echo in-a\nFROM a AS b\nRUN exit 9\n"}.items():
            data = text.encode()
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    env = dict(api.env, DOCKER_BUILDKIT="0")
    p = subprocess.run([DOCKER, "build", "-f", "build/other.df", "--target", "a", "-t", "staged", "-"],
                       input=buf.getvalue(), capture_output=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b"in-a" in p.stdout and b"Successfully tagged staged:latest" in p.stdout


def test_docker_build_failures(api, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nRUN printf 'latin1 \\351t\\351\\n'; echo before; exit 7\n"})
    p = classic(api, "build", "-t", "bad", ctx, check=False)
    assert p.returncode != 0
    assert "returned a non-zero code: 7" in p.stderr and "Step 2/2 : RUN printf" in p.stdout, p
    assert "latin1 ?t?" in p.stdout and "before" in p.stdout  # not UTF-8: still shown, as '?'s
    assert api("inspect", "bad", check=False).returncode != 0
    p = classic(api, "build", "-f", "Nope", ctx, check=False)
    assert p.returncode != 0 and "Nope" in p.stderr
    ctx2 = context(os.path.join(tmp, "two"), {"Dockerfile": "FROM busybox\nFRUM x\n"})
    p = classic(api, "build", ctx2, check=False)
    assert p.returncode != 0 and "FRUM" in p.stderr
    # an option that would change the result, refused
    status, _, body = api.http("POST", "/v1.41/build?squash=1", b"", {"Content-Type": "application/x-tar"})
    assert status == 400 and b"squash" in body
    status, _, body = api.http("POST", "/v1.41/build?buildargs=notjson", b"", {"Content-Type": "application/x-tar"})
    assert status == 400 and b"buildargs" in body
    # the service serves on
    assert api("version", "--format", "{{.Server.Version}}").stdout.strip()


def events(api, *args):
    return [json.loads(ln) for ln in api("events", "--format", "{{json .}}", *args).stdout.splitlines()]


def test_events_past_and_filtered(api):
    t0 = time.time()
    assert api("run", "--name", "ev1", "busybox", "sh", "-c", "exit 3", check=False).returncode == 3
    api("tag", "busybox", "evtag:v1")
    api("rmi", "evtag:v1")
    api.den("rename", "ev1", "ev2")  # the engine's events, whoever calls it
    api("rm", "ev2")
    now = str(int(time.time()) + 1)
    evs = events(api, "--since", str(int(t0) - 1), "--until", now)
    acts = [(e["Type"], e["Action"]) for e in evs]
    ctr = [a for t, a in acts if t == "container"]
    assert ctr[:3] == ["create", "start", "die"] and ctr[-2:] == ["rename", "destroy"], acts
    die = [e for e in evs if e["Action"] == "die"][0]
    assert die["Actor"]["Attributes"]["exitCode"] == "3" and die["Actor"]["Attributes"]["image"] == "busybox"
    assert die["Actor"]["Attributes"]["name"] == "ev1"
    ren = [e for e in evs if e["Action"] == "rename"][0]["Actor"]["Attributes"]
    assert ren["name"] == "ev2" and ren["oldName"] == "ev1"
    img = [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in evs if e["Type"] == "image"]
    assert ("tag", "docker.io/library/evtag:v1") in img and ("untag", "docker.io/library/evtag:v1") in img
    # every event once: the die too
    assert ctr.count("die") == 1
    only = events(api, "--since", "0", "--until", now, "--filter", "type=image")
    assert only and all(e["Type"] == "image" for e in only)
    only = events(api, "--since", "0", "--until", now, "--filter", "event=die", "--filter", "container=ev1")
    assert [e["Action"] for e in only] == ["die"]
    assert events(api, "--since", "0", "--until", now, "--filter", "container=nosuch") == []
    # the docker CLI's own lines
    text = api("events", "--since", "0", "--until", now, "--filter", "event=die").stdout
    assert "container die" in text and "exitCode=3" in text
    status, _, body = api.http("GET", "/events?since=yesterday")
    assert status == 400
    status, _, body = api.http("GET", "/events?until=1&filters=" + '{"label":["a=b"]}'.replace('"', "%22"))
    assert status == 400 and b"label" in body


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        return int([ln for ln in f if ln.startswith("Threads:")][0].split()[1])


def test_events_follow_while_a_container_runs(api):
    env = api.env
    before = threads(api.proc.pid)
    # --since: the past up to now, then what comes (however long the CLI takes to connect)
    f = subprocess.Popen([DOCKER, "events", "--format", "{{json .}}", "--filter", "type=container",
                          "--since", str(int(time.time()) - 1)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(0.3)
        cid = api("run", "-d", "busybox", "sleep", "30").stdout.strip()
        api("stop", "-t", "1", cid)
        seen, end = [], time.time() + 20
        while time.time() < end and "stop" not in seen:
            e = json.loads(f.stdout.readline())
            if e["id"] == cid:
                seen.append(e["Action"])
        log = [(json.loads(ln)["Action"], json.loads(ln)["Actor"]["Attributes"].get("exitCode"), json.loads(ln)["timeNano"])
               for ln in open(os.path.join(os.path.dirname(api.env["DOCKER_CONFIG"]), "store", "events"))
               if json.loads(ln)["id"] == cid]
        assert seen[:2] == ["create", "start"] and "die" in seen and seen[-1] == "stop", (seen, log)
    finally:
        f.terminate()
        f.wait(timeout=10)
    # the follow ends with its client; the service serves on
    assert api("version", "--format", "{{.Server.Version}}").stdout.strip()
    end = time.time() + 10
    while threads(api.proc.pid) > before and time.time() < end:
        time.sleep(0.2)
    assert threads(api.proc.pid) <= before, "a follow outlived its client"
    # python's docker client: a past window, then a live one
    code = ("import docker, sys, time\n"
            "c = docker.DockerClient(base_url='unix://' + sys.argv[1])\n"
            "past = list(c.events(decode=True, since=0, until=int(time.time()) + 1))\n"
            "assert any(e['Action'] == 'stop' for e in past), past\n"
            "live = c.events(decode=True, filters={'event': ['destroy']})\n"
            "c.containers.run('busybox', 'true', remove=True)\n"
            "print(next(live)['Action'])\n")
    p = subprocess.run(["/usr/bin/python3", "-c", code, api.sock], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "destroy", p.stderr


def test_events_log_is_capped(api):
    root = os.path.dirname(api.env["DOCKER_CONFIG"])
    log = os.path.join(root, "store", "events")
    # a log past its cap is rotated by the next event
    with open(log, "a") as f:
        line = json.dumps({"Type": "container", "Action": "old", "Actor": {"ID": "x", "Attributes": {}},
                           "time": 1, "timeNano": 1000000000})
        f.write((line + "\n") * (1100000 // (len(line) + 1)))
    api("tag", "busybox", "after:rotate")
    assert os.path.getsize(log) < 4096 and os.path.exists(log + ".1")
    evs = events(api, "--since", "0", "--until", str(int(time.time()) + 1), "--filter", "type=image")
    assert ("tag", "docker.io/library/after:rotate") in [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in evs]


def test_system_df_networks_volumes(api):
    api("run", "--name", "dfc", "busybox", "true")
    out = api("system", "df").stdout
    assert out.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"]
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines()[1:]}
    assert rows["Images"][1:3] == ["1", "1"] and rows["Containers"][1] == "1" and rows["Local"][2] == "0"
    status, _, body = api.http("GET", "/system/df")
    df = json.loads(body)
    assert status == 200 and df["LayersSize"] > 0 and df["Volumes"] == [] and df["BuildCache"] == []
    nets = api("network", "ls", "--format", "{{.Name}} {{.Driver}}").stdout.splitlines()
    assert sorted(nets) == ["bridge bridge", "host host", "none null"]
    n = json.loads(api("network", "inspect", "host").stdout)[0]
    assert n["Name"] == "host" and n["Scope"] == "local" and len(n["Id"]) == 64
    assert json.loads(api("network", "inspect", n["Id"][:12]).stdout)[0]["Name"] == "host"
    p = api("network", "inspect", "nosuch", check=False)
    assert p.returncode != 0 and "not found" in p.stderr
    p = api("network", "create", "mine", check=False)
    assert p.returncode != 0 and "not manage user-defined networks" in p.stderr
    assert api.http("DELETE", "/networks/bridge")[0] == 501
    assert api("volume", "ls", "-q").stdout.strip() == ""
    # volumes are there (test_api_volumes.py): one made shows in the list
    assert api("volume", "create", "v1").stdout.strip() == "v1"
    assert api("volume", "ls", "-q").stdout.split() == ["v1"]
