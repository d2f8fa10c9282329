/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

#include "lib/base/err.h"

/* Writing tar archives (pax), through libarchive opened on first use. */
struct tarw;

int tarw_open(int fd, struct tarw **ret, struct err *err);
int tarw_add_bytes(struct tarw *t, const char *name, const void *data, size_t len, struct err *err);
/* a regular file from an fd (its size from fstat) */
int tarw_add_fd(struct tarw *t, const char *name, int fd, struct err *err);
int tarw_add_dir(struct tarw *t, const char *name, struct err *err);
/* a whole tree below dirfd (names prefixed), walked with O_NOFOLLOW, staying on one mount */
int tarw_add_tree(struct tarw *t, int dirfd, const char *prefix, struct err *err);
/* an overlay upper directory as an image layer: whiteouts (char 0:0) become .wh.NAME,
 * opaque directories get .wh..wh..opq, owners kept */
int tarw_add_upper(struct tarw *t, int dirfd, struct err *err);
int tarw_close(struct tarw *t, struct err *err);
