/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The parts of den's containers (engine.h, ctr.h), shared between their files:
 *   record.c        records, ids, names, state
 *   ctr_spec.c      the image, the container's config.json, a command's process
 *   keeper_ctl.c    starting a keeper, sending it a command, waiting for it
 *   ctr.c           making a container and running commands in it (ctr.h)
 *   engine.c        the den verbs, thin callers of the above */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctr.h"
#include "engine.h"
#include "lib/base/err.h"
#include "lib/base/json.h"
#include "lib/net/net.h"
#include "lib/storage/storage.h"
#include "lib/store/digest.h"
#include "lib/store/store.h"

/* ---- record.c ---- */

/* a container's keeper, as far as a den verb needs it */
struct record_target {
        char *id, *rundir; /* full id; <runroot>/containers/<id> */
        bool running;      /* its keeper lives (a temporary one for cp/export too) */
        pid_t keeper;
};

/* a new container id: 64 hex digits */
char *record_random_id(void);
/* <root>/containers/<id>/container.json, NULL: none or damaged */
json_t *record_load(const char *root, const char *id);
/* find a container by id, id prefix (4 or more) or name */
int record_find(const char *root, const char *what, char **ret_id, struct err *err);
bool record_name_taken(const char *root, const char *name);
/* whether its keeper lives; *ret_pid its pid */
bool record_keeper_alive(const char *runroot, const char *id, pid_t *ret_pid);
/* whether its keeper only serves a den cp or den export of the stopped container */
bool record_keeper_temporary(const char *runroot, const char *id);
/* "running", "exited" or "created"; *ret_code the exit status, -1: none */
const char *record_state(json_t *rec, const char *runroot, const char *id, bool running, int *ret_code);
/* the run directory opened (*ret_rr) and the container found */
int record_target_open(const char *root, const char *runroot, const char *what, struct record_target *t, char **ret_rr,
                       struct err *err);
void record_target_free(struct record_target *t);
json_t *record_strv_json(char **v);
char **record_json_strv(json_t *a);
/* its record, upper directory and run directory gone */
/* volumes: its anonymous volumes too (rm -v, --rm) */
int record_remove(struct store *s, const char *runroot, const char *id, bool volumes, struct err *err);
void record_set_driver(const char *cdir, enum storage_driver d);
struct image_info;
struct started;
/* the record of a new container: everything `start` needs to run it again;
 * *ret_req the keeper request of its main command */
int record_create(const struct engine_run_opts *o, struct image_info *ii, struct started *st, const char *rr,
                  json_t **ret_req, struct err *err);

/* ---- ctr_spec.c ---- */

struct image_info {
        json_t *config; /* the image config's "config" object */
        char **lowers;  /* layer dirs, top-most first */
        size_t n_lowers;
        char manifest[DIGEST_STR_MAX];
};

void ctr_image_free(struct image_info *ii);
/* the image by its manifest digest: its layers unpacked when they are not yet */
int ctr_image_load_digest(struct store *s, const char *manifest, struct image_info *ii, struct err *err);
/* by name, or by a manifest digest of the store, named or not */
int ctr_image_load(struct store *s, const char *ref, struct image_info *ii, struct err *err);
/* docker's default capability set for root in a container, as a mask */
uint64_t ctr_default_caps(void);
/* the keeper request of a command: image defaults (imgcfg), then what the user gave */
json_t *ctr_process_request(json_t *imgcfg, char **cmd, char **env, const char *workdir, const char *user,
                            const char *entrypoint, bool main, bool tty);
/* -v HOST:CTR[:OPTS]: its form, and a host path that is there (a volume's name passes) */
int ctr_volume_check(const char *vol, struct err *err);
/* --tmpfs DIR[:OPTS]: an absolute DIR, OPTS of size=, mode=, uid=, gid=, nr_inodes= and
 * the mount flags ro, rw, noexec, exec, nosuid, suid, nodev, dev */
int ctr_tmpfs_check(const char *t, struct err *err);

/* one -v: [SOURCE:]DEST[:OPTS] (ctr_volumes.c) */
struct ctr_volume {
        char *source;   /* a host path, a volume's name, or NULL (an anonymous volume) */
        char *dest;
        bool is_volume; /* source is a volume's name */
        bool ro, nocopy;
};
int ctr_volume_parse(const char *vol, struct ctr_volume *ret, struct err *err);
void ctr_volume_free(struct ctr_volume *v);
/* a new container's mounts: -v (volumes made on first use, anonymous ones made),
 * --volumes-from, the image's VOLUME paths (o->image_volumes) -> what its record keeps;
 * *ret_anon: the anonymous volumes made for it */
