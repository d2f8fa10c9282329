/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "den.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/net/net.h"
#include "lib/base/signal.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/format.h"

static int env_file(char ***env, const char *path)
{
        _cleanup_free_ char *txt = NULL;
        if (fs_read_file(path, 1 << 20, &txt, NULL) < 0)
                return -errno;
        char *save = NULL;
        for (char *l = strtok_r(txt, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (!*l || *l == '#')
                        continue;
                if (strchr(l, '='))
                        strv_push(env, l);
                else if (getenv(l)) {
                        _cleanup_free_ char *kv = xasprintf("%s=%s", l, getenv(l));
                        strv_push(env, kv);
                }
        }
        return 0;
}

static const char run_help[] =
        "usage: den %s [OPTIONS] IMAGE [CMD...]\n"
        "%s.  The network is none (loopback only) unless\n"
        "--network or -p asks for one: a command that needs the internet wants --network private.\n\n"
        "  --pull missing|always|never   pull the image when the store lacks it (default missing), always, or never\n"
        "  --tls-verify[=false]  for that pull: false also allows a plain http registry\n"
        "  --rm                  remove the container when its command ends\n"
        "  -d, --detach          run it in the background; its id is printed once it runs\n"
        "  -i, --interactive     give the command our stdin (else /dev/null)\n"
        "  -t, --tty             a terminal for the command\n"
        "  --name NAME           the container's name (default den-ID)\n"
        "  -e, --env K=V|K       set a variable (K alone: its value here)\n"
        "  --env-file FILE       K=V lines\n"
        "  -w, --workdir DIR     the command's directory (absolute)\n"
        "  -u, --user USER[:GROUP]  a name from the image's /etc/passwd or a number\n"
        "  -v, --volume /HOST:/CTR[:ro|rw]  bind a host path (it must exist)\n"
        "  -v, --volume NAME:/CTR[:ro|rw|nocopy]  mount a volume (made when missing; a new one gets\n"
        "                        the image's content there, unless nocopy)\n"
        "  -v, --volume /CTR     an anonymous volume (removed by rm -v and --rm)\n"
        "  --mount type=bind|volume|tmpfs,source=SRC,target=DST[,readonly][,volume-nocopy]\n"
        "                        [,tmpfs-size=N][,tmpfs-mode=OCTAL]   docker's long form of -v and --tmpfs\n"
        "  --volumes-from CONTAINER[:ro|rw]  the volumes and binds of another container\n"
        "  --tmpfs DIR[:size=N,mode=M,uid=,gid=,ro,noexec,...]  a tmpfs there\n"
        "  --read-only           the root filesystem read-only\n"
        "  --network none|host|private|pasta|slirp4netns[:allow_host_loopback=true]\n"
        "                        none (default): loopback only; private: pasta, else slirp4netns\n"
        "  -p, --publish [IP:]HOST_PORT:CTR_PORT[/tcp|/udp]  publish a port (a private network)\n"
        "  -P, --publish-all     the image's EXPOSE ports on free host ports\n"
        "  --allow-host-loopback the host's 127.0.0.1 reachable from a private network\n"
        "  --hostname NAME       the container's host name (default its short id)\n"
        "  --entrypoint CMD      instead of the image's entrypoint\n"
        "  --security-opt seccomp=unconfined|FILE  no seccomp filter, or a docker/OCI profile\n"
        "                        (default: den's, the syscalls docker and podman allow)\n";

/* true, 1, or nothing: on; false, 0: off */
static int mount_bool(const char *v)
{
        if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                return 1;
        return strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ? 0 : -1;
}

/* --mount (docker's comma-separated KEY=VALUE) as -v's or --tmpfs's form */
static int mount_flag(const char *spec, char ***vols, char ***tmpfs)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        const char *type = "volume", *src = NULL, *dst = NULL, *size = NULL, *mode = NULL;
        int ro = 0, nocopy = 0;
        char *save = NULL;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(w, '=');
                if (eq)
                        *eq++ = '\0';
                if (strcmp(w, "type") == 0 && eq)
                        type = eq;
                else if ((strcmp(w, "source") == 0 || strcmp(w, "src") == 0) && eq)
                        src = *eq ? eq : NULL;
                else if ((strcmp(w, "target") == 0 || strcmp(w, "destination") == 0 || strcmp(w, "dst") == 0) && eq)
                        dst = eq;
                else if (strcmp(w, "readonly") == 0 || strcmp(w, "ro") == 0)
                        ro = mount_bool(eq);
                else if (strcmp(w, "volume-nocopy") == 0)
                        nocopy = mount_bool(eq);
                else if (strcmp(w, "tmpfs-size") == 0 && eq && *eq && strspn(eq, "0123456789") >= strlen(eq) - 1 &&
                         (strspn(eq, "0123456789") == strlen(eq) || strchr("kKmMgG", eq[strlen(eq) - 1])))
                        size = eq;
                else if (strcmp(w, "tmpfs-mode") == 0 && eq && *eq && strspn(eq, "01234567") == strlen(eq))
                        mode = eq;
                else if (strcmp(w, "volume-driver") == 0 && eq && strcmp(eq, "local") == 0)
                        continue;
                else if (strcmp(w, "bind-propagation") == 0 || strcmp(w, "consistency") == 0)
                        continue; /* no effect here, as -v's z and rprivate */
                else
                        return den_usage("run", "--mount '%s': '%s%s%s' is not understood", spec, w, eq ? "=" : "", eq ? eq : "");
                if (ro < 0 || nocopy < 0)
                        return den_usage("run", "--mount '%s': %s takes true or false", spec, w);
        }
        if (!dst || dst[0] != '/')
                return den_usage("run", "--mount '%s': needs target=/PATH (absolute)", spec);
        _cleanup_free_ char *one = NULL;
        if (strcmp(type, "tmpfs") == 0) {
                if (src)
                        return den_usage("run", "--mount '%s': a tmpfs has no source", spec);
                one = xasprintf("%s%s%s%s%s%s%s%s", dst, size || mode || ro ? ":" : "", size ? "size=" : "", size ? size : "",
                                size && (mode || ro) ? "," : "", mode ? "mode=" : "", mode ? mode : "",
                                ro ? (size || mode ? ",ro" : "ro") : "");
                strv_push(tmpfs, one);
                return 0;
        }
        if (strcmp(type, "bind") == 0 && (!src || src[0] != '/'))
                return den_usage("run", "--mount '%s': a bind needs source=/HOST/PATH (absolute)", spec);
        if (strcmp(type, "volume") == 0 && src && src[0] == '/')
                return den_usage("run", "--mount '%s': a volume's source is its name (type=bind for a host path)", spec);
        if (strcmp(type, "bind") != 0 && strcmp(type, "volume") != 0)
                return den_usage("run", "--mount '%s': type=%s: bind, volume or tmpfs", spec, type);
        if (nocopy && strcmp(type, "volume") != 0)
                return den_usage("run", "--mount '%s': volume-nocopy is for volumes", spec);
        one = src ? xasprintf("%s:%s%s%s%s", src, dst, ro || nocopy ? ":" : "", ro ? "ro" : "",
                              nocopy ? (ro ? ",nocopy" : "nocopy") : "")
                  : xasprintf("%s", dst);
        strv_push(vols, one);
        return 0;
}

