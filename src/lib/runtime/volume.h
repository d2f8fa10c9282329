/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* Volumes: named directories under the store that containers mount and that outlive
 * them (docker's local driver).
 *
 * On disk: <root>/volumes/<name>/volume.json (what `inspect` shows, less Mountpoint
 * and UsageData) and <root>/volumes/<name>/_data, the content.  A volume is made
 * under a temporary name and renamed into place: it is there whole or not at all.
 *
 * Names follow docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]+; an anonymous volume (an
 * image's VOLUME, `-v /path`) gets 64 hex digits and the label
 * "den.anonymous" = "1" in volume.json's Den field, and is removed with its
 * container by `den rm -v` and `--rm`.
 *
 * Options (`--opt`, docker's local driver): type=tmpfs (a fresh tmpfs at each mount,
 * nothing kept; o=size=...,mode=...), type=none with o=bind and device=/HOST/DIR (the
 * volume is that host directory).  Any other option is refused. */

#define VOLUME_NAME_MAX 255

int volume_name_check(const char *name, struct err *err);

struct volume_create_opts {
        const char *name;   /* NULL: an anonymous volume (a random name) */
        const char *driver; /* NULL or "local" */
        char **opts;        /* "KEY=VALUE" */
        json_t *labels;     /* {"k": "v"}, borrowed; NULL: none */
        bool anonymous;
        bool reuse;         /* an existing volume of that name whatever its options (den run's
                             * -v NAME:/PATH, which makes it only when missing) */
};

/* *ret: the volume as `inspect` shows it.  A volume of that name already there is
 * given back as it is (docker's create is idempotent) unless its driver or options
 * differ (-EEXIST). */
int volume_create(const char *root, const struct volume_create_opts *o, json_t **ret, struct err *err);

/* docker's volume inspect: {Name, Driver, Mountpoint, CreatedAt, Labels, Scope, Options}
 * (-ENOENT: "no such volume") */
int volume_inspect(const char *root, const char *name, json_t **ret, struct err *err);

/* every volume, as inspect shows them (sorted by name) */
int volume_list(const char *root, json_t **ret, struct err *err);

/* the names of the containers (their names, not ids) that mount the volume, NULL-ended;
 * an empty list when none does */
char **volume_users(const char *root, const char *name);

/* removed with its content; -EBUSY (naming the containers) while a container has it,
 * unless force (docker's rm -f removes a volume no running container uses... den, as
 * docker, refuses a volume in use even with force) */
int volume_rm(const char *root, const char *name, bool force, struct err *err);

/* every volume no container mounts (all: named ones too, else only anonymous ones, as
 * docker's prune without --all); *ret: the names removed, *ret_bytes: the space freed */
int volume_prune(const char *root, bool all, json_t *label_filters, char ***ret, uint64_t *ret_bytes,
                 struct err *err);

/* How a container mounts a volume (what den run keeps in its record):
 * the host path to bind (its _data, or the bound device), or tmpfs. */
struct volume_mount {
        char *source;       /* host directory; NULL for a tmpfs volume */
        char *tmpfs_data;   /* a tmpfs volume's o= (size=...,mode=...), or NULL */
        bool copy_up;       /* the image's content at the target goes in while the volume is empty
                             * (a tmpfs one: at each mount) */
};
int volume_mount_of(const char *root, const char *name, struct volume_mount *ret, struct err *err);
void volume_mount_free(struct volume_mount *m);

/* the volumes' lock held by this thread until volume_release(), across the volume calls it
 * makes meanwhile: den run makes its volumes and writes its record under it, so no prune or
 * rm of another process sees a volume it made before the record that uses it */
int volume_hold(const char *root, struct err *err);
void volume_release(void);

/* the bytes its _data holds (du), -1 when it cannot be read */
int64_t volume_size(const char *root, const char *name);
