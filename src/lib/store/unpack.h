/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"

/* Unpack one layer archive (tar; gzip, zstd, xz or none) into a directory.
 * Every entry is created relative to fds resolved beneath the layer root with
 * symlinks refused on the way (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
 * an entry that would leave the root, pass through a symlink, hard-link
 * outside, or (rootless) make a device node fails with an error naming the
 * layer and the entry.  OCI whiteouts become overlay whiteouts (0/0 character
 * devices) and opaque markers (the overlay.opaque xattr). */
struct unpack_opts {
        const char *layer;      /* name for errors */
        uint64_t max_bytes;     /* apparent sizes (a sparse file's full size); 0: no limit */
        uint64_t max_entries;   /* 0: no limit */
        bool allow_devices;     /* root without a user namespace */
        bool chown;             /* apply the archive's ownership */
        const char *opaque_xattr; /* "trusted.overlay.opaque" or "user.overlay.opaque" */
};

struct unpack_stats {
        uint64_t entries, bytes;
        uint64_t skipped_devices; /* device nodes under dev/, rootless */
};

int layer_unpack(int archive_fd, int dest_fd, const struct unpack_opts *o, struct unpack_stats *ret, struct err *err);

/* Decompress archive_fd (any filter libarchive knows, or none) into out_fd. */
int layer_decompress(int archive_fd, int out_fd, uint64_t max, struct err *err);
/* the same, hashing what comes out into hash as it goes; out_fd -1: only hash */
struct digest_ctx;
int layer_decompress_hashed(int archive_fd, int out_fd, uint64_t max, struct digest_ctx *hash, uint64_t *ret_total,
                            struct err *err);
/* Decompress a tar archive into out_fd up to its end-of-archive marker (what
 * follows is not read), refusing it past o's limits (entries, apparent sizes)
 * from the headers, before their data is read; an archive without an entry
 * is refused (a stream of zeros, /dev/zero, is one). */
int layer_decompress_tar(int archive_fd, int out_fd, const struct unpack_opts *o, struct err *err);
