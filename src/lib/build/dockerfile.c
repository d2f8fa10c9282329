/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "lib/build/dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/build/internal.h"

static const char *const kind_names[DF_KIND_MAX] = {
        [DF_FROM] = "FROM", [DF_RUN] = "RUN", [DF_CMD] = "CMD", [DF_LABEL] = "LABEL",
        [DF_MAINTAINER] = "MAINTAINER", [DF_EXPOSE] = "EXPOSE", [DF_ENV] = "ENV", [DF_ADD] = "ADD",
        [DF_COPY] = "COPY", [DF_ENTRYPOINT] = "ENTRYPOINT", [DF_VOLUME] = "VOLUME", [DF_USER] = "USER",
        [DF_WORKDIR] = "WORKDIR", [DF_ARG] = "ARG", [DF_ONBUILD] = "ONBUILD", [DF_STOPSIGNAL] = "STOPSIGNAL",
        [DF_HEALTHCHECK] = "HEALTHCHECK", [DF_SHELL] = "SHELL",
};

/* the flags each instruction takes; "mount" may repeat, the others may not */
static const char *const kind_flags[DF_KIND_MAX][7] = {
        [DF_FROM] = { "platform" },
        [DF_RUN] = { "mount", "network", "security" },
        [DF_COPY] = { "from", "chown", "chmod", "link", "parents", "exclude" },
        [DF_ADD] = { "chown", "chmod", "link", "keep-git-dir", "checksum", "exclude" },
        [DF_HEALTHCHECK] = { "interval", "timeout", "start-period", "start-interval", "retries" },
};

const char *df_kind_name(enum df_kind k)
{
        return k < DF_KIND_MAX ? kind_names[k] : "?";
}

bool df_kind_expands(enum df_kind k)
{
        switch (k) {
        case DF_ADD: case DF_COPY: case DF_ENV: case DF_EXPOSE: case DF_FROM: case DF_LABEL:
        case DF_STOPSIGNAL: case DF_USER: case DF_VOLUME: case DF_WORKDIR: case DF_ARG: case DF_ONBUILD:
                return true;
        default:
                return false;
        }
}

const char *df_flag_get(const struct df_instr *in, const char *name)
{
        for (size_t i = 0; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, name) == 0)
                        return in->flags[i].value ? in->flags[i].value : "";
        return NULL;
}

void df_buf_add(struct df_buf *b, const char *p, size_t n)
{
        if (b->n + n + 1 > b->cap) {
                b->cap = (b->n + n + 1) * 2;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->n, p, n);
        b->n += n;
        b->s[b->n] = '\0';
}

