/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/spec/spec.h"

/* The container lifecycle of den-runtime, runc's contract: `create` leaves the
 * container's first process waiting on <root>/<id>/exec.fifo; `start` lets it
 * exec; the caller (conmon, containerd's shim) adopts it. */

struct create_opts {
        const char *root, *id, *bundle;
        const char *pid_file, *console_socket;
        const char *config; /* crun's --config FILE instead of the bundle's config.json */
        int preserve_fds;
        bool no_pivot, no_new_keyring;
        int rootless; /* -1 auto, 0, 1 */
        bool detach;  /* run: do not wait */
        bool keep;    /* run: keep the state after exit */
        bool no_cgroup; /* --cgroup-manager disabled (crun's): no cgroup of its own */
};

int container_create(const struct create_opts *o, struct err *err);
int container_start(const char *root, const char *id, struct err *err);
/* create+start; waits unless detach; returns the exit status (>= 0) */
int container_run(const struct create_opts *o, struct err *err);
int container_kill(const char *root, const char *id, int sig, bool all, struct err *err);
int container_delete(const char *root, const char *id, bool force, struct err *err);
int container_pause(const char *root, const char *id, bool pause, struct err *err);
int container_update(const char *root, const char *id, json_t *resources, struct err *err);
/* runc events --stats "data" of a container; -EOPNOTSUPP without a cgroup */
int container_stats(const char *root, const char *id, json_t **ret, struct err *err);
/* pids of the container's processes (host pids) */
int container_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, struct err *err);

struct exec_opts {
        const char *root, *id;
        const char *process_json; /* -p */
        char **args;
        bool tty, tty_set, detach, no_new_privs;
        const char *cwd, *user, *pid_file, *console_socket, *process_label, *apparmor;
        char **env;   /* added */
        char **caps;  /* added to all sets */
        int preserve_fds;
};

/* returns the exit status of the process (>= 0), or 0 when detached */
int container_exec(const struct exec_opts *o, struct err *err);
