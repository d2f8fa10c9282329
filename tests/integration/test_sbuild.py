# SPDX-License-Identifier: GPL-2.0-or-later
"""The slow tier: sbuild's schroot mode builds a Debian package through
den-unschroot, unprivileged, from a bookworm buildd root that mmdebstrap made
(scripts/debian-root.sh buildd, cached per machine); dependencies install with
the network, the build runs without it; autopkgtest runs the package's test
through autopkgtest-virt-den.  Needs Debian's archive (apt's mirror)."""
import os
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, has_subids
from test_den_run import den  # noqa: F401 (fixture)

def archive_reachable():
    import socket
    try:
        socket.create_connection(("deb.debian.org", 80), timeout=5).close()
        return True
    except OSError:
        return False


TARBALL = os.environ.get("DEN_TEST_DEBIAN_BUILDD", "/var/cache/den/bookworm-buildd.tar")
UNSCHROOT = os.path.abspath(os.path.join(BUILD, "den-unschroot"))
VIRT = os.path.abspath(os.path.join(BUILD, "autopkgtest-virt-den"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(TARBALL), reason=f"no Debian buildd root at {TARBALL} (scripts/debian-root.sh buildd)"),
    pytest.mark.skipif(not archive_reachable(), reason="Debian's archive (deb.debian.org) is not reachable"),
    # dpkg gives files to system users and groups: a single-id namespace cannot hold them
    pytest.mark.skipif(not ROOT and not has_subids(), reason="installing Debian packages needs sub-ids"),
    pytest.mark.skipif(not shutil.which("sbuild") or not shutil.which("autopkgtest") or not shutil.which("dpkg-source"),
                       reason="sbuild, autopkgtest or dpkg-dev is not installed"),
]

RULES = """#!/usr/bin/make -f
%:
\tdh $@
override_dh_auto_build:
\tif perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "deb.debian.org:80", Timeout => 5) ? 0 : 1)'; \\
\t  then echo "THE BUILD REACHED THE NETWORK"; exit 1; else echo "network unreachable, as it should be"; fi
\tdh_auto_build
"""

NEEDS_NET = """#!/usr/bin/make -f
%:
\tdh $@
override_dh_auto_build:
\tperl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "deb.debian.org:80", Timeout => 5) ? 0 : 1)' \\
\t  || { echo "NO NETWORK IN THE BUILD"; exit 1; }
"""


def source_package(tmp, name, rules):
    d = os.path.join(tmp, "src", name)
    os.makedirs(os.path.join(d, "debian", "source"))
    os.makedirs(os.path.join(d, "debian", "tests"))
    files = {
        "hello.c": '#include <stdio.h>\nint main(void) { puts("hello from den"); return 0; }\n',
        "Makefile": ("all: hello\nhello: hello.c\n\t$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<\n"
                     f"install:\n\tinstall -D -m 755 hello $(DESTDIR)/usr/bin/{name}\nclean:\n\trm -f hello\n"),
        "debian/control": (f"Source: {name}\nSection: devel\nPriority: optional\nMaintainer: den <den@example.org>\n"
                           "Build-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\nRules-Requires-Root: no\n\n"
                           f"Package: {name}\nArchitecture: any\nDepends: ${{shlibs:Depends}}, ${{misc:Depends}}\n"
                           "Description: den's test package\n Built by sbuild through den-unschroot.\n"),
        "debian/rules": rules,
        "debian/changelog": (f"{name} (1.0) unstable; urgency=medium\n\n  * Test.\n\n"
                             " -- den <den@example.org>  Mon, 23 Nov 2026 12:00:00 +0000\n"),
        "debian/source/format": "3.0 (native)\n",
        "debian/tests/control": f'Test-Command: {name} | grep -q "hello from den"\nDepends: @\n',
    }
    for path, text in files.items():
        open(os.path.join(d, path), "w").write(text)
    os.chmod(os.path.join(d, "debian", "rules"), 0o755)
    subprocess.run(["dpkg-source", "-b", name], cwd=os.path.dirname(d), check=True, capture_output=True)
    return os.path.join(tmp, "src", f"{name}_1.0.dsc")


