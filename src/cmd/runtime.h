/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* The options every den-runtime command sees (runc's global flags). */
struct rt_global {
        char *root;
        int rootless; /* -1 auto */
        bool systemd_cgroup;
        bool no_cgroup; /* --cgroup-manager disabled: containers stay in the caller's cgroup */
};

typedef int (*rt_command_fn)(struct rt_global *g, int argc, char **argv);

int rt_cmd_create(struct rt_global *g, int argc, char **argv);
int rt_cmd_run(struct rt_global *g, int argc, char **argv);
int rt_cmd_start(struct rt_global *g, int argc, char **argv);
int rt_cmd_state(struct rt_global *g, int argc, char **argv);
int rt_cmd_kill(struct rt_global *g, int argc, char **argv);
int rt_cmd_delete(struct rt_global *g, int argc, char **argv);
int rt_cmd_list(struct rt_global *g, int argc, char **argv);
int rt_cmd_ps(struct rt_global *g, int argc, char **argv);
int rt_cmd_pause(struct rt_global *g, int argc, char **argv);
int rt_cmd_resume(struct rt_global *g, int argc, char **argv);
int rt_cmd_update(struct rt_global *g, int argc, char **argv);
int rt_cmd_events(struct rt_global *g, int argc, char **argv);
int rt_cmd_exec(struct rt_global *g, int argc, char **argv);
int rt_cmd_spec(struct rt_global *g, int argc, char **argv);
int rt_cmd_features(struct rt_global *g, int argc, char **argv);
int rt_cmd_checkpoint(struct rt_global *g, int argc, char **argv);

/* report an error the runc way; returns the exit code (1) */
int rt_fail(const char *msg);
/* "usage: ..." for a bad command line; exit code 1 like runc */
int rt_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rt_parse_signal(const char *s);
