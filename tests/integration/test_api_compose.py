# SPDX-License-Identifier: GPL-2.0-or-later
"""den serve with docker-compose 1.29 and published ports: docker run -d -p, docker
port, labels, a compose file of two services (one publishing a port) up and down."""
import json
import os
import socket
import time
import urllib.request

import pytest

from apiserve import COMPOSE, api, compose_in  # noqa: F401 (api: the fixture)
from conftest import tun_usable



# a published port needs a private network: pasta or slirp4netns, which need /dev/net/tun
needs_tun = pytest.mark.skipif(not tun_usable(), reason="/dev/net/tun is not usable by this user")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(url, timeout=15):
    end, last = time.time() + timeout, None
    while time.time() < end:
        try:
            return urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError as e:
            last = e
            time.sleep(0.2)
    raise AssertionError(f"{url}: {last}")


HTTPD = "mkdir -p /www && echo {} > /www/index.html && exec busybox httpd -f -p 8000 -h /www"


@needs_tun
def test_run_d_p_publishes_and_docker_port_tells(api):
    port = free_port()
    cid = api("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:8000", "--label", "tier=front", "busybox",
              "sh", "-c", HTTPD.format("hello-p")).stdout.strip()
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-p\n"
    assert api("port", "web").stdout.strip() == f"8000/tcp -> 127.0.0.1:{port}"
    info = json.loads(api("inspect", cid).stdout)[0]
    assert info["Config"]["Labels"] == {"tier": "front"}
    assert info["HostConfig"]["PortBindings"] == {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert api("ps", "-q", "--filter", "label=tier=front").stdout.strip() == cid[:12]
    assert api("ps", "-q", "--filter", "label=tier=front", "--filter", "label=other").stdout.strip() == ""
    # no host port given: one is chosen
    api("run", "-d", "--name", "any", "-p", "127.0.0.1::8000", "busybox", "sh", "-c", HTTPD.format("any"))
    out = api("port", "any", "8000").stdout.strip()
    assert out.startswith("127.0.0.1:") and fetch(f"http://{out}/") == "any\n"


def test_what_den_does_not_do_is_refused_by_name(api):
    for args, word in ((["--memory", "64m"], "Memory"), (["--cap-add", "NET_ADMIN"], "CapAdd"),
                       (["--restart", "always"], "RestartPolicy"),
                       (["--mount", "type=volume,dst=/v,readonly"], "anonymous")):
        p = api("run", *args, "busybox", "true", check=False)
        assert p.returncode != 0 and word in p.stderr, (args, p.stderr)


@needs_tun
@pytest.mark.skipif(not COMPOSE, reason="docker-compose is not installed")
def test_compose_two_services_and_a_port_up_and_down(api, tmp):
    port = free_port()
    proj = os.path.join(tmp, "proj")
    os.mkdir(proj)
    with open(os.path.join(proj, "docker-compose.yml"), "w") as f:
        f.write(f"""version: "3"
services:
  web:
    image: busybox
    command: ["sh", "-c", "{HTTPD.format('hello-compose')}"]
    ports:
      - "127.0.0.1:{port}:8000"
    network_mode: bridge
  worker:
    image: busybox
    command: ["sh", "-c", "echo worker up; exec sleep 300"]
    environment:
      ROLE: worker
    network_mode: none
""")

    compose = compose_in(api, proj)

    compose("up", "-d")
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-compose\n"
    ps = compose("ps").stdout
    assert ps.count("proj_web_1") == 1 and ps.count("proj_worker_1") == 1 and "Up" in ps, ps
    assert "worker up" in compose("logs", "worker").stdout
    assert api("exec", "proj_worker_1", "sh", "-c", "echo $ROLE").stdout == "worker\n"
    compose("down")
    assert api("ps", "-aq").stdout.strip() == ""
    with pytest.raises(AssertionError):
        fetch(f"http://127.0.0.1:{port}/", timeout=1)
