/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.resources as a list of cgroup file writes, for v1 or v2; pure.  Each
 * entry is "[?][CTL:]FILE[|ALT]\tVALUE": '?' marks a write of a default
 * ("unlimited") value that a kernel without the file already has, CTL the v1
 * controller whose directory holds FILE ("unified": the v2 one of a hybrid
 * host), ALT a file tried when FILE does not exist (blkio.weight on CFQ,
 * blkio.bfq.weight on BFQ).  The v2 conversions are runc's. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/macro.h"
#include "cgroup.h"

struct plan {
        char **v;
        size_t n;
        bool v2;
};

static void add(struct plan *p, bool optional, const char *file, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void add(struct plan *p, bool optional, const char *file, const char *fmt, ...)
{
        char val[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(val, sizeof(val), fmt, ap);
        va_end(ap);
        p->v = xrealloc(p->v, (p->n + 2) * sizeof(char *));
        p->v[p->n++] = xasprintf("%s%s\t%s", optional ? "?" : "", file, val);
        p->v[p->n] = NULL;
}

static int get_i64(json_t *o, const char *where, const char *key, int64_t *ret, bool *has, struct err *err)
{
        int64_t v = INT64_MIN;
        int r = json_get_int(o, where, key, INT64_MIN + 1, INT64_MAX, &v, err);
        *has = r == 0 && v != INT64_MIN;
        if (*has)
                *ret = v;
        return r;
}

/* a field cgroup v2 has no file for, asked for with a non-default value */
static int no_v2(const char *field, struct err *err)
{
        return err_set(err, -EOPNOTSUPP, "linux.resources.%s: not available on cgroup v2", field);
}

/* runc's ConvertMemorySwapToCgroupV2Value: OCI swap is memory+swap, v2's
 * memory.swap.max is swap alone */
static int swap_v2(int64_t swap, int64_t limit, int64_t *ret, struct err *err)
{
        if (limit == -1 && swap == 0)
                swap = -1;
        if (swap == -1 || swap == 0) {
                *ret = swap;
                return 0;
        }
        if (limit <= 0)
                return err_set(err, -EINVAL, "linux.resources.memory.swap: needs a memory limit on cgroup v2");
        if (swap < limit)
                return err_set(err, -EINVAL, "linux.resources.memory.swap: %lld is below the memory limit %lld",
                               (long long) swap, (long long) limit);
        *ret = swap - limit;
        return 0;
}

static int plan_memory(struct plan *p, json_t *mem, struct err *err)
{
        static const char w[] = "linux.resources.memory";
        int64_t limit = 0, x;
        bool has_limit, has, b;
        int r;
        if ((r = get_i64(mem, w, "limit", &limit, &has_limit, err)) < 0)
                return r;
        /* 0 is "unset", as with runc: dockerd's update sends 0 for every field
         * the user did not give (docker update --cpuset-cpus 0) */
        has_limit = has_limit && limit != 0;
        if (has_limit)
                add(p, limit < 0, p->v2 ? "memory.max" : "memory:memory.limit_in_bytes",
                    limit < 0 ? (p->v2 ? "max" : "-1") : "%lld", (long long) limit);
        if ((r = get_i64(mem, w, "reservation", &x, &has, err)) < 0)
                return r;
        if (has && x != 0)
                add(p, x < 0, p->v2 ? "memory.low" : "memory:memory.soft_limit_in_bytes",
                    x < 0 ? (p->v2 ? "0" : "-1") : "%lld", (long long) x);
        if ((r = get_i64(mem, w, "swap", &x, &has, err)) < 0)
                return r;
        if (has && p->v2) {
                if ((r = swap_v2(x, has_limit ? limit : 0, &x, err)) < 0)
                        return r;
                if (x != 0 || has_limit)
                        add(p, x < 0, "memory.swap.max", x < 0 ? "max" : "%lld", (long long) x);
        } else if (has && x != 0)
                /* without swap accounting there is no file: fine for "unlimited" */
                add(p, x < 0, "memory:memory.memsw.limit_in_bytes", "%lld", (long long) x);
        if ((r = get_i64(mem, w, "swappiness", &x, &has, err)) < 0)
                return r;
        if (has && x >= 0) {
                if (x > 100)
                        return err_set(err, -EINVAL, "%s.swappiness: %lld is not in 0..100", w, (long long) x);
                if (p->v2)
                        return no_v2("memory.swappiness", err);
                add(p, false, "memory:memory.swappiness", "%lld", (long long) x);
        }
        /* kernel memory: deprecated (v1 only); kernelTCP still accounted */
        static const struct {
                const char *key, *file;
        } kmem[] = { { "kernel", "memory:memory.kmem.limit_in_bytes" },
                     { "kernelTCP", "memory:memory.kmem.tcp.limit_in_bytes" } };
        for (size_t i = 0; i < ELEMENTSOF(kmem); i++) {
                if ((r = get_i64(mem, w, kmem[i].key, &x, &has, err)) < 0)
                        return r;
                if (!has || x == 0 || (p->v2 && x < 0))
                        continue;
                if (p->v2) {
                        _cleanup_free_ char *f = xasprintf("memory.%s", kmem[i].key);
                        return no_v2(f, err);
                }
                add(p, x < 0, kmem[i].file, "%lld", (long long) x);
        }
        b = false;
        if ((r = json_get_bool(mem, w, "disableOOMKiller", &b, err)) < 0)
                return r;
        if (b && p->v2)
                return no_v2("memory.disableOOMKiller", err);
        if (b)
                add(p, false, "memory:memory.oom_control", "1");
        /* hierarchy is always on in current kernels: "true" has nothing to do */
        b = true;
        if ((r = json_get_bool(mem, w, "useHierarchy", &b, err)) < 0)
                return r;
        if (!b && p->v2)
                return no_v2("memory.useHierarchy", err);
        if (!b)
                add(p, false, "memory:memory.use_hierarchy", "0");
        return 0;
}

/* cpus and mems lists: digits, ',' and '-' */
static int cpu_list(json_t *cpu, const char *key, const char **ret, struct err *err)
{
        const char *s = NULL;
        int r = json_get_str(cpu, "linux.resources.cpu", key, &s, err);
        if (r < 0)
                return r;
        if (s && s[strspn(s, "0123456789,-")])
                return err_set(err, -EINVAL, "linux.resources.cpu.%s: '%s' is not a list of numbers and ranges", key,
                               s);
        *ret = s && *s ? s : NULL;
        return 0;
}

static int plan_cpu(struct plan *p, json_t *cpu, struct err *err)
{
        static const char w[] = "linux.resources.cpu";
        int64_t quota = 0, period = 0, shares = 0, x;
        bool hq, hp, hs, has;
        const char *cpus = NULL, *mems = NULL;
        int r;
        if ((r = get_i64(cpu, w, "quota", &quota, &hq, err)) < 0 ||
            (r = get_i64(cpu, w, "period", &period, &hp, err)) < 0 ||
            (r = get_i64(cpu, w, "shares", &shares, &hs, err)) < 0)
                return r;
        /* 0 is "unset" for each, as with runc: dockerd sends zeros */
        hq = hq && quota != 0;
        hp = hp && period > 0;
        if (hs && shares > 0) {
                if (p->v2)
                        add(p, false, "cpu.weight", "%lld", (long long) (1 + ((shares - 2) * 9999) / 262142));
                else
                        add(p, false, "cpu:cpu.shares", "%lld", (long long) shares);
        }
        if (p->v2 && (hq || hp)) {
                if (hq && quota > 0)
                        add(p, false, "cpu.max", "%lld %lld", (long long) quota, (long long) (hp ? period : 100000));
                else
                        add(p, true, "cpu.max", "max %lld", (long long) (hp ? period : 100000));
        } else if (!p->v2) {
                /* a kernel without CONFIG_CFS_BANDWIDTH has neither file */
                if (hp)
                        add(p, !hq || quota < 0, "cpu:cpu.cfs_period_us", "%lld", (long long) period);
                if (hq)
                        add(p, quota < 0, "cpu:cpu.cfs_quota_us", "%lld", (long long) quota);
        }
        if ((r = get_i64(cpu, w, "burst", &x, &has, err)) < 0)
                return r;
        if (has && x >= 0)
                add(p, x == 0, p->v2 ? "cpu.max.burst" : "cpu:cpu.cfs_burst_us", "%lld",
                    (long long) x);
        /* real-time bandwidth: v1 only (CONFIG_RT_GROUP_SCHED); period first,
         * a runtime must fit in it */
        static const struct {
                const char *key, *file;
        } rt[] = { { "realtimePeriod", "cpu:cpu.rt_period_us" }, { "realtimeRuntime", "cpu:cpu.rt_runtime_us" } };
        for (size_t i = 0; i < ELEMENTSOF(rt); i++) {
                if ((r = get_i64(cpu, w, rt[i].key, &x, &has, err)) < 0)
                        return r;
                if (!has || x == 0)
                        continue;
                if (p->v2) {
                        _cleanup_free_ char *f = xasprintf("cpu.%s", rt[i].key);
                        return no_v2(f, err);
                }
                add(p, false, rt[i].file, "%lld", (long long) x);
        }
        if ((r = cpu_list(cpu, "cpus", &cpus, err)) < 0 || (r = cpu_list(cpu, "mems", &mems, err)) < 0)
                return r;
        if (cpus)
                add(p, false, p->v2 ? "cpuset.cpus" : "cpuset:cpuset.cpus", "%s", cpus);
        if (mems)
                add(p, false, p->v2 ? "cpuset.mems" : "cpuset:cpuset.mems", "%s", mems);
        if ((r = get_i64(cpu, w, "idle", &x, &has, err)) < 0)
                return r;
        if (has)
                add(p, x == 0, p->v2 ? "cpu.idle" : "cpu:cpu.idle", "%lld", (long long) x);
        return 0;
}

/* blockIO's per-device lists: weightDevice and the four throttles */
static int plan_blkio_devices(struct plan *p, json_t *io, struct err *err)
{
        static const struct {
                const char *key, *v1, *v2;
        } thr[] = {
                { "throttleReadBpsDevice", "blkio:blkio.throttle.read_bps_device", "rbps" },
                { "throttleWriteBpsDevice", "blkio:blkio.throttle.write_bps_device", "wbps" },
                { "throttleReadIOPSDevice", "blkio:blkio.throttle.read_iops_device", "riops" },
                { "throttleWriteIOPSDevice", "blkio:blkio.throttle.write_iops_device", "wiops" },
        };
        json_t *a = NULL, *d;
        size_t i;
        int r;
        char where[96];
        int64_t maj, min, x;
        bool has;
        if ((r = json_get_arr(io, "linux.resources.blockIO", "weightDevice", &a, err)) < 0)
                return r;
        json_array_foreach(a, i, d)
        {
                snprintf(where, sizeof(where), "linux.resources.blockIO.weightDevice[%zu]", i);
                maj = min = -1;
                if ((r = json_get_int(d, where, "major", 0, UINT32_MAX, &maj, err)) < 0 ||
                    (r = json_get_int(d, where, "minor", 0, UINT32_MAX, &min, err)) < 0)
                        return r;
                if (maj < 0 || min < 0)
                        return err_set(err, -EINVAL, "%s: needs major and minor", where);
                if ((r = get_i64(d, where, "weight", &x, &has, err)) < 0)
                        return r;
                if (has && x > 0)
                        add(p, false, p->v2 ? "io.bfq.weight" : "blkio:blkio.weight_device|blkio.bfq.weight_device",
                            "%lld:%lld %lld", (long long) maj, (long long) min, (long long) x);
                if ((r = get_i64(d, where, "leafWeight", &x, &has, err)) < 0)
                        return r;
                if (has && x > 0 && p->v2)
                        return no_v2("blockIO.weightDevice.leafWeight", err);
                if (has && x > 0)
                        add(p, false, "blkio:blkio.leaf_weight_device", "%lld:%lld %lld", (long long) maj,
                            (long long) min, (long long) x);
        }
        for (size_t t = 0; t < ELEMENTSOF(thr); t++) {
                /* a missing field leaves a as it was */
                a = NULL;
                if ((r = json_get_arr(io, "linux.resources.blockIO", thr[t].key, &a, err)) < 0)
                        return r;
                json_array_foreach(a, i, d)
                {
                        snprintf(where, sizeof(where), "linux.resources.blockIO.%s[%zu]", thr[t].key, i);
                        maj = min = x = -1;
                        if ((r = json_get_int(d, where, "major", 0, UINT32_MAX, &maj, err)) < 0 ||
                            (r = json_get_int(d, where, "minor", 0, UINT32_MAX, &min, err)) < 0 ||
                            (r = json_get_int(d, where, "rate", 0, INT64_MAX, &x, err)) < 0)
                                return r;
                        if (maj < 0 || min < 0 || x < 0)
                                return err_set(err, -EINVAL, "%s: needs major, minor and rate", where);
                        /* v1: rate 0 removes the rule; v2 says "max" */
                        if (p->v2 && x == 0)
                                add(p, false, "io.max", "%lld:%lld %s=max", (long long) maj, (long long) min,
                                    thr[t].v2);
                        else if (p->v2)
                                add(p, false, "io.max", "%lld:%lld %s=%lld", (long long) maj, (long long) min,
                                    thr[t].v2, (long long) x);
                        else
                                add(p, false, thr[t].v1, "%lld:%lld %lld", (long long) maj, (long long) min,
                                    (long long) x);
                }
        }
        return 0;
}

static int plan_blkio(struct plan *p, json_t *io, struct err *err)
{
        int64_t x;
        bool has;
        int r;
        if ((r = get_i64(io, "linux.resources.blockIO", "weight", &x, &has, err)) < 0)
                return r;
        /* 0 is "unset" (dockerd sends it always) */
        if (has && x > 0 && p->v2)
                /* blkio's 10..1000 onto io.weight's 1..10000, as runc does */
                add(p, false, "io.weight", "default %lld", (long long) (x <= 10 ? 1 : 1 + (x - 10) * 9999 / 990));
        else if (has && x > 0)
                add(p, false, "blkio:blkio.weight|blkio.bfq.weight", "%lld", (long long) x);
        if ((r = get_i64(io, "linux.resources.blockIO", "leafWeight", &x, &has, err)) < 0)
                return r;
        if (has && x > 0 && p->v2)
                return no_v2("blockIO.leafWeight", err);
        if (has && x > 0)
                add(p, false, "blkio:blkio.leaf_weight", "%lld", (long long) x);
        return plan_blkio_devices(p, io, err);
}

static int plan_hugetlb(struct plan *p, json_t *a, struct err *err)
{
        size_t i;
        json_t *h;
        json_array_foreach(a, i, h)
        {
                char where[64];
                const char *size = NULL;
                uint64_t limit = 0;
                int r;
                snprintf(where, sizeof(where), "linux.resources.hugepageLimits[%zu]", i);
                if ((r = json_get_str(h, where, "pageSize", &size, err)) < 0 ||
                    (r = json_get_u64(h, where, "limit", &limit, err)) < 0)
                        return r;
                /* "2MB", "1GB": part of a file name */
                if (!size || !*size || size[strspn(size, "0123456789KMGB")])
                        return err_set(err, -EINVAL, "%s.pageSize: '%s' is not a page size like 2MB", where,
                                       size ? size : "");
                _cleanup_free_ char *f = p->v2 ? xasprintf("hugetlb.%s.max", size)
                                               : xasprintf("hugetlb:hugetlb.%s.limit_in_bytes", size);
                add(p, false, f, "%llu", (unsigned long long) limit);
        }
        return 0;
}

static int plan_network(struct plan *p, json_t *net, struct err *err)
{
        static const char w[] = "linux.resources.network";
        int64_t id = 0;
        json_t *a = NULL, *e;
        size_t i;
        int r;
        if ((r = json_get_int(net, w, "classID", 0, UINT32_MAX, &id, err)) < 0 ||
            (r = json_get_arr(net, w, "priorities", &a, err)) < 0)
                return r;
        if ((id || json_array_size(a)) && p->v2)
                return no_v2("network", err);
        if (id)
                add(p, false, "net_cls:net_cls.classid", "%lld", (long long) id);
        json_array_foreach(a, i, e)
        {
                char where[64];
                const char *name = NULL;
                int64_t prio = 0;
                snprintf(where, sizeof(where), "%s.priorities[%zu]", w, i);
                if ((r = json_get_str(e, where, "name", &name, err)) < 0 ||
                    (r = json_get_int(e, where, "priority", 0, UINT32_MAX, &prio, err)) < 0)
                        return r;
                if (!name || !*name || strpbrk(name, " \t\n/"))
                        return err_set(err, -EINVAL, "%s.name: '%s' is not an interface name", where,
                                       name ? name : "");
                add(p, false, "net_prio:net_prio.ifpriomap", "%s %lld", name, (long long) prio);
        }
        return 0;
}

static int plan_rdma(struct plan *p, json_t *rdma, struct err *err)
{
        const char *dev;
        json_t *l;
        json_object_foreach(rdma, dev, l)
        {
                char where[128], val[64] = "";
                int64_t handles = -1, objects = -1;
                int r;
                snprintf(where, sizeof(where), "linux.resources.rdma.%s", dev);
                if (!json_is_object(l) || !*dev || strpbrk(dev, " \t\n"))
                        return err_set(err, -EINVAL, "%s: invalid", where);
                if ((r = json_get_int(l, where, "hcaHandles", 0, UINT32_MAX, &handles, err)) < 0 ||
                    (r = json_get_int(l, where, "hcaObjects", 0, UINT32_MAX, &objects, err)) < 0)
                        return r;
                if (handles >= 0)
                        snprintf(val, sizeof(val), " hca_handle=%lld", (long long) handles);
                if (objects >= 0)
                        snprintf(val + strlen(val), sizeof(val) - strlen(val), " hca_object=%lld",
                                 (long long) objects);
                if (*val)
                        add(p, false, p->v2 ? "rdma.max" : "rdma:rdma.max", "%s%s", dev, val);
        }
        return 0;
}

static int plan_unified(struct plan *p, json_t *unified, struct err *err)
{
        const char *k;
        json_t *val;
        json_object_foreach(unified, k, val)
        {
                if (!json_is_string(val) || !*k || strchr(k, '/') || k[0] == '.')
                        return err_set(err, -EINVAL, "linux.resources.unified.%s: invalid", k);
                /* v1 hosts: the v2 hierarchy of a hybrid one, when it has the file */
                _cleanup_free_ char *f = p->v2 ? xstrdup(k) : xasprintf("unified:%s", k);
                add(p, false, f, "%s", json_string_value(val));
        }
        return 0;
}

int cgroup_plan_writes(json_t *res, bool v2, char ***ret, struct err *err)
{
        struct plan p = { .v2 = v2 };
        json_t *mem = NULL, *pids = NULL, *cpu = NULL, *io = NULL, *huge = NULL, *net = NULL, *rdma = NULL,
               *unified = NULL;
        int64_t x;
        bool has;
        int r;

        *ret = NULL;
        if (!res)
                return 0;
        if ((r = json_get_obj(res, "linux.resources", "memory", &mem, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "pids", &pids, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "cpu", &cpu, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "blockIO", &io, err)) < 0 ||
            (r = json_get_arr(res, "linux.resources", "hugepageLimits", &huge, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "network", &net, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "rdma", &rdma, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "unified", &unified, err)) < 0)
                return r;
        if (mem && (r = plan_memory(&p, mem, err)) < 0)
                goto fail;
        if (pids) {
                if ((r = get_i64(pids, "linux.resources.pids", "limit", &x, &has, err)) < 0)
                        goto fail;
                if (has)
                        add(&p, x <= 0, v2 ? "pids.max" : "pids:pids.max", x <= 0 ? "max" : "%lld", (long long) x);
        }
        if ((cpu && (r = plan_cpu(&p, cpu, err)) < 0) || (io && (r = plan_blkio(&p, io, err)) < 0) ||
            (huge && (r = plan_hugetlb(&p, huge, err)) < 0) || (net && (r = plan_network(&p, net, err)) < 0) ||
            (rdma && (r = plan_rdma(&p, rdma, err)) < 0) || (unified && (r = plan_unified(&p, unified, err)) < 0))
                goto fail;
        *ret = p.v;
        return 0;
fail:
        strv_freep(&p.v);
        return r;
}

/* The v1 controllers a plan writes to beyond those every container joins. */
char **cgroup_plan_extra_controllers(char *const *plan, const char *const *joined, size_t n_joined)
{
        char **v = NULL;
        size_t n = 0;
        for (size_t i = 0; plan && plan[i]; i++) {
                const char *f = plan[i] + (plan[i][0] == '?'), *colon = strchr(f, ':'), *tab = strchr(f, '\t');
                if (!colon || colon > tab)
                        continue;
                _cleanup_free_ char *ctl = xasprintf("%.*s", (int) (colon - f), f);
                bool known = strcmp(ctl, "unified") == 0;
                for (size_t j = 0; j < n_joined && !known; j++)
                        known = strcmp(joined[j], ctl) == 0;
                for (size_t j = 0; j < n && !known; j++)
                        known = strcmp(v[j], ctl) == 0;
                if (known)
                        continue;
                v = xrealloc(v, (n + 2) * sizeof(char *));
                v[n++] = TAKE_PTR(ctl);
                v[n] = NULL;
        }
        return v;
}

int cgroup_parse_bytes(const char *s, int64_t *ret)
{
        /* runc's update flags go through go-units' RAMInBytes: "-1",
         * "1.5g", "64 MiB", "100kb"; units are binary, case does not matter */
        static const char units[] = "kmgtp";
        char *end;
        if (strcmp(s, "-1") == 0) {
                *ret = -1;
                return 0;
        }
        if (!(*s >= '0' && *s <= '9'))
                return -EINVAL;
        errno = 0;
        long double v = strtold(s, &end);
        if (errno || end == s)
                return -EINVAL;
        if (*end == ' ')
                end++;
        const char *u = *end ? strchr(units, *end | 0x20) : NULL;
        if (u)
                for (end++, v *= 1024; u > units; u--)
                        v *= 1024;
        if ((*end | 0x20) == 'i' && u)
                end++;
        if ((*end | 0x20) == 'b')
                end++;
        if (*end || v >= (long double) INT64_MAX)
                return -EINVAL;
        *ret = (int64_t) v;
        return 0;
}

void cgroup_resources_merge(json_t *into, json_t *from)
{
        const char *k;
        json_t *v;
        json_object_foreach(from, k, v)
        {
                json_t *old = json_object_get(into, k);
                if (json_is_object(old) && json_is_object(v))
                        json_object_update(old, v);
                else
                        json_object_set(into, k, v);
        }
}

json_t *cgroup_resources_for_update(json_t *recorded, json_t *update, json_t **ret_merged)
{
        json_t *merged = recorded ? json_deep_copy(recorded) : json_object();
        json_t *apply = json_deep_copy(update);
        cgroup_resources_merge(merged, update);
        json_t *mem = json_object_get(apply, "memory");
        json_t *limit = json_object_get(json_object_get(recorded, "memory"), "limit");
        if (json_is_object(mem) && json_object_get(mem, "swap") && !json_object_get(mem, "limit") && limit)
                json_object_set(mem, "limit", limit);
        *ret_merged = merged;
        return apply;
}
