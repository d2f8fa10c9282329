/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den pull, push, login, logout and inspect --remote: thin front ends to lib/registry. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "den.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/registry/registry.h"
#include "lib/store/image.h"

enum {
        OPT_TLS = 1000, OPT_CERT_DIR, OPT_AUTHFILE, OPT_CREDS, OPT_TIMEOUT, OPT_RETRY, OPT_PLATFORM, OPT_PARALLEL,
        OPT_RAW, OPT_PASSWORD_STDIN, OPT_ALL, OPT_REMOTE,
};

#define REGISTRY_OPTIONS                                                                           \
        { "tls-verify", optional_argument, NULL, OPT_TLS }, { "cert-dir", required_argument, NULL, OPT_CERT_DIR }, \
        { "authfile", required_argument, NULL, OPT_AUTHFILE }, { "creds", required_argument, NULL, OPT_CREDS }, \
        { "timeout", required_argument, NULL, OPT_TIMEOUT }, { "retry", required_argument, NULL, OPT_RETRY }

static const char registry_help[] =
        "  --tls-verify[=false]  check the registry's certificate (default); false also allows plain http\n"
        "  --cert-dir DIR        CA (*.crt) and client certificates (*.cert, *.key) instead of certs.d/HOST\n"
        "  --authfile FILE       credentials file (default: $REGISTRY_AUTH_FILE, then podman's and docker's)\n"
        "  --creds USER[:PASS]   credentials for this command only\n"
        "  --timeout SECONDS     give up on a connection or a stalled transfer after this long (default 30)\n"
        "  --retry N             retries of a failed transfer, with backoff (default 3)\n";

static long number(const char *cmd, const char *flag, const char *v, long min, long max, int *bad)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || end == v || n < min || n > max) {
                *bad = den_usage(cmd, "%s '%s': expects a number from %ld to %ld", flag, v, min, max);
                return 0;
        }
        return n;
}

/* the options every registry command shares; 1 when c was one of them, <0 (exit code negated) when bad */
static int registry_opt(const char *cmd, int c, struct reg_opts *o)
{
        int bad = 0;
        switch (c) {
        case OPT_TLS:
                if (!optarg || strcmp(optarg, "true") == 0)
                        o->tls_verify = 1;
                else if (strcmp(optarg, "false") == 0)
                        o->tls_verify = 0;
                else
                        return -den_usage(cmd, "--tls-verify '%s': true or false", optarg);
                return 1;
        case OPT_CERT_DIR:
                o->cert_dir = optarg;
                return 1;
        case OPT_AUTHFILE:
                o->authfile = optarg;
                return 1;
        case OPT_CREDS:
                o->creds = optarg;
                return 1;
        case OPT_TIMEOUT:
                o->timeout = number(cmd, "--timeout", optarg, 1, 86400, &bad);
                return bad ? -bad : 1;
        case OPT_RETRY:
                o->retries = (int) number(cmd, "--retry", optarg, 0, 100, &bad);
                return bad ? -bad : 1;
        default:
                return 0;
        }
}

