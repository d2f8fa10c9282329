/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

#include "lib/base/err.h"

/* den serve: the Docker Engine API over HTTP/1.1 on unix sockets (libmicrohttpd).
 * Every route is a thin call into the library the commands use (routes.c). */

#define API_MAX_SOCKETS 4
#define API_BODY_MAX (64u << 20) /* a request body over this: 413 */
#define API_VERSION "1.41"       /* what /_ping and /version announce */
#define API_VERSION_MIN "1.12"
#define API_VERSION_MAX "1.50"   /* a /vN.NN/ prefix past this: 400, as dockerd */

struct api_opts {
        const char *root, *runroot;
        const char *sockets[API_MAX_SOCKETS]; /* paths of unix sockets to make and listen on */
        size_t n_sockets;
        int listen_fds[API_MAX_SOCKETS];      /* sockets listening already (LISTEN_FDS): served, never removed */
        size_t n_listen_fds;
        int timeout;                          /* seconds idle before returning, 0: none */
        const int *stop_fd;                   /* readable: return (a signal arrived) */
        int conn_fd;                          /* a worker of --multi-user (> 0): connections arrive
                                               * here as fds (SCM_RIGHTS), each served; its end ends
                                               * the service */
};

/* den serve --multi-user: root listens; each connection goes to a worker that runs as
 * the peer's uid (SO_PEERCRED), started on demand as `den serve --worker-fd` */
struct api_multi_opts {
        const char *sockets[API_MAX_SOCKETS];
        size_t n_sockets;
        int listen_fds[API_MAX_SOCKETS];
        size_t n_listen_fds;
        gid_t group;           /* (gid_t) -1: the sockets are 0666; else root:group 0660 */
        int worker_idle;       /* seconds a worker waits idle before it ends */
        const char *exe;       /* den, to start the workers */
        const int *stop_fd;
};
int api_serve_multi(const struct api_multi_opts *o, struct err *err);
/* a unix socket at path, listening, of mode (a stale socket of a dead service replaced) */
int api_listen_unix(const char *path, mode_t mode, struct err *err);

/* serve until *o->stop_fd is readable or o->timeout seconds pass with no request;
 * the sockets are removed before returning */
int api_serve(const struct api_opts *o, struct err *err);
