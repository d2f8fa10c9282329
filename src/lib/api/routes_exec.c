/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: exec (docker exec, -it too), the input of
 * interactive containers (docker run -i / -t, docker attach) and resize.
 *
 * A container created with OpenStdin or Tty is started by the service with its
 * input from here: a pipe, or the master of the terminal the keeper made (the
 * keeper holds the master too and logs what the terminal shows).  Its output
 * reaches clients as every container's does, through its log; what an attached
 * client types goes to the "console" kept here for the container until its
 * keeper ends.  An exec's stdio is relayed here directly: pipes, or the master
 * of a terminal of the container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/runtime/ctr.h"
#include "lib/runtime/engine.h"

/* ---- consoles: the input side of interactive containers ---- */

struct console {
        char *id;
        int in_fd;        /* the stdin pipe's write end, or the terminal's master; -1: closed */
        int master;       /* with a terminal (for resize); the same file as in_fd */
        bool stdin_once;
        int refs;
        bool dropped;     /* the keeper ended: closed once the last user lets go */
        struct console *next;
};

static pthread_mutex_t consoles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct console *consoles;

static void console_free(struct console *c)
{
        if (c->in_fd >= 0)
                close(c->in_fd);
        if (c->master >= 0 && c->master != c->in_fd)
                close(c->master);
        free(c->id);
        free(c);
}

/* the console of container id, a reference taken; NULL when it has none */
static struct console *console_get(const char *id)
{
        pthread_mutex_lock(&consoles_lock);
        struct console *c = consoles;
        while (c && (c->dropped || strcmp(c->id, id) != 0))
                c = c->next;
        if (c)
                c->refs++;
        pthread_mutex_unlock(&consoles_lock);
        return c;
}

static void console_put(struct console *c)
{
        pthread_mutex_lock(&consoles_lock);
        bool last = --c->refs == 0 && c->dropped;
        pthread_mutex_unlock(&consoles_lock);
        if (last)
                console_free(c);
}

int api_console_start(const char *root, const char *runroot, const char *id, bool tty, bool interactive,
                      bool stdin_once, pid_t *ret_keeper, struct err *err)
{
        int p[2] = { -1, -1 };
        if (!tty && interactive && pipe2(p, O_CLOEXEC) < 0)
                return err_sys(err, -errno, "pipe");
        struct ctr_io io = { .stdin_fd = p[0], .master = -1 };
        int r = ctr_start_io(root, runroot, id, &io, ret_keeper, err);
        if (p[0] >= 0)
                close(p[0]);
        if (r < 0) {
                if (p[1] >= 0)
                        close(p[1]);
                return r;
        }
        struct console *c = xcalloc(1, sizeof(*c));
        c->id = xstrdup(id);
        c->master = io.master;
        /* a terminal without -i takes no input: its master only resizes */
        c->in_fd = tty ? (interactive ? io.master : -1) : p[1];
        c->stdin_once = stdin_once;
        pthread_mutex_lock(&consoles_lock);
        /* a console left from an earlier run of this container goes */
        for (struct console *o = consoles; o; o = o->next)
                if (strcmp(o->id, id) == 0)
                        o->dropped = true;
        c->next = consoles;
        consoles = c;
        pthread_mutex_unlock(&consoles_lock);
        return 0;
}

void api_console_drop(const char *id)
{
        pthread_mutex_lock(&consoles_lock);
        struct console **pp = &consoles, *gone = NULL;
        while (*pp) {
                struct console *c = *pp;
                if (strcmp(c->id, id) == 0) {
                        *pp = c->next;
                        c->dropped = true;
                        if (c->refs == 0) {
                                c->next = gone;
                                gone = c;
                        }
                } else
                        pp = &c->next;
        }
        pthread_mutex_unlock(&consoles_lock);
        while (gone) {
                struct console *n = gone->next;
                console_free(gone);
                gone = n;
        }
}

/* all of data to fd, waiting while it is full (a terminal's master is non-blocking:
 * the keeper reads it so); false when the reader is gone */
static bool write_waiting(int fd, const char *data, size_t n)
{
        while (n) {
                ssize_t w = write(fd, data, n);
                if (w < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        poll(&p, 1, 1000);
                        continue;
                }
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return false;
                data += w, n -= (size_t) w;
        }
        return true;
}

