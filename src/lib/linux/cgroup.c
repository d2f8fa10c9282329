/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "cgroup.h"

#define CGROUP2_SUPER_MAGIC 0x63677270
#define TMPFS_MAGIC 0x01021994

/* v1 controllers a container joins; cpuset is left out: a new cpuset cgroup
 * is unusable until cpus and mems are copied into it */
static const char *const v1_controllers[] = { "memory", "pids", "cpu", "cpuacct", "blkio", "freezer", "devices",
                                              "systemd" };

enum cgroup_mode cgroup_detect(void)
{
        struct statfs fs;
        if (statfs("/sys/fs/cgroup", &fs) < 0)
                return CGROUP_NONE;
        if (fs.f_type == CGROUP2_SUPER_MAGIC)
                return CGROUP_UNIFIED;
        if (fs.f_type != TMPFS_MAGIC)
                return CGROUP_NONE;
        if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return CGROUP_HYBRID;
        return CGROUP_LEGACY;
}

const char *cgroup_mode_name(enum cgroup_mode m)
{
        static const char *n[] = { "unified (v2)", "hybrid (v1 controllers)", "legacy (v1)", "none" };
        return n[m];
}

static void add_writev(char ***v, size_t *n, bool optional, const char *file, const char *fmt, va_list ap)
{
        char val[256];
        vsnprintf(val, sizeof(val), fmt, ap);
        *v = xrealloc(*v, (*n + 2) * sizeof(char *));
        (*v)[(*n)++] = xasprintf("%s%s\t%s", optional ? "?" : "", file, val);
        (*v)[*n] = NULL;
}

