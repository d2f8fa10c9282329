/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den serve (den system service): the Docker Engine API on a unix socket */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd/den.h"
#include "lib/api/api.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/runtime/engine.h"

/* SIGTERM and SIGINT end the service through this pipe: handled (not blocked or
 * ignored), so the containers the service starts inherit neither */
static int stop_pipe[2] = { -1, -1 };

static void on_stop(int sig)
{
        int e = errno;
        (void) !write(stop_pipe[1], "x", 1);
        errno = e;
}

static int stop_signals(void)
{
        if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        struct sigaction sa = { .sa_handler = on_stop };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        return 0;
}

static int serve_multi(const struct api_opts *so, const char *group)
{
        struct api_multi_opts m = { .group = (gid_t) -1, .worker_idle = so->timeout ? so->timeout : 300 };
        memcpy(m.sockets, so->sockets, sizeof(m.sockets));
        m.n_sockets = so->n_sockets;
        memcpy(m.listen_fds, so->listen_fds, sizeof(m.listen_fds));
        m.n_listen_fds = so->n_listen_fds;
        if (group) {
                struct group *gr = getgrnam(group);
                char *end;
                unsigned long gid = strtoul(group, &end, 10);
                if (!gr && (*end || !*group))
                        return den_usage("serve", "--group '%s': no such group", group);
                m.group = gr ? gr->gr_gid : (gid_t) gid;
        }
        if (m.n_sockets == 0 && m.n_listen_fds == 0) {
                if (mkdir("/run/den", 0755) < 0 && errno != EEXIST)
                        return den_fail("cannot create /run/den");
                m.sockets[m.n_sockets++] = "/run/den/den.sock";
        }
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return den_fail("cannot tell where den is (/proc/self/exe)");
        exe[n] = '\0';
        m.exe = exe;
        if (stop_signals() < 0)
                return den_fail("cannot make a pipe");
        m.stop_fd = &stop_pipe[0];
        /* the workers are reaped by the service */
        signal(SIGCHLD, SIG_DFL);
        for (size_t i = 0; i < m.n_sockets; i++)
                printf("export DOCKER_HOST=unix://%s\n", m.sockets[i]);
        fflush(stdout);
        struct err err = { 0 };
        if (api_serve_multi(&m, &err) < 0)
                return den_fail(err.msg);
        return 0;
}

int den_cmd_serve(struct den_global *g, int argc, char **argv)
{
        static const struct option lo[] = { { "host", required_argument, NULL, 'H' },
                                            { "timeout", required_argument, NULL, 't' },
                                            { "multi-user", no_argument, NULL, 'M' },
                                            { "group", required_argument, NULL, 'G' },
                                            { "worker-fd", required_argument, NULL, 'W' },
                                            { "help", no_argument, NULL, 'h' },
                                            {} };
        static const char usage[] = "den serve [-H unix://PATH]... [--timeout SECS] [--multi-user [--group GROUP]]";
        struct api_opts o = { .root = g->root };
        bool multi = false;
        const char *group = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+H:t:h", lo, NULL)) != -1) {
                if (c == 'M') {
                        multi = true;
                        continue;
                }
                if (c == 'G') {
                        group = optarg;
                        continue;
                }
                if (c == 'W') {
                        char *end;
                        long fd = strtol(optarg, &end, 10);
                        if (*end || fd < 3 || fcntl((int) fd, F_GETFD) < 0)
                                return den_usage("serve", "--worker-fd '%s': not an open socket", optarg);
                        o.conn_fd = (int) fd;
                        fcntl((int) fd, F_SETFD, FD_CLOEXEC);
                        continue;
                }
                if (c == 'H') {
                        if (strncmp(optarg, "unix://", 7) != 0 || !optarg[7])
                                return den_usage("serve", "-H '%s': only unix://PATH is served", optarg);
                        if (o.n_sockets == API_MAX_SOCKETS)
                                return den_usage("serve", "at most %d sockets", API_MAX_SOCKETS);
                        o.sockets[o.n_sockets++] = optarg + 7;
                } else if (c == 't') {
                        char *end;
                        long t = strtol(optarg, &end, 10);
                        if (*end || t < 0 || t > 1000000)
                                return den_usage("serve", "--timeout '%s': seconds", optarg);
                        o.timeout = (int) t;
                } else if (c == 'h') {
                        printf("usage: %s\nThe Docker Engine API on a unix socket, for the docker CLI and SDKs.\n\n"
                               "  -H, --host unix://PATH  where to listen (default: den's run directory/den.sock)\n"
                               "  -t, --timeout SECS      end after SECS with no request (0: never); with\n"
                               "                          --multi-user, a user's worker ends so (default 300)\n"
                               "      --multi-user        as root: one socket (mode 0666) for every user, each\n"
                               "                          request served by a worker running as its sender\n"
                               "                          (SO_PEERCRED), with their own store and containers\n"
                               "      --group GROUP       with --multi-user: the socket root:GROUP 0660 instead\n",
                               usage);
                        return 0;
                } else
                        return den_bad_option("serve", argv, "+H:t:h", lo);
        }
        if (optind != argc)
                return den_usage("serve", "takes no operands");
        if (group && !multi)
                return den_usage("serve", "--group goes with --multi-user");
        if (multi && o.conn_fd)
                return den_usage("serve", "--worker-fd is den's own, not for --multi-user");
        if (multi && geteuid() != 0)
                return den_usage("serve", "--multi-user is for root: a user's den serve serves that user alone");
        /* socket activation (systemd's LISTEN_FDS, from fd 3): those sockets instead of a default one */
        const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
        if (lpid && lfds && atol(lpid) == (long) getpid()) {
                long n = atol(lfds);
                for (long i = 0; i < n && o.n_listen_fds < API_MAX_SOCKETS; i++) {
                        /* moved off 3.. before the run directory is opened (it may take fd 3) */
                        int fd = fcntl(3 + (int) i, F_DUPFD_CLOEXEC, 3 + (int) n);
                        if (fd >= 0)
                                o.listen_fds[o.n_listen_fds++] = fd;
                        close(3 + (int) i);
                }
                unsetenv("LISTEN_PID"), unsetenv("LISTEN_FDS"), unsetenv("LISTEN_FDNAMES");
        }
        struct err err = { 0 };
        if (multi)
                return serve_multi(&o, group);
        _cleanup_free_ char *rr = NULL, *def = NULL;
        if (engine_runroot(g->runroot, &rr, &err) < 0)
                return den_fail(err.msg);
        o.runroot = rr;
        if (o.n_sockets == 0 && o.n_listen_fds == 0 && !o.conn_fd)
                o.sockets[o.n_sockets++] = def = xasprintf("%s/den.sock", rr);
        if (stop_signals() < 0)
                return den_fail("cannot make a pipe");
        o.stop_fd = &stop_pipe[0];
        for (size_t i = 0; i < o.n_sockets; i++)
                printf("export DOCKER_HOST=unix://%s\n", o.sockets[i]);
        for (size_t i = 0; i < o.n_listen_fds; i++) {
                struct sockaddr_un un = { 0 };
                socklen_t len = sizeof(un);
                if (getsockname(o.listen_fds[i], (struct sockaddr *) &un, &len) == 0 && un.sun_family == AF_UNIX && un.sun_path[0])
                        printf("export DOCKER_HOST=unix://%.*s\n", (int) sizeof(un.sun_path), un.sun_path);
        }
        fflush(stdout);
        if (api_serve(&o, &err) < 0)
                return den_fail(err.msg);
        return 0;
}
