/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/linux/cgroup.h"

static char **plan(const char *res, bool v2, int *r)
{
        json_t *j = json_loads(res, 0, NULL);
        char **w = NULL;
        struct err e = { 0 };
        *r = cgroup_plan_writes(j, v2, &w, &e);
        json_decref(j);
        return w;
}

static bool has(char **w, const char *line)
{
        for (size_t i = 0; w && w[i]; i++)
                if (strcmp(w[i], line) == 0)
                        return true;
        return false;
}

static void test_v2(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan("{\"memory\":{\"limit\":1048576,\"swap\":2097152},\"pids\":{\"limit\":10},"
                                            "\"cpu\":{\"quota\":50000,\"period\":100000,\"shares\":1024},"
                                            "\"unified\":{\"memory.high\":\"900000\"}}",
                                            true, &r);
        assert_int_equal(r, 0);
        assert_true(has(w, "memory.max\t1048576"));
        assert_true(has(w, "memory.swap.max\t1048576"));
        assert_true(has(w, "pids.max\t10"));
        assert_true(has(w, "cpu.max\t50000 100000"));
        assert_true(has(w, "cpu.weight\t39"));
        assert_true(has(w, "memory.high\t900000"));
}

static void test_v1(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan("{\"memory\":{\"limit\":-1},\"pids\":{\"limit\":0},\"cpu\":{\"shares\":512}}", false, &r);
        assert_int_equal(r, 0);
        assert_true(has(w, "memory:memory.limit_in_bytes\t-1"));
        assert_true(has(w, "pids:pids.max\tmax"));
        assert_true(has(w, "cpu:cpu.shares\t512"));
        char **bad = plan("{\"unified\":{\"memory.high\":\"1\"}}", false, &r);
        assert_true(r < 0);
        assert_null(bad);
        bad = plan("{\"unified\":{\"../escape\":\"1\"}}", true, &r);
        assert_true(r < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_v2), cmocka_unit_test(test_v1) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
