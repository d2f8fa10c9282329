/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's usage as `runc events --stats` reports it (libcontainer's
 * types.Stats): cpu, memory and pids, read from its cgroup, v1 or v2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "cgroup.h"

/* USER_HZ, the unit of v1's cpuacct.stat */
#define CLOCK_TICKS 100

/* The first number in a cgroup file ("max" reads as max_as); 0 without the file. */
static uint64_t read_u64(const struct cgroup *cg, const char *ctl, const char *file, uint64_t max_as)
{
        _cleanup_free_ char *d = cgroup_dir(cg, ctl), *p = NULL, *s = NULL;
        if (!d)
                return 0;
        p = xasprintf("%s/%s", d, file);
        if (fs_read_file(p, 4096, &s, NULL) < 0)
                return 0;
        return strncmp(s, "max", 3) == 0 ? max_as : strtoull(s, NULL, 10);
}

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat) as an object */
static json_t *read_keyed(const struct cgroup *cg, const char *ctl, const char *file)
{
        json_t *o = json_object();
        _cleanup_free_ char *d = cgroup_dir(cg, ctl), *s = NULL;
        _cleanup_free_ char *p = d ? xasprintf("%s/%s", d, file) : NULL;
        if (!p || fs_read_file(p, 1 << 16, &s, NULL) < 0)
                return o;
        char *save = NULL;
        for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(l, ' ');
                if (!sp)
                        continue;
                *sp = '\0';
                json_object_set_new(o, l, json_integer((json_int_t) strtoull(sp + 1, NULL, 10)));
        }
        return o;
}

static json_int_t key(json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

json_t *cgroup_stats(const struct cgroup *cg)
{
        json_t *cpu_stat = read_keyed(cg, cg->v2 ? NULL : "cpuacct", cg->v2 ? "cpu.stat" : "cpuacct.stat");
        json_t *mem_raw = read_keyed(cg, "memory", "memory.stat");
        json_int_t total, user, kernel;
        if (cg->v2) {
                total = key(cpu_stat, "usage_usec") * 1000;
                user = key(cpu_stat, "user_usec") * 1000;
                kernel = key(cpu_stat, "system_usec") * 1000;
        } else {
                total = (json_int_t) read_u64(cg, "cpuacct", "cpuacct.usage", 0);
                user = key(cpu_stat, "user") * (1000000000 / CLOCK_TICKS);
                kernel = key(cpu_stat, "system") * (1000000000 / CLOCK_TICKS);
        }
        json_decref(cpu_stat);
        /* runc reports an unlimited memory limit as the largest value, and pids' as 0 */
        uint64_t unlimited = (uint64_t) INT64_MAX;
        json_t *mem = json_pack(
                "{s:{s:I,s:I,s:I,s:I},s:o}", "usage", "usage",
                (json_int_t) read_u64(cg, "memory", cg->v2 ? "memory.current" : "memory.usage_in_bytes", 0), "max",
                (json_int_t) read_u64(cg, "memory", cg->v2 ? "memory.peak" : "memory.max_usage_in_bytes", 0), "limit",
                (json_int_t) read_u64(cg, "memory", cg->v2 ? "memory.max" : "memory.limit_in_bytes", unlimited),
                "failcnt", (json_int_t) (cg->v2 ? 0 : read_u64(cg, "memory", "memory.failcnt", 0)), "raw", mem_raw);
        json_object_set_new(mem, "cache", json_integer(key(mem_raw, cg->v2 ? "file" : "cache")));
        return json_pack("{s:{s:{s:I,s:I,s:I}},s:o,s:{s:I,s:I},s:{},s:{}}", "cpu", "usage", "total", total, "kernel",
                         kernel, "user", user, "memory", mem, "pids", "current",
                         (json_int_t) read_u64(cg, "pids", "pids.current", 0), "limit",
                         (json_int_t) read_u64(cg, "pids", "pids.max", 0), "blkio", "hugetlb");
}
