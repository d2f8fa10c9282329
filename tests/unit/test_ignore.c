/* SPDX-License-Identifier: GPL-2.0-or-later */
/* .dockerignore by docker's rules: the cases of docker's documentation and of
 * moby/patternmatcher's and Go's path/filepath tests */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/build/ignore.h"

static struct ignore *parse_ok(const char *text)
{
        struct ignore *ig = NULL;
        struct err e = { 0 };
        if (ignore_parse(text, strlen(text), &ig, &e) < 0)
                fail_msg("'%s' did not parse: %s", text, e.msg);
        return ig;
}

struct match_case {
        const char *ignore;
        const char *path;
        bool excluded;
};

static void check_cases(const struct match_case *c, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct ignore *ig = parse_ok(c[i].ignore);
                if (ignore_match(ig, c[i].path) != c[i].excluded)
                        fail_msg("pattern '%s', path '%s': expected %s", c[i].ignore, c[i].path,
                                 c[i].excluded ? "excluded" : "included");
                ignore_free(ig);
        }
}

/* docs.docker.com, "dockerignore file" */
#define DOCS "# comment\n*/temp*\n*/*/temp*\ntemp?\n"
static void test_docs(void **state)
{
        static const struct match_case c[] = {
                { DOCS, "somedir/temporary.txt", true },
                { DOCS, "somedir/temp", true },
                { DOCS, "somedir/temp/inner", true },
                { DOCS, "somedir/subdir/temporary.txt", true },
                { DOCS, "tempa", true },
                { DOCS, "tempb", true },
                { DOCS, "temp", false },
                { DOCS, "tempab", false },
                { DOCS, "temporary.txt", false },
                { DOCS, "a/b/c/temp", false },
                { DOCS, "# comment", false },
                { "**/*.go", "main.go", true },
                { "**/*.go", "cmd/den/main.go", true },
                { "**/*.go", "main.goo", false },
                { "*.md\n!README.md\n", "README.md", false },
                { "*.md\n!README.md\n", "CHANGES.md", true },
                { "*.md\n!README.md\n", "docs/x.md", false },
                { "*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", true },
                { "*.md\n!README*.md\nREADME-secret.md\n", "README-public.md", false },
                { "*.md\n!README*.md\nREADME-secret.md\n", "other.md", true },
                { "*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md", false },
                { "*\n!keep\n", "anything", true },
                { "*\n!keep\n", "keep", false },
                { "*\n!keep\n", "keep/below", false },
                { "/foo/bar", "foo/bar", true },
                { "foo/bar", "foo/bar", true },
                { "/foo/bar", "foo/bar/baz", true },
                { "/foo/bar", "x/foo/bar", false },
                { "/foo/bar", "foo", false },
        };
        check_cases(c, ELEMENTSOF(c));
}

