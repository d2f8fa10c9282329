/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"
#include "lib/base/json.h"
#include "store.h"

enum image_format { FORMAT_DOCKER_ARCHIVE, FORMAT_OCI_ARCHIVE, FORMAT_OCI_DIR };

int image_format_parse(const char *s, enum image_format *ret);

/* den save: one image to an archive written on out_fd (or, oci-dir, to dir_path) */
int image_save(struct store *s, const char *ref, enum image_format f, int out_fd, const char *dir_path,
               struct err *err);
/* the same for n images in one archive, the blobs they share once (docker save A B) */
int image_save_many(struct store *s, const char *const *refs, size_t n, enum image_format f, int out_fd,
                    const char *dir_path, struct err *err);

/* den load: an OCI layout directory, an oci-archive, or a docker-archive as
 * `docker save` and `podman save` write it (any compression).  Every blob is
 * checked against its digest on the way in; paths named by the archive are
 * resolved inside it.  Prints each name loaded. */
int image_load(struct store *s, const char *source, struct err *err);
/* the same, the names loaded appended to out instead of printed (den serve) */
int image_load_names(struct store *s, const char *source, json_t *out, struct err *err);
