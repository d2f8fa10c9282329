/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
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

/* One planned write (see cgroup_plan.c for the format). */
static int apply_one(const struct cgroup *cg, const char *entry, struct err *err)
{
        _cleanup_free_ char *w = xstrdup(entry);
        char *tab = strchr(w, '\t');
        *tab = '\0';
        const char *val = tab + 1;
        bool optional = w[0] == '?';
        char *file = w + optional, *ctl = NULL, *alt = NULL, *colon = strchr(file, ':');
        if (colon) {
                *colon = '\0';
                ctl = file;
                file = colon + 1;
        }
        if ((alt = strchr(file, '|')))
                *alt++ = '\0';
        bool unified = ctl && strcmp(ctl, "unified") == 0;
        _cleanup_free_ char *dir = cgroup_dir(cg, ctl ? ctl : "");
        if (!dir && optional)
                return 0;
        if (!dir && unified)
                return err_set(err, -EOPNOTSUPP,
                               "linux.resources.unified.%s: needs cgroup v2; this host's cgroups are %s", file,
                               cgroup_mode_name(cgroup_detect()));
        if (!dir)
                return err_set(err, -EOPNOTSUPP, "cgroup: controller '%s' is not available", ctl);
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        int r = fs_write_file(p, val, strlen(val));
        if (r == -ENOENT && alt) {
                free(p);
                p = xasprintf("%s/%s", dir, alt);
                r = fs_write_file(p, val, strlen(val));
        }
        if (r == -ENOENT && optional)
                log_debug("cgroup: no %s, '%s' left as it is", p, val);
        else if (r == -ENOENT && unified)
                return err_set(err, r, "linux.resources.unified.%s: the container's v2 cgroup %s has no such file (%s)",
                               file, dir, cgroup_mode_name(cgroup_detect()));
        else if (r < 0)
                return err_sys(err, r, "cgroup: cannot write '%s' to %s", val, p);
        return 0;
}

/* Writes the kernel refuses with EINVAL for their order (a memory limit above
 * the old memory+swap one, a real-time runtime beyond the old period, a quota
 * with the old period) are tried again once the others are in, as runc orders
 * them by reading the current values. */