/* moby/patternmatcher's TestMatches and TestMatchesOrParentMatches */
static void test_patternmatcher(void **state)
{
        static const struct match_case c[] = {
                { "**", "file", true },
                { "**", "file/", true },
                { "**/", "file", true },
                { "**", "dir/file", true },
                { "**/", "dir/file", true },
                { "**/**", "dir/file", true },
                { "dir/**", "dir/file", true },
                { "dir/**", "dir/dir2/file", true },
                { "**/dir", "dir", true },
                { "**/dir", "dir/file", true },
                { "**/dir2/*", "dir/dir2/file", true },
                { "**/dir2/**", "dir/dir2/dir3/file", true },
                { "**file", "file", true },
                { "**file", "dir/file", true },
                { "**/file", "dir/file", true },
                { "**file", "dir/dir/file", true },
                { "**/file", "dir/dir/file", true },
                { "**/file*", "dir/dir/file", true },
                { "**/file*", "dir/dir/file.txt", true },
                { "**/file*txt", "dir/dir/file.txt", true },
                { "**/file*.txt", "dir/dir/file.txt", true },
                { "**/file*.txt*", "dir/dir/file.txt", true },
                { "**/**/*.txt", "dir/dir/file.txt", true },
                { "**/**/*.txt2", "dir/dir/file.txt", false },
                { "**/*.txt", "file.txt", true },
                { "**/**/*.txt", "file.txt", true },
                { "a**/*.txt", "a/file.txt", true },
                { "a**/*.txt", "a/dir/file.txt", true },
                { "a**/*.txt", "a/dir/dir/file.txt", true },
                { "a/*.txt", "a/dir/file.txt", false },
                { "a/*.txt", "a/file.txt", true },
                { "a/*.txt**", "a/file.txt", true },
                { "a[b-d]e", "ae", false },
                { "a[b-d]e", "ace", true },
                { "a[b-d]e", "aae", false },
                { "a[^b-d]e", "aze", true },
                { ".*", ".foo", true },
                { ".*", "foo", false },
                { "abc.def", "abcdef", false },
                { "abc.def", "abc.def", true },
                { "abc.def", "abcZdef", false },
                { "abc?def", "abcZdef", true },
                { "abc?def", "abcdef", false },
                { "a\\\\", "a\\", true },
                { "**/foo/bar", "foo/bar", true },
                { "**/foo/bar", "dir/foo/bar", true },
                { "**/foo/bar", "dir/dir2/foo/bar", true },
                { "abc/**", "abc", false },
                { "abc/**", "abc/def", true },
                { "abc/**", "abc/def/ghi", true },
                { "**/.foo", ".foo", true },
                { "**/.foo", "bar.foo", false },
                { "a(b)c/def", "a(b)c/def", true },
                { "a(b)c/def", "a(b)c/xyz", false },
                { "a.|)$(}+{bc", "a.|)$(}+{bc", true },
                { "dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true },
                /* patternmatcher's shortcut for "**" then plain text: a suffix */
                { "**foo", "xfoo", true },
                { "**.go", "a/b.go", true },
                { "dir", "dir/file", true },
                { "dir/", "dir/sub/file", true },
                { "a/b", "a/b/c/d", true },
                { "a/b", "a", false },
                { "a/b", "a/bc", false },
                { "node_modules", "node_modules/x/index.js", true },
                { "*/temp*", "temp/x", false },
        };
        check_cases(c, ELEMENTSOF(c));
}

static void test_syntax(void **state)
{
        static const struct match_case c[] = {
                /* cleaning */
                { "./a", "a", true },
                { "./a", "b", false },
                { "a/../b", "b", true },
                { "a/../b", "a", false },
                { "a//b/./c/", "a/b/c", true },
                { "!./a\n*\n!./b\n", "b", false },
                { "../x", "x", false },
                /* classes, '^' negates, '!' does not */
                { "[a-c]", "b", true },
                { "[a-c]", "d", false },
                { "[a-c]x", "cx", true },
                { "[^a]", "b", true },
                { "[^a]", "a", false },
                { "[!a]", "a", true },
                { "[!a]", "!", true },
                { "[!a]", "b", false },
                { "[\\]a]", "]", true },
                { "[x\\-]", "-", true },
                { "[a-ζ]", "α", true },
                /* '?' and '*' stay within a name */
                { "a?b", "a/b", false },
                { "a*b", "a/b", false },
                { "a?b", "a☺b", true },
                /* escapes */
                { "\\*", "*", true },
                { "\\*", "a", false },
                { "a\\?b", "a?b", true },
                { "a\\?b", "axb", false },
                { "\\#x", "#x", true },
                /* comments only in the first column; spaces around a pattern go */
                { "#foo", "#foo", false },
                { " #foo", "#foo", true },
                { "foo   \n", "foo", true },
                { "  bar\t\n", "bar", true },
                { "! bar\n", "bar", false },
                { "\xc2\xa0" "bar" "\xe3\x80\x80", "bar", true },
                { "a\r\nb\r\n", "a", true },
                { "a\r\nb\r\n", "b", true },
                { "\xef\xbb\xbf" "bom", "bom", true },
                { "\n\n   \n# x\n", "x", false },
                /* the path is cleaned like the patterns */
                { "a/b", "./a/b", true },
                { "a/b", "a//b/", true },
                { "a", ".", false },
                { "*", "", false },
        };
        check_cases(c, ELEMENTSOF(c));
}

/* the last pattern that matches decides, for the path and each of its parents */
#define REINCLUDE "dir\n!dir/keep\n"
#define TWICE "dir\n!dir/keep\ndir/keep/secret\n"
static void test_last_wins(void **state)
{
        static const struct match_case c[] = {
                { REINCLUDE, "dir", true },
                { REINCLUDE, "dir/other", true },
                { REINCLUDE, "dir/keep", false },
                { REINCLUDE, "dir/keep/below", false },
                { REINCLUDE, "dirx", false },
                { TWICE, "dir/keep/a", false },
                { TWICE, "dir/keep/secret", true },
                { TWICE, "dir/keep/secret/x", true },
                { "!dir/keep\ndir\n", "dir/keep", true },
                { "a\na\n!a\n", "a", false },
                { "!a\na\n", "a", true },
                { "*.txt\n!*.txt\n*.txt\n", "x.txt", true },
                /* an exception that matches a parent re-includes what is below it */
                { "a/b\n!a\n", "a/b/c", false },
                { "**\n!src\n**/*.o\n", "src/main.c", false },
                { "**\n!src\n**/*.o\n", "src/main.o", true },
                { "**\n!src\n**/*.o\n", "doc/x", true },
        };
        check_cases(c, ELEMENTSOF(c));
}

static void test_dir_may_include(void **state)
{
        struct ignore *ig = parse_ok("dir\n!dir/keep\nother\n");
        assert_true(ignore_dir_may_include(ig, "dir"));
        assert_true(ignore_dir_may_include(ig, "dir/"));
        assert_true(ignore_dir_may_include(ig, "dir/keep"));
        assert_false(ignore_dir_may_include(ig, "dir/other"));
        assert_false(ignore_dir_may_include(ig, "other"));
        assert_false(ignore_dir_may_include(ig, "di"));
        ignore_free(ig);
        ig = parse_ok("dir\n");
        assert_false(ignore_dir_may_include(ig, "dir"));
        ignore_free(ig);
        /* a trailing slash and one or two stars do not count as a wildcard */
        ig = parse_ok("a\n!a/b/**\n!c/*\n");
        assert_true(ignore_dir_may_include(ig, "a"));
        assert_true(ignore_dir_may_include(ig, "a/b"));
        assert_false(ignore_dir_may_include(ig, "a/c"));
        assert_true(ignore_dir_may_include(ig, "c"));
        assert_false(ignore_dir_may_include(ig, "ab"));
        ignore_free(ig);
        /* any other wildcard may match anywhere */
        ig = parse_ok("dir\n!**/*.txt\n");
        assert_true(ignore_dir_may_include(ig, "dir"));
        assert_true(ignore_dir_may_include(ig, "x/y"));
        ignore_free(ig);
        ig = parse_ok("dir\n!x[ab]\n");
        assert_true(ignore_dir_may_include(ig, "dir"));
        ignore_free(ig);
        assert_false(ignore_dir_may_include(NULL, "dir"));
        assert_false(ignore_match(NULL, "dir"));
}

static void test_errors(void **state)
{
        static const struct {
                const char *text, *msg;
        } c[] = {
                { "a\n\n[a", "line 3: syntax error in pattern '[a'" },
                { "!", "line 1: illegal exclusion pattern '!'" },
                { "# c\n!  \n", "line 2: illegal exclusion pattern '!'" },
                { "!/", "line 1: illegal exclusion pattern '!'" },
                { "a\\", "line 1: syntax error in pattern 'a\\'" },
                { "[]a]", "line 1: syntax error in pattern '[]a]'" },
                { "[-]", "line 1: syntax error in pattern '[-]'" },
                { "[x-]", "line 1: syntax error in pattern '[x-]'" },
                { "[a-b-c]", "line 1: syntax error in pattern '[a-b-c]'" },
                { "[^", "line 1: syntax error in pattern '[^'" },
                { "a/b[", "line 1: syntax error in pattern 'a/b['" },
                { "*[z-a]", "line 1: syntax error in pattern '*[z-a]'" },
                { "ok*\n  !x[\n", "line 2: syntax error in pattern '!x['" },
                { "[\xff]", "line 1: syntax error in pattern '[\xff]'" },
        };
        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                struct ignore *ig = NULL;
                struct err e = { 0 };
                assert_int_equal(ignore_parse(c[i].text, strlen(c[i].text), &ig, &e), -EINVAL);
                assert_null(ig);
                assert_string_equal(e.msg, c[i].msg);
        }
}

