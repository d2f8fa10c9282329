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
int den_cmd_build(struct den_global *g, int argc, char **argv);
int den_cmd_builder(struct den_global *g, int argc, char **argv);
int den_image_history(struct den_global *g, int argc, char **argv);
int den_cmd_system(struct den_global *g, int argc, char **argv);
int den_cmd_serve(struct den_global *g, int argc, char **argv);
int den_cmd_volume(struct den_global *g, int argc, char **argv);
/* den volume prune, den system prune --volumes: prints what went */
int den_volume_prune(struct den_global *g, bool all);
int den_cmd_pull(struct den_global *g, int argc, char **argv);
int den_cmd_push(struct den_global *g, int argc, char **argv);
int den_cmd_login(struct den_global *g, int argc, char **argv);
int den_cmd_logout(struct den_global *g, int argc, char **argv);
int den_inspect_remote(int argc, char **argv);
/* den run/create --pull POLICY: "missing" pulls the image when the store lacks it (docker's
 * default), "always" every time, "never" not; the progress den pull shows goes to stderr.
 * tls_verify as --tls-verify (1, 0, -1 unset).  Returns 0, or the exit code after a message. */
int den_pull_missing(struct den_global *g, const char *image, const char *policy, int tls_verify);

int den_fail(const char *msg);
int den_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The option parser of the commands with a few flags and no getopt table of
 * their own, so every command reads options by getopt's rules: "--" ends them
 * (`den rm -- -x` removes "-x"), "-aq" is -a -q, "--time=5" works.  flags: a
 * NULL-terminated list of "x|long" (a flag) or "x:|long" (with a value);
 * ret_vals[i] is then the value given, "" for a flag given, NULL when absent.
 * -h and --help are always there: they print "usage: " and usage.
 * Returns the index in argv of the first operand (>= 1), 0 after the help
 * (exit 0), or -1 after a message naming the bad option (exit 2). */
#define DEN_MAX_FLAGS 8
int den_flags(const char *cmd, const char *usage, int argc, char **argv, const char *const *flags,
              const char **ret_vals);
/* the same for a command whose only option is -h/--help */
int den_operands(const char *cmd, int argc, char **argv, const char *usage);
/* after getopt_long() returned '?' (den sets opterr to 0): a usage message naming the
 * unknown option, or the option missing its value; so and lo as given to getopt_long */
struct option;
int den_bad_option(const char *cmd, char **argv, const char *so, const struct option *lo);
/* open the store at g->root, or fail with a message; returns the exit code on failure, -1 when open */
int den_open_store(struct den_global *g, struct store *s);
