/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* den's containers: an image's layers under an overlay, a keeper as pid 1,
 * every command started by the keeper on request.
 *
 * On disk: <root>/containers/<id>/{container.json,upper,work,ctr.log}; while
 * it runs: <runroot>/containers/<id>/{keeper.sock,keeper.pid,exit,rootfs}. */

struct engine_run_opts {
        const char *root, *runroot;
        const char *image;
        char **cmd;             /* after the image; NULL: the image's Cmd */
        char **env;             /* -e K=V (and --env-file lines) */
        const char *workdir, *user, *name, *entrypoint, *hostname, *network;
        const char *storage_driver; /* NULL: $DEN_STORAGE_DRIVER, else auto */
        char **volumes;         /* HOST:CTR[:OPTS], VOLUME:CTR[:OPTS], /CTR (an anonymous volume);
                                 * OPTS: ro, rw, nocopy */
        char **volumes_from;    /* --volumes-from CONTAINER[:ro|rw] */
        bool image_volumes;     /* the image's VOLUME paths get anonymous volumes (den run, create,
                                 * the API; not the builder's steps) */
        char **anon_volumes;    /* set by the engine: the anonymous volumes it made */
        char **tmpfs;           /* DIR[:OPTS] */
        char **publish;         /* -p [IP:]HOST:CTR[/udp] */
        char **security_opt;    /* --security-opt seccomp=unconfined|FILE (secopt.h); none: the default profile */
        bool publish_all;       /* -P: the image's ExposedPorts on free host ports */
        bool allow_host_loopback;
        bool rm, detach, read_only, tty;
        bool interactive;       /* -i: the command gets our stdin (else /dev/null) */
        bool stdin_once;        /* den serve: the first attach's end of input closes the command's stdin */
        json_t *labels;         /* {"k": "v"} kept in the record (den serve: docker's Labels), borrowed */
        bool session;           /* den session begin: a keeper without a main command */
        bool quiet;             /* a session's name not printed */
};

/* the run directory (given, $DEN_RUNROOT, /run/den as root, $XDG_RUNTIME_DIR/den,
 * else /tmp/den-<uid>) opened and checked as every verb does (ours, not
 * writable by others, 0700 in /tmp; made when missing); *ret: its host path,
 * for other programs to look at (sbuild's session Location) */
int engine_runroot(const char *given, char **ret, struct err *err);
/* the store: $DEN_ROOT, /var/lib/den as root, else $XDG_DATA_HOME/den or ~/.local/share/den */
char *engine_default_root(void);

/* den run: returns the command's exit status, or 0 when detached (the id printed) */
int engine_run(const struct engine_run_opts *o, struct err *err);
/* den create: the record only (its id printed); den start runs it, attached or not */
int engine_create(const struct engine_run_opts *o, struct err *err);
/* the same, the id given back (den serve) instead of printed */
int engine_create_id(const struct engine_run_opts *o, char **ret_id, struct err *err);
/* den session begin: a container whose keeper waits for commands until den session end;
 * its name is printed */
int engine_session_begin(const struct engine_run_opts *o, struct err *err);
int engine_start(const char *root, const char *runroot, const char *container, bool attach, struct err *err);
int engine_rename(const char *root, const char *container, const char *name, struct err *err);
/* den commit: the container's changes as a new layer on its image, named name */
int engine_commit(const char *root, const char *container, const char *name, char ret[72], struct err *err);
/* den port: the published ports of a container, "80/tcp -> 0.0.0.0:8080" lines */
int engine_ports(const char *root, const char *container, char ***ret, struct err *err);

struct engine_exec_opts {
        const char *root, *runroot, *container;
        char **cmd, **env;
        const char *workdir, *user;
        const char *network;    /* session commands: none, or the network the session began with */
        bool detach, tty, interactive;
};
int engine_exec(const struct engine_exec_opts *o, struct err *err);

/* the containers of the store, each {Id, Name, Image, Command, Status, ExitCode, Created,
 * StartedAt, FinishedAt (seconds since the epoch, -1: never)} */
int engine_list(const char *root, const char *runroot, json_t **ret, struct err *err);
int engine_kill(const char *root, const char *runroot, const char *container, int sig, struct err *err);
int engine_stop(const char *root, const char *runroot, const char *container, int timeout, struct err *err);
int engine_rm(const char *root, const char *runroot, const char *container, bool force, struct err *err);
/* the same; volumes: its anonymous volumes too (rm -v; docker's AutoRemove) */
int engine_rm_volumes(const char *root, const char *runroot, const char *container, bool force, bool volumes,
                      struct err *err);
/* the main command's exit status once it has ended */
int engine_wait(const char *root, const char *runroot, const char *container, struct err *err);
/* den cp: SRC and DST, one of them CONTAINER:PATH */
int engine_cp(const char *root, const char *runroot, const char *src, const char *dst, struct err *err);
/* the run directory of a container's keeper (den cp, den export); a stopped
 * container gets a temporary keeper, *ret_temp, to release after */
int engine_target_rundir(const char *root, const char *runroot, const char *container, char **ret, pid_t *ret_temp,
                         struct err *err);
void engine_target_release(pid_t temp);
/* den export: the root filesystem of a container as a tar on out_fd */
int engine_export(const char *root, const char *runroot, const char *container, int out_fd, struct err *err);
/* den inspect CONTAINER: its record with Status and ExitCode */
int engine_inspect(const char *root, const char *runroot, const char *container, json_t **ret, struct err *err);
/* whether its keeper is alive */
bool engine_running(const char *root, const char *runroot, const char *container, struct err *err);
/* the log file of a detached container */
int engine_log_path(const char *root, const char *runroot, const char *container, char **ret, struct err *err);

/* den serve's archive routes (docker cp): the stat of a path in the container (its parent
 * resolved inside its root, its last component not followed: *ret_link, a symlink's target,
 * else NULL), a tar of it on out_fd (one entry named as its last component,
 * a directory's tree below), a tar from tar_fd unpacked into the directory path (every
 * entry resolved beneath it, no symlink followed).  A stopped container gets a keeper for it. */
struct stat;
int engine_archive_stat(const char *root, const char *runroot, const char *container, const char *path,
                        struct stat *ret, char **ret_link, struct err *err);
int engine_archive_get(const char *root, const char *runroot, const char *container, const char *path, int out_fd,
                       struct err *err);
int engine_archive_put(const char *root, const char *runroot, const char *container, const char *path, int tar_fd,
                       struct err *err);
/* docker diff: the paths its overlay upper directory changed, [{Path, Kind}] (0 modified,
 * 1 added, 2 deleted); -EOPNOTSUPP for a plain copy of its image */
int engine_changes(const char *root, const char *runroot, const char *container, json_t **ret, struct err *err);
/* the host pids of a running container: its keeper's descendants (not the keeper); -ESRCH when not running */
int engine_pids(const char *root, const char *runroot, const char *container, pid_t **ret, size_t *ret_n,
                struct err *err);
/* the bytes on disk of a container's changes (its overlay upper directory; 0 for a plain copy) */
uint64_t engine_size_rw(const char *root, const char *id);