static void add_write(char ***v, size_t *n, const char *file, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void add_write(char ***v, size_t *n, const char *file, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        add_writev(v, n, false, file, fmt, ap);
        va_end(ap);
}

/* A write of a default ("unlimited") value is marked optional with a leading
 * '?': a kernel without the file (no swap accounting, no CFS bandwidth)
 * already has that value, so a missing file is no error there. */
static void add_opt_write(char ***v, size_t *n, bool optional, const char *file, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static void add_opt_write(char ***v, size_t *n, bool optional, const char *file, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        add_writev(v, n, optional, file, fmt, ap);
        va_end(ap);
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

int cgroup_plan_writes(json_t *res, bool v2, char ***ret, struct err *err)
{
        char **v = NULL;
        size_t n = 0;
        json_t *mem = NULL, *pids = NULL, *cpu = NULL, *io = NULL, *unified = NULL;
        int r;
        bool has;
        int64_t x;

        if (!res) {
                *ret = NULL;
                return 0;
        }
        if ((r = json_get_obj(res, "linux.resources", "memory", &mem, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "pids", &pids, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "cpu", &cpu, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "blockIO", &io, err)) < 0 ||
            (r = json_get_obj(res, "linux.resources", "unified", &unified, err)) < 0)
                return r;
        if (mem) {
                int64_t limit = 0;
                bool has_limit;
                if ((r = get_i64(mem, "linux.resources.memory", "limit", &limit, &has_limit, err)) < 0)
                        goto fail;
                if (has_limit)
                        add_opt_write(&v, &n, limit < 0, v2 ? "memory.max" : "memory:memory.limit_in_bytes",
                                      limit < 0 ? (v2 ? "max" : "-1") : "%lld", (long long) limit);
                if ((r = get_i64(mem, "linux.resources.memory", "reservation", &x, &has, err)) < 0)
                        goto fail;
                if (has && x != 0)
                        add_opt_write(&v, &n, x < 0, v2 ? "memory.low" : "memory:memory.soft_limit_in_bytes",
                                      x < 0 ? (v2 ? "0" : "-1") : "%lld", (long long) x);
                if ((r = get_i64(mem, "linux.resources.memory", "swap", &x, &has, err)) < 0)
                        goto fail;
                if (has) {
                        /* OCI swap is memory+swap; v2's swap.max is swap alone */
                        /* without swap accounting there is no file: fine for "unlimited" */
                        if (v2)
                                add_opt_write(&v, &n, x < 0, "memory.swap.max", x < 0 ? "max" : "%lld",
                                              (long long) (has_limit && limit > 0 && x >= limit ? x - limit : x));
                        else
                                add_opt_write(&v, &n, x < 0, "memory:memory.memsw.limit_in_bytes", "%lld",
                                              (long long) x);
                }
        }
        if (pids) {
                if ((r = get_i64(pids, "linux.resources.pids", "limit", &x, &has, err)) < 0)
                        goto fail;
                if (has)
                        add_opt_write(&v, &n, x <= 0, v2 ? "pids.max" : "pids:pids.max", x <= 0 ? "max" : "%lld",
                                      (long long) x);
        }
        if (cpu) {
                int64_t quota = 0, period = 0, shares = 0;
                bool hq, hp, hs;
                if ((r = get_i64(cpu, "linux.resources.cpu", "quota", &quota, &hq, err)) < 0 ||
                    (r = get_i64(cpu, "linux.resources.cpu", "period", &period, &hp, err)) < 0 ||
                    (r = get_i64(cpu, "linux.resources.cpu", "shares", &shares, &hs, err)) < 0)
                        goto fail;
                /* 0 is "unset" for each, as with runc: dockerd sends zeros */
                hq = hq && quota != 0;
                hp = hp && period > 0;
                if (hs && shares > 0) {
                        if (v2)
                                add_write(&v, &n, "cpu.weight", "%lld",
                                          (long long) (1 + ((shares - 2) * 9999) / 262142));
                        else
                                add_write(&v, &n, "cpu:cpu.shares", "%lld", (long long) shares);
                }
                if (v2 && (hq || hp)) {
                        if (hq && quota > 0)
                                add_write(&v, &n, "cpu.max", "%lld %lld", (long long) quota,
                                          (long long) (hp ? period : 100000));
                        else
                                add_opt_write(&v, &n, true, "cpu.max", "max %lld", (long long) (hp ? period : 100000));
                } else if (!v2) {
                        /* a kernel without CONFIG_CFS_BANDWIDTH has neither file */
                        if (hp)
                                add_opt_write(&v, &n, !hq || quota < 0, "cpu:cpu.cfs_period_us", "%lld",
                                              (long long) period);
                        if (hq)
                                add_opt_write(&v, &n, quota < 0, "cpu:cpu.cfs_quota_us", "%lld", (long long) quota);
                }
        }
        if (io) {
                if ((r = get_i64(io, "linux.resources.blockIO", "weight", &x, &has, err)) < 0)
                        goto fail;
                /* 0 is "unset" (dockerd sends it always); hosts without CFQ/BFQ
                 * have no blkio.weight at all */
                if (has && x > 0 && v2)
                        /* blkio's 10..1000 onto io.weight's 1..10000, as runc does */
                        add_write(&v, &n, "io.weight", "default %lld",
                                  (long long) (x <= 10 ? 1 : 1 + (x - 10) * 9999 / 990));
                else if (has && x > 0)
                        add_write(&v, &n, "blkio:blkio.weight", "%lld", (long long) x);
        }
        if (unified) {
                const char *k;
                json_t *val;
                if (!v2) {
                        r = err_set(err, -EOPNOTSUPP, "linux.resources.unified: needs cgroup v2");
                        goto fail;
                }
                json_object_foreach(unified, k, val)
                {
                        if (!json_is_string(val) || strchr(k, '/') || k[0] == '.') {
                                r = err_set(err, -EINVAL, "linux.resources.unified.%s: invalid", k);
                                goto fail;
                        }
                        add_write(&v, &n, k, "%s", json_string_value(val));
                }
        }
        *ret = v;
        return 0;
fail:
        strv_freep(&v);
        return r;
}

static int write_one(const char *dir, const char *file, const char *value, struct err *err)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        int r = fs_write_file(p, value, strlen(value));
        if (r < 0)
                return err_sys(err, r, "cgroup: cannot write '%s' to %s", value, p);
        return 0;
}

char *cgroup_dir(const struct cgroup *cg, const char *controller)
{
        if (!cg->paths)
                return NULL;
        char *save = NULL;
        _cleanup_free_ char *copy = xstrdup(cg->paths);
        for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
                if (cg->v2)
                        return xstrdup(d);
                if (!controller)
                        return NULL;
                char pref[64];
                snprintf(pref, sizeof(pref), "/sys/fs/cgroup/%s/", controller);
                if (strncmp(d, pref, strlen(pref)) == 0)
                        return xstrdup(d);
        }
        return NULL;
}

int cgroup_update(const struct cgroup *cg, json_t *resources, struct err *err)
{
        _cleanup_strv_free_ char **w = NULL;
        int r = cgroup_plan_writes(resources, cg->v2, &w, err);
        if (r < 0)
                return r;
        for (size_t i = 0; w && w[i]; i++) {
                char *tab = strchr(w[i], '\t');
                *tab = '\0';
                bool optional = w[i][0] == '?';
                char *file = w[i] + optional, *ctl = NULL;
                char *colon = strchr(file, ':');
                if (colon) {
                        *colon = '\0';
                        ctl = file;
                        file = colon + 1;
                }
                _cleanup_free_ char *dir = cgroup_dir(cg, ctl ? ctl : "");
                if (optional && !dir)
                        continue;
                if (!dir)
                        return err_set(err, -EOPNOTSUPP, "cgroup: controller '%s' is not available", ctl);
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
                r = fs_write_file(p, tab + 1, strlen(tab + 1));
                if (r == -ENOENT && optional)
                        log_debug("cgroup: no %s, '%s' left as it is", p, tab + 1);
                else if (r < 0)
                        return err_sys(err, r, "cgroup: cannot write '%s' to %s", tab + 1, p);
        }
        return 0;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *err)
{
        char *save = NULL, val[16];
        if (!cg->paths)
                return 0;
        snprintf(val, sizeof(val), "%d", pid);
        _cleanup_free_ char *copy = xstrdup(cg->paths);
        for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
                int r = write_one(d, "cgroup.procs", val, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The v2 directory of a cgroup: its one path on v2, the unified one on hybrid. */
static char *v2_dir(const struct cgroup *cg)
{
        char *save = NULL;
        _cleanup_free_ char *copy = xstrdup(cg->paths);
        for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save))
                if (cg->v2 || strncmp(d, "/sys/fs/cgroup/unified/", 23) == 0)
                        return xstrdup(d);
        return NULL;
}

/* Moving a process between cgroups takes the kernel's cgroup_threadgroup_rwsem
 * for writing, which waits for an RCU grace period: 8 to 25 ms on a busy
 * 2-core host, more than the rest of a container's start.  A single thread
 * moving itself through a v1 "tasks" file skips that lock, and a process
 * cloned with CLONE_INTO_CGROUP is never moved at all.  The "tasks" files are
 * opened by the runtime: since Linux 5.16 the kernel checks a migration
 * against the opener's credentials, so the child may already be in a user
 * namespace that cannot open them. */
int cgroup_open_v1_tasks(const struct cgroup *cg, int *fds, size_t max, size_t *ret_n, struct err *err)
{
        char *save = NULL;
        size_t n = 0;
        *ret_n = 0;
        if (!cg->paths || cg->v2)
                return 0;
        _cleanup_free_ char *copy = xstrdup(cg->paths);
        for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
                if (strncmp(d, "/sys/fs/cgroup/unified/", 23) == 0 || n == max)
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/tasks", d);
                fds[n] = open(p, O_WRONLY | O_CLOEXEC);
                if (fds[n] < 0) {
                        int r = err_sys(err, -errno, "cgroup: cannot open %s", p);
                        while (n > 0)
                                close(fds[--n]);
                        return r;
                }
                n++;
        }
        *ret_n = n;
        return 0;
}

