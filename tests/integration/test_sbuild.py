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


MANPAGE = next((p for p in (os.path.join(os.path.dirname(__file__), "..", "docs", "den-unschroot.1"),
                             os.path.join(os.path.dirname(__file__), "..", "..", "docs", "den-unschroot.1"))
                if os.path.exists(p)), None)


def documented_sbuildrc():
    """the ~/.sbuildrc of den-unschroot(1), as the man page gives it (so the page and
    this test cannot drift apart)"""
    text = open(MANPAGE).read()
    block = text[text.index(".SH SBUILD"):text.index(".SH AUTOPKGTEST")]
    lines = block[block.index(".nf\n") + 4:block.index(".fi\n")]
    return lines.replace("\\e", "\\")


@pytest.fixture
def sbuild_env(den, tmp):
    """sbuild as den-unschroot(1) says: its ~/.sbuildrc lines verbatim, PREFIX (/usr/local) the
    test's install directory.  As an ordinary user: den's default store and run directory,
    with the user's own environment (no DEN_ROOT, no sbin on PATH).  As root, the man page's
    other-store variant: DEN_ROOT/DEN_RUNROOT kept by the filter (root's default store is shared)."""
    prefix = os.path.join(tmp, "prefix")
    os.makedirs(os.path.join(prefix, "lib", "den"))
    os.makedirs(os.path.join(prefix, "bin"))
    for prog in ("den", "den-unschroot", "autopkgtest-virt-den"):
        os.symlink(os.path.abspath(os.path.join(BUILD, prog)), os.path.join(prefix, "bin", prog))
    os.symlink(os.path.join(prefix, "bin", "den-unschroot"), os.path.join(prefix, "lib", "den", "schroot"))
    # the install prefix is the test's: /usr/local/lib/den and /usr/local/bin are its lib/den and bin
    rc_text = documented_sbuildrc().replace("/usr/local", prefix)
    assert "$chroot_mode = 'schroot';" in rc_text and os.path.join(prefix, "lib", "den") in rc_text
    env = dict(os.environ, PATH=f"{prefix}/bin:" + os.environ.get("PATH", "/usr/bin:/bin"))
    env.pop("XDG_RUNTIME_DIR", None)
    if ROOT:
        rc_text = rc_text.replace("'^PATH$' ]", "'^PATH$', '^DEN_(ROOT|RUNROOT)$' ]")
        env.update(DEN_ROOT=den.root, DEN_RUNROOT=den.runroot)
    # the README's line, with the den of this build
    subprocess.run(["den", "import", TARBALL, "sbuild/bookworm-amd64"], env=env, check=True, capture_output=True)
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    rc = os.path.join(tmp, "sbuildrc")
    # the test's own settings, after the documented lines: where the results go, no lintian
    open(rc, "w").write(rc_text + f"""$build_dir = '{out}';
$run_lintian = 0;
$run_piuparts = 0;
$run_autopkgtest = 0;
1;
""")
    env.update(SBUILD_CONFIG=rc, DEN=os.path.join(prefix, "bin", "den"))

    def sessions():
        return set(subprocess.run(["den", "session", "list"], env=env, capture_output=True, text=True).stdout.splitlines())
    before = sessions()
    yield env, out
    left = sessions() - before
    for line in left:  # ended, so that one failure does not leave keepers in the user's store
        subprocess.run(["den", "session", "end", line.split()[0]], env=env, capture_output=True)
    assert not left, "sbuild or autopkgtest left a session behind"


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
    # the build's PATH (sbuild's "User Environment" dump, inside the session) has no den directory
    build_path = [ln for ln in log.splitlines() if ln.startswith("PATH=")]
    assert build_path and not any("lib/den" in ln for ln in build_path), build_path
    # and apt's commands found their sbin (a user's PATH has none)
    assert "ldconfig: not found" not in log and "not found in PATH" not in log, log[:3000]
    deb = os.path.join(out, "hello-den_1.0_amd64.deb")
    contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/hello-den" in contents
    # a build that needs the network fails, and says why
    rc, log = sbuild(env, out, source_package(tmp, "needs-net", NEEDS_NET))
    assert rc != 0 and "NO NETWORK IN THE BUILD" in log, log[-3000:]
    # autopkgtest through autopkgtest-virt-den
    # the README's line (-U: the root has no package lists, apt-get update first)
    p = subprocess.run(["autopkgtest", "-U", deb, dsc, "--", "den", "sbuild/bookworm-amd64"],
                       env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0 and "command1             PASS" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    # and sbuild's autopkgtest mode on the same server (that mode of sbuild 0.85 keeps the network on for
    # the build: a package that does not look for it)
    plain = source_package(tmp, "plain-den", "#!/usr/bin/make -f\n%:\n\tdh $@\n")
    p = subprocess.run(["sbuild", "--chroot-mode=autopkgtest", "--autopkgtest-virt-server=den",
                        "--autopkgtest-virt-server-opt=sbuild/bookworm-amd64", "-d", "bookworm", "--no-source",
                        "--arch-all", plain], cwd=out, env=env, capture_output=True, text=True, timeout=900)
    log = open(os.path.join(out, "plain-den_1.0_amd64.build"), errors="replace").read()
    assert p.returncode == 0 and "Status: successful" in log, log[-3000:]
