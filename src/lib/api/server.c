/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP side of den serve: libmicrohttpd on unix sockets we make ourselves,
 * one thread per connection (a /wait or a followed log blocks its own thread
 * only), bodies collected up to API_BODY_MAX, /vN.NN/ prefixes checked and
 * stripped, then the route table (routes.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"

/* the store and the container records expect one writer per process: routes
 * marked serial run one at a time */
static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;
/* for --timeout: requests in flight and when the last one ended */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_busy;
static time_t last_done;

struct conn_state {
        char *body;     /* collected so far, NUL-terminated */
        size_t len, cap;
        bool too_big;   /* went past API_BODY_MAX: the rest is dropped, the answer is 413 */
        int body_fd;    /* a body_file route's body, else -1 */
        int write_failed; /* errno of a failed write to body_fd */
        struct hijacked *h; /* a 101 queued, its stream not yet started */
};

void api_serial(bool lock)
{
        if (lock)
                pthread_mutex_lock(&serial_lock);
        else
                pthread_mutex_unlock(&serial_lock);
}

const char *api_query(struct api_req *q, const char *name)
{
        return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool api_query_bool(struct api_req *q, const char *name)
{
        const char *v = api_query(q, name);
        return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

int api_json(struct api_reply *ret, int status, json_t *j)
{
        ret->status = status;
        ret->body = json_dumps(j, JSON_COMPACT);
        ret->body_len = ret->body ? strlen(ret->body) : 0;
        json_decref(j);
        return 0;
}

int api_error(struct api_reply *ret, int status, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return api_json(ret, status, json_pack("{s:s}", "message", msg));
}

int api_fail(struct api_reply *ret, const struct err *err)
{
        int c = -err->code, status = 500;
        if (c == ENOENT || c == ESRCH)
                status = 404;
        else if (c == EEXIST || c == EBUSY || c == ENOTEMPTY)
                status = 409;
        else if (c == EINVAL || c == ENAMETOOLONG || c == EOPNOTSUPP)
                status = 400;
        return api_error(ret, status, "%s", *err->msg ? err->msg : strerror(c ? c : EIO));
}

/* pattern "/containers/{id}/json" against path; the {} segments into q->params */
static bool route_match(const char *pattern, const char *path, struct api_req *q, char *buf, size_t bufsz)
{
        size_t n = 0, used = 0;
        while (*pattern && *path) {
                if (*pattern != '/' || *path != '/')
                        return false;
                pattern++, path++;
                size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");
                if (*pattern == '{') {
                        /* an image name has slashes (localhost/x:y): a last {name} takes the rest
                         * up to the pattern's fixed tail */
                        const char *tail = pattern + pl;
                        if (sl == 0 || n == API_MAX_PARAMS)
                                return false;
                        if (*tail && strchr(tail + 1, '{') == NULL) {
                                size_t tl = strlen(tail), rl = strlen(path);
                                if (rl <= tl || strcmp(path + rl - tl, tail) != 0)
                                        return false;
                                sl = rl - tl;
                        } else if (!*tail)
                                sl = strlen(path);
                        if (used + sl + 1 > bufsz)
                                return false;
                        memcpy(buf + used, path, sl);
                        buf[used + sl] = '\0';
                        q->params[n++] = buf + used;
                        used += sl + 1;
                } else if (pl != sl || strncmp(pattern, path, pl) != 0)
                        return false;
                pattern += pl, path += sl;
        }
        q->n_params = n;
        return !*pattern && !*path;
}

/* "/v1.41/x" -> "/x"; 400 for a version outside [MIN, MAX] */
static int strip_version(const char *url, const char **ret_path, struct api_reply *rep)
{
        unsigned maj, min;
        int end = 0;
        *ret_path = url;
        if (url[0] != '/' || url[1] != 'v' || sscanf(url + 2, "%u.%u%n", &maj, &min, &end) != 2 ||
            (url[2 + end] != '/' && url[2 + end] != '\0'))
                return 0;
        *ret_path = url[2 + end] ? url + 2 + end : "/";
        unsigned v = maj * 1000 + min;
        if (v > 1050)
                return api_error(rep, 400, "client version %u.%u is too new. Maximum supported API version is %s", maj,
                                 min, API_VERSION_MAX);
        if (v < 1012)
                return api_error(rep, 400,
                                 "client version %u.%u is too old. Minimum supported API version is %s, please upgrade your client to a newer version",
                                 maj, min, API_VERSION_MIN);
        return 0;
}

static const struct api_route *const *tables(void)
{
        static const struct api_route *const t[] = { api_routes,     api_routes_ctr, api_routes_img, api_routes_ops,
                                                     api_routes_sys, api_routes_exec, NULL };
        return t;
}

/* the route for method on q->path (its params into q); NULL with *known when only the
 * method is wrong */
static const struct api_route *find_route(const char *method, struct api_req *q, char *buf, size_t bufsz, bool *known)
{
        *known = false;
        for (const struct api_route *const *t = tables(); *t; t++)
                for (const struct api_route *rt = *t; rt->method; rt++) {
                        if (!route_match(rt->pattern, q->path, q, buf, bufsz))
                                continue;
                        *known = true;
                        if (strcmp(rt->method, method) == 0 ||
                            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0))
                                return rt;
                }
        return NULL;
}

static void dispatch(const struct api_opts *o, struct MHD_Connection *c, const char *url, const char *method,
                     struct conn_state *st, struct api_reply *rep)
{
        struct api_req q = { .root = o->root, .runroot = o->runroot, .method = method, .conn = c,
                             .body = st->body ? st->body : "", .body_len = st->len, .body_fd = st->body_fd };
        char buf[4096];
        if (st->too_big) {
                api_error(rep, 413, "request body is larger than %u bytes", API_BODY_MAX);
                return;
        }
        if (st->body_fd >= 0 && st->write_failed) {
                api_error(rep, 500, "cannot keep the request body: %s", strerror(st->write_failed));
                return;
        }
        if (st->body_fd >= 0 && lseek(st->body_fd, 0, SEEK_SET) < 0) {
                api_error(rep, 500, "cannot read the request body back: %m");
                return;
        }
        strip_version(url, &q.path, rep);
        if (rep->status)
                return;
        bool path_known;
        const struct api_route *rt = find_route(method, &q, buf, sizeof(buf), &path_known);
        if (rt) {
                if (rt->serial)
                        pthread_mutex_lock(&serial_lock);
                rt->fn(&q, rep);
                if (rt->serial)
                        pthread_mutex_unlock(&serial_lock);
        } else if (path_known)
                api_error(rep, 405, "method %s not allowed on %s", method, q.path);
        else
                api_error(rep, 404, "page not found");
}

/* whether the route for this request keeps its body in a file */
static bool wants_body_file(const char *url, const char *method)
{
        struct api_req q = { .method = method };
        struct api_reply rep = { 0 };
        char buf[4096];
        bool known;
        strip_version(url, &q.path, &rep);
        free(rep.body);
        const struct api_route *rt = rep.status ? NULL : find_route(method, &q, buf, sizeof(buf), &known);
        return rt && rt->body_file;
}

/* an unlinked file for a request body: in the store (a tar of images can be large,
 * the run directory is often in memory) */
static int body_file_open(const struct api_opts *o)
{
        int fd = open(o->root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        _cleanup_free_ char *t = xasprintf("%s/.body-XXXXXX", o->root);
        fd = mkostemp(t, O_CLOEXEC);
        if (fd >= 0)
                unlink(t);
        return fd;
}

struct stream {
        void (*fn)(void *arg, int fd);
        void *arg;
        int fd;
};

static void *stream_thread(void *p)
{
        struct stream *s = p;
        s->fn(s->arg, s->fd);
        close(s->fd);
        free(s);
        return NULL;
}

static size_t stream_read(void *cls, char *buf, size_t max)
{
        int fd = (int) (intptr_t) cls;
        for (;;) {
                ssize_t n = read(fd, buf, max);
                if (n < 0 && errno == EINTR)
                        continue;
                return n > 0 ? (size_t) n : 0;
        }
}

static void stream_free(void *cls)
{
        /* the writer sees EPIPE when the client left early */
        close((int) (intptr_t) cls);
}

int api_stream(struct api_reply *ret, int status, const char *content_type, void (*fn)(void *arg, int fd), void *arg)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return api_error(ret, 500, "pipe: %m");
        struct stream *s = xcalloc(1, sizeof(*s));
        s->fn = fn, s->arg = arg, s->fd = p[1];
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&t, &a, stream_thread, s);
        pthread_attr_destroy(&a);
        if (r != 0) {
                free(s);
                close(p[0]), close(p[1]);
                return api_error(ret, 500, "cannot start a thread: %s", strerror(r));
        }
        ret->status = status;
        ret->content_type = content_type;
        ret->gen = stream_read;
        ret->gen_cls = (void *) (intptr_t) p[0];
        ret->gen_free = stream_free;
        return 0;
}

int api_stream_json(int fd, json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        size_t n = strlen(s);
        s[n] = '\n';
        int r = fs_write_all(fd, s, n + 1) < 0 ? -errno : 0;
        free(s);
        return r;
}

struct hijacked {
        void (*fn)(void *cls, int fd, const char *extra, size_t n_extra);
        void (*drop)(void *cls);
        void *cls;
        int fd;
        char *extra;
        size_t n_extra;
};

static void *hijack_thread(void *arg)
{
        struct hijacked *h = arg;
        /* what follows the 101 goes once the client has read the 101: a client reading the
         * headers through a buffer (python's http.client: docker-py) would lose the first
         * output in that buffer.  A unix socket's SIOCOUTQ counts what the peer has not read. */
        for (int i = 0, q; i < 200 && ioctl(h->fd, SIOCOUTQ, &q) == 0 && q > 0; i++)
                usleep(2500);
        h->fn(h->cls, h->fd, h->extra, h->n_extra);
        close(h->fd);
        free(h->extra);
        free(h);
        return NULL;
}

static void hijack_drop(struct hijacked *h)
{
        if (h->drop)
                h->drop(h->cls);
        free(h);
}

/* MHD hands over the raw socket: the stream runs on a thread of its own, on a copy of the
 * socket.  MHD is told at once, on its own connection thread, that the application is done
 * with it: libmicrohttpd 0.9.75 frees the connection as soon as both its thread and the
 * application have let go, and an application letting go from another thread can still be
 * inside MHD_resume_connection() as the connection is freed (heap corruption, seen 1 run in
 * 15 of many short attaches).  Closed here, before the thread lets go, there is no race. */
static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in, size_t extra_in_size,
                       MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
        struct hijacked *h = cls;
        struct conn_state *st = con_cls;
        if (st)
                st->h = NULL;
        h->fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        int fl = h->fd >= 0 ? fcntl(h->fd, F_GETFL) : -1;
        if (fl < 0 || fcntl(h->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
                if (h->fd >= 0)
                        close(h->fd);
                hijack_drop(h);
                return;
        }
        if (extra_in_size) {
                h->extra = xmalloc(extra_in_size);
                memcpy(h->extra, extra_in, extra_in_size);
                h->n_extra = extra_in_size;
        }
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, hijack_thread, h) != 0)
                hijack_thread(h);
        pthread_attr_destroy(&a);
}

