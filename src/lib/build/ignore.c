/* SPDX-License-Identifier: GPL-2.0-or-later */
/* .dockerignore as docker reads and applies it: the lines as moby/patternmatcher's
 * ignorefile.ReadAll yields them, each pattern as patternmatcher.New checks it and
 * compile() translates it, a path as MatchesOrParentMatches decides it, and which
 * excluded directories must still be walked as tonistiigi/fsutil decides it.
 * patternmatcher turns a pattern into a Go regexp; here the same translation
 * gives a few tokens run as a set of states (Thompson), one pass over the path
 * that also answers for each parent directory at the '/' that ends it, linear
 * in path times pattern whatever the pattern. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ignore.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

#define IGNORE_FILE_MAX (1u << 20) /* bytes: the file is read whole before parsing */
#define RUNE_INVALID 0x110000u      /* | the byte: a byte that is no UTF-8, equal only to itself */
#define RUNE_ERROR 0xFFFDu          /* what Go compares a bad byte as, in a class */
#define QUOTE_MAX 200               /* bytes of a line quoted in an error */

enum tok_kind {
        TOK_LIT,   /* the rune v */
        TOK_ANY,   /* '?': one rune but '/' */
        TOK_CLASS, /* "[...]" starting at byte v of the pattern */
        TOK_STAR,  /* '*': any runes but '/' */
        TOK_DIRS,  /* "**" before more pattern: nothing, or any runes ending with a '/' */
        TOK_REST,  /* "**" at the end: any runes */
};

struct tok {
        uint32_t kind;
        uint32_t v;
};

/* patternmatcher's matchType: only a pattern with a wildcard becomes a regexp */
enum pat_mode {
        PAT_EXACT,  /* no wildcard: the path is the pattern */
        PAT_PREFIX, /* "lit**": the path starts with lit */
        PAT_SUFFIX, /* "**lit": the path ends with lit (or is lit less its leading '/') */
        PAT_TOKENS, /* the rest: the tokens */
};

struct pattern {
        char *text;       /* cleaned, without the '!' */
        size_t len;       /* bytes of text (it may hold a NUL, which no path does) */
        size_t stem_len;  /* text less a trailing slash and two stars, then one (fsutil) */
        bool exception;   /* '!' */
        enum pat_mode mode;
        struct tok *toks; /* PAT_TOKENS */
        size_t n_toks;
};

struct ignore {
        struct pattern *pats;
        size_t n_pats, cap_pats;
        size_t max_toks;      /* the longest token list: scratch for the states */
        size_t n_exceptions;
        bool wild_exceptions; /* an exception's stem has a wildcard: fsutil walks every excluded dir */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct ignore *, ignore_free);

/* UTF-8 as Go's utf8.DecodeRune: no overlong forms, surrogates or runes past
 * U+10FFFF; a bad byte is RUNE_INVALID | byte, one byte wide */
static uint32_t rune_at(const char *s, size_t n, size_t *ret_w)
{
        const unsigned char *u = (const unsigned char *) s;
        uint32_t r;
        size_t w;

        *ret_w = 1;
        if (u[0] < 0x80)
                return u[0];
        if (u[0] >= 0xC2 && u[0] <= 0xDF)
                w = 2, r = u[0] & 0x1Fu;
        else if (u[0] >= 0xE0 && u[0] <= 0xEF)
                w = 3, r = u[0] & 0x0Fu;
        else if (u[0] >= 0xF0 && u[0] <= 0xF4)
                w = 4, r = u[0] & 0x07u;
        else
                return RUNE_INVALID | u[0];
        if (n < w)
                return RUNE_INVALID | u[0];
        for (size_t i = 1; i < w; i++) {
                if ((u[i] & 0xC0) != 0x80)
                        return RUNE_INVALID | u[0];
                r = r << 6 | (u[i] & 0x3Fu);
        }
        if ((w == 3 && r < 0x800) || (w == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
            (r >= 0xD800 && r <= 0xDFFF))
                return RUNE_INVALID | u[0];
        *ret_w = w;
        return r;
}

/* Go's unicode.IsSpace, as strings.TrimSpace applies it: the bytes of the space at s, 0 if none */
static size_t space_at(const unsigned char *s, size_t n)
{
        if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
                return 1;
        if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
                return 2;
        if (n >= 3 && ((s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) ||
                       (s[0] == 0xE2 && s[1] == 0x80 &&
                        ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF)) ||
                       (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) ||
                       (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)))
                return 3;
        return 0;
}

