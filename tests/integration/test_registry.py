# SPDX-License-Identifier: GPL-2.0-or-later
"""den pull / push / inspect --remote / login against a real registry (Debian's
docker-registry), started here on 127.0.0.1: plain http, TLS with a CA made
here, htpasswd basic auth, and bearer tokens from a token endpoint served here."""
import base64
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request

import pytest

from test_den_run import den, image  # noqa: F401 (fixtures)

REGISTRY = shutil.which("docker-registry")
pytestmark = pytest.mark.skipif(not REGISTRY, reason="docker-registry is not installed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d, name="den test CA"):
    """a CA and a server certificate for 127.0.0.1, signed by it"""
    os.makedirs(d, exist_ok=True)
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", f"/CN={name}")
    key, csr, crt = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(d, "ext.cnf")
    open(ext, "w").write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
            "-extfile", ext)
    return ca, crt, key


class Registry:
    def __init__(self, tmp, name, tls=False, htpasswd=None, token=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.storage = os.path.join(self.dir, "data")
        conf = ["version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:",
                f"    rootdirectory: {self.storage}", "  delete:", "    enabled: true",
                "http:", f"  addr: 127.0.0.1:{self.port}"]
        self.ca = None
        if tls:
            self.ca, crt, key = make_ca(os.path.join(self.dir, "tls"))
            conf += ["  tls:", f"    certificate: {crt}", f"    key: {key}"]
        if htpasswd:
            pw = os.path.join(self.dir, "htpasswd")
            subprocess.run(["htpasswd", "-Bbc", pw, *htpasswd], check=True, capture_output=True)
            conf += ["auth:", "  htpasswd:", "    realm: den-test", f"    path: {pw}"]
        if token:
            conf += ["auth:", "  token:", f"    realm: {token.realm}", "    service: den-test",
                     "    issuer: den-test-issuer", f"    rootcertbundle: {token.cert}"]
        self.config = os.path.join(self.dir, "config.yml")
        open(self.config, "w").write("\n".join(conf) + "\n")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen([REGISTRY, "serve", self.config], stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.025)
        raise AssertionError("docker-registry did not start: " + open(os.path.join(self.dir, "log")).read())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def blob_path(self, digest):
        h = digest.split(":")[1]
        return os.path.join(self.storage, "docker/registry/v2/blobs/sha256", h[:2], h, "data")


@pytest.fixture
def registries(tmp):
    made = []

    def make(name="reg", **kw):
        r = Registry(tmp, name, **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.kill()


def layered(den, image, tmp, name, layers):
    """an image in den's store: the busybox image plus one layer per {path: bytes} dict"""
    from conftest import derived_image
    return derived_image(den, image, tmp, name, layers)


def fresh(den, tmp, name="fresh"):
    """den on an empty store of its own"""
    root = os.path.join(tmp, name)

    def run(*a, check=True, **kw):
        kw.setdefault("capture_output", True)
        p = subprocess.run([den.cmd()[0], "--root", root, "--runroot", os.path.join(tmp, name + "-run"), *a],
                           text=True, timeout=180, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"den {' '.join(a)}: {p.returncode}: {p.stderr}")
        return p
    run.root = root
    return run


def assert_clean_and_empty(f):
    assert "store is clean" in f("system", "check").stdout
    assert f("images", "-q").stdout.strip() == ""


HTTP = ("--tls-verify=false",)


def test_push_pull_round_trip_and_run(den, image, tmp, registries):
    reg = registries()
    ref = f"{reg.host}/test/bb:1"
    pushed = den("push", *HTTP, image, ref).stdout.strip()
    # a second push sends nothing new
    p = den("push", *HTTP, image, ref)
    assert p.stdout.strip() == pushed and "exists" in p.stderr and "pushed" not in p.stderr
    f = fresh(den, tmp)
    p = f("pull", *HTTP, ref)
    assert p.stdout.strip() == pushed
    # not a terminal: one line per layer
    assert p.stderr.count("done") == 1, p.stderr
    assert "hello" in f("run", "--rm", ref, "echo", "hello").stdout
    assert f("inspect", ref, check=True).stdout and json.loads(f("inspect", ref).stdout)[0]["Digest"] == pushed
    # pulling again downloads nothing; by digest too
    assert "exists" in f("pull", *HTTP, ref).stderr
    byd = f"{reg.host}/test/bb@{pushed}"
    assert f("pull", "-q", *HTTP, byd).stdout.strip() == pushed
    assert f("run", "--rm", byd, "true").returncode == 0
    assert "store is clean" in f("system", "check").stdout
    # remote inspect, without pulling
    info = json.loads(den("inspect", "--remote", *HTTP, ref).stdout)[0]
    assert info["Digest"] == pushed and info["RepoTags"] == ["1"] and info["Os"] == "linux"
    assert info["Layers"] and info["Name"] == f"{reg.host}/test/bb"
    raw = json.loads(den("inspect", "--remote", "--raw", *HTTP, ref).stdout)
    assert raw["schemaVersion"] == 2 and raw["layers"][0]["digest"] == info["Layers"][0]


def test_push_mounts_blobs_across_repositories(den, image, tmp, registries):
    reg = registries()
    den("push", *HTTP, image, f"{reg.host}/one/bb:1")
    den("tag", image, f"{reg.host}/one/bb:1")
    p = den("push", *HTTP, image, f"{reg.host}/two/bb:1")
    assert "mounted" in p.stderr and "pushed" not in p.stderr, p.stderr
    assert fresh(den, tmp)("pull", "-q", *HTTP, f"{reg.host}/two/bb:1").returncode == 0


def test_layers_in_parallel_and_only_missing_ones(den, image, tmp, registries):
    reg = registries()
    big = os.urandom(3 << 20)
    md, layers = layered(den, image, tmp, "localhost/multi:1",
                         [{"a": b"a" * 1000}, {"big": big}, {"c": b"c" * 1000}, {"d": b"d"}])
    ref = f"{reg.host}/test/multi:1"
    den("push", *HTTP, "multi:1", ref)
    f = fresh(den, tmp)
    # the base layer is there already: only the four new ones travel
    den("push", *HTTP, image, f"{reg.host}/test/base:1")
    f("pull", "-q", *HTTP, f"{reg.host}/test/base:1")
    p = f("pull", "--parallel", "4", *HTTP, ref)
    assert p.stdout.strip() == md
    assert p.stderr.count("exists") == 1 and p.stderr.count("done") == 4, p.stderr
    out = f("run", "--rm", ref, "sh", "-c", "cat /a | wc -c; wc -c < /big; cat /d").stdout.split()
    assert out == ["1000", str(3 << 20), "d"]


def test_tls_with_a_ca_directory(den, image, tmp, registries):
    reg = registries("tls", tls=True)
    ref = f"{reg.host}/test/bb:1"
    # an unknown CA is refused, with a hint
    p = den("push", image, ref, check=False)
    assert p.returncode != 0 and "TLS" in p.stderr and f"certs.d/{reg.host}" in p.stderr, p.stderr
    certs = os.path.join(tmp, "certs")
    os.makedirs(certs)
    shutil.copy(reg.ca, os.path.join(certs, "ca.crt"))
    den("push", "--cert-dir", certs, image, ref)
    # the user's certs.d, as podman reads it
    xdg = os.path.join(tmp, "xdg")
    os.makedirs(os.path.join(xdg, "containers", "certs.d", reg.host))
    shutil.copy(reg.ca, os.path.join(xdg, "containers", "certs.d", reg.host, "ca.crt"))
    f = fresh(den, tmp)
    p = f("pull", ref, env=dict(os.environ, XDG_CONFIG_HOME=xdg))
    assert p.returncode == 0 and f("run", "--rm", ref, "true").returncode == 0
    # --tls-verify=false accepts any certificate
    assert fresh(den, tmp, "f2")("pull", "-q", "--tls-verify=false", ref).returncode == 0
    # plain http is used only when asked
    plain = registries("plain")
    p = den("push", image, f"{plain.host}/test/bb:1", check=False)
    assert p.returncode != 0 and "TLS" in p.stderr


def test_basic_auth_login_logout(den, image, tmp, registries):
    reg = registries("auth", htpasswd=("alice", "s3cret"))
    ref = f"{reg.host}/test/bb:1"
    authfile = os.path.join(tmp, "auth.json")
    env = dict(os.environ, REGISTRY_AUTH_FILE=authfile)
    p = den("push", *HTTP, image, ref, check=False, env=env)
    assert p.returncode != 0 and "den login" in p.stderr and reg.host in p.stderr, p.stderr
    p = den("push", *HTTP, "--creds", "alice:wrong", image, ref, check=False, env=env)
    assert p.returncode != 0 and "authentication failed for user 'alice'" in p.stderr, p.stderr
    p = den("login", *HTTP, "-u", "alice", "--password-stdin", reg.host, input="wrong\n", check=False, env=env)
    assert p.returncode != 0 and not os.path.exists(authfile)
    den("login", *HTTP, "-u", "alice", "--password-stdin", reg.host, input="s3cret\n", env=env)
    saved = json.load(open(authfile))["auths"][reg.host]["auth"]
    assert base64.b64decode(saved) == b"alice:s3cret" and os.stat(authfile).st_mode & 0o077 == 0
    den("push", *HTTP, image, ref, env=env)
    f = fresh(den, tmp)
    assert f("pull", "-q", *HTTP, ref, env=env).returncode == 0
    # docker's config.json is read too
    home = os.path.join(tmp, "home")
    os.makedirs(os.path.join(home, ".docker"))
    json.dump({"auths": {reg.host: {"auth": saved}}}, open(os.path.join(home, ".docker", "config.json"), "w"))
    env2 = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
    env2["HOME"] = home
    assert fresh(den, tmp, "f2")("pull", "-q", *HTTP, ref, env=env2).returncode == 0
    den("logout", reg.host, env=env)
    assert reg.host not in json.load(open(authfile))["auths"]
    p = den("logout", reg.host, check=False, env=env)
    assert p.returncode != 0 and "not logged in" in p.stderr
    p = fresh(den, tmp, "f3")("pull", *HTTP, ref, check=False, env=env)
    assert p.returncode != 0 and "den login" in p.stderr


class TokenServer:
    """a token endpoint (as docker's auth server): basic credentials in, a JWT signed with a key
    whose certificate the registry trusts out"""

    def __init__(self, tmp, user, password):
        d = os.path.join(tmp, "token-issuer")
        os.makedirs(d)
        self.key, self.cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                "-subj", "/CN=den-test-issuer")
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"], capture_output=True,
                             check=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests = []
        server = self
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlparse
                q = parse_qs(urlparse(self.path).query)
                server.requests.append(q)
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                access = []
                for scope in q.get("scope", []):
                    typ, name, actions = scope.split(":")
                    access.append({"type": typ, "name": name, "actions": actions.split(",")})
                body = json.dumps({"token": server.jwt(user, access)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.realm = f"http://127.0.0.1:{self.httpd.server_port}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def jwt(self, sub, access):
        def b64(b):
            return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        now = int(time.time())
        head = b64(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}).encode())
        claims = b64(json.dumps({"iss": "den-test-issuer", "sub": sub, "aud": "den-test", "exp": now + 300,
                                 "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
                                 "access": access}).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=f"{head}.{claims}".encode(),
                             capture_output=True, check=True).stdout
        return f"{head}.{claims}.{b64(sig)}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_bearer_tokens(den, image, tmp, registries):
    tok = TokenServer(tmp, "bob", "pw")
    try:
        reg = registries("token", token=tok)
        ref = f"{reg.host}/test/bb:1"
        p = den("push", *HTTP, image, ref, check=False)
        assert p.returncode != 0 and "den login" in p.stderr, p.stderr
        p = den("push", *HTTP, "--creds", "bob:nope", image, ref, check=False)
        assert p.returncode != 0 and "authentication failed for user 'bob'" in p.stderr, p.stderr
        den("push", *HTTP, "--creds", "bob:pw", image, ref)
        assert any(s.startswith("repository:test/bb:") and set(s.split(":")[2].split(",")) == {"pull", "push"}
                   for q in tok.requests for s in q.get("scope", [])), tok.requests
        f = fresh(den, tmp)
        assert f("pull", "-q", *HTTP, "--creds", "bob:pw", ref).returncode == 0
        assert f("run", "--rm", ref, "true").returncode == 0
    finally:
        tok.stop()


class Proxy:
    """TCP between den and the registry: counts what the registry sends, records the
    requests, and can kill the registry once it has sent a number of bytes"""

    def __init__(self, target_port, port=None):
        self.target = target_port
        self.sent = 0
        self.kill_after = None
        self.on_kill = None
        self.lines = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            self.conns += [c, u]
            threading.Thread(target=self.pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, True), daemon=True).start()

    def pipe(self, a, b, down):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                if not down:
                    with self.lock:
                        self.lines += [ln for ln in data.decode("latin1").split("\r\n")
                                       if ln.startswith(("GET ", "HEAD ", "Range:"))]
                else:
                    with self.lock:
                        self.sent += len(data)
                        if self.kill_after is not None and self.sent > self.kill_after:
                            self.kill_after = None
                            self.on_kill()
                            break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def test_registry_killed_mid_pull_then_retry(den, image, tmp, registries):
    reg = registries()
    small = {"small": b"s" * 5000}
    md, layers = layered(den, image, tmp, "localhost/kill:1", [small, {"big": os.urandom(6 << 20)}])
    den("push", *HTTP, "kill:1", f"{reg.host}/test/kill:1")
    proxy = Proxy(reg.port)
    ref = f"127.0.0.1:{proxy.port}/test/kill:1"
    f = fresh(den, tmp)
    proxy.on_kill = reg.kill
    proxy.kill_after = 3 << 20  # the base and small layers are through, the big one is not
    p = f("pull", "--parallel", "1", "--retry", "1", *HTTP, ref, check=False)
    assert p.returncode != 0, p.stderr
    assert f"127.0.0.1:{proxy.port}" in p.stderr and "blob" in p.stderr, p.stderr
    assert_clean_and_empty(f)
    have = set(os.listdir(os.path.join(f.root, "blobs", "sha256")))
    assert layers[0][7:] in have and layers[-1][7:] not in have
    # the registry is back: the retry fetches only what is missing
    reg.start()
    proxy.lines.clear()
    assert f("pull", "-q", *HTTP, ref).stdout.strip() == md
    gets = [ln for ln in proxy.lines if ln.startswith("GET") and "/blobs/" in ln]
    assert len(gets) == 1 and layers[-1] in gets[0], proxy.lines
    assert f("run", "--rm", ref, "sh", "-c", "wc -c < /big").stdout.strip() == str(6 << 20)
    proxy.close()


