/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <string.h>

#include "lib/linux/seccomp.h"

static int build(const char *text, struct err *e)
{
        json_t *j = json_loads(text, 0, NULL);
        struct seccomp_filter *f = NULL;
        assert_non_null(j);
        int r = seccomp_filter_build(j, &f, e);
        json_decref(j);
        seccomp_filter_free(f);
        return r;
}

static void test_valid_profile(void **state)
{
        struct err e = { 0 };
        assert_int_equal(build("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                               "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
                               "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
                               "\"syscalls\":[{\"names\":[\"read\",\"write\",\"not_a_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                               "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                               "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
                               "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":3}]}",
                               &e),
                         0);
}

static void test_errors(void **state)
{
        struct err e = { 0 };
        assert_true(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                          "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
                          &e) < 0);
        assert_non_null(strstr(e.msg, "linux.seccomp.syscalls[0].args[0].op"));
        err_clear(&e);
        assert_true(build("{}", &e) < 0);
        assert_non_null(strstr(e.msg, "defaultAction"));
        err_clear(&e);
        assert_true(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}", &e) < 0);
        assert_non_null(strstr(e.msg, "listenerPath"));
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_valid_profile), cmocka_unit_test(test_errors) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