static void trim_space(const char **s, size_t *n)
{
        size_t w, k;

        while (*n > 0 && (w = space_at((const unsigned char *) *s, *n)) > 0)
                *s += w, *n -= w;
        for (;;) {
                for (k = 1; k <= 3 && k <= *n; k++)
                        if (space_at((const unsigned char *) *s + *n - k, k) == k)
                                break;
                if (k > 3 || k > *n)
                        return;
                *n -= k;
        }
}

/* Go's filepath.Clean on Unix, byte for byte: "//", "." and "x/.." go, a leading
 * ".." stays, "/.." is "/", nothing is "." */
static char *go_clean(const char *p, size_t n, size_t *ret_len)
{
        char *out = xmalloc(n + 2);
        bool rooted = n > 0 && p[0] == '/';
        size_t r = 0, w = 0, dotdot = 0;

        if (rooted)
                out[w++] = '/', r = 1, dotdot = 1;
        while (r < n) {
                if (p[r] == '/') {
                        r++;
                } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
                        r++;
                } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                w--;
                                while (w > dotdot && out[w] != '/')
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if (w != (rooted ? 1u : 0u))
                                out[w++] = '/';
                        for (; r < n && p[r] != '/'; r++)
                                out[w++] = p[r];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        *ret_len = w;
        return out;
}

/* Go's getEsc: one member of a class, '\\' escaping the next rune; -EINVAL
 * (ErrBadPattern) for a '-' or ']' here, bad UTF-8, or the class ending */
static int class_esc(const char *s, size_t n, size_t *i, uint32_t *ret)
{
        size_t w;

        if (*i >= n || s[*i] == '-' || s[*i] == ']')
                return -EINVAL;
        if (s[*i] == '\\' && ++*i >= n)
                return -EINVAL;
        uint32_t r = rune_at(s + *i, n - *i, &w);
        *i += w;
        if (r >= RUNE_INVALID || *i >= n)
                return -EINVAL;
        *ret = r;
        return 0;
}

/* Go's filepath.Match class at s[0] == '[' ('^' negates, '!' is a member):
 * whether r is in it, and its length.  strict: a reversed range ("[z-a]") is
 * an error too, as patternmatcher's regexp refuses it where Match does not. */
static int class_match(const char *s, size_t n, uint32_t r, bool strict, bool *ret_in, size_t *ret_len)
{
        size_t i = 1, n_ranges = 0;
        bool negated = false, in = false;
        int k;

        if (r >= RUNE_INVALID)
                r = RUNE_ERROR;
        if (i < n && s[i] == '^')
                negated = true, i++;
        for (;;) {
                uint32_t lo, hi;
                if (i < n && s[i] == ']' && n_ranges > 0) {
                        i++;
                        break;
                }
                if ((k = class_esc(s, n, &i, &lo)) < 0)
                        return k;
                hi = lo;
                if (s[i] == '-') {
                        i++;
                        if ((k = class_esc(s, n, &i, &hi)) < 0)
                                return k;
                }
                if (strict && lo > hi)
                        return -EINVAL;
                if (lo <= r && r <= hi)
                        in = true;
                n_ranges++;
        }
        *ret_in = in != negated;
        *ret_len = i;
        return 0;
}

/* Go's scanChunk: the stars, then up to the next '*' outside a class */
static void scan_chunk(const char **p, size_t *n, bool *ret_star, const char **ret_chunk, size_t *ret_clen)
{
        bool star = false, in_range = false;
        size_t i;

        while (*n > 0 && **p == '*')
                (*p)++, (*n)--, star = true;
        for (i = 0; i < *n; i++) {
                char c = (*p)[i];
                if (c == '\\' && i + 1 < *n)
                        i++;
                else if (c == '[')
                        in_range = true;
                else if (c == ']')
                        in_range = false;
                else if (c == '*' && !in_range)
                        break;
        }
        *ret_star = star;
        *ret_chunk = *p;
        *ret_clen = i;
        *p += i;
        *n -= i;
}

/* Go's matchChunk: whether chunk matches the start of s, *ret_rest the bytes of
 * s it used; it reads the whole chunk even after a mismatch, so that a bad
 * pattern is always an error */