def test_cut_transfer_resumes_with_range(den, image, tmp, registries):
    reg = registries()
    md, layers = layered(den, image, tmp, "localhost/cut:1", [{"big": os.urandom(4 << 20)}])
    den("push", *HTTP, "cut:1", f"{reg.host}/test/cut:1")
    proxy = Proxy(reg.port)
    f = fresh(den, tmp)
    cut = []
    proxy.on_kill = lambda: cut.append(1)  # drop the connection, the registry stays
    proxy.kill_after = 2 << 20
    ref = f"127.0.0.1:{proxy.port}/test/cut:1"
    assert f("pull", "-q", "--parallel", "1", *HTTP, ref).stdout.strip() == md
    assert cut and any(ln.startswith("Range: bytes=") for ln in proxy.lines), proxy.lines
    assert "store is clean" in f("system", "check").stdout
    proxy.close()


def test_bad_bytes_and_missing_things(den, image, tmp, registries):
    reg = registries()
    md, layers = layered(den, image, tmp, "localhost/bad:1", [{"x": b"x" * 4096}])
    den("push", *HTTP, "bad:1", f"{reg.host}/test/bad:1")
    f = fresh(den, tmp)
    # 404 for a tag, a repository, a digest
    p = f("pull", *HTTP, f"{reg.host}/test/bad:nope", check=False)
    assert p.returncode != 0 and f"{reg.host}/test/bad:nope" in p.stderr and "not found" in p.stderr, p.stderr
    p = f("pull", *HTTP, f"{reg.host}/test/bad@sha256:{'0' * 64}", check=False)
    assert p.returncode != 0 and "not found" in p.stderr
    # a layer whose bytes do not match its digest
    path = reg.blob_path(layers[-1])
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 0xff
    open(path, "wb").write(bytes(data))
    p = f("pull", *HTTP, f"{reg.host}/test/bad:1", check=False)
    assert p.returncode != 0, p.stderr
    assert f"{reg.host}/test/bad:1" in p.stderr and layers[-1] in p.stderr and "digest" in p.stderr, p.stderr
    assert_clean_and_empty(f)
    assert layers[-1][7:] not in os.listdir(os.path.join(f.root, "blobs", "sha256"))
    # bad references and flags
    for bad, msg in ((f"{reg.host}/Test/UPPER:1", "lowercase"), (f"{reg.host}/x@sha256:abc", "not a sha256 digest")):
        p = f("pull", *HTTP, bad, check=False)
        assert p.returncode != 0 and msg in p.stderr, p.stderr
    p = f("pull", "--timeout", "x", "a", check=False)
    assert p.returncode == 2 or p.returncode != 0 and "--timeout" in p.stderr
    p = den("push", *HTTP, "nosuchimage", f"{reg.host}/test/x:1", check=False)
    assert p.returncode != 0 and "nosuchimage" in p.stderr
    p = den("push", *HTTP, image, check=False)
    assert p.returncode != 0 and "name the registry" in p.stderr