struct gen {
        size_t (*fn)(void *cls, char *buf, size_t max);
        void *cls;
        void (*free)(void *cls);
};

static ssize_t gen_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct gen *g = cls;
        size_t n = g->fn(g->cls, buf, max);
        return n ? (ssize_t) n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void gen_free(void *cls)
{
        struct gen *g = cls;
        if (g->free)
                g->free(g->cls);
        free(g);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct api_reply *rep, struct conn_state *st)
{
        struct MHD_Response *resp;
        if (rep->gen) {
                struct gen *g = xcalloc(1, sizeof(*g));
                g->fn = rep->gen, g->cls = rep->gen_cls, g->free = rep->gen_free;
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, gen_read, g, gen_free);
                if (!resp) {
                        gen_free(g);
                        return MHD_NO;
                }
        } else if (rep->hijack) {
                struct hijacked *h = xcalloc(1, sizeof(*h));
                h->fn = rep->hijack, h->cls = rep->hijack_cls, h->drop = rep->hijack_drop, h->fd = -1;
                resp = MHD_create_response_for_upgrade(on_upgrade, h);
                if (!resp) {
                        hijack_drop(h);
                        return MHD_NO;
                }
                st->h = h;
                MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
                MHD_add_response_header(resp, "Content-Type", rep->content_type);
                enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
                MHD_destroy_response(resp);
                return r;
        } else
                resp = MHD_create_response_from_buffer(rep->body_len, rep->body ? rep->body : (char *) "",
                                                       rep->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", rep->content_type ? rep->content_type : "application/json");
        MHD_add_response_header(resp, "Api-Version", API_VERSION);
        MHD_add_response_header(resp, "Docker-Experimental", "false");
        MHD_add_response_header(resp, "Ostype", "linux");
        MHD_add_response_header(resp, "Server", "den/" DEN_VERSION);
        char *colon = rep->header ? strchr(rep->header, ':') : NULL;
        if (colon) {
                *colon = '\0';
                MHD_add_response_header(resp, rep->header, colon + 1 + strspn(colon + 1, " "));
        }
        free(rep->header);
        enum MHD_Result r = MHD_queue_response(c, (unsigned) (rep->status ? rep->status : 200), resp);
        MHD_destroy_response(resp);
        return r;
}

