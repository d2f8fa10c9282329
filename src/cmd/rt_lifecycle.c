/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/base/signal.h"
#include "lib/base/macro.h"
#include "runtime.h"
#include "lib/runtime/container.h"
#include "lib/runtime/state.h"

enum { OPT_BUNDLE = 256, OPT_PID_FILE, OPT_CONSOLE, OPT_PRESERVE, OPT_NO_PIVOT, OPT_NO_KEYRING, OPT_DETACH,
       OPT_KEEP, OPT_NO_SUBREAPER, OPT_HELP };

static const struct option create_opts[] = {
        { "bundle", required_argument, NULL, 'b' },
        { "config", required_argument, NULL, 'f' },
        { "pid-file", required_argument, NULL, OPT_PID_FILE },
        { "console-socket", required_argument, NULL, OPT_CONSOLE },
        { "preserve-fds", required_argument, NULL, OPT_PRESERVE },
        { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
        { "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
        { "detach", no_argument, NULL, 'd' },
        { "keep", no_argument, NULL, OPT_KEEP },
        { "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
        { "help", no_argument, NULL, 'h' },
        {},
};

static int parse_create(const char *cmd, struct rt_global *g, int argc, char **argv, struct create_opts *o)
{
        int c;
        bool run = strcmp(cmd, "run") == 0;
        *o = (struct create_opts){ .root = g->root, .bundle = ".", .rootless = g->rootless,
                                   .no_cgroup = g->no_cgroup };
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+b:f:dh", create_opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o->bundle = optarg;
                        break;
                case 'f':
                        o->config = optarg;
                        break;
                case OPT_PID_FILE:
                        o->pid_file = optarg;
                        break;
                case OPT_CONSOLE:
                        o->console_socket = optarg;
                        break;
                case OPT_PRESERVE: {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 0 || n > 65536)
                                return rt_usage(cmd, "--preserve-fds '%s': not a count", optarg);
                        o->preserve_fds = (int) n;
                        break;
                }
                case OPT_NO_PIVOT:
                        o->no_pivot = true;
                        break;
                case OPT_NO_KEYRING:
                        o->no_new_keyring = true;
                        break;
                case 'd':
                        if (!run)
                                return rt_usage(cmd, "unknown option '-d'");
                        o->detach = true;
                        break;
                case OPT_KEEP:
                        o->keep = true;
                        break;
                case OPT_NO_SUBREAPER:
                        break;
                case 'h':
                        printf("usage: den-runtime %s [--bundle DIR] [--config FILE] [--pid-file FILE]\n"
                               "       [--console-socket SOCK] [--preserve-fds N] [--no-pivot] [--no-new-keyring]%s ID\n",
                               cmd, run ? " [--detach] [--keep]" : "");
                        return 0;
                default:
                        return rt_usage(cmd, "bad option");
                }
        }
        if (optind != argc - 1)
                return rt_usage(cmd, "expects exactly one container id");
        o->id = argv[optind];
        if (!run)
                o->detach = true;
        return -1;
}

int rt_cmd_create(struct rt_global *g, int argc, char **argv)
{
        struct create_opts o;
        struct err err = { 0 };
        int r = parse_create("create", g, argc, argv, &o);
        if (r >= 0)
                return r;
        if (container_create(&o, &err) < 0)
                return rt_fail(err.msg);
        return 0;
}

int rt_cmd_run(struct rt_global *g, int argc, char **argv)
{
        struct create_opts o;
        struct err err = { 0 };
        int r = parse_create("run", g, argc, argv, &o);
        if (r >= 0)
                return r;
        r = container_run(&o, &err);
        if (r < 0)
                return rt_fail(err.msg);
        return r;
}

static int one_id(const char *cmd, int argc, char **argv, const char **ret)
{
        if (argc - optind != 1)
                return rt_usage(cmd, "expects exactly one container id");
        *ret = argv[optind];
        return -1;
}