int api_console_input(const char *id, const char *data, size_t n, bool end)
{
        struct console *c = console_get(id);
        if (!c)
                return -ENOENT;
        pthread_mutex_lock(&consoles_lock);
        int fd = c->in_fd >= 0 ? fcntl(c->in_fd, F_DUPFD_CLOEXEC, 3) : -1;
        pthread_mutex_unlock(&consoles_lock);
        if (fd >= 0 && n)
                write_waiting(fd, data, n);
        if (fd >= 0)
                close(fd);
        /* docker run -i (StdinOnce): the end of the first attach's input is the command's */
        if (end && c->stdin_once && c->master < 0) {
                pthread_mutex_lock(&consoles_lock);
                int in = c->in_fd;
                c->in_fd = -1;
                pthread_mutex_unlock(&consoles_lock);
                if (in >= 0)
                        close(in);
        }
        console_put(c);
        return 0;
}

static int resize_fd(int fd, struct api_req *q, struct api_reply *ret)
{
        const char *h = api_query(q, "h"), *w = api_query(q, "w");
        char *e1 = NULL, *e2 = NULL;
        unsigned long rows = h ? strtoul(h, &e1, 10) : 0, cols = w ? strtoul(w, &e2, 10) : 0;
        if (!h || !w || *e1 || *e2 || rows > UINT16_MAX || cols > UINT16_MAX)
                return api_error(ret, 400, "resize: h and w must be numbers up to 65535");
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
        if (fd >= 0 && ioctl(fd, TIOCSWINSZ, &ws) < 0)
                return api_error(ret, 500, "cannot resize the terminal: %m");
        ret->status = 200;
        return 0;
}

static int api_ctr_resize(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return api_fail(ret, &err);
        _cleanup_free_ char *id = xstrdup(json_string_value(json_object_get(rec, "Id")) ?: "");
        bool running = strcmp(json_string_value(json_object_get(rec, "Status")) ?: "", "running") == 0;
        json_decref(rec);
        if (!running)
                return api_error(ret, 409, "Container %s is not running", q->params[0]);
        struct console *c = console_get(id);
        int r = resize_fd(c ? c->master : -1, q, ret);
        if (c)
                console_put(c);
        return r;
}

/* ---- exec ---- */

struct exec {
        char id[65];
        char *ctr;                /* the container's full id */
        char **argv, **env;
        char *user, *workdir;
        bool tty, in, out, err;
        bool running, started, detached;
        int exit_code;            /* -1 until it ended */
        int master;               /* with a terminal, while it runs */
        time_t ended;
        struct exec *next;
};

static pthread_mutex_t execs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec *execs;
#define EXECS_KEPT 256 /* ended execs remembered, the oldest forgotten first */

static void exec_free(struct exec *e)
{
        free(e->ctr), free(e->user), free(e->workdir);
        strv_freep(&e->argv);
        strv_freep(&e->env);
        free(e);
}

/* under execs_lock */
static struct exec *exec_find(const char *id)
{
        for (struct exec *e = execs; e; e = e->next)
                if (strcmp(e->id, id) == 0)
                        return e;
        return NULL;
}

/* under execs_lock: forget the oldest ended ones past EXECS_KEPT */
static void execs_trim(void)
{
        size_t n = 0;
        for (struct exec *e = execs; e; e = e->next)
                n++;
        while (n > EXECS_KEPT) {
                struct exec **pp = &execs, **oldest = NULL;
                for (; *pp; pp = &(*pp)->next)
                        if (!(*pp)->running && (*pp)->started && (!oldest || (*pp)->ended <= (*oldest)->ended))
                                oldest = pp;
                if (!oldest)
                        break;
                struct exec *e = *oldest;
                *oldest = e->next;
                exec_free(e);
                n--;
        }
}

static int strv_field(json_t *b, const char *k, char ***ret, struct api_reply *rep)
{
        json_t *a = json_object_get(b, k), *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return api_error(rep, 400, "%s: expected an array of strings", k), -1;
        json_array_foreach(a, i, v)
        {
                if (!json_is_string(v))
                        return api_error(rep, 400, "%s: expected an array of strings", k), -1;
                strv_push(ret, json_string_value(v));
        }
        return 0;
}

