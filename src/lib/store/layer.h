/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "lib/base/err.h"
#include "store.h"
#include "unpack.h"

/* entries of one layer (or one archive `den load` reads), unless
 * DEN_LAYER_MAX_ENTRIES says otherwise */
#define LAYER_MAX_ENTRIES 1000000
/* The bounds of an unpack, in o->max_bytes and o->max_entries: max_bytes
 * (--max-size) when given, else DEN_LAYER_MAX_SIZE, else the free space of
 * the store's file system; sizes are apparent ones (a sparse file counts
 * whole), so a 10 KB archive cannot stand for 10 TiB. */
void layer_limits(struct store *s, uint64_t max_bytes, struct unpack_opts *o);

/* Make sure the layer stored as blob_digest (compressed or not) is unpacked
 * under layers/<hex of diff_id>/diff; a compressed blob must decompress to
 * diff_id, also when the layer is there already (checked once per blob:
 * layers/<hex>/from/<blob hex> records it).  Unpacked once into tmp/ and renamed into place, so a
 * layer directory that exists is complete.  Rootless, the unpack runs in a
 * user namespace with den's default map (0 -> the user, 1.. -> the sub-ids),
 * the one containers get, so a file of uid 42 belongs to uid 42 inside. */
int layer_ensure(struct store *s, const char *blob_digest, const char *diff_id, uint64_t max_bytes, struct err *err);
/* Decompress (any filter, or none) and hash the blob: -EBADMSG unless it is
 * diff_id; ret_actual (may be NULL) gets what it is.  max: 0, no limit. */
int layer_verify(struct store *s, const char *blob_digest, const char *diff_id, uint64_t max,
                 char ret_actual[DIGEST_STR_MAX], struct err *err);
/* How a layer is written from an overlay upper directory.  The same tree
 * gives the same bytes: entries sorted by name, headers without atime, ctime,
 * uname or gname. */
struct layer_diff_opts {
        int64_t epoch;  /* >= 0: every mtime clamped to it (SOURCE_DATE_EPOCH); -1: kept */
        char **exclude; /* NULL-terminated, may be NULL: paths relative to the root, no leading '/',
                         * left out when they are an empty directory, an empty regular file or a
                         * whiteout (a mount point the container start made) */
};
/* an overlay upper directory (absolute path) as an uncompressed layer tar on out_fd */
int layer_diff_opts(const char *upper, int out_fd, const struct layer_diff_opts *o, struct err *err);
/* the same with no epoch and nothing excluded */
int layer_diff(const char *upper, int out_fd, struct err *err);
/* the directory of an unpacked layer (relative to the store root) */
char *layer_dir(const char *diff_id);
/* remove a tree of the store (rootless: from inside the user namespace, since
 * sub-id owned directories are not the user's to empty) */
int layer_remove_tree(struct store *s, const char *rel, struct err *err);