static int run_or_create(struct den_global *g, int argc, char **argv, bool create)
{
        enum { O_NAME = 300, O_ENVFILE, O_TMPFS, O_RO, O_NET, O_HOST, O_ENTRY, O_RM, O_LOOP, O_SECOPT, O_PULL, O_TLS,
               O_MOUNT, O_VFROM };
        static const struct option o[] = {
                { "rm", no_argument, NULL, O_RM },          { "detach", no_argument, NULL, 'd' },
                { "interactive", no_argument, NULL, 'i' },  { "tty", no_argument, NULL, 't' },
                { "name", required_argument, NULL, O_NAME }, { "env", required_argument, NULL, 'e' },
                { "env-file", required_argument, NULL, O_ENVFILE }, { "workdir", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },   { "volume", required_argument, NULL, 'v' },
                { "tmpfs", required_argument, NULL, O_TMPFS }, { "read-only", no_argument, NULL, O_RO },
                { "network", required_argument, NULL, O_NET }, { "net", required_argument, NULL, O_NET },
                { "hostname", required_argument, NULL, O_HOST }, { "entrypoint", required_argument, NULL, O_ENTRY },
                { "publish", required_argument, NULL, 'p' }, { "publish-all", no_argument, NULL, 'P' },
                { "allow-host-loopback", no_argument, NULL, O_LOOP }, { "security-opt", required_argument, NULL, O_SECOPT },
                { "pull", required_argument, NULL, O_PULL }, { "tls-verify", optional_argument, NULL, O_TLS },
                { "mount", required_argument, NULL, O_MOUNT }, { "volumes-from", required_argument, NULL, O_VFROM },
                { "help", no_argument, NULL, 'h' },         {},
        };
        const char *pull = "missing";
        int tls_verify = -1;
        struct engine_run_opts ro = { .root = g->root, .runroot = g->runroot, .storage_driver = g->storage_driver };
        _cleanup_strv_free_ char **env = NULL, **vols = NULL, **tmpfs = NULL, **publish = NULL, **secopt = NULL,
                                 **vfrom = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+dite:w:u:v:p:Ph", o, NULL)) != -1) {
                switch (c) {
                case O_RM: ro.rm = true; break;
                case 'd': ro.detach = true; break;
                case 'i': ro.interactive = true; break;
                case 't': ro.tty = true; break;
                case O_NAME: ro.name = optarg; break;
                case 'e':
                        if (strchr(optarg, '='))
                                strv_push(&env, optarg);
                        else if (getenv(optarg)) {
                                _cleanup_free_ char *kv = xasprintf("%s=%s", optarg, getenv(optarg));
                                strv_push(&env, kv);
                        }
                        break;
                case O_ENVFILE:
                        if (env_file(&env, optarg) < 0)
                                return den_usage("run", "--env-file '%s': cannot read it", optarg);
                        break;
                case 'w': ro.workdir = optarg; break;
                case 'u': ro.user = optarg; break;
                case 'v': strv_push(&vols, optarg); break;
                case O_TMPFS: strv_push(&tmpfs, optarg); break;
                case O_MOUNT:
                        if (mount_flag(optarg, &vols, &tmpfs) != 0)
                                return 2;
                        break;
                case O_VFROM: strv_push(&vfrom, optarg); break;
                case O_RO: ro.read_only = true; break;
                case O_NET: ro.network = optarg; break;
                case O_HOST: ro.hostname = optarg; break;
                case O_ENTRY: ro.entrypoint = optarg; break;
                case 'p': strv_push(&publish, optarg); break;
                case 'P': ro.publish_all = true; break;
                case O_LOOP: ro.allow_host_loopback = true; break;
                case O_SECOPT: strv_push(&secopt, optarg); break;
                case O_PULL: pull = optarg; break;
                case O_TLS:
                        if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false"))
                                return den_usage("run", "--tls-verify '%s': true or false", optarg);
                        tls_verify = !optarg || strcmp(optarg, "true") == 0;
                        break;
                case 'h':
                        printf(run_help, create ? "create" : "run",
                               create ? "Create a container for a command; den start runs it" : "Run a command in a new container");
                        return 0;
                default:
                        return den_bad_option("run", argv, "+dite:w:u:v:p:Ph", o);
                }
        }
        if (optind >= argc)
                return den_usage("run", "expects an image");
        if (ro.workdir && ro.workdir[0] != '/')
                return den_usage("run", "-w '%s': not an absolute path", ro.workdir);
        int rc = den_pull_missing(g, argv[optind], pull, tls_verify);
        if (rc != 0)
                return rc;
        ro.image = argv[optind];
        ro.cmd = argv + optind + 1;
        ro.env = env;
        ro.volumes = vols;
        ro.volumes_from = vfrom;
        ro.image_volumes = true;
        ro.tmpfs = tmpfs;
        ro.publish = publish;
        ro.security_opt = secopt;
        struct err err = { 0 };
        int r = create ? engine_create(&ro, &err) : engine_run(&ro, &err);
        if (r < 0) {
                den_fail(err.msg);
                return 125;
        }
        return r;
}

