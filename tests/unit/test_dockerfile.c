/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/build/dockerfile.h"

static void parse_ok(const char *text, struct df_plan *p)
{
        struct err e = { 0 };
        int r = dockerfile_parse(text, strlen(text), p, &e);
        if (r < 0)
                fail_msg("'%s' did not parse: %s", text, e.msg);
}

static struct df_instr *in_at(struct df_plan *p, size_t stage, size_t i)
{
        assert_true(stage < p->n_stages);
        assert_true(i < p->stages[stage].n_instrs);
        return &p->stages[stage].instrs[i];
}

static void test_basic(void **state)
{
        struct df_plan p;
        parse_ok("FROM alpine:3\n\n# a comment\nRUN echo hi  \n", &p);
        assert_null(p.syntax);
        assert_int_equal(p.escape, '\\');
        assert_int_equal(p.n_stages, 1);
        assert_string_equal(p.stages[0].image, "alpine:3");
        assert_null(p.stages[0].name);
        assert_int_equal(p.stages[0].n_instrs, 2);
        struct df_instr *in = in_at(&p, 0, 1);
        assert_int_equal(in->kind, DF_RUN);
        assert_int_equal(in->line, 4);
        assert_false(in->json);
        assert_string_equal(in->args, "echo hi");
        dockerfile_plan_free(&p);
}

static void test_directives(void **state)
{
        struct df_plan p;
        parse_ok("# syntax=docker/dockerfile:1\n#  ESCAPE = `\nFROM x\nRUN a `\n b\nCOPY c:\\x d\n", &p);
        assert_string_equal(p.syntax, "docker/dockerfile:1");
        assert_int_equal(p.escape, '`');
        assert_string_equal(in_at(&p, 0, 1)->args, "a  b");
        assert_string_equal(in_at(&p, 0, 2)->args, "c:\\x d");
        dockerfile_plan_free(&p);
        /* after the first other line, a directive is a comment */
        parse_ok("FROM x\n# escape=`\nRUN a \\\n b\n", &p);
        assert_int_equal(p.escape, '\\');
        assert_string_equal(in_at(&p, 0, 1)->args, "a  b");
        dockerfile_plan_free(&p);
        parse_ok("\n# escape=`\nFROM x\nRUN a \\\n", &p);
        assert_int_equal(p.escape, '\\');
        dockerfile_plan_free(&p);
        parse_ok("# check=skip=all\n# escape=`\nFROM x\n", &p);
        assert_int_equal(p.escape, '`');
        dockerfile_plan_free(&p);
}

static void test_continuations(void **state)
{
        struct df_plan p;
        parse_ok("FROM x\nRUN a \\\n# c\n\n   \n  b \\  \n c\r\nUSER u\nRUN z \\", &p);
        assert_string_equal(in_at(&p, 0, 1)->args, "a   b  c");
        assert_int_equal(in_at(&p, 0, 1)->line, 2);
        assert_int_equal(in_at(&p, 0, 2)->kind, DF_USER);
        assert_int_equal(in_at(&p, 0, 2)->line, 8);
        assert_string_equal(in_at(&p, 0, 3)->args, "z");
        dockerfile_plan_free(&p);
}

static void test_stages_and_case(void **state)
{
        struct df_plan p;
        parse_ok("ARG V=1\nArg W\nfrom --platform=linux/arm64 img:${V} as build\nrun make\nFROM scratch\n"
                 "copy --from=build /a /b\n", &p);
        assert_int_equal(p.n_global_args, 2);
        assert_string_equal(p.global_args[0].args, "V=1");
        assert_string_equal(p.global_args[1].args, "W");
        assert_int_equal(p.n_stages, 2);
        assert_string_equal(p.stages[0].image, "img:${V}");
        assert_string_equal(p.stages[0].name, "build");
        assert_string_equal(p.stages[0].platform, "linux/arm64");
        assert_int_equal(p.stages[0].line, 3);
        assert_string_equal(p.stages[1].image, "scratch");
        assert_string_equal(df_flag_get(in_at(&p, 1, 1), "from"), "build");
        dockerfile_plan_free(&p);
        /* "--" ends the flags; FROM has no JSON form (found by fuzz-dockerfile) */
        parse_ok("FROM -- --:3\nFROM [\"x\"]\n", &p);
        assert_string_equal(p.stages[0].image, "--:3");
        assert_string_equal(p.stages[1].image, "[\"x\"]");
        dockerfile_plan_free(&p);
}