def put_manifest(reg, repo, ref, body, media_type):
    req = urllib.request.Request(f"http://{reg.host}/v2/{repo}/manifests/{ref}", data=body, method="PUT",
                                 headers={"Content-Type": media_type})
    with urllib.request.urlopen(req) as r:
        return r.headers["Docker-Content-Digest"]


@pytest.mark.parametrize("index_type", ["application/vnd.oci.image.index.v1+json",
                                        "application/vnd.docker.distribution.manifest.list.v2+json"])
def test_platforms_from_an_index_and_a_lying_size(den, image, tmp, registries, index_type):
    reg = registries()
    amd, _ = layered(den, image, tmp, "localhost/p:amd", [{"arch": b"amd64\n"}])
    arm, _ = layered(den, image, tmp, "localhost/p:arm", [{"arch": b"arm64\n"}])
    den("push", *HTTP, "p:amd", f"{reg.host}/test/p:amd")
    den("push", *HTTP, "p:arm", f"{reg.host}/test/p:arm")
    sizes = {}
    for t in ("amd", "arm"):
        with urllib.request.urlopen(urllib.request.Request(
                f"http://{reg.host}/v2/test/p/manifests/{t}",
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})) as r:
            sizes[t] = len(r.read())
    mt = "application/vnd.oci.image.manifest.v1+json"
    index = {"schemaVersion": 2, "mediaType": index_type, "manifests": [
        {"mediaType": mt, "digest": amd, "size": sizes["amd"], "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": mt, "digest": arm, "size": sizes["arm"],
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}
    put_manifest(reg, "test/p", "multi", json.dumps(index).encode(), index_type)
    f = fresh(den, tmp)
    ref = f"{reg.host}/test/p:multi"
    assert f("pull", "-q", *HTTP, "--platform", "linux/arm64", ref).stdout.strip() == arm
    assert f("run", "--rm", ref, "cat", "/arch").stdout == "arm64\n"
    if os.uname().machine == "x86_64":
        assert f("pull", "-q", *HTTP, ref).stdout.strip() == amd
    p = f("pull", *HTTP, "--platform", "linux/s390x", ref, check=False)
    assert p.returncode != 0 and "linux/amd64, linux/arm64/v8" in p.stderr, p.stderr
    info = json.loads(den("inspect", "--remote", *HTTP, "--platform", "linux/arm64", ref).stdout)[0]
    assert info["ManifestDigest"] == arm and info["Platforms"] == ["linux/amd64", "linux/arm64/v8"]
    # an index whose size for a manifest lies
    index["manifests"][1]["size"] += 7
    put_manifest(reg, "test/p", "liar", json.dumps(index).encode(), index_type)
    g = fresh(den, tmp, "g")
    p = g("pull", *HTTP, "--platform", "linux/arm64", f"{reg.host}/test/p:liar", check=False)
    assert p.returncode != 0 and arm in p.stderr and "the index says" in p.stderr, p.stderr
    assert_clean_and_empty(g)


class Misbehaving:
    """an HTTP server that answers /v2/ requests with a redirect to itself, or not at all"""

    def __init__(self, mode):
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if mode == "slow":
                    time.sleep(30)
                    return
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_redirect_loop_and_slow_registry(den, tmp):
    f = fresh(den, tmp)
    loop = Misbehaving("loop")
    try:
        p = f("pull", *HTTP, f"{loop.host}/test/x:1", check=False)
        assert p.returncode != 0 and "redirect loop" in p.stderr and loop.host in p.stderr, p.stderr
    finally:
        loop.stop()
    slow = Misbehaving("slow")
    try:
        t = time.monotonic()
        p = f("pull", *HTTP, "--timeout", "2", "--retry", "0", f"{slow.host}/test/x:1", check=False)
        assert p.returncode != 0 and "within 2 s" in p.stderr and slow.host in p.stderr, p.stderr
        assert time.monotonic() - t < 15
    finally:
        slow.stop()
    assert_clean_and_empty(f)


def test_short_names_follow_registries_conf(den, image, tmp, registries):
    reg = registries()
    den("push", *HTTP, image, f"{reg.host}/library/bb:1")
    xdg = os.path.join(tmp, "cfg")
    os.makedirs(os.path.join(xdg, "containers"))
    open(os.path.join(xdg, "containers", "registries.conf"), "w").write(
        f'unqualified-search-registries = ["{reg.host}"]\n')
    f = fresh(den, tmp)
    env = dict(os.environ, XDG_CONFIG_HOME=xdg)
    f("pull", "-q", *HTTP, "library/bb:1", env=env)
    assert f"{reg.host}/library/bb" in f("images").stdout
    # without a registries.conf, a short name means docker.io (unreachable here: the error says so)
    g = fresh(den, tmp, "g")
    p = g("pull", "--timeout", "3", "--retry", "0", "bb", check=False,
          env=dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "none")))
    assert p.returncode != 0 and "docker.io/library/bb:latest" in p.stderr or "docker.io" in p.stderr, p.stderr


