/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "runtime.h"
#include "lib/runtime/container.h"

int rt_cmd_exec(struct rt_global *g, int argc, char **argv)
{
        enum { O_CWD = 300, O_PIDFILE, O_CONSOLE, O_PRESERVE, O_LABEL, O_NNP, O_APPARMOR, O_CGROUP, O_IGNORE_PAUSED };
        static const struct option o[] = {
                { "process", required_argument, NULL, 'p' },   { "tty", no_argument, NULL, 't' },
                { "detach", no_argument, NULL, 'd' },          { "cwd", required_argument, NULL, O_CWD },
                { "env", required_argument, NULL, 'e' },       { "user", required_argument, NULL, 'u' },
                { "cap", required_argument, NULL, 'c' },       { "no-new-privs", no_argument, NULL, O_NNP },
                { "pid-file", required_argument, NULL, O_PIDFILE }, { "console-socket", required_argument, NULL, O_CONSOLE },
                { "preserve-fds", required_argument, NULL, O_PRESERVE }, { "process-label", required_argument, NULL, O_LABEL },
                { "apparmor", required_argument, NULL, O_APPARMOR }, { "additional-gids", required_argument, NULL, 'g' },
                { "cgroup", required_argument, NULL, O_CGROUP }, { "ignore-paused", no_argument, NULL, O_IGNORE_PAUSED },
                { "help", no_argument, NULL, 'h' }, {},
        };
        struct exec_opts eo = { .root = g->root };
        _cleanup_strv_free_ char **env = NULL, **caps = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+p:tde:u:c:g:h", o, NULL)) != -1) {
                switch (c) {
                case 'p': eo.process_json = optarg; break;
                case 't': eo.tty = eo.tty_set = true; break;
                case 'd': eo.detach = true; break;
                case O_CWD: eo.cwd = optarg; break;
                case 'e': strv_push(&env, optarg); break;
                case 'u': eo.user = optarg; break;
                case 'c': strv_push(&caps, optarg); break;
                case O_NNP: eo.no_new_privs = true; break;
                case O_PIDFILE: eo.pid_file = optarg; break;
                case O_CONSOLE: eo.console_socket = optarg; break;
                case O_PRESERVE: eo.preserve_fds = atoi(optarg); break;
                case O_LABEL: eo.process_label = optarg; break;
                case O_APPARMOR: eo.apparmor = optarg; break;
                case 'g': return rt_fail("exec --additional-gids: not supported, use -p process.json");
                case O_CGROUP: case O_IGNORE_PAUSED: break;
                case 'h':
                        printf("usage: den-runtime exec [-p process.json] [-t] [-d] [--cwd DIR] [-e K=V] [-u UID[:GID]]\n"
                               "       [--cap CAP] [--no-new-privs] [--pid-file F] [--console-socket S]\n"
                               "       [--preserve-fds N] ID [COMMAND [ARG...]]\n");
                        return 0;
                default:
                        return rt_usage("exec", "bad option");
                }
        }
        if (optind >= argc)
                return rt_usage("exec", "expects a container id");
        eo.id = argv[optind];
        eo.args = argv + optind + 1;
        eo.env = env;
        eo.caps = caps;
        if (!eo.process_json && !eo.args[0])
                return rt_usage("exec", "expects a command, or -p process.json");
        struct err err = { 0 };
        int r = container_exec(&eo, &err);
        if (r < 0)
                return rt_fail(err.msg);
        return r;
}