static int match_chunk(const char *c, size_t cn, const char *s, size_t sn, size_t *ret_used, bool *ret_ok)
{
        bool failed = false, in;
        size_t i = 0, j = 0, w, clen;
        int k;

        while (i < cn) {
                if (!failed && j == sn)
                        failed = true;
                switch (c[i]) {
                case '[': {
                        uint32_t r = 0;
                        if (!failed)
                                r = rune_at(s + j, sn - j, &w), j += w;
                        if ((k = class_match(c + i, cn - i, r, false, &in, &clen)) < 0)
                                return k;
                        failed = failed || !in;
                        i += clen;
                        break;
                }
                case '?':
                        if (!failed) {
                                failed = s[j] == '/';
                                rune_at(s + j, sn - j, &w);
                                j += w;
                        }
                        i++;
                        break;
                case '\\':
                        if (++i == cn)
                                return -EINVAL;
                        __attribute__((fallthrough));
                default:
                        if (!failed)
                                failed = c[i] != s[j++];
                        i++;
                }
        }
        *ret_ok = !failed;
        *ret_used = j;
        return 0;
}

/* Go's filepath.Match, -EINVAL for a malformed pattern: '*' and '?' never match '/' */
static int go_match(const char *p, size_t pn, const char *s, size_t sn, bool *ret)
{
        const char *c;
        size_t cn, used;
        bool star, ok;
        int k;

next:
        while (pn > 0) {
                scan_chunk(&p, &pn, &star, &c, &cn);
                if (star && cn == 0) {
                        *ret = !memchr(s, '/', sn);
                        return 0;
                }
                if ((k = match_chunk(c, cn, s, sn, &used, &ok)) < 0)
                        return k;
                if (ok && (used == sn || pn > 0)) {
                        s += used, sn -= used;
                        continue;
                }
                /* the star takes one more byte at a time, never a '/' */
                for (size_t i = 0; star && i < sn && s[i] != '/'; i++) {
                        if ((k = match_chunk(c, cn, s + i + 1, sn - i - 1, &used, &ok)) < 0)
                                return k;
                        if (ok && !(pn == 0 && used < sn - i - 1)) {
                                s += i + 1 + used, sn -= i + 1 + used;
                                goto next;
                        }
                }
                /* no match: the rest of the pattern is still checked */
                while (pn > 0) {
                        scan_chunk(&p, &pn, &star, &c, &cn);
                        if ((k = match_chunk(c, cn, "", 0, &used, &ok)) < 0)
                                return k;
                }
                *ret = false;
                return 0;
        }
        *ret = sn == 0;
        return 0;
}

bool ignore_glob_match(const char *pattern, const char *name)
{
        bool m;
        return go_match(pattern, strlen(pattern), name, strlen(name), &m) == 0 && m;
}

static void tok_push(struct pattern *p, enum tok_kind kind, uint32_t v)
{
        p->toks[p->n_toks++] = (struct tok){ .kind = kind, .v = v };
}

/* patternmatcher's compile(): the same walk over the pattern, tokens for its regexp */
static int pattern_compile(struct pattern *p)
{
        const char *s = p->text;
        size_t n = p->len, i = 0, w;
        bool in;
        int r;

        p->toks = xmalloc((n + 1) * sizeof(*p->toks));
        p->mode = PAT_EXACT;
        while (i < n) {
                size_t start = i;
                switch (s[i]) {
                case '*':
                        if (i + 1 < n && s[i + 1] == '*') {
                                i += 2;
                                if (i < n && s[i] == '/') /* "**" + "/" is "**" */
                                        i++;
                                if (i < n)
                                        tok_push(p, TOK_DIRS, 0), p->mode = PAT_TOKENS;
                                else if (p->mode == PAT_EXACT)
                                        p->mode = PAT_PREFIX;
                                else
                                        tok_push(p, TOK_REST, 0), p->mode = PAT_TOKENS;
                                /* patternmatcher's shortcut, which makes "**x" match "ax" as well */
                                if (start == 0)
                                        p->mode = PAT_SUFFIX;
                        } else {
                                tok_push(p, TOK_STAR, 0), p->mode = PAT_TOKENS, i++;
                        }
                        break;
                case '?':
                        tok_push(p, TOK_ANY, 0), p->mode = PAT_TOKENS, i++;
                        break;
                case '[':
                        if ((r = class_match(s + i, n - i, 0, true, &in, &w)) < 0)
                                return r;
                        tok_push(p, TOK_CLASS, (uint32_t) i), p->mode = PAT_TOKENS, i += w;
                        break;
                case '\\':
                        /* the next rune as it is (a trailing '\\' failed the check before) */
                        if (i + 1 < n)
                                i++, p->mode = PAT_TOKENS;
                        __attribute__((fallthrough));
                default:
                        tok_push(p, TOK_LIT, rune_at(s + i, n - i, &w));
                        i += w;
                }
        }
        return 0;
}

