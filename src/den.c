/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den: the engine a person uses: images (store and registries), containers
 * held by keepers, sessions, networks.  Each command lives in src/cmd/. */
#include <assert.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/den.h"
#include "lib/runtime/engine.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"

typedef int (*den_command_fn)(struct den_global *g, int argc, char **argv);

static const struct {
        const char *name;
        den_command_fn fn;
        const char *help;
} commands[] = {
        { "build", den_cmd_build, "build an image from a Dockerfile, rootless (reproducible with --source-date-epoch)" },
        { "builder", den_cmd_builder, "builder prune: forget the cached build steps" },
        { "commit", den_cmd_commit, "make an image of a container's changes" },
        { "cp", den_cmd_cp, "copy files between a running container and the host" },
        { "create", den_cmd_create, "create a container without starting it" },
        { "exec", den_cmd_exec, "run another command in a running container (through its keeper)" },
        { "export", den_cmd_export, "write a running container's root filesystem as a tar" },
        { "image", den_cmd_image, "image prune: remove what no image name reaches; image history IMAGE" },
        { "images", den_cmd_images, "list images" },
        { "import", den_cmd_import, "make a one-layer image from a root filesystem tarball" },
        { "inspect", den_cmd_inspect, "show an image or container as JSON; --remote: an image in a registry" },
        { "kill", den_cmd_kill, "send a signal to a container's main command" },
        { "load", den_cmd_load, "load images from an OCI layout, oci-archive or docker-archive" },
        { "login", den_cmd_login, "keep credentials for a registry (auth.json, shared with podman)" },
        { "logout", den_cmd_logout, "forget a registry's credentials" },
        { "logs", den_cmd_logs, "print the output of a detached container" },
        { "port", den_cmd_port, "list a container's published ports" },
        { "ps", den_cmd_ps, "list containers" },
        { "pull", den_cmd_pull, "fetch an image from a registry" },
        { "push", den_cmd_push, "send an image to a registry" },
        { "rename", den_cmd_rename, "give a container another name" },
        { "rm", den_cmd_rm, "remove containers" },
        { "rmi", den_cmd_rmi, "remove image names" },
        { "run", den_cmd_run, "run a command in a new container" },
        { "save", den_cmd_save, "write an image as docker-archive, oci-archive or an OCI layout" },
        { "serve", den_cmd_serve, "serve the Docker Engine API on a unix socket (for docker, compose, SDKs)" },
        { "session", den_cmd_session, "containers that stay: begin, exec (network per command), list, end" },
        { "start", den_cmd_start, "start created or stopped containers (-a: attached)" },
        { "stop", den_cmd_stop, "stop containers (SIGTERM, then SIGKILL after -t seconds)" },
        { "system", den_cmd_system, "system check [--repair]: verify every blob and layer; system prune" },
        { "tag", den_cmd_tag, "give an image another name" },
        { "volume", den_cmd_volume, "volumes: create, ls, inspect, rm, prune (den run -v NAME:/PATH mounts one)" },
        { "wait", den_cmd_wait, "wait for containers to end and print their exit codes" },
};

int den_fail(const char *msg)
{
        log_error("%s", msg);
        return 1;
}

int den_usage(const char *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = log_usage(2, cmd, fmt, ap);
        va_end(ap);
        return r;
}