@pytest.fixture
def sbuild_env(den, tmp):
    den("import", TARBALL, "sbuild/bookworm-amd64")
    bin_dir = os.path.join(tmp, "bin")
    os.makedirs(bin_dir)
    # sbuild runs `schroot`: den-unschroot under that name, first in sbuild's $path
    os.symlink(UNSCHROOT, os.path.join(bin_dir, "schroot"))
    os.symlink(os.path.join(BUILD, "den"), os.path.join(bin_dir, "den"))
    os.symlink(VIRT, os.path.join(bin_dir, "autopkgtest-virt-den"))
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    rc = os.path.join(tmp, "sbuildrc")
    path = f"{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    open(rc, "w").write(f"""$chroot_mode = 'schroot';
$path = '{path}';
use Dpkg::BuildInfo;
$environment_filter = [ (map {{ "^$_\\$" }} Dpkg::BuildInfo::get_build_env_allowed()), '^PATH$', '^DEN_(ROOT|RUNROOT)$' ];
$build_dir = '{out}';
$run_lintian = 0;
$run_piuparts = 0;
$run_autopkgtest = 0;
$apt_update = 1;
1;
""")
    env = dict(os.environ, SBUILD_CONFIG=rc, DEN_ROOT=den.root, DEN_RUNROOT=den.runroot, PATH=path,
               DEN=os.path.join(BUILD, "den"))
    env.pop("XDG_RUNTIME_DIR", None)
    yield env, out
    assert den("session", "list").stdout.count("\n") == 1, "sbuild or autopkgtest left a session behind"


def sbuild(env, out, dsc):
    p = subprocess.run(["sbuild", "-d", "bookworm", "-c", "bookworm-amd64-sbuild", "--no-source", "--arch-all", dsc],
                       cwd=out, env=env, capture_output=True, text=True, timeout=900)
    name = os.path.basename(dsc).split("_")[0]
    log = open(os.path.join(out, f"{name}_1.0_amd64.build"), errors="replace").read()
    return p.returncode, log


@pytest.mark.skipif(not ROOT and "sbuild" not in subprocess.run(["id", "-nG"], capture_output=True, text=True).stdout,
                    reason="this user is not in group sbuild (sbuild-adduser)")
def test_sbuild_and_autopkgtest_through_den(sbuild_env, tmp):
    env, out = sbuild_env
    dsc = source_package(tmp, "hello-den", RULES)
    rc, log = sbuild(env, out, dsc)
    assert rc == 0, log[-3000:]
    assert "network unreachable, as it should be" in log and "Status: successful" in log, log[-3000:]
    deb = os.path.join(out, "hello-den_1.0_amd64.deb")
    contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/hello-den" in contents
    # a build that needs the network fails, and says why
    rc, log = sbuild(env, out, source_package(tmp, "needs-net", NEEDS_NET))
    assert rc != 0 and "NO NETWORK IN THE BUILD" in log, log[-3000:]
    # autopkgtest through autopkgtest-virt-den
    p = subprocess.run(["autopkgtest", "--setup-commands=apt-get update -qq", deb, dsc, "--", "den",
                        "sbuild/bookworm-amd64"], env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0 and "command1             PASS" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    # and sbuild's autopkgtest mode on the same server (that mode of sbuild 0.85 keeps the network on for
    # the build: a package that does not look for it)
    plain = source_package(tmp, "plain-den", "#!/usr/bin/make -f\n%:\n\tdh $@\n")
    p = subprocess.run(["sbuild", "--chroot-mode=autopkgtest", "--autopkgtest-virt-server=den",
                        "--autopkgtest-virt-server-opt=sbuild/bookworm-amd64", "-d", "bookworm", "--no-source",
                        "--arch-all", plain], cwd=out, env=env, capture_output=True, text=True, timeout=900)
    log = open(os.path.join(out, "plain-den_1.0_amd64.build"), errors="replace").read()
    assert p.returncode == 0 and "Status: successful" in log, log[-3000:]
