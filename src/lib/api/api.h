/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

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
};

/* serve until *o->stop_fd is readable or o->timeout seconds pass with no request;
 * the sockets are removed before returning */
int api_serve(const struct api_opts *o, struct err *err);
