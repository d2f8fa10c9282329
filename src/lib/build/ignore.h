/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/err.h"

/* .dockerignore, by docker's rules (moby/patternmatcher): one pattern per line,
 * '#' comments, surrounding space trimmed, patterns cleaned (filepath.Clean, a
 * leading '/' dropped), Go filepath.Match syntax ('*', '?', '[...]', '\\') plus
 * '**' for any number of directories, '!' exceptions.  A pattern matches a
 * path when it matches the path or one of its parent directories
 * (MatchesOrParentMatches), and the last pattern that matches decides: "dir"
 * then "!dir/keep" keeps dir/keep and everything below it. */
struct ignore;

int ignore_parse(const char *text, size_t len, struct ignore **ret, struct err *err);
void ignore_free(struct ignore *ig);
/* path: relative to the context, '/'-separated (cleaned first when it is not) */
bool ignore_match(const struct ignore *ig, const char *path);
/* an excluded directory that must still be walked, because an exception
 * pattern could match something below it (BuildKit's fsutil: an exception at
 * or below dir, or any exception with a wildcard left once a trailing
 * slash-star or slash-star-star is taken off) */
bool ignore_dir_may_include(const struct ignore *ig, const char *dir);
/* the context's ignore file: <dockerfile>.dockerignore beside the Dockerfile
 * (dockerfile_dir_fd, dockerfile_name), else .dockerignore at the context's
 * root; *ret NULL when there is none */
int ignore_load(int context_fd, int dockerfile_dir_fd, const char *dockerfile_name, struct ignore **ret,
                struct err *err);
/* Go's filepath.Match on one name (no '/' crossing for '*'), for COPY wildcards */
bool ignore_glob_match(const char *pattern, const char *name);