int cgroup_enter_self_v1(const int *fds, size_t n, struct err *err)
{
        for (size_t i = 0; i < n; i++)
                if (write(fds[i], "0", 1) != 1)
                        return err_sys(err, -errno, "cgroup: cannot join the container's v1 cgroup");
        return 0;
}

int cgroup_open_v2(const struct cgroup *cg)
{
        if (!cg->paths)
                return -1;
        _cleanup_free_ char *d = v2_dir(cg);
        return d ? open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

int cgroup_enter_v2(const struct cgroup *cg, pid_t pid, struct err *err)
{
        char val[16];
        if (!cg->paths)
                return 0;
        _cleanup_free_ char *d = v2_dir(cg);
        snprintf(val, sizeof(val), "%d", pid);
        return d ? write_one(d, "cgroup.procs", val, err) : 0;
}

static int own_cgroup(const char *controller, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        int r = fs_read_file("/proc/self/cgroup", 1 << 16, &buf, NULL);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                const char *ctls = c1 + 1;
                bool match = controller ? false : *ctls == '\0';
                if (controller) {
                        _cleanup_free_ char *cs = xstrdup(ctls);
                        char *s2 = NULL;
                        for (char *c = strtok_r(cs, ",", &s2); c; c = strtok_r(NULL, ",", &s2))
                                match |= strcmp(c, controller) == 0 ||
                                         (strncmp(c, "name=", 5) == 0 && strcmp(c + 5, controller) == 0);
                }
                if (match) {
                        *ret = xstrdup(c2 + 1);
                        return 0;
                }
        }
        return -ENOENT;
}

