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

/* Create the cgroup for cgroupsPath (NULL: container id under /den-runtime),
 * write resources, put pid in.  When it cannot be done: a warning rootless
 * (*ret stays empty), an error as root. */
int cgroup_create(const char *cgroups_path, const char *id, json_t *resources, pid_t pid, bool rootless,
                  struct cgroup *ret, struct err *err);
int cgroup_update(const struct cgroup *cg, json_t *resources, struct err *err);
int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *err);
int cgroup_freeze(const struct cgroup *cg, bool freeze, struct err *err);
bool cgroup_frozen(const struct cgroup *cg);
/* pids in the cgroup, -ENOENT without one */
int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n);
int cgroup_destroy(const struct cgroup *cg);
/* translate OCI resources into "file value" writes; pure, unit-tested */
int cgroup_plan_writes(json_t *resources, bool v2, char ***ret, struct err *err);