int den_flags(const char *cmd, const char *usage, int argc, char **argv, const char *const *flags,
              const char **ret_vals)
{
        struct option lo[DEN_MAX_FLAGS + 2] = { 0 };
        char so[3 + 2 * DEN_MAX_FLAGS + 1] = "+h";
        size_t n = 0;
        for (; flags && flags[n]; n++) {
                assert(n < DEN_MAX_FLAGS && flags[n][0] && flags[n][0] != 'h' && strchr(flags[n], '|'));
                bool arg = flags[n][1] == ':';
                lo[n] = (struct option){ strchr(flags[n], '|') + 1, arg ? required_argument : no_argument, NULL,
                                         flags[n][0] };
                strncat(so, flags[n], arg ? 2 : 1);
                ret_vals[n] = NULL;
        }
        /* every verb answers -h and --help, before anything is read as an operand */
        lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
                if (c == 'h') {
                        printf("usage: %s\n", usage);
                        return 0;
                }
                size_t i = 0;
                while (i < n && flags[i][0] != c)
                        i++;
                if (i == n) {
                        den_bad_option(cmd, argv, so, lo);
                        return -1;
                }
                ret_vals[i] = optarg ? optarg : "";
        }
        return optind;
}

int den_bad_option(const char *cmd, char **argv, const char *so, const struct option *lo)
{
        /* getopt says nothing (opterr is 0): an unknown option has optopt 0 (long) or a
         * letter not in so; a known one is missing its value */
        bool known = optopt > 0 && optopt < 256 && optopt != ':' && strchr(so, optopt);
        for (; lo && lo->name && optopt; lo++)
                known |= lo->val == optopt;
        /* in a cluster (-af) optind has not moved on: the letter says which */
        if (!known && optopt)
                return den_usage(cmd, "unknown option '-%c'", optopt);
        return den_usage(cmd, "%s '%s'", known ? "a value is missing after" : "unknown option", argv[optind - 1]);
}

int den_operands(const char *cmd, int argc, char **argv, const char *usage)
{
        return den_flags(cmd, usage, argc, argv, NULL, NULL);
}

int den_open_store(struct den_global *g, struct store *s)
{
        struct err err = { 0 };
        if (store_open(g->root, s, &err) < 0)
                return den_fail(err.msg);
        return -1;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: den [--root DIR] COMMAND [OPTIONS] [ARGS]\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
        fprintf(f, "\nOptions:\n"
                   "  --root DIR        the store (default /var/lib/den as root, ~/.local/share/den; $DEN_ROOT)\n"
                   "  --runroot DIR     run state (default /run/den, $XDG_RUNTIME_DIR/den or /tmp/den-UID; $DEN_RUNROOT)\n"
                   "  --storage-driver D  overlay, fuse-overlayfs, copy or auto (default; $DEN_STORAGE_DRIVER)\n"
                   "  --log-level L     error, warning, info or debug\n"
                   "  -v, --version\n  -h, --help\n");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = { { "root", required_argument, NULL, 'r' },
                                              { "runroot", required_argument, NULL, 'R' },
                                              { "log-level", required_argument, NULL, 'l' },
                                              { "storage-driver", required_argument, NULL, 'S' },
                                              { "version", no_argument, NULL, 'v' },
                                              { "help", no_argument, NULL, 'h' },
                                              {} };
        struct den_global g = { 0 };
        enum log_level lvl = LOG_LVL_WARNING;
        int c;
        log_setup(NULL, false, lvl, "den");
        while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        if (!*optarg)
                                return den_usage("--root", "an empty path: give a directory");
                        g.root = optarg;
                        break;
                case 'R':
                        if (!*optarg)
                                return den_usage("--runroot", "an empty path: give a directory");
                        g.runroot = optarg;
                        break;
                case 'l':
                        if (log_level_parse(optarg, &lvl) < 0)
                                return den_usage("--log-level", "'%s': expected error, warning, info or debug", optarg);
                        log_setup(NULL, false, lvl, "den");
                        break;
                case 'S':
                        g.storage_driver = optarg;
                        break;
                case 'v':
                        printf("den version %s\n", DEN_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        /* each command names a bad option itself (den_bad_option), once */
        opterr = 0;
        _cleanup_free_ char *root = NULL;
        if (!g.root)
                g.root = root = engine_default_root();
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[optind], commands[i].name) == 0)
                        return commands[i].fn(&g, argc - optind, argv + optind);
        log_error("unknown command '%s' (see 'den --help')", argv[optind]);
        return 2;
}
