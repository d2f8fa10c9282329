/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/spec/spec.h"

/* Step 5 of a container start: become the configured process.  Split so that
 * everything that can fail is done before `create` returns; only the exec is
 * left for `start`. */

/* rlimits, oom score, scheduler, io priority, personality, umask */
int process_set_limits(const struct spec_process *p, const struct spec *s, bool rootless, struct err *err);
/* cwd, resolved inside the (already pivoted) root */
int process_chdir(const char *cwd, struct err *err);
/* groups, gid, uid, keeping and then setting the five capability sets */
int process_set_user_caps(const struct spec_process *p, bool setgroups_allowed, struct err *err);
int process_set_no_new_privs(void);
/* runc's fixStdioPermissions: stdio not already uid's (and not /dev/null)
 * is chowned to uid, so that the process can reopen it (/proc/self/fd/1,
 * /dev/stdout); an fd whose owner or group is not mapped is left alone, and
 * so is a character device unless own_tty (stdio is the container's pty).
 * Call it inside the root, still privileged */
int process_fix_stdio(uid_t uid, bool own_tty, struct err *err);
/* find args[0] in PATH of env: ret is the path to exec */
int process_find_exec(const struct spec_process *p, char **ret, struct err *err);
/* mark every fd >= 3 + n_preserve close-on-exec */
int process_close_fds(int n_preserve);

/* the largest /etc/passwd or /etc/group read from a container */
#define PROCESS_ETC_MAX (4u << 20)
/* a line of /etc/passwd or /etc/group split at ':' in place: at most max fields */
int process_etc_fields(char *line, char **f, int max);
/* path (/etc/passwd, /etc/group) of the root we are in, read safely: resolved
 * inside "/", not through a last symlink, never waiting, only a regular file of
 * at most PROCESS_ETC_MAX bytes; a missing file reads as NULL */
int process_read_etc(const char *path, char **ret, struct err *err);
/* runc and crun: without HOME in *env, add the uid's home from the container's
 * /etc/passwd, else "/".  *env may be moved */
void process_env_default_home(char ***env, uid_t uid);
