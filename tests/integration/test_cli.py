# SPDX-License-Identifier: GPL-2.0-or-later
"""den's commands as docker and podman users expect them (issue 12): --help on
every verb, options named when wrong, run -d's output and errors in the user's
words, --pull, ps and images columns, import's id, export and logs."""
import json
import os
import re
import time

import pytest

from conftest import make_rootfs, tar_as_root
from test_den_run import den, image  # noqa: F401 (fixtures)

VERBS_WITH_OPERANDS = ["stop", "rm", "kill", "wait", "start", "export", "rename", "tag", "rmi", "inspect", "commit",
                       "port", "cp", "logs", "exec", "run", "create", "import", "pull", "push", "login", "logout",
                       "save", "load", "ps", "images"]


@pytest.mark.parametrize("verb", VERBS_WITH_OPERANDS)
def test_every_verb_answers_help(den, verb):
    p = den(verb, "--help", check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"usage: den {verb}"), p.stdout
    assert "no such" not in p.stdout + p.stderr
    assert den(verb, "-h", check=False).stdout == p.stdout


HELP_FLAGS = {
    "stop": ["-t, --time"], "kill": ["-s, --signal"], "rm": ["-f, --force"], "start": ["-a, --attach"],
    "export": ["-o, --output"], "ps": ["-a, --all", "-q, --quiet"],
    "run": ["--pull", "--rm", "-d", "--name", "-e", "--env-file", "-w", "-u", "-v", "--tmpfs", "--read-only",
            "--network", "-p", "-P", "--hostname", "--entrypoint", "--security-opt"],
    "inspect": ["-f, --format"],
    "exec": ["-d, --detach", "-i, --interactive", "-t, --tty", "-e, --env", "-w, --workdir", "-u, --user"],
    "load": ["-i, --input", "-q, --quiet"], "logs": ["-f, --follow", "-n, --tail"],
    "pull": ["--platform", "--parallel", "-q, --quiet", "--tls-verify"],
}


@pytest.mark.parametrize("verb", sorted(HELP_FLAGS))
def test_help_lists_the_flags(den, verb):
    out = den(verb, "--help").stdout
    for flag in HELP_FLAGS[verb]:
        assert flag in out, (verb, flag, out)


def test_run_help_says_the_network_is_none(den):
    assert "--network none" in den("run", "--help").stdout or "network is none" in den("run", "--help").stdout


@pytest.mark.parametrize("argv,opt", [(["rm", "-a", "x"], "-a"), (["stop", "--bogus", "x"], "--bogus"),
                                      (["rm", "-af", "x"], "-a"), (["run", "--bogus", "img"], "--bogus"),
                                      (["images", "-z"], "-z"), (["kill", "-s"], "-s")])
def test_an_unknown_option_is_named_not_read_as_a_container(den, argv, opt):
    p = den(*argv, check=False)
    assert p.returncode == 2
    assert f"'{opt}'" in p.stderr, p.stderr
    assert "no such container" not in p.stderr


def test_inspect_format_before_the_operand(den, image):
    cid = den("create", image, "sleep", "5").stdout.strip()
    assert den("inspect", "-f", "{{.Id}}", cid).stdout.strip() == cid
    assert den("inspect", "--format", "{{.State.Status}} {{.Name}}", cid).stdout.strip().startswith("created den-")
    assert den("inspect", "--format={{.Id}}", image).stdout.startswith("sha256:")


def test_run_d_prints_the_id_only_once_it_runs(den, image, tmp):
    missing = os.path.join(tmp, "nothing-here")
    p = den("run", "-d", "-v", f"{missing}:/data", image, "sleep", "5", check=False)
    assert p.returncode == 125 and p.stdout == ""
    assert p.stderr.strip() == f"den: -v {missing}:/data: {missing} does not exist"
    assert "config.json" not in p.stderr and "mounts[" not in p.stderr
    p = den("run", "-d", image, "/no/such/program", check=False)
    assert p.returncode != 0 and p.stdout == ""
    assert den("ps", "-a", "-q").stdout.split() == []
    cid = den("run", "-d", image, "sleep", "5").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert den("inspect", "-f", "{{.State.Status}}", cid).stdout.strip() == "running"