static void test_json_form(void **state)
{
        struct df_plan p;
        parse_ok("FROM x\nCMD [\"a\", \"b c\"]\nCMD [\"a\", 1]\nENTRYPOINT [a\nRUN []\nSHELL [\"/bin/bash\", \"-c\"]\n"
                 "VOLUME [\"/v\"]\nVOLUME /w /z\n", &p);
        struct df_instr *in = in_at(&p, 0, 1);
        assert_true(in->json);
        assert_string_equal(in->argv[0], "a");
        assert_string_equal(in->argv[1], "b c");
        assert_null(in->argv[2]);
        assert_null(in->args);
        assert_false(in_at(&p, 0, 2)->json);
        assert_string_equal(in_at(&p, 0, 2)->args, "[\"a\", 1]");
        assert_false(in_at(&p, 0, 3)->json);
        assert_true(in_at(&p, 0, 4)->json);
        assert_null(in_at(&p, 0, 4)->argv[0]);
        assert_true(in_at(&p, 0, 5)->json);
        assert_true(in_at(&p, 0, 6)->json);
        assert_string_equal(in_at(&p, 0, 7)->args, "/w /z");
        dockerfile_plan_free(&p);
}

static void test_heredocs(void **state)
{
        struct df_plan p;
        parse_ok("FROM x\nRUN <<EOF\necho $HOME\n\n# not a comment\nEOF\n"
                 "RUN <<-\"A\" <<'B' cat\n\tone\n\t\tA\n\tA\n  two\nB\n"
                 "COPY <<EOF /file\ncontent \\\nEOF\nRUN cat <<< x\nUSER u\n", &p);
        struct df_instr *in = in_at(&p, 0, 1);
        assert_int_equal(in->n_heredocs, 1);
        assert_string_equal(in->heredocs[0].name, "EOF");
        assert_true(in->heredocs[0].expand);
        assert_false(in->heredocs[0].strip_tabs);
        assert_string_equal(in->heredocs[0].body, "echo $HOME\n\n# not a comment\n");
        assert_string_equal(in->args, "<<EOF");
        in = in_at(&p, 0, 2);
        assert_int_equal(in->line, 7);
        assert_int_equal(in->n_heredocs, 2);
        assert_string_equal(in->heredocs[0].name, "A");
        assert_false(in->heredocs[0].expand);
        assert_true(in->heredocs[0].strip_tabs);
        assert_string_equal(in->heredocs[0].body, "one\n");
        assert_string_equal(in->heredocs[1].name, "B");
        assert_false(in->heredocs[1].expand);
        assert_string_equal(in->heredocs[1].body, "\tA\n  two\n");
        in = in_at(&p, 0, 3);
        assert_int_equal(in->kind, DF_COPY);
        assert_string_equal(in->heredocs[0].body, "content \\\n");
        assert_int_equal(in_at(&p, 0, 4)->n_heredocs, 0);
        assert_int_equal(in_at(&p, 0, 5)->line, 17);
        dockerfile_plan_free(&p);
}

static void test_flags(void **state)
{
        struct df_plan p;
        parse_ok("FROM x\nRUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none make\n"
                 "COPY --chown=1:2 --chmod=644 --link a b\nADD --checksum=sha256:00 http://x/y /y\n"
                 "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/\nHEALTHCHECK NONE\n"
                 "HEALTHCHECK CMD [\"true\"]\nONBUILD run --mount=type=bind,target=/s make\n", &p);
        struct df_instr *in = in_at(&p, 0, 1);
        assert_int_equal(in->n_flags, 3);
        assert_string_equal(in->flags[0].name, "mount");
        assert_string_equal(in->flags[0].value, "type=cache,target=/c");
        assert_string_equal(in->flags[1].value, "type=secret,id=s");
        assert_string_equal(df_flag_get(in, "network"), "none");
        assert_string_equal(in->args, "make");
        in = in_at(&p, 0, 2);
        assert_string_equal(df_flag_get(in, "chown"), "1:2");
        assert_string_equal(df_flag_get(in, "chmod"), "644");
        assert_string_equal(df_flag_get(in, "link"), "");
        assert_null(in->flags[2].value);
        assert_null(df_flag_get(in, "from"));
        assert_string_equal(df_flag_get(in_at(&p, 0, 3), "checksum"), "sha256:00");
        in = in_at(&p, 0, 4);
        assert_string_equal(df_flag_get(in, "interval"), "5s");
        assert_int_equal(in->sub->kind, DF_CMD);
        assert_string_equal(in->sub->args, "curl -f http://localhost/");
        assert_true(in_at(&p, 0, 5)->none);
        assert_true(in_at(&p, 0, 6)->sub->json);
        in = in_at(&p, 0, 7);
        assert_int_equal(in->kind, DF_ONBUILD);
        assert_int_equal(in->sub->kind, DF_RUN);
        assert_string_equal(df_flag_get(in->sub, "mount"), "type=bind,target=/s");
        assert_string_equal(in->sub->args, "make");
        dockerfile_plan_free(&p);
}

