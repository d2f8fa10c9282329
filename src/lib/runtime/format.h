/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* How den ps, den images and den inspect -f show things, worded and sized as
 * docker shows them.  Pure: each takes what it shows and the time "now". */

/* bytes in docker's units, decimal, three digits: "0 B", "999 B", "1.99 MB", "445 MB", "1.2 GB" */
void format_size(uint64_t bytes, char *buf, size_t len);
/* a duration as docker says it: "Less than a second", "5 seconds", "About a minute",
 * "5 minutes", "About an hour", "3 hours", "2 days", "3 weeks", "4 months", "2 years" */
void format_duration(time_t seconds, char *buf, size_t len);
/* an RFC 3339 time (den's records) -> seconds since the epoch, or -1 */
time_t format_parse_time(const char *rfc3339);
/* ps's STATUS: "Up 5 minutes", "Exited (0) 2 minutes ago", "Created";
 * started/finished: -1 when not known */
void format_status(const char *state, int exit_code, time_t started, time_t finished, time_t now, char *buf,
                   size_t len);
/* s cut to width columns (bytes; den's columns are ASCII), ending in "…" when cut;
 * returns a string to free */
char *format_trunc(const char *s, size_t width);
/* docker's inspect -f: literal text and {{.Field.Sub}} or {{json .Field}} actions;
 * a string prints bare, an array of scalars as [a b], anything else as JSON,
 * a missing field as <no value>.  *ret: the text, to free */
int format_template(const char *tmpl, json_t *obj, char **ret, struct err *err);

/* docker's tables (Go's tabwriter): each column as wide as its widest cell, three
 * spaces between, the last one as it is */
#define FORMAT_TABLE_MAX_COLS 8
struct format_table {
        size_t n_cols;
        size_t n_cells;
        char **cells; /* row after row, n_cols each */
};
void format_table_init(struct format_table *t, size_t n_cols);
/* one cell; a row is n_cols cells added in turn; s copied (NULL: "") */
void format_table_add(struct format_table *t, const char *s);
void format_table_print(const struct format_table *t, FILE *f);
void format_table_free(struct format_table *t);
