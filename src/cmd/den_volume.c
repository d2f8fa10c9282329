/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den volume: create, ls, inspect, rm, prune (docker's volume commands) */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "den.h"
#include "lib/base/macro.h"
#include "lib/runtime/format.h"
#include "lib/runtime/volume.h"

static const char volume_help[] =
        "usage: den volume COMMAND\n"
        "Volumes: directories in the store that containers mount (den run -v NAME:/PATH) and that outlive them.\n\n"
        "  create [--driver local] [-o|--opt KEY=VALUE]... [--label K=V]... [NAME]\n"
        "                   a volume (a random name without NAME); options: type=tmpfs [o=size=64m],\n"
        "                   or type=none o=bind device=/HOST/DIR\n"
        "  ls [-q] [-f dangling=true|name=N|label=K[=V]]\n"
        "  inspect NAME...  as JSON\n"
        "  rm [-f] NAME...  (not one a container has; -f: a missing one is no error)\n"
        "  prune [-a] [-f]  the anonymous volumes no container has (-a: named ones too)\n";

static json_t *labels_json(char **labels)
{
        json_t *j = json_object();
        for (char **l = labels; l && *l; l++) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = xasprintf("%.*s", (int) (eq ? eq - *l : (long) strlen(*l)), *l);
                json_object_set_new(j, k, json_string(eq ? eq + 1 : ""));
        }
        return j;
}

static int vol_create(struct den_global *g, int argc, char **argv)
{
        static const struct option lo[] = { { "driver", required_argument, NULL, 'd' }, { "opt", required_argument, NULL, 'o' },
                                            { "label", required_argument, NULL, 'l' }, { "name", required_argument, NULL, 'n' },
                                            { "help", no_argument, NULL, 'h' }, {} };
        _cleanup_strv_free_ char **opts = NULL, **labels = NULL;
        struct volume_create_opts o = { 0 };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+d:o:l:h", lo, NULL)) != -1) {
                switch (c) {
                case 'd': o.driver = optarg; break;
                case 'o': strv_push(&opts, optarg); break;
                case 'l': strv_push(&labels, optarg); break;
                case 'n': o.name = optarg; break;
                case 'h': fputs(volume_help, stdout); return 0;
                default: return den_bad_option("volume create", argv, "+d:o:l:h", lo);
                }
        }
        if (optind < argc)
                o.name = argv[optind++];
        if (optind < argc)
                return den_usage("volume create", "takes one name, not '%s'", argv[optind]);
        o.opts = opts;
        o.anonymous = !o.name;
        o.labels = labels_json(labels);
        struct err err = { 0 };
        json_t *v = NULL;
        int r = volume_create(g->root, &o, &v, &err);
        json_decref(o.labels);
        if (r < 0)
                return den_fail(err.msg);
        printf("%s\n", json_string_value(json_object_get(v, "Name")));
        json_decref(v);
        return 0;
}

/* docker's filters: dangling=true|false, name=SUBSTRING, label=K[=V] */
static bool vol_match(const char *root, json_t *v, char **filters)
{
        const char *name = json_string_value(json_object_get(v, "Name"));
        for (char **f = filters; f && *f; f++) {
                const char *eq = strchr(*f, '=');
                const char *val = eq ? eq + 1 : "";
                if (strncmp(*f, "dangling=", 9) == 0) {
                        _cleanup_strv_free_ char **users = volume_users(root, name);
                        if ((users[0] == NULL) != (strcmp(val, "true") == 0 || strcmp(val, "1") == 0))
                                return false;
                } else if (strncmp(*f, "name=", 5) == 0) {
                        if (!strstr(name, val))
                                return false;
                } else if (strncmp(*f, "label=", 6) == 0) {
                        const char *veq = strchr(val, '=');
                        _cleanup_free_ char *k = xasprintf("%.*s", (int) (veq ? veq - val : (long) strlen(val)), val);
                        json_t *lv = json_object_get(json_object_get(v, "Labels"), k);
                        if (!lv || (veq && strcmp(json_string_value(lv) ?: "", veq + 1) != 0))
                                return false;
                } else if (strncmp(*f, "driver=", 7) == 0) {
                        if (strcmp(val, "local") != 0)
                                return false;
                }
        }
        return true;
}

