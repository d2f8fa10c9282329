/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "den.h"
#include "lib/base/macro.h"
#include "lib/store/image.h"
#include "lib/store/transfer.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/format.h"
#include <fcntl.h>
#include <unistd.h>

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
                        return den_bad_option("import", argv, "+h", o);
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
        json_t *info = NULL;
        r = image_import(&s, &io, man, &err);
        if (r >= 0)
                r = image_inspect(&s, man, &info, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        /* the image id, as docker import prints it and den images shows it: the config's digest */
        printf("%s\n", json_string_value(json_object_get(info, "Id")));
        json_decref(info);
        return 0;
}

/* one line of den images, as docker's: the config digest's first 12 hex as IMAGE ID,
 * the size in decimal units */
static void images_row(struct format_table *t, const char *name, const char *id, json_t *info)
{
        const char *colon = strrchr(name, ':');
        _cleanup_free_ char *repo = xasprintf("%.*s", (int) (colon - name), name);
        char short_id[13], size[32], ago[48] = "";
        snprintf(short_id, sizeof(short_id), "%s", id);
        format_size((uint64_t) json_integer_value(json_object_get(info, "Size")), size, sizeof(size));
        time_t created = format_parse_time(json_string_value(json_object_get(json_object_get(info, "Config"), "created")));
        if (created >= 0) {
                format_duration(time(NULL) - created, ago, sizeof(ago));
                strncat(ago, " ago", sizeof(ago) - strlen(ago) - 1);
        }
        const char *cells[] = { repo, colon + 1, short_id, created >= 0 ? ago : "N/A", size };
        for (size_t c = 0; c < ELEMENTSOF(cells); c++)
                format_table_add(t, cells[c]);
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
                        return den_bad_option("images", argv, "+qh", o);
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
        struct format_table t;
        format_table_init(&t, 5);
        static const char *const heads[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
        for (size_t h = 0; h < ELEMENTSOF(heads); h++)
                format_table_add(&t, heads[h]);
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
                else
                        images_row(&t, k, id, info);
                json_decref(info);
        }
        if (json) {
                _cleanup_free_ char *txt = json_dumps(out, JSON_INDENT(1));
                printf("%s\n", txt);
        } else if (!quiet)
                format_table_print(&t, stdout);
        format_table_free(&t);
        json_decref(out);
        json_decref(names);
        store_close(&s);
        return 0;
}

int den_cmd_tag(struct den_global *g, int argc, char **argv)
{
        int i = den_operands("tag", argc, argv, "den tag IMAGE NAME[:TAG]");
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (argc - i != 2)
                return den_usage("tag", "expects an image and a new name");
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        r = image_tag(&s, argv[i], argv[i + 1], &err);
        store_close(&s);
        return r < 0 ? den_fail(err.msg) : 0;
}

