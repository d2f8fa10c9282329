/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "den.h"
#include "lib/base/macro.h"
#include "lib/store/image.h"

static int want_help(int argc, char **argv, const char *usage)
{
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        printf("usage: %s\n", usage);
                        return 1;
                }
        return 0;
}

int den_cmd_import(struct den_global *g, int argc, char **argv)
{
        static const char usage[] = "den import [--max-size BYTES] ROOTFS.tar[.gz|.zst|.xz]|- NAME[:TAG]";
        static const struct option o[] = { { "max-size", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' }, {} };
        struct image_import_opts io = { 0 };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", o, NULL)) != -1) {
                if (c == 'm') {
                        char *end;
                        io.max_bytes = strtoull(optarg, &end, 10);
                        if (*end)
                                return den_usage("import", "--max-size '%s': not a number of bytes", optarg);
                } else if (c == 'h') {
                        printf("usage: %s\n", usage);
                        return 0;
                } else
                        return den_usage("import", "bad option");
        }
        if (argc - optind != 2)
                return den_usage("import", "expects a tarball (or -) and a name");
        io.source = argv[optind];
        io.name = argv[optind + 1];
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        char man[DIGEST_STR_MAX];
        r = image_import(&s, &io, man, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        printf("%s\n", man);
        return 0;
}

int den_cmd_images(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "quiet", no_argument, NULL, 'q' }, { "format", required_argument, NULL, 'f' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        bool quiet = false, json = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+qh", o, NULL)) != -1) {
                if (c == 'q')
                        quiet = true;
                else if (c == 'f' && strcmp(optarg, "json") == 0)
                        json = true;
                else if (c == 'h') {
                        printf("usage: den images [-q] [--format json]\n");
                        return 0;
                } else
                        return den_usage("images", "bad option");
        }
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        json_t *names = NULL, *out = json_array();
        if (image_names_load(&s, &names, &err) < 0) {
                store_close(&s);
                return den_fail(err.msg);
        }
        const char *k;
        json_t *v;
        if (!quiet && !json)
                printf("%-40s %-12s %-14s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "SIZE");
        json_object_foreach(names, k, v)
        {
                json_t *info = NULL;
                err_clear(&err);
                if (image_inspect(&s, json_string_value(v), &info, &err) < 0) {
                        fprintf(stderr, "den: warning: %s: %s\n", k, err.msg);
                        continue;
                }
                const char *id = json_string_value(json_object_get(info, "Id")) + 7;
                if (json)
                        json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "Name", k, "Id",
                                                             json_string_value(json_object_get(info, "Id")), "Size",
                                                             json_integer_value(json_object_get(info, "Size"))));
                else if (quiet)
                        printf("%.12s\n", id);
                else {
                        const char *colon = strrchr(k, ':');
                        printf("%-40.*s %-12s %-14.12s %lld\n", (int) (colon - k), k, colon + 1, id,
                               json_integer_value(json_object_get(info, "Size")));
                }
                json_decref(info);
        }
        if (json) {
                _cleanup_free_ char *t = json_dumps(out, JSON_INDENT(1));
                printf("%s\n", t);
        }
        json_decref(out);
        json_decref(names);
        store_close(&s);
        return 0;
}

int den_cmd_tag(struct den_global *g, int argc, char **argv)
{
        if (want_help(argc, argv, "den tag IMAGE NAME[:TAG]"))
                return 0;
        if (argc != 3)
                return den_usage("tag", "expects an image and a new name");
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        r = image_tag(&s, argv[1], argv[2], &err);
        store_close(&s);
        return r < 0 ? den_fail(err.msg) : 0;
}

int den_cmd_rmi(struct den_global *g, int argc, char **argv)
{
        if (want_help(argc, argv, "den rmi IMAGE..."))
                return 0;
        if (argc < 2)
                return den_usage("rmi", "expects an image");
        struct store s;
        int r = den_open_store(g, &s), rc = 0;
        if (r >= 0)
                return r;
        for (int i = 1; i < argc; i++) {
                struct err err = { 0 };
                if (image_untag(&s, argv[i], &err) < 0)
                        rc = den_fail(err.msg);
                else
                        printf("Untagged: %s\n", argv[i]);
        }
        store_close(&s);
        return rc;
}

int den_cmd_inspect(struct den_global *g, int argc, char **argv)
{
        if (want_help(argc, argv, "den inspect IMAGE..."))
                return 0;
        if (argc < 2)
                return den_usage("inspect", "expects an image");
        struct store s;
        int r = den_open_store(g, &s), rc = 0;
        if (r >= 0)
                return r;
        json_t *arr = json_array();
        for (int i = 1; i < argc; i++) {
                struct err err = { 0 };
                char man[DIGEST_STR_MAX];
                json_t *info;
                if (image_resolve(&s, argv[i], man, &err) < 0 || image_inspect(&s, man, &info, &err) < 0) {
                        rc = den_fail(err.msg);
                        continue;
                }
                json_array_append_new(arr, info);
        }
        _cleanup_free_ char *t = json_dumps(arr, JSON_INDENT(4));
        printf("%s\n", t);
        json_decref(arr);
        store_close(&s);
        return rc;
}
