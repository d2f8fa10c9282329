/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den-runtime: an OCI runtime with runc's command line. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "cmd/runtime.h"
#include "lib/linux/cgroup.h"
#include "lib/runtime/state.h"

static const struct {
        const char *name;
        rt_command_fn fn;
        const char *help;
        bool stateless; /* needs no state directory */
} commands[] = {
        { "checkpoint", rt_cmd_checkpoint, "not supported (no CRIU)", true },
        { "create", rt_cmd_create, "create a container" },
        { "delete", rt_cmd_delete, "delete a container and what it holds" },
        { "events", rt_cmd_events, "print a container's usage (cpu, memory, pids)" },
        { "exec", rt_cmd_exec, "run a new process in a container" },
        { "features", rt_cmd_features, "print the runtime-spec features document", true },
        { "kill", rt_cmd_kill, "send a signal to a container's first (or every) process" },
        { "list", rt_cmd_list, "list containers" },
        { "pause", rt_cmd_pause, "freeze every process of a container" },
        { "ps", rt_cmd_ps, "list the processes of a container" },
        { "restore", rt_cmd_checkpoint, "not supported (no CRIU)", true },
        { "resume", rt_cmd_resume, "thaw a paused container" },
        { "run", rt_cmd_run, "create and start a container" },
        { "spec", rt_cmd_spec, "write a default config.json", true },
        { "start", rt_cmd_start, "start a created container" },
        { "state", rt_cmd_state, "print a container's state" },
        { "update", rt_cmd_update, "change a container's resource limits" },
};

int rt_fail(const char *msg)
{
        log_error("%s", msg);
        return 1;
}

int rt_usage(const char *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = log_usage(1, cmd, fmt, ap);
        va_end(ap);
        return r;
}

static void usage(FILE *f)
{
        fprintf(f,
                "usage: den-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
                "An OCI runtime with runc's command line, rootless first.\n\n"
                "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
        fprintf(f, "\nGlobal options:\n"
                   "  --root DIR              state directory (default /run/den-runtime, rootless\n"
                   "                          $XDG_RUNTIME_DIR/den-runtime or /tmp/den-runtime-UID)\n"
                   "  --log FILE              also write messages to FILE\n"
                   "  --log-format text|json  format of --log (json as runc writes it)\n"
                   "  --log-level LEVEL       error, warning, info or debug\n"
                   "  --debug                 same as --log-level debug\n"
                   "  --cgroup-manager M      cgroupfs or disabled (systemd is not supported)\n"
                   "  --systemd-cgroup        refused: den-runtime does not talk to systemd\n"
                   "  --rootless true|false|auto\n"
                   "  -v, --version           print the version and compiled-in features\n"
                   "  -h, --help              this help\n");
}

static void version(void)
{
        /* runc's three lines, which dockerd parses for `docker info` and `docker version`
         * ("runc version", GitCommit: empty without a commit line) */
        printf("den-runtime version %s\n"
               "commit: %s\n"
               "spec: 1.2.1\n"
               "features: +SECCOMP +IDMAP-MOUNTS +CGROUPV2 +CGROUPV1 +NEWUIDMAP +OPENAT2 +CLONE3 -SYSTEMD -CRIU -APPARMOR -SELINUX\n",
               DEN_VERSION, DEN_VERSION);
}

int main(int argc, char **argv)
{
        enum { O_ROOT = 256, O_LOG, O_LOGFMT, O_LOGLVL, O_DEBUG, O_SYSTEMD, O_CGMGR, O_ROOTLESS, O_CRIU };
        static const struct option opts[] = {
                { "root", required_argument, NULL, O_ROOT },      { "log", required_argument, NULL, O_LOG },
                { "log-format", required_argument, NULL, O_LOGFMT }, { "log-level", required_argument, NULL, O_LOGLVL },
                { "debug", no_argument, NULL, O_DEBUG },          { "systemd-cgroup", no_argument, NULL, O_SYSTEMD },
                { "cgroup-manager", required_argument, NULL, O_CGMGR }, { "rootless", required_argument, NULL, O_ROOTLESS },
                { "criu", required_argument, NULL, O_CRIU },      { "version", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },               {},
        };
        struct rt_global g = { .rootless = -1 };
        const char *log_path = NULL;
        bool json = false, cg_systemd = false;
        enum log_level lvl = LOG_LVL_WARNING;
        int c;

        log_setup(NULL, false, lvl, "den-runtime");
        while ((c = getopt_long_only(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case O_ROOT:
                        if (!*optarg)
                                return rt_usage("--root", "an empty path: give a directory");
                        g.root = optarg;
                        break;
                case O_LOG:
                        log_path = optarg;
                        break;
                case O_LOGFMT:
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                                return rt_usage("--log-format", "'%s': expected text or json", optarg);
                        json = strcmp(optarg, "json") == 0;
                        break;
                case O_LOGLVL:
                        if (log_level_parse(optarg, &lvl) < 0)
                                return rt_usage("--log-level", "'%s': expected error, warning, info or debug", optarg);
                        break;
                case O_DEBUG:
                        lvl = LOG_LVL_DEBUG;
                        break;
                case O_SYSTEMD:
                        cg_systemd = true;
                        break;
                case O_CGMGR:
                        if (strcmp(optarg, "systemd") == 0)
                                cg_systemd = true;
                        else if (strcmp(optarg, "disabled") == 0)
                                g.no_cgroup = true;
                        else if (strcmp(optarg, "cgroupfs") != 0)
                                return rt_usage("--cgroup-manager", "'%s': expected cgroupfs, systemd or disabled", optarg);
                        break;
                case O_ROOTLESS:
                        if (strcmp(optarg, "true") == 0)
                                g.rootless = 1;
                        else if (strcmp(optarg, "false") == 0)
                                g.rootless = 0;
                        else if (strcmp(optarg, "auto") == 0)
                                g.rootless = -1;
                        else
                                return rt_usage("--rootless", "'%s': expected true, false or auto", optarg);
                        break;
                case O_CRIU:
                        break;
                case 'v':
                        version();
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        if (log_setup(log_path, json, lvl, "den-runtime") < 0) {
                fprintf(stderr, "den-runtime: cannot open the log file '%s'\n", log_path);
                return 1;
        }
        if (cg_systemd)
                return rt_fail("the systemd cgroup manager is not supported: use --cgroup-manager cgroupfs "
                               "(podman: cgroup_manager = \"cgroupfs\" in containers.conf)");
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *cmd = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(cmd, commands[i].name) != 0)
                        continue;
                _cleanup_free_ char *root = NULL;
                struct err err = { 0 };
                if (!commands[i].stateless) {
                        if (state_root_open(g.root, &root, &err) < 0) {
                                err_wrap(&err, "cannot use the state directory");
                                return rt_fail(err.msg);
                        }
                        g.root = root;
                }
                return commands[i].fn(&g, argc - optind, argv + optind);
        }
        log_error("unknown command '%s' (see 'den-runtime --help')", cmd);
        return 1;
}