static int api_exec_create(struct api_req *q, struct api_reply *ret)
{
        json_error_t je;
        json_t *b = json_loadb(q->body, q->body_len, 0, &je);
        if (!json_is_object(b)) {
                json_decref(b);
                return api_error(ret, 400, "malformed JSON body: %s", b ? "not an object" : je.text);
        }
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0) {
                json_decref(b);
                return api_fail(ret, &err);
        }
        bool running = strcmp(json_string_value(json_object_get(rec, "Status")) ?: "", "running") == 0;
        struct exec *e = xcalloc(1, sizeof(*e));
        e->ctr = xstrdup(json_string_value(json_object_get(rec, "Id")) ?: q->params[0]);
        json_decref(rec);
        e->exit_code = -1;
        e->master = -1;
        if (!running) {
                exec_free(e);
                json_decref(b);
                return api_error(ret, 409, "Container %s is not running", q->params[0]);
        }
        if (json_is_true(json_object_get(b, "Privileged"))) {
                exec_free(e);
                json_decref(b);
                return api_error(ret, 400, "den does not support privileged exec (docker exec --privileged)");
        }
        if (strv_field(b, "Cmd", &e->argv, ret) < 0 || strv_field(b, "Env", &e->env, ret) < 0) {
                exec_free(e);
                json_decref(b);
                return 0;
        }
        if (!e->argv || !e->argv[0]) {
                exec_free(e);
                json_decref(b);
                return api_error(ret, 400, "No exec command specified");
        }
        const char *s = json_string_value(json_object_get(b, "User"));
        e->user = s && *s ? xstrdup(s) : NULL;
        s = json_string_value(json_object_get(b, "WorkingDir"));
        e->workdir = s && *s ? xstrdup(s) : NULL;
        e->tty = json_is_true(json_object_get(b, "Tty"));
        e->in = json_is_true(json_object_get(b, "AttachStdin"));
        e->out = json_is_true(json_object_get(b, "AttachStdout"));
        e->err = json_is_true(json_object_get(b, "AttachStderr"));
        json_decref(b);
        uint8_t rnd[32];
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
                exec_free(e);
                return api_error(ret, 500, "getrandom: %m");
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(e->id + 2 * i, 3, "%02x", rnd[i]);
        pthread_mutex_lock(&execs_lock);
        e->next = execs;
        execs = e;
        execs_trim();
        pthread_mutex_unlock(&execs_lock);
        return api_json(ret, 201, json_pack("{s:s}", "Id", e->id));
}

static int api_exec_inspect(struct api_req *q, struct api_reply *ret)
{
        pthread_mutex_lock(&execs_lock);
        struct exec *e = exec_find(q->params[0]);
        json_t *j = NULL;
        if (e) {
                json_t *args = json_array();
                for (size_t i = 1; e->argv[i]; i++)
                        json_array_append_new(args, json_string(e->argv[i]));
                j = json_pack("{s:s,s:b,s:o,s:{s:b,s:s,s:o,s:b,s:s},s:b,s:b,s:b,s:b,s:s,s:s,s:i}", "ID", e->id, "Running",
                              e->running, "ExitCode", e->exit_code >= 0 ? json_integer(e->exit_code) : json_null(),
                              "ProcessConfig", "tty", e->tty, "entrypoint", e->argv[0], "arguments", args, "privileged",
                              false, "user", e->user ? e->user : "", "OpenStdin", e->in, "OpenStdout", e->out,
                              "OpenStderr", e->err, "CanRemove", false, "ContainerID", e->ctr, "DetachKeys", "", "Pid", 0);
        }
        pthread_mutex_unlock(&execs_lock);
        if (!j)
                return api_error(ret, 404, "No such exec instance: %s", q->params[0]);
        return api_json(ret, 200, j);
}

static int api_exec_resize(struct api_req *q, struct api_reply *ret)
{
        pthread_mutex_lock(&execs_lock);
        struct exec *e = exec_find(q->params[0]);
        int fd = e && e->master >= 0 ? fcntl(e->master, F_DUPFD_CLOEXEC, 3) : -1;
        bool found = e != NULL;
        pthread_mutex_unlock(&execs_lock);
        if (!found)
                return api_error(ret, 404, "No such exec instance: %s", q->params[0]);
        int r = resize_fd(fd, q, ret);
        if (fd >= 0)
                close(fd);
        return r;
}