static void busy(int d)
{
        pthread_mutex_lock(&idle_lock);
        n_busy += d;
        last_done = time(NULL);
        pthread_mutex_unlock(&idle_lock);
}

void api_hold(int d)
{
        busy(d);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **con_cls)
{
        struct conn_state *st = *con_cls;
        if (!st) {
                st = *con_cls = xcalloc(1, sizeof(*st));
                st->body_fd = -1;
                busy(+1);
                if (wants_body_file(url, method) && (st->body_fd = body_file_open(cls)) < 0) {
                        struct api_reply rep = { 0 };
                        api_error(&rep, 500, "cannot make a file for the request body in %s: %m",
                                  ((const struct api_opts *) cls)->root);
                        return send_reply(c, &rep, st);
                }
                /* a declared length over the limit: answered before the body is read */
                const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX && st->body_fd < 0) {
                        struct api_reply rep = { 0 };
                        api_error(&rep, 413, "request body is larger than %u bytes", API_BODY_MAX);
                        return send_reply(c, &rep, st);
                }
                return MHD_YES;
        }
        if (*data_size && st->body_fd >= 0) {
                if (!st->write_failed && fs_write_all(st->body_fd, data, *data_size) < 0)
                        st->write_failed = errno ? errno : EIO;
                *data_size = 0;
                return MHD_YES;
        }
        if (*data_size) {
                if (!st->too_big && st->len + *data_size <= API_BODY_MAX) {
                        if (st->len + *data_size + 1 > st->cap) {
                                /* doubled: a body fed in small pieces is copied O(n) times, not O(n^2) */
                                st->cap = st->cap ? st->cap : 4096;
                                while (st->cap < st->len + *data_size + 1)
                                        st->cap *= 2;
                                st->body = xrealloc(st->body, st->cap);
                        }
                        memcpy(st->body + st->len, data, *data_size);
                        st->len += *data_size;
                        st->body[st->len] = '\0';
                } else
                        st->too_big = true;
                *data_size = 0;
                return MHD_YES;
        }
        struct api_reply rep = { 0 };
        dispatch(cls, c, url, method, st, &rep);
        log_debug("%s %s (%zu bytes%s%.*s): %d", method, url, st->len, st->len ? ": " : "", (int) (st->len > 2048 ? 2048 : st->len),
                  st->body ? st->body : "", rep.status ? rep.status : 200);
        return send_reply(c, &rep, st);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
        struct conn_state *st = *con_cls;
        if (!st)
                return;
        if (st->h)
                hijack_drop(st->h);
        free(st->body);
        if (st->body_fd >= 0)
                close(st->body_fd);
        free(st);
        *con_cls = NULL;
        busy(-1);
}

