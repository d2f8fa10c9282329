/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/store/store.h"

/* What every den command sees. */
struct den_global {
        const char *root;
        const char *runroot;
        const char *storage_driver;
};

int den_cmd_import(struct den_global *g, int argc, char **argv);
int den_cmd_images(struct den_global *g, int argc, char **argv);
int den_cmd_tag(struct den_global *g, int argc, char **argv);
int den_cmd_rmi(struct den_global *g, int argc, char **argv);
int den_cmd_inspect(struct den_global *g, int argc, char **argv);
int den_cmd_run(struct den_global *g, int argc, char **argv);
int den_cmd_create(struct den_global *g, int argc, char **argv);
int den_cmd_start(struct den_global *g, int argc, char **argv);
int den_cmd_cp(struct den_global *g, int argc, char **argv);
int den_cmd_rename(struct den_global *g, int argc, char **argv);
int den_cmd_port(struct den_global *g, int argc, char **argv);
int den_cmd_commit(struct den_global *g, int argc, char **argv);
int den_cmd_exec(struct den_global *g, int argc, char **argv);
int den_cmd_ps(struct den_global *g, int argc, char **argv);
int den_cmd_stop(struct den_global *g, int argc, char **argv);
int den_cmd_kill(struct den_global *g, int argc, char **argv);
int den_cmd_rm(struct den_global *g, int argc, char **argv);
int den_cmd_wait(struct den_global *g, int argc, char **argv);
int den_cmd_logs(struct den_global *g, int argc, char **argv);
int den_cmd_save(struct den_global *g, int argc, char **argv);
int den_cmd_load(struct den_global *g, int argc, char **argv);
int den_cmd_export(struct den_global *g, int argc, char **argv);
int den_cmd_session(struct den_global *g, int argc, char **argv);
int den_cmd_image(struct den_global *g, int argc, char **argv);
int den_cmd_system(struct den_global *g, int argc, char **argv);
int den_cmd_pull(struct den_global *g, int argc, char **argv);
int den_cmd_push(struct den_global *g, int argc, char **argv);
int den_cmd_login(struct den_global *g, int argc, char **argv);
int den_cmd_logout(struct den_global *g, int argc, char **argv);
int den_inspect_remote(int argc, char **argv);

int den_fail(const char *msg);
int den_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The option parser of the commands with a few flags and no getopt table of
 * their own, so every command reads options by getopt's rules: "--" ends them
 * (`den rm -- -x` removes "-x"), "-aq" is -a -q, "--time=5" works.  flags: a
 * NULL-terminated list of "x|long" (a flag) or "x:|long" (with a value);
 * ret_vals[i] is then the value given, "" for a flag given, NULL when absent.
 * Returns the index in argv of the first operand, or -1 after a usage message. */
#define DEN_MAX_FLAGS 8
int den_flags(const char *cmd, int argc, char **argv, const char *const *flags, const char **ret_vals);
/* the same for a command whose only option is -h/--help: the usage printed
 * (returns 0), the index of the first operand (>= 1), or -1 (a bad option) */
int den_operands(const char *cmd, int argc, char **argv, const char *usage);
/* open the store at g->root, or fail with a message; returns the exit code on failure, -1 when open */
int den_open_store(struct den_global *g, struct store *s);