def test_publish_with_host_network_names_host(den, image):
    p = den("run", "-d", "-p", "8080:80", "--network", "host", image, "sleep", "5", check=False)
    assert p.returncode == 125
    assert "not --network host" in p.stderr, p.stderr


def test_expose_without_publish_says_the_network_is_none(den, image, tmp):
    from conftest import derived_image

    def expose(cfg):
        cfg.setdefault("config", {})["ExposedPorts"] = {"80/tcp": {}}
    derived_image(den, image, tmp, "web", config=expose)
    p = den("run", "-d", "web", "sleep", "5")
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "network is none" in lines[0] and "80/tcp" in lines[0], p.stderr
    assert re.fullmatch(r"[0-9a-f]{64}", p.stdout.strip())
    # none without EXPOSE, nor when a network is named
    assert den("run", "-d", image, "sleep", "5").stderr == ""
    assert "network is none" not in den("run", "-d", "--network", "host", "web", "sleep", "5").stderr


REGISTRY = __import__("shutil").which("docker-registry")


@pytest.mark.skipif(not REGISTRY, reason="docker-registry is not installed")
def test_run_pulls_a_missing_image(den, image, tmp):
    from test_registry import HTTP, Registry, fresh
    reg = Registry(tmp, "reg")
    try:
        ref = f"{reg.host}/cli/bb:1"
        den("push", *HTTP, image, ref)
        f = fresh(den, tmp)
        p = f("run", "--pull", "never", "--rm", ref, "echo", "hi", check=False)
        assert p.returncode == 125 and "not found" in p.stderr
        p = f("run", "--rm", *HTTP, ref, "echo", "hello")
        assert p.stdout == "hello\n"
        assert f"Unable to find image '{ref}' locally" in p.stderr and "done" in p.stderr, p.stderr
        # there now: no pull
        p = f("run", "--rm", ref, "echo", "again")
        assert p.stdout == "again\n" and p.stderr == ""
        p = f("create", "--pull=always", *HTTP, ref, "true")
        assert "exists" in p.stderr and re.fullmatch(r"[0-9a-f]{64}\n", p.stdout)
        assert f("run", "--pull", "sometimes", ref, check=False).returncode == 2
    finally:
        reg.kill()


def columns(out):
    """den ps/images' lines, each split where the header's columns begin"""
    lines = out.splitlines()
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S+(?: \S+)*", lines[0])]
    return [[l[a:b].strip() for a, b in zip(starts, starts[1:] + [None])] for l in lines]


def test_ps_columns_as_docker_words_them(den, image):
    first = den("run", "-d", image, "sh", "-c", "exit 3").stdout.strip()
    den("wait", first)
    time.sleep(1.1)
    second = den("run", "-d", "--name", "a-rather-long-container-name", image, "sh", "-c",
                 "sleep 30; echo a command longer than twenty columns").stdout.strip()
    out = den("ps", "-a").stdout
    rows = columns(out)
    assert rows[0] == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], out
    # newest first
    assert [r[0] for r in rows[1:]] == [second[:12], first[:12]], out
    assert rows[1][2] == '"sh -c sleep 30; ech…"' and len(rows[1][2]) == 22
    assert rows[1][3].endswith(" ago") and re.fullmatch(r"Up (Less than a second|\d+ seconds?)", rows[1][4]), rows[1]
    assert re.fullmatch(r"Exited \(3\) (Less than a second|\d+ seconds?) ago", rows[2][4]), rows[2]
    assert rows[1][6] == "a-rather-long-container-name" and rows[2][6] == "den-" + first[:12]
    # only running ones without -a
    assert [r[0] for r in columns(den("ps").stdout)[1:]] == [second[:12]]


