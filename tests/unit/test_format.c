/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/runtime/format.h"

static void test_size_in_docker_units(void **state)
{
        static const struct {
                uint64_t bytes;
                const char *want;
        } cases[] = {
                { 0, "0 B" },           { 999, "999 B" },         { 1000, "1 kB" },      { 1986560, "1.99 MB" },
                { 445000000, "445 MB" }, { 999499, "999 kB" },    { 999600, "1 MB" },    { 1234567890, "1.23 GB" },
        };
        char buf[32];
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                format_size(cases[i].bytes, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
}

static void test_durations_and_status_as_docker_words_them(void **state)
{
        static const struct {
                time_t s;
                const char *want;
        } cases[] = {
                { 0, "Less than a second" }, { 1, "1 second" },    { 59, "59 seconds" },   { 60, "About a minute" },
                { 300, "5 minutes" },        { 3600, "About an hour" }, { 7200, "2 hours" }, { 3 * 86400, "3 days" },
                { 21 * 86400, "3 weeks" },   { 90 * 86400, "3 months" }, { 800 * 86400, "2 years" },
        };
        char buf[64];
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                format_duration(cases[i].s, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        format_status("running", -1, 1000, -1, 1300, buf, sizeof(buf));
        assert_string_equal(buf, "Up 5 minutes");
        format_status("exited", 0, 1000, 1000, 1120, buf, sizeof(buf));
        assert_string_equal(buf, "Exited (0) 2 minutes ago");
        format_status("exited", 137, -1, -1, 1120, buf, sizeof(buf));
        assert_string_equal(buf, "Exited (137)");
        format_status("created", -1, -1, -1, 1120, buf, sizeof(buf));
        assert_string_equal(buf, "Created");
        assert_int_equal(format_parse_time("1970-01-01T00:01:40.5Z"), 100);
        assert_int_equal(format_parse_time("yesterday"), -1);
}

static void test_trunc_and_table(void **state)
{
        char *t = format_trunc("sh -c sleep 30; echo more", 20);
        assert_string_equal(t, "sh -c sleep 30; ech…");
        free(t);
        t = format_trunc("short", 20);
        assert_string_equal(t, "short");
        free(t);
        struct format_table tb;
        format_table_init(&tb, 3);
        const char *cells[] = { "A", "B", "C", "long…", "x", "last" };
        for (size_t i = 0; i < ELEMENTSOF(cells); i++)
                format_table_add(&tb, cells[i]);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        format_table_print(&tb, f);
        fclose(f);
        /* the ellipsis is one column wide */
        assert_string_equal(out, "A       B   C\nlong…   x   last\n");
        free(out);
        format_table_free(&tb);
}

static void test_template(void **state)
{
        json_t *o = json_pack("{s:s,s:{s:s,s:i},s:[s,s]}", "Id", "abc", "State", "Status", "running", "ExitCode", 0,
                              "Args", "sleep", "5");
        char *out = NULL;
        struct err err = { 0 };
        assert_int_equal(format_template("{{.Id}} {{ .State.Status }} {{.State.ExitCode}} {{.Args}} {{json .Args}} {{.No}}",
                                         o, &out, &err), 0);
        assert_string_equal(out, "abc running 0 [sleep 5] [\"sleep\",\"5\"] <no value>");
        free(out);
        assert_true(format_template("{{index .Args 0}}", o, &out, &err) < 0);
        assert_non_null(strstr(err.msg, "{{index .Args 0}}"));
        err_clear(&err);
        assert_true(format_template("{{.Id", o, &out, &err) < 0);
        json_decref(o);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size_in_docker_units),
                cmocka_unit_test(test_durations_and_status_as_docker_words_them),
                cmocka_unit_test(test_trunc_and_table),
                cmocka_unit_test(test_template),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