static void test_every_instruction(void **state)
{
        struct df_plan p;
        parse_ok("FROM x\nRUN a\nCMD a\nLABEL a=b \"c d\"=e\nMAINTAINER me\nEXPOSE 80/tcp\nENV A=1 B=2\n"
                 "ADD a b\nCOPY a b\nENTRYPOINT a\nVOLUME /v\nUSER u:g\nWORKDIR /w\nARG A\nONBUILD USER x\n"
                 "STOPSIGNAL SIGTERM\nHEALTHCHECK NONE\nSHELL [\"sh\"]\n", &p);
        assert_int_equal(p.stages[0].n_instrs, DF_KIND_MAX);
        for (int k = 0; k < DF_KIND_MAX; k++) {
                assert_int_equal(in_at(&p, 0, (size_t) k)->kind, k);
                assert_int_equal(in_at(&p, 0, (size_t) k)->line, k + 1);
        }
        assert_string_equal(df_kind_name(DF_HEALTHCHECK), "HEALTHCHECK");
        assert_true(df_kind_expands(DF_COPY));
        assert_false(df_kind_expands(DF_RUN));
        assert_false(df_kind_expands(DF_CMD));
        dockerfile_plan_free(&p);
}

static const struct {
        const char *text;
        const char *msg;
} errors[] = {
        { "", "Dockerfile: file with no instructions" },
        { "# just a comment\n\n", "Dockerfile: file with no instructions" },
        { "ARG A\n", "Dockerfile: no FROM instruction" },
        { "FROM x\nFOO bar\n", "Dockerfile:2: unknown instruction 'FOO'" },
        { "RUN x\nFROM y\n", "Dockerfile:1: RUN: comes before the first FROM (only ARG may)" },
        { "FROM x\nRUN --bogus=1 a\n", "Dockerfile:2: RUN: unknown flag: --bogus" },
        { "FROM x\nCOPY --mount=x a b\n", "Dockerfile:2: COPY: unknown flag: --mount" },
        { "FROM x\nUSER --link u\n", "Dockerfile:2: USER: unknown flag: --link" },
        { "FROM x\nCOPY --from=a --from=b a b\n", "Dockerfile:2: COPY: duplicate flag specified: --from" },
        { "FROM x\n\nWORKDIR\n", "Dockerfile:3: WORKDIR: requires at least one argument" },
        { "FROM x\nRUN --network=none\n", "Dockerfile:2: RUN: requires at least one argument" },
        { "FROM\n", "Dockerfile:1: FROM: requires at least one argument" },
        { "FROM a b\n", "Dockerfile:1: FROM: requires either one or three arguments (IMAGE [AS NAME])" },
        { "FROM a AS Bad\n", "Dockerfile:1: FROM: invalid stage name 'Bad'" },
        { "FROM x\nCOPY a\n", "Dockerfile:2: COPY: requires at least two arguments (source and destination)" },
        { "FROM x\nADD [\"a\"]\n", "Dockerfile:2: ADD: requires at least two arguments" },
        { "FROM x\nSHELL sh -c\n", "Dockerfile:2: SHELL: requires the arguments to be a JSON array of strings" },
        { "FROM x\nSHELL [\"sh\", 1]\n", "Dockerfile:2: SHELL: requires the arguments to be a JSON array of strings" },
        { "FROM x\nSHELL []\n", "Dockerfile:2: SHELL: requires at least one argument" },
        { "FROM x\nRUN <<EOF\nhi\n", "Dockerfile:2: RUN: unterminated heredoc 'EOF'" },
        { "FROM x\nRUN <<A <<B\nA\nB  \n", "Dockerfile:2: RUN: unterminated heredoc 'B'" },
        { "FROM x\nONBUILD ONBUILD RUN a\n", "Dockerfile:2: ONBUILD: ONBUILD is not allowed as an ONBUILD trigger" },
        { "FROM x\nONBUILD FROM y\n", "Dockerfile:2: ONBUILD: FROM is not allowed as an ONBUILD trigger" },
        { "FROM x\nONBUILD NOPE y\n", "Dockerfile:2: ONBUILD: unknown instruction 'NOPE'" },
        { "FROM x\nONBUILD\n", "Dockerfile:2: ONBUILD: requires at least one argument" },
        { "FROM x\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no arguments or flags" },
        { "FROM x\nHEALTHCHECK RUN x\n", "Dockerfile:2: HEALTHCHECK: unknown type 'RUN' (CMD or NONE)" },
        { "FROM x\nHEALTHCHECK --interval=1s\n", "Dockerfile:2: HEALTHCHECK: requires at least one argument" },
        { "# escape=x\nFROM x\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\" },
        { "# escape=`\n# escape=\\\nFROM x\n", "Dockerfile:2: only one escape parser directive can be used" },
        { "FROM x\nRUN a\0b\n", "Dockerfile: contains a NUL byte" },
};

static void test_errors(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                struct df_plan p;
                struct err e = { 0 };
                size_t len = strlen(errors[i].text);
                if (strstr(errors[i].msg, "NUL"))
                        len = 15;
                if (dockerfile_parse(errors[i].text, len, &p, &e) >= 0)
                        fail_msg("'%s' parsed", errors[i].text);
                if (strncmp(e.msg, errors[i].msg, strlen(errors[i].msg)) != 0)
                        fail_msg("'%s': got '%s', wanted '%s'", errors[i].text, e.msg, errors[i].msg);
                assert_int_equal(p.n_stages, 0);
        }
}