int den_cmd_pull(struct den_global *g, int argc, char **argv)
{
        static const struct option opts[] = { REGISTRY_OPTIONS, { "platform", required_argument, NULL, OPT_PLATFORM },
                                               { "parallel", required_argument, NULL, OPT_PARALLEL },
                                               { "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' }, {} };
        struct reg_opts o;
        reg_opts_init(&o);
        int c, bad = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
                int k = registry_opt("pull", c, &o);
                if (k < 0)
                        return -k;
                if (k)
                        continue;
                if (c == 'q')
                        o.quiet = true;
                else if (c == OPT_PLATFORM)
                        o.platform = optarg;
                else if (c == OPT_PARALLEL) {
                        o.parallel = (int) number("pull", "--parallel", optarg, 1, 16, &bad);
                        if (bad)
                                return bad;
                } else if (c == 'h') {
                        printf("usage: den pull [OPTIONS] [REGISTRY/]NAME[:TAG|@DIGEST]\n\n"
                               "Fetch an image from a registry into the store; prints its manifest digest.\n\n"
                               "  --platform OS/ARCH[/VARIANT]  from an image index (default: this machine's)\n"
                               "  --parallel N          layers downloaded at once (default 3)\n"
                               "  -q, --quiet           no progress\n%s",
                               registry_help);
                        return 0;
                } else
                        return den_bad_option("pull", argv, "+qh", opts);
        }
        if (argc - optind != 1)
                return den_usage("pull", "expects one image reference");
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        char man[72];
        r = registry_pull(&s, argv[optind], &o, man, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        printf("%s\n", man);
        return 0;
}

int den_pull_missing(struct den_global *g, const char *image, const char *policy, int tls_verify)
{
        if (strcmp(policy, "never") && strcmp(policy, "missing") && strcmp(policy, "always"))
                return den_usage("run", "--pull '%s': missing, always or never", policy);
        if (strcmp(policy, "never") == 0)
                return 0;
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        char man[72];
        if (strcmp(policy, "missing") == 0) {
                r = image_resolve(&s, image, man, &err);
                if (r != -ENOENT) {
                        store_close(&s);
                        return 0; /* there, or a name den cannot pull: run says why */
                }
                fprintf(stderr, "Unable to find image '%s' locally\n", image);
        }
        struct reg_opts o;
        reg_opts_init(&o);
        o.tls_verify = tls_verify;
        err_clear(&err);
        /* the progress den pull shows, on stderr: stdout is the command's */
        r = registry_pull(&s, image, &o, man, &err);
        store_close(&s);
        if (r < 0) {
                fprintf(stderr, "den: image '%s' not found in the store, and pulling it failed: %s\n", image, err.msg);
                return 125;
        }
        return 0;
}

int den_cmd_push(struct den_global *g, int argc, char **argv)
{
        static const struct option opts[] = { REGISTRY_OPTIONS, { "quiet", no_argument, NULL, 'q' },
                                               { "parallel", required_argument, NULL, OPT_PARALLEL },
                                               { "help", no_argument, NULL, 'h' }, {} };
        struct reg_opts o;
        reg_opts_init(&o);
        int c, bad = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
                int k = registry_opt("push", c, &o);
                if (k < 0)
                        return -k;
                if (k)
                        continue;
                if (c == 'q')
                        o.quiet = true;
                else if (c == OPT_PARALLEL) {
                        o.parallel = (int) number("push", "--parallel", optarg, 1, 16, &bad);
                        if (bad)
                                return bad;
                } else if (c == 'h') {
                        printf("usage: den push [OPTIONS] IMAGE [REGISTRY/NAME[:TAG]]\n\n"
                               "Send an image to a registry: only the blobs it lacks, then the manifest.\n"
                               "Without a destination, IMAGE's own name says where.\n\n"
                               "  --parallel N          layers uploaded at once (default 3)\n"
                               "  -q, --quiet           no progress\n%s",
                               registry_help);
                        return 0;
                } else
                        return den_bad_option("push", argv, "+qh", opts);
        }
        if (argc - optind < 1 || argc - optind > 2)
                return den_usage("push", "expects an image and maybe a destination");
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        char man[72];
        r = registry_push(&s, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &o, man, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        printf("%s\n", man);
        return 0;
}

/* a line from the terminal without echo, or from stdin */
static char *read_secret(const char *prompt)
{
        struct termios old, quiet;
        bool tty = isatty(0) && tcgetattr(0, &old) == 0;
        if (tty) {
                fprintf(stderr, "%s", prompt);
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                tcsetattr(0, TCSAFLUSH, &quiet);
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (tty) {
                tcsetattr(0, TCSAFLUSH, &old);
                fprintf(stderr, "\n");
        }
        if (n < 0) {
                free(line);
                return NULL;
        }
        line[strcspn(line, "\r\n")] = '\0';
        return line;
}

int den_cmd_login(struct den_global *g, int argc, char **argv)
{
        (void) g;
        static const struct option opts[] = { REGISTRY_OPTIONS, { "username", required_argument, NULL, 'u' },
                                               { "password", required_argument, NULL, 'p' },
                                               { "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
                                               { "help", no_argument, NULL, 'h' }, {} };
        struct reg_opts o;
        reg_opts_init(&o);
        const char *user = NULL, *pass = NULL;
        bool from_stdin = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+u:p:h", opts, NULL)) != -1) {
                int k = registry_opt("login", c, &o);
                if (k < 0)
                        return -k;
                if (k)
                        continue;
                if (c == 'u')
                        user = optarg;
                else if (c == 'p')
                        pass = optarg;
                else if (c == OPT_PASSWORD_STDIN)
                        from_stdin = true;
                else if (c == 'h') {
                        printf("usage: den login [OPTIONS] REGISTRY\n\n"
                               "Check credentials against a registry and keep them in auth.json (read by podman,\n"
                               "skopeo and buildah too).\n\n"
                               "  -u, --username USER\n  -p, --password PASS   (visible to other users: prefer --password-stdin)\n"
                               "  --password-stdin      read the password from stdin\n%s",
                               registry_help);
                        return 0;
                } else
                        return den_bad_option("login", argv, "+u:p:h", opts);
        }
        if (argc - optind != 1)
                return den_usage("login", "expects a registry host");
        _cleanup_free_ char *u = NULL, *p = NULL;
        if (!user) {
                if (from_stdin)
                        return den_usage("login", "--password-stdin needs --username");
                fprintf(stderr, "Username: ");
                u = read_secret("");
                if (!u || !*u)
                        return den_usage("login", "no user name");
                user = u;
        }
        if (!pass) {
                p = read_secret(from_stdin ? "" : "Password: ");
                if (!p)
                        return den_usage("login", "no password");
                pass = p;
        }
        const char *host = argv[optind];
        if (strncmp(host, "https://", 8) == 0)
                host += 8;
        else if (strncmp(host, "http://", 7) == 0)
                host += 7;
        _cleanup_free_ char *h = xstrdup(host);
        h[strcspn(h, "/")] = '\0';
        struct err err = { 0 };
        if (registry_login(h, user, pass, &o, &err) < 0)
                return den_fail(err.msg);
        printf("Login Succeeded\n");
        return 0;
}

int den_cmd_logout(struct den_global *g, int argc, char **argv)
{
        (void) g;
        static const struct option opts[] = { { "authfile", required_argument, NULL, OPT_AUTHFILE },
                                               { "all", no_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' }, {} };
        struct reg_opts o;
        reg_opts_init(&o);
        bool all = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
                if (c == OPT_AUTHFILE)
                        o.authfile = optarg;
                else if (c == 'a')
                        all = true;
                else if (c == 'h') {
                        printf("usage: den logout [--authfile FILE] REGISTRY | --all\n");
                        return 0;
                } else
                        return den_bad_option("logout", argv, "+ah", opts);
        }
        if (all ? argc != optind : argc - optind != 1)
                return den_usage("logout", "expects a registry host, or --all");
        struct err err = { 0 };
        if (registry_logout(all ? NULL : argv[optind], all, &o, &err) < 0)
                return den_fail(err.msg);
        printf("Removed login credentials for %s\n", all ? "all registries" : argv[optind]);
        return 0;
}

/* den inspect --remote [--raw] REF... */
int den_inspect_remote(int argc, char **argv)
{
        static const struct option opts[] = { REGISTRY_OPTIONS, { "remote", no_argument, NULL, OPT_REMOTE },
                                               { "raw", no_argument, NULL, OPT_RAW },
                                               { "platform", required_argument, NULL, OPT_PLATFORM }, {} };
        struct reg_opts o;
        reg_opts_init(&o);
        bool raw = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                int k = registry_opt("inspect", c, &o);
                if (k < 0)
                        return -k;
                if (k || c == OPT_REMOTE)
                        continue;
                if (c == OPT_RAW)
                        raw = true;
                else if (c == OPT_PLATFORM)
                        o.platform = optarg;
                else
                        return den_bad_option("inspect", argv, "+", opts);
        }
        if (optind >= argc)
                return den_usage("inspect", "--remote expects an image reference");
        json_t *arr = json_array();
        int rc = 0;
        for (int i = optind; i < argc; i++) {
                struct err err = { 0 };
                json_t *info;
                if (registry_inspect(argv[i], &o, raw, &info, &err) < 0)
                        rc = den_fail(err.msg);
                else
                        json_array_append_new(arr, info);
        }
        _cleanup_free_ char *t = json_dumps(raw && json_array_size(arr) == 1 ? json_array_get(arr, 0) : arr, JSON_INDENT(4));
        if (json_array_size(arr))
                printf("%s\n", t);
        json_decref(arr);
        return rc;
}
