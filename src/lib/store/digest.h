/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/err.h"

/* "sha256:" + 64 lowercase hex digits + NUL */
#define DIGEST_STR_MAX 72

struct digest_ctx;

struct digest_ctx *digest_new(void);
void digest_update(struct digest_ctx *c, const void *data, size_t len);
/* writes "sha256:<hex>" and frees the context */
void digest_final(struct digest_ctx *c, char out[DIGEST_STR_MAX]);
void digest_free(struct digest_ctx *c);

/* the digest of a buffer, in one call */
void digest_buf(const void *data, size_t len, char out[DIGEST_STR_MAX]);

/* "sha256:<64 hex>" only: anything else (other algorithms, upper case, a path) is refused */
bool digest_valid(const char *d);
/* the hex part of a valid digest */
const char *digest_hex(const char *d);
