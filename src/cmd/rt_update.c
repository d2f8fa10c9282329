/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den-runtime update: runc's and crun's flags, or -r FILE|- (OCI
 * linux.resources), the flags laid over the file's values. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/linux/cgroup.h"
#include "lib/runtime/container.h"
#include "runtime.h"

enum { O_STR = 1, O_INT = 2, O_BYTES = 3 };

/* flag -> linux.resources.GROUP.KEY */
static const struct flag {
        const char *name, *group, *key;
        int type;
} flags[] = {
        { "blkio-weight", "blockIO", "weight", O_INT },
        { "cpu-period", "cpu", "period", O_INT },
        { "cpu-quota", "cpu", "quota", O_INT },
        { "cpu-burst", "cpu", "burst", O_INT },
        { "cpu-rt-period", "cpu", "realtimePeriod", O_INT },
        { "cpu-rt-runtime", "cpu", "realtimeRuntime", O_INT },
        { "cpu-share", "cpu", "shares", O_INT },
        { "cpu-shares", "cpu", "shares", O_INT },
        { "cpuset-cpus", "cpu", "cpus", O_STR },
        { "cpuset-mems", "cpu", "mems", O_STR },
        { "kernel-memory", "memory", "kernel", O_BYTES },
        { "kernel-memory-tcp", "memory", "kernelTCP", O_BYTES },
        { "memory", "memory", "limit", O_BYTES },
        { "memory-reservation", "memory", "reservation", O_BYTES },
        { "memory-swap", "memory", "swap", O_BYTES },
        { "pids-limit", "pids", "limit", O_INT },
        /* Intel RDT: refused, as linux.intelRdt is */
        { "l3-cache-schema", NULL, NULL, O_STR },
        { "mem-bw-schema", NULL, NULL, O_STR },
};

static int usage(void)
{
        printf("usage: den-runtime update [-r FILE|-] [OPTIONS] ID\n"
               "  -r, --resources FILE   linux.resources as JSON ('-': standard input)\n");
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                printf("  --%s %s\n", flags[i].name,
                       flags[i].type == O_BYTES ? "BYTES (k, m, g suffixes; -1: unlimited)"
                       : flags[i].type == O_INT ? "N"
                                                : "VALUE");
        return 0;
}

/* one flag's value into res */
static int set_flag(json_t *res, const struct flag *f, const char *arg)
{
        int64_t v = 0;
        char *end;
        if (!f->group)
                return rt_usage("update", "--%s: Intel RDT (linux.intelRdt) is not supported by den-runtime", f->name);
        if (f->type == O_BYTES && cgroup_parse_bytes(arg, &v) < 0)
                return rt_usage("update", "--%s '%s': not a size (bytes, or with a k, m, g suffix)", f->name, arg);
        if (f->type == O_INT) {
                errno = 0;
                v = strtoll(arg, &end, 10);
                if (errno || !*arg || *end)
                        return rt_usage("update", "--%s '%s': not a number", f->name, arg);
        }
        json_t *g = json_object_get(res, f->group);
        if (!g)
                json_object_set_new(res, f->group, g = json_object());
        json_object_set_new(g, f->key, f->type == O_STR ? json_string(arg) : json_integer(v));
        return 0;
}

static json_t *load_resources(const char *arg)
{
        json_error_t je;
        json_t *j = strcmp(arg, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(arg, 0, &je);
        if (!j || !json_is_object(j)) {
                rt_usage("update", "--resources '%s': not a JSON object%s%s", arg, j ? "" : ": ", j ? "" : je.text);
                json_decref(j);
                return NULL;
        }
        return j;
}

int rt_cmd_update(struct rt_global *g, int argc, char **argv)
{
        struct option o[ELEMENTSOF(flags) + 3] = {
                { "resources", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
        };
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                o[i + 2] = (struct option){ flags[i].name, required_argument, NULL, 1000 + (int) i };
        _cleanup_(json_decrefp) json_t *file = NULL;
        _cleanup_(json_decrefp) json_t *res = json_object();
        struct err err = { 0 };
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+r:h", o, NULL)) != -1) {
                if (c == 'h')
                        return usage();
                if (c == 'r') {
                        json_decref(file);
                        if (!(file = load_resources(optarg)))
                                return 1;
                } else if (c >= 1000 && c < 1000 + (int) ELEMENTSOF(flags)) {
                        int r = set_flag(res, &flags[c - 1000], optarg);
                        if (r)
                                return r;
                } else
                        return rt_usage("update", "bad option");
        }
        if (argc - optind != 1)
                return rt_usage("update", "expects exactly one container id");
        /* the flags win over the file, field by field */
        if (file)
                cgroup_resources_merge(file, res);
        if (container_update(g->root, argv[optind], file ? file : res, &err) < 0)
                return rt_fail(err.msg);
        return 0;
}