static int vol_ls(struct den_global *g, int argc, char **argv)
{
        static const struct option lo[] = { { "quiet", no_argument, NULL, 'q' }, { "filter", required_argument, NULL, 'f' },
                                            { "help", no_argument, NULL, 'h' }, {} };
        _cleanup_strv_free_ char **filters = NULL;
        bool quiet = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+qf:h", lo, NULL)) != -1) {
                switch (c) {
                case 'q': quiet = true; break;
                case 'f':
                        if (strncmp(optarg, "dangling=", 9) && strncmp(optarg, "name=", 5) && strncmp(optarg, "label=", 6) &&
                            strncmp(optarg, "driver=", 7))
                                return den_usage("volume ls", "filter '%s': dangling=, name=, label= or driver=", optarg);
                        strv_push(&filters, optarg);
                        break;
                case 'h': fputs(volume_help, stdout); return 0;
                default: return den_bad_option("volume ls", argv, "+qf:h", lo);
                }
        }
        if (optind < argc)
                return den_usage("volume ls", "takes no arguments, not '%s'", argv[optind]);
        struct err err = { 0 };
        json_t *all = NULL;
        if (volume_list(g->root, &all, &err) < 0)
                return den_fail(err.msg);
        struct format_table t;
        format_table_init(&t, 2);
        format_table_add(&t, "DRIVER");
        format_table_add(&t, "VOLUME NAME");
        size_t i;
        json_t *v;
        json_array_foreach(all, i, v)
        {
                if (!vol_match(g->root, v, filters))
                        continue;
                const char *name = json_string_value(json_object_get(v, "Name"));
                if (quiet)
                        printf("%s\n", name);
                format_table_add(&t, "local");
                format_table_add(&t, name);
        }
        if (!quiet)
                format_table_print(&t, stdout);
        format_table_free(&t);
        json_decref(all);
        return 0;
}

static int vol_inspect(struct den_global *g, int argc, char **argv)
{
        int i = den_operands("volume inspect", argc, argv, "den volume inspect NAME...");
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (i >= argc)
                return den_usage("volume inspect", "expects a volume");
        json_t *out = json_array();
        int rc = 0;
        for (; i < argc; i++) {
                struct err err = { 0 };
                json_t *v = NULL;
                if (volume_inspect(g->root, argv[i], &v, &err) < 0) {
                        fprintf(stderr, "den: %s\n", err.msg);
                        rc = 1;
                        continue;
                }
                json_array_append_new(out, v);
        }
        _cleanup_free_ char *txt = json_dumps(out, JSON_INDENT(4));
        printf("%s\n", txt);
        json_decref(out);
        return rc;
}

static int vol_rm(struct den_global *g, int argc, char **argv)
{
        const char *v[1];
        int i = den_flags("volume rm", "den volume rm [-f] NAME...\n"
                                       "Remove volumes no container has.\n\n"
                                       "  -f, --force   a volume that is not there is no error",
                          argc, argv, (const char *const[]){ "f|force", NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (i >= argc)
                return den_usage("volume rm", "expects a volume");
        int rc = 0;
        for (; i < argc; i++) {
                struct err err = { 0 };
                if (volume_rm(g->root, argv[i], v[0] != NULL, &err) < 0) {
                        fprintf(stderr, "den: %s\n", err.msg);
                        rc = 1;
                } else
                        printf("%s\n", argv[i]);
        }
        return rc;
}

int den_volume_prune(struct den_global *g, bool all)
{
        struct err err = { 0 };
        _cleanup_strv_free_ char **gone = NULL;
        uint64_t bytes = 0;
        if (volume_prune(g->root, all, NULL, &gone, &bytes, &err) < 0)
                return den_fail(err.msg);
        if (gone[0])
                printf("Deleted Volumes:\n");
        for (char **n = gone; *n; n++)
                printf("%s\n", *n);
        char sz[32];
        format_size(bytes, sz, sizeof(sz));
        printf("%sTotal reclaimed space: %s\n", gone[0] ? "\n" : "", sz);
        return 0;
}

static int vol_prune(struct den_global *g, int argc, char **argv)
{
        const char *v[2];
        int i = den_flags("volume prune", "den volume prune [-a] [-f]\n"
                                          "Remove the anonymous volumes no container has.\n\n"
                                          "  -a, --all     named volumes too\n"
                                          "  -f, --force   (no question is asked: accepted for docker's command line)",
                          argc, argv, (const char *const[]){ "a|all", "f|force", NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (i < argc)
                return den_usage("volume prune", "takes no arguments, not '%s'", argv[i]);
        return den_volume_prune(g, v[0] != NULL);
}

int den_cmd_volume(struct den_global *g, int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*fn)(struct den_global *, int, char **);
        } sub[] = { { "create", vol_create }, { "ls", vol_ls },     { "list", vol_ls }, { "inspect", vol_inspect },
                    { "rm", vol_rm },         { "remove", vol_rm }, { "prune", vol_prune } };
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                fputs(volume_help, stdout);
                return 0;
        }
        for (size_t i = 0; argc >= 2 && i < ELEMENTSOF(sub); i++)
                if (strcmp(argv[1], sub[i].name) == 0)
                        return sub[i].fn(g, argc - 1, argv + 1);
        return den_usage("volume", "expects create, ls, inspect, rm or prune%s%s%s", argc >= 2 ? " (not '" : "",
                         argc >= 2 ? argv[1] : "", argc >= 2 ? "')" : "");
}
