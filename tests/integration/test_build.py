# SPDX-License-Identifier: GPL-2.0-or-later
"""den build (issue 13): a corpus of Dockerfiles and contexts written here, each
built with `den build` and run with `den run --rm`, asserting what it prints;
the cache, secrets that never reach the image, reproducible digests, errors
that leave no image; and interop: a built image pushed to a local
docker-registry runs under podman, and buildah gives the same config fields.

Where den's progress format is not pinned down by the issue, the assertions
are loose: 'CACHED' on a step's line, 'Dockerfile:LINE' in an error."""
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time

import pytest

from conftest import ROOT, has_subids, link_applets, make_rootfs, tar_as_root
from test_den_run import den  # noqa: F401 (fixture)

DEBIAN = os.environ.get("DEN_TEST_DEBIAN_BUILDD", "/var/cache/den/bookworm-buildd.tar")
EPOCH = 1700000000  # 2023-11-14T22:13:20Z
# a uid other than 0 in a layer needs a full id map: root, or a user with sub-ids
MANY_IDS = ROOT or has_subids()
needs_ids = pytest.mark.skipif(not MANY_IDS, reason="ids other than 0 need sub-ids (a single-id map holds only 0)")


# ---------------------------------------------------------------- helpers

@pytest.fixture
def busybox(den, tmp):
    """the busybox test image with every applet linked in /bin, /etc/passwd and /etc/group;
    imported as busybox (localhost/busybox:latest)"""
    rootfs = os.path.join(tmp, "bbroot")
    make_rootfs(rootfs)
    link_applets(rootfs)
    open(os.path.join(rootfs, "etc", "passwd"), "w").write("root:x:0:0:root:/root:/bin/sh\n")
    open(os.path.join(rootfs, "etc", "group"), "w").write("root:x:0:\n")
    den("import", tar_as_root(rootfs, os.path.join(tmp, "bbroot.tar")), "busybox")
    return "busybox"


def context(tmp, files, name="ctx"):
    """a build context: {relative path: str or bytes}; returns its absolute path"""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    for rel, data in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    return d


def build(den, ctx, *args, tag="t", check=True, timeout=300, **kw):
    """den build -t TAG ARGS CONTEXT; output is stdout + stderr (where progress goes is den's choice)"""
    argv = ["build"] + (["-t", tag] if tag else []) + list(args) + [ctx]
    kw.setdefault("capture_output", True)
    p = subprocess.run(den.cmd(*argv), text=True, timeout=timeout, **kw)
    p.output = (p.stdout or "") + (p.stderr or "")
    if check and p.returncode != 0:
        raise AssertionError(f"den {' '.join(argv)}: {p.returncode}:\n{p.output}")
    return p


def run(den, image, *cmd, **kw):
    """den run --rm IMAGE CMD...; its stdout"""
    return den("run", "--rm", image, *cmd, **kw).stdout


def config(den, name):
    """the image's OCI config (the whole JSON: config, history, rootfs, created)"""
    return json.loads(den("inspect", name).stdout)[0]["Config"]


def image_id(den, name):
    return json.loads(den("inspect", name).stdout)[0]["Id"]


def images(den):
    """den images as (repository, tag, id) rows, without the time columns that move"""
    return sorted(tuple(l.split()[:3]) for l in den("images").stdout.splitlines()[1:] if l.strip())


def lines_with(out, text):
    return [l for l in out.splitlines() if text in l]


def cached(out, text):
    """the progress line of the step `text` carries a CACHED mark"""
    return any("CACHED" in l for l in lines_with(out, text))


def assert_fails_cleanly(den, p, line, *names, before):
    """a one-line error naming Dockerfile:LINE and each of names, non-zero exit, no image, no container"""
    assert p.returncode != 0, p.output
    err = p.stderr.strip()
    assert err and len(err.splitlines()) == 1, f"not a one-line error:\n{p.stderr}"
    assert f"Dockerfile:{line}" in err, err
    for n in names:
        assert n.lower() in err.lower(), err
    assert images(den) == before
    assert den("inspect", "bad", check=False).returncode != 0
    assert den("ps", "-a", "-q").stdout.split() == []


class Listener:
    """counts TCP connections on 127.0.0.1: a RUN that connects shows whether it ran"""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.count += 1
            c.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def archive_members(path):
    """every file of a tar, recursively through layer tarballs (gzip and zstd decompressed):
    yields (name, bytes)"""
    def walk(prefix, fileobj):
        with tarfile.open(fileobj=fileobj, mode="r:") as t:
            for m in t:
                if not m.isfile():
                    yield prefix + m.name, (m.linkname or "").encode()
                    continue
                data = t.extractfile(m).read()
                name = prefix + m.name
                if data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)
                elif data[:4] == b"\x28\xb5\x2f\xfd":
                    data = subprocess.run(["zstd", "-d", "-c"], input=data, capture_output=True, check=True).stdout
                yield name, data
                if len(data) >= 512 and data[257:262] == b"ustar":
                    yield from walk(name + "!", io.BytesIO(data))
    with open(path, "rb") as f:
        yield from walk("", f)


def files_containing(top, needle):
    """the readable files under top whose bytes contain needle"""
    hits = []
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            try:
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                with open(p, "rb") as f:
                    if needle in f.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


# ---------------------------------------------------------------- the basics

def test_run_echo_and_cmd(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "# syntax=docker/dockerfile:1\n"
                                      "FROM busybox\n"
                                      "RUN echo built by den > /hello\n"
                                      'CMD ["cat", "/hello"]\n'})
    p = build(den, ctx, "--progress", "plain", tag="hello")
    assert "syntax" in p.output  # accepted, with a notice that it is ignored
    assert run(den, "hello") == "built by den\n"
    assert run(den, "hello", "sh", "-c", "cat /hello; echo ok") == "built by den\nok\n"
    assert ("localhost/hello", "latest") in [r[:2] for r in images(den)]


