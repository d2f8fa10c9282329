/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <stdlib.h>

#include "lib/linux/idmap.h"

static void test_format(void **state)
{
        struct spec_idmap m[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
        char *s = idmap_format(m, 2);
        assert_string_equal(s, "0 1000 1\n1 100000 65536\n");
        free(s);
        s = idmap_format(m, 0);
        assert_string_equal(s, "");
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_format) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
