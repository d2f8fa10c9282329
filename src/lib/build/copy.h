/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ignore.h"
#include "lib/base/err.h"
#include "lib/store/digest.h"
#include "view.h"

/* COPY and ADD write a layer without a container: the sources become a tar
 * (entries sorted by name, container ids in the headers) whose digest is the
 * layer's diff id; the caller stores and unpacks it. */
struct build_copy {
        int context_fd;           /* sources come from this directory (the build context) ... */
        const struct view *from;  /* ... or, when set, from this image root (COPY --from) */
        const struct ignore *ign; /* .dockerignore for the context (NULL: none) */
        char **srcs;              /* expanded sources, relative to the context or absolute in `from`;
                                   * Go filepath.Match wildcards; ADD: also http(s) URLs */
        const char *dest;         /* expanded, absolute (WORKDIR already joined); a trailing '/' means a directory */
        const struct view *base;  /* the stage's root so far: whether dest is a directory,
                                   * the attributes of its existing parents */
        uid_t uid;                /* --chown resolved; (uid_t)-1: 0 (docker: root unless --chown) */
        gid_t gid;
        int chmod;                /* --chmod as a mode, -1: the sources' own */
        bool add;                 /* ADD: local tar archives (any compression) are unpacked at dest,
                                   * URLs fetched (network on only) */
        bool network;             /* ADD of a URL allowed */
        int64_t epoch;            /* >= 0: every mtime clamped to it (SOURCE_DATE_EPOCH) */
        const char *heredoc_name; /* COPY <<EOF dest: a file of this name ... */
        const char *heredoc_body; /* ... and this content (mode 0644) */
        bool mkdir_only;          /* WORKDIR: only dest and its missing parents, as directories */
};

/* The layer tar on out_fd.  Errors name the source: "COPY failed: 'x' is
 * outside the build context", "no source files were specified", "file not
 * found in build context or excluded by .dockerignore: stat x"... */
int build_copy_tar(const struct build_copy *c, int out_fd, struct err *err);
/* what the cache keys a copy by, without writing it: the digest of every entry's
 * name, type, mode, owner, link target and content (times left out, so a file
 * touched but not changed keeps its cache) */
int build_copy_key(const struct build_copy *c, char ret[DIGEST_STR_MAX], struct err *err);