def test_images_sizes_and_long_names_aligned_and_import_prints_its_id(den, image, tmp):
    long = "registry.example.org:5000/a/rather/long/repository/name:and-a-long-tag"
    den("tag", image, long)
    rootfs = os.path.join(tmp, "second")
    make_rootfs(rootfs)
    imported = den("import", tar_as_root(rootfs, os.path.join(tmp, "second.tar")), "second").stdout.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", imported)
    out = den("images").stdout
    rows = columns(out)
    assert rows[0] == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], out
    by_repo = {r[0]: r for r in rows[1:]}
    assert by_repo["registry.example.org:5000/a/rather/long/repository/name"][1] == "and-a-long-tag"
    # the id import printed is the one images shows (docker: the config digest)
    assert by_repo["localhost/second"][2] == imported[7:19]
    assert imported[7:19] in den("images", "-q").stdout.split()
    assert json.loads(den("inspect", "second").stdout)[0]["Id"] == imported
    for r in rows[1:]:
        assert re.fullmatch(r"\d+(\.\d+)? (B|kB|MB|GB)", r[4]), r
        assert r[3].endswith(" ago"), r


def test_export_leaves_a_running_container_running(den, image, tmp):
    cid = den("run", "-d", image, "sh", "-c", "sleep 2; exit 6").stdout.strip()
    out = os.path.join(tmp, "r.tar")
    den("export", "-o", out, cid)
    assert os.path.getsize(out) > 0
    assert den("inspect", "-f", "{{.State.Status}}", cid).stdout.strip() == "running"
    assert den("wait", cid).stdout.strip() == "6"
    assert den("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid).stdout.strip() == "exited 6"


def test_export_of_a_stopped_container_cut_short_leaves_it_exited(den, image):
    import subprocess
    cid = den("run", "-d", image, "sh", "-c", "exit 4").stdout.strip()
    den("wait", cid)
    # the reader goes away early: den export ends by SIGPIPE, its keeper with it
    p = subprocess.run(["sh", "-c", f"{' '.join(den.cmd('export', cid))} | head -c 100 >/dev/null"], timeout=60)
    assert p.returncode == 0
    deadline = time.time() + 5
    while den("inspect", "-f", "{{.State.Status}}", cid).stdout.strip() != "exited" and time.time() < deadline:
        time.sleep(0.1)
    assert den("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid).stdout.strip() == "exited 4"
    assert re.match(r"Exited \(4\) ", columns(den("ps", "-a").stdout)[1][4])


def test_logs_of_a_foreground_container_says_it_keeps_none(den, image):
    den("run", "--name", "fg", image, "echo", "to the terminal")
    p = den("logs", "fg")
    assert p.stdout == "" and "ran in the foreground" in p.stderr and "keeps no log" in p.stderr
    den("create", "--name", "notyet", image, "echo", "x")
    assert "has not run yet" in den("logs", "notyet").stderr
    den("run", "-d", "--name", "bg", image, "echo", "kept")
    den("wait", "bg")
    p = den("logs", "bg")
    assert p.stdout == "kept\n" and p.stderr == ""


def test_a_stopped_container_shows_exited_while_an_export_runs(den, image):
    import signal
    import subprocess
    cid = den("run", "-d", image, "sh", "-c", "exit 2").stdout.strip()
    den("wait", cid)
    exp = subprocess.Popen(den.cmd("export", cid), stdout=subprocess.PIPE)  # nobody reads: it stays mid-export
    try:
        deadline = time.time() + 10
        pidfile = os.path.join(den.runroot, "containers", cid, "keeper.pid")
        while time.time() < deadline and "temporary" not in (open(pidfile).read() if os.path.exists(pidfile) else ""):
            time.sleep(0.1)
        assert "temporary" in open(pidfile).read()
        assert den("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid).stdout.strip() == "exited 2"
        keeper = int(open(pidfile).read().split()[0])
    finally:
        exp.send_signal(signal.SIGTERM)
        exp.wait(timeout=10)
    deadline = time.time() + 5
    while os.path.exists(f"/proc/{keeper}") and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{keeper}"), "the export's keeper outlived den export"
