/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/base/err.h"
#include "lib/base/json.h"
#include "store.h"

/* `den system check`: rehash every blob, check that every named manifest's
 * config and layers are there (and unpacked), list leftovers in tmp/.
 * With repair, what is broken or orphaned is removed.  ret: {"problems":[...],
 * "repaired":[...]} */
int store_check(struct store *s, bool repair, json_t **ret, struct err *err);

/* `den image prune`: remove blobs and layers no name reaches, and tmp/ leftovers.
 * ret_removed: how many entries went. */
int store_prune(struct store *s, unsigned *ret_removed, struct err *err);