/* Make one cgroup directory under the hierarchy at base (ctl: its v1
 * controller, NULL for a v2 one) and add it to cg->paths. */
static int make_dir(struct cgroup *cg, size_t *len, const char *base, const char *ctl, const char *rel,
                    struct err *err)
{
        _cleanup_free_ char *mine = NULL;
        /* a relative cgroupsPath is relative to the runtime's own cgroup */
        if (rel[0] != '/')
                own_cgroup(ctl, &mine);
        _cleanup_free_ char *dir = xasprintf("%s%s%s%s", base, mine && strcmp(mine, "/") ? mine : "",
                                             rel[0] == '/' ? "" : "/", rel);
        /* the parent is usually there: one mkdir, not one per path component */
        int r = mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : errno == ENOENT ? fs_mkdir_p(dir, 0755) : -errno;
        if (r < 0)
                return err_sys(err, r, "cannot create cgroup %s", dir);
        size_t l = strlen(dir);
        cg->paths = xrealloc(cg->paths, *len + l + 2);
        if (*len)
                cg->paths[*len - 1] = '\n';
        memcpy(cg->paths + *len, dir, l + 1);
        *len += l + 1;
        return 0;
}

/* Turn on in dir's cgroup.subtree_control every controller it has that is not
 * on yet; one by one when all at once fails (a cgroup holding processes takes
 * none but the threaded ones, a delegation may withhold some). */
static void enable_in(const char *dir)
{
        _cleanup_free_ char *cp = xasprintf("%s/cgroup.controllers", dir);
        _cleanup_free_ char *sp = xasprintf("%s/cgroup.subtree_control", dir);
        _cleanup_free_ char *avail = NULL, *on = NULL, *want = NULL;
        char *save = NULL;
        size_t n = 0;
        if (fs_read_file(cp, 4096, &avail, NULL) < 0 || fs_read_file(sp, 4096, &on, NULL) < 0)
                return;
        _cleanup_free_ char *on_list = xasprintf(" %s ", on);
        for (char *c = on_list; *c; c++)
                if (*c == '\n')
                        *c = ' ';
        want = xcalloc(1, strlen(avail) * 2 + 2);
        for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
                _cleanup_free_ char *key = xasprintf(" %s ", c);
                if (!strstr(on_list, key))
                        n += (size_t) sprintf(want + n, "%s+%s", n ? " " : "", c);
        }
        if (!n || fs_write_file(sp, want, n) == 0)
                return;
        save = NULL;
        for (char *c = strtok_r(want, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
                int r = fs_write_file(sp, c, strlen(c));
                if (r < 0)
                        log_debug("cgroup: cannot enable %s in %s: %s", c + 1, dir, strerror(-r));
        }
}

/* cgroup v2 gives a cgroup only the controllers its parent lists in
 * cgroup.subtree_control: enable them on every level above the container's,
 * as crun does.  What stays off shows as a missing file when a limit is
 * written. */
void cgroup_v2_enable_controllers(const char *top, const char *dir)
{
        _cleanup_free_ char *p = xstrdup(dir);
        if (strncmp(dir, top, strlen(top)) != 0)
                return;
        for (char *c = p + strlen(top); (c = strchr(c, '/')); c++) {
                *c = '\0';
                enable_in(p);
                *c = '/';
        }
}

/* linux.resources.devices: the v1 controller's lists, and the eBPF program on
 * the v2 cgroup (on hybrid hosts both: the kernel runs a v2 cgroup's device
 * program whatever the v1 controller says, and both must allow). */
