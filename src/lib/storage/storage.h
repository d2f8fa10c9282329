/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/err.h"

/* A container's root: the image's layers read-only, and a writable upper
 * directory of its own.  Called inside the container's mount (and, rootless,
 * user) namespace. */
struct storage_root {
        char **lowers;  /* absolute layer directories, top-most first */
        size_t n_lowers;
        const char *upper, *work;
        bool userxattr; /* rootless overlay: whiteouts and opaque markers in user.* */
};

/* Kernel overlayfs through the new mount API: each lower layer is added with
 * its own fsconfig("lowerdir+") call, so there is no option-length limit (an
 * image of hundreds of layers works).  Kernels before 6.8 take one
 * "lowerdir" string instead. */
int storage_mount_overlay(const struct storage_root *r, int target_fd, struct err *err);
