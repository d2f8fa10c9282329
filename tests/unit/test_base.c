/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/err.h"
#include "lib/base/fs.h"
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_clean),
                cmocka_unit_test(test_err_first_wins),
                cmocka_unit_test(test_resolve_create_stays_inside),
                cmocka_unit_test(test_write_atomic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