int api_listen_unix(const char *path, mode_t mode, struct err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "socket path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_sys(err, -errno, "socket");
        struct stat st;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return err_set(err, -EEXIST, "'%s' exists and is not a socket", path);
                _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return err_set(err, -EADDRINUSE, "'%s': another service is listening there", path);
                unlink(path);
        }
        /* bound and listening under a temporary name, then renamed: a client that
         * sees the path can connect */
        _cleanup_free_ char *tmp = xasprintf("%s.%d.tmp", path, (int) getpid());
        if (strlen(tmp) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "socket path '%s' is too long", path);
        strcpy(sa.sun_path, tmp);
        unlink(tmp);
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r == 0 && mode != 0600 && chmod(tmp, mode) < 0)
                r = -1;
        if (r < 0)
                return err_sys(err, -errno, "cannot bind '%s'", tmp);
        if (listen(fd, 128) < 0 || rename(tmp, path) < 0) {
                r = err_sys(err, -errno, "cannot listen on '%s'", path);
                unlink(tmp);
                return r;
        }
        return TAKE_FD(fd);
}

/* one connection passed by the root service: its fd, -EPIPE when the root service is
 * gone, another -errno when nothing came */
static int recv_conn(int s)
{
        char b;
        struct iovec iov = { &b, 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n == 0)
                return -EPIPE;
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : -EPIPE;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        return fd;
}

