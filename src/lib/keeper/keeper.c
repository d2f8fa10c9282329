/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "keeper.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/console.h"
#include "lib/linux/process.h"
#include "lib/linux/seccomp_bpf.h"
#include "proto.h"

#define MAX_CLIENTS 256

struct client {
        int fd;
        pid_t pid;      /* the command it started, 0: none */
        bool wait_main; /* a WAIT for the main command */
};

/* a command's stdout or stderr going to the container log as JSON lines
 * ({"log":"...\n","stream":"stdout","time":"..."}, docker's json-file format) */
struct logpipe {
        int fd;         /* read end, -1: free */
        int log_fd;     /* shared with the other stream of the command */
        bool err;
        bool raw;       /* a terminal's output: what a read brings is an entry, line or not
                         * (a shell's prompt must reach an attached client) */
        size_t len;
        char buf[32768];
};

#define MAX_LOGPIPES 16
#define LOG_CAP (8u << 20)

struct keeper {
        const struct keeper_conf *c;
        struct logpipe logs[MAX_LOGPIPES];
        struct client clients[MAX_CLIENTS];
        pid_t main_pid;
        bool main_started, main_done;
        int main_status;
        int ep;
};

/* the length of a valid UTF-8 sequence at p (of at most n bytes), 0 if none */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        size_t l = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
        if (l == 0 || l > n)
                return 0;
        for (size_t i = 1; i < l; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        /* no overlong forms, no surrogates, nothing past U+10FFFF */
        if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) || (p[0] == 0xf0 && p[1] < 0x90) ||
            (p[0] == 0xf4 && p[1] >= 0x90))
                return 0;
        return l;
}

struct outbuf {
        char *p;
        size_t len, cap;
};

static void out_put(struct outbuf *o, const char *s, size_t n)
{
        if (o->len + n > o->cap) {
                o->cap = (o->len + n) * 2;
                o->p = xrealloc(o->p, o->cap);
        }
        memcpy(o->p + o->len, s, n);
        o->len += n;
}

/* one line as docker's json-file writes it; bytes that are not UTF-8 become '?' */
static void log_line(struct outbuf *o, const char *data, size_t n, const char *stream, const char *ts)
{
        static const char hex[] = "0123456789abcdef";
        out_put(o, "{\"log\":\"", 8);
        const unsigned char *d = (const unsigned char *) data;
        for (size_t i = 0; i < n;) {
                unsigned char c = d[i];
                char esc[6] = { '\\', 0 };
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        size_t j = i;
                        while (j < n && d[j] >= 0x20 && d[j] < 0x80 && d[j] != '"' && d[j] != '\\')
                                j++;
                        out_put(o, data + i, j - i);
                        i = j;
                        continue;
                }
                if (c >= 0x80) {
                        size_t l = utf8_len(d + i, n - i);
                        out_put(o, l ? data + i : "?", l ? l : 1);
                        i += l ? l : 1;
                        continue;
                }
                if (c == '"' || c == '\\')
                        esc[1] = (char) c;
                else if (c == '\n')
                        esc[1] = 'n';
                else if (c == '\t')
                        esc[1] = 't';
                else if (c == '\r')
                        esc[1] = 'r';
                if (esc[1])
                        out_put(o, esc, 2);
                else {
                        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                        out_put(o, u, 6);
                }
                i++;
        }
        out_put(o, "\",\"stream\":\"", 12);
        out_put(o, stream, strlen(stream));
        out_put(o, "\",\"time\":\"", 10);
        out_put(o, ts, strlen(ts));
        out_put(o, "\"}\n", 3);
}

