/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/seccomp.h"
#include "runtime.h"
#include "lib/runtime/container.h"
#include "lib/runtime/state.h"
#include "lib/spec/spec.h"

int rt_cmd_state(struct rt_global *g, int argc, char **argv)
{
        struct err err = { 0 };
        struct state st;
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("usage: den-runtime state ID\n");
                return 0;
        }
        if (argc != 2)
                return rt_usage("state", "expects exactly one container id");
        if (state_load(g->root, argv[1], &st, &err) < 0)
                return rt_fail(err.msg);
        json_t *j = state_to_json(&st, state_status(g->root, &st), true);
        _cleanup_free_ char *s = json_dump_str(j, true);
        printf("%s\n", s);
        json_decref(j);
        state_free(&st);
        return 0;
}

int rt_cmd_list(struct rt_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "quiet", no_argument, NULL, 'q' }, { "format", required_argument, NULL, 'f' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        bool quiet = false, json = false;
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+qf:h", o, NULL)) != -1) {
                if (c == 'q')
                        quiet = true;
                else if (c == 'f') {
                        if (strcmp(optarg, "json") == 0)
                                json = true;
                        else if (strcmp(optarg, "table") != 0)
                                return rt_usage("list", "--format '%s': expected table or json", optarg);
                } else if (c == 'h') {
                        printf("usage: den-runtime list [-q] [--format table|json]\n");
                        return 0;
                } else
                        return rt_usage("list", "bad option");
        }
        json_t *arr = json_array();
        _cleanup_strv_free_ char **ids = state_ids(g->root);
        for (size_t k = 0; ids[k]; k++) {
                struct state st;
                struct err err = { 0 };
                if (state_load(g->root, ids[k], &st, &err) < 0)
                        continue;
                json_array_append_new(arr, state_to_json(&st, state_status(g->root, &st), true));
                state_free(&st);
        }
        size_t i;
        json_t *e;
        if (json) {
                _cleanup_free_ char *s = json_dump_str(arr, false);
                printf("%s\n", s);
        } else if (quiet) {
                json_array_foreach(arr, i, e) printf("%s\n", json_string_value(json_object_get(e, "id")));
        } else {
                printf("%-20s %-10s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
                json_array_foreach(arr, i, e)
                {
                        printf("%-20s %-10lld %-10s %-40s %-32s %s\n", json_string_value(json_object_get(e, "id")),
                               json_integer_value(json_object_get(e, "pid")),
                               json_string_value(json_object_get(e, "status")),
                               json_string_value(json_object_get(e, "bundle")),
                               json_string_value(json_object_get(e, "created")),
                               json_string_value(json_object_get(e, "owner")));
                }
        }
        json_decref(arr);
        return 0;
}

int rt_cmd_ps(struct rt_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {} };
        bool json = false;
        int c;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+f:h", o, NULL)) != -1) {
                if (c == 'f') {
                        if (strcmp(optarg, "json") == 0)
                                json = true;
                        else if (strcmp(optarg, "table") != 0)
                                return rt_usage("ps", "--format '%s': expected table or json", optarg);
                } else if (c == 'h') {
                        printf("usage: den-runtime ps [--format table|json] ID [ps options]\n");
                        return 0;
                } else
                        return rt_usage("ps", "bad option");
        }
        if (optind >= argc)
                return rt_usage("ps", "expects a container id");
        const char *id = argv[optind];
        struct err err = { 0 };
        pid_t *pids = NULL;
        size_t n = 0;
        if (container_pids(g->root, id, &pids, &n, &err) < 0)
                return rt_fail(err.msg);
        _cleanup_free_ pid_t *pv = pids;
        if (json) {
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", pids[i]);
                printf("]\n");
                return 0;
        }
        /* table: ps's own output, filtered to the container's pids */
        int p[2];
        if (pipe(p) < 0)
                return rt_fail("pipe failed");
        pid_t c2 = fork();
        if (c2 == 0) {
                dup2(p[1], 1);
                close(p[0]);
                char **av = xcalloc((size_t) (argc - optind) + 2, sizeof(char *));
                av[0] = "ps";
                int k = 1;
                if (argc - optind == 1)
                        av[k++] = "-ef";
                for (int i = optind + 1; i < argc; i++)
                        av[k++] = argv[i];
                execvp("ps", av);
                _exit(127);
        }
        close(p[1]);
        FILE *f = fdopen(p[0], "r");
        char line[4096];
        int pid_col = -1;
        bool first = true;
        while (f && fgets(line, sizeof(line), f)) {
                if (first) {
                        char copy[4096];
                        strcpy(copy, line);
                        int col = 0;
                        for (char *t = strtok(copy, " \t\n"); t; t = strtok(NULL, " \t\n"), col++)
                                if (strcmp(t, "PID") == 0)
                                        pid_col = col;
                        fputs(line, stdout);
                        first = false;
                        continue;
                }
                char copy[4096];
                strcpy(copy, line);
                int col = 0;
                for (char *t = strtok(copy, " \t\n"); t; t = strtok(NULL, " \t\n"), col++) {
                        if (col != pid_col)
                                continue;
                        pid_t v = atoi(t);
                        for (size_t i = 0; i < n; i++)
                                if (pids[i] == v)
                                        fputs(line, stdout);
                        break;
                }
        }
        if (f)
                fclose(f);
        int st;
        waitpid(c2, &st, 0);
        if (pid_col < 0)
                return rt_fail("ps: its output has no PID column");
        return 0;
}