int ctr_volumes_resolve(const struct engine_run_opts *o, json_t *imgcfg, char ***ret_vols, char ***ret_anon,
                        struct err *err);
/* a removed container's anonymous volumes (record's Options.AnonVolumes) removed, those
 * another container still has kept */
void ctr_volumes_remove_anonymous(const char *root, json_t *rec);
/* the config.json of a container (pure: nothing on the host is read or written;
 * the volumes are taken as checked) */
json_t *ctr_spec_build(const struct engine_run_opts *o, const struct net_conf *nc, const char *id, const char *rootfs,
                       bool rootless, const char *rundir, struct err *err);
/* what a start uses: the volumes checked, the spec built, its /etc files written into rundir */
json_t *ctr_spec_make(const struct engine_run_opts *o, const struct net_conf *nc, const char *id, const char *rootfs,
                      bool rootless, const char *rundir, struct err *err);
/* the destinations of a spec's mounts and its masked paths */
char **ctr_spec_targets(json_t *spec);

/* ---- keeper_ctl.c ---- */

struct started {
        pid_t keeper;
        char *id, *rundir, *cdir;   /* rundir: <runroot>/containers/<id>; cdir: <root>/containers/<id> */
        enum storage_driver driver; /* asked for; the one used after the start */
        bool service;               /* no main command: cp/export of a stopped container, or a session */
};

void keeper_ctl_paths(struct started *st, const char *root, const char *rr);
void keeper_ctl_free(struct started *st);
/* the keeper of a container up (overlay mounted, network attached), no command yet */
int keeper_ctl_start(const struct engine_run_opts *o, struct store *s, struct image_info *ii, const char *rr,
                     struct started *out, struct err *err);
/* keeper up, main command sent; attached: wait and return its status; io: with
 * the caller's stdio (or a terminal whose master goes to io->master), not waited for */
int keeper_ctl_start_main(const struct engine_run_opts *o, struct store *s, struct image_info *ii, const char *rr,
                          struct started *st, json_t *req, bool attach, struct ctr_io *io, struct err *err);
/* send a RUN, wait for STARTED; returns the connected socket (and, with a
 * terminal, the pty master in *ret_master) */
int keeper_ctl_run(const char *rundir, json_t *req, const int *fds, size_t n_fds, int *ret_master, struct err *err);
/* wait for EXITED on s and return the status; forward: our signals go to the
 * main command and a terminal (master >= 0) is proxied to our stdio in raw mode */
int keeper_ctl_wait(int s, const char *rundir, int master, bool forward, struct err *err);
/* signal a command of the keeper (pid 0: the main command) */
int keeper_ctl_signal(const char *rundir, int pid, int sig, struct err *err);
/* whether pid ended within timeout_ms (-1: wait for ever) */
bool keeper_ctl_gone(pid_t pid, int timeout_ms);
/* SIGKILL the keeper pid, wait up to timeout_ms for it to end and reap it when
 * it is our child (ctr_make in this process started it) */
void keeper_ctl_kill(pid_t pid, int timeout_ms);

/* ---- ctr.c ---- */

/* den run (start) and den create, den session begin (o->session); notice: a
 * word on stderr when the image EXPOSEs ports the network cannot reach.
 * Prints nothing else; *ret_id: the container's id */
int ctr_new(const struct engine_run_opts *o, bool start, bool notice, char **ret_id, struct err *err);
/* o as den session begin takes it: a keeper without a main command, the host's network unless named */
void ctr_session_opts(const struct engine_run_opts *o, struct engine_run_opts *ret);
/* Bring up the keeper of a stopped container from its record; with main, run
 * its command (attached or not), without, leave the keeper alone for den cp
 * and den export (*ret_keeper is its pid). */
int ctr_start_record(const char *root, const char *rr, const char *id, bool main, bool attach, struct ctr_io *io,
                     pid_t *ret_keeper, struct err *err);
/* a running container for a command: *t and its record *ret_rec (NULL when damaged) */
int ctr_exec_open(const char *root, const char *runroot, const char *what, struct record_target *t, json_t **ret_rec,
                  struct err *err);
/* run req (a keeper request, "terminal" true for a tty) in t with fds as its
 * stdio, in its network or none (network, checked against rec's).
 * detach: 0 once started; else its exit status, forward as keeper_ctl_wait() */
int ctr_exec_request(const struct record_target *t, json_t *rec, const char *what, const char *network, json_t *req,
                     const int fds[3], bool detach, bool forward, struct err *err);
/* den rm [-f]: what (an id, prefix or name) removed; running, only with force */
int ctr_remove_named(const char *root, const char *runroot, const char *what, bool force, bool volumes,
                     struct err *err);