static char *xstrndup_(const char *p, size_t n)
{
        char *s = xmalloc(n + 1);
        memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

static int perr(struct err *err, unsigned line, const char *instr, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int perr(struct err *err, unsigned line, const char *instr, const char *fmt, ...)
{
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (instr)
                return err_set(err, -EINVAL, "Dockerfile:%u: %.40s: %s", line, instr, msg);
        return err_set(err, -EINVAL, "Dockerfile:%u: %s", line, msg);
}

struct st {
        const char *p, *end;
        unsigned line;
        char esc;
        size_t n_instrs;
};

static bool raw_line(struct st *st, const char **l, size_t *n)
{
        if (st->p >= st->end)
                return false;
        const char *nl = memchr(st->p, '\n', (size_t) (st->end - st->p));
        const char *e = nl ? nl : st->end;
        *l = st->p;
        *n = (size_t) (e - st->p);
        if (*n > 0 && (*l)[*n - 1] == '\r')
                (*n)--;
        st->p = nl ? nl + 1 : st->end;
        st->line++;
        return true;
}

static bool is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static const char *skip_ws(const char *p, const char *e)
{
        while (p < e && is_ws(*p))
                p++;
        return p;
}

static size_t rtrim_len(const char *p, size_t n)
{
        while (n > 0 && is_ws(p[n - 1]))
                n--;
        return n;
}

/* "# name = value" at the top; returns 1 and the parts when it is one */
static int directive(const char *l, size_t n, const char **name, size_t *nn, const char **val, size_t *vn)
{
        const char *p = l, *e = l + n;
        p = skip_ws(p, e);
        if (p >= e || *p != '#')
                return 0;
        p = skip_ws(p + 1, e);
        *name = p;
        if (p >= e || !isalpha((unsigned char) *p))
                return 0;
        while (p < e && isalnum((unsigned char) *p))
                p++;
        *nn = (size_t) (p - *name);
        p = skip_ws(p, e);
        if (p >= e || *p != '=')
                return 0;
        p = skip_ws(p + 1, e);
        *val = p;
        *vn = rtrim_len(p, (size_t) (e - p));
        return *vn > 0;
}

static int parse_directives(struct st *st, struct df_plan *plan, struct err *err)
{
        bool seen_escape = false;
        for (;;) {
                const char *save = st->p, *l, *name, *val;
                unsigned save_line = st->line;
                size_t n, nn, vn;
                if (!raw_line(st, &l, &n))
                        return 0;
                if (!directive(l, n, &name, &nn, &val, &vn)) {
                        st->p = save;
                        st->line = save_line;
                        return 0;
                }
                if (nn == 6 && strncasecmp(name, "escape", 6) == 0) {
                        if (seen_escape)
                                return perr(err, st->line, NULL, "only one escape parser directive can be used");
                        seen_escape = true;
                        if (vn != 1 || (val[0] != '\\' && val[0] != '`'))
                                return perr(err, st->line, NULL, "invalid escape token '%.*s' does not match ` or \\",
                                            (int) (vn > 40 ? 40 : vn), val);
                        st->esc = plan->escape = val[0];
                } else if (nn == 6 && strncasecmp(name, "syntax", 6) == 0) {
                        if (plan->syntax)
                                return perr(err, st->line, NULL, "only one syntax parser directive can be used");
                        plan->syntax = xstrndup_(val, vn);
                }
                /* other directives (check=...) are accepted and ignored */
        }
}

static bool ends_in_escape(struct df_buf *b, char esc)
{
        size_t n = rtrim_len(b->s, b->n);
        if (n == 0 || b->s[n - 1] != esc)
                return false;
        b->n = n - 1;
        b->s[b->n] = '\0';
        return true;
}

/* one logical line: the continuations joined, comment and empty lines inside skipped */
static int logical_line(struct st *st, struct df_buf *b, unsigned *start, struct err *err)
{
        const char *l;
        size_t n;
        for (;;) {
                if (!raw_line(st, &l, &n))
                        return 0;
                const char *p = skip_ws(l, l + n);
                if (p < l + n && *p != '#')
                        break;
        }
        *start = st->line;
        b->n = 0;
        df_buf_add(b, l, n);
        while (ends_in_escape(b, st->esc)) {
                const char *p;
                do {
                        if (!raw_line(st, &l, &n))
                                return 1;
                        p = skip_ws(l, l + n);
                } while (p == l + n || *p == '#');
                if (b->n + n > DF_MAX_LINE)
                        return perr(err, *start, NULL, "line longer than %u bytes", DF_MAX_LINE);
                df_buf_add(b, l, n);
        }
        if (b->n > DF_MAX_LINE)
                return perr(err, *start, NULL, "line longer than %u bytes", DF_MAX_LINE);
        return 1;
}

static int kind_of(const char *w, size_t n)
{
        for (int k = 0; k < DF_KIND_MAX; k++)
                if (strlen(kind_names[k]) == n && strncasecmp(kind_names[k], w, n) == 0)
                        return k;
        return -1;
}

static void instr_free(struct df_instr *in)
{
        for (size_t i = 0; i < in->n_flags; i++) {
                free(in->flags[i].name);
                free(in->flags[i].value);
        }
        free(in->flags);
        strv_freep(&in->argv);
        free(in->args);
        for (size_t i = 0; i < in->n_heredocs; i++) {
                free(in->heredocs[i].name);
                free(in->heredocs[i].body);
        }
        free(in->heredocs);
        if (in->sub) {
                instr_free(in->sub);
                free(in->sub);
        }
        *in = (struct df_instr) { 0 };
}

void dockerfile_plan_free(struct df_plan *plan)
{
        free(plan->syntax);
        for (size_t i = 0; i < plan->n_global_args; i++)
                instr_free(&plan->global_args[i]);
        free(plan->global_args);
        for (size_t s = 0; s < plan->n_stages; s++) {
                struct df_stage *st = &plan->stages[s];
                free(st->image);
                free(st->name);
                free(st->platform);
                for (size_t i = 0; i < st->n_instrs; i++)
                        instr_free(&st->instrs[i]);
                free(st->instrs);
        }
        free(plan->stages);
        *plan = (struct df_plan) { .escape = '\\' };
}

static int parse_flags(const char **pp, const char *e, struct df_instr *in, unsigned line, struct err *err)
{
        const char *name = kind_names[in->kind];
        const char *p = *pp;
        while (e - p >= 2 && p[0] == '-' && p[1] == '-') {
                const char *t = p + 2, *te = t;
                while (te < e && !is_ws(*te))
                        te++;
                p = skip_ws(te, e);
                if (te == t)
                        break; /* "--" ends the flags */
                const char *eq = memchr(t, '=', (size_t) (te - t));
                size_t fn = (size_t) ((eq ? eq : te) - t);
                bool known = false;
                for (size_t i = 0; i < 7 && kind_flags[in->kind][i]; i++)
                        if (strlen(kind_flags[in->kind][i]) == fn && strncmp(kind_flags[in->kind][i], t, fn) == 0)
                                known = true;
                if (!known)
                        return perr(err, line, name, "unknown flag: --%.*s", (int) (fn > 60 ? 60 : fn), t);
                char *fname = xstrndup_(t, fn);
                if (strcmp(fname, "mount") != 0 && df_flag_get(in, fname)) {
                        int r = perr(err, line, name, "duplicate flag specified: --%s", fname);
                        free(fname);
                        return r;
                }
                in->flags = xrealloc(in->flags, (in->n_flags + 1) * sizeof(*in->flags));
                in->flags[in->n_flags++] = (struct df_flag) {
                        .name = fname,
                        .value = eq ? xstrndup_(eq + 1, (size_t) (te - eq - 1)) : NULL,
                };
        }
        *pp = p;
        return 0;
}

/* a JSON array of strings, or nothing (shell form) */
static char **json_form(const char *p, size_t n)
{
        if (n == 0 || p[0] != '[')
                return NULL;
        json_t *j = json_loadb(p, n, JSON_DECODE_ANY, NULL);
        if (!j)
                return NULL;
        char **v = NULL;
        if (json_is_array(j)) {
                size_t i;
                json_t *x;
                v = xcalloc(json_array_size(j) + 1, sizeof(char *));
                json_array_foreach (j, i, x) {
                        if (!json_is_string(x)) {
                                strv_freep(&v);
                                v = NULL;
                                break;
                        }
                        v[i] = xstrdup(json_string_value(x));
                }
        }
        json_decref(j);
        return v;
}

/* split on blanks, for FROM and the argument counts */
static size_t count_words(const char *p, const char *e, const char **w, size_t *wn, size_t max)
{
        size_t c = 0;
        for (p = skip_ws(p, e); p < e; p = skip_ws(p, e)) {
                const char *s = p;
                while (p < e && !is_ws(*p))
                        p++;
                if (c < max) {
                        w[c] = s;
                        wn[c] = (size_t) (p - s);
                }
                c++;
        }
        return c;
}

static void find_heredocs(struct df_instr *in, const char *p, const char *e)
{
        for (p = skip_ws(p, e); p < e; p = skip_ws(p, e)) {
                const char *s = p;
                while (p < e && !is_ws(*p))
                        p++;
                if (p - s < 3 || s[0] != '<' || s[1] != '<')
                        continue;
                const char *d = s + 2;
                bool strip = false, expand = true;
                if (*d == '-') {
                        strip = true;
                        d++;
                }
                size_t dn = (size_t) (p - d);
                if (dn >= 2 && (d[0] == '"' || d[0] == '\'') && d[dn - 1] == d[0]) {
                        expand = false;
                        d++;
                        dn -= 2;
                }
                if (dn == 0 || memchr(d, '<', dn) || memchr(d, '"', dn) || memchr(d, '\'', dn))
                        continue;
                in->heredocs = xrealloc(in->heredocs, (in->n_heredocs + 1) * sizeof(*in->heredocs));
                in->heredocs[in->n_heredocs++] = (struct df_heredoc) {
                        .name = xstrndup_(d, dn), .expand = expand, .strip_tabs = strip,
                };
        }
}

static int read_heredocs(struct st *st, struct df_instr *in, unsigned line, struct err *err)
{
        for (size_t i = 0; i < in->n_heredocs; i++) {
                struct df_heredoc *h = &in->heredocs[i];
                struct df_buf b = { 0 };
                df_buf_add(&b, "", 0);
                for (;;) {
                        const char *l;
                        size_t n;
                        if (!raw_line(st, &l, &n)) {
                                free(b.s);
                                return perr(err, line, kind_names[in->kind], "unterminated heredoc '%.60s'", h->name);
                        }
                        if (h->strip_tabs)
                                while (n > 0 && *l == '\t') {
                                        l++;
                                        n--;
                                }
                        if (n == strlen(h->name) && memcmp(l, h->name, n) == 0)
                                break;
                        df_buf_add(&b, l, n);
                        df_buf_add(&b, "\n", 1);
                }
                h->body = b.s;
        }
        return 0;
}

static bool stage_name_ok(const char *p, size_t n)
{
        if (n == 0 || !islower((unsigned char) p[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!islower((unsigned char) p[i]) && !isdigit((unsigned char) p[i]) && !strchr("-_.", p[i]))
                        return false;
        return true;
}

static int parse_instr(struct st *st, struct df_instr *in, const char *p, const char *e, unsigned line, bool nested,
                       struct err *err);

static int parse_nested(struct st *st, struct df_instr *in, const char *p, const char *e, unsigned line, struct err *err)
{
        const char *name = kind_names[in->kind];
        const char *w = p;
        while (p < e && !is_ws(*p))
                p++;
        if (w == p)
                return perr(err, line, name, "requires at least one argument");
        int k = kind_of(w, (size_t) (p - w));
        if (in->kind == DF_HEALTHCHECK) {
                if (p - w == 4 && strncasecmp(w, "NONE", 4) == 0) {
                        if (skip_ws(p, e) != e || in->n_flags > 0)
                                return perr(err, line, name, "HEALTHCHECK NONE takes no arguments or flags");
                        in->none = true;
                        return 0;
                }
                if (k != DF_CMD)
                        return perr(err, line, name, "unknown type '%.*s' (CMD or NONE)", (int) (p - w > 40 ? 40 : p - w), w);
        } else {
                if (k < 0)
                        return perr(err, line, name, "unknown instruction '%.*s'", (int) (p - w > 40 ? 40 : p - w), w);
                if (k == DF_ONBUILD || k == DF_FROM || k == DF_MAINTAINER)
                        return perr(err, line, name, "%s is not allowed as an ONBUILD trigger", kind_names[k]);
        }
        in->sub = xcalloc(1, sizeof(*in->sub));
        in->sub->kind = (enum df_kind) k;
        in->sub->line = line;
        return parse_instr(st, in->sub, skip_ws(p, e), e, line, true, err);
}

static int parse_instr(struct st *st, struct df_instr *in, const char *p, const char *e, unsigned line, bool nested,
                       struct err *err)
{
        const char *name = kind_names[in->kind];
        int r = parse_flags(&p, e, in, line, err);
        if (r < 0)
                return r;
        e = p + rtrim_len(p, (size_t) (e - p));
        if (p == e)
                return perr(err, line, name, "requires at least one argument");
        if (in->kind == DF_ONBUILD || in->kind == DF_HEALTHCHECK)
                return parse_nested(st, in, p, e, line, err);
        if (in->kind == DF_RUN || in->kind == DF_CMD || in->kind == DF_ENTRYPOINT || in->kind == DF_SHELL ||
            in->kind == DF_VOLUME || in->kind == DF_COPY || in->kind == DF_ADD)
                in->argv = json_form(p, (size_t) (e - p));
        in->json = in->argv != NULL;
        if (!in->json)
                in->args = xstrndup_(p, (size_t) (e - p));
        const char *w[3];
        size_t wn[3];
        size_t nw = in->json ? strv_length(in->argv) : count_words(p, e, w, wn, 3);
        switch (in->kind) {
        case DF_SHELL:
                if (!in->json)
                        return perr(err, line, name, "requires the arguments to be a JSON array of strings");
                if (nw == 0)
                        return perr(err, line, name, "requires at least one argument");
                break;
        case DF_FROM:
                if (nw != 1 && !(nw == 3 && wn[1] == 2 && strncasecmp(w[1], "AS", 2) == 0))
                        return perr(err, line, name, "requires either one or three arguments (IMAGE [AS NAME])");
                if (nw == 3 && !stage_name_ok(w[2], wn[2]))
                        return perr(err, line, name, "invalid stage name '%.*s': lowercase letters, digits, '-', '_', '.'",
                                    (int) (wn[2] > 60 ? 60 : wn[2]), w[2]);
                break;
        case DF_COPY:
        case DF_ADD:
                if (nw < 2)
                        return perr(err, line, name, "requires at least two arguments (source and destination)");
                break;
        default:
                break;
        }
        if (!nested && !in->json && (in->kind == DF_RUN || in->kind == DF_COPY || in->kind == DF_ADD)) {
                find_heredocs(in, p, e);
                return read_heredocs(st, in, line, err);
        }
        return 0;
}

static int add_instr(struct df_plan *plan, struct df_instr *in, struct err *err)
{
        if (in->kind == DF_FROM) {
                const char *p = in->args, *e = p + strlen(p);
                plan->stages = xrealloc(plan->stages, (plan->n_stages + 1) * sizeof(*plan->stages));
                struct df_stage *s = &plan->stages[plan->n_stages++];
                *s = (struct df_stage) { .line = in->line };
                const char *w[3];
                size_t wn[3];
                size_t nw = count_words(p, e, w, wn, 3);
                s->image = xstrndup_(w[0], wn[0]);
                if (nw == 3)
                        s->name = xstrndup_(w[2], wn[2]);
                const char *pl = df_flag_get(in, "platform");
                if (pl)
                        s->platform = xstrdup(pl);
        } else if (plan->n_stages == 0) {
                if (in->kind != DF_ARG)
                        return perr(err, in->line, kind_names[in->kind],
                                    "comes before the first FROM (only ARG may)");
                plan->global_args = xrealloc(plan->global_args, (plan->n_global_args + 1) * sizeof(*in));
                plan->global_args[plan->n_global_args++] = *in;
                return 0;
        }
        struct df_stage *s = &plan->stages[plan->n_stages - 1];
        s->instrs = xrealloc(s->instrs, (s->n_instrs + 1) * sizeof(*in));
        s->instrs[s->n_instrs++] = *in;
        return 0;
}

static int parse_all(struct st *st, struct df_plan *plan, struct err *err)
{
        _cleanup_free_ char *s = NULL;
        struct df_buf b = { 0 };
        int r;
        for (;;) {
                unsigned line = 0;
                r = logical_line(st, &b, &line, err);
                s = b.s;
                if (r <= 0)
                        return r;
                b.s = NULL;
                const char *p = skip_ws(s, s + b.n), *e = s + b.n, *w = p;
                while (p < e && !is_ws(*p))
                        p++;
                int k = kind_of(w, (size_t) (p - w));
                if (k < 0)
                        return perr(err, line, NULL, "unknown instruction '%.*s'", (int) (p - w > 40 ? 40 : p - w), w);
                if (++st->n_instrs > DF_MAX_INSTRUCTIONS)
                        return perr(err, line, NULL, "more than %u instructions", DF_MAX_INSTRUCTIONS);
                struct df_instr in = { .kind = (enum df_kind) k, .line = line };
                const char *args = skip_ws(p, e);
                r = parse_instr(st, &in, args, e, line, false, err);
                if (r >= 0)
                        r = add_instr(plan, &in, err);
                if (r < 0) {
                        instr_free(&in);
                        return r;
                }
                b.s = TAKE_PTR(s);
        }
}

int dockerfile_parse(const char *text, size_t len, struct df_plan *plan, struct err *err)
{
        *plan = (struct df_plan) { .escape = '\\' };
        if (len > DF_MAX_SIZE)
                return err_set(err, -EFBIG, "Dockerfile: larger than %u bytes", DF_MAX_SIZE);
        if (memchr(text, '\0', len))
                return err_set(err, -EINVAL, "Dockerfile: contains a NUL byte");
        struct st st = { .p = text, .end = text + len, .esc = '\\' };
        int r = parse_directives(&st, plan, err);
        if (r >= 0)
                r = parse_all(&st, plan, err);
        if (r >= 0 && plan->n_stages == 0)
                r = err_set(err, -EINVAL, plan->n_global_args ? "Dockerfile: no FROM instruction" :
                                                                 "Dockerfile: file with no instructions");
        if (r < 0)
                dockerfile_plan_free(plan);
        return r;
}