static void test_bounds(void **state)
{
        struct df_plan p;
        struct err e = { 0 };
        size_t n = DF_MAX_SIZE + 1;
        _cleanup_free_ char *big = xmalloc(n);
        memset(big, '\n', n);
        assert_int_equal(dockerfile_parse(big, n, &p, &e), -EFBIG);
        /* a line over 1 MiB, made of continuations */
        char *q = big;
        q += sprintf(q, "FROM x\nRUN ");
        while (q - big < (ptrdiff_t) (DF_MAX_LINE * 13 / 10))
                q += sprintf(q, "aaaaaaaaaa\\\n");
        *q = '\0';
        e = (struct err) { 0 };
        assert_true(dockerfile_parse(big, strlen(big), &p, &e) < 0);
        assert_non_null(strstr(e.msg, "Dockerfile:2: line longer than"));
        q = big + sprintf(big, "FROM x\n");
        for (int i = 0; i < DF_MAX_INSTRUCTIONS; i++)
                q += sprintf(q, "USER u\n");
        e = (struct err) { 0 };
        assert_true(dockerfile_parse(big, strlen(big), &p, &e) < 0);
        assert_string_equal(e.msg, "Dockerfile:10001: more than 10000 instructions");
}

static const char *lookup(const char *name, void *userdata)
{
        (void) userdata;
        if (strcmp(name, "A") == 0)
                return "alpha";
        if (strcmp(name, "E") == 0)
                return "";
        if (strcmp(name, "S") == 0)
                return "a b";
        return NULL;
}