static void exec_ended(struct exec *e, int code)
{
        pthread_mutex_lock(&execs_lock);
        e->running = false;
        e->exit_code = code;
        e->master = -1;
        e->ended = time(NULL);
        pthread_mutex_unlock(&execs_lock);
}

/* one exec's run: its process and the fds relayed */
struct exec_run {
        struct exec *e;      /* stays in the table while running (execs_trim skips it) */
        struct ctr_proc proc;
        int in_w;            /* stdin's write end (no terminal); -1 */
        int out_r, err_r;    /* stdout's and stderr's read ends (no terminal); -1 */
        char *error;         /* the command could not start: this goes to the client */
        int error_code;
};

static void exec_run_free(struct exec_run *x)
{
        if (x->in_w >= 0)
                close(x->in_w);
        if (x->out_r >= 0)
                close(x->out_r);
        if (x->err_r >= 0)
                close(x->err_r);
        if (x->proc.master >= 0)
                close(x->proc.master);
        free(x->proc.rundir);
        if (x->proc.sock >= 0)
                close(x->proc.sock);
        free(x->error);
        free(x);
}

static bool send_all(int fd, const char *data, size_t n)
{
        while (n) {
                ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        poll(&p, 1, 1000);
                        continue;
                }
                if (w <= 0)
                        return false;
                data += w, n -= (size_t) w;
        }
        return true;
}

/* data as one of docker's frames (stream 1 stdout, 2 stderr), or raw with a terminal */
static bool send_frame(int fd, bool tty, int stream, const char *data, size_t n)
{
        if (tty)
                return send_all(fd, data, n);
        unsigned char h[8] = { (unsigned char) stream, 0, 0, 0, (unsigned char) (n >> 24), (unsigned char) (n >> 16),
                               (unsigned char) (n >> 8), (unsigned char) n };
        return send_all(fd, (const char *) h, sizeof(h)) && send_all(fd, data, n);
}

#define EXEC_IN_MAX (1u << 20) /* client input held for a command not reading it: past this, the client waits */

/* the exec's output to the client and the client's input to the exec, until the
 * command has ended and its output is drained, or the client is gone.  Input is held and
 * written as the command takes it (never blocking: a command that writes much before it
 * reads would otherwise wait on its full output while we wait on its full input). */
