/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "lib/base/err.h"

/* Writing tar archives (pax), through libarchive opened on first use.  The
 * same input gives the same bytes: trees are walked in byte order of their
 * names, headers carry no atime, ctime, uname or gname and whole-second
 * mtimes (clamped with tarw_set_epoch). */
struct tarw;

int tarw_open(int fd, struct tarw **ret, struct err *err);
/* epoch >= 0: no entry written after this gets an mtime later than it
 * (SOURCE_DATE_EPOCH); < 0: mtimes as they are */
void tarw_set_epoch(struct tarw *t, int64_t epoch);
int tarw_add_bytes(struct tarw *t, const char *name, const void *data, size_t len, struct err *err);
/* a regular file from an fd (its size from fstat) */
int tarw_add_fd(struct tarw *t, const char *name, int fd, struct err *err);
int tarw_add_dir(struct tarw *t, const char *name, struct err *err);
/* a whole tree below dirfd (names prefixed), walked with O_NOFOLLOW, staying on one mount */
int tarw_add_tree(struct tarw *t, int dirfd, const char *prefix, struct err *err);
/* an overlay upper directory as an image layer: whiteouts (char 0:0) become .wh.NAME,
 * opaque directories get .wh..wh..opq, owners kept.  exclude (NULL-terminated,
 * may be NULL): paths relative to dirfd, left out when they are an empty
 * directory, an empty regular file or a whiteout (the mount points a container
 * start made) */
int tarw_add_upper(struct tarw *t, int dirfd, char *const *exclude, struct err *err);
/* one entry as st says (type and permission bits of st_mode, st_uid, st_gid,
 * st_mtime, st_size, st_rdev): a regular file's st_size bytes are read from
 * data_fd where it stands; link_target: a symlink's */
int tarw_add_entry(struct tarw *t, const char *name, const struct stat *st, int data_fd, const char *link_target,
                   struct err *err);
int tarw_close(struct tarw *t, struct err *err);
