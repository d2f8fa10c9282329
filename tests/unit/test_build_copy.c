/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The builder's host-side pieces: the image view (view.c), COPY/ADD as a
 * layer tar (copy.c) and the deterministic layer writer (tarw.c, layer.c).
 * Runs as root and as an unprivileged user; what needs root (whiteouts,
 * trusted xattrs, chown) is checked as root only. */
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/build/copy.h"
#include "lib/build/view.h"
#include "lib/store/layer.h"
#include "lib/store/store.h"

#define A(fn) DL(LIBARCHIVE, fn)

static const char *L0 = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
static const char *L1 = "sha256:0000000000000000000000000000000000000000000000000000000000000002";

static bool is_root(void)
{
        return geteuid() == 0;
}

static void mkdirs(int dfd, const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p; (s = strchr(s + 1, '/'));) {
                *s = '\0';
                mkdirat(dfd, p, 0755);
                *s = '/';
        }
        mkdirat(dfd, p, 0755);
}

static void put_file(int dfd, const char *path, const char *body, mode_t mode, time_t mtime)
{
        _cleanup_free_ char *p = xstrdup(path);
        char *s = strrchr(p, '/');
        if (s) {
                *s = '\0';
                mkdirs(dfd, p);
        }
        int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, body, strlen(body)), (ssize_t) strlen(body));
        fchmod(fd, mode);
        struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
        futimens(fd, ts);
        close(fd);
}

