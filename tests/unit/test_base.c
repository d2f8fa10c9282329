/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/err.h"
#include "lib/base/fs.h"
#include "lib/base/json.h"
#include "lib/base/macro.h"

static void test_path_clean(void **state)
{
        static const char *cases[][2] = {
                { "/", "" },          { "/a/b", "a/b" },          { "a//b/", "a/b" },    { "/a/./b/../c", "a/c" },
                { "/../../etc", "etc" }, { "../..", "" },        { "/a/b/../../..", "" }, { "/x/../../y/./z", "y/z" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *r = path_clean_relative(cases[i][0]);
                assert_string_equal(r, cases[i][1]);
                free(r);
        }
}

static void test_err_first_wins(void **state)
{
        struct err e = { 0 };
        assert_int_equal(err_set(&e, -ENOENT, "inner %d", 1), -ENOENT);
        assert_int_equal(err_set(&e, -EIO, "outer"), -EIO);
        assert_string_equal(e.msg, "inner 1");
        assert_int_equal(e.code, -ENOENT);
        err_wrap(&e, "ctx");
        assert_string_equal(e.msg, "ctx: inner 1");
        err_clear(&e);
        err_sys(&e, -EACCES, "open '%s'", "x");
        assert_string_equal(e.msg, "open 'x': Permission denied");
}

static char *tmpdir(void)
{
        char *t = xstrdup("/tmp/den-unit.XXXXXX");
        assert_non_null(mkdtemp(t));
        return t;
}

static void test_resolve_create_stays_inside(void **state)
{
        _cleanup_free_ char *t = tmpdir();
        _cleanup_free_ char *root = xasprintf("%s/root", t), *victim = xasprintf("%s/victim", t);
        _cleanup_free_ char *link = xasprintf("%s/root/escape", t);
        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(mkdir(victim, 0755), 0);
        /* a symlink that climbs out, absolute and relative */
        assert_int_equal(symlink("../../../../../../victim/sub", link), 0);
        int rfd = open(root, O_PATH | O_DIRECTORY);
        struct err e = { 0 };
        int fd = fs_resolve_create(rfd, "/escape/deeper", FS_CREATE_DIR, 0755, &e);
        assert_true(fd >= 0);
        close(fd);
        _cleanup_free_ char *inside = xasprintf("%s/root/victim/sub/deeper", t), *outside = xasprintf("%s/victim/sub", t);
        struct stat st;
        assert_int_equal(stat(inside, &st), 0);
        assert_int_not_equal(stat(outside, &st), 0);
        /* a file, created as a file */
        fd = fs_resolve_create(rfd, "etc/one/file", FS_CREATE_FILE, 0600, &e);
        assert_true(fd >= 0);
        close(fd);
        _cleanup_free_ char *file = xasprintf("%s/root/etc/one/file", t);
        assert_int_equal(stat(file, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        /* without FS_CREATE_NONE nothing is made */
        err_clear(&e);
        assert_true(fs_resolve_create(rfd, "nope", FS_CREATE_NONE, 0, &e) < 0);
        assert_non_null(strstr(e.msg, "nope"));
        close(rfd);
        fs_rm_rf(t);
}

static void test_write_atomic(void **state)
{
        _cleanup_free_ char *t = tmpdir();
        int d = open(t, O_DIRECTORY | O_RDONLY);
        assert_int_equal(fs_write_atomic(d, "f", "abc", 3, 0600), 0);
        assert_int_equal(fs_write_atomic(d, "f", "defg", 4, 0600), 0);
        _cleanup_free_ char *p = xasprintf("%s/f", t), *buf = NULL;
        size_t n;
        assert_int_equal(fs_read_file(p, 100, &buf, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(buf, "defg");
        free(buf);
        buf = NULL;
        assert_int_equal(fs_read_file(p, 2, &buf, &n), -EFBIG);
        close(d);
        fs_rm_rf(t);
}

static void test_mkdir_p_empty(void **state)
{
        /* it used to read past the end of "" */
        assert_int_equal(fs_mkdir_p("", 0700), -ENOENT);
        _cleanup_free_ char *t = tmpdir(), *deep = xasprintf("%s/a/b/c", t);
        assert_int_equal(fs_mkdir_p(deep, 0700), 0);
        assert_int_equal(fs_mkdir_p(deep, 0700), 0);
        fs_rm_rf(t);
}

/* fs_open_private_dir: 0 and the mode it has, or the error with a word of its message */
static int private_dir(const char *path, unsigned flags, const char *want_in_msg)
{
        struct err e = { 0 };
        int fd = fs_open_private_dir(path, flags, "use --hint", &e);
        if (fd < 0) {
                assert_int_equal(fd, e.code);
                assert_non_null(strstr(e.msg, want_in_msg ? want_in_msg : "?"));
                /* a refusal says what to do instead */
                if (fd == -EPERM || fd == -ENOTDIR)
                        assert_non_null(strstr(e.msg, "use --hint"));
                return fd;
        }
        assert_null(want_in_msg);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        close(fd);
        return (int) (st.st_mode & 07777);
}

static void test_open_private_dir(void **state)
{
        _cleanup_free_ char *t = tmpdir();
        _cleanup_free_ char *fresh = xasprintf("%s/fresh", t), *deep = xasprintf("%s/x/y/deep", t), *open_ = xasprintf("%s/open", t),
                            *shared = xasprintf("%s/shared", t), *link = xasprintf("%s/link", t),
                            *link_slash = xasprintf("%s/link/", t), *file = xasprintf("%s/file", t),
                            *missing = xasprintf("%s/missing", t), *other = xasprintf("%s/other", t);
        struct err e = { 0 };
        assert_int_equal(fs_open_private_dir("", FS_PRIVATE_CREATE, "h", &e), -EINVAL);
        /* made, 0700 whatever the umask */
        mode_t old = umask(0277);
        assert_int_equal(private_dir(fresh, FS_PRIVATE_CREATE | FS_PRIVATE_0700, NULL), 0700);
        umask(old);
        assert_int_equal(private_dir(fresh, FS_PRIVATE_0700, NULL), 0700);
        assert_int_equal(private_dir(deep, FS_PRIVATE_CREATE, NULL), 0700 & ~old);
        assert_int_equal(private_dir(missing, 0, "cannot open"), -ENOENT);
        /* open to others: refused; readable by others: refused only where 0700 is asked */
        assert_int_equal(mkdir(open_, 0700), 0);
        assert_int_equal(chmod(open_, 0777), 0);
        assert_int_equal(private_dir(open_, FS_PRIVATE_CREATE | FS_PRIVATE_0700, "not 0700"), -EPERM);
        assert_int_equal(private_dir(open_, FS_PRIVATE_CREATE, "may write"), -EPERM);
        assert_int_equal(mkdir(shared, 0700), 0);
        assert_int_equal(chmod(shared, 0755), 0);
        assert_int_equal(private_dir(shared, 0, NULL), 0755);
        assert_int_equal(private_dir(shared, FS_PRIVATE_0700, "has mode 0755"), -EPERM);
        /* a symlink to a private directory of ours is not that directory's name */
        assert_int_equal(symlink(fresh, link), 0);
        assert_int_equal(private_dir(link, FS_PRIVATE_CREATE | FS_PRIVATE_0700, "symbolic link"), -ENOTDIR);
        assert_int_equal(private_dir(link_slash, FS_PRIVATE_0700, "symbolic link"), -ENOTDIR);
        close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        assert_int_equal(private_dir(file, FS_PRIVATE_CREATE, "not a directory"), -ENOTDIR);
        /* someone else's (only root can make one to try) */
        if (geteuid() == 0) {
                assert_int_equal(mkdir(other, 0700), 0);
                assert_int_equal(chown(other, 1, 1), 0);
                assert_int_equal(private_dir(other, FS_PRIVATE_CREATE | FS_PRIVATE_0700, "belongs to uid 1"), -EPERM);
        }
        fs_rm_rf(t);
}

static void test_json_integers_to_2_64(void **state)
{
        _cleanup_free_ char *t = tmpdir();
        _cleanup_free_ char *p = xasprintf("%s/c.json", t);
        /* past INT64_MAX: a real, so json_get_u64 reads it; in a string, a real
         * or negative: left as they are */
        const char *doc = "{\"a\":18446744073709551615,\"b\":[9223372036854775807,9223372036854775808],"
                          "\"s\":\"x\\\" 18446744073709551615\",\"r\":1.5e3}";
        int d = open(t, O_DIRECTORY | O_RDONLY);
        assert_int_equal(fs_write_atomic(d, "c.json", doc, strlen(doc), 0600), 0);
        struct err err = { 0 };
        json_t *j = json_load_path(p, 4096, &err);
        assert_non_null(j);
        uint64_t a = 0, b1 = 0;
        assert_int_equal(json_get_u64(j, "", "a", &a, &err), 0);
        assert_true(a == UINT64_MAX);
        assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "b"), 0)), INT64_MAX);
        json_t *o = json_pack("{s:O}", "v", json_array_get(json_object_get(j, "b"), 1));
        assert_int_equal(json_get_u64(o, "", "v", &b1, &err), 0);
        assert_true(b1 >= UINT64_C(9223372036854775807));
        assert_string_equal(json_string_value(json_object_get(j, "s")), "x\" 18446744073709551615");
        json_decref(o);
        json_decref(j);
        const char *neg = "{\"a\":-18446744073709551615}";
        assert_int_equal(fs_write_atomic(d, "c.json", neg, strlen(neg), 0600), 0);
        assert_null(json_load_path(p, 4096, &err));
        close(d);
        fs_rm_rf(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_clean),
                cmocka_unit_test(test_err_first_wins),
                cmocka_unit_test(test_resolve_create_stays_inside),
                cmocka_unit_test(test_write_atomic),
                cmocka_unit_test(test_mkdir_p_empty),
                cmocka_unit_test(test_open_private_dir),
                cmocka_unit_test(test_json_integers_to_2_64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