static int apply_devices(const struct cgroup *cg, json_t *resources, struct err *err)
{
        _cleanup_free_ struct cgroup_dev_rule *rules = NULL;
        size_t n;
        int r = cgroup_devices_rules(resources, &rules, &n, err);
        if (r < 0 || n == 0)
                return r;
        _cleanup_free_ char *v1 = cg->v2 ? NULL : cgroup_dir(cg, "devices");
        _cleanup_free_ char *v2 = v2_dir(cg);
        if (!v1 && !v2)
                return err_set(err, -EOPNOTSUPP, "linux.resources.devices: no devices cgroup controller");
        if (v1) {
                _cleanup_strv_free_ char **w = cgroup_devices_plan_v1(rules, n);
                for (size_t i = 0; w[i]; i++) {
                        char *tab = strchr(w[i], '\t');
                        *tab = '\0';
                        if ((r = write_one(v1, w[i], tab + 1, err)) < 0)
                                return r;
                }
        }
        if (v2) {
                struct err e = { 0 };
                r = cgroup_devices_attach_bpf(v2, rules, n, &e);
                /* on hybrid hosts the v1 controller has the policy already */
                if (r < 0 && v1)
                        log_debug("%s", e.msg);
                else if (r < 0)
                        return err_set(err, r, "%s", e.msg);
        }
        return 0;
}

int cgroup_create(const char *cgroups_path, const char *id, json_t *resources, bool rootless, struct cgroup *ret,
                  struct err *err)
{
        enum cgroup_mode mode = cgroup_detect();
        struct cgroup cg = { .v2 = mode == CGROUP_UNIFIED };
        size_t len = 0;
        int r = 0;
        struct err e = { 0 };

        memset(ret, 0, sizeof(*ret));
        /* crun's default, /<id> at the top of each hierarchy; rootless only a
         * cgroup delegated to the user can hold it, so under its own */
        _cleanup_free_ char *rel = cgroups_path ? xstrdup(cgroups_path) : rootless ? xstrdup(id) : xasprintf("/%s", id);
        if (strstr(rel, ".."))
                return err_set(err, -EINVAL, "linux.cgroupsPath: '%s' must not contain '..'", rel);
        if (mode == CGROUP_NONE) {
                r = err_set(&e, -ENOENT, "no cgroup filesystem at /sys/fs/cgroup");
                goto unavailable;
        }
        for (size_t i = 0; i < (cg.v2 ? 1 : ELEMENTSOF(v1_controllers)); i++) {
                const char *ctl = cg.v2 ? NULL : v1_controllers[i];
                _cleanup_free_ char *base = ctl ? xasprintf("/sys/fs/cgroup/%s", ctl) : xstrdup("/sys/fs/cgroup");
                if (ctl && access(base, F_OK) < 0)
                        continue;
                if ((r = make_dir(&cg, &len, base, ctl, rel, &e)) < 0)
                        goto fail;
                if (cg.v2)
                        cgroup_v2_enable_controllers("/sys/fs/cgroup", cg.paths);
        }
        if (!cg.paths) {
                r = err_set(&e, -ENOENT, "no cgroup controller found");
                goto unavailable;
        }
        /* hybrid: the v2 hierarchy too (crun joins it), for the device program
         * and so that /proc/self/cgroup reads "0::/" inside */
        if (mode == CGROUP_HYBRID && !rootless) {
                struct err ue = { 0 };
                if (make_dir(&cg, &len, "/sys/fs/cgroup/unified", NULL, rel, &ue) < 0)
                        log_debug("%s", ue.msg);
        }
        if ((r = cgroup_update(&cg, resources, &e)) < 0)
                goto fail;
        if (rootless) {
                /* tried in a delegated cgroup, but no error: the container can
                 * open no node its user cannot, and a user may not load BPF */
                struct err de = { 0 };
                if (apply_devices(&cg, resources, &de) < 0)
                        log_debug("linux.resources.devices not applied rootless: %s", de.msg);
        } else if ((r = apply_devices(&cg, resources, &e)) < 0)
                goto fail;
        *ret = cg;
        return 0;
fail:
        cgroup_destroy(&cg);
unavailable:
        free(cg.paths);
        if (!rootless)
                return err_set(err, r, "%s", e.msg);
        /* rootless without a delegated cgroup is the common case: only say so
         * when resources were asked for */
        if (resources && json_object_size(resources) > 0) {
                _cleanup_strv_free_ char **w = NULL;
                struct err e2 = { 0 };
                if (cgroup_plan_writes(resources, mode == CGROUP_UNIFIED, &w, &e2) == 0 && w)
                        log_warn("linux.resources ignored: %s (cgroups %s)", e.msg, cgroup_mode_name(mode));
        }
        return 0;
}