def test_quiet_iidfile_and_label(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nRUN echo q > /q\n"})
    iid = os.path.join(tmp, "iid")
    p = build(den, ctx, "-q", "--iidfile", iid, "--label", "org.example.k=v 1", tag="quiet")
    full = image_id(den, "quiet")
    assert open(iid).read().strip() == full
    # -q: the image id and nothing else
    assert p.stdout.strip() in (full, full[7:]) and p.stderr == ""
    assert config(den, "quiet")["config"]["Labels"]["org.example.k"] == "v 1"


def test_dockerfile_from_stdin_and_context_tar_on_stdin(den, busybox, tmp):
    ctx = context(tmp, {"f.txt": "from the context\n"})
    df = "FROM busybox\nCOPY f.txt /f.txt\nCMD cat /f.txt\n"
    build(den, ctx, "-f", "-", input=df, tag="fstdin")
    assert run(den, "fstdin") == "from the context\n"
    # CONTEXT -: a tar with the Dockerfile in it
    open(os.path.join(ctx, "Dockerfile"), "w").write(df.replace("CMD cat", "CMD echo tar; cat"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for n in ("Dockerfile", "f.txt"):
            t.add(os.path.join(ctx, n), arcname=n)
    p = subprocess.run(den.cmd("build", "-t", "tarstdin", "-"), input=buf.getvalue(), capture_output=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert run(den, "tarstdin") == "tar\nfrom the context\n"


def test_parser_directives_continuations_and_forms(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "# escape=`\n"
                                      "FROM busybox\n"
                                      "# a comment\n"
                                      "RUN echo one `\n"
                                      "# a comment inside a continuation\n"
                                      "    two > /words\n"
                                      'RUN ["/bin/sh", "-c", "echo exec form >> /words"]\n'
                                      "run echo lower case instruction >> /words\n"
                                      'CMD ["cat", "/words"]\n'})
    build(den, ctx)
    assert run(den, "t") == "one two\nexec form\nlower case instruction\n"


# ---------------------------------------------------------------- ARG and ENV

def test_arg_and_env_substitution(den, busybox, tmp):
    ctx = context(tmp, {
        "f.txt": "copied\n",
        "Dockerfile": "ARG BASE=busybox\n"
                      "FROM ${BASE}\n"
                      "ARG BASE\n"
                      "ARG SET=given\n"
                      "ARG UNSET\n"
                      "ARG OVERRIDE=default\n"
                      "ENV A=${UNSET:-fallback} B=${SET:-unused} C=${UNSET:+no} D=${SET:+yes} E=$OVERRIDE\n"
                      "ENV DEST=/opt/by-env\n"
                      "COPY f.txt ${DEST}/f.txt\n"
                      'RUN echo "a=$A b=$B c=[$C] d=$D e=$E base=$BASE" > /vars\n'
                      "CMD cat /vars /opt/by-env/f.txt\n"})
    build(den, ctx, "--build-arg", "OVERRIDE=from-cli")
    assert run(den, "t") == "a=fallback b=given c=[] d=yes e=from-cli base=busybox\ncopied\n"
    env = config(den, "t")["config"]["Env"]
    for kv in ("A=fallback", "B=given", "C=", "D=yes", "E=from-cli", "DEST=/opt/by-env"):
        assert kv in env, env
    # build args are not left in the image's environment
    assert not any(e.startswith(("SET=", "OVERRIDE=", "BASE=")) for e in env), env
    # the default when no --build-arg is given
    build(den, ctx, tag="t2")
    assert run(den, "t2", "cat", "/vars") == "a=fallback b=given c=[] d=yes e=default base=busybox\n"


# ---------------------------------------------------------------- USER, --chown, WORKDIR

@needs_ids
def test_user_and_chown_by_name(den, busybox, tmp):
    ctx = context(tmp, {
        "f.txt": "x\n",
        "Dockerfile": "FROM busybox\n"
                      "RUN echo 'app:x:1234:2345::/home/app:/bin/sh' >> /etc/passwd && "
                      "echo 'appgrp:x:2345:' >> /etc/group && echo 'other:x:3456:' >> /etc/group\n"
                      "COPY --chown=app f.txt /f-app\n"
                      "COPY --chown=app:other f.txt /f-app-other\n"
                      "COPY --chown=1500:1600 f.txt /f-ids\n"
                      "COPY f.txt /f-root\n"
                      "USER app\n"
                      "RUN id -u > /tmp/run-uid && touch /tmp/made-by-app\n"})
    build(den, ctx)
    out = run(den, "t", "sh", "-c", "stat -c %u:%g /f-app /f-app-other /f-ids /f-root /tmp/made-by-app; "
                                    "cat /tmp/run-uid; id -u")
    assert out.split() == ["1234:2345", "1234:3456", "1500:1600", "0:0", "1234:2345", "1234", "1234"]
    assert config(den, "t")["config"]["User"] == "app"
    # the layers hold the container's ids, never the host's (sub-ids or the user's own)
    saved = os.path.join(tmp, "ids.tar")
    den("save", "--format", "docker-archive", "-o", saved, "t")
    owners = {}
    with tarfile.open(saved) as t:
        for layer in json.load(t.extractfile("manifest.json"))[0]["Layers"][1:]:
            data = t.extractfile(layer).read()
            data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            with tarfile.open(fileobj=io.BytesIO(data)) as lt:
                owners.update({m.name.lstrip("./"): (m.uid, m.gid) for m in lt})
    assert owners["f-app"] == (1234, 2345) and owners["f-ids"] == (1500, 1600) and owners["f-root"] == (0, 0), owners
    assert owners["tmp/made-by-app"] == (1234, 2345), owners


def test_chown_to_an_unknown_name_is_an_error(den, busybox, tmp):
    ctx = context(tmp, {"f.txt": "x\n", "Dockerfile": "FROM busybox\nCOPY --chown=nosuchuser f.txt /f\n"})
    before = images(den)
    p = build(den, ctx, "-q", tag="bad", check=False)
    assert p.returncode != 0 and "nosuchuser" in p.stderr and "Dockerfile:2" in p.stderr, p.stderr
    assert images(den) == before


def test_workdir_created_and_relative(den, busybox, tmp):
    ctx = context(tmp, {"f.txt": "rel\n",
                        "Dockerfile": "FROM busybox\n"
                                      "WORKDIR /a/b/c\n"
                                      "WORKDIR d\n"
                                      "RUN pwd > /pwd-at-run\n"
                                      "COPY f.txt rel.txt\n"
                                      "WORKDIR /empty/never/used\n"
                                      "WORKDIR /a/b/c/d\n"
                                      "CMD pwd; cat /pwd-at-run rel.txt; ls -d /empty/never/used\n"})
    build(den, ctx)
    assert run(den, "t") == "/a/b/c/d\n/a/b/c/d\nrel\n/empty/never/used\n"
    assert config(den, "t")["config"]["WorkingDir"] == "/a/b/c/d"


# ---------------------------------------------------------------- heredocs, .dockerignore, --chmod

def test_heredocs(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                      "ARG NAME=world\n"
                                      "RUN <<EOF\n"
                                      "echo first > /h\n"
                                      "echo second >> /h\n"
                                      "EOF\n"
                                      "COPY <<EOF /greeting\n"
                                      "hello ${NAME}\n"
                                      "EOF\n"
                                      "COPY <<'EOF' /literal\n"
                                      "hello ${NAME}\n"
                                      "EOF\n"
                                      "CMD cat /h /greeting /literal\n"})
    build(den, ctx)
    assert run(den, "t") == "first\nsecond\nhello world\nhello ${NAME}\n"


def test_dockerignore_with_exceptions(den, busybox, tmp):
    ctx = context(tmp, {".dockerignore": "# logs stay out, but one\n*.log\n!keep.log\nsecret/\n**/*.tmp\n",
                        "a.log": "a", "keep.log": "k", "b.txt": "b", "secret/key": "k",
                        "deep/er/x.tmp": "t", "deep/er/y.txt": "y",
                        "Dockerfile": "FROM busybox\nCOPY . /ctx/\nCMD cd /ctx && find . -type f | sort\n"})
    build(den, ctx)
    got = set(run(den, "t").split())
    assert {"./keep.log", "./b.txt", "./deep/er/y.txt"} <= got, got
    assert not got & {"./a.log", "./secret/key", "./deep/er/x.tmp"}, got
    # a Dockerfile's own ignore file (NAME.dockerignore beside it) replaces the context's
    open(os.path.join(ctx, "other.Dockerfile"), "w").write(open(os.path.join(ctx, "Dockerfile")).read())
    open(os.path.join(ctx, "other.Dockerfile.dockerignore"), "w").write("b.txt\n")
    build(den, ctx, "-f", os.path.join(ctx, "other.Dockerfile"), tag="t2")
    got = set(run(den, "t2").split())
    assert "./a.log" in got and "./b.txt" not in got, got


def test_copy_chmod(den, busybox, tmp):
    ctx = context(tmp, {"f.txt": "x", "dir/a": "a", "dir/b": "b",
                        "Dockerfile": "FROM busybox\n"
                                      "COPY --chmod=0751 f.txt /f\n"
                                      "COPY --chmod=600 dir/ /d/\n"
                                      "COPY f.txt /plain\n"
                                      "CMD stat -c '%n %a' /f /d/a /d/b /plain\n"})
    os.chmod(os.path.join(ctx, "f.txt"), 0o644)
    build(den, ctx)
    assert run(den, "t").splitlines() == ["/f 751", "/d/a 600", "/d/b 600", "/plain 644"]


def test_add_local_tar_and_copy_wildcards(den, busybox, tmp):
    ctx = context(tmp, {"one.txt": "1\n", "two.txt": "2\n", "three.md": "3\n",
                        "Dockerfile": "FROM busybox\n"
                                      "COPY *.txt /w/\n"
                                      "ADD pack.tar.gz /unpacked/\n"
                                      "COPY pack.tar.gz /copied/\n"
                                      "CMD cd / && find w unpacked copied -type f | sort && cat /unpacked/inner/f\n"})
    with tarfile.open(os.path.join(ctx, "pack.tar.gz"), "w:gz") as t:
        data = b"from the archive\n"
        ti = tarfile.TarInfo("inner/f")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    build(den, ctx)
    # ADD unpacks a local archive, COPY does not
    assert run(den, "t").splitlines() == ["copied/pack.tar.gz", "unpacked/inner/f", "w/one.txt", "w/two.txt",
                                          "from the archive"]


def test_shell_stopsignal_healthcheck_volume(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                      "RUN echo $0 > /before\n"
                                      'SHELL ["/bin/ash", "-c"]\n'
                                      "RUN echo $0 > /after\n"
                                      "STOPSIGNAL SIGINT\n"
                                      "HEALTHCHECK --interval=5s CMD true\n"
                                      "VOLUME /data\n"
                                      "CMD cat /before /after\n"})
    build(den, ctx)
    assert run(den, "t") == "/bin/sh\n/bin/ash\n"
    c = config(den, "t")["config"]
    assert c["Cmd"] == ["/bin/ash", "-c", "cat /before /after"]
    assert c["StopSignal"] == "SIGINT" and c["Volumes"] == {"/data": {}}
    assert "true" in json.dumps(c.get("Healthcheck")), c


# ---------------------------------------------------------------- stages

def test_multistage_copy_from_and_target(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox AS builder\n"
                                      "RUN echo from-builder > /artifact\n"
                                      "FROM busybox AS broken\n"
                                      "RUN echo THIS STAGE RAN; exit 9\n"
                                      "FROM busybox AS final\n"
                                      "COPY --from=builder /artifact /artifact\n"
                                      "COPY --from=0 /artifact /artifact-by-index\n"
                                      "CMD cat /artifact /artifact-by-index\n"})
    # the last stage needs builder only: broken never runs
    p = build(den, ctx, "--progress", "plain")
    assert "THIS STAGE RAN" not in p.output
    assert run(den, "t") == "from-builder\nfrom-builder\n"
    p = build(den, ctx, "--progress", "plain", "--target", "final", tag="t-final")
    assert "THIS STAGE RAN" not in p.output
    assert image_id(den, "t-final") == image_id(den, "t")
    # an earlier stage as the target: the image is that stage
    build(den, ctx, "--target", "builder", tag="t-builder")
    assert run(den, "t-builder", "sh", "-c", "cat /artifact; ls /artifact-by-index 2>/dev/null || echo none") == \
        "from-builder\nnone\n"
    # and the broken one fails when asked for
    before = images(den)
    p = build(den, ctx, "--target", "broken", tag="t-broken", check=False)
    assert p.returncode != 0 and "THIS STAGE RAN" in p.output
    assert images(den) == before
    p = build(den, ctx, "--target", "nosuchstage", tag="t-none", check=False)
    assert p.returncode != 0 and "nosuchstage" in p.stderr


