/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "lib/base/err.h"
#include "lib/spec/spec.h"
#include "container.h"
#include "state.h"

/* helpers shared by container.c, run.c and exec.c */
pid_t runtime_clone3(uint64_t flags, int *ret_pidfd);
/* clone3 into the cgroup open at cgroup_fd (-1: where we are) */
pid_t runtime_clone3_into(uint64_t flags, int *ret_pidfd, int cgroup_fd);
bool runtime_in_userns(void);
bool runtime_is_rootless(int flag);
/* setgroups(2) allowed in the user namespace of pid (0: ours) */
bool runtime_setgroups_allowed(pid_t pid);
/* the config of a created container: its `--config` file, else the bundle's */
int runtime_spec_load(const struct state *st, struct spec *ret, struct err *err);
char *runtime_state_for_hooks(const struct spec *s, const char *id, pid_t pid, const char *status);
int runtime_connect_unix(const char *path, struct err *err);
/* copy what is readable from `from` to `to` once; *open_ goes false at EOF or error */
void runtime_pump(int from, int to, bool *open_);
/* a terminal to proxy (master >= 0): our stdin, when it is a terminal, in raw
 * mode (true: *saved restores it), and master given its size */
bool runtime_tty_raw(int master, struct termios *saved);
/* wait for pid (a child), forwarding signals, proxying a tty master if >= 0;
 * returns the exit status shell-style (128+signal) */
int runtime_wait_forward(pid_t pid, int pidfd, int master, struct err *err);
/* open path with fs_open_private_dir (flags, hint as there) and keep it open;
 * *ret names it as "/proc/self/fd/N" for all later use */
int runtime_dir_pin(const char *path, unsigned flags, const char *hint, char **ret, struct err *err);
/* in a child in a mount namespace of its own: an fd opened before names a mount
 * of the parent's namespace (no mount can be made on it or bound from it), so
 * each pinned fd is replaced by the same directory (same device and inode)
 * opened again here; the "/proc/self/fd/N" names stay valid */
int runtime_dir_enter_mntns(struct err *err);
/* in a child that is to leave the host: close the pinned directories */
void runtime_dir_close_all(void);
/* the host path of a pinned directory, for messages and for other programs */
char *runtime_dir_real(const char *pinned_path);
/* den's run directory: --runroot or $DEN_RUNROOT, else /run/den (root),
 * $XDG_RUNTIME_DIR/den, /tmp/den-<uid>; pinned, *ret is "/proc/self/fd/N" */
int runtime_runroot_open(const char *given, char **ret, struct err *err);
int container_run_internal(const struct create_opts *o, pid_t *ret_pid, int *ret_pidfd, int *ret_master,
                           struct err *err);
