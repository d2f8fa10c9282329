/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Variable expansion in Dockerfile words, as BuildKit's shell lexer does it
 * (ProcessWord): $V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m}, the
 * escape character, single and double quotes (removed). */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/build/dockerfile.h"
#include "lib/build/internal.h"

struct ex {
        const char *p;
        char esc;
        df_lookup_fn lookup;
        void *userdata;
        struct err *err;
        unsigned depth;
};


static int put(struct ex *x, struct df_buf *b, const char *p, size_t n)
{
        if (b->n + n > DF_MAX_EXPANDED)
                return err_set(x->err, -E2BIG, "variable expansion longer than %u bytes", DF_MAX_EXPANDED);
        df_buf_add(b, p, n);
        return 0;
}

static int word(struct ex *x, struct df_buf *b, char stop);

static bool name_char(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

/* BuildKit's processName: a run of digits, one special parameter, or a name */
static size_t read_name(struct ex *x)
{
        const char *n = x->p;
        if (isdigit((unsigned char) *x->p)) {
                while (isdigit((unsigned char) *x->p))
                        x->p++;
        } else if (*x->p && strchr("@*#?-$!", *x->p)) {
                x->p++;
        } else {
                while (name_char(*x->p))
                        x->p++;
        }
        return (size_t) (x->p - n);
}

/* the name at n (nn bytes) into name, and its value, NULL when unset */
static int name_value(struct ex *x, const char *n, size_t nn, char name[256], const char **ret)
{
        if (nn > 255)
                return err_set(x->err, -EINVAL, "variable name too long: '%.40s'", n);
        memcpy(name, n, nn);
        name[nn] = '\0';
        *ret = x->lookup(name, x->userdata);
        return 0;
}

/* the word of a substitution, up to its '}' (consumed); w freed on error */
static int sub_word(struct ex *x, struct df_buf *w, const char *name)
{
        if (++x->depth > 64)
                return err_set(x->err, -EINVAL, "substitutions nested too deep");
        int r = word(x, w, '}');
        x->depth--;
        if (r >= 0 && *x->p != '}')
                r = err_set(x->err, -EINVAL, "syntax error: missing '}' in substitution of '%s'", name);
        if (r < 0) {
                free(w->s);
                return r;
        }
        x->p++;
        return 0;
}

/* ${V#pat} ${V##pat} ${V%pat} ${V%%pat}: the shortest (longest) prefix (suffix)
 * matching the glob pattern removed, as BuildKit's lexer does */
static int trim(struct ex *x, struct df_buf *b, const char *name, const char *v)
{
        char m = *x->p++;
        bool longest = *x->p == m;
        if (longest)
                x->p++;
        struct df_buf w = { 0 };
        int r = sub_word(x, &w, name);
        if (r < 0)
                return r;
        const char *val = v ? v : "", *pat = w.s ? w.s : "";
        size_t len = strlen(val), start = 0, end = len, stars = 0;
        for (const char *p = pat; *p; p++)
                stars += *p == '*';
        /* a match is tried at every length: bounded, so a pattern cannot take forever */
        if (len > 65536 || stars > 16) {
                free(w.s);
                return err_set(x->err, -E2BIG, "${%s%c...}: the value or the pattern is too long to match", name, m);
        }
        char *t = xmalloc(len + 1);
        for (size_t i = 0; i <= len; i++) {
                size_t k = longest ? len - i : i; /* the length of the part tried */
                bool hit;
                if (m == '#') {
                        memcpy(t, val, k);
                        t[k] = '\0';
                        hit = fnmatch(pat, t, 0) == 0;
                        if (hit)
                                start = k;
                } else {
                        hit = fnmatch(pat, val + len - k, 0) == 0;
                        if (hit)
                                end = len - k;
                }
                if (hit)
                        break;
        }
        free(t);
        free(w.s);
        return put(x, b, val + start, end - start);
}

static int braced(struct ex *x, struct df_buf *b)
{
        const char *n = x->p;
        if (!*x->p)
                return err_set(x->err, -EINVAL, "syntax error: missing '}'");
        if (*x->p == '{' || *x->p == '}' || *x->p == ':')
                return err_set(x->err, -EINVAL, "syntax error: bad substitution: '${%.40s'", n);
        size_t nn = read_name(x);
        char name[256];
        const char *v;
        int r = name_value(x, n, nn, name, &v);
        if (r < 0)
                return r;
        if (*x->p == '}') {
                x->p++;
                return v ? put(x, b, v, strlen(v)) : 0;
        }
        if (*x->p == '#' || *x->p == '%')
                return trim(x, b, name, v);
        bool colon = *x->p == ':';
        if (colon)
                x->p++;
        char mod = *x->p;
        if (mod != '-' && mod != '+' && mod != '?')
                return err_set(x->err, -EINVAL, "unsupported modifier '%c' in substitution of '%s'", mod ? mod : ' ', name);
        x->p++;
        struct df_buf w = { 0 };
        if ((r = sub_word(x, &w, name)) < 0)
                return r;
        bool set = v && (!colon || *v);
        const char *out = NULL;
        if (mod == '-')
                out = set ? v : (w.s ? w.s : "");
        else if (mod == '+')
                out = set ? (w.s ? w.s : "") : "";
        else if (!set)
                r = err_set(x->err, -EINVAL, "%s: %s", name,
                            w.s && *w.s ? w.s : v ? "is not allowed to be empty" : "is not allowed to be unset");
        else
                out = v;
        if (r >= 0)
                r = put(x, b, out, strlen(out));
        free(w.s);
        return r;
}

static int dollar(struct ex *x, struct df_buf *b)
{
        x->p++; /* the '$' */
        if (*x->p == '{') {
                x->p++;
                return braced(x, b);
        }
        const char *n = x->p;
        size_t nn = read_name(x);
        if (nn == 0)
                return put(x, b, "$", 1);
        char name[256];
        const char *v;
        int r = name_value(x, n, nn, name, &v);
        if (r < 0)
                return r;
        return v ? put(x, b, v, strlen(v)) : 0;
}

static int quoted(struct ex *x, struct df_buf *b, char q)
{
        x->p++;
        for (;;) {
                char c = *x->p;
                int r;
                if (!c)
                        return err_set(x->err, -EINVAL, "unexpected end of word looking for the matching %s-quote",
                                       q == '"' ? "double" : "single");
                if (c == q) {
                        x->p++;
                        return 0;
                }
                if (q == '"' && c == '$') {
                        r = dollar(x, b);
                } else {
                        if (q == '"' && c == x->esc && (x->p[1] == '"' || x->p[1] == '$' || x->p[1] == x->esc))
                                x->p++;
                        r = put(x, b, x->p++, 1);
                }
                if (r < 0)
                        return r;
        }
}

static int word(struct ex *x, struct df_buf *b, char stop)
{
        int r = put(x, b, "", 0);
        while (r >= 0 && *x->p && *x->p != stop) {
                char c = *x->p;
                if (c == x->esc) {
                        x->p++;
                        if (!*x->p)
                                break; /* a trailing escape is dropped */
                        r = put(x, b, x->p++, 1);
                } else if (c == '\'' || c == '"') {
                        r = quoted(x, b, c);
                } else if (c == '$') {
                        r = dollar(x, b);
                } else {
                        r = put(x, b, x->p++, 1);
                }
        }
        return r;
}

int dockerfile_expand(const char *w, char escape, df_lookup_fn lookup, void *userdata, char **ret, struct err *err)
{
        struct ex x = { .p = w, .esc = escape, .lookup = lookup, .userdata = userdata, .err = err };
        struct df_buf b = { 0 };
        int r = word(&x, &b, '\0');
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}

/* the next word of text: up to whitespace outside quotes, the escape character keeping the next one */
static const char *raw_word_end(const char *p, char esc)
{
        char q = 0;
        unsigned brace = 0; /* inside ${...}: a space does not end the word */
        for (; *p; p++) {
                if (*p == esc && p[1] && q != '\'') {
                        p++;
                } else if (q != '\'' && p[0] == '$' && p[1] == '{') {
                        brace++;
                        p++;
                } else if (brace && *p == '}' && !q) {
                        brace--;
                } else if (q) {
                        if (*p == q)
                                q = 0;
                } else if (*p == '\'' || *p == '"') {
                        q = *p;
                } else if (!brace && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
                        break;
                }
        }
        return p;
}

int dockerfile_split_words(const char *text, char escape, char ***ret)
{
        char **v = xcalloc(1, sizeof(char *));
        for (const char *p = text;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (!*p)
                        break;
                const char *e = raw_word_end(p, escape);
                char *w = xmalloc((size_t) (e - p) + 1);
                memcpy(w, p, (size_t) (e - p));
                w[e - p] = '\0';
                strv_push(&v, w);
                free(w);
                p = e;
        }
        *ret = v;
        return 0;
}

int dockerfile_expand_words(const char *text, char escape, df_lookup_fn lookup, void *userdata, char ***ret,
                            struct err *err)
{
        char **raw;
        dockerfile_split_words(text, escape, &raw);
        char **v = xcalloc(strv_length(raw) + 1, sizeof(char *));
        for (size_t i = 0; raw[i]; i++) {
                int r = dockerfile_expand(raw[i], escape, lookup, userdata, &v[i], err);
                if (r < 0) {
                        strv_freep(&raw);
                        strv_freep(&v);
                        return r;
                }
        }
        strv_freep(&raw);
        *ret = v;
        return 0;
}

int dockerfile_expand_heredoc(const char *body, char escape, df_lookup_fn lookup, void *userdata, char **ret,
                              struct err *err)
{
        struct ex x = { .p = body, .esc = escape, .lookup = lookup, .userdata = userdata, .err = err };
        struct df_buf b = { 0 };
        int r = put(&x, &b, "", 0);
        while (r >= 0 && *x.p) {
                if (*x.p == escape && x.p[1] == '$') {
                        r = put(&x, &b, "$", 1);
                        x.p += 2;
                } else if (*x.p == '$') {
                        r = dollar(&x, &b);
                } else {
                        r = put(&x, &b, x.p++, 1);
                }
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}
