# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve's volumes through docker's CLI, python3-docker and docker-compose 1.29:
docker volume create/ls/inspect/rm/prune, docker run -v NAME:/p and --mount
type=volume|tmpfs, anonymous volumes and docker rm -v, --volumes-from, docker system df -v,
and a compose file whose two services share a named volume."""
import json
import os
import subprocess
import time

import pytest

from apiserve import COMPOSE, api, compose_in  # noqa: F401 (api: the fixture)
from conftest import derived_image



def names(api, *args):
    return sorted(api("volume", "ls", "-q", *args).stdout.split())


def test_volume_create_ls_inspect_rm_prune(api):
    assert api("volume", "create", "--label", "tier=db", "--label", "keep", "v1").stdout.strip() == "v1"
    # idempotent, as docker's
    assert api("volume", "create", "v1").stdout.strip() == "v1"
    api("volume", "create", "-o", "type=tmpfs", "-o", "o=size=1m", "vtmp")
    anon = api("volume", "create").stdout.strip()
    assert len(anon) == 64
    assert names(api) == sorted(["v1", "vtmp", anon])
    assert names(api, "-f", "name=tm") == ["vtmp"]
    assert names(api, "-f", "label=tier=db") == ["v1"]
    assert names(api, "-f", "label=tier=web") == []
    assert names(api, "-f", "label=tier", "-f", "label=keep") == ["v1"]
    assert names(api, "-f", "driver=local", "-f", "name=v1") == ["v1"]
    assert names(api, "-f", "dangling=true") == sorted(["v1", "vtmp", anon])
    assert names(api, "-f", "dangling=false") == []
    table = api("volume", "ls").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"] and ["local", "v1"] in [ln.split() for ln in table]
    v = json.loads(api("volume", "inspect", "v1").stdout)[0]
    assert v["Name"] == "v1" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"tier": "db", "keep": ""} and v["Mountpoint"].endswith("/volumes/v1/_data")
    assert os.path.isdir(v["Mountpoint"])
    assert json.loads(api("volume", "inspect", "vtmp").stdout)[0]["Options"] == {"type": "tmpfs", "o": "size=1m"}
    p = api("volume", "inspect", "nosuch", check=False)
    assert p.returncode != 0 and "get nosuch: no such volume" in p.stderr
    # raw: the shapes and codes of dockerd
    status, _, body = api.http("GET", "/volumes")
    lst = json.loads(body)
    assert status == 200 and lst["Warnings"] is None and len(lst["Volumes"]) == 3
    status, _, body = api.http("POST", "/volumes/create", json.dumps({"Name": "raw", "Labels": {"a": "b"}}),
                               {"Content-Type": "application/json"})
    assert status == 201 and json.loads(body)["Labels"] == {"a": "b"}
    status, _, body = api.http("POST", "/volumes/create", json.dumps({"Name": "-bad"}))
    assert status == 400 and b"invalid volume name" in body
    status, _, body = api.http("POST", "/volumes/create", json.dumps({"Name": "x2", "Driver": "nfs"}))
    assert status == 400 and b"nfs" in body
    status, _, body = api.http("POST", "/volumes/create", json.dumps({"Name": "v1", "DriverOpts": {"type": "tmpfs"}}))
    assert status == 409, body
    assert api.http("GET", "/volumes?filters=" + "%7B%22color%22%3A%5B%22x%22%5D%7D")[0] == 400
    assert api.http("DELETE", "/volumes/nosuch")[0] == 404
    assert api.http("DELETE", "/volumes/nosuch?force=1")[0] == 204
    api("volume", "rm", "raw")
    p = api("volume", "rm", "raw", check=False)
    assert p.returncode != 0 and "no such volume" in p.stderr
    # prune: the anonymous ones only, unless all
    out = api("volume", "prune", "-f").stdout
    assert anon in out and names(api) == ["v1", "vtmp"]
    status, _, body = api.http("POST", "/volumes/prune?filters=" + "%7B%22all%22%3A%5B%22true%22%5D%2C%22label%22"
                               "%3A%5B%22tier%3Ddb%22%5D%7D")
    rep = json.loads(body)
    assert status == 200 and rep["VolumesDeleted"] == ["v1"] and rep["SpaceReclaimed"] >= 0
    # a client of API 1.42 on: prune -a
    env = dict(api.env, DOCKER_API_VERSION="1.43")
    p = subprocess.run(["docker", "volume", "prune", "-a", "-f"], env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "vtmp" in p.stdout, p.stderr
    assert names(api) == []


def df_volumes(api):
    """docker system df -v's volumes: {name: (links, size)}"""
    out = api("system", "df", "-v").stdout
    part = out.split("Local Volumes space usage:")[1].split("Build cache")[0]
    rows = [ln.split() for ln in part.strip().splitlines()[1:] if ln.strip()]
    return {r[0]: (int(r[1]), r[2]) for r in rows}