@pytest.fixture
def podman(tmp):
    from conftest import podman_session
    yield from podman_session(tmp)


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
def test_interop_with_skopeo_and_podman(den, image, tmp, registries, podman):
    reg = registries()
    # den pushes; skopeo and podman pull; podman runs it (through den-runtime)
    den("push", *HTTP, image, f"{reg.host}/den/bb:1")
    # skopeo's own auth file: without XDG_RUNTIME_DIR it reads /run/containers/UID/auth.json, which root's
    # podman leaves unreadable to users once it has made /run/containers
    sk_env = dict(os.environ, REGISTRY_AUTH_FILE=os.path.join(tmp, "skopeo-auth.json"))
    p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{reg.host}/den/bb:1"],
                       capture_output=True, text=True, env=sk_env)
    assert p.returncode == 0 and json.loads(p.stdout)["Name"] == f"{reg.host}/den/bb", p.stderr
    podman("pull", "--tls-verify=false", f"{reg.host}/den/bb:1")
    p = podman("run", "--rm", "--network", "none", f"{reg.host}/den/bb:1", "/bin/denprobe", "ids")
    assert "uid=0" in p.stdout
    # skopeo pushes (from an OCI layout den wrote) and podman pushes; den pulls and runs both
    lay = os.path.join(tmp, "sk-layout")
    den("save", "--format", "oci-dir", "-o", lay, image)
    p = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{lay}", f"docker://{reg.host}/sk/bb:1"],
                       capture_output=True, text=True, env=sk_env)
    assert p.returncode == 0, p.stderr
    podman("push", "--tls-verify=false", f"{reg.host}/den/bb:1", f"{reg.host}/pm/bb:1")
    f = fresh(den, tmp)
    for ref in (f"{reg.host}/sk/bb:1", f"{reg.host}/pm/bb:1"):
        f("pull", "-q", *HTTP, ref)
        assert "uid=0" in f("run", "--rm", ref, "/bin/denprobe", "ids").stdout


