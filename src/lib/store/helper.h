/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "lib/base/err.h"
#include "unpack.h"

/* Store work that must run in a user namespace with den's default map
 * (rootless: the sub-ids' files can be made, read and removed only from
 * there).  den has threads when it needs this (the inflate thread of
 * layer_ensure, the download threads of a pull), and a fork of a threaded
 * process may only call async-signal-safe functions until it execs: libarchive
 * and malloc are not.  So the work runs in a fresh exec of the running program
 * (/proc/self/exe), started with posix_spawn (clone(CLONE_VM | CLONE_VFORK)
 * and exec, nothing in between) and recognized before main() by a constructor
 * of this file, whatever the program (den, den-unschroot, a unit test).  It
 * gets exactly the fds of its job, at fixed numbers, and dies with its parent
 * (PR_SET_PDEATHSIG, checked against getppid(): a parent gone before it was
 * set is seen).  Parent and helper talk in typed messages over a
 * SOCK_SEQPACKET pair; the helper's error arrives as its struct err. */
enum helper_op {
        HELPER_UNPACK, /* layer_unpack(fds[0], fds[1], &o) */
        HELPER_DIFF,   /* the overlay upper directory `path` as a layer tar on fds[0], with epoch and exclude */
        HELPER_RM,     /* remove `path` below the directory fds[0] */
};

struct helper_job {
        enum helper_op op;
        int fds[2];           /* -1: unused */
        const char *path;     /* HELPER_DIFF, HELPER_RM */
        struct unpack_opts o; /* HELPER_UNPACK */
        int64_t epoch;        /* HELPER_DIFF: >= 0, mtimes clamped to it; -1: as they are */
        char *const *exclude; /* HELPER_DIFF: NULL-terminated, may be NULL (layer_diff_opts) */
};

/* run job in a helper in a new user namespace with den's default map */
int helper_run(const struct helper_job *job, struct err *err);
/* run job here, in this process (root, or the helper itself) */
int helper_job_exec(const struct helper_job *job, struct err *err);