static void exec_relay(struct exec_run *x, int fd, const char *extra, size_t n_extra)
{
        struct exec *e = x->e;
        char buf[32768];
        bool client_in = true, client_ok = true, exited = false, in_end = false;
        int in_fd = e->in ? (e->tty ? x->proc.master : x->in_w) : -1;
        char *pend = NULL;
        size_t n_pend = 0;
        if (in_fd >= 0) {
                int fl = fcntl(in_fd, F_GETFL);
                if (fl >= 0)
                        fcntl(in_fd, F_SETFL, fl | O_NONBLOCK);
        }
        if (n_extra && in_fd >= 0) {
                pend = xmalloc(n_extra);
                memcpy(pend, extra, n_extra);
                n_pend = n_extra;
        }
        int outs[2] = { e->tty ? x->proc.master : x->out_r, e->tty ? -1 : x->err_r };
        while (client_ok) {
                /* the client's end of input, once what it sent is in: the command's stdin ends
                 * (a terminal's stays) */
                if (in_end && !n_pend && !e->tty && x->in_w >= 0) {
                        close(x->in_w);
                        x->in_w = in_fd = -1;
                }
                struct pollfd p[5] = {
                        { .fd = client_in && n_pend < EXEC_IN_MAX ? fd : -1, .events = POLLIN },
                        { .fd = outs[0], .events = POLLIN },
                        { .fd = outs[1], .events = POLLIN },
                        { .fd = exited ? -1 : x->proc.sock, .events = POLLIN },
                        { .fd = n_pend && in_fd >= 0 ? in_fd : -1, .events = POLLOUT },
                };
                if (outs[0] < 0 && outs[1] < 0 && exited)
                        break;
                /* ended with its output still held open (a child left behind): what is there, then the end */
                int n = poll(p, 5, exited ? 100 : -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        break;
                if (p[0].revents) {
                        ssize_t k = recv(fd, buf, sizeof(buf), 0);
                        if (k > 0 && in_fd >= 0) {
                                pend = xrealloc(pend, n_pend + (size_t) k);
                                memcpy(pend + n_pend, buf, (size_t) k);
                                n_pend += (size_t) k;
                        } else if (k <= 0) {
                                client_in = false;
                                in_end = true;
                                if (k < 0 || (p[0].revents & (POLLHUP | POLLERR)))
                                        client_ok = false;
                        }
                }
                if (p[4].revents) {
                        ssize_t w = write(in_fd, pend, n_pend);
                        if (w > 0) {
                                memmove(pend, pend + w, n_pend - (size_t) w);
                                n_pend -= (size_t) w;
                        } else if (w < 0 && errno != EAGAIN && errno != EINTR)
                                n_pend = 0; /* the command closed its stdin: what is left goes nowhere */
                }
                for (int i = 0; i < 2; i++) {
                        if (outs[i] < 0 || !p[i + 1].revents)
                                continue;
                        ssize_t k = read(outs[i], buf, sizeof(buf));
                        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (k <= 0) {
                                /* a terminal's master: EIO once no process holds the terminal */
                                outs[i] = -1;
                                continue;
                        }
                        if ((i == 0 ? e->out : e->err) && !send_frame(fd, e->tty, i + 1, buf, (size_t) k))
                                client_ok = false;
                }
                if (p[3].revents)
                        exited = true;
        }
        free(pend);
}

static void exec_finish(struct exec_run *x)
{
        struct err err = { 0 };
        int status = -1;
        /* the command keeps its stdio no longer than the client: a full pipe would hold it,
         * a terminal hangs up */
        int *fds[] = { &x->in_w, &x->out_r, &x->err_r, &x->proc.master };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        if (x->proc.master < 0) {
                pthread_mutex_lock(&execs_lock);
                x->e->master = -1;
                pthread_mutex_unlock(&execs_lock);
        }
        if (x->proc.sock >= 0 && ctr_proc_wait(&x->proc, &status, &err) < 0)
                status = 137;
        exec_ended(x->e, status < 0 ? 126 : status);
        exec_run_free(x);
}

static void exec_stream(void *cls, int fd, const char *extra, size_t n_extra)
{
        struct exec_run *x = cls;
        if (x->error) {
                const char *m = x->error;
                send_frame(fd, x->e->tty, 2, m, strlen(m));
                send_frame(fd, x->e->tty, 2, "\n", 1);
                /* the code first: the client inspects the exec once the stream ends */
                exec_ended(x->e, x->error_code);
                exec_run_free(x);
                shutdown(fd, SHUT_WR);
                return;
        }
        exec_relay(x, fd, extra, n_extra);
        /* the exit code is there before the client sees the end (docker exec inspects it then) */
        exec_finish(x);
        shutdown(fd, SHUT_WR);
}

static void *exec_detached(void *arg)
{
        exec_finish(arg);
        return NULL;
}

/* exec_finish() on a thread of its own: the command runs on without a client */
static void exec_finish_later(struct exec_run *x)
{
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, exec_detached, x) != 0)
                exec_finish(x);
        pthread_attr_destroy(&a);
}

/* the client left before its stream began */
static void exec_drop(void *cls)
{
        struct exec_run *x = cls;
        if (!x->error) {
                exec_finish_later(x);
                return;
        }
        exec_ended(x->e, x->error_code);
        exec_run_free(x);
}