/* append lines to the log: one stat, one write for all that one read brought */
static void log_flush(struct logpipe *lp, struct outbuf *o)
{
        if (o->len == 0)
                return;
        struct stat st;
        /* past the cap, keep the newer half: the log is an fd, not a path to rotate */
        if (fstat(lp->log_fd, &st) == 0 && (uint64_t) st.st_size + o->len > LOG_CAP) {
                size_t keep = LOG_CAP / 2;
                _cleanup_free_ char *tail = xmalloc(keep);
                ssize_t got = pread(lp->log_fd, tail, keep, st.st_size > (off_t) keep ? st.st_size - (off_t) keep : 0);
                char *nl = got > 0 ? memchr(tail, '\n', (size_t) got) : NULL;
                size_t rest = nl ? (size_t) got - (size_t) (nl + 1 - tail) : 0;
                if (!nl || pwrite(lp->log_fd, nl + 1, rest, 0) != (ssize_t) rest || ftruncate(lp->log_fd, (off_t) rest) < 0) {
                        /* nothing to keep: start over */
                        if (ftruncate(lp->log_fd, 0) < 0) {
                        }
                }
        }
        lseek(lp->log_fd, 0, SEEK_END);
        if (write(lp->log_fd, o->p, o->len) < 0) {
        }
        o->len = 0;
}

/* how much of a log pipe the keeper reads once the main command is gone: a
 * process left behind may still hold it, writing or not; it ends with us */
#define LOG_FINAL_READS 64

/* read what a log pipe holds; final > 0: the main command is gone, and the pipe
 * is done when empty (or after this read, when final is 1) */
static void log_drain(struct keeper *k, struct logpipe *lp, int final)
{
        ssize_t n = read(lp->fd, lp->buf + lp->len, sizeof(lp->buf) - lp->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR) && !final)
                return;
        if (final == 1 && n > 0) {
                lp->len += (size_t) n;
                n = 0;
        }
        if (n > 0)
                lp->len += (size_t) n;
        _cleanup_free_ char *ts = now_rfc3339();
        const char *stream = lp->err ? "stderr" : "stdout";
        struct outbuf o = { 0 };
        char *start = lp->buf, *nl;
        while ((nl = memchr(start, '\n', lp->len - (size_t) (start - lp->buf)))) {
                log_line(&o, start, (size_t) (nl + 1 - start), stream, ts);
                start = nl + 1;
        }
        size_t left = lp->len - (size_t) (start - lp->buf);
        memmove(lp->buf, start, left);
        lp->len = left;
        if ((n <= 0 || lp->len == sizeof(lp->buf) || lp->raw) && lp->len) {
                log_line(&o, lp->buf, lp->len, stream, ts);
                lp->len = 0;
        }
        log_flush(lp, &o);
        free(o.p);
        if (n <= 0) {
                epoll_ctl(k->ep, EPOLL_CTL_DEL, lp->fd, NULL);
                close(lp->fd);
                lp->fd = -1;
                /* the other stream may still hold the log fd */
                bool shared = false;
                for (int i = 0; i < MAX_LOGPIPES; i++)
                        shared |= k->logs[i].fd >= 0 && k->logs[i].log_fd == lp->log_fd;
                if (!shared)
                        close(lp->log_fd);
        }
}

/* stdout and stderr of a logged command: pipes whose read ends the keeper watches */
static int log_pipes(struct keeper *k, int log_fd, int ret_w[2])
{
        int slots[2] = { -1, -1 }, n = 0;
        for (int i = 0; i < MAX_LOGPIPES && n < 2; i++)
                if (k->logs[i].fd < 0)
                        slots[n++] = i;
        if (n < 2)
                return -EMFILE;
        int dup_log = fcntl(log_fd, F_DUPFD_CLOEXEC, 3);
        if (dup_log < 0)
                return -errno;
        for (int i = 0; i < 2; i++) {
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -errno;
                /* the read end never blocks the keeper (the write end, the
                 * command's stdout, stays blocking) */
                if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
                        close(p[0]);
                        close(p[1]);
                        return -errno;
                }
                struct logpipe *lp = &k->logs[slots[i]];
                lp->fd = p[0];
                lp->log_fd = dup_log;
                lp->err = i == 1;
                lp->len = 0;
                ret_w[i] = p[1];
                struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
                epoll_ctl(k->ep, EPOLL_CTL_ADD, p[0], &ev);
        }
        return 0;
}

/* a terminal's master (a dup of it, kept open: the command keeps its terminal when
 * the client closes its master) read into the log as stdout */
