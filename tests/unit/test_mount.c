/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>

#include "lib/linux/mount.h"

static void test_options_sorted(void **state)
{
        char *opts[] = { "rbind", "ro", "nosuid", "rslave", "mode=755", "size=1m", "noatime", "rnoexec", NULL };
        struct mount_opts o;
        struct err e = { 0 };
        assert_int_equal(mount_opts_parse(opts, &o, &e), 0);
        assert_true(o.bind && o.recursive);
        assert_true(o.attr_set & MOUNT_ATTR_RDONLY);
        assert_true(o.attr_set & MOUNT_ATTR_NOSUID);
        assert_int_equal(o.attr_set & MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME);
        assert_true(o.attr_clr & MOUNT_ATTR__ATIME);
        assert_true(o.rattr_set & MOUNT_ATTR_NOEXEC);
        assert_int_equal(o.propagation, MS_SLAVE);
        assert_true(o.propagation_rec);
        assert_string_equal(o.data, "mode=755,size=1m");
        mount_opts_free(&o);
}

static void test_later_option_wins(void **state)
{
        char *opts[] = { "ro", "rw", "nodev", "dev", NULL };
        struct mount_opts o;
        struct err e = { 0 };
        assert_int_equal(mount_opts_parse(opts, &o, &e), 0);
        assert_false(o.attr_set & MOUNT_ATTR_RDONLY);
        assert_true(o.attr_clr & MOUNT_ATTR_RDONLY);
        assert_false(o.attr_set & MOUNT_ATTR_NODEV);
        assert_null(o.data);
        mount_opts_free(&o);
}

static void test_bad_option(void **state)
{
        char *opts[] = { "size=1m,mode=700", NULL };
        struct mount_opts o;
        struct err e = { 0 };
        assert_true(mount_opts_parse(opts, &o, &e) < 0);
        assert_non_null(strstr(e.msg, "size=1m,mode=700"));
}

static void test_mqueue_bind_in_ipc_namespace_is_fresh(void **state)
{
        /* podman's pods: a bind of the host's /dev/mqueue, which may not exist */
        char *opts[] = { "bind", "nosuid", NULL };
        struct spec_mount m = { .destination = "/dev/mqueue", .type = "bind", .source = "/dev/mqueue",
                                .options = opts };
        struct spec s = { .mounts = &m, .n_mounts = 1 };
        struct mount_op *ops;
        size_t n;
        struct err e = { 0 };
        s.ns[NS_IPC].enabled = true;
        s.ns[NS_IPC].path = "/proc/1/ns/ipc";
        assert_int_equal(mount_plan(&s, &ops, &n, &e), 0);
        assert_int_equal(ops[0].kind, MOUNT_KIND_FS);
        assert_string_equal(ops[0].fstype, "mqueue");
        assert_true(ops[0].opts.attr_set & MOUNT_ATTR_NOSUID);
        mount_plan_free(ops, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_options_sorted),
                cmocka_unit_test(test_later_option_wins),
                cmocka_unit_test(test_bad_option),
                cmocka_unit_test(test_mqueue_bind_in_ipc_namespace_is_fresh),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