/* The service is the parent of what its starts leave running: keepers (each reaped by its
 * reaper thread) and a container's network helpers (slirp4netns or pasta, and its watcher),
 * which a den run leaves to init when it exits.  Those end with their container and would
 * stay zombies of a service that lives on: a child found dead at two looks a second apart
 * is one nobody waits for, and is reaped (code that waits for its own child does so at once). */
#define MAX_ZOMBIES 64

static size_t dead_children(pid_t *out, size_t max)
{
        size_t n = 0;
        DIR *d = opendir("/proc/self/task");
        struct dirent *de;
        while (d && (de = readdir(d)) && n < max) {
                if (de->d_name[0] == '.')
                        continue;
                char p[300], buf[4096];
                snprintf(p, sizeof(p), "/proc/self/task/%s/children", de->d_name);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
                ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
                if (k <= 0)
                        continue;
                buf[k] = '\0';
                for (char *s = buf, *e; *s && n < max; s = e) {
                        long pid = strtol(s, &e, 10);
                        if (e == s)
                                break;
                        char sp[64], st[512];
                        snprintf(sp, sizeof(sp), "/proc/%ld/stat", pid);
                        _cleanup_close_ int sfd = open(sp, O_RDONLY | O_CLOEXEC);
                        ssize_t m = sfd >= 0 ? read(sfd, st, sizeof(st) - 1) : -1;
                        if (m <= 0)
                                continue;
                        st[m] = '\0';
                        char *rp = strrchr(st, ')');
                        if (rp && rp[1] == ' ' && rp[2] == 'Z')
                                out[n++] = (pid_t) pid;
                }
        }
        if (d)
                closedir(d);
        return n;
}

static void *zombie_sweeper(void *arg)
{
        pid_t before[MAX_ZOMBIES];
        size_t n_before = 0;
        for (;;) {
                sleep(1);
                pid_t now[MAX_ZOMBIES];
                size_t n = dead_children(now, MAX_ZOMBIES);
                for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < n_before; j++)
                                if (now[i] == before[j])
                                        waitpid(now[i], NULL, WNOHANG);
                memcpy(before, now, n * sizeof(*now));
                n_before = n;
        }
        return arg;
}

