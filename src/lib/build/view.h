/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/store/store.h"

/* A read-only view of an image's root from the host: its unpacked layers
 * (layers/<hex>/diff of the store) merged as overlayfs merges them (a whiteout
 * hides a name of the layers below, an opaque directory all of them).  Paths are
 * resolved one component at a time, symlinks followed inside the image's root
 * (an absolute link restarts at that root, ".." stops at it, at most 40 links),
 * so nothing resolves outside the layers.  Ids are the container's: a rootless
 * store holds sub-ids, mapped back with den's default map. */
struct view {
        int *layer_fds; /* the diff directories (O_PATH), the base first */
        size_t n;
        /* host ids -> the container's (rootless: den's default map, idmap_default) */
        bool map_ids;                       /* false as root: ids are the container's */
        uid_t host_uid;                     /* -> 0 */
        gid_t host_gid;                     /* -> 0 */
        uint32_t subuid_start, subuid_count; /* -> 1..count; any other host id -> 65534 */
        uint32_t subgid_start, subgid_count;
};

/* diff_ids: the image's rootfs.diff_ids, base first; n may be 0 (scratch) */
int view_open(struct store *s, char *const *diff_ids, size_t n, struct view *ret, struct err *err);
void view_close(struct view *v);
/* *ret_fd: an O_PATH fd of the topmost entry at path; follow: the last
 * component is followed too when it is a symlink.  -ENOENT when absent. */
int view_open_path(const struct view *v, const char *path, bool follow, int *ret_fd, struct err *err);
/* *ret_fd: a regular file at path opened for reading (O_RDONLY), symlinks followed;
 * -EISDIR, -EINVAL (not a regular file) */
int view_open_read(const struct view *v, const char *path, int *ret_fd, struct err *err);
/* the names of the merged directory at path (symlinks followed), sorted in byte
 * order, whiteouts and what they hide left out; *ret a NULL-terminated strv */
int view_list(const struct view *v, const char *path, char ***ret, size_t *ret_n, struct err *err);
/* path with every symlink among its existing components resolved inside the
 * root (the last one too when follow), relative, no leading '/' ("" for the
 * root); components that do not exist are appended as they are */
int view_realpath(const struct view *v, const char *path, bool follow, char **ret, struct err *err);
/* st_uid and st_gid in container ids */
int view_stat(const struct view *v, const char *path, bool follow, struct stat *ret, struct err *err);
/* a regular file's content (at most max bytes, else -EFBIG) */
int view_read_file(const struct view *v, const char *path, size_t max, char **ret, size_t *ret_len,
                   struct err *err);
/* "user[:group]", each a name or a number, as docker resolves USER and
 * --chown: names through the view's /etc/passwd and /etc/group; a user alone
 * gets its primary group from /etc/passwd (0 when it is a number not listed).
 * A name that is not there is an error naming it and the file. */
int view_resolve_user(const struct view *v, const char *spec, uid_t *ret_uid, gid_t *ret_gid, struct err *err);