/* states: st[k] before token k (st[n] matched), st[n + 1 + k] inside the TOK_DIRS k */
static void states_close(const struct pattern *p, uint8_t *st)
{
        size_t n = p->n_toks;

        for (size_t k = 0; k < n; k++) {
                if (!st[k])
                        continue;
                if (p->toks[k].kind == TOK_STAR || p->toks[k].kind == TOK_REST)
                        st[k + 1] = 1;
                else if (p->toks[k].kind == TOK_DIRS)
                        st[k + 1] = 1, st[n + 1 + k] = 1;
        }
}

/* one rune c; false when no state is left.  As in Go's regexp, '.' (TOK_DIRS,
 * TOK_REST) does not match '\n' while "[^/]" (TOK_STAR, TOK_ANY) does. */
static bool states_step(const struct pattern *p, const uint8_t *cur, uint8_t *nxt, uint32_t c)
{
        size_t n = p->n_toks;
        bool in, live = false;

        memset(nxt, 0, 2 * (n + 1));
        for (size_t k = 0; k < n; k++) {
                const struct tok *t = &p->toks[k];
                size_t clen;
                if (cur[n + 1 + k]) {
                        nxt[n + 1 + k] = c != '\n';
                        nxt[k + 1] |= c == '/';
                }
                if (!cur[k])
                        continue;
                switch (t->kind) {
                case TOK_LIT:
                        nxt[k + 1] |= c == t->v;
                        break;
                case TOK_ANY:
                        nxt[k + 1] |= c != '/';
                        break;
                case TOK_CLASS:
                        if (class_match(p->text + t->v, p->len - t->v, c, true, &in, &clen) == 0 && in)
                                nxt[k + 1] = 1;
                        break;
                case TOK_STAR:
                        nxt[k] |= c != '/';
                        break;
                case TOK_REST:
                        nxt[k] |= c != '\n';
                        break;
                }
        }
        states_close(p, nxt);
        for (size_t k = 0; k < 2 * (n + 1) && !live; k++)
                live = nxt[k];
        return live;
}

/* whether p matches path or, at each '/', the parent directory read so far */
static bool tokens_match(const struct pattern *p, const char *path, size_t len, uint8_t *scratch)
{
        size_t n = p->n_toks, w;
        uint8_t *cur = scratch, *nxt = scratch + 2 * (n + 1);

        memset(cur, 0, 2 * (n + 1));
        cur[0] = 1;
        states_close(p, cur);
        for (size_t i = 0; i < len; i += w) {
                if (path[i] == '/' && cur[n])
                        return true;
                if (!states_step(p, cur, nxt, rune_at(path + i, len - i, &w)))
                        return false;
                uint8_t *t = cur;
                cur = nxt, nxt = t;
        }
        return cur[n];
}

static bool literal_match(const struct pattern *p, const char *s, size_t n)
{
        const char *suffix = p->text + 2;
        size_t sl = p->len - 2;

        switch (p->mode) {
        case PAT_EXACT:
                return n == p->len && memcmp(s, p->text, n) == 0;
        case PAT_PREFIX:
                return n >= p->len - 2 && memcmp(s, p->text, p->len - 2) == 0;
        case PAT_SUFFIX:
                if (n >= sl && memcmp(s + n - sl, suffix, sl) == 0)
                        return true;
                return sl > 0 && suffix[0] == '/' && n == sl - 1 && memcmp(s, suffix + 1, sl - 1) == 0;
        default:
                return false;
        }
}

/* patternmatcher's MatchesOrParentMatches for one pattern: the path or a parent */
static bool pattern_match(const struct pattern *p, const char *path, size_t len, uint8_t *scratch)
{
        if (p->mode == PAT_TOKENS)
                return tokens_match(p, path, len, scratch);
        for (size_t i = 0; i < len; i++)
                if (path[i] == '/' && literal_match(p, path, i))
                        return true;
        return literal_match(p, path, len);
}