static void sweeper_start(void)
{
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &a, zombie_sweeper, NULL);
        pthread_attr_destroy(&a);
}

static bool idle_for(int secs)
{
        pthread_mutex_lock(&idle_lock);
        bool idle = n_busy == 0 && time(NULL) - last_done >= secs;
        pthread_mutex_unlock(&idle_lock);
        return idle;
}

int api_serve(const struct api_opts *o, struct err *err)
{
        struct MHD_Daemon *d[API_MAX_SOCKETS] = { 0 }, *ld[API_MAX_SOCKETS] = { 0 };
        int r = 0;
        last_done = time(NULL);
        sweeper_start();
        for (size_t i = 0; i < o->n_sockets && r >= 0; i++) {
                int fd = api_listen_unix(o->sockets[i], 0600, err);
                if (fd < 0) {
                        r = fd;
                        break;
                }
                d[i] = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
                                        on_request, (void *) o, MHD_OPTION_LISTEN_SOCKET, fd,
                                        MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
                                        (unsigned) 0, MHD_OPTION_END);
                if (!d[i]) {
                        close(fd);
                        r = err_set(err, -EIO, "cannot serve on '%s' (libmicrohttpd)", o->sockets[i]);
                }
        }
        for (size_t i = 0; i < o->n_listen_fds && r >= 0; i++) {
                ld[i] = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_ALLOW_UPGRADE,
                                         0, NULL, NULL, on_request, (void *) o, MHD_OPTION_LISTEN_SOCKET,
                                         o->listen_fds[i], MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 0, MHD_OPTION_END);
                if (!ld[i])
                        r = err_set(err, -EIO, "cannot serve on fd %d (libmicrohttpd)", o->listen_fds[i]);
        }
        struct MHD_Daemon *wd = NULL;
        if (r >= 0 && o->conn_fd > 0) {
                wd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_ALLOW_UPGRADE |
                                              MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
                                      0, NULL, NULL, on_request, (void *) o, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 0, MHD_OPTION_END);
                if (!wd)
                        r = err_set(err, -EIO, "cannot serve the connections of fd %d (libmicrohttpd)", o->conn_fd);
        }
        while (r >= 0) {
                struct pollfd p[2] = { { .fd = o->stop_fd ? *o->stop_fd : -1, .events = POLLIN },
                                       { .fd = wd ? o->conn_fd : -1, .events = POLLIN } };
                int n = poll(p, 2, 1000);
                if (n > 0 && p[0].revents)
                        break;
                if (n > 0 && p[1].revents) {
                        int cfd = recv_conn(o->conn_fd);
                        if (cfd == -EPIPE)
                                break; /* the root service is gone */
                        struct sockaddr_un peer = { .sun_family = AF_UNIX };
                        if (cfd >= 0 && MHD_add_connection(wd, cfd, (struct sockaddr *) &peer, sizeof(sa_family_t)) != MHD_YES)
                                close(cfd);
                        continue;
                }
                if (o->timeout > 0 && idle_for(o->timeout))
                        break;
        }
        if (wd && idle_for(0))
                MHD_stop_daemon(wd);
        /* the sockets go first: a client sees the service gone at once */
        for (size_t i = 0; i < o->n_sockets; i++)
                if (d[i])
                        unlink(o->sockets[i]);
        /* a thread blocked in a /wait would hold MHD_stop_daemon: the process exit ends it */
        for (size_t i = 0; i < o->n_sockets; i++)
                if (d[i] && idle_for(0))
                        MHD_stop_daemon(d[i]);
        for (size_t i = 0; i < o->n_listen_fds; i++)
                if (ld[i] && idle_for(0))
                        MHD_stop_daemon(ld[i]);
        return r;
}
