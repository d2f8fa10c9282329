/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den serve (den system service): the Docker Engine API on a unix socket */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int den_cmd_serve(struct den_global *g, int argc, char **argv)
{
        static const struct option lo[] = { { "host", required_argument, NULL, 'H' },
                                            { "timeout", required_argument, NULL, 't' },
                                            { "help", no_argument, NULL, 'h' },
                                            {} };
        static const char usage[] = "den serve [-H unix://PATH]... [--timeout SECS]";
        struct api_opts o = { .root = g->root };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+H:t:h", lo, NULL)) != -1) {
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
                               "  -t, --timeout SECS      end after SECS with no request (0: never)\n",
                               usage);
                        return 0;
                } else
                        return den_bad_option("serve", argv, "+H:t:h", lo);
        }
        if (optind != argc)
                return den_usage("serve", "takes no operands");
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
        _cleanup_free_ char *rr = NULL, *def = NULL;
        if (engine_runroot(g->runroot, &rr, &err) < 0)
                return den_fail(err.msg);
        o.runroot = rr;
        if (o.n_sockets == 0 && o.n_listen_fds == 0)
                o.sockets[o.n_sockets++] = def = xasprintf("%s/den.sock", rr);
        if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return den_fail("cannot make a pipe");
        struct sigaction sa = { .sa_handler = on_stop };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
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
