/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* One request as a route sees it: the path without its /vN.NN prefix, the
 * {name} segments of its pattern, the whole body (at most API_BODY_MAX). */
#define API_MAX_PARAMS 4
struct api_req {
        const char *root, *runroot;
        const char *method, *path;
        const char *params[API_MAX_PARAMS]; /* the {name} segments, in pattern order */
        size_t n_params;
        const char *body;                   /* NUL-terminated; "" when none */
        size_t body_len;
        int body_fd;                        /* routes with body_file: the whole body in an unlinked
                                             * file at offset 0 (any size); else -1 */
        void *conn;                         /* the MHD connection, for api_query() */
};

/* What a route answers: a status, a body it owns (free()d after sending), its type. */
struct api_reply {
        int status;
        char *body;
        size_t body_len;
        const char *content_type; /* NULL: application/json */
        /* set: the connection is taken over (101 UPGRADED) and given to hijack, on a thread of
         * its own, which owns cls (frees it) and must not close fd (a blocking socket); extra: what the client sent
         * after the request, already read from fd (stdin typed ahead), n_extra bytes */
        void (*hijack)(void *cls, int fd, const char *extra, size_t n_extra);
        /* set: the headers go at once and the body is what gen writes, called until it returns 0
         * (then gen_free(gen_cls)); for answers that take long, as /wait (docker's CLI waits for
         * the headers of its /wait before it starts the container) */
        size_t (*gen)(void *cls, char *buf, size_t max);
        void *gen_cls;
        void (*gen_free)(void *cls);
        void *hijack_cls;
        /* the client left before the 101 went out: hijack never runs, this frees cls instead */
        void (*hijack_drop)(void *cls);
        char *header; /* one more header, "Name: value" (owned, free()d): the archive routes' path stat */
};

typedef int (*api_handler)(struct api_req *q, struct api_reply *ret);
struct api_route {
        const char *method;  /* "GET" also answers HEAD */
        const char *pattern; /* "/containers/{id}/json" */
        api_handler fn;
        bool serial;         /* runs under the service's lock (store and records are not thread-safe) */
        bool body_file;      /* the body goes to a file (q->body_fd), no size limit: tars */
};
/* the route tables, one per file, each ended by { NULL }: routes.c (system, images),
 * routes_ctr.c (containers), routes_img.c (pull, push, load, save), routes_ops.c (more
 * container operations), routes_sys.c (build, events, df, volumes, networks),
 * routes_exec.c (exec, interactive attach) */
extern const struct api_route api_routes[], api_routes_ctr[], api_routes_img[], api_routes_ops[], api_routes_sys[],
        api_routes_exec[];

/* work the service holds beyond a request (a container it reaps): not idle (--timeout) while held */
void api_hold(int d);
/* the lock serial routes run under, for work a route leaves running (the --rm reaper) */
void api_serial(bool lock);
/* a query argument, NULL when absent */
const char *api_query(struct api_req *q, const char *name);
/* true for 1, true, yes */
bool api_query_bool(struct api_req *q, const char *name);
/* an answer that is streamed: fn(arg, fd) runs on a thread of its own and writes the
 * body to fd (a pipe; closed after fn returns; a client gone makes writes fail with
 * EPIPE, which fn should take as the end); fn owns arg.  content_type NULL: JSON */
int api_stream(struct api_reply *ret, int status, const char *content_type, void (*fn)(void *arg, int fd), void *arg);
/* one JSON value and a newline written to fd (a streamed progress line); -errno when the
 * client is gone */
int api_stream_json(int fd, json_t *j);
/* a JSON body (steals j) */
int api_json(struct api_reply *ret, int status, json_t *j);
/* docker's error shape {"message": ...} */
int api_error(struct api_reply *ret, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* an error from the library, its status from its code: ENOENT 404, EEXIST/EBUSY 409, EINVAL 400, else 500 */
int api_fail(struct api_reply *ret, const struct err *err);

/* interactive containers (OpenStdin, Tty; routes_exec.c): started with their input from
 * the service, kept as a "console" until api_console_drop() (its keeper ended) */
int api_console_start(const char *root, const char *runroot, const char *id, bool tty, bool interactive,
                      bool stdin_once, pid_t *ret_keeper, struct err *err);
void api_console_drop(const char *id);
/* what an attached client typed, to the container's stdin; end: the client's input
 * ended (closes a StdinOnce container's stdin).  -ENOENT: it has no console (yet) */
int api_console_input(const char *id, const char *data, size_t n, bool end);

/* the route groups */
int api_ping(struct api_req *q, struct api_reply *ret);
int api_version(struct api_req *q, struct api_reply *ret);
int api_info(struct api_req *q, struct api_reply *ret);
int api_images_list(struct api_req *q, struct api_reply *ret);
int api_image_inspect(struct api_req *q, struct api_reply *ret);
int api_image_history(struct api_req *q, struct api_reply *ret);
int api_image_tag(struct api_req *q, struct api_reply *ret);
int api_image_delete(struct api_req *q, struct api_reply *ret);
int api_ctr_list(struct api_req *q, struct api_reply *ret);
int api_ctr_inspect(struct api_req *q, struct api_reply *ret);
int api_ctr_create(struct api_req *q, struct api_reply *ret);
int api_ctr_start(struct api_req *q, struct api_reply *ret);
int api_ctr_wait(struct api_req *q, struct api_reply *ret);
int api_ctr_stop(struct api_req *q, struct api_reply *ret);
int api_ctr_kill(struct api_req *q, struct api_reply *ret);
int api_ctr_delete(struct api_req *q, struct api_reply *ret);
int api_ctr_logs(struct api_req *q, struct api_reply *ret);
int api_ctr_attach(struct api_req *q, struct api_reply *ret);
