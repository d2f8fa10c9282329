/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "macro.h"

static void oom(void)
{
        static const char m[] = "den: out of memory\n";
        if (write(2, m, sizeof(m) - 1) < 0) {
        }
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t m)
{
        void *p = calloc(n ? n : 1, m ? m : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s);
        if (!p)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        char *p;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        return p;
}

size_t strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **r = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

char *now_rfc3339(void)
{
        struct timespec t;
        struct tm tm;
        char b[64];
        clock_gettime(CLOCK_REALTIME, &t);
        gmtime_r(&t.tv_sec, &tm);
        strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", b, t.tv_nsec);
}

void strv_push(char ***v, const char *s)
{
        size_t n = strv_length(*v);
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
}

char *strv_join(char *const *v, const char *sep)
{
        size_t len = 1;
        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + strlen(sep);
        char *out = xmalloc(len);
        out[0] = '\0';
        for (size_t i = 0; v && v[i]; i++) {
                if (i)
                        strcat(out, sep);
                strcat(out, v[i]);
        }
        return out;
}