def test_run_named_volume_ro_in_use_and_df(api):
    api("run", "--name", "w", "-v", "data:/p", "busybox", "sh", "-c", "echo kept > /p/f; head -c 100000 /dev/zero > /p/big")
    assert api("volume", "ls", "-q").stdout.split() == ["data"]  # made on first use
    assert api("run", "--rm", "-v", "data:/q:ro", "busybox", "cat", "/q/f").stdout == "kept\n"
    p = api("run", "--rm", "-v", "data:/q:ro", "busybox", "sh", "-c", "echo x > /q/g", check=False)
    assert p.returncode != 0 and "Read-only" in p.stderr
    info = json.loads(api("inspect", "w").stdout)[0]
    vol = json.loads(api("volume", "inspect", "data").stdout)[0]
    [m] = info["Mounts"]
    assert m["Type"] == "volume" and m["Name"] == "data" and m["Destination"] == "/p" and m["RW"] is True
    assert m["Source"] == vol["Mountpoint"] and m["Driver"] == "local"
    assert open(os.path.join(vol["Mountpoint"], "f")).read() == "kept\n"
    # in use (by a stopped container too): refused, naming it, even with -f
    for args in (["rm"], ["rm", "-f"]):
        p = api("volume", *args, "data", check=False)
        assert p.returncode != 0 and "volume is in use" in p.stderr and info["Id"] in p.stderr, p.stderr
    assert api.http("DELETE", "/volumes/data")[0] == 409
    assert api("volume", "ls", "-q", "-f", "dangling=false").stdout.split() == ["data"]
    status, _, body = api.http("GET", "/system/df")
    [dv] = json.loads(body)["Volumes"]
    assert status == 200 and dv["Name"] == "data" and dv["UsageData"]["RefCount"] == 1
    assert dv["UsageData"]["Size"] >= 100000
    links, size = df_volumes(api)["data"]
    assert links == 1 and size.endswith("kB")
    rows = {ln.split()[0]: ln.split() for ln in api("system", "df").stdout.splitlines()[1:]}
    assert rows["Local"][2:4] == ["1", "1"]
    api("rm", "w")
    api("volume", "rm", "data")
    assert api("volume", "ls", "-q").stdout.strip() == ""


def test_mount_volume_anonymous_tmpfs_and_rm_v(api):
    cid = api("create", "--mount", "type=volume,src=named,dst=/n", "--mount", "type=volume,dst=/a",
              "-v", "/anon2", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
              "busybox", "sh", "-c", "grep ' /t ' /proc/mounts; stat -c %a /t; touch /n/x /a/x /anon2/x").stdout.strip()
    api("start", "-a", cid)
    out = api("logs", cid).stdout
    assert "size=1024k" in out and "1770" in out, out
    info = json.loads(api("inspect", cid).stdout)[0]
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/n"]["Name"] == "named" and mounts["/n"]["Type"] == "volume"
    anon = {mounts["/a"]["Name"], mounts["/anon2"]["Name"]}
    assert all(len(n) == 64 for n in anon)
    assert info["Config"]["Volumes"] == {"/a": {}, "/anon2": {}}
    assert set(api("volume", "ls", "-q").stdout.split()) == anon | {"named"}
    # readonly and nocopy reach the mount
    p = api("run", "--rm", "--mount", "type=volume,src=named,dst=/n,readonly,volume-nocopy", "busybox", "sh", "-c",
            "ls /n; touch /n/y", check=False)
    assert p.returncode != 0 and "x" in p.stdout and "Read-only" in p.stderr, (p.stdout, p.stderr)
    # rm -v: its anonymous volumes go, the named one stays
    api("rm", "-v", cid)
    assert api("volume", "ls", "-q").stdout.split() == ["named"]
    # without -v they stay (and prune takes them)
    cid = api("create", "-v", "/keep", "busybox", "true").stdout.strip()
    api("rm", cid)
    assert len(api("volume", "ls", "-q").stdout.split()) == 2
    api("volume", "prune", "-f")
    assert api("volume", "ls", "-q").stdout.split() == ["named"]
    p = api("run", "--rm", "--mount", "type=volume,src=/abs,dst=/x", "busybox", "true", check=False)
    assert p.returncode != 0
    # VolumeOptions: a volume made with its labels and driver options
    api("run", "--rm", "--mount", "type=volume,src=made,dst=/m,volume-label=by=mount,volume-opt=type=tmpfs",
        "busybox", "true")
    v = json.loads(api("volume", "inspect", "made").stdout)[0]
    assert v["Labels"] == {"by": "mount"} and v["Options"] == {"type": "tmpfs"}
    # HostConfig.Tmpfs with its options (docker run --tmpfs DIR:OPTS)
    out = api("run", "--rm", "--tmpfs", "/t2:size=2m,mode=700", "busybox", "sh", "-c",
              "grep ' /t2 ' /proc/mounts; stat -c %a /t2").stdout
    assert "size=2048k" in out and out.endswith("\n700\n"), out