/* the exec's process started: pipes or a terminal as it asked */
static int exec_spawn(struct api_req *q, struct exec *e, unsigned rows, unsigned cols, struct exec_run *x,
                      bool detach)
{
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
        struct ctr_cmd c = { .argv = e->argv, .env = e->env, .workdir = e->workdir, .user = e->user,
                             .fds = { -1, -1, -1 } };
        struct err err = { 0 };
        bool pipes = !e->tty && !detach;
        if (pipes && ((e->in && pipe2(in, O_CLOEXEC) < 0) || (e->out && pipe2(out, O_CLOEXEC) < 0) ||
                      (e->err && pipe2(errp, O_CLOEXEC) < 0))) {
                err_sys(&err, -errno, "pipe");
        } else {
                c.fds[0] = in[0], c.fds[1] = out[1], c.fds[2] = errp[1];
                /* the image's environment comes first, as den exec gives it */
                _cleanup_strv_free_ char **env = NULL;
                json_t *rec = NULL;
                if (engine_inspect(q->root, q->runroot, e->ctr, &rec, &err) >= 0) {
                        json_t *v;
                        size_t i;
                        json_array_foreach(json_object_get(json_object_get(rec, "Process"), "env"), i, v)
                                strv_push(&env, json_string_value(v));
                        for (size_t k = 0; e->env && e->env[k]; k++)
                                strv_push(&env, e->env[k]);
                        if (!e->workdir)
                                c.workdir = json_string_value(json_object_get(json_object_get(rec, "Process"), "cwd"));
                        c.env = env;
                        err_clear(&err);
                        ctr_spawn(q->root, q->runroot, e->ctr, &c, e->tty, rows, cols, &x->proc, &err);
                }
                json_decref(rec);
        }
        if (in[0] >= 0)
                close(in[0]);
        if (out[1] >= 0)
                close(out[1]);
        if (errp[1] >= 0)
                close(errp[1]);
        x->in_w = in[1], x->out_r = out[0], x->err_r = errp[0];
        if (err.code) {
                /* docker's codes: 127 not found, 126 found but not run */
                x->error = xstrdup(err.msg);
                x->error_code = strstr(err.msg, "No such file") || strstr(err.msg, "not found") ? 127 : 126;
                return err.code;
        }
        return 0;
}

static int api_exec_start(struct api_req *q, struct api_reply *ret)
{
        json_t *b = q->body_len ? json_loadb(q->body, q->body_len, 0, NULL) : json_object();
        if (!json_is_object(b)) {
                json_decref(b);
                return api_error(ret, 400, "malformed JSON body");
        }
        bool detach = json_is_true(json_object_get(b, "Detach"));
        json_t *cs = json_object_get(b, "ConsoleSize");
        unsigned rows = (unsigned) json_integer_value(json_array_get(cs, 0)),
                 cols = (unsigned) json_integer_value(json_array_get(cs, 1));
        json_decref(b);
        pthread_mutex_lock(&execs_lock);
        struct exec *e = exec_find(q->params[0]);
        bool again = e && e->started;
        if (e && !again)
                e->started = e->running = true;
        pthread_mutex_unlock(&execs_lock);
        if (!e)
                return api_error(ret, 404, "No such exec instance: %s", q->params[0]);
        if (again)
                return api_error(ret, 409, "Exec %s has already been started", q->params[0]);
        struct exec_run *x = xcalloc(1, sizeof(*x));
        x->e = e;
        x->in_w = x->out_r = x->err_r = -1;
        x->proc = (struct ctr_proc){ .sock = -1, .master = -1 };
        api_serial(true);
        int r = exec_spawn(q, e, rows, cols, x, detach);
        api_serial(false);
        if (r >= 0 && e->tty) {
                pthread_mutex_lock(&execs_lock);
                e->master = x->proc.master;
                pthread_mutex_unlock(&execs_lock);
        }
        if (detach) {
                if (r < 0) {
                        api_error(ret, 500, "%s", x->error);
                        exec_ended(e, x->error_code);
                        exec_run_free(x);
                        return 0;
                }
                exec_finish_later(x);
                ret->status = 200;
                return 0;
        }
        ret->status = 101;
        ret->content_type = e->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
        ret->hijack = exec_stream;
        ret->hijack_cls = x;
        ret->hijack_drop = exec_drop;
        return 0;
}

const struct api_route api_routes_exec[] = {
        { "POST", "/containers/{id}/exec", api_exec_create, true },
        { "POST", "/exec/{id}/start", api_exec_start, false },
        { "POST", "/exec/{id}/resize", api_exec_resize, false },
        { "GET", "/exec/{id}/json", api_exec_inspect, false },
        { "POST", "/containers/{id}/resize", api_ctr_resize, true },
        { NULL },
};
