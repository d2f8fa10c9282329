/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/err.h"

/* A container's root: the image's layers read-only, and a writable upper
 * directory of its own.  Called inside the container's mount (and, rootless,
 * user) namespace. */
enum storage_driver { STORAGE_AUTO, STORAGE_OVERLAY, STORAGE_FUSE_OVERLAYFS, STORAGE_COPY };

struct storage_root {
        char **lowers;  /* absolute layer directories, top-most first */
        size_t n_lowers;
        const char *upper, *work;
        const char *copy;  /* the copy driver's tree */
        bool userxattr; /* rootless overlay: whiteouts and opaque markers in user.* */
};

int storage_driver_parse(const char *s, enum storage_driver *ret);
const char *storage_driver_name(enum storage_driver d);

/* Mount the root with the driver asked for; with STORAGE_AUTO: kernel
 * overlay, then fuse-overlayfs, then a plain copy, saying in one line why
 * the first choice did not work.  Returns the driver used. */
int storage_mount(const struct storage_root *r, enum storage_driver d, int target_fd, const char *target_path,
                  struct err *err);

/* fuse-overlayfs (package fuse-overlayfs) serving the same layers; needs
 * /dev/fuse usable by the caller */
int storage_mount_fuse(const struct storage_root *r, const char *target, struct err *err);
/* the copy driver: the layers copied once (whiteouts applied) into r->copy,
 * which is then bound as the root; later starts reuse the copy */
int storage_mount_copy(const struct storage_root *r, int target_fd, struct err *err);

/* Kernel overlayfs through the new mount API: each lower layer is added with
 * its own fsconfig("lowerdir+") call, so there is no option-length limit (an
 * image of hundreds of layers works).  Kernels before 6.8 take one
 * "lowerdir" string instead. */
int storage_mount_overlay(const struct storage_root *r, int target_fd, struct err *err);
