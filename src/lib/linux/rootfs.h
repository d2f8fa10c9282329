/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"
#include "mount.h"
#include "lib/spec/spec.h"

/* Step 4 of a container start, in the child, in its own mount namespace.
 * rootfs_mount: make / non-shared, bind the root on itself, apply the mounts
 * and /dev; returns the root fd.  rootfs_finish: pivot_root and everything that
 * is done from inside (masked and read-only paths, sysctl, hostname). */
int rootfs_mount(const struct spec *s, const struct mount_op *ops, size_t n_ops, const struct mount_env *env,
                 struct err *err);
/* As the host's root for a container with a user namespace, where mknod
 * is refused: its device nodes made in a tmpfs of the host's (a tmpfs mounted
 * in a user namespace is nodev), one detached mount each, in the order
 * rootfs_mount makes them; mount_env.dev_fds hands them to the child (crun's
 * way).  rootfs_devices_close closes and frees them. */
int rootfs_devices_prepare(const struct spec *s, int **ret_fds, size_t *ret_n, struct err *err);
void rootfs_devices_close(int *fds, size_t n);
int rootfs_bind_console(int root_fd, int slave_fd, struct err *err);
int rootfs_pivot(int root_fd, bool no_pivot, struct err *err);
int rootfs_finish(const struct spec *s, int devnull_fd, struct err *err);
