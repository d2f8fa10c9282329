/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

enum cgroup_mode { CGROUP_UNIFIED, CGROUP_HYBRID, CGROUP_LEGACY, CGROUP_NONE };

enum cgroup_mode cgroup_detect(void);
const char *cgroup_mode_name(enum cgroup_mode m);

/* The cgroup of a container.  On cgroup v2 one directory; on v1 (and hybrid,
 * whose v2 mount holds no controllers) one directory per controller. */
struct cgroup {
        char *paths; /* '\n'-separated absolute directories; NULL: none */
        bool v2;
};

/* Create the cgroup for cgroupsPath (NULL: /<id> as root, <id> under our own
 * cgroup rootless), write resources and the device policy.  When it cannot be
 * done: a warning rootless if limits were asked for (*ret stays empty), an
 * error as root.  The container process then joins it without being moved by
 * another (see cgroup.c): clone3 with CLONE_INTO_CGROUP and
 * cgroup_open_v2()'s fd (else cgroup_enter_v2), and cgroup_enter_self_v1 from
 * the child on cgroup_open_v1_tasks()'s fds. */
int cgroup_create(const char *cgroups_path, const char *id, json_t *resources, bool rootless, struct cgroup *ret,
                  struct err *err);
/* v2: turn on every available controller in cgroup.subtree_control of each
 * level from top (the hierarchy's mount) down to dir's parent */
void cgroup_v2_enable_controllers(const char *top, const char *dir);
/* the v2 directory (on hybrid hosts the unified one) open, -1 without one */
int cgroup_open_v2(const struct cgroup *cg);
int cgroup_enter_v2(const struct cgroup *cg, pid_t pid, struct err *err);
/* the v1 directories' "tasks" files, opened by the runtime (at most max) */
int cgroup_open_v1_tasks(const struct cgroup *cg, int *fds, size_t max, size_t *ret_n, struct err *err);
/* the calling single-threaded process into them, by writing "0" to each */
int cgroup_enter_self_v1(const int *fds, size_t n, struct err *err);
/* the directory of controller (NULL: the v2 one) of a cgroup, NULL without */
char *cgroup_dir(const struct cgroup *cg, const char *controller);
/* usage as runc's events --stats "data": cpu, memory, pids (cgroup_stats.c) */
json_t *cgroup_stats(const struct cgroup *cg);
/* write resources; on v1 a controller the container has not joined (cpuset,
 * hugetlb, ...: joined on demand at create) gets its directory and the
 * container's processes: 1 then, cg->paths has grown and is to be saved */
int cgroup_update(struct cgroup *cg, json_t *resources, struct err *err);
int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *err);
int cgroup_freeze(const struct cgroup *cg, bool freeze, struct err *err);
bool cgroup_frozen(const struct cgroup *cg);
/* pids in the cgroup, -ENOENT without one */
int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n);
int cgroup_destroy(const struct cgroup *cg);
/* What a container's /sys/fs/cgroup shows, from its /proc/self/cgroup once it
 * is in its cgroup: "NAME\tHOST DIR" per hierarchy ("\t/sys/fs/cgroup/X" on v2;
 * on v1 one per controller it joins, and "unified" on hybrid; cg: its
 * cgroup, for the v1 controllers joined on demand, or NULL); pure. */
char **cgroup_mount_sources(const char *proc_self_cgroup, enum cgroup_mode mode, const struct cgroup *cg);
/* translate OCI resources into "[?][CTL:]FILE[|ALT]\tVALUE" writes
 * (cgroup_plan.c has the format); pure, unit-tested */
int cgroup_plan_writes(json_t *resources, bool v2, char ***ret, struct err *err);
/* the v1 controllers plan writes to that are not in joined (cpuset, hugetlb,
 * net_cls, ...: joined only when asked for), NULL when none */
char **cgroup_plan_extra_controllers(char *const *plan, const char *const *joined, size_t n_joined);

/* from's groups laid over into's, field by field (arrays and other values
 * replace) */
void cgroup_resources_merge(json_t *into, json_t *from);
/* For `update`: *ret_merged, the recorded resources with update's laid over
 * them group by group (runc keeps them so); returns what to write: update,
 * with the recorded memory limit added to a swap given alone (v2's
 * memory.swap.max is swap minus limit; written again, unchanged). */
json_t *cgroup_resources_for_update(json_t *recorded, json_t *update, json_t **ret_merged);
/* a memory size as runc's update flags take it ("-1", "32m", "1.5GiB",
 * binary units); -EINVAL when it is none */
int cgroup_parse_bytes(const char *s, int64_t *ret);

/* linux.resources.devices (cgroup_devices.c) */
enum { CGROUP_DEV_MKNOD = 1, CGROUP_DEV_READ = 2, CGROUP_DEV_WRITE = 4, CGROUP_DEV_RWM = 7 };
struct cgroup_dev_rule {
        bool allow;
        char type;           /* 'a' (every device), 'b' or 'c' */
        int64_t major, minor; /* -1: any */
        unsigned access;     /* CGROUP_DEV_* bits */
};
struct bpf_insn;
/* The config's rules followed by the defaults runc and crun add (the standard
 * nodes, mknod of any); none (*ret NULL) when the config has no rules. */
int cgroup_devices_rules(json_t *resources, struct cgroup_dev_rule **ret, size_t *ret_n, struct err *err);
/* v1: "devices.deny\ta" then one "devices.allow|deny\tc 1:3 rwm" per rule */
char **cgroup_devices_plan_v1(const struct cgroup_dev_rule *rules, size_t n);
/* v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, the last matching rule wins,
 * default deny; pure, unit-tested */
struct bpf_insn *cgroup_devices_bpf(const struct cgroup_dev_rule *rules, size_t n, size_t *ret_n);
/* load it and attach it to the cgroup directory dir with BPF_F_ALLOW_MULTI */
int cgroup_devices_attach_bpf(const char *dir, const struct cgroup_dev_rule *rules, size_t n, struct err *err);
