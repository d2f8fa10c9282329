/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lib/base/macro.h"
#include "spec.h"

#define CONFIG_MAX (4u << 20)

const char *const spec_ns_names[_NS_MAX] = {
        [NS_PID] = "pid",   [NS_NET] = "network", [NS_MNT] = "mount",   [NS_IPC] = "ipc",
        [NS_UTS] = "uts",   [NS_USER] = "user",   [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

const int spec_ns_clone_flags[_NS_MAX] = {
        [NS_PID] = CLONE_NEWPID, [NS_NET] = CLONE_NEWNET,   [NS_MNT] = CLONE_NEWNS,
        [NS_IPC] = CLONE_NEWIPC, [NS_UTS] = CLONE_NEWUTS,   [NS_USER] = CLONE_NEWUSER,
        [NS_CGROUP] = CLONE_NEWCGROUP, [NS_TIME] = 0x00000080 /* CLONE_NEWTIME */,
};

static const char *const cap_names[] = {
        "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
        "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
        "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
        "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

int spec_cap_from_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (strcasecmp(name, cap_names[i]) == 0 || strcasecmp(name, cap_names[i] + 4) == 0)
                        return (int) i;
        return -EINVAL;
}

const char *spec_cap_name(int cap)
{
        return cap >= 0 && (size_t) cap < ELEMENTSOF(cap_names) ? cap_names[cap] : NULL;
}

int spec_cap_last(void)
{
        static int last = -1;
        if (last < 0) {
                FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
                if (!f || fscanf(f, "%d", &last) != 1)
                        last = CAP_LAST_CAP;
                if (f)
                        fclose(f);
        }
        return last;
}

static const struct {
        const char *name;
        int res;
} rlimit_names[] = {
        { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
        { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
        { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
        { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

int spec_rlimit_from_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
                if (strcmp(name, rlimit_names[i].name) == 0)
                        return rlimit_names[i].res;
        return -EINVAL;
}

static int parse_idmaps(json_t *arr, const char *where, struct spec_idmap **ret, size_t *ret_n, struct err *err)
{
        size_t i;
        json_t *e;
        if (!arr)
                return 0;
        if (!json_is_array(arr))
                return err_set(err, -EINVAL, "%s: must be an array", where);
        struct spec_idmap *m = xcalloc(json_array_size(arr), sizeof(*m));
        json_array_foreach(arr, i, e)
        {
                char w[128];
                int64_t c = -1, h = -1, s = -1;
                snprintf(w, sizeof(w), "%s[%zu]", where, i);
                int r;
                if (!json_is_object(e))
                        r = err_set(err, -EINVAL, "%s: must be an object", w);
                else if ((r = json_get_int(e, w, "containerID", 0, UINT32_MAX, &c, err)) < 0 ||
                         (r = json_get_int(e, w, "hostID", 0, UINT32_MAX, &h, err)) < 0 ||
                         (r = json_get_int(e, w, "size", 1, UINT32_MAX, &s, err)) < 0) {
                } else if (c < 0 || h < 0 || s < 0)
                        r = err_set(err, -EINVAL, "%s: containerID, hostID and size are required", w);
                if (r < 0) {
                        free(m);
                        return r;
                }
                m[i] = (struct spec_idmap){ (uint32_t) c, (uint32_t) h, (uint32_t) s };
        }
        *ret = m;
        *ret_n = json_array_size(arr);
        return 0;
}

static int parse_caps(json_t *caps, struct spec_process *p, struct err *err)
{
        static const char *sets[_CAP_SET_MAX] = { "bounding", "effective", "inheritable", "permitted",
                                                  "ambient" };
        p->has_caps = true;
        for (int s = 0; s < _CAP_SET_MAX; s++) {
                json_t *arr = NULL, *e;
                size_t i;
                char w[64];
                snprintf(w, sizeof(w), "process.capabilities");
                int r = json_get_arr(caps, w, sets[s], &arr, err);
                if (r < 0)
                        return r;
                json_array_foreach(arr, i, e)
                {
                        if (!json_is_string(e))
                                return err_set(err, -EINVAL, "process.capabilities.%s[%zu]: must be a string",
                                               sets[s], i);
                        int c = spec_cap_from_name(json_string_value(e));
                        if (c < 0)
                                return err_set(err, -EINVAL, "process.capabilities.%s[%zu]: unknown capability '%s'",
                                               sets[s], i, json_string_value(e));
                        /* a capability the kernel does not know is skipped, as runc does */
                        if (c <= spec_cap_last())
                                p->caps[s] |= UINT64_C(1) << c;
                }
        }
        return 0;
}

static int parse_rlimits(json_t *arr, struct spec_process *p, struct err *err)
{
        size_t i;
        json_t *e;
        p->rlimits = xcalloc(json_array_size(arr), sizeof(*p->rlimits));
        json_array_foreach(arr, i, e)
        {
                char w[64];
                const char *type = NULL;
                uint64_t soft = UINT64_MAX, hard = UINT64_MAX;
                bool has_soft = json_object_get(e, "soft"), has_hard = json_object_get(e, "hard");
                snprintf(w, sizeof(w), "process.rlimits[%zu]", i);
                if (!json_is_object(e))
                        return err_set(err, -EINVAL, "%s: must be an object", w);
                int r;
                if ((r = json_get_str(e, w, "type", &type, err)) < 0 ||
                    (r = json_get_u64(e, w, "soft", &soft, err)) < 0 ||
                    (r = json_get_u64(e, w, "hard", &hard, err)) < 0)
                        return r;
                if (!type)
                        return err_set(err, -EINVAL, "%s.type: required", w);
                if (!has_soft || !has_hard)
                        return err_set(err, -EINVAL, "%s: soft and hard are required", w);
                int res = spec_rlimit_from_name(type);
                if (res < 0)
                        return err_set(err, -EINVAL, "%s.type: unknown rlimit '%s'", w, type);
                if (soft > hard)
                        return err_set(err, -EINVAL, "%s: soft limit %llu is above hard limit %llu", w,
                                       (unsigned long long) soft, (unsigned long long) hard);
                for (size_t k = 0; k < i; k++)
                        if (p->rlimits[k].resource == res)
                                return err_set(err, -EINVAL, "%s.type: '%s' given twice", w, type);
                p->rlimits[i] = (struct spec_rlimit){ res, soft, hard };
                p->n_rlimits++;
        }
        return 0;
}

static int parse_user(json_t *user, struct spec_process *p, struct err *err)
{
        int64_t uid = 0, gid = 0, umask = -1;
        json_t *gids = NULL, *e;
        size_t i;
        int r;
        if ((r = json_get_int(user, "process.user", "uid", 0, UINT32_MAX - 1, &uid, err)) < 0 ||
            (r = json_get_int(user, "process.user", "gid", 0, UINT32_MAX - 1, &gid, err)) < 0 ||
            (r = json_get_int(user, "process.user", "umask", 0, 0777, &umask, err)) < 0 ||
            (r = json_get_arr(user, "process.user", "additionalGids", &gids, err)) < 0)
                return r;
        p->uid = (uid_t) uid;
        p->gid = (gid_t) gid;
        if (umask >= 0) {
                p->has_umask = true;
                p->umask = (mode_t) umask;
        }
        if (gids) {
                p->additional_gids = xcalloc(json_array_size(gids), sizeof(gid_t));
                json_array_foreach(gids, i, e)
                {
                        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                            json_integer_value(e) >= UINT32_MAX)
                                return err_set(err, -EINVAL, "process.user.additionalGids[%zu]: must be a gid",
                                               i);
                        p->additional_gids[p->n_additional_gids++] = (gid_t) json_integer_value(e);
                }
        }
        return 0;
}

/* what sched_setattr would refuse with a bare EINVAL, said here (runc's checks,
 * and the kernel's for SCHED_DEADLINE: 1024 ns <= runtime <= deadline <= period,
 * a period of 0 meaning the deadline, both below 2^63 ns) */
static int sched_validate(const struct spec_process *p, struct err *err)
{
        bool rt = p->sched_policy == 1 || p->sched_policy == 2, dl = p->sched_policy == 6;
        if (rt && (p->sched_priority < 1 || p->sched_priority > 99))
                return err_set(err, -EINVAL, "process.scheduler.priority: SCHED_FIFO and SCHED_RR need 1 to 99");
        if (!rt && p->sched_priority)
                return err_set(err, -EINVAL, "process.scheduler.priority: only for SCHED_FIFO or SCHED_RR");
        if (!dl && (p->sched_runtime || p->sched_deadline || p->sched_period))
                return err_set(err, -EINVAL,
                               "process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE");
        if (!dl)
                return 0;
        uint64_t period = p->sched_period ? p->sched_period : p->sched_deadline;
        if (p->sched_runtime < 1024)
                return err_set(err, -EINVAL, "process.scheduler.runtime: SCHED_DEADLINE needs at least 1024 ns");
        if (p->sched_deadline < p->sched_runtime)
                return err_set(err, -EINVAL, "process.scheduler.deadline: %llu ns is below the runtime (%llu ns)",
                               (unsigned long long) p->sched_deadline, (unsigned long long) p->sched_runtime);
        if (period < p->sched_deadline || period >> 63)
                return err_set(err, -EINVAL,
                               "process.scheduler.period: %llu ns is below the deadline (%llu ns) or past 2^63",
                               (unsigned long long) period, (unsigned long long) p->sched_deadline);
        return 0;
}

static int parse_sched(json_t *o, struct spec_process *p, struct err *err)
{
        static const struct {
                const char *name;
                int v;
        } policies[] = { { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 },  { "SCHED_RR", 2 },
                         { "SCHED_BATCH", 3 }, { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 } };
        static const struct {
                const char *name;
                uint64_t v;
        } flags[] = { { "SCHED_FLAG_RESET_ON_FORK", 1 }, { "SCHED_FLAG_RECLAIM", 2 },
                      { "SCHED_FLAG_DL_OVERRUN", 4 },   { "SCHED_FLAG_KEEP_POLICY", 8 },
                      { "SCHED_FLAG_KEEP_PARAMS", 16 }, { "SCHED_FLAG_UTIL_CLAMP_MIN", 32 },
                      { "SCHED_FLAG_UTIL_CLAMP_MAX", 64 } };
        const char *pol = NULL;
        int64_t nice = 0, prio = 0;
        char **fl = NULL;
        int r;
        if ((r = json_get_str(o, "process.scheduler", "policy", &pol, err)) < 0 ||
            (r = json_get_int(o, "process.scheduler", "nice", -20, 19, &nice, err)) < 0 ||
            (r = json_get_int(o, "process.scheduler", "priority", 0, 99, &prio, err)) < 0 ||
            (r = json_get_u64(o, "process.scheduler", "runtime", &p->sched_runtime, err)) < 0 ||
            (r = json_get_u64(o, "process.scheduler", "deadline", &p->sched_deadline, err)) < 0 ||
            (r = json_get_u64(o, "process.scheduler", "period", &p->sched_period, err)) < 0 ||
            (r = json_get_strv(o, "process.scheduler", "flags", &fl, err)) < 0)
                return r;
        _cleanup_strv_free_ char **flv = fl;
        if (!pol)
                return err_set(err, -EINVAL, "process.scheduler.policy: required");
        p->sched_policy = -1;
        for (size_t i = 0; i < ELEMENTSOF(policies); i++)
                if (strcmp(pol, policies[i].name) == 0)
                        p->sched_policy = policies[i].v;
        if (p->sched_policy < 0)
                return err_set(err, -EINVAL, "process.scheduler.policy: unknown policy '%s'", pol);
        for (size_t k = 0; flv && flv[k]; k++) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(flags); i++)
                        if (strcmp(flv[k], flags[i].name) == 0)
                                break;
                if (i == ELEMENTSOF(flags))
                        return err_set(err, -EINVAL, "process.scheduler.flags[%zu]: unknown flag '%s'", k,
                                       flv[k]);
                p->sched_flags |= flags[i].v;
        }
        p->sched_nice = (int) nice;
        p->sched_priority = (int) prio;
        p->has_scheduler = true;
        return sched_validate(p, err);
}

static int parse_ioprio(json_t *o, struct spec_process *p, struct err *err)
{
        static const char *classes[] = { "IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                         "IOPRIO_CLASS_IDLE" };
        const char *cls = NULL;
        int64_t prio = 0;
        int r;
        if ((r = json_get_str(o, "process.ioPriority", "class", &cls, err)) < 0 ||
            (r = json_get_int(o, "process.ioPriority", "priority", 0, 7, &prio, err)) < 0)
                return r;
        if (!cls)
                return err_set(err, -EINVAL, "process.ioPriority.class: required");
        p->ioprio_class = -1;
        for (int i = 0; i < 4; i++)
                if (strcmp(cls, classes[i]) == 0)
                        p->ioprio_class = i;
        if (p->ioprio_class < 0)
                return err_set(err, -EINVAL, "process.ioPriority.class: unknown class '%s'", cls);
        p->ioprio_level = (int) prio;
        p->has_io_priority = true;
        return 0;
}

int spec_parse_process(json_t *o, const char *where, struct spec_process *p, struct err *err)
{
        json_t *user = NULL, *caps = NULL, *rl = NULL, *cs = NULL, *sched = NULL, *io = NULL;
        const char *cwd = NULL, *aa = NULL, *se = NULL;
        int64_t oom = INT64_MIN;
        int r;

        (void) where;
        memset(p, 0, sizeof(*p));
        if (!json_is_object(o))
                return err_set(err, -EINVAL, "process: must be an object");
        if ((r = json_get_bool(o, "process", "terminal", &p->terminal, err)) < 0 ||
            (r = json_get_strv(o, "process", "args", &p->args, err)) < 0 ||
            (r = json_get_strv(o, "process", "env", &p->env, err)) < 0 ||
            (r = json_get_str(o, "process", "cwd", &cwd, err)) < 0 ||
            (r = json_get_obj(o, "process", "user", &user, err)) < 0 ||
            (r = json_get_obj(o, "process", "capabilities", &caps, err)) < 0 ||
            (r = json_get_arr(o, "process", "rlimits", &rl, err)) < 0 ||
            (r = json_get_obj(o, "process", "consoleSize", &cs, err)) < 0 ||
            (r = json_get_obj(o, "process", "scheduler", &sched, err)) < 0 ||
            (r = json_get_obj(o, "process", "ioPriority", &io, err)) < 0 ||
            (r = json_get_bool(o, "process", "noNewPrivileges", &p->no_new_privileges, err)) < 0 ||
            (r = json_get_int(o, "process", "oomScoreAdj", -1000, 1000, &oom, err)) < 0 ||
            (r = json_get_str(o, "process", "apparmorProfile", &aa, err)) < 0 ||
            (r = json_get_str(o, "process", "selinuxLabel", &se, err)) < 0)
                return r;
        if (!p->args || !p->args[0])
                return err_set(err, -EINVAL, "process.args: must be a non-empty array of strings");
        if (!cwd)
                return err_set(err, -EINVAL, "process.cwd: required");
        if (cwd[0] != '/')
                return err_set(err, -EINVAL, "process.cwd: '%s' is not an absolute path", cwd);
        p->cwd = xstrdup(cwd);
        if (oom != INT64_MIN) {
                p->has_oom_score_adj = true;
                p->oom_score_adj = (int) oom;
        }
        p->apparmor_profile = aa && *aa ? xstrdup(aa) : NULL;
        p->selinux_label = se && *se ? xstrdup(se) : NULL;
        if (cs) {
                int64_t h = 0, w = 0;
                if ((r = json_get_int(cs, "process.consoleSize", "height", 0, UINT16_MAX, &h, err)) < 0 ||
                    (r = json_get_int(cs, "process.consoleSize", "width", 0, UINT16_MAX, &w, err)) < 0)
                        return r;
                p->console_height = (unsigned) h;
                p->console_width = (unsigned) w;
        }
        if (user && (r = parse_user(user, p, err)) < 0)
                return r;
        if (caps && (r = parse_caps(caps, p, err)) < 0)
                return r;
        if (rl && (r = parse_rlimits(rl, p, err)) < 0)
                return r;
        if (sched && (r = parse_sched(sched, p, err)) < 0)
                return r;
        if (io && (r = parse_ioprio(io, p, err)) < 0)
                return r;
        for (size_t i = 0; p->env && p->env[i]; i++)
                if (!strchr(p->env[i], '='))
                        return err_set(err, -EINVAL, "process.env[%zu]: '%s' is not of the form KEY=VALUE", i,
                                       p->env[i]);
        return 0;
}

static int parse_mounts(json_t *arr, struct spec *s, struct err *err)
{
        size_t i;
        json_t *e;
        s->mounts = xcalloc(json_array_size(arr), sizeof(*s->mounts));
        json_array_foreach(arr, i, e)
        {
                char w[64];
                const char *dst = NULL, *type = NULL, *src = NULL;
                struct spec_mount *m = &s->mounts[i];
                int r;
                snprintf(w, sizeof(w), "mounts[%zu]", i);
                if (!json_is_object(e))
                        return err_set(err, -EINVAL, "%s: must be an object", w);
                s->n_mounts++;
                if ((r = json_get_str(e, w, "destination", &dst, err)) < 0 ||
                    (r = json_get_str(e, w, "type", &type, err)) < 0 ||
                    (r = json_get_str(e, w, "source", &src, err)) < 0 ||
                    (r = json_get_strv(e, w, "options", &m->options, err)) < 0)
                        return r;
                if (!dst || !*dst)
                        return err_set(err, -EINVAL, "%s.destination: required", w);
                if (dst[0] != '/')
                        return err_set(err, -EINVAL, "%s.destination: '%s' is not an absolute path", w, dst);
                m->destination = xstrdup(dst);
                m->type = type ? xstrdup(type) : NULL;
                m->source = src ? xstrdup(src) : NULL;
                snprintf(w, sizeof(w), "mounts[%zu].uidMappings", i);
                if ((r = parse_idmaps(json_object_get(e, "uidMappings"), w, &m->uid_mappings,
                                      &m->n_uid_mappings, err)) < 0)
                        return r;
                snprintf(w, sizeof(w), "mounts[%zu].gidMappings", i);
                if ((r = parse_idmaps(json_object_get(e, "gidMappings"), w, &m->gid_mappings,
                                      &m->n_gid_mappings, err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_namespaces(json_t *arr, struct spec *s, struct err *err)
{
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e)
        {
                char w[64];
                const char *type = NULL, *path = NULL;
                int r;
                snprintf(w, sizeof(w), "linux.namespaces[%zu]", i);
                if (!json_is_object(e))
                        return err_set(err, -EINVAL, "%s: must be an object", w);
                if ((r = json_get_str(e, w, "type", &type, err)) < 0 ||
                    (r = json_get_str(e, w, "path", &path, err)) < 0)
                        return r;
                if (!type)
                        return err_set(err, -EINVAL, "%s.type: required", w);
                int t;
                for (t = 0; t < _NS_MAX; t++)
                        if (strcmp(type, spec_ns_names[t]) == 0)
                                break;
                if (t == _NS_MAX)
                        return err_set(err, -EINVAL, "%s.type: unknown namespace type '%s'", w, type);
                if (s->ns[t].enabled)
                        return err_set(err, -EINVAL, "%s: namespace '%s' given twice", w, type);
                s->ns[t].enabled = true;
                if (path && *path) {
                        if (path[0] != '/')
                                return err_set(err, -EINVAL, "%s.path: '%s' is not an absolute path", w, path);
                        s->ns[t].path = xstrdup(path);
                }
        }
        return 0;
}

static int parse_devices(json_t *arr, struct spec *s, struct err *err)
{
        size_t i;
        json_t *e;
        s->devices = xcalloc(json_array_size(arr), sizeof(*s->devices));
        json_array_foreach(arr, i, e)
        {
                char w[64];
                const char *path = NULL, *type = NULL;
                int64_t mode = -1, uid = 0, gid = 0;
                struct spec_device *d = &s->devices[i];
                int r;
                snprintf(w, sizeof(w), "linux.devices[%zu]", i);
                if (!json_is_object(e))
                        return err_set(err, -EINVAL, "%s: must be an object", w);
                if ((r = json_get_str(e, w, "path", &path, err)) < 0 ||
                    (r = json_get_str(e, w, "type", &type, err)) < 0 ||
                    (r = json_get_int(e, w, "major", INT32_MIN, INT64_MAX, &d->major, err)) < 0 ||
                    (r = json_get_int(e, w, "minor", INT32_MIN, INT64_MAX, &d->minor, err)) < 0 ||
                    /* podman includes the file type bits (S_IFCHR | 0660): runc
                     * and crun take the permission bits, "type" says the rest */
                    (r = json_get_int(e, w, "fileMode", 0, S_IFMT | 07777, &mode, err)) < 0 ||
                    (r = json_get_int(e, w, "uid", 0, UINT32_MAX - 1, &uid, err)) < 0 ||
                    (r = json_get_int(e, w, "gid", 0, UINT32_MAX - 1, &gid, err)) < 0)
                        return r;
                if (!path || path[0] != '/')
                        return err_set(err, -EINVAL, "%s.path: required, an absolute path", w);
                if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
                        return err_set(err, -EINVAL, "%s.type: must be one of c, b, u, p", w);
                d->path = xstrdup(path);
                d->type = type[0];
                d->has_mode = mode >= 0;
                d->mode = mode >= 0 ? (mode_t) mode & 07777 : 0666;
                d->uid = (uid_t) uid;
                d->gid = (gid_t) gid;
                s->n_devices++;
        }
        return 0;
}

static int parse_hooks(json_t *hooks, struct spec *s, struct err *err)
{
        static const char *kinds[_HOOK_MAX] = { "prestart",       "createRuntime", "createContainer",
                                                "startContainer", "poststart",     "poststop" };
        for (int k = 0; k < _HOOK_MAX; k++) {
                json_t *arr = NULL, *e;
                size_t i;
                int r = json_get_arr(hooks, "hooks", kinds[k], &arr, err);
                if (r < 0)
                        return r;
                if (!arr)
                        continue;
                s->hooks[k] = xcalloc(json_array_size(arr), sizeof(struct spec_hook));
                json_array_foreach(arr, i, e)
                {
                        char w[64];
                        const char *path = NULL;
                        int64_t timeout = 0;
                        struct spec_hook *h = &s->hooks[k][i];
                        snprintf(w, sizeof(w), "hooks.%s[%zu]", kinds[k], i);
                        if (!json_is_object(e))
                                return err_set(err, -EINVAL, "%s: must be an object", w);
                        s->n_hooks[k]++;
                        if ((r = json_get_str(e, w, "path", &path, err)) < 0 ||
                            (r = json_get_strv(e, w, "args", &h->args, err)) < 0 ||
                            (r = json_get_strv(e, w, "env", &h->env, err)) < 0 ||
                            (r = json_get_int(e, w, "timeout", 1, INT32_MAX, &timeout, err)) < 0)
                                return r;
                        if (!path || path[0] != '/')
                                return err_set(err, -EINVAL, "%s.path: required, an absolute path", w);
                        h->path = xstrdup(path);
                        h->timeout = (int) timeout;
                }
        }
        return 0;
}

static int parse_linux(json_t *lx, struct spec *s, struct err *err)
{
        json_t *nss = NULL, *devs = NULL, *sysctl = NULL, *pers = NULL;
        const char *cg = NULL, *prop = NULL, *label = NULL;
        int r;

        if ((r = json_get_arr(lx, "linux", "namespaces", &nss, err)) < 0 ||
            (r = json_get_arr(lx, "linux", "devices", &devs, err)) < 0 ||
            (r = json_get_obj(lx, "linux", "sysctl", &sysctl, err)) < 0 ||
            (r = json_get_obj(lx, "linux", "resources", &s->resources, err)) < 0 ||
            (r = json_get_obj(lx, "linux", "seccomp", &s->seccomp, err)) < 0 ||
            (r = json_get_obj(lx, "linux", "personality", &pers, err)) < 0 ||
            (r = json_get_str(lx, "linux", "cgroupsPath", &cg, err)) < 0 ||
            (r = json_get_str(lx, "linux", "rootfsPropagation", &prop, err)) < 0 ||
            (r = json_get_str(lx, "linux", "mountLabel", &label, err)) < 0 ||
            (r = json_get_strv(lx, "linux", "maskedPaths", &s->masked_paths, err)) < 0 ||
            (r = json_get_strv(lx, "linux", "readonlyPaths", &s->readonly_paths, err)) < 0)
                return r;
        if (nss && (r = parse_namespaces(nss, s, err)) < 0)
                return r;
        if ((r = parse_idmaps(json_object_get(lx, "uidMappings"), "linux.uidMappings", &s->uid_mappings,
                              &s->n_uid_mappings, err)) < 0 ||
            (r = parse_idmaps(json_object_get(lx, "gidMappings"), "linux.gidMappings", &s->gid_mappings,
                              &s->n_gid_mappings, err)) < 0)
                return r;
        if (devs && (r = parse_devices(devs, s, err)) < 0)
                return r;
        if (sysctl) {
                const char *k;
                json_t *v;
                s->sysctls = xcalloc(json_object_size(sysctl), sizeof(*s->sysctls));
                json_object_foreach(sysctl, k, v)
                {
                        if (!json_is_string(v))
                                return err_set(err, -EINVAL, "linux.sysctl.%s: must be a string", k);
                        if (!*k || strstr(k, "..") || k[0] == '/' || k[0] == '.')
                                return err_set(err, -EINVAL, "linux.sysctl: invalid key '%s'", k);
                        s->sysctls[s->n_sysctls++] = (struct spec_sysctl){ xstrdup(k), xstrdup(json_string_value(v)) };
                }
        }
        for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
                if (s->masked_paths[i][0] != '/')
                        return err_set(err, -EINVAL, "linux.maskedPaths[%zu]: '%s' is not an absolute path", i,
                                       s->masked_paths[i]);
        for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
                if (s->readonly_paths[i][0] != '/')
                        return err_set(err, -EINVAL, "linux.readonlyPaths[%zu]: '%s' is not an absolute path",
                                       i, s->readonly_paths[i]);
        if (prop && *prop) {
                static const struct {
                        const char *n;
                        unsigned long f;
                } props[] = { { "shared", MS_SHARED },          { "rshared", MS_SHARED | MS_REC },
                              { "slave", MS_SLAVE },            { "rslave", MS_SLAVE | MS_REC },
                              { "private", MS_PRIVATE },        { "rprivate", MS_PRIVATE | MS_REC },
                              { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC } };
                for (size_t i = 0; i < ELEMENTSOF(props); i++)
                        if (strcmp(prop, props[i].n) == 0)
                                s->rootfs_propagation = props[i].f;
                if (!s->rootfs_propagation)
                        return err_set(err, -EINVAL, "linux.rootfsPropagation: unknown value '%s'", prop);
        }
        if (pers) {
                const char *dom = NULL;
                char **flags = NULL;
                if ((r = json_get_str(pers, "linux.personality", "domain", &dom, err)) < 0 ||
                    (r = json_get_strv(pers, "linux.personality", "flags", &flags, err)) < 0)
                        return r;
                _cleanup_strv_free_ char **fl = flags;
                if (!dom)
                        return err_set(err, -EINVAL, "linux.personality.domain: required");
                if (strcmp(dom, "LINUX") == 0)
                        s->personality = 0x0000;
                else if (strcmp(dom, "LINUX32") == 0)
                        s->personality = 0x0008;
                else
                        return err_set(err, -EINVAL, "linux.personality.domain: unknown domain '%s'", dom);
                if (fl && fl[0])
                        return err_set(err, -EINVAL, "linux.personality.flags: not supported ('%s')", fl[0]);
                s->has_personality = true;
        }
        if ((r = spec_parse_linux_extras(lx, s, err)) < 0)
                return r;
        if (json_object_get(lx, "timeOffsets") && !s->ns[NS_TIME].enabled)
                return err_set(err, -EINVAL, "linux.timeOffsets: needs a time namespace");
        s->cgroups_path = cg && *cg ? xstrdup(cg) : NULL;
        s->mount_label = label && *label ? xstrdup(label) : NULL;
        return 0;
}

/* The IPC namespace's sysctls under kernel. (ipc/ipc_sysctl.c); crun and runc
 * accept these and no other kernel.* but the uts names. */
static const char *const ipc_kernel_sysctls[] = { "msgmax", "msgmnb", "msgmni", "sem",
                                                  "shmall", "shmmax", "shmmni", "shm_rmid_forced" };

int spec_sysctl_namespace(const char *key, enum spec_ns_type *ret)
{
        char k[256];
        /* "kernel/shmmax" is the same sysctl as "kernel.shmmax" */
        snprintf(k, sizeof(k), "%s", key);
        for (char *c = k; *c; c++)
                if (*c == '/')
                        *c = '.';
        if (strncmp(k, "fs.mqueue.", 10) == 0) {
                *ret = NS_IPC;
                return 0;
        }
        if (strncmp(k, "net.", 4) == 0) {
                *ret = NS_NET;
                return 0;
        }
        if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0) {
                *ret = NS_UTS;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(ipc_kernel_sysctls); i++)
                if (strncmp(k, "kernel.", 7) == 0 && strcmp(k + 7, ipc_kernel_sysctls[i]) == 0) {
                        *ret = NS_IPC;
                        return 0;
                }
        return -ENOENT;
}

/* A sysctl is written through the container's /proc/sys: one that belongs to
 * no namespace, or to one the container shares with its caller, would change
 * the host (or the caller's) value. */
int spec_sysctl_check(const struct spec *s, const char *key, const char *value, struct err *err)
{
        enum spec_ns_type t;
        if (spec_sysctl_namespace(key, &t) < 0)
                return err_set(err, -EINVAL,
                               "config.json: linux.sysctl.%s: not namespaced: it would change the host's value", key);
        if (!s->ns[t].enabled)
                return err_set(err, -EINVAL,
                               "config.json: linux.sysctl.%s: needs a new %s namespace (linux.namespaces has no '%s')",
                               key, t == NS_NET ? "network" : t == NS_IPC ? "IPC" : "UTS", spec_ns_names[t]);
        const char *field = strstr(key, "hostname") ? s->hostname : strstr(key, "domainname") ? s->domainname : NULL;
        if (t == NS_UTS && field && strcmp(field, value) != 0)
                return err_set(err, -EINVAL, "config.json: linux.sysctl.%s: '%s' conflicts with %s '%s'", key,
                               value, strstr(key, "hostname") ? "hostname" : "domainname", field);
        return 0;
}

int spec_parse(json_t *doc, const char *bundle, struct spec *s, struct err *err)
{
        json_t *root = NULL, *proc = NULL, *mounts = NULL, *lx = NULL, *hooks = NULL;
        const char *ver = NULL, *rpath = NULL, *host = NULL, *dom = NULL;
        int r;

        memset(s, 0, sizeof(*s));
        s->json = json_incref(doc);
        s->bundle = xstrdup(bundle);
        if (!json_is_object(doc))
                return err_set(err, -EINVAL, "config.json: must be a JSON object");
        if ((r = json_get_str(doc, "", "ociVersion", &ver, err)) < 0 ||
            (r = json_get_obj(doc, "", "root", &root, err)) < 0 ||
            (r = json_get_obj(doc, "", "process", &proc, err)) < 0 ||
            (r = json_get_arr(doc, "", "mounts", &mounts, err)) < 0 ||
            (r = json_get_obj(doc, "", "linux", &lx, err)) < 0 ||
            (r = json_get_obj(doc, "", "hooks", &hooks, err)) < 0 ||
            (r = json_get_obj(doc, "", "annotations", &s->annotations, err)) < 0 ||
            (r = json_get_str(doc, "", "hostname", &host, err)) < 0 ||
            (r = json_get_str(doc, "", "domainname", &dom, err)) < 0)
                return err_wrap(err, "config.json");
        if (!ver)
                return err_set(err, -EINVAL, "config.json: ociVersion: required");
        if (strncmp(ver, "1.", 2) != 0)
                return err_set(err, -EINVAL, "config.json: ociVersion: '%s' is not a 1.x version", ver);
        s->oci_version = xstrdup(ver);
        if (!root)
                return err_set(err, -EINVAL, "config.json: root: required");
        if ((r = json_get_str(root, "root", "path", &rpath, err)) < 0 ||
            (r = json_get_bool(root, "root", "readonly", &s->root_readonly, err)) < 0)
                return err_wrap(err, "config.json");
        if (!rpath || !*rpath)
                return err_set(err, -EINVAL, "config.json: root.path: required");
        s->root_path = rpath[0] == '/' ? xstrdup(rpath) : xasprintf("%s/%s", bundle, rpath);
        s->hostname = host ? xstrdup(host) : NULL;
        s->domainname = dom ? xstrdup(dom) : NULL;
        if (proc) {
                s->has_process = true;
                if ((r = spec_parse_process(proc, "process", &s->process, err)) < 0)
                        return err_wrap(err, "config.json");
        }
        if (mounts && (r = parse_mounts(mounts, s, err)) < 0)
                return err_wrap(err, "config.json");
        if (lx && (r = parse_linux(lx, s, err)) < 0)
                return err_wrap(err, "config.json");
        if (hooks && (r = parse_hooks(hooks, s, err)) < 0)
                return err_wrap(err, "config.json");
        if ((s->hostname || s->domainname) && !s->ns[NS_UTS].enabled)
                return err_set(err, -EINVAL, "config.json: hostname: needs a new uts namespace");
        if ((s->n_uid_mappings || s->n_gid_mappings) && !s->ns[NS_USER].enabled)
                return err_set(err, -EINVAL, "config.json: linux.uidMappings: needs a user namespace");
        for (size_t i = 0; i < s->n_sysctls; i++)
                if ((r = spec_sysctl_check(s, s->sysctls[i].key, s->sysctls[i].value, err)) < 0)
                        return r;
        return 0;
}

int spec_load(const char *bundle, struct spec *ret, struct err *err)
{
        return spec_load_file(bundle, NULL, ret, err);
}

int spec_load_file(const char *bundle, const char *config, struct spec *ret, struct err *err)
{
        _cleanup_free_ char *path = config ? xstrdup(config) : xasprintf("%s/config.json", bundle);
        json_t *doc = json_load_path(path, CONFIG_MAX, err);
        if (!doc)
                return err->code;
        int r = spec_parse(doc, bundle, ret, err);
        json_decref(doc);
        if (r < 0)
                spec_free(ret);
        return r;
}

void spec_process_free(struct spec_process *p)
{
        strv_freep(&p->args);
        strv_freep(&p->env);
        free(p->cwd);
        free(p->additional_gids);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        memset(p, 0, sizeof(*p));
}

void spec_free(struct spec *s)
{
        if (s->json)
                json_decref(s->json);
        free(s->oci_version);
        free(s->bundle);
        spec_net_devices_free(s);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        spec_process_free(&s->process);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].destination);
                free(s->mounts[i].type);
                free(s->mounts[i].source);
                strv_freep(&s->mounts[i].options);
                free(s->mounts[i].uid_mappings);
                free(s->mounts[i].gid_mappings);
        }
        free(s->mounts);
        for (int i = 0; i < _NS_MAX; i++)
                free(s->ns[i].path);
        free(s->uid_mappings);
        free(s->gid_mappings);
        for (size_t i = 0; i < s->n_devices; i++)
                free(s->devices[i].path);
        free(s->devices);
        strv_freep(&s->masked_paths);
        strv_freep(&s->readonly_paths);
        for (size_t i = 0; i < s->n_sysctls; i++) {
                free(s->sysctls[i].key);
                free(s->sysctls[i].value);
        }
        free(s->sysctls);
        free(s->cgroups_path);
        free(s->mount_label);
        for (int k = 0; k < _HOOK_MAX; k++) {
                for (size_t i = 0; i < s->n_hooks[k]; i++) {
                        free(s->hooks[k][i].path);
                        strv_freep(&s->hooks[k][i].args);
                        strv_freep(&s->hooks[k][i].env);
                }
                free(s->hooks[k]);
        }
        memset(s, 0, sizeof(*s));
}
