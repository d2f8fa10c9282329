/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/spec/spec.h"

/* "containerID hostID size\n" lines for /proc/PID/{uid,gid}_map; pure */
char *idmap_format(const struct spec_idmap *m, size_t n);

/* Write the maps of pid's user namespace: directly when the kernel lets us
 * (root, or the single id of the caller), else through newuidmap/newgidmap
 * (package uidmap) for sub-id ranges.  *ret_setgroups tells whether setgroups(2)
 * stays allowed in the namespace. */
int idmap_write(pid_t pid, const struct spec_idmap *uid, size_t n_uid, const struct spec_idmap *gid,
                size_t n_gid, bool *ret_setgroups, struct err *err);

/* A user namespace fd carrying the given maps, for idmapped mounts. */
int idmap_userns_fd(const struct spec_idmap *uid, size_t n_uid, const struct spec_idmap *gid, size_t n_gid,
                    struct err *err);