/* clean already: no leading or trailing '/', no "//", no "." or ".." element */
static bool path_is_clean(const char *s, size_t n)
{
        if (n == 0 || s[0] == '/' || s[n - 1] == '/')
                return n == 0;
        for (size_t i = 0; i < n;) {
                size_t e = i;
                while (e < n && s[e] != '/')
                        e++;
                if (e == i || (e - i == 1 && s[i] == '.') || (e - i == 2 && s[i] == '.' && s[i + 1] == '.'))
                        return false;
                i = e + 1;
        }
        return true;
}

bool ignore_match(const struct ignore *ig, const char *path)
{
        _cleanup_free_ char *clean = NULL;
        _cleanup_free_ uint8_t *heap = NULL;
        uint8_t stack[512], *scratch = stack;
        size_t len = strlen(path);
        bool matched = false;

        if (!ig)
                return false;
        if (!path_is_clean(path, len)) {
                clean = go_clean(path, len, &len);
                path = clean;
                while (path[0] == '/')
                        path++, len--;
        }
        /* patternmatcher: "don't let them exclude everything" */
        if (len == 0 || (len == 1 && path[0] == '.'))
                return false;
        if (4 * (ig->max_toks + 1) > sizeof(stack))
                scratch = heap = xmalloc(4 * (ig->max_toks + 1));
        for (size_t i = 0; i < ig->n_pats; i++) {
                const struct pattern *p = &ig->pats[i];
                /* the last pattern that matches decides: skip those that cannot change it */
                if (p->exception != matched)
                        continue;
                if (pattern_match(p, path, len, scratch))
                        matched = !p->exception;
        }
        return matched;
}

/* fsutil: an excluded directory is skipped unless an exception's stem (less a
 * trailing slash and one or two stars) is at or below it; an exception with a wildcard left
 * in its stem could match anywhere, so then every excluded directory is walked */
bool ignore_dir_may_include(const struct ignore *ig, const char *dir)
{
        size_t dn = strlen(dir);

        if (!ig || ig->n_exceptions == 0)
                return false;
        if (ig->wild_exceptions)
                return true;
        while (dn > 0 && dir[dn - 1] == '/')
                dn--;
        if (dn == 0)
                return true;
        for (size_t i = 0; i < ig->n_pats; i++) {
                const struct pattern *p = &ig->pats[i];
                if (p->exception && p->stem_len >= dn && memcmp(p->text, dir, dn) == 0 &&
                    (p->stem_len == dn || p->text[dn] == '/'))
                        return true;
        }
        return false;
}

static void pattern_stem(struct ignore *ig, struct pattern *p)
{
        size_t n = p->len;

        if (n >= 3 && memcmp(p->text + n - 3, "/**", 3) == 0)
                n -= 3;
        if (n >= 2 && memcmp(p->text + n - 2, "/*", 2) == 0)
                n -= 2;
        p->stem_len = n;
        if (!p->exception)
                return;
        ig->n_exceptions++;
        for (size_t i = 0; i < n; i++)
                if (p->text[i] != '\0' && strchr("*[]?^\\", p->text[i]))
                        ig->wild_exceptions = true;
}

/* patternmatcher.New on one line as ReadAll left it: trimmed again, cleaned
 * again with its '!' (so "!../x" cleans to the plain "x", as in docker) */
static int pattern_add(struct ignore *ig, const char *s, size_t n, unsigned line, const char *quote,
                       size_t quote_len, struct err *err)
{
        struct pattern p = { 0 };
        bool dummy;

        trim_space(&s, &n);
        if (n == 0)
                return 0;
        p.text = go_clean(s, n, &p.len);
        if (p.text[0] == '!') {
                if (p.len == 1) {
                        free(p.text);
                        return err_set(err, -EINVAL, "line %u: illegal exclusion pattern '!'", line);
                }
                p.exception = true;
                memmove(p.text, p.text + 1, p.len--);
        }
        if (go_match(p.text, p.len, ".", 1, &dummy) < 0 || pattern_compile(&p) < 0) {
                free(p.toks);
                free(p.text);
                return err_set(err, -EINVAL, "line %u: syntax error in pattern '%.*s'", line,
                               (int) (quote_len < QUOTE_MAX ? quote_len : QUOTE_MAX), quote);
        }
        pattern_stem(ig, &p);
        if (ig->n_pats == ig->cap_pats) {
                ig->cap_pats = ig->cap_pats ? 2 * ig->cap_pats : 16;
                ig->pats = xrealloc(ig->pats, ig->cap_pats * sizeof(*ig->pats));
        }
        if (p.n_toks > ig->max_toks)
                ig->max_toks = p.n_toks;
        ig->pats[ig->n_pats++] = p;
        return 0;
}