static int log_pty(struct keeper *k, int log_fd, int master)
{
        int slot = -1;
        for (int i = 0; i < MAX_LOGPIPES && slot < 0; i++)
                if (k->logs[i].fd < 0)
                        slot = i;
        if (slot < 0)
                return -EMFILE;
        int dup_log = fcntl(log_fd, F_DUPFD_CLOEXEC, 3), m = fcntl(master, F_DUPFD_CLOEXEC, 3);
        if (dup_log < 0 || m < 0 || fcntl(m, F_SETFL, O_NONBLOCK) < 0) {
                int e = -errno;
                if (dup_log >= 0)
                        close(dup_log);
                if (m >= 0)
                        close(m);
                return e;
        }
        struct logpipe *lp = &k->logs[slot];
        *lp = (struct logpipe){ .fd = m, .log_fd = dup_log, .raw = true };
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = m };
        epoll_ctl(k->ep, EPOLL_CTL_ADD, m, &ev);
        return 0;
}

static void reply(int fd, enum keeper_type t, json_t *payload)
{
        keeper_send(fd, t, payload, NULL, 0);
        json_decref(payload);
}

static void drop_client(struct keeper *k, struct client *cl)
{
        epoll_ctl(k->ep, EPOLL_CTL_DEL, cl->fd, NULL);
        close(cl->fd);
        memset(cl, 0, sizeof(*cl));
        cl->fd = -1;
}

static int build_process(json_t *req, const struct keeper_conf *c, struct spec_process *p, struct err *err)
{
        json_t *u = json_object_get(req, "user");
        if (json_is_string(u)) {
                json_t *resolved = NULL;
                int q = command_resolve_user(json_string_value(u), &resolved, err);
                if (q < 0) {
                        memset(p, 0, sizeof(*p));
                        return q;
                }
                json_object_set_new(req, "user", resolved);
        }
        int r = spec_parse_process(req, "request", p, err);
        if (r < 0)
                return r;
        /* commands run as root in the container get the default set; others none */
        p->has_caps = true;
        for (int s = 0; s < _CAP_SET_MAX; s++)
                p->caps[s] = s == CAP_SET_AMBIENT || p->uid != 0 ? 0 : c->default_caps;
        p->caps[CAP_SET_BOUNDING] = c->default_caps;
        return 0;
}

/* the command's process: stdio from the client, user and caps, exec */
static __attribute__((noreturn)) void command_child(struct keeper *k, struct spec_process *p, const int *fds,
                                                    size_t n_fds, int errpipe, bool no_network, bool home)
{
        struct err err = { 0 };
        _cleanup_free_ char *path = NULL;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
                signal(s, SIG_DFL);
        setsid();
        for (size_t i = 0; i < 3 && i < n_fds; i++)
                if (dup3(fds[i], (int) i, 0) < 0)
                        _exit(127);
        if (p->terminal && ioctl(0, TIOCSCTTY, 0) < 0) {
                err_sys(&err, -errno, "cannot make the terminal the command's controlling terminal");
                goto fail;
        }
        /* a session's command without network: a network namespace of its own,
         * loopback only (the keeper stays where the session began) */
        if (no_network && command_own_netns(&err) < 0)
                goto fail;
        /* the filter before the user and capabilities change: installing it needs
         * CAP_SYS_ADMIN here, or no_new_privs, which docker does not set either
         * (setuid programs inside work); what follows is allowed by it */
        /* as den-runtime does: HOME from the container's /etc/passwd, else / */
        if (home)
                process_env_default_home(&p->env, p->uid);
        if (process_set_limits(p, NULL, true, &err) < 0 || process_chdir(p->cwd, &err) < 0 ||
            (k->c->seccomp && seccomp_blob_install(k->c->seccomp, k->c->seccomp_len, &err) < 0) ||
            process_set_user_caps(p, k->c->setgroups, &err) < 0 || process_find_exec(p, &path, &err) < 0)
                goto fail;
        process_close_fds(0);
        /* errpipe is close-on-exec: EOF tells the keeper the exec happened */
        execve(path, p->args, p->env ? p->env : (char *[]){ NULL });
        err_sys(&err, -errno, "exec '%s'", path);
fail:
        if (write(errpipe, err.msg, strlen(err.msg)) < 0) {
        }
        _exit(127);
}

