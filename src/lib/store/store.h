/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"
#include "lib/base/err.h"

/* The content-addressed store under --root:
 *
 *   blobs/sha256/<hex>        manifests, configs, layer archives; checked while written
 *   layers/<hex of diff id>/  a layer unpacked once, shared read-only
 *   names.json                image names -> manifest digests
 *   tmp/                      work in progress; anything here is garbage after a crash
 *   lock                      flock: writers take it exclusively
 *
 * Every write lands by temp name + fsync + rename, so a crash leaves either
 * the old state or the new, and `tmp/` to sweep. */
struct store {
        char *root;
        int root_fd;
        int lock_fd;
};

int store_open(const char *root, struct store *ret, struct err *err);
void store_close(struct store *s);
int store_lock(struct store *s, bool exclusive, struct err *err);
void store_unlock(struct store *s);

/* Copy fd into a blob, hashing as it streams.  With expected set, a
 * mismatch is refused and nothing enters the store.  max bounds the size. */
int store_put_blob_fd(struct store *s, int fd, const char *expected, uint64_t max, char ret[DIGEST_STR_MAX],
                      uint64_t *ret_size, struct err *err);
/* A blob written piece by piece (a download), hashed as it goes: begin,
 * write..., then commit (checked against expected, fsync'd, renamed into
 * blobs/) or abort.  restart empties it (a server that ignored a Range). */
struct blob_writer {
        struct store *s;
        int fd;
        char *path;
        struct digest_ctx *c;
        uint64_t size;
        uint64_t max; /* 0: no limit */
};
int store_blob_begin(struct store *s, struct blob_writer *w, struct err *err);
int store_blob_write(struct blob_writer *w, const void *data, size_t len, struct err *err);
int store_blob_restart(struct blob_writer *w, struct err *err);
/* frees w whatever the outcome */
int store_blob_commit(struct blob_writer *w, const char *expected, char ret[DIGEST_STR_MAX], struct err *err);
void store_blob_abort(struct blob_writer *w);
int store_put_blob_mem(struct store *s, const void *data, size_t len, char ret[DIGEST_STR_MAX], struct err *err);
bool store_has_blob(struct store *s, const char *digest);
int store_open_blob(struct store *s, const char *digest, struct err *err);
int store_read_blob(struct store *s, const char *digest, size_t max, char **ret, size_t *ret_len, struct err *err);
int store_remove_blob(struct store *s, const char *digest);

/* a fresh directory under tmp/, for work that is renamed into place when done */
int store_mkdtemp(struct store *s, char **ret_name, struct err *err);
