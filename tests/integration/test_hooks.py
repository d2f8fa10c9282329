# SPDX-License-Identifier: GPL-2.0-or-later
import json
import os
import time


def hook(path, out, kind):
    script = f"#!/bin/sh\necho {kind} >> {out}\ncat >> {out}.{kind}\n"
    open(path, "w").write(script)
    os.chmod(path, 0o755)
    return {"path": path, "args": [path, kind]}


def test_all_six_hook_kinds_in_order_with_state(rt, bundle, tmp):
    b = bundle().set_args("/bin/true")
    out = os.path.join(tmp, "hooks.log")
    # createContainer runs in the container's mount namespace before pivot_root, and
    # startContainer inside it: the script lives in the rootfs at the same path
    hooks = {}
    for kind in ("prestart", "createRuntime", "poststart", "poststop"):
        hooks[kind] = [hook(os.path.join(tmp, kind + ".sh"), out, kind)]
    hooks["createContainer"] = [hook(os.path.join(tmp, "createContainer.sh"), out, "createContainer")]
    inner = os.path.join(b.rootfs, "hook.sh")
    open(inner, "w").write("#!/bin/sh\necho started > /tmp/started\n")
    os.chmod(inner, 0o755)
    hooks["startContainer"] = [{"path": "/hook.sh"}]
    b.config["hooks"] = hooks
    b.save()
    rt("run", "--bundle", b.path, "c1")
    order = open(out).read().split()
    assert order == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"], order
    st = json.loads(open(out + ".createRuntime").read())
    assert st["id"] == "c1" and st["pid"] > 0 and st["status"] == "creating"
    assert json.loads(open(out + ".poststop").read())["status"] == "stopped"
    assert open(os.path.join(b.rootfs, "tmp", "started")).read() == "started\n"


def test_failing_and_slow_hooks(rt, bundle, tmp):
    b = bundle().set_args("/bin/true")
    bad = os.path.join(tmp, "bad.sh")
    open(bad, "w").write("#!/bin/sh\nexit 3\n")
    os.chmod(bad, 0o755)
    b.config["hooks"] = {"createRuntime": [{"path": bad}]}
    b.save()
    p = rt("run", "--bundle", b.path, "c1", check=False)
    assert p.returncode != 0 and "hooks.createRuntime[0]" in p.stderr and "status 3" in p.stderr
    assert rt("list", "-q").stdout.split() == []
    slow = os.path.join(tmp, "slow.sh")
    open(slow, "w").write("#!/bin/sh\nsleep 30\n")
    os.chmod(slow, 0o755)
    b.config["hooks"] = {"prestart": [{"path": slow, "timeout": 1}]}
    b.save()
    t = time.time()
    p = rt("run", "--bundle", b.path, "c2", check=False)
    assert p.returncode != 0 and "timed out" in p.stderr
    assert time.time() - t < 10