int rt_cmd_spec(struct rt_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "rootless", no_argument, NULL, 'r' }, { "bundle", required_argument, NULL, 'b' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        bool rootless = false;
        const char *bundle = ".";
        int c;
        (void) g;
        optind = 0;
        while ((c = getopt_long_only(argc, argv, "+b:h", o, NULL)) != -1) {
                if (c == 'r')
                        rootless = true;
                else if (c == 'b')
                        bundle = optarg;
                else if (c == 'h') {
                        printf("usage: den-runtime spec [--rootless] [--bundle DIR]\n");
                        return 0;
                } else
                        return rt_usage("spec", "bad option");
        }
        if (optind != argc)
                return rt_usage("spec", "takes no arguments");
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
        if (access(path, F_OK) == 0)
                return rt_fail("config.json exists already: remove it first");
        json_t *j = spec_generate(rootless, geteuid(), getegid());
        _cleanup_free_ char *s = json_dump_str(j, true);
        json_decref(j);
        _cleanup_close_ int dfd = open(bundle, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        size_t l = strlen(s);
        s[l] = '\n';
        if (dfd < 0 || fs_write_atomic(dfd, "config.json", s, l + 1, 0644) < 0) {
                char m[512];
                snprintf(m, sizeof(m), "cannot write %s", path);
                return rt_fail(m);
        }
        return 0;
}

int rt_cmd_features(struct rt_global *g, int argc, char **argv)
{
        static const char *ns[] = { "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time" };
        static const char *hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
        static const char *mopts[] = { "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
                                       "idmap", "mand", "noatime", "nodev", "nodiratime", "noexec", "nomand",
                                       "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime",
                                       "rbind", "rdev", "rdiratime", "relatime", "remount", "ridmap", "rnoatime",
                                       "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
                                       "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
                                       "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent",
                                       "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable" };
        (void) g;
        if (argc > 1) {
                if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                        printf("usage: den-runtime features\n");
                        return 0;
                }
                return rt_usage("features", "takes no arguments");
        }
        json_t *jn = json_array(), *jh = json_array(), *jm = json_array(), *caps = json_array();
        for (size_t i = 0; i < ELEMENTSOF(ns); i++)
                json_array_append_new(jn, json_string(ns[i]));
        for (size_t i = 0; i < ELEMENTSOF(hooks); i++)
                json_array_append_new(jh, json_string(hooks[i]));
        for (size_t i = 0; i < ELEMENTSOF(mopts); i++)
                json_array_append_new(jm, json_string(mopts[i]));
        for (int c = 0; c <= spec_cap_last(); c++)
                if (spec_cap_name(c))
                        json_array_append_new(caps, json_string(spec_cap_name(c)));
        enum cgroup_mode m = cgroup_detect();
        json_t *lx = json_object();
        json_object_set_new(lx, "namespaces", jn);
        json_object_set_new(lx, "capabilities", caps);
        /* rdma: linux.resources.rdma is written (cgroup_plan.c) */
        json_object_set_new(lx, "cgroup", json_pack("{s:b,s:b,s:b,s:b,s:b}", "v1", m != CGROUP_UNIFIED, "v2",
                                                     m == CGROUP_UNIFIED, "systemd", 0, "systemdUser", 0, "rdma", 1));
        json_object_set_new(lx, "seccomp", seccomp_features());
        json_object_set_new(lx, "apparmor", json_pack("{s:b}", "enabled", 0));
        json_object_set_new(lx, "selinux", json_pack("{s:b}", "enabled", 0));
        json_object_set_new(lx, "intelRdt", json_pack("{s:b}", "enabled", 0));
        json_object_set_new(lx, "mountExtensions", json_pack("{s:{s:b}}", "idmap", "enabled", 1));
        json_t *j = json_pack("{s:s,s:s,s:o,s:o,s:o}", "ociVersionMin", "1.0.0", "ociVersionMax", "1.2.1", "hooks",
                              jh, "mountOptions", jm, "linux", lx);
        json_object_set_new(j, "annotations", json_pack("{s:s}", "org.den.runtime.version", DEN_VERSION));
        _cleanup_free_ char *s = json_dump_str(j, true);
        printf("%s\n", s);
        json_decref(j);
        return 0;
}

int rt_cmd_checkpoint(struct rt_global *g, int argc, char **argv)
{
        (void) g;
        (void) argc;
        char m[256];
        snprintf(m, sizeof(m), "%s: not supported by den-runtime (it has no CRIU support)", argv[0]);
        return rt_fail(m);
}
