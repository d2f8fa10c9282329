/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

/* A seccomp filter compiled to BPF by den (seccomp_filter_export), installed
 * by the keeper in each command it starts: the keeper needs no libseccomp.
 * The blob is this header, then the program's struct sock_filter instructions. */
struct seccomp_blob_header {
        char magic[4];  /* SECCOMP_BLOB_MAGIC */
        uint32_t flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
};
#define SECCOMP_BLOB_MAGIC "dsb1"
/* a bound for what is read from a cache file or an fd (BPF_MAXINSNS is 4096) */
#define SECCOMP_BLOB_MAX (sizeof(struct seccomp_blob_header) + 4096 * 8)

/* the blob is well formed: -EINVAL if not */
int seccomp_blob_check(const void *blob, size_t len);
/* install it on the calling thread: needs CAP_SYS_ADMIN in its user namespace
 * or no_new_privs, as seccomp(2) does */
int seccomp_blob_install(const void *blob, size_t len, struct err *err);

/* The cache of compiled filters (den's run directory, den-runtime's state directory): the
 * blob DIR/NAME when it is there and well formed (0, *ret malloc'd), else -ENOENT; and
 * keeping one there (DIR made 0700 when missing), where failing costs only the next compile. */
int seccomp_blob_cache_load(const char *dir, const char *name, void **ret, size_t *ret_len);
void seccomp_blob_cache_store(const char *dir, const char *name, const void *blob, size_t len);