def test_cache_mount_outlives_the_build(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                      "RUN --mount=type=cache,target=/cache echo in-the-cache > /cache/file\n"})
    build(den, ctx, tag="fill")
    # the cache is not in the image
    assert run(den, "fill", "sh", "-c", "ls /cache/file 2>/dev/null || echo absent") == "absent\n"
    ctx2 = context(tmp, {"Dockerfile": "FROM busybox\n"
                                       "RUN --mount=type=cache,target=/cache cat /cache/file > /seen\n"
                                       "CMD cat /seen\n"}, name="ctx2")
    build(den, ctx2, tag="read")
    assert run(den, "read") == "in-the-cache\n"


def test_bind_and_tmpfs_mounts_stay_out_of_the_image(den, busybox, tmp):
    ctx = context(tmp, {"f.txt": "bound from the context\n",
                        "Dockerfile": "FROM busybox\n"
                                      "RUN --mount=type=bind,source=f.txt,target=/mnt/f cat /mnt/f > /bound\n"
                                      "RUN --mount=type=tmpfs,target=/scratch echo x > /scratch/y && ls /scratch > /saw\n"
                                      "CMD cat /bound /saw; ls /mnt/f /scratch/y 2>/dev/null || echo none\n"})
    build(den, ctx)
    assert run(den, "t") == "bound from the context\ny\nnone\n"


