/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Lexically clean an absolute or relative path: collapse "//", "." and "..",
 * never climbing above the start.  Returns a new string without a leading '/'
 * ("" for the root itself). */
char *path_clean_relative(const char *path);

/* open path inside the tree of root_fd: every symlink and ".." is resolved as if
 * root_fd were "/" (openat2 RESOLVE_IN_ROOT), magic links refused. */
int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode);

enum fs_create { FS_CREATE_NONE, FS_CREATE_DIR, FS_CREATE_FILE };
/* Resolve path inside root_fd, creating missing directories (and the last
 * component as a dir or an empty file) one component at a time, each created
 * relative to an fd already resolved inside the root.  Returns an O_PATH fd. */
int fs_resolve_create(int root_fd, const char *path, enum fs_create how, mode_t mode, struct err *err);

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
int fs_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
int fs_write_file(const char *path, const char *data, size_t len);
int fs_write_atomic(int dir_fd, const char *name, const char *data, size_t len, mode_t mode);
/* the same without fsync: readers never see half a file, but a crash may lose
 * it (run state, records of short-lived containers) */
int fs_write_replace(int dir_fd, const char *name, const char *data, size_t len, mode_t mode);
int fs_mkdir_p(const char *path, mode_t mode);

enum { FS_PRIVATE_CREATE = 1 << 0, FS_PRIVATE_0700 = 1 << 1 };
/* Open path as a directory to keep private state in (a run or state directory):
 * never through a symlink as its last component, and only when our euid owns it
 * and neither group nor others may write to it; FS_PRIVATE_0700: its mode must
 * be exactly 0700 (a name in a shared directory such as /tmp).  FS_PRIVATE_CREATE
 * makes it (mode 0700) and its parents when missing.  A refusal says why and
 * ends with hint (what the user can do instead).  Returns an O_DIRECTORY fd. */
int fs_open_private_dir(const char *path, unsigned flags, const char *hint, struct err *err);
int fs_rm_rf(const char *path);
/* the names in the directory dirfd (any fd of it, O_PATH too) but "." and "..",
 * sorted in byte order (readdir's order depends on the file system and the
 * directory's history: nothing reproducible may follow it); *ret is a
 * NULL-terminated strv */
int fs_dir_names(int dirfd, char ***ret, size_t *ret_n);
/* remove name below dfd, a whole tree if a directory; never follows symlinks */
int fs_rm_rf_at(int dfd, const char *name);
/* bytes used on disk below path (st_blocks), never following symlinks */
uint64_t fs_disk_usage(int dfd, const char *name);
ssize_t fs_write_all(int fd, const void *buf, size_t len);
ssize_t fs_read_all(int fd, void *buf, size_t len);

/* the tree below src copied into dst (both directory fds): directories, files, symlinks
 * and nodes, modes and owners kept as far as this user namespace maps them (a node or
 * owner it cannot make is left out silently); symlinks are never followed.  With
 * opaque_xattr (an image layer onto a copy of the layers below): a whiteout (0/0 char
 * device) deletes, a directory with that xattr "y" is emptied first. */
int fs_copy_tree(int src, int dst, const char *opaque_xattr, struct err *err);
