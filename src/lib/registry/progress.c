/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "lib/base/macro.h"

/* A terminal gets one live line per layer (bytes, rate, state), redrawn at
 * most ten times a second; anything else one line per layer as it ends. */
struct line {
        char id[20];
        uint64_t total, now;
        double start;
        char state[16];
};

struct reg_progress {
        int fd;
        void (*fn)(void *data, size_t i, const char *hex, uint64_t now, uint64_t total, const char *state);
        void *data;
        bool tty, drawn;
        size_t n;
        double last;
        pthread_mutex_t lock;
        struct line l[];
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void human(uint64_t b, char *out, size_t len)
{
        const char *u[] = { "B", "kB", "MB", "GB", "TB" };
        double v = (double) b;
        int i = 0;
        while (v >= 1000 && i < 4) {
                v /= 1000;
                i++;
        }
        snprintf(out, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void format_line(struct line *l, char *out, size_t len)
{
        char now[16], total[16], rate[16] = "";
        human(l->now, now, sizeof(now));
        human(l->total, total, sizeof(total));
        double dt = now_s() - l->start;
        if (l->start > 0 && dt > 0.05 && l->now) {
                human((uint64_t) ((double) l->now / dt), rate, sizeof(rate));
                strcat(rate, "/s");
        }
        snprintf(out, len, "%-19s %-11s %9s / %-9s %s", l->id, l->state, now, total, rate);
}

struct reg_progress *reg_progress_new(const struct reg_opts *o, size_t n)
{
        if (o->quiet && !o->progress_fn)
                return NULL;
        struct reg_progress *p = xcalloc(1, sizeof(*p) + n * sizeof(struct line));
        p->fd = o->progress_fd;
        p->fn = o->progress_fn;
        p->data = o->progress_data;
        p->tty = !p->fn && isatty(p->fd);
        p->n = n;
        pthread_mutex_init(&p->lock, NULL);
        return p;
}

static void draw(struct reg_progress *p, bool force)
{
        double t = now_s();
        if (!force && t - p->last < 0.1)
                return;
        p->last = t;
        char buf[8192];
        size_t off = 0;
        if (p->drawn)
                off += (size_t) snprintf(buf, sizeof(buf), "\033[%zuA", p->n);
        for (size_t i = 0; i < p->n && off < sizeof(buf) - 200; i++) {
                char line[160];
                format_line(&p->l[i], line, sizeof(line));
                off += (size_t) snprintf(buf + off, sizeof(buf) - off, "\033[2K%s\n", line);
        }
        p->drawn = true;
        if (write(p->fd, buf, off) < 0) {
                /* progress is best effort */
        }
}

void reg_progress_set(struct reg_progress *p, size_t i, const char *digest, uint64_t total, const char *state)
{
        if (!p || i >= p->n)
                return;
        pthread_mutex_lock(&p->lock);
        struct line *l = &p->l[i];
        if (digest)
                snprintf(l->id, sizeof(l->id), "%.19s", digest);
        if (total)
                l->total = total;
        if (strcmp(state, "downloading") == 0 && l->start == 0)
                l->start = now_s();
        bool final = strcmp(state, "done") == 0 || strcmp(state, "exists") == 0 || strcmp(state, "mounted") == 0 ||
                     strcmp(state, "pushed") == 0;
        if (final || strcmp(state, "downloaded") == 0)
                l->now = l->total;
        snprintf(l->state, sizeof(l->state), "%s", state);
        if (p->fn)
                p->fn(p->data, i, l->id, l->now, l->total, l->state);
        else if (p->tty)
                draw(p, true);
        else if (final || strcmp(state, "failed") == 0) {
                char line[160];
                format_line(l, line, sizeof(line));
                dprintf(p->fd, "%s\n", line);
        }
        pthread_mutex_unlock(&p->lock);
}

void reg_progress_bytes(struct reg_progress *p, size_t i, uint64_t now)
{
        if (!p || i >= p->n)
                return;
        pthread_mutex_lock(&p->lock);
        p->l[i].now = now;
        if (p->fn)
                p->fn(p->data, i, p->l[i].id, now, p->l[i].total, p->l[i].state);
        else if (p->tty)
                draw(p, false);
        pthread_mutex_unlock(&p->lock);
}

void reg_progress_free(struct reg_progress *p)
{
        if (!p)
                return;
        if (p->tty)
                draw(p, true);
        pthread_mutex_destroy(&p->lock);
        free(p);
}