static int no_options(const char *cmd, int argc, char **argv)
{
        static const struct option o[] = { { "help", no_argument, NULL, 'h' }, {} };
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+h", o, NULL)) != -1) {
                if (c == 'h') {
                        printf("usage: den-runtime %s ID\n", cmd);
                        return 0;
                }
                return rt_usage(cmd, "bad option");
        }
        return -1;
}

/* start, pause, resume: one id, no options */
static int simple(const char *cmd, struct rt_global *g, int argc, char **argv,
                  int (*fn)(const char *root, const char *id, struct err *err))
{
        const char *id = NULL;
        struct err err = { 0 };
        int r = no_options(cmd, argc, argv);
        if (r >= 0 || (r = one_id(cmd, argc, argv, &id)) >= 0)
                return r;
        if (fn(g->root, id, &err) < 0)
                return rt_fail(err.msg);
        return 0;
}

static int do_pause(const char *root, const char *id, struct err *err)
{
        return container_pause(root, id, true, err);
}

static int do_resume(const char *root, const char *id, struct err *err)
{
        return container_pause(root, id, false, err);
}

int rt_cmd_start(struct rt_global *g, int argc, char **argv)
{
        return simple("start", g, argc, argv, container_start);
}

int rt_cmd_pause(struct rt_global *g, int argc, char **argv)
{
        return simple("pause", g, argc, argv, do_pause);
}

int rt_cmd_resume(struct rt_global *g, int argc, char **argv)
{
        return simple("resume", g, argc, argv, do_resume);
}

int rt_parse_signal(const char *s)
{
        return signal_parse(s);
}

int rt_cmd_kill(struct rt_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "all", no_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' }, {} };
        struct err err = { 0 };
        bool all = false;
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+ah", o, NULL)) != -1) {
                if (c == 'a')
                        all = true;
                else if (c == 'h') {
                        printf("usage: den-runtime kill [--all] ID [SIGNAL]\n");
                        return 0;
                } else
                        return rt_usage("kill", "bad option");
        }
        int n = argc - optind;
        if (n < 1 || n > 2)
                return rt_usage("kill", "expects a container id and an optional signal");
        int sig = SIGTERM;
        if (n == 2 && (sig = rt_parse_signal(argv[optind + 1])) < 0)
                return rt_usage("kill", "unknown signal '%s'", argv[optind + 1]);
        if (container_kill(g->root, argv[optind], sig, all, &err) < 0)
                return rt_fail(err.msg);
        return 0;
}

/* crun's `delete --regex RE`: every container whose id RE matches (unanchored,
 * extended syntax, as crun) */
static int delete_matching(struct rt_global *g, const char *re, bool force)
{
        regex_t rx;
        int rc = 0;
        if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
                return rt_usage("delete", "--regex '%s': not a valid regular expression", re);
        _cleanup_strv_free_ char **ids = state_ids(g->root);
        for (size_t i = 0; ids[i]; i++) {
                struct err err = { 0 };
                if (regexec(&rx, ids[i], 0, NULL, 0) == 0 && container_delete(g->root, ids[i], force, &err) < 0)
                        rc = rt_fail(err.msg);
        }
        regfree(&rx);
        return rc;
}

int rt_cmd_delete(struct rt_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "force", no_argument, NULL, 'f' }, { "regex", no_argument, NULL, 'r' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        struct err err = { 0 };
        bool force = false, regex = false;
        int c, rc = 0;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+frh", o, NULL)) != -1) {
                if (c == 'f')
                        force = true;
                else if (c == 'r')
                        regex = true;
                else if (c == 'h') {
                        printf("usage: den-runtime delete [--force] ID...\n"
                               "       den-runtime delete [--force] --regex REGEX\n");
                        return 0;
                } else
                        return rt_usage("delete", "bad option");
        }
        if (optind >= argc)
                return rt_usage("delete", "expects a container id");
        if (regex) {
                if (argc - optind != 1)
                        return rt_usage("delete", "--regex expects one regular expression");
                return delete_matching(g, argv[optind], force);
        }
        for (int i = optind; i < argc; i++) {
                err_clear(&err);
                if (container_delete(g->root, argv[i], force, &err) < 0)
                        rc = rt_fail(err.msg);
        }
        return rc;
}