static int apply_plan(const struct cgroup *cg, char *const *w, struct err *err)
{
        _cleanup_free_ size_t *again = NULL;
        size_t n = 0;
        for (size_t i = 0; w && w[i]; i++) {
                struct err e = { 0 };
                int r = apply_one(cg, w[i], &e);
                if (r == -EINVAL) {
                        again = xrealloc(again, (n + 1) * sizeof(size_t));
                        again[n++] = i;
                } else if (r < 0)
                        return err_set(err, r, "%s", e.msg);
        }
        for (size_t i = 0; i < n; i++) {
                int r = apply_one(cg, w[again[i]], err);
                if (r < 0)
                        return r;
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

/* A new v1 cpuset cgroup has empty cpus and mems, and takes no task until
 * they are set: copy them down from the hierarchy's root, level by level
 * (fs_mkdir_p may have made the levels above too). */
static int cpuset_init_v1(const struct cgroup *cg, struct err *err)
{
        static const char top[] = "/sys/fs/cgroup/cpuset";
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        _cleanup_free_ char *dir = cgroup_dir(cg, "cpuset");
        if (!dir)
                return 0;
        if (strncmp(dir, top, strlen(top)) != 0)
                return 0;
        /* c: the '/' starting each level below the hierarchy's root */
        for (char *c = dir + strlen(top), *next; c && *c; c = next) {
                if ((next = strchr(c + 1, '/')))
                        *next = '\0';
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", dir, files[i]), *cur = NULL, *up = NULL;
                        *c = '\0';
                        _cleanup_free_ char *pp = xasprintf("%s/%s", dir, files[i]);
                        *c = '/';
                        if (fs_read_file(p, 4096, &cur, NULL) < 0 || (cur[0] != '\n' && cur[0] != '\0'))
                                continue;
                        int r = fs_read_file(pp, 4096, &up, NULL);
                        if (r >= 0)
                                r = fs_write_file(p, up, strlen(up));
                        if (r < 0)
                                return err_sys(err, r, "cgroup: cannot copy %s into %s", pp, p);
                }
                if (next)
                        *next = '/';
        }
        return 0;
}

int cgroup_create(const char *cgroups_path, const char *id, json_t *resources, bool rootless, struct cgroup *ret,
                  struct err *err)
{
        enum cgroup_mode mode = cgroup_detect();
        struct cgroup cg = { .v2 = mode == CGROUP_UNIFIED };
        size_t len = 0, n_extra;
        int r = 0;
        struct err e = { 0 };
        _cleanup_strv_free_ char **plan = NULL, **extra = NULL;

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
        if ((r = cgroup_plan_writes(resources, cg.v2, &plan, &e)) < 0)
                goto fail;
        /* cpuset, hugetlb, net_cls, ... only when the config sets them */
        extra = cg.v2 ? NULL : cgroup_plan_extra_controllers(plan, v1_controllers, ELEMENTSOF(v1_controllers));
        n_extra = strv_length(extra);
        for (size_t i = 0; i < (cg.v2 ? 1 : ELEMENTSOF(v1_controllers) + n_extra); i++) {
                const char *ctl = cg.v2                             ? NULL
                                  : i < ELEMENTSOF(v1_controllers) ? v1_controllers[i]
                                                                    : extra[i - ELEMENTSOF(v1_controllers)];
                _cleanup_free_ char *base = ctl ? xasprintf("/sys/fs/cgroup/%s", ctl) : xstrdup("/sys/fs/cgroup");
                if (ctl && access(base, F_OK) < 0) {
                        if (i < ELEMENTSOF(v1_controllers))
                                continue;
                        r = err_set(&e, -EOPNOTSUPP, "cgroup: controller '%s' is not mounted (no %s)", ctl, base);
                        goto fail;
                }
                if ((r = make_dir(&cg, &len, base, ctl, rel, &e)) < 0)
                        goto fail;
                if (cg.v2)
                        cgroup_v2_enable_controllers("/sys/fs/cgroup", cg.paths);
                if (ctl && strcmp(ctl, "cpuset") == 0 && (r = cpuset_init_v1(&cg, &e)) < 0)
                        goto fail;
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
        if ((r = apply_plan(&cg, plan, &e)) < 0)
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

/* Move the container's processes into the v1 directory dir, until a pass
 * finds none left behind (a process may fork meanwhile). */
static int move_procs_v1(const struct cgroup *cg, const char *dir, struct err *err)
{
        _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
        for (int pass = 0; pass < 10; pass++) {
                _cleanup_free_ pid_t *pids = NULL;
                _cleanup_free_ char *there = NULL;
                size_t n = 0, moved = 0;
                if (cgroup_pids(cg, &pids, &n) < 0 || fs_read_file(procs, 1 << 22, &there, NULL) < 0)
                        return err_set(err, -EIO, "cgroup: cannot list the container's processes");
                _cleanup_free_ char *list = xasprintf("\n%s", there);
                for (size_t i = 0; i < n; i++) {
                        char key[24], val[16];
                        snprintf(key, sizeof(key), "\n%d\n", pids[i]);
                        snprintf(val, sizeof(val), "%d", pids[i]);
                        if (strstr(list, key))
                                continue;
                        int r = fs_write_file(procs, val, strlen(val));
                        /* ESRCH: it exited meanwhile */
                        if (r < 0 && r != -ESRCH)
                                return err_sys(err, r, "cgroup: cannot move process %d into %s", pids[i], dir);
                        moved++;
                }
                if (!moved)
                        return 0;
        }
        return err_set(err, -EAGAIN, "cgroup: the container's processes keep forking, cannot move them into %s", dir);
}

/* An update that sets a v1 controller the container did not join at create
 * (cpuset, hugetlb, ...: joined on demand) makes its directory at the same
 * path and adds it to cg->paths; *ret_new: the new directories. */
static int join_extra_v1(struct cgroup *cg, char *const *plan, char ***ret_new, struct err *err)
{
        static const char top[] = "/sys/fs/cgroup/";
        _cleanup_strv_free_ char **extra = NULL, **have = NULL;
        _cleanup_free_ char *copy = xstrdup(cg->paths), *rel = NULL;
        char *save = NULL, **added = NULL;
        size_t n_have = 0, n_added = 0, len = strlen(cg->paths) + 1;
        for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
                char *slash = strncmp(d, top, strlen(top)) == 0 ? strchr(d + strlen(top), '/') : NULL;
                if (!slash)
                        continue;
                if (!rel)
                        rel = xstrdup(slash); /* "/den-test/c1": absolute in each hierarchy */
                have = xrealloc(have, (n_have + 2) * sizeof(char *));
                have[n_have++] = xasprintf("%.*s", (int) (slash - d - strlen(top)), d + strlen(top));
                have[n_have] = NULL;
        }
        *ret_new = NULL;
        if (!rel || !(extra = cgroup_plan_extra_controllers(plan, (const char *const *) have, n_have)))
                return 0;
        for (size_t i = 0; extra[i]; i++) {
                _cleanup_free_ char *base = xasprintf("%s%s", top, extra[i]);
                int r = access(base, F_OK) == 0 ? make_dir(cg, &len, base, extra[i], rel, err)
                                                : err_set(err, -EOPNOTSUPP, "cgroup: controller '%s' is not mounted (no %s)",
                                                          extra[i], base);
                if (r >= 0 && strcmp(extra[i], "cpuset") == 0)
                        r = cpuset_init_v1(cg, err);
                if (r < 0) {
                        strv_freep(&added);
                        return r;
                }
                added = xrealloc(added, (n_added + 2) * sizeof(char *));
                added[n_added++] = xasprintf("%s%s", base, rel);
                added[n_added] = NULL;
        }
        *ret_new = added;
        return 0;
}

int cgroup_update(struct cgroup *cg, json_t *resources, struct err *err)
{
        _cleanup_strv_free_ char **w = NULL, **added = NULL;
        int r = cgroup_plan_writes(resources, cg->v2, &w, err);
        if (r < 0)
                return r;
        if (!cg->v2 && (r = join_extra_v1(cg, w, &added, err)) < 0)
                return r;
        if ((r = apply_plan(cg, w, err)) < 0)
                return r;
        for (size_t i = 0; added && added[i]; i++)
                if ((r = move_procs_v1(cg, added[i], err)) < 0)
                        return r;
        return added ? 1 : 0;
}

char **cgroup_mount_sources(const char *proc_self_cgroup, enum cgroup_mode mode, const struct cgroup *cg)
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
                /* only the controllers a container joins (always, or on
                 * demand: cg's): the others would show the runtime's cgroup,
                 * often the host's whole tree */
                _cleanup_free_ char *cs = xstrdup(ctls);
                char *s2 = NULL;
                for (char *ctl = strtok_r(cs, ",", &s2); ctl; ctl = strtok_r(NULL, ",", &s2)) {
                        const char *name = strncmp(ctl, "name=", 5) == 0 ? ctl + 5 : ctl;
                        bool join = false;
                        for (size_t i = 0; i < ELEMENTSOF(v1_controllers) && !join; i++)
                                join = strcmp(name, v1_controllers[i]) == 0;
                        _cleanup_free_ char *d = !join && cg ? cgroup_dir(cg, name) : NULL;
                        if (!join && !d)
                                continue;
                        v = xrealloc(v, (n + 2) * sizeof(char *));
                        v[n++] = xasprintf("%s\t/sys/fs/cgroup/%s%s", name, name, path);
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