def test_volumes_from(api):
    api("create", "--name", "holder", "-v", "shared:/s", "-v", "/anon", "busybox", "true")
    api("run", "--rm", "--volumes-from", "holder", "busybox", "sh", "-c", "echo one > /s/f; echo two > /anon/f")
    out = api("run", "--rm", "--volumes-from", "holder:ro", "busybox", "sh", "-c",
              "cat /s/f /anon/f; touch /s/g", check=False)
    assert out.returncode != 0 and out.stdout == "one\ntwo\n" and "Read-only" in out.stderr, (out.stdout, out.stderr)
    p = api("run", "--rm", "--volumes-from", "nosuch", "busybox", "true", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr
    # ps: a container's mounts, and the volume filter (a volume's name, or a mount's destination)
    api("create", "--name", "other", "busybox", "true")
    assert api("ps", "-a", "--filter", "volume=shared", "--format", "{{.Names}}").stdout.split() == ["holder"]
    assert api("ps", "-a", "--filter", "volume=/anon", "--format", "{{.Names}}").stdout.split() == ["holder"]
    assert api("ps", "-a", "--filter", "volume=nothing", "-q").stdout.strip() == ""
    assert "shared" in api("ps", "-a", "--filter", "name=holder", "--format", "{{.Mounts}}").stdout


def test_image_volume_copied_up_and_autoremove_takes_it(api, tmp):
    def vol(cfg):
        cfg["config"]["Volumes"] = {"/iv": {}}
    derived_image(api.den, "busybox", tmp, "withvol", layers=[{"iv/seed": b"from-image\n"}], config=vol)
    cid = api("create", "localhost/withvol", "cat", "/iv/seed").stdout.strip()
    api("start", "-a", cid)
    assert api("logs", cid).stdout == "from-image\n"
    info = json.loads(api("inspect", cid).stdout)[0]
    [m] = info["Mounts"]
    assert m["Destination"] == "/iv" and m["Type"] == "volume" and len(m["Name"]) == 64
    assert open(os.path.join(m["Source"], "seed")).read() == "from-image\n"
    assert api("volume", "ls", "-q").stdout.split() == [m["Name"]]
    # --rm (AutoRemove) takes its anonymous volumes with it, as dockerd; a named one at the same path wins
    api("rm", "-v", cid)
    assert api("run", "--rm", "localhost/withvol", "cat", "/iv/seed").stdout == "from-image\n"
    end = time.time() + 10
    while api("volume", "ls", "-q").stdout.strip() and time.time() < end:
        time.sleep(0.1)
    assert api("volume", "ls", "-q").stdout.strip() == ""
    api("run", "--rm", "-v", "mine:/iv", "localhost/withvol", "true")
    assert api("volume", "ls", "-q").stdout.split() == ["mine"]


def test_python_docker_volumes(api):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url="unix://" + api.sock)
    v = c.volumes.create("pyvol", labels={"by": "py"})
    assert v.name == "pyvol" and v.attrs["Labels"] == {"by": "py"}
    out = c.containers.run("busybox", ["sh", "-c", "echo py > /d/f; cat /d/f"], volumes={"pyvol": {"bind": "/d",
                                                                                               "mode": "rw"}},
                           remove=True)
    assert out == b"py\n"
    assert [x.name for x in c.volumes.list(filters={"label": "by=py"})] == ["pyvol"]
    assert c.volumes.get("pyvol").attrs["Mountpoint"].endswith("/pyvol/_data")
    with pytest.raises(docker.errors.NotFound):
        c.volumes.get("nosuch")
    c.volumes.get("pyvol").remove()
    assert c.volumes.list() == []
    c.close()


@pytest.mark.skipif(not COMPOSE, reason="docker-compose is not installed")
def test_compose_named_volume_shared_by_two_services(api, tmp):
    proj = os.path.join(tmp, "proj")
    os.mkdir(proj)
    with open(os.path.join(proj, "docker-compose.yml"), "w") as f:
        f.write("""version: "3"
services:
  writer:
    image: busybox
    command: ["sh", "-c", "echo from-writer > /data/f; exec sleep 300"]
    volumes:
      - data:/data
    network_mode: none
  reader:
    image: busybox
    command: ["sh", "-c", "exec sleep 300"]
    volumes:
      - data:/shared:ro
    network_mode: none
volumes:
  data:
""")

    compose = compose_in(api, proj)

    compose("up", "-d")
    v = json.loads(api("volume", "inspect", "proj_data").stdout)[0]
    assert v["Labels"]["com.docker.compose.project"] == "proj" and v["Labels"]["com.docker.compose.volume"] == "data"
    end = time.time() + 15
    while time.time() < end:
        p = api("exec", "proj_reader_1", "cat", "/shared/f", check=False)
        if p.stdout == "from-writer\n":
            break
        time.sleep(0.2)
    assert p.stdout == "from-writer\n", p.stderr
    p = api("exec", "proj_reader_1", "touch", "/shared/g", check=False)
    assert p.returncode != 0
    # down keeps the volume, down -v removes it
    compose("down")
    assert api("volume", "ls", "-q").stdout.split() == ["proj_data"]
    compose("up", "-d")
    assert api("exec", "proj_reader_1", "cat", "/shared/f").stdout == "from-writer\n"
    compose("down", "-v")
    assert api("volume", "ls", "-q").stdout.strip() == "" and api("ps", "-aq").stdout.strip() == ""