int den_cmd_rmi(struct den_global *g, int argc, char **argv)
{
        int i = den_operands("rmi", argc, argv, "den rmi IMAGE...");
        if (i <= 0)
                return i < 0 ? 2 : 0;
        if (i >= argc)
                return den_usage("rmi", "expects an image");
        struct store s;
        int r = den_open_store(g, &s), rc = 0;
        if (r >= 0)
                return r;
        for (; i < argc; i++) {
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
        for (int k = 1; k < argc && strcmp(argv[k], "--"); k++)
                if (strcmp(argv[k], "--remote") == 0)
                        return den_inspect_remote(argc, argv);
        const char *v[1];
        int i = den_flags("inspect", "den inspect [-f TEMPLATE] IMAGE|CONTAINER...\n"
                                     "       den inspect --remote [--raw] [--platform P] [--tls-verify=false] [--creds U:P] REF...\n\n"
                                     "  -f, --format TEMPLATE   each one through TEMPLATE, as docker's: {{.Id}}, {{.State.Status}},\n"
                                     "                          {{json .Config}} (fields and json only)",
                          argc, argv, (const char *const[]){ "f:|format", NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        const char *tmpl = v[0];
        if (i >= argc)
                return den_usage("inspect", "expects an image");
        struct store s;
        int r = den_open_store(g, &s), rc = 0;
        if (r >= 0)
                return r;
        json_t *arr = json_array();
        for (; i < argc; i++) {
                struct err err = { 0 };
                char man[DIGEST_STR_MAX];
                json_t *info;
                if (image_resolve(&s, argv[i], man, &err) < 0 || image_inspect(&s, man, &info, &err) < 0) {
                        /* not an image: a container? */
                        struct err e2 = { 0 };
                        if (engine_inspect(g->root, g->runroot, argv[i], &info, &e2) < 0) {
                                char m[700];
                                snprintf(m, sizeof(m), "%s, and no container '%s' either", err.msg, argv[i]);
                                rc = den_fail(err.code == -ENOENT && e2.code != -ENOENT ? e2.msg
                                              : err.code == -ENOENT ? m : err.msg);
                                continue;
                        }
                }
                if (tmpl) {
                        _cleanup_free_ char *line = NULL;
                        struct err e3 = { 0 };
                        if (format_template(tmpl, info, &line, &e3) < 0) {
                                json_decref(info);
                                rc = den_fail(e3.msg);
                                break;
                        }
                        printf("%s\n", line);
                }
                json_array_append_new(arr, info);
        }
        _cleanup_free_ char *t = json_dumps(arr, JSON_INDENT(4));
        if (!tmpl)
                printf("%s\n", t);
        json_decref(arr);
        store_close(&s);
        return rc;
}

/* -o FILE, or stdout when it is not a terminal */
static int output_fd(const char *out, const char *cmd, struct err *err)
{
        if (!out) {
                if (isatty(1))
                        return err_set(err, -EINVAL, "%s: refusing to write an archive to a terminal: give -o FILE", cmd);
                return dup(1);
        }
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        return fd < 0 ? err_sys(err, -errno, "%s: cannot create '%s'", cmd, out) : fd;
}

int den_cmd_save(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "output", required_argument, NULL, 'o' }, { "format", required_argument, NULL, 'f' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        const char *out = NULL;
        enum image_format f = FORMAT_DOCKER_ARCHIVE;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+o:h", o, NULL)) != -1) {
                if (c == 'o')
                        out = optarg;
                else if (c == 'f') {
                        if (image_format_parse(optarg, &f) < 0)
                                return den_usage("save", "--format '%s': docker-archive, oci-archive or oci-dir", optarg);
                } else if (c == 'h') {
                        printf("usage: den save [-o FILE|DIR] [--format docker-archive|oci-archive|oci-dir] IMAGE\n");
                        return 0;
                } else
                        return den_bad_option("save", argv, "+o:h", o);
        }
        if (argc - optind != 1)
                return den_usage("save", "expects one image");
        if (f == FORMAT_OCI_DIR && !out)
                return den_usage("save", "--format oci-dir needs -o DIR");
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        int fd = f == FORMAT_OCI_DIR ? -1 : output_fd(out, "save", &err);
        if (f != FORMAT_OCI_DIR && fd < 0) {
                store_close(&s);
                return den_fail(err.msg);
        }
        r = image_save(&s, argv[optind], f, fd, out, &err);
        if (fd >= 0)
                close(fd);
        store_close(&s);
        if (r < 0) {
                if (out && f != FORMAT_OCI_DIR)
                        unlink(out);
                return den_fail(err.msg);
        }
        return 0;
}

int den_cmd_load(struct den_global *g, int argc, char **argv)
{
        static const struct option o[] = { { "input", required_argument, NULL, 'i' }, { "quiet", no_argument, NULL, 'q' },
                                           { "help", no_argument, NULL, 'h' }, {} };
        const char *in = "-";
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+i:qh", o, NULL)) != -1) {
                if (c == 'i')
                        in = optarg;
                else if (c == 'q')
                        ;
                else if (c == 'h') {
                        printf("usage: den load [-q] [-i FILE|DIR]\n"
                               "Load images from an OCI layout, an oci-archive or a docker-archive (stdin without -i).\n\n"
                               "  -i, --input FILE|DIR  read it from there\n"
                               "  -q, --quiet           accepted, as docker's (den load prints nothing more)\n");
                        return 0;
                } else
                        return den_bad_option("load", argv, "+i:qh", o);
        }
        if (optind != argc)
                return den_usage("load", "takes no arguments (use -i)");
        if (strcmp(in, "-") == 0 && isatty(0))
                return den_usage("load", "give -i FILE, or an archive on stdin");
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        r = image_load(&s, in, &err);
        store_close(&s);
        return r < 0 ? den_fail(err.msg) : 0;
}

int den_cmd_export(struct den_global *g, int argc, char **argv)
{
        const char *v[2];
        int i = den_flags("export", "den export [-o FILE] CONTAINER\n"
                                    "The container's root filesystem as a tar, on stdout when it is not a terminal.\n\n"
                                    "  -o, --output FILE   write it there",
                          argc, argv, (const char *const[]){ "o:|output", NULL }, v);
        if (i <= 0)
                return i < 0 ? 2 : 0;
        const char *out = v[0];
        if (argc - i != 1)
                return den_usage("export", "expects one container");
        struct err err = { 0 };
        int fd = output_fd(out, "export", &err);
        if (fd < 0)
                return den_fail(err.msg);
        int r = engine_export(g->root, g->runroot, argv[i], fd, &err);
        close(fd);
        if (r < 0 && out)
                unlink(out);
        return r < 0 ? den_fail(err.msg) : 0;
}
