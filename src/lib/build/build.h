/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/store/digest.h"

/* The executor of a Dockerfile (issue 13): the parser's plan, stage by stage
 * (only the stages the target needs), each step on the state the previous one
 * left: RUN in a container made through ctr.h (its overlay upper directory
 * becomes the layer), COPY and ADD as a tar written without a container
 * (copy.h), the rest in the config and history only.  Layer steps are cached
 * under <root>/build-cache/, keyed by the chain of the steps before, the
 * instruction after expansion, the environment and build args it sees and the
 * digest of the files it reads. */

struct build_opts {
        const char *root, *runroot;
        int context_fd;           /* the build context (a directory) */
        const char *dockerfile;   /* its text and length, and the name errors give */
        size_t dockerfile_len;
        const char *dockerfile_name;
        int dockerfile_dir_fd;    /* where <name>.dockerignore may be (-1: the context) */
        char **tags;              /* -t NAME, each normalized and pointed at the result */
        char **build_args;        /* K=V, or K (its value from our environment) */
        char **labels;            /* --label K=V, added last */
        char **secrets;           /* id=ID[,src=PATH|,env=VAR] */
        const char *ssh;          /* default[=SOCKET]: $SSH_AUTH_SOCK when no socket given */
        const char *target;       /* the stage to stop at; NULL: the last */
        const char *network;      /* RUN's network: none (default), host, private */
        const char *platform;     /* only this machine's */
        bool no_cache, pull, quiet;
        int64_t epoch;            /* >= 0: SOURCE_DATE_EPOCH: every time clamped */
        int progress_fd;          /* step lines and RUN output (-1: none) */
        bool live;                /* progress_fd is a terminal: a RUN's last lines live, not its whole output */
        /* an image a FROM names is not in the store (or --pull): fetch it; NULL: an error */
        int (*fetch)(void *userdata, const char *ref, struct err *err);
        void *fetch_userdata;
};

/* ret_id: the image id (its config digest), ret_manifest: the manifest digest */
int build_run(const struct build_opts *o, char ret_id[DIGEST_STR_MAX], char ret_manifest[DIGEST_STR_MAX],
              struct err *err);
/* den builder prune: forget every cached step (the layers go with the next image prune) */
int build_cache_prune(const char *root, uint64_t *ret_count, struct err *err);