/* Go's path/filepath TestMatch; a bad pattern matches nothing */
static void test_glob(void **state)
{
        static const struct {
                const char *pattern, *name;
                bool match;
        } c[] = {
                { "abc", "abc", true },
                { "*", "abc", true },
                { "*c", "abc", true },
                { "a*", "a", true },
                { "a*", "abc", true },
                { "a*", "ab/c", false },
                { "a*/b", "abc/b", true },
                { "a*/b", "a/c/b", false },
                { "a*b*c*d*e*/f", "axbxcxdxe/f", true },
                { "a*b*c*d*e*/f", "axbxcxdxexxx/f", true },
                { "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false },
                { "a*b*c*d*e*/f", "axbxcxdxexxx/fff", false },
                { "a*b?c*x", "abxbbxdbxebxczzx", true },
                { "a*b?c*x", "abxbbxdbxebxczzy", false },
                { "ab[c]", "abc", true },
                { "ab[b-d]", "abc", true },
                { "ab[e-g]", "abc", false },
                { "ab[^c]", "abc", false },
                { "ab[^b-d]", "abc", false },
                { "ab[^e-g]", "abc", true },
                { "a\\*b", "a*b", true },
                { "a\\*b", "ab", false },
                { "a?b", "a☺b", true },
                { "a[^a]b", "a☺b", true },
                { "a???b", "a☺b", false },
                { "a[^a][^a][^a]b", "a☺b", false },
                { "[a-ζ]*", "α", true },
                { "*[a-ζ]", "A", false },
                { "a?b", "a/b", false },
                { "a*b", "a/b", false },
                { "[\\]a]", "]", true },
                { "[\\-]", "-", true },
                { "[x\\-]", "x", true },
                { "[x\\-]", "-", true },
                { "[x\\-]", "z", false },
                { "[\\-x]", "x", true },
                { "[\\-x]", "-", true },
                { "[\\-x]", "a", false },
                { "[]a]", "]", false },
                { "[-]", "-", false },
                { "[x-]", "x", false },
                { "[-x]", "x", false },
                { "\\", "a", false },
                { "[a-b-c]", "a", false },
                { "[", "a", false },
                { "[^", "a", false },
                { "[^bc", "a", false },
                { "a[", "a", false },
                { "a[", "ab", false },
                { "*x", "xxx", true },
                { "*.tar.gz", "x.tar.gz", true },
                { "[z-a]", "m", false },
                { "", "", true },
                { "", "a", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                if (ignore_glob_match(c[i].pattern, c[i].name) != c[i].match)
                        fail_msg("'%s' on '%s': expected %s", c[i].pattern, c[i].name,
                                 c[i].match ? "a match" : "none");
}

/* a pattern longer than the states kept on the stack, and a path much longer than it */
static void test_long(void **state)
{
        char pat[512], path[8192];
        size_t n = 0;
        for (int i = 0; i < 150; i++)
                n += (size_t) snprintf(pat + n, sizeof(pat) - n, "*?");
        snprintf(pat + n, sizeof(pat) - n, "x");
        struct ignore *ig = parse_ok(pat);
        memset(path, 'a', sizeof(path) - 2);
        path[sizeof(path) - 2] = 'x';
        path[sizeof(path) - 1] = '\0';
        assert_true(ignore_match(ig, path));
        path[sizeof(path) - 2] = 'y';
        assert_false(ignore_match(ig, path));
        path[140] = 'x';
        path[141] = '/';
        assert_false(ignore_match(ig, path));
        path[140] = path[141] = 'a';
        path[150] = 'x';
        path[151] = '/';
        assert_true(ignore_match(ig, path));
        ignore_free(ig);
}

static int write_at(int dfd, const char *name, const char *text)
{
        return fs_write_replace(dfd, name, text, strlen(text), 0644);
}

static void test_load(void **state)
{
        char dir[] = "/tmp/den-test-ignore-XXXXXX";
        assert_non_null(mkdtemp(dir));
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        struct ignore *ig = (struct ignore *) 1;
        struct err e = { 0 };

        assert_int_equal(ignore_load(dfd, dfd, "Dockerfile", &ig, &e), 0);
        assert_null(ig);
        assert_int_equal(write_at(dfd, ".dockerignore", "root\n"), 0);
        assert_int_equal(ignore_load(dfd, dfd, "Dockerfile", &ig, &e), 0);
        assert_true(ignore_match(ig, "root"));
        ignore_free(ig);
        /* <Dockerfile>.dockerignore wins */
        assert_int_equal(write_at(dfd, "Dockerfile.dockerignore", "own\n"), 0);
        assert_int_equal(ignore_load(dfd, dfd, "Dockerfile", &ig, &e), 0);
        assert_true(ignore_match(ig, "own"));
        assert_false(ignore_match(ig, "root"));
        ignore_free(ig);
        assert_int_equal(ignore_load(dfd, dfd, NULL, &ig, &e), 0);
        assert_true(ignore_match(ig, "root"));
        ignore_free(ig);
        /* errors name the file */
        assert_int_equal(write_at(dfd, "bad.dockerignore", "ok\n[\n"), 0);
        assert_int_equal(ignore_load(dfd, dfd, "bad", &ig, &e), -EINVAL);
        assert_string_equal(e.msg, "bad.dockerignore: line 2: syntax error in pattern '['");
        err_clear(&e);
        assert_int_equal(symlinkat(".dockerignore", dfd, "link.dockerignore"), 0);
        assert_int_equal(ignore_load(dfd, dfd, "link", &ig, &e), -ELOOP);
        assert_non_null(strstr(e.msg, "symbolic link"));
        err_clear(&e);
        assert_int_equal(mkdirat(dfd, "d.dockerignore", 0755), 0);
        assert_true(ignore_load(dfd, dfd, "d", &ig, &e) < 0);
        assert_string_equal(e.msg, "'d.dockerignore' is not a regular file");
        err_clear(&e);
        char *big = xmalloc((1u << 20) + 2);
        memset(big, 'a', (1u << 20) + 1);
        big[(1u << 20) + 1] = '\0';
        assert_int_equal(write_at(dfd, "big.dockerignore", big), 0);
        free(big);
        assert_int_equal(ignore_load(dfd, dfd, "big", &ig, &e), -EFBIG);
        assert_string_equal(e.msg, "'big.dockerignore' is larger than 1 MiB");
        close(dfd);
        assert_int_equal(fs_rm_rf(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_docs),           cmocka_unit_test(test_patternmatcher),
                cmocka_unit_test(test_syntax),         cmocka_unit_test(test_last_wins),
                cmocka_unit_test(test_dir_may_include), cmocka_unit_test(test_errors),
                cmocka_unit_test(test_glob),           cmocka_unit_test(test_long),
                cmocka_unit_test(test_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