static void handle_run(struct keeper *k, struct client *cl, json_t *req, int *fds, size_t n_fds)
{
        struct spec_process p;
        struct err err = { 0 };
        bool main = json_is_true(json_object_get(req, "main"));
        if (main && k->main_started) {
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "the main command was started already"));
                return;
        }
        if (build_process(req, k->c, &p, &err) < 0) {
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", err.msg));
                spec_process_free(&p);
                return;
        }
        /* with a terminal: a pty of the container's own devpts; the command gets
         * the peer as stdio and the client the master */
        int master = -1, slave = -1, tfds[3];
        /* a terminal with a log: the client's one fd is the log file */
        bool log = json_is_true(json_object_get(req, "log"));
        int pty_log = p.terminal && log && n_fds == 1 ? fds[0] : -1;
        if (p.terminal) {
                master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (master < 0 || console_open(master, &slave, &err) < 0) {
                        if (master >= 0)
                                close(master);
                        reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error",
                                                              err.code ? err.msg : "the container has no /dev/pts/ptmx"));
                        spec_process_free(&p);
                        return;
                }
                if (p.console_height || p.console_width)
                        console_resize(slave, p.console_height, p.console_width);
                tfds[0] = tfds[1] = tfds[2] = slave;
                fds = tfds;
                n_fds = 3;
                if (pty_log >= 0 && log_pty(k, pty_log, master) < 0) {
                        close(master), close(slave);
                        reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "cannot set up the log"));
                        spec_process_free(&p);
                        return;
                }
        }
        int lw[2] = { -1, -1 };
        if (log && n_fds == 2 && !p.terminal) {
                /* fds: stdin, the log file */
                if (log_pipes(k, fds[1], lw) < 0) {
                        reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "cannot set up the log"));
                        spec_process_free(&p);
                        return;
                }
                tfds[0] = fds[0];
                tfds[1] = lw[0];
                tfds[2] = lw[1];
                fds = tfds;
                n_fds = 3;
        }
        int ep[2];
        if (pipe2(ep, O_CLOEXEC) < 0) {
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "pipe failed"));
                spec_process_free(&p);
                return;
        }
        pid_t pid = fork();
        if (pid == 0) {
                close(ep[0]);
                const char *net = json_string_value(json_object_get(req, "network"));
                command_child(k, &p, fds, n_fds, ep[1], net && strcmp(net, "none") == 0,
                              json_is_true(json_object_get(req, "home")));
        }
        close(ep[1]);
        spec_process_free(&p);
        if (slave >= 0)
                close(slave);
        for (int i = 0; i < 2; i++)
                if (lw[i] >= 0)
                        close(lw[i]);
        if (pid < 0) {
                close(ep[0]);
                if (master >= 0)
                        close(master);
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "fork failed"));
                return;
        }
        char msg[600];
        ssize_t n = fs_read_all(ep[0], msg, sizeof(msg) - 1);
        close(ep[0]);
        if (n > 0) {
                msg[n] = '\0';
                waitpid(pid, NULL, 0);
                if (master >= 0)
                        close(master);
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", msg));
                return;
        }
        cl->pid = pid;
        if (main) {
                k->main_pid = pid;
                k->main_started = true;
        }
        json_t *ok = json_pack("{s:i}", "pid", pid);
        keeper_send(cl->fd, KEEPER_STARTED, ok, master >= 0 ? &master : NULL, master >= 0 ? 1 : 0);
        json_decref(ok);
        if (master >= 0)
                close(master);
}

/* den cp and export read regular files and directories only: the path is opened
 * as a path first and reopened for reading only when it is one of those, so a
 * FIFO of the image cannot block the keeper nor a device node be opened */
static int open_for_read(int root, const char *path, struct err *err)
{
        _cleanup_close_ int p = fs_open_in_root(root, path, O_PATH, 0);
        struct stat st, st2;
        if (p < 0)
                return p;
        if (fstat(p, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                return err_set(err, -EINVAL, "not a regular file or a directory");
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p);
        int fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* the same file, whatever a process of the container did to /proc */
        if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
                close(fd);
                return err_set(err, -EIO, "changed while opened");
        }
        return fd;
}