def test_add_of_a_url(den, busybox, tmp):
    import http.server
    served = os.path.join(tmp, "served")
    os.mkdir(served)
    open(os.path.join(served, "remote.txt"), "w").write("fetched over http\n")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=served)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/remote.txt"
        ctx = context(tmp, {"Dockerfile": f"FROM busybox\nADD {url} /remote.txt\nCMD cat /remote.txt\n"})
        build(den, ctx, "--network", "host")
        assert run(den, "t") == "fetched over http\n"
        # without a network (the default) a URL is refused, by name
        before = images(den)
        p = build(den, ctx, "--no-cache", tag="bad", check=False)
        assert p.returncode != 0 and url in p.stderr, p.stderr
        assert images(den) == before
    finally:
        srv.shutdown()
        srv.server_close()


def test_secret_mount_never_reaches_the_image(den, busybox, tmp):
    secret = ("den-secret-" + os.urandom(12).hex()).encode()
    env_secret = ("den-env-secret-" + os.urandom(12).hex()).encode()
    src = os.path.join(tmp, "secret.txt")  # outside the context and the store
    open(src, "wb").write(secret)
    ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                      "RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /proof"
                                      " && stat -c %a /run/secrets/tok > /mode\n"
                                      "RUN --mount=type=secret,id=envtok sha256sum /run/secrets/envtok | cut -d' ' -f1"
                                      " > /envproof\n"
                                      "CMD cat /proof /mode /envproof; ls /run/secrets/tok /run/secrets/envtok "
                                      "2>/dev/null || echo gone\n"})
    build(den, ctx, "--progress", "plain", "--secret", f"id=tok,src={src}", "--secret", "id=envtok,env=DEN_TEST_SECRET",
          env=dict(os.environ, DEN_TEST_SECRET=env_secret.decode()))
    # the RUNs read them (mode 0400), and they are gone after
    assert run(den, "t").split() == [hashlib.sha256(secret).hexdigest(), "400",
                                     hashlib.sha256(env_secret).hexdigest(), "gone"]
    # nowhere in any layer, the config or the history, in either archive format
    for fmt in ("docker-archive", "oci-archive"):
        out = os.path.join(tmp, f"saved-{fmt}.tar")
        den("save", "--format", fmt, "-o", out, "t")
        members = list(archive_members(out))
        assert any(n.endswith("proof") for n, _ in members), [n for n, _ in members]  # the layers were read
        for s in (secret, env_secret):
            leaks = [n for n, data in members if s in data]
            assert not leaks, f"{fmt}: the secret is in {leaks}"
    for s in (secret, env_secret):
        assert s.decode() not in den("inspect", "t").stdout
        assert s.decode() not in den("image", "history", "t").stdout
        # nor anywhere in the store (layers unpacked, cache, build records)
        assert files_containing(den.root, s) == []


