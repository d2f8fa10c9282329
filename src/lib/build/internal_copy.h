/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "copy.h"
#include "lib/base/err.h"

/* What build_copy_tar collects before it writes: one entry of the layer each,
 * written sorted by name once every source is read (copy.c); archives and
 * downloads (copy_fetch.c) spool their data into one temporary file. */
enum centry_data {
        DATA_NONE,  /* a directory, a symlink, a fifo, an empty file */
        DATA_SRC,   /* a regular file of the source (context or image) at src */
        DATA_SPOOL, /* st.st_size bytes of the spool at off */
};

struct centry {
        char *name;  /* in the layer: relative, no leading '/', symlinks of the stage's root resolved */
        struct stat st; /* st_mode (type and permissions), st_uid, st_gid, st_mtime, st_size */
        char *link;  /* a symlink's target */
        enum centry_data data;
        char *src;   /* DATA_SRC: the source path, relative to the context or the image root */
        off_t off;   /* DATA_SPOOL */
        size_t seq;  /* the order added: of two entries of one name the later wins */
};

struct copy_job {
        const struct build_copy *c;
        struct centry *e;
        size_t n;
        size_t seq;     /* entries added so far */
        int spool;      /* -1 until first used: an unnamed temporary file */
        off_t spool_len;
        uid_t uid;      /* the --chown ids, 0 without */
        gid_t gid;
        time_t now;     /* the mtime of what the copy makes (directories, downloads without a date) */
};

/* a new entry owned by the --chown ids; valid until the next push */
struct centry *copy_push(struct copy_job *j, const char *name, mode_t mode, time_t mtime);
int copy_spool_fd(struct copy_job *j, struct err *err);
int copy_spool_write(struct copy_job *j, const void *data, size_t len, struct err *err);
/* the source at path opened for reading */
int copy_src_open(const struct copy_job *j, const char *path, int *ret_fd, struct err *err);
/* path (relative) as the stage's root resolves it */
char *copy_dest_real(const struct copy_job *j, const char *path, bool follow, struct err *err);
/* ADD: fd a tar archive (any compression)? then its entries below dest, and 1; 0: not an archive */
int copy_archive_maybe(struct copy_job *j, int fd, const char *what, const char *dest, struct err *err);
/* ADD of an http(s) URL: fetched into the spool, written as dest/<name> or dest */
int copy_url(struct copy_job *j, const char *url, const char *dest, bool dest_dir, struct err *err);