static const struct {
        const char *in;
        char esc;
        const char *out; /* NULL: an error containing msg */
        const char *msg;
} expands[] = {
        { "plain", '\\', "plain", NULL },
        { "$A", '\\', "alpha", NULL },
        { "${A}x", '\\', "alphax", NULL },
        { "x$A.y", '\\', "xalpha.y", NULL },
        { "$U", '\\', "", NULL },
        { "${U}", '\\', "", NULL },
        { "${U:-def}", '\\', "def", NULL },
        { "${E:-def}", '\\', "def", NULL },
        { "${E-def}", '\\', "", NULL },
        { "${U-def}", '\\', "def", NULL },
        { "${A:-def}", '\\', "alpha", NULL },
        { "${A:+alt}", '\\', "alt", NULL },
        { "${E:+alt}", '\\', "", NULL },
        { "${E+alt}", '\\', "alt", NULL },
        { "${U+alt}", '\\', "", NULL },
        { "${U:-$A/x}", '\\', "alpha/x", NULL },
        { "${U:-${V:-deep}}", '\\', "deep", NULL },
        { "\\$A", '\\', "$A", NULL },
        { "`$A", '`', "$A", NULL },
        { "\\$A", '`', "\\alpha", NULL },
        { "a\\ b", '\\', "a b", NULL },
        { "'$A x'", '\\', "$A x", NULL },
        { "\"$A x\"", '\\', "alpha x", NULL },
        { "\"\\$A \\\"q\\\" \\n\"", '\\', "$A \"q\" \\n", NULL },
        { "$", '\\', "$", NULL },
        /* BuildKit's special parameters and positionals: names, unset in a build */
        { "a$-b", '\\', "ab", NULL },
        { "$12x", '\\', "x", NULL },
        { "a$$b", '\\', "ab", NULL },
        { "a$$", '\\', "a", NULL },
        { "${$}", '\\', "", NULL },
        { "a$.b", '\\', "a$.b", NULL },
        { "a$ b", '\\', "a$ b", NULL },
        { "trail\\", '\\', "trail", NULL },
        { "$S", '\\', "a b", NULL },
        { "${A:?}", '\\', "alpha", NULL },
        { "${U:?need U}", '\\', NULL, "U: need U" },
        { "${E:?}", '\\', NULL, "E: is not allowed to be empty" },
        { "${U:?}", '\\', NULL, "U: is not allowed to be unset" },
        { "${U?}", '\\', NULL, "U: is not allowed to be unset" },
        { "${:-x}", '\\', NULL, "bad substitution" },
        { "${", '\\', NULL, "missing '}'" },
        { "${E?x}", '\\', "", NULL },
        { "${A", '\\', NULL, "unsupported modifier ' '" },
        { "${A:-x", '\\', NULL, "missing '}'" },
        { "${}", '\\', NULL, "bad substitution" },
        { "${A/x}", '\\', NULL, "unsupported modifier '/'" },
        { "${A#al}", '\\', "pha", NULL },
        { "${A#*a}", '\\', "lpha", NULL },
        { "${A##*a}", '\\', "", NULL },
        { "${A%a}", '\\', "alph", NULL },
        { "${A%h*}", '\\', "alp", NULL },
        { "${A%%l*}", '\\', "a", NULL },
        { "${A#x}", '\\', "alpha", NULL },
        { "${U#x}", '\\', "", NULL },
        { "${A%$E}", '\\', "alpha", NULL },
        { "${A#a", '\\', NULL, "missing '}'" },
        { "'open", '\\', NULL, "single-quote" },
        { "\"open", '\\', NULL, "double-quote" },
};

static void test_expand(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(expands); i++) {
                struct err e = { 0 };
                char *out = NULL;
                int r = dockerfile_expand(expands[i].in, expands[i].esc, lookup, NULL, &out, &e);
                if (expands[i].out) {
                        if (r < 0)
                                fail_msg("'%s': %s", expands[i].in, e.msg);
                        if (strcmp(out, expands[i].out) != 0)
                                fail_msg("'%s': got '%s', wanted '%s'", expands[i].in, out, expands[i].out);
                        free(out);
                } else {
                        assert_true(r < 0);
                        if (!strstr(e.msg, expands[i].msg))
                                fail_msg("'%s': got '%s', wanted '%s'", expands[i].in, e.msg, expands[i].msg);
                }
        }
}

static void test_expand_words(void **state)
{
        (void) state;
        static const struct {
                const char *in;
                const char *out; /* the words joined by '|' */
        } cases[] = {
                { "a b  c", "a|b|c" },
                { "  $A \t${U:-x y}", "alpha|x y" },
                { "\"a b\" 'c d' e\\ f", "a b|c d|e f" },
                { "$S z", "a b|z" }, /* a value is one word: it is not split again */
                { "k=\"v w\" k2=$A", "k=v w|k2=alpha" },
                { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct err e = { 0 };
                char **w = NULL;
                assert_int_equal(dockerfile_expand_words(cases[i].in, '\\', lookup, NULL, &w, &e), 0);
                char got[256] = "";
                for (size_t k = 0; w[k]; k++) {
                        if (k)
                                strcat(got, "|");
                        strcat(got, w[k]);
                        free(w[k]);
                }
                free(w);
                if (strcmp(got, cases[i].out) != 0)
                        fail_msg("'%s': got '%s', wanted '%s'", cases[i].in, got, cases[i].out);
        }
        struct err e = { 0 };
        char **w = NULL;
        assert_true(dockerfile_expand_words("ok '$open", '\\', lookup, NULL, &w, &e) < 0);
        assert_non_null(strstr(e.msg, "single-quote"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basic),
                cmocka_unit_test(test_directives),
                cmocka_unit_test(test_continuations),
                cmocka_unit_test(test_stages_and_case),
                cmocka_unit_test(test_json_form),
                cmocka_unit_test(test_heredocs),
                cmocka_unit_test(test_flags),
                cmocka_unit_test(test_every_instruction),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_expand_words),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
