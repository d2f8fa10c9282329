/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "engine.h"

/* One small interface to den's containers for the builder and the API service:
 * make a container (its record and a keeper, no main command), run commands in
 * it with the caller's fds, halt its keeper, take its changes, remove it.  The
 * den verbs (run, session, exec, rm) are built on the same functions. */

struct ctr_cmd {
        char **argv;          /* run as given: no image Entrypoint or Cmd is added */
        char **env;           /* the whole environment (K=V); the keeper adds nothing but HOME when unset
                               * (from the container's /etc/passwd, else /) */
        const char *workdir;  /* absolute in the container; NULL: "/" */
        const char *user;     /* "name|uid[:group|gid]" resolved in the container; NULL: root */
        const char *network;  /* NULL: the container's own */
        int fds[3];           /* the command's stdin, stdout and stderr (-1: /dev/null) */
};

/* a main command's input from its starter (den serve's attach); its output goes to the
 * container's log as always */
struct ctr_io {
        int stdin_fd;    /* without a terminal: its stdin (-1: /dev/null) */
        int master;      /* out: with a terminal, the master of the pty the keeper made (the
                          * keeper holds one too and logs what the terminal shows) */
};
/* a command started and not waited for */
struct ctr_proc {
        int sock;        /* the keeper's connection: EXITED arrives there */
        int master;      /* with a terminal: the pty master, else -1 */
        char *rundir;
};

/* A container from o with a keeper waiting for commands, as den session begin
 * makes it (o->session and o->detach implied; o->network NULL: "host"), but
 * nothing is printed.  o->image is a name, or a manifest digest "sha256:<hex>" of
 * the store even when no name points at it.  *ret_id: its id (free it).
 * The keeper is a child of this process until it ends: ctr_halt() and
 * ctr_remove() reap it. */
int ctr_make(const struct engine_run_opts *o, char **ret_id, struct err *err);
/* run c in it, wait for it: *ret_status is its exit status (128+N after signal N).
 * A command that cannot start (no such program, user or directory) is an error
 * with the keeper's message, not a status.  c->network: the container's own or
 * "none".  The caller's signal mask, handlers and stdio are left alone. */
int ctr_exec(const char *root, const char *runroot, const char *id, const struct ctr_cmd *c, int *ret_status,
             struct err *err);
/* end the keeper (its commands are killed); the record and the changes stay */
int ctr_halt(const char *root, const char *runroot, const char *id, struct err *err);
/* the container's changes: the host path of its overlay upper directory (free it);
 * NULL when it has a plain copy of its image (storage driver copy) instead */
char *ctr_upper(const char *root, const char *id);
/* the destinations of the mounts its spec has, absolute paths in the container
 * (/proc, /dev/..., /etc/hosts, /etc/resolv.conf, /etc/hostname, volumes, tmpfs,
 * and the masked paths, which may be bound over by /dev/null): a builder leaves
 * out of a layer the empty mountpoints the start made.  *ret: a strv to free */
int ctr_mount_targets(const char *root, const char *id, char ***ret, struct err *err);
/* halt it when running, remove record, changes and run directory */
int ctr_remove(const char *root, const char *runroot, const char *id, struct err *err);
/* start a created or stopped container's main command with io's input (its record's
 * Tty: a terminal, master in io->master) and return at once; *ret_keeper: the keeper,
 * a child of this process until it ends.  -EBUSY when it runs already */
int ctr_start_io(const char *root, const char *runroot, const char *id, struct ctr_io *io, pid_t *ret_keeper,
                 struct err *err);
/* start c in a running container without waiting; tty: on a terminal of the container
 * (c->fds unused) of rows x cols (0: the keeper's default), its master in ret->master */
int ctr_spawn(const char *root, const char *runroot, const char *id, const struct ctr_cmd *c, bool tty,
              unsigned rows, unsigned cols, struct ctr_proc *ret, struct err *err);
/* wait for a spawned command: *ret_status as ctr_exec's; frees p's parts (master not closed) */
int ctr_proc_wait(struct ctr_proc *p, int *ret_status, struct err *err);