int den_cmd_run(struct den_global *g, int argc, char **argv)
{
        return run_or_create(g, argc, argv, false);
}

int den_cmd_create(struct den_global *g, int argc, char **argv)
{
        return run_or_create(g, argc, argv, true);
}

int den_cmd_start(struct den_global *g, int argc, char **argv)
{
        const char *v[2];
        int i = den_flags("start", "den start [-a] CONTAINER...\n"
                                   "Start created or stopped containers.\n\n"
                                   "  -a, --attach   stay with its output and return its exit status (one container)",
                          argc, argv, (const char *const[]){ "a|attach", NULL }, v), rc = 0;
        if (i <= 0)
                return i < 0 ? 2 : 0;
        bool attach = v[0];
        if (i >= argc)
                return den_usage("start", "expects a container");
        if (attach && argc - i != 1)
                return den_usage("start", "-a takes one container");
        for (; i < argc; i++) {
                struct err err = { 0 };
                int r = engine_start(g->root, g->runroot, argv[i], attach, &err);
                if (r < 0)
                        rc = den_fail(err.msg);
                else if (attach)
                        return r;
                else
                        printf("%s\n", argv[i]);
        }
        return rc;
}

int den_cmd_rename(struct den_global *g, int argc, char **argv)
{
        const char *v[1];
        int i = den_flags("rename", "den rename CONTAINER NEW_NAME", argc, argv, (const char *const[]){ NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (argc - i != 2)
                return den_usage("rename", "expects a container and its new name");
        struct err err = { 0 };
        return engine_rename(g->root, argv[i], argv[i + 1], &err) < 0 ? den_fail(err.msg) : 0;
}

int den_cmd_commit(struct den_global *g, int argc, char **argv)
{
        int i = den_operands("commit", argc, argv,
                             "den commit CONTAINER IMAGE\nA new image: the container's image and its changes as one more layer.");
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (argc - i != 2)
                return den_usage("commit", "expects a container and the new image's name");
        struct err err = { 0 };
        char man[72];
        if (engine_commit(g->root, argv[i], argv[i + 1], man, &err) < 0)
                return den_fail(err.msg);
        printf("%s\n", man);
        return 0;
}

int den_cmd_port(struct den_global *g, int argc, char **argv)
{
        int i = den_operands("port", argc, argv, "den port CONTAINER\nThe published ports: CTR_PORT/PROTO -> HOST_IP:HOST_PORT");
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (argc - i != 1)
                return den_usage("port", "expects a container");
        struct err err = { 0 };
        _cleanup_strv_free_ char **lines = NULL;
        if (engine_ports(g->root, argv[i], &lines, &err) < 0)
                return den_fail(err.msg);
        for (char **l = lines; l && *l; l++)
                printf("%s\n", *l);
        return 0;
}

int den_cmd_exec(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "detach", no_argument, NULL, 'd' }, { "interactive", no_argument, NULL, 'i' },
                                           { "tty", no_argument, NULL, 't' }, { "env", required_argument, NULL, 'e' },
                                           { "workdir", required_argument, NULL, 'w' }, { "user", required_argument, NULL, 'u' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        struct engine_exec_opts eo = { .root = g->root, .runroot = g->runroot };
        _cleanup_strv_free_ char **env = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+dite:w:u:h", o, NULL)) != -1) {
                switch (c) {
                case 'd': eo.detach = true; break;
                case 'i': eo.interactive = true; break;
                case 't': eo.tty = true; break;
                case 'e': strv_push(&env, optarg); break;
                case 'w': eo.workdir = optarg; break;
                case 'u': eo.user = optarg; break;
                case 'h':
                        printf("usage: den exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER[:GROUP]] CONTAINER CMD [ARG...]\n"
                               "Run another command in a running container, started by its keeper.\n\n"
                               "  -d, --detach          do not wait for it\n"
                               "  -i, --interactive     give it our stdin (else /dev/null)\n"
                               "  -t, --tty             a terminal for it\n"
                               "  -e, --env K=V         set a variable\n"
                               "  -w, --workdir DIR     its directory\n"
                               "  -u, --user USER[:GROUP]\n");
                        return 0;
                default:
                        return den_bad_option("exec", argv, "+dite:w:u:h", o);
                }
        }
        if (argc - optind < 2)
                return den_usage("exec", "expects a container and a command");
        eo.container = argv[optind];
        eo.cmd = argv + optind + 1;
        eo.env = env;
        struct err err = { 0 };
        int r = engine_exec(&eo, &err);
        if (r < 0) {
                den_fail(err.msg);
                return 126;
        }
        return r;
}

static int newest_first(const void *a, const void *b)
{
        const char *ca = json_string_value(json_object_get(*(json_t *const *) a, "Created"));
        const char *cb = json_string_value(json_object_get(*(json_t *const *) b, "Created"));
        return -strcmp(ca ? ca : "", cb ? cb : "");
}

/* one line of den ps, worded as docker's */
static void ps_row(struct format_table *t, json_t *e, time_t now)
{
        char id[13], cmd[256] = "", status[64], ago[48];
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(e, "Id")));
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(json_object_get(e, "Process"), "args"), k, a)
        {
                size_t l = strlen(cmd);
                snprintf(cmd + l, sizeof(cmd) - l, "%s%s", k ? " " : "", json_string_value(a));
        }
        /* docker quotes the command and cuts it at 20 columns */
        _cleanup_free_ char *cut = format_trunc(cmd, 20), *quoted = xasprintf("\"%s\"", cut);
        time_t created = format_parse_time(json_string_value(json_object_get(e, "Created")));
        format_duration(created < 0 ? 0 : now - created, ago, sizeof(ago));
        _cleanup_free_ char *created_ago = xasprintf("%s ago", ago);
        format_status(json_string_value(json_object_get(e, "Status")),
                      (int) json_integer_value(json_object_get(e, "ExitCode")),
                      (time_t) json_integer_value(json_object_get(e, "StartedAt")),
                      (time_t) json_integer_value(json_object_get(e, "FinishedAt")), now, status, sizeof(status));
        /* as docker shows them: 0.0.0.0:8080->80/tcp, ... */
        _cleanup_free_ char *ports = xstrdup("");
        json_array_foreach(json_object_get(json_object_get(e, "Options"), "Publish"), k, a)
        {
                struct net_port np;
                struct err pe = { 0 };
                if (net_port_parse(json_string_value(a), &np, &pe) < 0)
                        continue;
                _cleanup_free_ char *one = net_port_str(&np), *old = ports;
                ports = xasprintf("%s%s%s", old, *old ? ", " : "", one);
        }
        _cleanup_free_ char *image = format_trunc(json_string_value(json_object_get(e, "Image")), 40);
        const char *cells[] = { id, image, quoted, created_ago, status, ports,
                                json_string_value(json_object_get(e, "Name")) };
        for (size_t c = 0; c < ELEMENTSOF(cells); c++)
                format_table_add(t, cells[c]);
}