/* open a path inside the container's root for den cp: "/" here is that root */
static void handle_open(struct client *cl, json_t *req)
{
        const char *path = json_string_value(json_object_get(req, "path"));
        const char *how = json_string_value(json_object_get(req, "how"));
        struct err err = { 0 };
        int fd = -1;
        if (!path || path[0] != '/' || !how) {
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "open: an absolute path and how are required"));
                return;
        }
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (strcmp(how, "stat") == 0)
                fd = fs_open_in_root(root, path, O_PATH, 0);
        else if (strcmp(how, "read") == 0)
                fd = open_for_read(root, path, &err);
        else if (strcmp(how, "mkdir") == 0) {
                int d = fs_resolve_create(root, path, FS_CREATE_DIR, 0755, &err);
                if (d >= 0) {
                        fd = fs_open_in_root(root, path, O_RDONLY | O_DIRECTORY, 0);
                        close(d);
                } else
                        fd = d;
        } else if (strcmp(how, "write") == 0) {
                /* the parent must exist; the file itself is replaced, never followed */
                _cleanup_free_ char *copy = xstrdup(path);
                char *slash = strrchr(copy, '/');
                *slash = '\0';
                _cleanup_close_ int dir = fs_open_in_root(root, *copy ? copy : "/", O_PATH | O_DIRECTORY, 0);
                if (dir >= 0 && slash[1]) {
                        unlinkat(dir, slash + 1, 0);
                        fd = openat(dir, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (fd < 0)
                                fd = -errno;
                } else
                        fd = dir < 0 ? dir : -EISDIR;
        }
        if (fd < 0) {
                char m[600];
                snprintf(m, sizeof(m), "'%s' in the container: %s", path, err.code ? err.msg : strerror(-fd));
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", m));
                return;
        }
        json_t *ok = json_pack("{s:i}", "pid", 0);
        keeper_send(cl->fd, KEEPER_STARTED, ok, &fd, 1);
        json_decref(ok);
        close(fd);
}

static void handle_message(struct keeper *k, struct client *cl)
{
        enum keeper_type t;
        json_t *req = NULL;
        int fds[KEEPER_MAX_FDS];
        size_t n = KEEPER_MAX_FDS;
        struct err err = { 0 };
        if (keeper_recv(cl->fd, &t, &req, fds, &n, &err) < 0) {
                drop_client(k, cl);
                return;
        }
        switch (t) {
        case KEEPER_RUN:
                if (cl->pid)
                        reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "one command per connection"));
                else
                        handle_run(k, cl, req, fds, n);
                break;
        case KEEPER_SIGNAL: {
                pid_t pid = (pid_t) json_integer_value(json_object_get(req, "pid"));
                int sig = (int) json_integer_value(json_object_get(req, "signal"));
                if (pid == 0)
                        pid = k->main_pid;
                if (pid <= 0 || sig <= 0 || sig >= NSIG || kill(pid, sig) < 0)
                        reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "no such process"));
                else
                        reply(cl->fd, KEEPER_STARTED, json_pack("{s:i}", "pid", pid));
                break;
        }
        case KEEPER_OPEN:
                handle_open(cl, req);
                break;
        case KEEPER_WAIT:
                if (k->main_done)
                        reply(cl->fd, KEEPER_EXITED, json_pack("{s:i}", "status", k->main_status));
                else
                        cl->wait_main = true;
                break;
        default:
                reply(cl->fd, KEEPER_ERROR, json_pack("{s:s}", "error", "unknown request"));
        }
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
        json_decref(req);
}

static void reap(struct keeper *k)
{
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                for (int i = 0; i < MAX_CLIENTS; i++) {
                        struct client *cl = &k->clients[i];
                        if (cl->fd >= 0 && cl->pid == pid) {
                                reply(cl->fd, KEEPER_EXITED, json_pack("{s:i}", "status", status));
                                drop_client(k, cl);
                        }
                }
                if (pid == k->main_pid) {
                        k->main_done = true;
                        k->main_status = status;
                }
        }
}

static __attribute__((noreturn)) void finish(struct keeper *k)
{
        /* what the command wrote last is still in the pipes; a process it left
         * behind holding them does not keep us (it ends with us) */
        for (int i = 0; i < MAX_LOGPIPES; i++)
                for (int left = LOG_FINAL_READS; k->logs[i].fd >= 0; left--)
                        log_drain(k, &k->logs[i], left);
        char b[16];
        int n = snprintf(b, sizeof(b), "%d\n", k->main_status);
        if (k->c->exit_fd >= 0 && pwrite(k->c->exit_fd, b, (size_t) n, 0) < 0) {
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
                struct client *cl = &k->clients[i];
                if (cl->fd >= 0 && cl->wait_main)
                        reply(cl->fd, KEEPER_EXITED, json_pack("{s:i}", "status", k->main_status));
        }
        /* pid 1 leaving takes every other process of the namespace with it */
        _exit(k->main_status);
}