static void set_mtime(int dfd, const char *path, time_t mtime)
{
        struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
        assert_int_equal(utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void mark_opaque(int dfd, const char *path)
{
        _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", dfd, path);
        /* as den's unpack does: trusted.* as root, user.* rootless */
        assert_int_equal(setxattr(p, is_root() ? "trusted.overlay.opaque" : "user.overlay.opaque", "y", 1, 0), 0);
}

struct fixture {
        char dir[64];
        struct store s;
        struct view v;
        int ctx;
};

static struct fixture fx;

/*   L0: etc/{passwd,group,hostname}  usr/lib/libc.so  lib -> usr/lib  data/{a,b}
 *       opq/{x,y}  gone  abs -> /etc/hostname  esc -> ../../../etc/hostname
 *       loop1 -> loop2 -> loop1  app2/ (0700, mtime 777)
 *   L1: opq/ (opaque) z   data/c   gone (whiteout, as root)   etc/hostname "top" */
static void make_layers(void)
{
        static const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
                                    "this line is broken\n"
                                    "bad:x:notanumber:0::/:/bin/sh\n"
                                    "app:x:1000:1001::/home/app:/bin/sh\n"
                                    "#comment:x:5:5::/:/bin/sh\n";
        static const char *group = "root:x:0:\nstaff:x:50:app\nappgrp:x:1001:\n";
        _cleanup_free_ char *d0 = xasprintf("layers/%s/diff", L0 + 7), *d1 = xasprintf("layers/%s/diff", L1 + 7);
        mkdirs(fx.s.root_fd, d0);
        mkdirs(fx.s.root_fd, d1);
        int l0 = openat(fx.s.root_fd, d0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int l1 = openat(fx.s.root_fd, d1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(l0 >= 0 && l1 >= 0);
        put_file(l0, "etc/passwd", passwd, 0644, 100);
        put_file(l0, "etc/group", group, 0644, 100);
        put_file(l0, "etc/hostname", "base\n", 0644, 100);
        put_file(l0, "usr/lib/libc.so", "ELF", 0755, 100);
        assert_int_equal(symlinkat("usr/lib", l0, "lib"), 0);
        put_file(l0, "data/a", "a", 0644, 100);
        put_file(l0, "data/b", "b", 0644, 100);
        put_file(l0, "opq/x", "x", 0644, 100);
        put_file(l0, "opq/y", "y", 0644, 100);
        put_file(l0, "gone", "gone", 0644, 100);
        assert_int_equal(symlinkat("/etc/hostname", l0, "abs"), 0);
        assert_int_equal(symlinkat("../../../etc/hostname", l0, "esc"), 0);
        assert_int_equal(symlinkat("loop2", l0, "loop1"), 0);
        assert_int_equal(symlinkat("loop1", l0, "loop2"), 0);
        mkdirs(l0, "app2");
        assert_int_equal(fchmodat(l0, "app2", 0700, 0), 0);
        set_mtime(l0, "app2", 777);
        set_mtime(l0, "usr", 200);
        set_mtime(l0, "usr/lib", 300);
        put_file(l1, "opq/z", "z", 0644, 100);
        mark_opaque(l1, "opq");
        put_file(l1, "data/c", "c", 0644, 100);
        put_file(l1, "etc/hostname", "top\n", 0644, 100);
        if (is_root())
                assert_int_equal(mknodat(l1, "gone", S_IFCHR | 0000, makedev(0, 0)), 0);
        close(l0);
        close(l1);
}

/*   ctx: a.txt (0644, mtime 1000)  script.sh (0755)  dir/{b.txt (0600), sub/c.txt, link -> b.txt}
 *        emptydir/  evil -> /etc/passwd  evil2 -> ../../../../etc/passwd */
static void make_context(void)
{
        _cleanup_free_ char *c = xasprintf("%s/ctx", fx.dir);
        assert_int_equal(mkdir(c, 0755), 0);
        fx.ctx = open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        put_file(fx.ctx, "a.txt", "hello\n", 0644, 1000);
        put_file(fx.ctx, "script.sh", "#!/bin/sh\n", 0755, 1000);
        put_file(fx.ctx, "dir/b.txt", "bee", 0600, 1000);
        put_file(fx.ctx, "dir/sub/c.txt", "sea", 0644, 1000);
        assert_int_equal(symlinkat("b.txt", fx.ctx, "dir/link"), 0);
        mkdirs(fx.ctx, "emptydir");
        assert_int_equal(symlinkat("/etc/passwd", fx.ctx, "evil"), 0);
        assert_int_equal(symlinkat("../../../../etc/passwd", fx.ctx, "evil2"), 0);
}

static int setup(void **state)
{
        snprintf(fx.dir, sizeof(fx.dir), "/tmp/den-unit-copy.XXXXXX");
        assert_non_null(mkdtemp(fx.dir));
        struct err e = { 0 };
        assert_int_equal(store_open(fx.dir, &fx.s, &e), 0);
        make_layers();
        make_context();
        char *ids[] = { (char *) L0, (char *) L1 };
        assert_int_equal(view_open(&fx.s, ids, 2, &fx.v, &e), 0);
        return 0;
}

static int teardown(void **state)
{
        view_close(&fx.v);
        close(fx.ctx);
        store_close(&fx.s);
        fs_rm_rf(fx.dir);
        return 0;
}

/* ---- view ---- */

static char *read_all(const char *path)
{
        char *buf;
        size_t n;
        struct err e = { 0 };
        int r = view_read_file(&fx.v, path, 1 << 16, &buf, &n, &e);
        return r < 0 ? NULL : buf;
}

static void test_view_resolve(void **state)
{
        struct stat st;
        struct err e = { 0 };
        assert_int_equal(view_stat(&fx.v, "/etc/passwd", true, &st, &e), 0);
        assert_true(S_ISREG(st.st_mode));
        /* root's files and, rootless, the user's: root in the container */
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, 0);
        _cleanup_free_ char *h = read_all("/etc/hostname");
        assert_string_equal(h, "top\n"); /* the topmost layer wins */
        assert_int_equal(view_stat(&fx.v, "/lib/libc.so", true, &st, &e), 0);
        assert_int_equal(view_stat(&fx.v, "/lib", false, &st, &e), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(view_stat(&fx.v, "/lib", true, &st, &e), 0);
        assert_true(S_ISDIR(st.st_mode));
        /* absolute and escaping links stay inside the image's root */
        _cleanup_free_ char *a = read_all("/abs"), *b = read_all("/esc"), *c = read_all("/../../../etc/hostname"),
                            *d = read_all("data/../etc/../etc/hostname");
        assert_string_equal(a, "top\n");
        assert_string_equal(b, "top\n");
        assert_string_equal(c, "top\n");
        assert_string_equal(d, "top\n");
        assert_int_equal(view_stat(&fx.v, "/loop1", true, &st, &e), -ELOOP);
        err_clear(&e);
        assert_int_equal(view_stat(&fx.v, "/loop1", false, &st, &e), 0);
        assert_int_equal(view_stat(&fx.v, "/nothere", true, &st, &e), -ENOENT);
        assert_int_equal(view_stat(&fx.v, "/etc/passwd/x", true, &st, &e), -ENOTDIR);
        err_clear(&e);
        if (is_root())
                assert_int_equal(view_stat(&fx.v, "/gone", false, &st, &e), -ENOENT);
        int fd;
        assert_int_equal(view_open_path(&fx.v, "/", false, &fd, &e), 0);
        close(fd);
}

static void test_view_list_realpath(void **state)
{
        struct err e = { 0 };
        char **v;
        size_t n;
        /* an opaque directory hides the layers below */
        assert_int_equal(view_list(&fx.v, "/opq", &v, &n, &e), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0], "z");
        strv_freep(&v);
        assert_int_equal(view_list(&fx.v, "/data", &v, &n, &e), 0);
        assert_int_equal(n, 3);
        assert_string_equal(v[0], "a");
        assert_string_equal(v[2], "c");
        strv_freep(&v);
        assert_int_equal(view_list(&fx.v, "/", &v, &n, &e), 0);
        bool gone = false;
        for (size_t i = 0; i < n; i++)
                gone |= strcmp(v[i], "gone") == 0;
        assert_int_equal(gone, !is_root()); /* the whiteout exists as root only */
        strv_freep(&v);
        static const struct {
                const char *path;
                bool follow;
                const char *real;
        } rp[] = { { "/lib/libc.so", true, "usr/lib/libc.so" }, { "/lib/new/dir", true, "usr/lib/new/dir" },
                   { "/lib", false, "lib" }, { "/", true, "" }, { "/abs", true, "etc/hostname" } };
        for (size_t i = 0; i < ELEMENTSOF(rp); i++) {
                char *r;
                assert_int_equal(view_realpath(&fx.v, rp[i].path, rp[i].follow, &r, &e), 0);
                assert_string_equal(r, rp[i].real);
                free(r);
        }
}

static void test_view_user(void **state)
{
        static const struct {
                const char *spec;
                uid_t uid;
                gid_t gid;
        } ok[] = {
                { "root", 0, 0 },         { "app", 1000, 1001 },    { "1000", 1000, 1001 }, { "4242", 4242, 0 },
                { "app:staff", 1000, 50 }, { "app:77", 1000, 77 },  { "4242:appgrp", 4242, 1001 },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                uid_t u;
                gid_t g;
                struct err e = { 0 };
                assert_int_equal(view_resolve_user(&fx.v, ok[i].spec, &u, &g, &e), 0);
                assert_int_equal(u, ok[i].uid);
                assert_int_equal(g, ok[i].gid);
        }
        static const char *bad[] = { "nobody", "app:nogroup", "", ":0", "app:", "bad", "#comment", "99999999999" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uid_t u;
                gid_t g;
                struct err e = { 0 };
                assert_true(view_resolve_user(&fx.v, bad[i], &u, &g, &e) < 0);
                assert_true(e.msg[0] != '\0');
        }
        struct err e = { 0 };
        uid_t u;
        gid_t g;
        view_resolve_user(&fx.v, "nobody", &u, &g, &e);
        assert_non_null(strstr(e.msg, "/etc/passwd"));
}

static void test_view_idmap(void **state)
{
        if (!is_root())
                skip();
        /* a rootless store's sub-ids, read back as the container's */
        struct view v = fx.v;
        v.map_ids = true;
        v.host_uid = 1234;
        v.host_gid = 1234;
        v.subuid_start = v.subgid_start = 200000;
        v.subuid_count = v.subgid_count = 65536;
        _cleanup_free_ char *d0 = xasprintf("%s/layers/%s/diff", fx.dir, L0 + 7);
        _cleanup_free_ char *f1 = xasprintf("%s/data/a", d0), *f2 = xasprintf("%s/data/b", d0), *f3 = xasprintf("%s/etc/group", d0);
        assert_int_equal(chown(f1, 200041, 200099), 0);
        assert_int_equal(chown(f2, 1234, 1234), 0);
        assert_int_equal(chown(f3, 7, 7), 0);
        struct stat st;
        struct err e = { 0 };
        assert_int_equal(view_stat(&v, "/data/a", false, &st, &e), 0);
        assert_int_equal(st.st_uid, 42);
        assert_int_equal(st.st_gid, 100);
        assert_int_equal(view_stat(&v, "/data/b", false, &st, &e), 0);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(view_stat(&v, "/etc/group", false, &st, &e), 0);
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(chown(f1, 0, 0) | chown(f2, 0, 0) | chown(f3, 0, 0), 0);
}

/* ---- reading a tar back ---- */

struct tent {
        char name[256];
        mode_t mode; /* type and permissions */
        int64_t uid, gid, mtime, size;
        char link[256];
        char data[64];
};

static size_t read_tar(int fd, struct tent *out, size_t max)
{
        lseek(fd, 0, SEEK_SET);
        struct archive *a = A(archive_read_new)();
        A(archive_read_support_format_tar)(a);
        assert_int_equal(A(archive_read_open_fd)(a, fd, 4096), ARCHIVE_OK);
        struct archive_entry *e;
        size_t n = 0;
        while (A(archive_read_next_header)(a, &e) == ARCHIVE_OK) {
                assert_true(n < max);
                struct tent *t = &out[n++];
                memset(t, 0, sizeof(*t));
                snprintf(t->name, sizeof(t->name), "%s", A(archive_entry_pathname)(e));
                size_t l = strlen(t->name);
                if (l > 1 && t->name[l - 1] == '/')
                        t->name[l - 1] = '\0';
                t->mode = A(archive_entry_mode)(e);
                t->uid = A(archive_entry_uid)(e);
                t->gid = A(archive_entry_gid)(e);
                t->mtime = A(archive_entry_mtime)(e);
                t->size = A(archive_entry_size)(e);
                /* what this writer must leave out */
                assert_false(A(archive_entry_atime_is_set)(e));
                assert_false(A(archive_entry_ctime_is_set)(e));
                const char *un = A(archive_entry_uname)(e), *gn = A(archive_entry_gname)(e);
                assert_true(!un || !*un);
                assert_true(!gn || !*gn);
                if (A(archive_entry_symlink)(e))
                        snprintf(t->link, sizeof(t->link), "%s", A(archive_entry_symlink)(e));
                A(archive_read_data)(a, t->data, sizeof(t->data) - 1);
        }
        A(archive_read_free)(a);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(out[i - 1].name, out[i].name) < 0); /* sorted, once each */
        return n;
}

static const struct tent *find(const struct tent *t, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(t[i].name, name) == 0)
                        return &t[i];
        return NULL;
}

static int run_copy(const struct build_copy *c, struct err *e)
{
        int fd = memfd_create("copy", MFD_CLOEXEC);
        assert_true(fd >= 0);
        int r = build_copy_tar(c, fd, e);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

/* an entry's name, type and mode, and mtime (-1: any) */
static void expect(const struct tent *t, const char *name, mode_t mode, int64_t mtime)
{
        assert_string_equal(t->name, name);
        assert_int_equal(t->mode, mode);
        if (mtime >= 0)
                assert_int_equal(t->mtime, mtime);
}

/* the entries of a copy that must succeed */
static size_t copy_entries(const struct build_copy *c, struct tent *t, size_t max)
{
        struct err e = { 0 };
        int fd = run_copy(c, &e);
        if (fd < 0)
                fail_msg("build_copy_tar: %s", e.msg);
        size_t n = read_tar(fd, t, max);
        close(fd);
        return n;
}

static struct build_copy copy_base(char **srcs, const char *dest)
{
        return (struct build_copy){ .context_fd = fx.ctx, .srcs = srcs, .dest = dest, .base = &fx.v,
                                    .uid = (uid_t) -1, .gid = (gid_t) -1, .chmod = -1, .epoch = -1 };
}

/* ---- COPY ---- */

static void test_copy_file(void **state)
{
        char *srcs[] = { "a.txt", "script.sh", NULL };
        struct build_copy c = copy_base(srcs, "/app/");
        c.epoch = 500;
        struct tent t[32];
        size_t n = copy_entries(&c, t, 32);
        assert_int_equal(n, 3);
        expect(&t[0], "app", S_IFDIR | 0755, 500);
        expect(&t[1], "app/a.txt", S_IFREG | 0644, 500); /* 1000 clamped */
        assert_int_equal(t[1].uid, 0);
        assert_string_equal(t[1].data, "hello\n");
        assert_int_equal(t[2].mode, S_IFREG | 0755);

        /* one file to a file name; an existing directory of the base is a directory */
        char *one[] = { "a.txt", NULL };
        c = copy_base(one, "/renamed.txt");
        n = copy_entries(&c, t, 32);
        assert_int_equal(n, 1);
        expect(&t[0], "renamed.txt", S_IFREG | 0644, 1000);
        c = copy_base(one, "/app2");
        c.chmod = 0600;
        n = copy_entries(&c, t, 32);
        assert_int_equal(n, 2);
        /* the existing parent keeps its attributes from the base */
        expect(&t[0], "app2", S_IFDIR | 0700, 777);
        expect(&t[1], "app2/a.txt", S_IFREG | 0600, -1);
}

static void test_copy_dir_chown_symlinked_dest(void **state)
{
        char *srcs[] = { "dir", NULL };
        struct build_copy c = copy_base(srcs, "/lib/x");
        c.uid = 1000;
        c.gid = 1001;
        struct tent t[32];
        size_t n = copy_entries(&c, t, 32);
        /* /lib is usr/lib in the base: written there, its parents as they are */
        static const char *names[] = { "usr", "usr/lib", "usr/lib/x", "usr/lib/x/b.txt", "usr/lib/x/link",
                                       "usr/lib/x/sub", "usr/lib/x/sub/c.txt" };
        assert_int_equal(n, ELEMENTSOF(names));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(t[i].name, names[i]);
        assert_int_equal(t[0].uid, 0);
        assert_int_equal(t[0].mtime, 200);
        assert_int_equal(t[1].mtime, 300);
        assert_int_equal(t[2].uid, 1000); /* made by the copy: the --chown ids */
        assert_int_equal(t[2].gid, 1001);
        assert_int_equal(t[3].mode, S_IFREG | 0600);
        assert_int_equal(t[3].uid, 1000);
        assert_int_equal(t[4].mode & S_IFMT, S_IFLNK);
        assert_string_equal(t[4].link, "b.txt");
        assert_string_equal(t[6].data, "sea");

        /* an empty directory source still makes its destination */
        char *empty[] = { "emptydir", NULL };
        c = copy_base(empty, "/newdir");
        n = copy_entries(&c, t, 32);
        assert_int_equal(n, 1);
        assert_string_equal(t[0].name, "newdir");
}

static void test_copy_refusals(void **state)
{
        struct {
                char *srcs[3];
                const char *dest;
                const char *msg;
        } bad[] = {
                { { "a.txt", "script.sh" }, "/app", "must be a directory and end with a /" },
                { { "../etc/passwd" }, "/x", "outside the build context" },
                { { "dir/../../x" }, "/x", "outside the build context" },
                { { "evil" }, "/x", "outside the build context" },
                { { "evil2" }, "/x", "outside the build context" },
                { { "missing.txt" }, "/x", "file not found in build context" },
                { { "*.nothing" }, "/x/", "no source files were specified" },
                { { "*" }, "/x", "must be a directory" },
                { { "http://example.org/f" }, "/x", "can't be a URL for COPY" },
                { { NULL }, "/x", "no source files were specified" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct build_copy c = copy_base(bad[i].srcs, bad[i].dest);
                struct err e = { 0 };
                assert_true(run_copy(&c, &e) < 0);
                if (!strstr(e.msg, bad[i].msg))
                        fail_msg("case %zu: '%s'", i, e.msg);
        }
}

static void test_copy_wildcard_from_heredoc(void **state)
{
        char *srcs[] = { "*.txt", "d?r/*.txt", NULL };
        struct build_copy c = copy_base(srcs, "/w/");
        struct tent t[32];
        size_t n = copy_entries(&c, t, 32);
        assert_int_equal(n, 3);
        assert_string_equal(t[1].name, "w/a.txt");
        assert_string_equal(t[2].name, "w/b.txt");

        /* COPY --from: the image's merged view */
        char *from[] = { "/data", "/opq/", NULL };
        c = copy_base(from, "/d/");
        c.from = &fx.v;
        c.context_fd = -1;
        n = copy_entries(&c, t, 32);
        assert_int_equal(n, 5);
        assert_string_equal(t[1].name, "d/a");
        assert_string_equal(t[3].name, "d/c");
        assert_string_equal(t[4].name, "d/z");
        assert_string_equal(t[3].data, "c");

        c = copy_base(NULL, "/etc/");
        c.heredoc_name = "motd";
        c.heredoc_body = "welcome\n";
        c.epoch = 10;
        n = copy_entries(&c, t, 32);
        assert_int_equal(n, 2);
        expect(&t[0], "etc", S_IFDIR | 0755, 10); /* the base's, clamped */
        expect(&t[1], "etc/motd", S_IFREG | 0644, 10);
        assert_string_equal(t[1].data, "welcome\n");
}

/* a gzip'd tar in the context: ADD unpacks it, COPY does not */
static void make_archive(const char *name, const char *const *entries)
{
        int fd = openat(fx.ctx, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        struct archive *a = A(archive_write_new)();
        A(archive_write_set_format_pax_restricted)(a);
        A(archive_write_add_filter_gzip)(a);
        assert_int_equal(A(archive_write_open_fd)(a, fd), ARCHIVE_OK);
        for (const char *const *p = entries; *p; p++) {
                struct archive_entry *e = A(archive_entry_new)();
                A(archive_entry_set_pathname)(e, *p);
                bool dir = (*p)[strlen(*p) - 1] == '/';
                A(archive_entry_set_filetype)(e, dir ? AE_IFDIR : AE_IFREG);
                A(archive_entry_set_perm)(e, dir ? 0750 : 0640);
                A(archive_entry_set_uid)(e, 33);
                A(archive_entry_set_gid)(e, 34);
                A(archive_entry_set_mtime)(e, 2000, 0);
                A(archive_entry_set_size)(e, dir ? 0 : 2);
                A(archive_write_header)(a, e);
                if (!dir)
                        A(archive_write_data)(a, "hi", 2);
                A(archive_entry_free)(e);
        }
        A(archive_write_close)(a);
        A(archive_write_free)(a);
        close(fd);
}

static void test_add_archive(void **state)
{
        static const char *const good[] = { "pkg/", "pkg/bin/tool", "/abs/file", "./dot/file", NULL };
        static const char *const evil[] = { "ok", "../../escape", NULL };
        make_archive("pkg.tgz", good);
        make_archive("evil.tgz", evil);
        char *srcs[] = { "pkg.tgz", NULL };
        struct build_copy c = copy_base(srcs, "/opt/");
        c.add = true;
        struct err e = { 0 };
        struct tent t[32];
        size_t n = copy_entries(&c, t, 32);
        const struct tent *tool = find(t, n, "opt/pkg/bin/tool"), *pkg = find(t, n, "opt/pkg");
        assert_non_null(tool);
        assert_non_null(pkg);
        assert_non_null(find(t, n, "opt/abs/file"));
        assert_non_null(find(t, n, "opt/dot/file"));
        assert_int_equal(tool->uid, 33); /* the archive's owners */
        assert_int_equal(tool->mode, S_IFREG | 0640);
        assert_int_equal(tool->mtime, 2000);
        assert_string_equal(tool->data, "hi");
        assert_int_equal(pkg->mode, S_IFDIR | 0750);
        c.add = false; /* COPY copies the archive as it is */
        n = copy_entries(&c, t, 32);
        assert_non_null(find(t, n, "opt/pkg.tgz"));
        char *esrcs[] = { "evil.tgz", NULL };
        c = copy_base(esrcs, "/opt/");
        c.add = true;
        err_clear(&e);
        assert_true(run_copy(&c, &e) < 0);
        assert_non_null(strstr(e.msg, "escapes"));
        char *url[] = { "https://example.org/file.tar.gz", NULL };
        c = copy_base(url, "/opt/");
        c.add = true;
        err_clear(&e);
        assert_true(run_copy(&c, &e) < 0);
        assert_non_null(strstr(e.msg, "needs the network"));
}

/* ADD of a URL, from a one-shot server on the loopback */
static void test_add_url(void **state)
{
        int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        assert_int_equal(bind(ls, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(ls, 4), 0);
        assert_int_equal(getsockname(ls, (struct sockaddr *) &sa, &sl), 0);
        pid_t pid = fork();
        if (pid == 0) {
                static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                            "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nConnection: close\r\n\r\nhello";
                int c = accept(ls, NULL, NULL);
                char buf[4096];
                if (c < 0 || read(c, buf, sizeof(buf)) <= 0 || write(c, reply, sizeof(reply) - 1) < 0)
                        _exit(1);
                close(c);
                _exit(0);
        }
        close(ls);
        _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d/files/tool.bin?v=1", ntohs(sa.sin_port));
        char *srcs[] = { url, NULL };
        struct build_copy c = copy_base(srcs, "/dl/");
        c.add = true;
        c.network = true;
        struct tent t[8];
        size_t n = copy_entries(&c, t, 8);
        int st;
        waitpid(pid, &st, 0);
        assert_int_equal(n, 2);
        /* docker's mode for a download, dated by its Last-Modified */
        expect(&t[1], "dl/tool.bin", S_IFREG | 0600, 1445412480);
        assert_string_equal(t[1].data, "hello");
}

/* the same inputs give the same bytes, in another process too */
static void test_copy_deterministic(void **state)
{
        /* a name past ustar's 100 bytes takes a pax header: no pid or time in it either */
        char longname[200];
        memset(longname, 'n', 150);
        longname[150] = '\0';
        _cleanup_free_ char *lp = xasprintf("deep/%s", longname);
        put_file(fx.ctx, lp, "long", 0644, 1000);
        char *srcs[] = { "dir", "a.txt", "pkg.tgz", "deep", NULL };
        struct build_copy c = copy_base(srcs, "/lib/x/");
        c.add = true;
        c.epoch = 1500;
        struct err e = { 0 };
        int fd1 = run_copy(&c, &e);
        assert_true(fd1 >= 0);
        int fd2 = memfd_create("copy2", MFD_CLOEXEC);
        pid_t pid = fork();
        if (pid == 0)
                _exit(build_copy_tar(&c, fd2, &e) == 0 ? 0 : 1);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        char *b1, *b2;
        size_t n1, n2;
        lseek(fd1, 0, SEEK_SET);
        lseek(fd2, 0, SEEK_SET);
        assert_int_equal(fs_read_fd(fd1, 1 << 24, &b1, &n1), 0);
        assert_int_equal(fs_read_fd(fd2, 1 << 24, &b2, &n2), 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        free(b1);
        free(b2);
        close(fd1);
        close(fd2);
}

/* ---- layer_diff_opts ---- */

static int make_upper(const char *name, bool reverse)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", fx.dir, name);
        assert_int_equal(mkdir(p, 0755), 0);
        int d = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        static const char *files[] = { "b/2", "a/1", "c", "b/1", "a/0", "keep/hosts" };
        for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                size_t i = reverse ? ELEMENTSOF(files) - 1 - k : k;
                put_file(d, files[i], files[i], 0644, 5000);
        }
        /* the mount points a container start made */
        put_file(d, "etc/hosts", "", 0644, 5000);
        put_file(d, "etc/resolv.conf", "nameserver 1.1.1.1\n", 0644, 5000); /* written to: kept */
        mkdirs(d, "proc");
        if (is_root())
                assert_int_equal(mknodat(d, "dev-null", S_IFCHR, makedev(0, 0)), 0);
        close(d);
        return 0;
}

static size_t diff_of(const char *name, struct tent *t, size_t max, char **ret_bytes, size_t *ret_len)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", fx.dir, name);
        char *ex[] = { "etc/hosts", "etc/resolv.conf", "/proc", "dev-null", NULL };
        struct layer_diff_opts o = { .epoch = 1000, .exclude = ex };
        int fd = memfd_create("diff", MFD_CLOEXEC);
        struct err e = { 0 };
        if (layer_diff_opts(p, fd, &o, &e) < 0)
                fail_msg("layer_diff_opts: %s", e.msg);
        size_t n = read_tar(fd, t, max);
        lseek(fd, 0, SEEK_SET);
        assert_int_equal(fs_read_fd(fd, 1 << 24, ret_bytes, ret_len), 0);
        close(fd);
        return n;
}

static void test_layer_diff_deterministic(void **state)
{
        make_upper("up1", false);
        make_upper("up2", true);
        struct tent t[32];
        char *b1, *b2;
        size_t n1, n2;
        size_t n = diff_of("up1", t, 32, &b1, &n1);
        diff_of("up2", t + 16, 16, &b2, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        free(b1);
        free(b2);
        assert_null(find(t, n, "etc/hosts"));
        assert_null(find(t, n, "proc"));
        assert_null(find(t, n, ".wh.dev-null"));
        assert_non_null(find(t, n, "etc/resolv.conf"));
        assert_non_null(find(t, n, "keep/hosts"));
        assert_string_equal(t[0].name, "a");
        for (size_t i = 0; i < n; i++)
                assert_int_equal(t[i].mtime, 1000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_view_resolve),
                cmocka_unit_test(test_view_list_realpath),
                cmocka_unit_test(test_view_user),
                cmocka_unit_test(test_view_idmap),
                cmocka_unit_test(test_copy_file),
                cmocka_unit_test(test_copy_dir_chown_symlinked_dest),
                cmocka_unit_test(test_copy_refusals),
                cmocka_unit_test(test_copy_wildcard_from_heredoc),
                cmocka_unit_test(test_add_archive),
                cmocka_unit_test(test_add_url),
                cmocka_unit_test(test_copy_deterministic),
                cmocka_unit_test(test_layer_diff_deterministic),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
