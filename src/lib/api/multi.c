/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den serve --multi-user: one root service for many users, each served strictly as
 * themselves.  Root only listens: it reads each connection's SO_PEERCRED and hands
 * the connection (SCM_RIGHTS) to that uid's worker, a `den serve --worker-fd 3`
 * running as the user (their groups, their store, their rootless containers),
 * started on demand and ending when idle.  Root never reads a request, opens a
 * path or runs a container on a user's behalf: a bind mount is opened by the
 * worker, so a path its user cannot read is not mounted. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"

#define MAX_WORKERS 256

struct worker {
        uid_t uid;
        pid_t pid;  /* 0: free slot */
        int sock;   /* the root side of its socketpair */
};

static struct worker workers[MAX_WORKERS];

/* the user's worker: `den serve --worker-fd 3` as uid, with the user's groups and a
 * clean environment; -errno when the uid has no passwd entry or it cannot start */
static int worker_start(const struct api_multi_opts *o, uid_t uid, struct worker *w)
{
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return -ENOENT;
        gid_t groups[256];
        int ng = ELEMENTSOF(groups);
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
                ng = 0;
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        char idle[16];
        snprintf(idle, sizeof(idle), "%d", o->worker_idle);
        char *env[] = { xasprintf("HOME=%s", pw.pw_dir), xasprintf("USER=%s", pw.pw_name),
                        xasprintf("LOGNAME=%s", pw.pw_name), xstrdup("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"),
                        NULL };
        pid_t pid = fork();
        if (pid == 0) {
                /* the user, wholly: groups, gid, uid, and nothing of root's kept */
                if (setgroups((size_t) ng, groups) < 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0 ||
                    setresuid(uid, uid, uid) < 0 || (uid != 0 && setresuid(0, 0, 0) == 0))
                        _exit(126);
                if (dup2(sp[1], 3) < 0)
                        _exit(126);
                syscall(SYS_close_range, 4, ~0u, 0);
                if (chdir(pw.pw_dir) < 0 && chdir("/") < 0)
                        _exit(126);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                execve(o->exe, (char *[]){ "den", "serve", "--worker-fd", "3", "--timeout", idle, NULL }, env);
                _exit(127);
        }
        for (char **e = env; *e; e++)
                free(*e);
        close(sp[1]);
        if (pid < 0) {
                close(sp[0]);
                return -errno;
        }
        *w = (struct worker){ .uid = uid, .pid = pid, .sock = sp[0] };
        log_debug("worker %d for uid %u", (int) pid, (unsigned) uid);
        return 0;
}

static void workers_reap(void)
{
        for (;;) {
                int st;
                pid_t p = waitpid(-1, &st, WNOHANG);
                if (p <= 0)
                        return;
                for (size_t i = 0; i < MAX_WORKERS; i++)
                        if (workers[i].pid == p) {
                                close(workers[i].sock);
                                workers[i].pid = 0;
                        }
        }
}

static int send_fd(int s, int fd)
{
        char b = 'c';
        struct iovec iov = { &b, 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = { 0 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(fd));
        /* never blocking: a worker its user stopped (SIGSTOP) must not stall root's loop for all */
        return sendmsg(s, &m, MSG_NOSIGNAL | MSG_DONTWAIT) == 1 ? 0 : -errno;
}

/* a fixed answer written by root to a connection it will not hand over */
static void refuse(int fd, const char *msg)
{
        char out[512];
        int n = snprintf(out, sizeof(out),
                         "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         "Content-Length: %zu\r\n\r\n{\"message\":\"%s\"}",
                         strlen(msg) + 14, msg);
        if (n > 0)
                (void) !send(fd, out, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void hand_over(const struct api_multi_opts *o, int fd)
{
        struct ucred cr;
        socklen_t len = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
                refuse(fd, "den serve: cannot tell who you are (SO_PEERCRED)");
                return;
        }
        workers_reap();
        /* twice: a worker may end (idle) just as a connection comes */
        for (int attempt = 0; attempt < 2; attempt++) {
                struct worker *w = NULL, *free_slot = NULL;
                for (size_t i = 0; i < MAX_WORKERS && !w; i++) {
                        if (workers[i].pid && workers[i].uid == cr.uid)
                                w = &workers[i];
                        else if (!workers[i].pid && !free_slot)
                                free_slot = &workers[i];
                }
                if (!w) {
                        if (!free_slot) {
                                refuse(fd, "den serve: too many users at once");
                                return;
                        }
                        int r = worker_start(o, cr.uid, free_slot);
                        if (r == -ENOENT) {
                                refuse(fd, "den serve: your uid has no user (passwd entry)");
                                return;
                        }
                        if (r < 0) {
                                refuse(fd, "den serve: cannot start your service");
                                return;
                        }
                        w = free_slot;
                }
                int r = send_fd(w->sock, fd);
                if (r == 0)
                        return;
                if (r == -EAGAIN) {
                        refuse(fd, "den serve: your service is not taking connections (stopped?)");
                        return;
                }
                /* gone: it is replaced */
                close(w->sock);
                kill(w->pid, SIGTERM);
                waitpid(w->pid, NULL, 0);
                w->pid = 0;
        }
        refuse(fd, "den serve: your service is not answering");
}

int api_serve_multi(const struct api_multi_opts *o, struct err *err)
{
        struct pollfd p[1 + 2 * API_MAX_SOCKETS];
        int fds[2 * API_MAX_SOCKETS];
        size_t n = 0, made = 0;
        int r = 0;
        for (size_t i = 0; i < o->n_sockets && r >= 0; i++) {
                int fd = api_listen_unix(o->sockets[i], o->group == (gid_t) -1 ? 0666 : 0660, err);
                if (fd < 0) {
                        r = fd;
                        break;
                }
                fds[n++] = fd;
                made++;
                if (o->group != (gid_t) -1 && chown(o->sockets[i], 0, o->group) < 0)
                        r = err_sys(err, -errno, "cannot give '%s' to group %u", o->sockets[i], (unsigned) o->group);
        }
        for (size_t i = 0; i < o->n_listen_fds; i++)
                fds[n++] = o->listen_fds[i];
        while (r >= 0) {
                p[0] = (struct pollfd){ .fd = o->stop_fd ? *o->stop_fd : -1, .events = POLLIN };
                for (size_t i = 0; i < n; i++)
                        p[1 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
                int k = poll(p, 1 + n, 1000);
                if (k < 0 && errno != EINTR) {
                        r = err_sys(err, -errno, "poll");
                        break;
                }
                workers_reap();
                if (k > 0 && p[0].revents)
                        break;
                for (size_t i = 0; k > 0 && i < n; i++) {
                        if (!p[1 + i].revents)
                                continue;
                        int c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        hand_over(o, c);
                        close(c);
                }
        }
        for (size_t i = 0; i < made; i++) {
                unlink(o->sockets[i]);
                close(fds[i]);
        }
        /* the workers end once their sockets close (connections in flight end with them) */
        for (size_t i = 0; i < MAX_WORKERS; i++)
                if (workers[i].pid) {
                        close(workers[i].sock);
                        workers[i].pid = 0;
                }
        return r;
}