def test_progress_on_a_terminal_and_quiet(den, image, tmp, registries):
    from conftest import run_in_pty
    reg = registries()
    md, layers = layered(den, image, tmp, "localhost/tty:1", [{"x": os.urandom(1 << 20)}])
    ref = f"{reg.host}/test/tty:1"
    den("push", "-q", *HTTP, "tty:1", ref)
    f = fresh(den, tmp)
    rc, out = run_in_pty([den.cmd()[0], "--root", f.root, "pull", *HTTP, ref], timeout=60)
    assert rc == 0, out
    # one live line per layer, redrawn in place, ending "done" with the size
    assert "\x1b[2K" in out and out.count("\x1b[2A") >= 1, out
    last = out.split("\x1b[2A")[-1]
    assert last.count("done") == 2 and "1.0 MB / 1.0 MB" in last.replace("1.1 MB", "1.0 MB"), last
    g = fresh(den, tmp, "g")
    p = g("pull", "-q", *HTTP, ref)
    assert p.stderr == "" and p.stdout.strip() == md


def upload(reg, repo, tag, layers, diff_ids):
    """an image straight into the registry over its API: layers as (bytes, media type)"""
    def blob(data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        req = urllib.request.Request(f"http://{reg.host}/v2/{repo}/blobs/uploads/", data=b"", method="POST")
        with urllib.request.urlopen(req) as r:
            loc = r.headers["Location"]
        if not loc.startswith("http"):
            loc = f"http://{reg.host}{loc}"
        req = urllib.request.Request(f"{loc}{'&' if '?' in loc else '?'}digest={d}", data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req).close()
        return {"digest": d, "size": len(data)}
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
           "layers": [dict(blob(data), mediaType=mt) for data, mt in layers]}
    return put_manifest(reg, repo, tag, json.dumps(man).encode(), man["mediaType"])


