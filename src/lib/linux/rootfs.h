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
int rootfs_bind_console(int root_fd, int slave_fd, struct err *err);
int rootfs_pivot(int root_fd, bool no_pivot, struct err *err);
int rootfs_finish(const struct spec *s, int devnull_fd, struct err *err);
