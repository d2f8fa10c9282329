/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: a .dockerignore as a build context gives it: ignore_parse, then
 * ignore_match, ignore_dir_may_include and ignore_glob_match on paths made of
 * the input's own lines.  Checked: an excluded directory that the walker may
 * skip (ignore_dir_may_include false) has nothing below it included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/build/ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_PATHS 6
#define PATH_MAX_LEN 256

/* no leading or trailing '/', no empty, "." or ".." element: its parents are its prefixes */
static bool is_clean(const char *p)
{
        if (!*p || *p == '/' || p[strlen(p) - 1] == '/' || strstr(p, "//"))
                return false;
        for (const char *s = p; s; s = strchr(s, '/')) {
                s += *s == '/';
                if (s[0] == '.' && (!s[1] || s[1] == '/'))
                        return false;
                if (s[0] == '.' && s[1] == '.' && (!s[2] || s[2] == '/'))
                        return false;
        }
        return true;
}

static void check_path(const struct ignore *ig, const char *path)
{
        char parent[PATH_MAX_LEN + 1];
        bool excluded = ignore_match(ig, path);

        if (excluded != ignore_match(ig, path))
                abort();
        if (!is_clean(path))
                return;
        for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
                size_t n = (size_t) (s - path);
                memcpy(parent, path, n);
                parent[n] = '\0';
                if (ignore_match(ig, parent) && !ignore_dir_may_include(ig, parent) && !excluded)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ignore *ig = NULL;
        struct err e = { 0 };
        char paths[N_PATHS][PATH_MAX_LEN + 1];
        size_t n_paths = 0;

        if (ignore_parse((const char *) data, size, &ig, &e) < 0) {
                if (ig || strncmp(e.msg, "line ", 5) != 0)
                        abort();
                return 0;
        }
        /* the lines (and the lines less their first byte) as paths */
        for (size_t pos = 0; pos < size && n_paths < N_PATHS;) {
                const uint8_t *nl = memchr(data + pos, '\n', size - pos);
                size_t n = nl ? (size_t) (nl - data) - pos : size - pos;
                if (n > PATH_MAX_LEN)
                        n = PATH_MAX_LEN;
                memcpy(paths[n_paths], data + pos, n);
                paths[n_paths][n] = '\0';
                n_paths++;
                if (n > 1 && n_paths < N_PATHS) {
                        memcpy(paths[n_paths], data + pos + 1, n - 1);
                        paths[n_paths][n - 1] = '\0';
                        n_paths++;
                }
                pos = nl ? (size_t) (nl - data) + 1 : size;
        }
        for (size_t i = 0; i < n_paths; i++) {
                check_path(ig, paths[i]);
                ignore_glob_match(paths[i], paths[(i + 1) % n_paths]);
        }
        ignore_free(ig);
        return 0;
}