char **cgroup_mount_sources(const char *proc_self_cgroup, enum cgroup_mode mode)
{
        char **v = NULL;
        size_t n = 0;
        char *save = NULL;
        _cleanup_free_ char *buf = xstrdup(proc_self_cgroup);
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2 || c2[1] != '/')
                        continue;
                *c2 = '\0';
                const char *ctls = c1 + 1, *path = strcmp(c2 + 1, "/") ? c2 + 1 : "";
                if (!*ctls) {
                        if (mode == CGROUP_UNIFIED || mode == CGROUP_HYBRID) {
                                v = xrealloc(v, (n + 2) * sizeof(char *));
                                v[n++] = mode == CGROUP_UNIFIED ? xasprintf("\t/sys/fs/cgroup%s", path)
                                                                : xasprintf("unified\t/sys/fs/cgroup/unified%s", path);
                                v[n] = NULL;
                        }
                        continue;
                }
                if (mode == CGROUP_UNIFIED)
                        continue;
                /* only the controllers a container joins: the others would
                 * show the runtime's cgroup, often the host's whole tree */
                for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
                        _cleanup_free_ char *list = xasprintf(",%s,", ctls);
                        bool named = strcmp(v1_controllers[i], "systemd") == 0;
                        _cleanup_free_ char *want = xasprintf(",%s%s,", named ? "name=" : "", v1_controllers[i]);
                        if (!strstr(list, want))
                                continue;
                        v = xrealloc(v, (n + 2) * sizeof(char *));
                        v[n++] = xasprintf("%s\t/sys/fs/cgroup/%s%s", v1_controllers[i], v1_controllers[i], path);
                        v[n] = NULL;
                }
        }
        return v;
}

int cgroup_freeze(const struct cgroup *cg, bool freeze, struct err *err)
{
        if (!cg->paths)
                return err_set(err, -EOPNOTSUPP,
                               "the container has no cgroup of its own (rootless without a delegated cgroup): pause and resume need the freezer");
        _cleanup_free_ char *d = cgroup_dir(cg, "freezer");
        if (!d)
                return err_set(err, -EOPNOTSUPP, "no freezer cgroup controller");
        if (cg->v2)
                return write_one(d, "cgroup.freeze", freeze ? "1" : "0", err);
        int r = write_one(d, "freezer.state", freeze ? "FROZEN" : "THAWED", err);
        if (r < 0)
                return r;
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *p = xasprintf("%s/freezer.state", d), *s = NULL;
                if (fs_read_file(p, 64, &s, NULL) < 0)
                        break;
                if (strncmp(s, freeze ? "FROZEN" : "THAWED", 6) == 0)
                        break;
                usleep(1000);
        }
        return 0;
}

bool cgroup_frozen(const struct cgroup *cg)
{
        if (!cg->paths)
                return false;
        _cleanup_free_ char *d = cgroup_dir(cg, "freezer");
        if (!d)
                return false;
        _cleanup_free_ char *p = xasprintf("%s/%s", d, cg->v2 ? "cgroup.freeze" : "freezer.state"), *s = NULL;
        if (fs_read_file(p, 64, &s, NULL) < 0)
                return false;
        return cg->v2 ? s[0] == '1' : strncmp(s, "FROZEN", 6) == 0;
}

int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n)
{
        if (!cg->paths)
                return -ENOENT;
        _cleanup_free_ char *d = cg->v2 ? xstrdup(cg->paths) : cgroup_dir(cg, "pids");
        if (!d)
                d = cgroup_dir(cg, "memory");
        if (!d)
                return -ENOENT;
        if (strchr(d, '\n'))
                *strchr(d, '\n') = '\0';
        _cleanup_free_ char *p = xasprintf("%s/cgroup.procs", d), *buf = NULL;
        int r = fs_read_file(p, 1 << 22, &buf, NULL);
        if (r < 0)
                return r;
        pid_t *v = NULL;
        size_t n = 0;
        char *save = NULL;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                v = xrealloc(v, (n + 1) * sizeof(pid_t));
                v[n++] = (pid_t) atoi(l);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int cgroup_destroy(const struct cgroup *cg)
{
        if (!cg->paths)
                return 0;
        char *save = NULL;
        _cleanup_free_ char *copy = xstrdup(cg->paths);
        for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
                /* a cgroup goes away once empty; give exiting tasks a moment */
                for (int i = 0; i < 100 && rmdir(d) < 0 && errno == EBUSY; i++)
                        usleep(1000);
        }
        return 0;
}
