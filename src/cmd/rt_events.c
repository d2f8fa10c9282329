/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den-runtime events: a container's usage as runc prints it, once (--stats)
 * or every --interval until the container stops. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/runtime/container.h"
#include "lib/runtime/state.h"
#include "runtime.h"

static int print_stats(const char *root, const char *id, struct err *err)
{
        json_t *data = NULL;
        int r = container_stats(root, id, &data, err);
        if (r < 0)
                return r;
        json_t *ev = json_pack("{s:s,s:s,s:o}", "type", "stats", "id", id, "data", data);
        _cleanup_free_ char *s = json_dump_str(ev, false);
        json_decref(ev);
        printf("%s\n", s);
        fflush(stdout);
        return 0;
}

static bool stopped(const char *root, const char *id)
{
        struct state st;
        struct err e = { 0 };
        if (state_load(root, id, &st, &e) < 0)
                return true;
        bool s = state_status(root, &st) == STATUS_STOPPED;
        state_free(&st);
        return s;
}

int rt_cmd_events(struct rt_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "stats", no_argument, NULL, 's' },
                                           { "interval", required_argument, NULL, 'i' },
                                           { "help", no_argument, NULL, 'h' },
                                           {} };
        bool once = false;
        double interval = 5;
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+h", o, NULL)) != -1) {
                if (c == 's')
                        once = true;
                else if (c == 'i') {
                        char *end;
                        /* runc takes a Go duration: "5s", "500ms" */
                        interval = strtod(optarg, &end);
                        if (strcmp(end, "ms") == 0)
                                interval /= 1000;
                        else if (*end && strcmp(end, "s") != 0)
                                return rt_usage("events", "--interval '%s': expected seconds (5s, 500ms)", optarg);
                        if (interval <= 0)
                                return rt_usage("events", "--interval '%s': must be positive", optarg);
                } else if (c == 'h') {
                        printf("usage: den-runtime events [--stats] [--interval 5s] ID\n");
                        return 0;
                } else
                        return rt_usage("events", "bad option");
        }
        if (optind != argc - 1)
                return rt_usage("events", "expects one container id");
        const char *id = argv[optind];
        struct err err = { 0 };
        do {
                if (print_stats(g->root, id, &err) < 0)
                        return rt_fail(err.msg);
                if (once)
                        break;
                usleep((useconds_t) (interval * 1e6));
        } while (!stopped(g->root, id));
        return 0;
}