def test_onbuild_runs_in_the_child(den, busybox, tmp):
    base = context(tmp, {"Dockerfile": "FROM busybox\n"
                                       "ONBUILD RUN echo trigger ran >> /onbuild-ran\n"
                                       "ONBUILD COPY child.txt /child.txt\n"}, name="base")
    build(den, base, tag="onbase")
    assert run(den, "onbase", "sh", "-c", "cat /onbuild-ran 2>/dev/null || echo not-yet") == "not-yet\n"
    child = context(tmp, {"child.txt": "from the child's context\n",
                          "Dockerfile": "FROM onbase\nCMD cat /onbuild-ran /child.txt\n"}, name="child")
    build(den, child, tag="onchild")
    assert run(den, "onchild") == "trigger ran\nfrom the child's context\n"
    # triggers run once, in the direct child: a grandchild (whose context has no child.txt) does not run them
    grand = context(tmp, {"Dockerfile": "FROM onchild\n"}, name="grand")
    build(den, grand, tag="ongrand")
    assert run(den, "ongrand") == "trigger ran\nfrom the child's context\n"


# ---------------------------------------------------------------- failures and bad input

def test_a_failing_run(den, busybox, tmp):
    ctx = context(tmp, {"fail.sh": "echo last words of the step\nexit 3\n",
                        "Dockerfile": "FROM busybox\n"
                                      "COPY fail.sh /fail.sh\n"
                                      "RUN echo before > /before\n"
                                      "RUN sh /fail.sh\n"
                                      "CMD cat /before\n"})
    before = images(den)
    p = build(den, ctx, tag="bad", check=False)
    assert p.returncode != 0
    # the error names the line and the exit code (the instruction's text holds no 3 and no 4)
    where = [l.split("Dockerfile:4", 1)[1] for l in p.stderr.splitlines() if "Dockerfile:4" in l]
    assert where and any(re.search(r"\b3\b", w) for w in where), p.stderr
    assert "last words of the step" in p.output
    assert images(den) == before
    assert den("inspect", "bad", check=False).returncode != 0
    assert den("ps", "-a", "-q").stdout.split() == []
    assert "store is clean" in den("system", "check").stdout


