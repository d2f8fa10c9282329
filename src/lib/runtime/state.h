/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/base/json.h"
#include "lib/linux/cgroup.h"

/* What den-runtime keeps of a container, in <root>/<id>/state.json (written
 * atomically), with the exec fifo beside it until `start`. */
struct state {
        char *id, *bundle, *rootfs, *created, *oci_version;
        char *config; /* `--config` file, absolute; NULL: the bundle's config.json */
        pid_t pid;
        unsigned long long pid_start; /* /proc/PID/stat starttime: guards against pid reuse */
        uid_t owner;
        bool rootless;
        struct cgroup cgroup;
        json_t *annotations;
        json_t *resources; /* linux.resources as created, each update laid over it; NULL: none */
};

enum status { STATUS_CREATING, STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPED };

const char *status_name(enum status s);

/* den-runtime's state root: given (--root), else /run/den-runtime (root),
 * $XDG_RUNTIME_DIR/den-runtime, /tmp/den-runtime-<host uid>; opened once and
 * checked (ours, not writable by others; 0700 in /tmp), made when missing.
 * *ret names it through the checked fd ("/proc/self/fd/N"). */
int state_root_open(const char *given, char **ret, struct err *err);
int state_check_id(const char *id, struct err *err);
char *state_dir(const char *root, const char *id);

int state_save(const char *root, const struct state *st, struct err *err);
int state_load(const char *root, const char *id, struct state *ret, struct err *err);
void state_free(struct state *st);
enum status state_status(const char *root, const struct state *st);
bool state_pid_alive(pid_t pid, unsigned long long start);
unsigned long long state_pid_starttime(pid_t pid);
/* The OCI state document (what `state` prints and hooks read on stdin). */
json_t *state_to_json(const struct state *st, enum status s, bool runc_extras);
/* take the per-container lock (flock on the state dir) */
int state_lock(const char *root, const char *id, struct err *err);
/* the ids of the containers under root (entries whose state loads), NULL-terminated */
char **state_ids(const char *root);
