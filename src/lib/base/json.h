/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The one place den reaches its JSON library (jansson): swapping it is a
 * change to this header and json.c. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Field readers for config files.  `where` names the object for errors
 * ("process.user"); a missing field leaves *ret untouched and returns 0, a
 * field of the wrong type fails with a message naming it. */
int json_get_str(json_t *o, const char *where, const char *key, const char **ret, struct err *err);
int json_get_bool(json_t *o, const char *where, const char *key, bool *ret, struct err *err);
int json_get_int(json_t *o, const char *where, const char *key, int64_t min, int64_t max, int64_t *ret,
                 struct err *err);
int json_get_u64(json_t *o, const char *where, const char *key, uint64_t *ret, struct err *err);
/* array of strings -> NULL-terminated vector (NULL when absent) */
int json_get_strv(json_t *o, const char *where, const char *key, char ***ret, struct err *err);
int json_get_obj(json_t *o, const char *where, const char *key, json_t **ret, struct err *err);
int json_get_arr(json_t *o, const char *where, const char *key, json_t **ret, struct err *err);

json_t *json_load_path(const char *path, size_t max, struct err *err);
/* compact dump, caller frees */
char *json_dump_str(json_t *j, bool pretty);