int den_cmd_ps(struct den_global *g, int argc, char **argv)
{
        const char *v[2];
        int op = den_flags("ps", "den ps [-a] [-q]\n"
                                 "List the running containers, the newest first.\n\n"
                                 "  -a, --all     stopped and created ones too\n"
                                 "  -q, --quiet   only their ids",
                           argc, argv, (const char *const[]){ "a|all", "q|quiet", NULL }, v);
        if (op <= 0)
                return op < 0 ? 2 : 0;
        bool all = v[0], quiet = v[1];
        if (op < argc)
                return den_usage("ps", "takes no arguments, not '%s'", argv[op]);
        struct err err = { 0 };
        json_t *arr;
        if (engine_list(g->root, g->runroot, &arr, &err) < 0)
                return den_fail(err.msg);
        /* the newest first, as docker lists them (RFC 3339 times sort as text) */
        size_t n = json_array_size(arr);
        _cleanup_free_ json_t **rows = xcalloc(n + 1, sizeof(json_t *));
        for (size_t k = 0; k < n; k++)
                rows[k] = json_array_get(arr, k);
        qsort(rows, n, sizeof(json_t *), newest_first);
        struct format_table t;
        format_table_init(&t, 7);
        static const char *const heads[] = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" };
        for (size_t k = 0; k < ELEMENTSOF(heads); k++)
                format_table_add(&t, heads[k]);
        time_t now = time(NULL);
        for (size_t k = 0; k < n; k++) {
                const char *st = json_string_value(json_object_get(rows[k], "Status"));
                if (!all && strcmp(st, "running") != 0)
                        continue;
                if (quiet)
                        printf("%.12s\n", json_string_value(json_object_get(rows[k], "Id")));
                else
                        ps_row(&t, rows[k], now);
        }
        if (!quiet)
                format_table_print(&t, stdout);
        format_table_free(&t);
        json_decref(arr);
        return 0;
}