/* ignorefile.ReadAll on one line: '#' in the first column, trimmed, '!' and the
 * pattern after it trimmed, cleaned, a leading '/' dropped */
static int line_add(struct ignore *ig, const char *s, size_t n, unsigned line, struct err *err)
{
        _cleanup_free_ char *clean = NULL, *pat = NULL;
        size_t len = 0;

        if (n > 0 && s[0] == '#')
                return 0;
        trim_space(&s, &n);
        if (n == 0)
                return 0;
        const char *quote = s;
        size_t quote_len = n;
        bool invert = s[0] == '!';
        if (invert) {
                s++, n--;
                trim_space(&s, &n);
        }
        const char *c = s;
        if (n > 0) {
                clean = go_clean(s, n, &len);
                c = clean;
                if (len > 1 && c[0] == '/')
                        c++, len--;
        }
        pat = xmalloc(len + 2);
        pat[0] = '!';
        memcpy(pat + 1, c, len);
        return pattern_add(ig, pat + !invert, len + invert, line, quote, quote_len, err);
}

int ignore_parse(const char *text, size_t len, struct ignore **ret, struct err *err)
{
        _cleanup_(ignore_freep) struct ignore *ig = xcalloc(1, sizeof(*ig));
        unsigned line = 0;
        int r;

        /* bufio.ScanLines: '\n' ends a line, a '\r' before it goes, a last line may lack it */
        for (size_t pos = 0; pos < len;) {
                const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - s) : len - pos;
                pos += n + (nl ? 1 : 0);
                if (n > 0 && s[n - 1] == '\r')
                        n--;
                if (line == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
                        s += 3, n -= 3;
                if ((r = line_add(ig, s, n, ++line, err)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(ig);
        return 0;
}

void ignore_free(struct ignore *ig)
{
        if (!ig)
                return;
        for (size_t i = 0; i < ig->n_pats; i++) {
                free(ig->pats[i].text);
                free(ig->pats[i].toks);
        }
        free(ig->pats);
        free(ig);
}

/* name below dir_fd, never through a symlink nor out of it; -ENOENT when absent */
static int open_beneath(int dir_fd, const char *name)
{
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

int ignore_load(int context_fd, int dockerfile_dir_fd, const char *dockerfile_name, struct ignore **ret,
                struct err *err)
{
        _cleanup_free_ char *name = NULL, *buf = NULL;
        _cleanup_close_ int fd = -ENOENT;
        struct ignore *ig = NULL;
        struct stat st;
        size_t len;
        int r;

        /* BuildKit: <Dockerfile>.dockerignore beside the Dockerfile replaces the context's */
        if (dockerfile_name && dockerfile_dir_fd >= 0) {
                name = xasprintf("%s.dockerignore", dockerfile_name);
                fd = open_beneath(dockerfile_dir_fd, name);
        }
        if (fd == -ENOENT) {
                free(name);
                name = xstrdup(".dockerignore");
                fd = open_beneath(context_fd, name);
        }
        if (fd == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (fd == -ELOOP)
                return err_set(err, fd, "cannot open '%s': it is a symbolic link, which is not followed",
                               name);
        if (fd < 0)
                return err_sys(err, fd, "cannot open '%s'", name);
        if (fstat(fd, &st) < 0)
                return err_sys(err, -errno, "cannot stat '%s'", name);
        if (!S_ISREG(st.st_mode))
                return err_set(err, -EINVAL, "'%s' is not a regular file", name);
        r = fs_read_fd(fd, IGNORE_FILE_MAX, &buf, &len);
        if (r == -EFBIG)
                return err_set(err, r, "'%s' is larger than %u MiB", name, IGNORE_FILE_MAX >> 20);
        if (r < 0)
                return err_sys(err, r, "cannot read '%s'", name);
        if ((r = ignore_parse(buf, len, &ig, err)) < 0)
                return err_wrap(err, "%s", name);
        *ret = ig;
        return 0;
}