def test_compressed_layers_checked_against_diff_ids(den, tmp, registries):
    import gzip
    reg = registries()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("hello")
        ti.size = 6
        t.addfile(ti, io.BytesIO(b"hello\n"))
    plain = buf.getvalue()
    gz = gzip.compress(plain)
    good = "sha256:" + hashlib.sha256(plain).hexdigest()
    gzt = "application/vnd.oci.image.layer.v1.tar+gzip"
    upload(reg, "test/gz", "good", [(gz, gzt)], [good])
    upload(reg, "test/gz", "liar", [(gz, gzt)], ["sha256:" + "1" * 64])
    upload(reg, "test/gz", "broken", [(gz[:-20] + b"\0" * 20, gzt)], [good])
    f = fresh(den, tmp)
    f("pull", "-q", *HTTP, f"{reg.host}/test/gz:good")
    assert os.path.exists(os.path.join(f.root, "layers", good[7:], "diff", "hello"))
    for tag, msg in (("liar", "not the diff id"), ("broken", "layer")):
        g = fresh(den, tmp, "g-" + tag)
        p = g("pull", *HTTP, f"{reg.host}/test/gz:{tag}", check=False)
        assert p.returncode != 0 and msg in p.stderr and f"{reg.host}/test/gz:{tag}" in p.stderr, p.stderr
        assert_clean_and_empty(g)
        assert os.listdir(os.path.join(g.root, "layers")) == []
