/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/json.h"
#include "store.h"

/* Image references, docker's grammar: [HOST[:PORT]/]PATH[:TAG]; a name with
 * no host gets "localhost/" (images den makes itself; pulled images will be
 * named by the registry issue's documented rule), a missing tag "latest". */
int image_ref_normalize(const char *ref, char **ret, struct err *err);

struct image_import_opts {
        const char *name;       /* reference to give the image */
        const char *source;     /* path, or "-" for stdin */
        uint64_t max_bytes;     /* unpacked size limit, 0: none */
};

/* A one-layer image from a root filesystem tarball (tar, tar.gz, tar.zst, tar.xz). */
int image_import(struct store *s, const struct image_import_opts *o, char ret_manifest[DIGEST_STR_MAX],
                 struct err *err);

/* den commit: an image of base's layers and the layer tar on layer_fd (uncompressed),
 * named name; history gets comment */
int image_commit(struct store *s, const char *base, int layer_fd, const char *name, const char *comment,
                 char ret[DIGEST_STR_MAX], struct err *err);
/* names.json: name -> manifest digest */
int image_names_load(struct store *s, json_t **ret, struct err *err);
/* atomically; the caller holds the store lock */
int image_names_save(struct store *s, json_t *names, struct err *err);
int image_resolve(struct store *s, const char *ref, char ret_manifest[DIGEST_STR_MAX], struct err *err);
/* an image by its id, docker's (the config's digest, "sha256:HEX" or 4 or more of its first hex digits) */
int image_find_id(struct store *s, const char *id, char ret_manifest[DIGEST_STR_MAX], struct err *err);
int image_tag(struct store *s, const char *src, const char *dst, struct err *err);
/* drop a name; the blobs and layers go when nothing names them (prune) */
int image_untag(struct store *s, const char *ref, struct err *err);
/* {manifest, config, names, size} for `den inspect` / `den images` */
int image_inspect(struct store *s, const char *manifest, json_t **ret, struct err *err);
/* an image config from the store: a precise error when it is not JSON, is
 * nested too deep, or has no rootfs.diff_ids array */
int image_config_load(struct store *s, const char *digest, json_t **ret, struct err *err);
