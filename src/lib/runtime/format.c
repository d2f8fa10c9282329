/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "lib/base/macro.h"

void format_size(uint64_t bytes, char *buf, size_t len)
{
        /* docker images (go-units HumanSizeWithPrecision, 3): powers of 1000, three
         * significant digits; 999.5 kB would print as 1e+03 kB, so it is 1 MB */
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
        double v = (double) bytes;
        size_t u = 0;
        while (v >= (u ? 999.5 : 1000) && u + 1 < ELEMENTSOF(units)) {
                v /= 1000;
                u++;
        }
        if (u == 0)
                snprintf(buf, len, "%llu B", (unsigned long long) bytes);
        else
                snprintf(buf, len, "%.3g %s", v, units[u]);
}

void format_duration(time_t s, char *buf, size_t len)
{
        /* go-units HumanDuration, as docker ps words it */
        time_t m = s / 60, h = m / 60;
        if (s < 1)
                snprintf(buf, len, "Less than a second");
        else if (s == 1)
                snprintf(buf, len, "1 second");
        else if (s < 60)
                snprintf(buf, len, "%lld seconds", (long long) s);
        else if (m == 1)
                snprintf(buf, len, "About a minute");
        else if (m < 60)
                snprintf(buf, len, "%lld minutes", (long long) m);
        else if (h == 1)
                snprintf(buf, len, "About an hour");
        else if (h < 48)
                snprintf(buf, len, "%lld hours", (long long) h);
        else if (h < 24 * 7 * 2)
                snprintf(buf, len, "%lld days", (long long) (h / 24));
        else if (h < 24 * 30 * 2)
                snprintf(buf, len, "%lld weeks", (long long) (h / 24 / 7));
        else if (h < 24 * 365 * 2)
                snprintf(buf, len, "%lld months", (long long) (h / 24 / 30));
        else
                snprintf(buf, len, "%lld years", (long long) (h / 24 / 365));
}

time_t format_parse_time(const char *t)
{
        struct tm tm = { 0 };
        if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm))
                return -1;
        return timegm(&tm);
}

void format_status(const char *state, int exit_code, time_t started, time_t finished, time_t now, char *buf,
                   size_t len)
{
        char d[32];
        if (strcmp(state, "running") == 0) {
                format_duration(started < 0 ? 0 : now - started, d, sizeof(d));
                snprintf(buf, len, "Up %s", d);
        } else if (strcmp(state, "exited") == 0) {
                if (finished < 0)
                        snprintf(buf, len, "Exited (%d)", exit_code);
                else {
                        format_duration(now - finished, d, sizeof(d));
                        snprintf(buf, len, "Exited (%d) %s ago", exit_code, d);
                }
        } else
                snprintf(buf, len, "Created");
}

char *format_trunc(const char *s, size_t width)
{
        if (!s)
                return xstrdup("");
        if (strlen(s) <= width || width < 1)
                return xstrdup(s);
        return xasprintf("%.*s…", (int) width - 1, s);
}

static void append(char **out, const char *s, size_t n)
{
        size_t l = strlen(*out);
        *out = xrealloc(*out, l + n + 1);
        memcpy(*out + l, s, n);
        (*out)[l + n] = '\0';
}

static void append_value(char **out, json_t *v, bool as_json)
{
        _cleanup_free_ char *t = NULL;
        if (!v)
                t = xstrdup("<no value>");
        else if (as_json)
                t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        else if (json_is_string(v))
                t = xstrdup(json_string_value(v));
        else if (json_is_array(v)) {
                t = xstrdup("[");
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                {
                        _cleanup_free_ char *one = json_is_string(e) ? xstrdup(json_string_value(e))
                                                                     : json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
                        _cleanup_free_ char *old = t;
                        t = xasprintf("%s%s%s", old, i ? " " : "", one);
                }
                _cleanup_free_ char *old = t;
                t = xasprintf("%s]", old);
        } else
                t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        append(out, t, strlen(t));
}

/* one action: ".A.B" or "json .A.B" */
static int action(const char *a, size_t n, json_t *obj, char **out, struct err *err)
{
        _cleanup_free_ char *s = xasprintf("%.*s", (int) n, a), *orig = xstrdup(s);
        char *p = s;
        while (*p == ' ')
                p++;
        char *end = p + strlen(p);
        while (end > p && end[-1] == ' ')
                *--end = '\0';
        bool as_json = strncmp(p, "json ", 5) == 0;
        if (as_json)
                for (p += 5; *p == ' '; p++)
                        ;
        if (*p != '.')
                return err_set(err, -EINVAL, "template '{{%s}}': den knows {{.Field.Sub}} and {{json .Field}}", orig);
        json_t *v = obj;
        for (char *save = NULL, *k = strtok_r(p + 1, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
                v = json_object_get(v, k);
        append_value(out, v, as_json);
        return 0;
}

int format_template(const char *tmpl, json_t *obj, char **ret, struct err *err)
{
        _cleanup_free_ char *out = xstrdup("");
        const char *p = tmpl;
        for (;;) {
                const char *o = strstr(p, "{{");
                if (!o) {
                        append(&out, p, strlen(p));
                        break;
                }
                const char *c = strstr(o + 2, "}}");
                if (!c)
                        return err_set(err, -EINVAL, "template '%s': '{{' without '}}'", tmpl);
                append(&out, p, (size_t) (o - p));
                int r = action(o + 2, (size_t) (c - o - 2), obj, &out, err);
                if (r < 0)
                        return r;
                p = c + 2;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

void format_table_init(struct format_table *t, size_t n_cols)
{
        assert(n_cols >= 1 && n_cols <= FORMAT_TABLE_MAX_COLS);
        *t = (struct format_table){ .n_cols = n_cols };
}

void format_table_add(struct format_table *t, const char *s)
{
        t->cells = xrealloc(t->cells, (t->n_cells + 1) * sizeof(char *));
        t->cells[t->n_cells++] = xstrdup(s ? s : "");
}

/* display columns of a UTF-8 string: the ellipsis is one */
static size_t width_of(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                w += ((unsigned char) *s & 0xc0) != 0x80;
        return w;
}

void format_table_print(const struct format_table *t, FILE *f)
{
        size_t widths[FORMAT_TABLE_MAX_COLS] = { 0 };
        for (size_t i = 0; i < t->n_cells; i++)
                if (width_of(t->cells[i]) > widths[i % t->n_cols])
                        widths[i % t->n_cols] = width_of(t->cells[i]);
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t c = i % t->n_cols;
                bool last = c + 1 == t->n_cols;
                fputs(t->cells[i], f);
                if (last)
                        fputc('\n', f);
                else
                        fprintf(f, "%*s", (int) (widths[c] - width_of(t->cells[i]) + 3), "");
        }
}

void format_table_free(struct format_table *t)
{
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        t->cells = NULL;
        t->n_cells = 0;
}
