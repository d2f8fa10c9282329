/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den session: a container that stays, its keeper waiting for commands; each
 * command chooses its network (a package build: install with it, build without). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "den.h"
#include "lib/base/macro.h"
#include "lib/runtime/engine.h"

static int begin(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "name", required_argument, NULL, 'n' }, { "network", required_argument, NULL, 'N' },
                                           { "volume", required_argument, NULL, 'v' }, { "security-opt", required_argument, NULL, 'S' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        struct engine_run_opts ro = { .root = g->root, .runroot = g->runroot, .storage_driver = g->storage_driver };
        _cleanup_strv_free_ char **vols = NULL, **secopt = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+v:h", o, NULL)) != -1) {
                if (c == 'n')
                        ro.name = optarg;
                else if (c == 'N')
                        ro.network = optarg;
                else if (c == 'v')
                        strv_push(&vols, optarg);
                else if (c == 'S')
                        strv_push(&secopt, optarg);
                else if (c == 'h') {
                        printf("usage: den session begin [--name N] [--network host|private|pasta|slirp4netns|none] [-v /HOST:/CTR[:ro]]\n"
                               "       [--security-opt seccomp=unconfined|FILE] IMAGE\n"
                               "The session's network (default host); each command may have it or none.\n");
                        return 0;
                } else
                        return den_bad_option("session begin", argv, "+v:h", o);
        }
        if (argc - optind != 1)
                return den_usage("session begin", "expects an image");
        ro.image = argv[optind];
        ro.volumes = vols;
        ro.security_opt = secopt;
        struct err err = { 0 };
        if (engine_session_begin(&ro, &err) < 0) {
                den_fail(err.msg);
                return 125;
        }
        return 0;
}

static int session_exec(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "network", required_argument, NULL, 'N' }, { "user", required_argument, NULL, 'u' },
                                           { "workdir", required_argument, NULL, 'w' }, { "env", required_argument, NULL, 'e' },
                                           { "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        /* session commands get stdin, as schroot's do: sbuild copies files in with `cat > F` */
        struct engine_exec_opts eo = { .root = g->root, .runroot = g->runroot, .interactive = true };
        _cleanup_strv_free_ char **env = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+u:w:e:ith", o, NULL)) != -1) {
                switch (c) {
                case 'N': eo.network = optarg; break;
                case 'u': eo.user = optarg; break;
                case 'w': eo.workdir = optarg; break;
                case 'e': strv_push(&env, optarg); break;
                case 'i': break;
                case 't': eo.tty = true; break;
                case 'h':
                        printf("usage: den session exec [--network none|NETWORK] [-u USER] [-w DIR] [-e K=V] [-t] SESSION -- CMD...\n"
                               "--network none: this command in a network namespace of its own (loopback only);\n"
                               "otherwise the session's network.\n");
                        return 0;
                default:
                        return den_bad_option("session exec", argv, "+u:w:e:ith", o);
                }
        }
        if (argc - optind < 2)
                return den_usage("session exec", "expects a session and a command");
        eo.container = argv[optind];
        eo.cmd = argv + optind + 1;
        if (eo.cmd[0] && strcmp(eo.cmd[0], "--") == 0)
                eo.cmd++;
        if (!eo.cmd[0])
                return den_usage("session exec", "expects a command after --");
        eo.env = env;
        struct err err = { 0 };
        int r = engine_exec(&eo, &err);
        if (r < 0) {
                den_fail(err.msg);
                return 126;
        }
        return r;
}

static int list(struct den_global *g)
{
        struct err err = { 0 };
        json_t *arr;
        if (engine_list(g->root, g->runroot, &arr, &err) < 0)
                return den_fail(err.msg);
        printf("%-24s %-14s %-30s %-10s %s\n", "SESSION", "ID", "IMAGE", "STATUS", "NETWORK");
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e)
        {
                if (!json_is_true(json_object_get(e, "Session")))
                        continue;
                const char *net = json_string_value(json_object_get(json_object_get(e, "Options"), "Network"));
                printf("%-24s %-14.12s %-30.30s %-10s %s\n", json_string_value(json_object_get(e, "Name")),
                       json_string_value(json_object_get(e, "Id")), json_string_value(json_object_get(e, "Image")),
                       strcmp(json_string_value(json_object_get(e, "Status")), "running") == 0 ? "open" : "ended",
                       net ? net : "none");
        }
        json_decref(arr);
        return 0;
}

int den_cmd_session(struct den_global *g, int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                printf("usage: den session begin [--name N] [--network host|private|pasta|slirp4netns|none] IMAGE\n"
                       "       den session exec [--network none|NETWORK] [-u USER] [-w DIR] [-e K=V] SESSION -- CMD...\n"
                       "       den session list\n"
                       "       den session end SESSION...\n");
                return argc < 2 ? 2 : 0;
        }
        const char *verb = argv[1];
        if (strcmp(verb, "begin") == 0)
                return begin(g, argc - 1, argv + 1);
        if (strcmp(verb, "exec") == 0)
                return session_exec(g, argc - 1, argv + 1);
        if (strcmp(verb, "list") == 0)
                return list(g);
        if (strcmp(verb, "end") == 0) {
                const char *v[1];
                int i = den_flags("session end", "den session end SESSION...", argc - 1, argv + 1,
                                  (const char *const[]){ NULL }, v), rc = 0;
                if (i <= 0)
                        return i < 0 ? 2 : 0;
                i++;
                if (i >= argc)
                        return den_usage("session end", "expects a session");
                for (; i < argc; i++) {
                        struct err err = { 0 };
                        if (engine_rm(g->root, g->runroot, argv[i], true, &err) < 0)
                                rc = den_fail(err.msg);
                }
                return rc;
        }
        return den_usage("session", "unknown verb '%s': begin, exec, list or end", verb);
}
