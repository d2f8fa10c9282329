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

/* The sub-id range of the calling user in /etc/subuid or /etc/subgid (by
 * name or number); -ENOENT when there is none or newuidmap is missing. */
int idmap_subids(const char *file, uid_t id, uint32_t *ret_start, uint32_t *ret_count);
/* den's own map for a rootless user: 0 -> the user, 1.. -> the sub-ids
 * (or only 0 -> the user without them).  Returns the number of entries (1 or 2). */
size_t idmap_default(bool gid, struct spec_idmap ret[2]);