BAD = {
    "unknown instruction": ("FROM busybox\nRUN true\nFROBNICATE x\n", 3, ["FROBNICATE"]),
    "bad flag": ("FROM busybox\nCOPY --bogus f.txt /f\n", 2, ["bogus"]),
    "missing from stage": ("FROM busybox AS one\nFROM busybox\nCOPY --from=nosuchstage /x /x\n", 3, ["nosuchstage"]),
    "source outside the context": ("FROM busybox\nCOPY ../outside.txt /x\n", 2, ["outside.txt"]),
    "missing source": ("FROM busybox\nCOPY f.txt /f\nCOPY nothere.txt /x\n", 3, ["nothere.txt"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_error(den, busybox, tmp, case):
    text, line, names = BAD[case]
    open(os.path.join(tmp, "outside.txt"), "w").write("outside\n")  # exists, but beside the context
    ctx = context(tmp, {"f.txt": "x\n", "Dockerfile": text})
    before = images(den)
    p = build(den, ctx, "-q", tag="bad", check=False)
    assert_fails_cleanly(den, p, line, *names, before=before)


def test_foreign_platform_is_refused(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\n"})
    other = "linux/s390x" if platform.machine() != "s390x" else "linux/amd64"
    p = build(den, ctx, "--platform", other, tag="bad", check=False)
    assert p.returncode != 0 and other in p.stderr, p.stderr


# ---------------------------------------------------------------- cache

def test_cache_hits_start_nothing_and_content_invalidates(den, busybox, tmp):
    lis = Listener()
    try:
        run_nc = f"RUN nc 127.0.0.1 {lis.port} </dev/null; echo ran > /ran"
        ctx = context(tmp, {"data.txt": "version 1\n",
                            "Dockerfile": "FROM busybox\n"
                                          "ENV X=1\n"
                                          f"{run_nc}\n"
                                          "COPY data.txt /data.txt\n"
                                          "RUN cat /data.txt > /copied\n"
                                          "CMD cat /copied\n"})
        steps = ["ENV X=1", run_nc, "COPY data.txt /data.txt", "RUN cat /data.txt > /copied", "CMD cat /copied"]
        flags = ("--network", "host", "--progress", "plain")
        build(den, ctx, *flags)
        assert lis.count == 1
        first = image_id(den, "t")
        assert run(den, "t") == "version 1\n"

        # identical: every step CACHED, nothing runs, the same image
        p = build(den, ctx, *flags)
        for s in steps:
            assert cached(p.output, s), f"{s!r} not CACHED:\n{p.output}"
        assert lis.count == 1 and image_id(den, "t") == first
        assert den("ps", "-a", "-q").stdout.split() == []

        # a new mtime alone is no change
        data = os.path.join(ctx, "data.txt")
        os.utime(data, (time.time() + 3600, time.time() + 3600))
        p = build(den, ctx, *flags)
        assert all(cached(p.output, s) for s in steps), p.output
        assert lis.count == 1 and image_id(den, "t") == first

        # new content: cached up to the COPY, rebuilt from it on
        open(data, "w").write("version 2\n")
        p = build(den, ctx, *flags)
        assert cached(p.output, "ENV X=1") and cached(p.output, run_nc), p.output
        for s in steps[2:]:
            assert not cached(p.output, s), f"{s!r} CACHED after its input changed:\n{p.output}"
        assert lis.count == 1 and image_id(den, "t") != first
        assert run(den, "t") == "version 2\n"

        # --no-cache: everything runs again
        p = build(den, ctx, "--no-cache", *flags)
        assert "CACHED" not in p.output and lis.count == 2
    finally:
        lis.close()


def test_build_arg_is_part_of_the_cache_key(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nARG V=a\nRUN echo $V > /v\nCMD cat /v\n"})
    build(den, ctx, "--build-arg", "V=one")
    p = build(den, ctx, "--build-arg", "V=two", "--progress", "plain")
    assert not cached(p.output, "RUN echo $V > /v"), p.output
    assert run(den, "t") == "two\n"


# ---------------------------------------------------------------- reproducible, history, config

def test_reproducible_in_two_stores(den, busybox, tmp):
    files = {"data.txt": "same bytes\n", "sub/x": "x\n",
             "Dockerfile": "FROM busybox\n"
                           "ENV K=v\n"
                           "COPY . /src/\n"
                           "RUN echo made at build time > /made && mkdir -p /var/made && touch /var/made/f\n"
                           "LABEL l=1\n"
                           "CMD cat /made\n"}
    ctx_a = context(tmp, files, name="ctx-a")
    iid_a = os.path.join(tmp, "iid-a")
    build(den, ctx_a, "--source-date-epoch", str(EPOCH), "--iidfile", iid_a)
    time.sleep(1.1)
    # another store, another copy of the context (other mtimes), the epoch from the environment
    other = os.path.join(tmp, "other")
    os.mkdir(other)
    dorun = [den.cmd()[0], "--root", os.path.join(other, "store"), "--runroot", os.path.join(other, "run")]
    # the same base image (as a pull would give it): moved over as an OCI archive, byte for byte
    bb = os.path.join(tmp, "bb-oci.tar")
    den("save", "--format", "oci-archive", "-o", bb, "busybox")
    subprocess.run(dorun + ["load", "-i", bb], check=True, capture_output=True)
    assert json.loads(subprocess.run(dorun + ["inspect", "busybox"], capture_output=True, text=True).stdout)[0]["Id"] \
        == image_id(den, "busybox")
    ctx_b = context(tmp, files, name="ctx-b")
    for d, _, names in os.walk(ctx_b):
        for n in names:
            os.utime(os.path.join(d, n), (time.time() - 86400, time.time() - 86400))
    iid_b = os.path.join(tmp, "iid-b")
    p = subprocess.run(dorun + ["build", "-t", "t", "--iidfile", iid_b, ctx_b], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))
    assert p.returncode == 0, p.stderr
    assert open(iid_a).read().strip() == open(iid_b).read().strip() == image_id(den, "t")
    info_b = json.loads(subprocess.run(dorun + ["inspect", "t"], capture_output=True, text=True).stdout)[0]
    assert json.loads(den("inspect", "t").stdout)[0]["Digest"] == info_b["Digest"]
    # every timestamp clamped: config, history, the built layers' entries
    cfg = config(den, "t")
    assert cfg["created"].startswith("2023-11-14T22:13:20")
    assert all(h["created"].startswith("2023-11-14T22:13:20") for h in cfg["history"][1:]), cfg["history"]
    out = os.path.join(tmp, "repro.tar")
    den("save", "--format", "docker-archive", "-o", out, "t")
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        for layer in manifest[0]["Layers"][1:]:  # the base layer is the imported one
            data = t.extractfile(layer).read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(data)) as lt:
                late = [m.name for m in lt if m.mtime > EPOCH]
                assert not late, f"entries newer than the epoch in {layer}: {late}"
                names = [m.name for m in lt]
                assert names == sorted(names), names


def test_image_history(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                      "ENV GREETING=hi\n"
                                      "RUN echo layer-maker > /layer\n"
                                      "CMD echo $GREETING\n"})
    build(den, ctx)
    cfg = config(den, "t")
    hist = cfg["history"]
    built = hist[1:]  # after the base image's own entry
    assert len(built) == 3, hist
    env, runh, cmd = built
    assert "GREETING=hi" in env["created_by"] and env.get("empty_layer") is True
    assert "layer-maker" in runh["created_by"] and not runh.get("empty_layer")
    assert "echo $GREETING" in cmd["created_by"] and cmd.get("empty_layer") is True
    assert len(cfg["rootfs"]["diff_ids"]) == sum(1 for h in hist if not h.get("empty_layer"))
    out = den("image", "history", "t").stdout
    for text in ("GREETING=hi", "layer-maker", "echo $GREETING"):
        assert lines_with(out, text), out
    # metadata-only steps add nothing: a zero size on their lines
    for text in ("GREETING=hi", "echo $GREETING"):
        assert re.search(r"(^|\s)0(\.0+)?\s?B\b", lines_with(out, text)[0]), out
    assert run(den, "t") == "hi\n"


INSPECTED = ("FROM busybox\n"
             "ENV APP_HOME=/srv/app MODE=production\n"
             "WORKDIR $APP_HOME\n"
             "EXPOSE 8080 53/udp\n"
             'LABEL org.example.name="den test" version=1\n'
             "USER 0:0\n"
             'ENTRYPOINT ["/bin/echo", "entry"]\n'
             'CMD ["cmd-arg"]\n')
FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels")


def test_inspect_config_fields(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": INSPECTED})
    build(den, ctx, "--label", "from.cli=yes")
    c = config(den, "t")["config"]
    assert c["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "APP_HOME=/srv/app", "MODE=production"]
    assert c["Cmd"] == ["cmd-arg"] and c["Entrypoint"] == ["/bin/echo", "entry"]
    assert c["WorkingDir"] == "/srv/app" and c["User"] == "0:0"
    assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert c["Labels"] == {"org.example.name": "den test", "version": "1", "from.cli": "yes"}
    assert run(den, "t") == "entry cmd-arg\n"
    assert run(den, "t", "other") == "entry other\n"


def test_network_none_by_default_host_when_asked(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nRUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /ifs\n"})
    build(den, ctx, tag="none")
    assert run(den, "none", "cat", "/ifs").split() == ["lo"]
    build(den, ctx, "--network", "host", "--no-cache", tag="host")
    host = {l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]}
    assert set(run(den, "host", "cat", "/ifs").split()) == host


@needs_ids
def test_secret_mode_lets_another_user_read_it(den, busybox, tmp):
    """a secret is 0400 root's by default; mode=0444 lets the RUN's user read it, and it still reaches no layer"""
    secret = os.path.join(tmp, "s.txt")
    with open(secret, "w") as f:
        f.write("m0de-s3cret\n")
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nRUN mkdir /out && chown 1000:1000 /out\nUSER 1000:1000\n"
                                      "RUN --mount=type=secret,id=s,mode=0444 test \"$(cat /run/secrets/s)\" = m0de-s3cret "
                                      "&& touch /out/read-it\n"})
    build(den, ctx, "--secret", f"id=s,src={secret}")
    assert run(den, "t", "ls", "/out/read-it") == "/out/read-it\n"
    assert run(den, "t", "sh", "-c", "test -e /run/secrets && echo present || echo absent") == "absent\n"
    bad = context(tmp, {"Dockerfile": "FROM busybox\nUSER 1000:1000\nRUN --mount=type=secret,id=s cat /run/secrets/s\n"},
                  name="bad")
    p = build(den, bad, "--secret", f"id=s,src={secret}", tag="bad", check=False)
    assert p.returncode != 0 and "Permission denied" in p.output and "m0de-s3cret" not in p.output


def test_ssh_agent_socket_for_one_run(den, busybox, tmp):
    """--ssh default=SOCKET: RUN --mount=type=ssh sees the socket at $SSH_AUTH_SOCK; without --ssh, a clear error"""
    sock_path = os.path.join(tmp, "agent.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(sock_path)
    srv.listen(1)
    try:
        ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                          "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo \"agent at $SSH_AUTH_SOCK\"\n"
                                          "RUN test -z \"$SSH_AUTH_SOCK\" && touch /no-agent-after\n"})
        p = build(den, ctx, "--ssh", f"default={sock_path}", "--progress", "plain")
        assert "agent at /run/buildkit/ssh_agent.0" in p.output
        assert run(den, "t", "sh", "-c", "ls /no-agent-after; test -e /run/buildkit && echo stub || echo clean") == \
            "/no-agent-after\nclean\n"
        p = build(den, ctx, "--no-cache", tag="t2", check=False)
        assert p.returncode != 0 and "Dockerfile:2" in p.stderr and "--ssh" in p.stderr
    finally:
        srv.close()


def test_git_repository_as_context(den, busybox, tmp):
    """CONTEXT a git URL#REF:DIR: cloned (depth 1) and built; a bad one fails naming the URL"""
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    repo = context(tmp, {"sub/Dockerfile": "FROM busybox\nCOPY hello /hello\nCMD [\"cat\", \"/hello\"]\n",
                         "sub/hello": "from git\n"}, name="repo")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", HOME=tmp)
    for argv in (["init", "-q", "-b", "rel"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git"] + argv, cwd=repo, env=env, check=True)
    bare = os.path.join(tmp, "repo.git")
    subprocess.run(["git", "clone", "-q", "--bare", repo, bare], env=env, check=True)
    build(den, f"file://{bare}#rel:sub", tag="fromgit")
    assert run(den, "fromgit") == "from git\n"
    p = build(den, f"file://{tmp}/missing.git", tag="nogit", check=False)
    assert p.returncode != 0 and "missing.git" in p.stderr and "git clone failed" in p.stderr
    p = build(den, f"file://{bare}#rel:../..", tag="escape", check=False)
    assert p.returncode != 0 and "inside the repository" in p.stderr


def test_outputs(den, busybox, tmp):
    ctx = context(tmp, {"Dockerfile": "FROM busybox\nRUN echo out > /out-file\n"})
    oci, dock, plain, local = (os.path.join(tmp, n) for n in ("oci.tar", "docker.tar", "plain.tar", "local"))
    build(den, ctx, "--output", f"type=oci,dest={oci}", tag=None)
    with tarfile.open(oci) as t:
        names = t.getnames()
        assert "index.json" in names and "oci-layout" in names, names
    build(den, ctx, "--output", f"type=docker,dest={dock}", tag=None)
    with tarfile.open(dock) as t:
        assert "manifest.json" in t.getnames()
    build(den, ctx, "--output", f"type=tar,dest={plain}", tag=None)
    with tarfile.open(plain) as t:
        f = [m for m in t.getmembers() if m.name.lstrip("./") == "out-file"]
        assert f and t.extractfile(f[0]).read() == b"out\n"
    build(den, ctx, "--output", f"type=local,dest={local}", tag=None)
    assert open(os.path.join(local, "out-file")).read() == "out\n"
    assert os.path.exists(os.path.join(local, "bin", "busybox"))
    # an OCI archive den wrote loads back and runs
    other = os.path.join(tmp, "load-store")
    p = subprocess.run([den.cmd()[0], "--root", other, "--runroot", os.path.join(tmp, "load-run"), "load", "-i", oci],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------- a C program built in Debian

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from a static binary"); return 0; }\n'


@pytest.mark.skipif(not os.path.exists(DEBIAN), reason=f"no Debian buildd root at {DEBIAN} (scripts/debian-root.sh buildd)")
@pytest.mark.skipif(not MANY_IDS, reason="a Debian root holds files of system users and groups: it needs sub-ids")
def test_c_program_built_in_debian_runs_in_busybox(den, busybox, tmp):
    p = subprocess.run(den.cmd("import", DEBIAN, "bookworm-buildd"), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    ctx = context(tmp, {"hello.c": HELLO_C,
                        "Dockerfile": "FROM bookworm-buildd AS build\n"
                                      "WORKDIR /src\n"
                                      "COPY hello.c .\n"
                                      "RUN gcc -static -O2 -o /src/hello hello.c && /src/hello\n"
                                      "FROM busybox\n"
                                      "COPY --from=build /src/hello /usr/local/bin/hello\n"
                                      'CMD ["/usr/local/bin/hello"]\n'})
    build(den, ctx, "--progress", "plain", tag="hello-c", timeout=900)
    assert run(den, "hello-c") == "hello from a static binary\n"
    # the final image is busybox plus one layer: nothing of Debian's
    assert len(config(den, "hello-c")["rootfs"]["diff_ids"]) == 2
    assert run(den, "hello-c", "sh", "-c", "ls /usr/bin/gcc 2>/dev/null || echo no-gcc") == "no-gcc\n"


# ---------------------------------------------------------------- interop (the slow tier)

@pytest.fixture
def podman(tmp):
    from conftest import podman_session
    yield from podman_session(tmp)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("docker-registry"), reason="docker-registry is not installed")
def test_pushed_to_a_registry_runs_under_podman(den, busybox, tmp, podman):
    from test_registry import HTTP, Registry
    reg = Registry(tmp, "reg")
    try:
        ctx = context(tmp, {"Dockerfile": "FROM busybox\n"
                                          "RUN echo built by den, run by podman > /msg\n"
                                          'CMD ["cat", "/msg"]\n'})
        build(den, ctx, tag="interop")
        ref = f"{reg.host}/den/interop:1"
        den("push", *HTTP, "interop", ref)
        podman("pull", "--tls-verify=false", ref)
        p = podman("run", "--rm", "--network", "none", ref)
        assert p.stdout == "built by den, run by podman\n"
    finally:
        reg.kill()


def buildah_session(tmp):
    """buildah in private storage, as the test's user; a generator: yields the runner, then cleans up"""
    conf = os.path.join(tmp, "bh-containers.conf")
    open(conf, "w").write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    xdg = os.path.join(tmp, "bh-xdg")
    os.mkdir(xdg, 0o700)
    env = dict(os.environ, CONTAINERS_CONF=conf, XDG_RUNTIME_DIR=xdg)
    runroot = tempfile.mkdtemp(prefix="denbh-", dir="/tmp")
    store = os.path.join(tmp, "bhstore")
    base = ["buildah", "--root", store, "--runroot", runroot, "--storage-driver", "overlay"]

    def bh(*args, check=True, **kw):
        p = subprocess.run(base + list(args), env=env, capture_output=True, text=True, timeout=300, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"buildah {' '.join(args)}: {p.returncode}: {p.stderr}")
        return p
    yield bh
    bh("rm", "--all", check=False)
    if ROOT:
        subprocess.run(["umount", "-R", "-l", os.path.join(store, "overlay")], capture_output=True)
        shutil.rmtree(store, ignore_errors=True)
    else:
        bh("unshare", "rm", "-rf", store, check=False)
    shutil.rmtree(runroot, ignore_errors=True)


@pytest.fixture
def buildah(tmp):
    if not shutil.which("buildah"):
        pytest.skip("buildah is not installed")
    if not MANY_IDS:
        pytest.skip("rootless buildah needs sub-ids")
    yield from buildah_session(tmp)


def config_fields(c):
    """the compared fields; absent, null and empty are one; buildah's own version label left out"""
    out = {}
    for f in FIELDS:
        v = c.get(f)
        if f == "Labels" and v:
            v = {k: x for k, x in v.items() if k != "io.buildah.version"}
        out[f] = v or None
    return out


@pytest.mark.slow
def test_same_config_as_buildah(den, busybox, tmp, buildah):
    ctx = context(tmp, {"f.txt": "x\n",
                        "Dockerfile": INSPECTED.replace("USER 0:0\n", "ARG V\nENV FROM_ARG=${V:-dflt} SET=${V:+yes}\n"
                                                        "COPY f.txt rel/\nRUN echo r > run-file\nUSER 0:0\n")})
    build(den, ctx, "--build-arg", "V=given")
    bb = os.path.join(tmp, "bb-oci.tar")
    den("save", "--format", "oci-archive", "-o", bb, "busybox")
    buildah("pull", f"oci-archive:{bb}")
    buildah("bud", "--build-arg", "V=given", "-t", "t", ctx)
    theirs = json.loads(buildah("inspect", "--type", "image", "t").stdout)["OCIv1"]["config"]
    ours = config(den, "t")["config"]
    assert config_fields(ours) == config_fields(theirs)