int den_cmd_stop(struct den_global *g, int argc, char **argv)
{
        const char *v[2];
        int timeout = 10, rc = 0;
        int i = den_flags("stop", "den stop [-t SECONDS] CONTAINER...\n"
                                  "SIGTERM to each container's command, SIGKILL if it still runs after the timeout.\n\n"
                                  "  -t, --time SECONDS   the wait before SIGKILL (default 10)",
                          argc, argv, (const char *const[]){ "t:|time", NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (v[0]) {
                char *end;
                timeout = (int) strtol(v[0], &end, 10);
                if (*end || !*v[0] || timeout < 0)
                        return den_usage("stop", "-t '%s': not a number of seconds", v[0]);
        }
        if (i >= argc)
                return den_usage("stop", "expects a container");
        for (; i < argc; i++) {
                struct err err = { 0 };
                if (engine_stop(g->root, g->runroot, argv[i], timeout, &err) < 0)
                        rc = den_fail(err.msg);
                else
                        printf("%s\n", argv[i]);
        }
        return rc;
}

int den_cmd_kill(struct den_global *g, int argc, char **argv)
{
        const char *v[2];
        int sig = SIGKILL, rc = 0;
        int i = den_flags("kill", "den kill [-s SIGNAL] CONTAINER...\n"
                                  "Send a signal to each container's command.\n\n"
                                  "  -s, --signal SIGNAL   a name (TERM, SIGTERM) or a number (default KILL)",
                          argc, argv, (const char *const[]){ "s:|signal", NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (v[0] && (sig = signal_parse(v[0])) < 0)
                return den_usage("kill", "unknown signal '%s'", v[0]);
        if (i >= argc)
                return den_usage("kill", "expects a container");
        for (; i < argc; i++) {
                struct err err = { 0 };
                if (engine_kill(g->root, g->runroot, argv[i], sig, &err) < 0)
                        rc = den_fail(err.msg);
                else
                        printf("%s\n", argv[i]);
        }
        return rc;
}

int den_cmd_rm(struct den_global *g, int argc, char **argv)
{
        const char *v[3];
        int i = den_flags("rm", "den rm [-f] [-v] CONTAINER...\n"
                                "Remove containers and their changes.\n\n"
                                "  -f, --force     a running container too (killed first)\n"
                                "  -v, --volumes   its anonymous volumes too",
                          argc, argv, (const char *const[]){ "f|force", "v|volumes", NULL }, v), rc = 0;
        if (i <= 0)
                return i < 0 ? 2 : 0;
        bool force = v[0], volumes = v[1];
        if (i >= argc)
                return den_usage("rm", "expects a container");
        for (; i < argc; i++) {
                struct err err = { 0 };
                if (engine_rm_volumes(g->root, g->runroot, argv[i], force, volumes, &err) < 0)
                        rc = den_fail(err.msg);
                else
                        printf("%s\n", argv[i]);
        }
        return rc;
}

int den_cmd_wait(struct den_global *g, int argc, char **argv)
{
        const char *v[1];
        int i = den_flags("wait", "den wait CONTAINER...\nWait for each container's command to end; print its exit status.",
                          argc, argv, (const char *const[]){ NULL }, v), rc = 0;
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (i >= argc)
                return den_usage("wait", "expects a container");
        for (; i < argc; i++) {
                struct err err = { 0 };
                int r = engine_wait(g->root, g->runroot, argv[i], &err);
                if (r < 0)
                        rc = den_fail(err.msg);
                else
                        printf("%d\n", r);
        }
        return rc;
}

/* print the JSON lines of a container log from offset; returns the new offset */
static off_t print_log(int fd, off_t off, long tail)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return off;
        if (st.st_size < off)
                off = 0; /* the keeper cut the log at its cap */
        size_t len = (size_t) (st.st_size - off);
        _cleanup_free_ char *buf = xmalloc(len + 1);
        ssize_t n = pread(fd, buf, len, off);
        if (n <= 0)
                return off;
        char *end = memrchr(buf, '\n', (size_t) n);
        if (!end)
                return off;
        *end = '\0';
        size_t used = (size_t) (end - buf) + 1;
        /* --tail: skip to the last N lines */
        char *start = buf;
        if (tail >= 0) {
                long lines = 0;
                for (char *p = end; p > buf; p--)
                        if (p[-1] == '\n' && ++lines == tail) {
                                start = p;
                                break;
                        }
                if (tail == 0)
                        start = end;
        }
        char *save = NULL;
        for (char *l = strtok_r(start, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                /* the keeper escapes a NUL the command wrote; keep it, as docker does */
                json_t *j = json_loads(l, JSON_ALLOW_NUL, NULL);
                const char *text = json_string_value(json_object_get(j, "log"));
                const char *stream = json_string_value(json_object_get(j, "stream"));
                if (text)
                        fs_write_all(stream && strcmp(stream, "stderr") == 0 ? 2 : 1, text,
                                     json_string_length(json_object_get(j, "log")));
                json_decref(j);
        }
        return off + (off_t) used;
}

/* den keeps the output of detached containers only: a command in the foreground
 * writes to the caller's terminal or pipes directly, nothing in between */
static int no_log(struct den_global *g, const char *container)
{
        struct err err = { 0 };
        json_t *info = NULL;
        if (engine_inspect(g->root, g->runroot, container, &info, &err) < 0)
                return den_fail(err.msg);
        bool created = strcmp(json_string_value(json_object_get(info, "Status")), "created") == 0;
        json_decref(info);
        if (created)
                fprintf(stderr, "den: container '%s' has not run yet: no output to show\n", container);
        else
                fprintf(stderr, "den: container '%s' ran in the foreground: its output went where den run's went, "
                                "and den keeps no log of it (den run -d keeps one)\n", container);
        return 0;
}

int den_cmd_logs(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "follow", no_argument, NULL, 'f' }, { "tail", required_argument, NULL, 'n' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        bool follow = false;
        long tail = -1;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+fn:h", o, NULL)) != -1) {
                if (c == 'f')
                        follow = true;
                else if (c == 'n') {
                        char *end;
                        tail = strcmp(optarg, "all") == 0 ? -1 : strtol(optarg, &end, 10);
                        if (strcmp(optarg, "all") != 0 && (*end || tail < 0))
                                return den_usage("logs", "--tail '%s': a number of lines or 'all'", optarg);
                } else if (c == 'h') {
                        printf("usage: den logs [-f] [--tail N] CONTAINER\n"
                               "The output of a detached container (den run -d, den start): den keeps no log of\n"
                               "a command run in the foreground, whose output went straight to the caller.\n\n"
                               "  -f, --follow       keep printing until the container ends\n"
                               "  -n, --tail N|all   only the last N lines\n");
                        return 0;
                } else
                        return den_bad_option("logs", argv, "+fn:h", o);
        }
        if (argc - optind != 1)
                return den_usage("logs", "expects one container");
        struct err err = { 0 };
        _cleanup_free_ char *path = NULL;
        if (engine_log_path(g->root, g->runroot, argv[optind], &path, &err) < 0)
                return den_fail(err.msg);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return no_log(g, argv[optind]);
        off_t off = print_log(fd, 0, tail);
        while (follow) {
                struct err e2 = { 0 };
                bool running = engine_running(g->root, g->runroot, argv[optind], &e2);
                usleep(100000);
                off = print_log(fd, off, -1);
                if (!running)
                        break;
        }
        return 0;
}

int den_cmd_cp(struct den_global *g, int argc, char **argv)
{
        int i = den_operands("cp", argc, argv, "den cp HOSTPATH CONTAINER:PATH | den cp CONTAINER:PATH HOSTPATH");
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (argc - i != 2)
                return den_usage("cp", "expects a source and a destination");
        struct err err = { 0 };
        return engine_cp(g->root, g->runroot, argv[i], argv[i + 1], &err) < 0 ? den_fail(err.msg) : 0;
}