void keeper_main(const struct keeper_conf *c)
{
        static struct keeper k;
        k.c = c;
        for (int i = 0; i < MAX_CLIENTS; i++)
                k.clients[i].fd = -1;
        for (int i = 0; i < MAX_LOGPIPES; i++)
                k.logs[i].fd = -1;
        prctl(PR_SET_NAME, "den-keeper");
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        k.ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = c->listen_fd };
        epoll_ctl(k.ep, EPOLL_CTL_ADD, c->listen_fd, &ev);
        ev.data.fd = sfd;
        epoll_ctl(k.ep, EPOLL_CTL_ADD, sfd, &ev);
        bool busy = true;
        for (;;) {
                struct epoll_event evs[16];
                int n = epoll_wait(k.ep, evs, 16, busy && c->idle ? 1000 : -1);
                if (n < 0 && errno != EINTR)
                        _exit(125);
                if (n == 0 && busy && c->idle) {
                        c->idle();
                        busy = false;
                        continue;
                }
                busy = true;
                for (int i = 0; i < n; i++) {
                        int fd = evs[i].data.fd;
                        if (fd == sfd) {
                                struct signalfd_siginfo si;
                                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                        if (si.ssi_signo != SIGCHLD && k.main_pid > 0)
                                                kill(k.main_pid, (int) si.ssi_signo);
                                reap(&k);
                        } else if (fd == c->listen_fd) {
                                int cfd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                                struct ucred cr;
                                socklen_t cl = sizeof(cr);
                                /* only our own user (root of this namespace) may talk to us */
                                if (cfd >= 0 && (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
                                                 (cr.uid != 0 && cr.uid != getuid()))) {
                                        close(cfd);
                                        cfd = -1;
                                }
                                int slot = -1;
                                for (int s = 0; cfd >= 0 && s < MAX_CLIENTS && slot < 0; s++)
                                        if (k.clients[s].fd < 0)
                                                slot = s;
                                if (slot < 0) {
                                        if (cfd >= 0)
                                                close(cfd);
                                        continue;
                                }
                                k.clients[slot].fd = cfd;
                                struct epoll_event cev = { .events = EPOLLIN, .data.fd = cfd };
                                epoll_ctl(k.ep, EPOLL_CTL_ADD, cfd, &cev);
                        } else {
                                bool was_log = false;
                                for (int l = 0; l < MAX_LOGPIPES && !was_log; l++)
                                        if (k.logs[l].fd == fd) {
                                                log_drain(&k, &k.logs[l], 0);
                                                was_log = true;
                                        }
                                if (was_log)
                                        continue;
                                for (int s = 0; s < MAX_CLIENTS; s++)
                                        if (k.clients[s].fd == fd) {
                                                if (evs[i].events & (EPOLLHUP | EPOLLERR) && !(evs[i].events & EPOLLIN))
                                                        drop_client(&k, &k.clients[s]);
                                                else
                                                        handle_message(&k, &k.clients[s]);
                                                break;
                                        }
                        }
                }
                if (k.main_done && !c->session)
                        finish(&k);
        }
}

int keeper_connect(const char *path, struct err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        /* a long path is reached through its directory's fd */
        _cleanup_close_ int dfd = -1;
        if (strlen(path) >= sizeof(sa.sun_path)) {
                _cleanup_free_ char *dir = xstrdup(path);
                char *slash = strrchr(dir, '/');
                *slash = '\0';
                dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return err_sys(err, -errno, "cannot reach the keeper at '%s'", path);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, slash + 1);
        } else
                strcpy(sa.sun_path, path);
        int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                if (s >= 0)
                        close(s);
                return err_sys(err, r, "cannot reach the keeper at '%s'", path);
        }
        return s;
}

int keeper_request_process(json_t *req, const struct keeper_conf *c, struct spec_process *ret, struct err *err)
{
        return build_process(req, c, ret, err);
}
