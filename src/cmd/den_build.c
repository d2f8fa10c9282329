/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den build, den builder prune, den image history */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "den.h"
#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/build/build.h"
#include "lib/build/dockerfile.h"
#include "lib/registry/registry.h"
#include "lib/runtime/ctr.h"
#include "lib/runtime/format.h"
#include "lib/store/image.h"
#include "lib/store/transfer.h"

static const char build_usage[] =
        "den build [-t NAME]... [-f FILE|-] [--build-arg K[=V]]... [--target STAGE] [--no-cache] [--pull]\n"
        "          [--secret id=ID[,src=PATH|,env=VAR]]... [--ssh default[=SOCKET]] [--network none|host|private]\n"
        "          [--label K=V]... [--iidfile FILE] [-q] [--progress auto|plain|tty]\n"
        "          [--output type=image|oci|docker|tar|local,dest=PATH] [--platform linux/ARCH] [--source-date-epoch N]\n"
        "          CONTEXT|-|GIT-URL[#REF[:DIR]]";

static int fetch(void *ud, const char *ref, struct err *err)
{
        return registry_pull_root(((struct den_global *) ud)->root, ref, err);
}

/* CONTEXT "-": a tar (extracted into dir, safely) or a bare Dockerfile (*ret_df) */
/* an archive entry's name under dir: NULL when it is absolute or climbs with ".." */
static char *entry_under(const char *dir, const char *name)
{
        if (!name || name[0] == '/')
                return NULL;
        _cleanup_free_ char *copy = xstrdup(name);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (strcmp(c, "..") == 0)
                        return NULL;
        return xasprintf("%s/%s", dir, name);
}

#define EXTRACT_FLAGS                                                                                  \
        (ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_PERM |        \
         ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_UNLINK)

/* every entry of a (opened) into dir, a canonical path (no symlink in it) */
static int extract_all(struct archive *a, const char *dir, struct err *err)
{
        struct archive *w = DL(LIBARCHIVE, archive_write_disk_new)();
        DL(LIBARCHIVE, archive_write_disk_set_options)(w, EXTRACT_FLAGS);
        struct archive_entry *e;
        int k, r = 0;
        while ((k = DL(LIBARCHIVE, archive_read_next_header)(a, &e)) == ARCHIVE_OK) {
                /* device nodes cannot be made without privilege: left out, as rootless docker does */
                if (DL(LIBARCHIVE, archive_entry_filetype)(e) == AE_IFCHR || DL(LIBARCHIVE, archive_entry_filetype)(e) == AE_IFBLK)
                        continue;
                const char *name = DL(LIBARCHIVE, archive_entry_pathname)(e);
                _cleanup_free_ char *path = entry_under(dir, name);
                const char *hl = DL(LIBARCHIVE, archive_entry_hardlink)(e);
                _cleanup_free_ char *hpath = hl ? entry_under(dir, hl) : NULL;
                if (!path || (hl && !hpath)) {
                        r = err_set(err, -EINVAL, "entry '%s' is outside the archive's root", name ? name : "");
                        break;
                }
                DL(LIBARCHIVE, archive_entry_set_pathname)(e, path);
                if (hpath)
                        DL(LIBARCHIVE, archive_entry_set_hardlink)(e, hpath);
                if (DL(LIBARCHIVE, archive_write_header)(w, e) != ARCHIVE_OK) {
                        r = err_set(err, -EIO, "%s: %s", name, DL(LIBARCHIVE, archive_error_string)(w));
                        break;
                }
                const void *buf;
                size_t n;
                int64_t off;
                while (DL(LIBARCHIVE, archive_read_data_block)(a, &buf, &n, &off) == ARCHIVE_OK)
                        if (DL(LIBARCHIVE, archive_write_data_block)(w, buf, n, off) != ARCHIVE_OK)
                                break;
                DL(LIBARCHIVE, archive_write_finish_entry)(w);
        }
        if (r == 0 && k != ARCHIVE_EOF)
                r = err_set(err, -EIO, "%s", DL(LIBARCHIVE, archive_error_string)(a));
        DL(LIBARCHIVE, archive_write_free)(w);
        return r;
}

static int stdin_context(const char *dir, char **ret_df, size_t *ret_len, struct err *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        if (fs_read_fd(0, 1u << 30, &data, &len) < 0)
                return err_sys(err, -errno, "cannot read the context from stdin");
        struct archive *a = DL(LIBARCHIVE, archive_read_new)();
        DL(LIBARCHIVE, archive_read_support_filter_all)(a);
        DL(LIBARCHIVE, archive_read_support_format_tar)(a);
        struct archive_entry *e;
        if (DL(LIBARCHIVE, archive_read_open_memory)(a, data, len) != ARCHIVE_OK || DL(LIBARCHIVE, archive_read_next_header)(a, &e) != ARCHIVE_OK) {
                DL(LIBARCHIVE, archive_read_free)(a);
                *ret_df = TAKE_PTR(data);
                *ret_len = len;
                return 0;
        }
        /* the first header is read: open again for extract_all */
        DL(LIBARCHIVE, archive_read_free)(a);
        a = DL(LIBARCHIVE, archive_read_new)();
        DL(LIBARCHIVE, archive_read_support_filter_all)(a);
        DL(LIBARCHIVE, archive_read_support_format_tar)(a);
        int r = DL(LIBARCHIVE, archive_read_open_memory)(a, data, len) == ARCHIVE_OK ? extract_all(a, dir, err)
                                                                               : err_set(err, -EIO, "the context tar");
        DL(LIBARCHIVE, archive_read_free)(a);
        if (r < 0)
                err_wrap(err, "the context tar on stdin");
        *ret_df = NULL;
        return r;
}

struct extract {
        int fd;
        const char *dir;
        struct err err;
};

/* a tar from a pipe into a directory: no absolute names, no "..", nothing through a symlink */
static void *extract_thread(void *p)
{
        struct extract *x = p;
        struct archive *a = DL(LIBARCHIVE, archive_read_new)();
        DL(LIBARCHIVE, archive_read_support_format_tar)(a);
        if (DL(LIBARCHIVE, archive_read_open_fd)(a, x->fd, 1 << 16) != ARCHIVE_OK)
                err_set(&x->err, -EIO, "%s", DL(LIBARCHIVE, archive_error_string)(a));
        else
                extract_all(a, x->dir, &x->err);
        /* drain, so the writer never blocks on a full pipe */
        char drain[4096];
        while (read(x->fd, drain, sizeof(drain)) > 0)
                ;
        DL(LIBARCHIVE, archive_read_free)(a);
        return NULL;
}

/* a container of the image's root, for den export; made before any pipe is,
 * so that no process it starts holds one of our pipe ends */
static int export_ctr(struct den_global *g, const char *manifest, char **ret_id, struct err *err)
{
        struct engine_run_opts eo = { .root = g->root, .runroot = g->runroot, .image = manifest, .network = "none",
                                      .session = true, .quiet = true };
        return ctr_make(&eo, ret_id, err);
}

static void export_done(struct den_global *g, const char *id)
{
        struct err e2 = { 0 };
        ctr_remove(g->root, g->runroot, id, &e2);
}

static bool is_git_context(const char *c)
{
        size_t n = strlen(c);
        const char *hash = strchr(c, '#');
        size_t un = hash ? (size_t) (hash - c) : n;
        return strncmp(c, "git://", 6) == 0 || strncmp(c, "git@", 4) == 0 ||
               ((strncmp(c, "https://", 8) == 0 || strncmp(c, "http://", 7) == 0 || strncmp(c, "file://", 7) == 0) &&
                (un > 4 && strncmp(c + un - 4, ".git", 4) == 0));
}

/* CONTEXT a git URL[#REF[:DIR]]: cloned (git, depth 1) into dir; *ret_sub: DIR or NULL */
static int git_context(const char *url, const char *dir, char **ret_sub, struct err *err)
{
        _cleanup_free_ char *u = xstrdup(url);
        char *frag = strchr(u, '#'), *ref = NULL, *sub = NULL;
        if (frag) {
                *frag++ = '\0';
                ref = frag;
                char *colon = strchr(frag, ':');
                if (colon) {
                        *colon = '\0';
                        sub = colon + 1;
                }
                if (ref && !*ref)
                        ref = NULL;
        }
        if (sub && (sub[0] == '/' || strstr(sub, "..")))
                return err_set(err, -EINVAL, "CONTEXT '%s': the directory after ':' must stay inside the repository", url);
        char *argv[16];
        int k = 0;
        argv[k++] = "git";
        argv[k++] = "clone";
        argv[k++] = "--quiet";
        argv[k++] = "--depth=1";
        argv[k++] = "--recurse-submodules";
        if (ref) {
                argv[k++] = "--branch";
                argv[k++] = ref;
        }
        argv[k++] = "--";
        argv[k++] = u;
        argv[k++] = (char *) dir;
        argv[k] = NULL;
        pid_t pid;
        extern char **environ;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        int r = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return err_set(err, -r, "CONTEXT '%s': cannot run git (apt-get install git): %s", url, strerror(r));
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return err_set(err, -EIO, "CONTEXT '%s': git clone failed (its message is above)", url);
        *ret_sub = sub && *sub ? xstrdup(sub) : NULL;
        return 0;
}

static int write_output(struct den_global *g, const char *spec, const char *manifest, struct err *err)
{
        _cleanup_free_ char *copy = xstrdup(spec), *type = NULL, *dest = NULL;
        char *save = NULL;
        for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
                if (strncmp(f, "type=", 5) == 0)
                        type = xstrdup(f + 5);
                else if (strncmp(f, "dest=", 5) == 0)
                        dest = xstrdup(f + 5);
                else
                        return err_set(err, -EINVAL, "--output '%s': type=image|oci|docker|tar and dest=PATH", spec);
        }
        if (!type)
                type = xstrdup("local");
        if (strcmp(type, "image") == 0)
                return 0;
        if (!dest)
                return err_set(err, -EINVAL, "--output type=%s needs dest=PATH", type);
        enum image_format f;
        if (strcmp(type, "oci") == 0)
                f = FORMAT_OCI_ARCHIVE;
        else if (strcmp(type, "docker") == 0)
                f = FORMAT_DOCKER_ARCHIVE;
        else if (strcmp(type, "tar") == 0) {
                _cleanup_close_ int fd = strcmp(dest, "-") == 0 ? dup(1) : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0)
                        return err_sys(err, -errno, "--output: cannot write %s", dest);
                _cleanup_free_ char *id = NULL;
                int r = export_ctr(g, manifest, &id, err);
                if (r < 0)
                        return r;
                r = engine_export(g->root, g->runroot, id, fd, err);
                export_done(g, id);
                return r;
        } else if (strcmp(type, "local") == 0) {
                if (mkdir(dest, 0755) < 0 && errno != EEXIST)
                        return err_sys(err, -errno, "--output: cannot make the directory %s", dest);
                _cleanup_free_ char *real = realpath(dest, NULL), *id = NULL;
                if (!real)
                        return err_sys(err, -errno, "--output: %s", dest);
                int r = export_ctr(g, manifest, &id, err);
                if (r < 0)
                        return r;
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0) {
                        export_done(g, id);
                        return err_sys(err, -errno, "pipe");
                }
                struct extract x = { .fd = p[0], .dir = real };
                pthread_t th;
                pthread_create(&th, NULL, extract_thread, &x);
                r = engine_export(g->root, g->runroot, id, p[1], err);
                close(p[1]);
                pthread_join(th, NULL);
                close(p[0]);
                export_done(g, id);
                if (r >= 0 && x.err.code)
                        r = err_set(err, x.err.code, "--output: %s", x.err.msg);
                return r;
        } else
                return err_set(err, -EINVAL, "--output type=%s: image, oci, docker, tar or local", type);
        struct store s;
        int r = store_open(g->root, &s, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = strcmp(dest, "-") == 0 ? dup(1) : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                r = err_sys(err, -errno, "--output: cannot write %s", dest);
        else
                r = image_save(&s, manifest, f, fd, NULL, err);
        store_close(&s);
        return r;
}

int den_cmd_build(struct den_global *g, int argc, char **argv)
{
        enum { O_BUILD_ARG = 256, O_TARGET, O_NO_CACHE, O_PULL, O_SECRET, O_SSH, O_NETWORK, O_LABEL, O_IIDFILE,
               O_PROGRESS, O_OUTPUT, O_PLATFORM, O_EPOCH, O_IGNORED };
        static const struct option lo[] = {
                { "tag", required_argument, NULL, 't' },           { "file", required_argument, NULL, 'f' },
                { "build-arg", required_argument, NULL, O_BUILD_ARG }, { "target", required_argument, NULL, O_TARGET },
                { "no-cache", no_argument, NULL, O_NO_CACHE },     { "pull", optional_argument, NULL, O_PULL },
                { "secret", required_argument, NULL, O_SECRET },   { "ssh", required_argument, NULL, O_SSH },
                { "network", required_argument, NULL, O_NETWORK }, { "label", required_argument, NULL, O_LABEL },
                { "iidfile", required_argument, NULL, O_IIDFILE }, { "quiet", no_argument, NULL, 'q' },
                { "progress", required_argument, NULL, O_PROGRESS }, { "output", required_argument, NULL, 'o' },
                { "platform", required_argument, NULL, O_PLATFORM }, { "source-date-epoch", required_argument, NULL, O_EPOCH },
                { "rm", no_argument, NULL, O_IGNORED },            { "force-rm", no_argument, NULL, O_IGNORED },
                { "help", no_argument, NULL, 'h' },                {},
        };
        _cleanup_strv_free_ char **tags = xcalloc(1, sizeof(char *)), **bargs = xcalloc(1, sizeof(char *)),
                                 **labels = xcalloc(1, sizeof(char *)), **secrets = xcalloc(1, sizeof(char *));
        const char *file = NULL, *iidfile = NULL, *output = NULL, *progress = "auto";
        struct build_opts o = { .root = g->root, .runroot = g->runroot, .epoch = -1, .progress_fd = 2,
                                .dockerfile_dir_fd = -1 };
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+t:f:qo:h", lo, NULL)) != -1) {
                switch (c) {
                case 't':
                        strv_push(&tags, optarg);
                        break;
                case 'f':
                        file = optarg;
                        break;
                case O_BUILD_ARG:
                        strv_push(&bargs, optarg);
                        break;
                case O_TARGET:
                        o.target = optarg;
                        break;
                case O_NO_CACHE:
                        o.no_cache = true;
                        break;
                case O_PULL:
                        if (optarg && strcmp(optarg, "always") && strcmp(optarg, "true") && strcmp(optarg, "missing") &&
                            strcmp(optarg, "never") && strcmp(optarg, "false"))
                                return den_usage("build", "--pull=%s: always, missing or never", optarg);
                        o.pull = !optarg || strcmp(optarg, "always") == 0 || strcmp(optarg, "true") == 0;
                        break;
                case O_SECRET:
                        strv_push(&secrets, optarg);
                        break;
                case O_SSH:
                        if (strncmp(optarg, "default", 7) != 0 || (optarg[7] && optarg[7] != '='))
                                return den_usage("build", "--ssh '%s': default or default=SOCKET", optarg);
                        o.ssh = optarg[7] ? optarg + 8 : getenv("SSH_AUTH_SOCK");
                        if (!o.ssh)
                                return den_usage("build", "--ssh default: SSH_AUTH_SOCK is not set");
                        break;
                case O_NETWORK:
                        if (strcmp(optarg, "none") && strcmp(optarg, "host") && strcmp(optarg, "private") &&
                            strcmp(optarg, "default"))
                                return den_usage("build", "--network '%s': none, host or private", optarg);
                        o.network = strcmp(optarg, "default") == 0 ? "private" : optarg;
                        break;
                case O_LABEL:
                        strv_push(&labels, optarg);
                        break;
                case O_IIDFILE:
                        iidfile = optarg;
                        break;
                case 'q':
                        o.quiet = true;
                        break;
                case O_PROGRESS:
                        if (strcmp(optarg, "auto") && strcmp(optarg, "plain") && strcmp(optarg, "tty") && strcmp(optarg, "quiet"))
                                return den_usage("build", "--progress '%s': auto, plain or tty", optarg);
                        o.quiet |= strcmp(optarg, "quiet") == 0;
                        progress = optarg;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case O_PLATFORM:
                        o.platform = optarg;
                        break;
                case O_EPOCH:
                        sde = optarg;
                        break;
                case O_IGNORED:
                        break;
                case 'h':
                        printf("usage: %s\n", build_usage);
                        return 0;
                default:
                        return den_bad_option("build", argv, "+t:f:qo:h", lo);
                }
        }
        o.live = strcmp(progress, "tty") == 0 || (strcmp(progress, "auto") == 0 && isatty(2));
        if (sde && *sde) {
                char *end;
                long long v = strtoll(sde, &end, 10);
                if (*end || v < 0)
                        return den_usage("build", "--source-date-epoch '%s': seconds since 1970", sde);
                o.epoch = v;
        }
        if (argc - optind != 1)
                return den_usage("build", "expects one CONTEXT (a directory, or - for a tar or a Dockerfile on stdin)");
        const char *ctx = argv[optind];
        bool git = is_git_context(ctx);
        if (!git && strstr(ctx, "://"))
                return den_usage("build", "CONTEXT '%s': a directory, -, or a git repository URL (ending in .git[#REF[:DIR]])", ctx);
        o.tags = tags;
        o.build_args = bargs;
        o.labels = labels;
        o.secrets = secrets;
        o.fetch = fetch;
        o.fetch_userdata = g;
        struct err err = { 0 };
        _cleanup_free_ char *df = NULL, *tmpctx = NULL, *dfname = NULL, *gitctx = NULL;
        size_t dflen = 0;
        int r = 0;
        if (strcmp(ctx, "-") == 0) {
                if (file && strcmp(file, "-") == 0)
                        return den_usage("build", "the context and the Dockerfile cannot both come from stdin");
                char tmpl[] = "/tmp/den-build-ctx.XXXXXX";
                if (!mkdtemp(tmpl))
                        return den_fail("cannot make a temporary directory for the context");
                tmpctx = xstrdup(tmpl);
                if ((r = stdin_context(tmpctx, &df, &dflen, &err)) < 0)
                        goto out;
                ctx = tmpctx;
        }
        if (git) {
                char tmpl[] = "/tmp/den-build-git.XXXXXX";
                if (!mkdtemp(tmpl))
                        return den_fail("cannot make a temporary directory for the context");
                tmpctx = xstrdup(tmpl);
                _cleanup_free_ char *clone = xasprintf("%s/repo", tmpctx), *sub = NULL;
                if ((r = git_context(ctx, clone, &sub, &err)) < 0)
                        goto out;
                free(gitctx);
                gitctx = sub ? xasprintf("%s/%s", clone, sub) : TAKE_PTR(clone);
                ctx = gitctx;
        }
        o.context_fd = open(ctx, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (o.context_fd < 0) {
                r = err_sys(&err, -errno, "the build context '%s'", ctx);
                goto out;
        }
        if (!df) {
                if (file && strcmp(file, "-") == 0) {
                        if (fs_read_fd(0, DF_MAX_SIZE, &df, &dflen) < 0) {
                                r = err_sys(&err, -errno, "cannot read the Dockerfile from stdin");
                                goto out;
                        }
                        dfname = xstrdup("Dockerfile");
                } else {
                        _cleanup_free_ char *path = file ? xstrdup(file) : xasprintf("%s/Dockerfile", ctx);
                        struct stat sb;
                        if (!file && stat(path, &sb) < 0) {
                                _cleanup_free_ char *alt = xasprintf("%s/dockerfile", ctx);
                                if (stat(alt, &sb) == 0) {
                                        free(path);
                                        path = TAKE_PTR(alt);
                                }
                        }
                        if (fs_read_file(path, DF_MAX_SIZE, &df, &dflen) < 0) {
                                r = err_sys(&err, -errno, "cannot read the Dockerfile %s", path);
                                goto out;
                        }
                        const char *slash = strrchr(path, '/');
                        dfname = xstrdup(slash ? slash + 1 : path);
                        _cleanup_free_ char *dir = slash ? strndup(path, (size_t) (slash - path) + 1) : xstrdup(".");
                        o.dockerfile_dir_fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                }
        } else {
                dfname = xstrdup("Dockerfile");
        }
        o.dockerfile = df;
        o.dockerfile_len = dflen;
        o.dockerfile_name = dfname;
        char id[DIGEST_STR_MAX], man[DIGEST_STR_MAX];
        if ((r = build_run(&o, id, man, &err)) < 0)
                goto out;
        if (output && (r = write_output(g, output, man, &err)) < 0)
                goto out;
        if (iidfile) {
                _cleanup_close_ int fd = open(iidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || fs_write_all(fd, id, strlen(id)) < 0) {
                        r = err_sys(&err, -errno, "--iidfile: cannot write %s", iidfile);
                        goto out;
                }
        }
        if (!o.quiet)
                for (char **t = tags; *t; t++)
                        fprintf(stderr, "Successfully tagged %s\n", *t);
        printf("%s\n", o.quiet ? id : id + 7);
out:
        if (o.context_fd > 0)
                close(o.context_fd);
        if (o.dockerfile_dir_fd >= 0)
                close(o.dockerfile_dir_fd);
        if (tmpctx)
                fs_rm_rf(tmpctx);
        if (r < 0)
                return den_fail(err.msg);
        return 0;
}

int den_cmd_builder(struct den_global *g, int argc, char **argv)
{
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                printf("usage: den builder prune [-a|--all] [-f|--force]\n");
                return 0;
        }
        if (argc < 2 || strcmp(argv[1], "prune") != 0)
                return den_usage("builder", "expects 'prune'");
        for (int i = 2; i < argc; i++)
                if (strcmp(argv[i], "-a") && strcmp(argv[i], "--all") && strcmp(argv[i], "-f") && strcmp(argv[i], "--force"))
                        return den_usage("builder", "prune: unknown option '%s'", argv[i]);
        struct err err = { 0 };
        uint64_t n = 0;
        if (build_cache_prune(g->root, &n, &err) < 0)
                return den_fail(err.msg);
        printf("removed %llu cached build steps\n", (unsigned long long) n);
        return 0;
}

int den_image_history(struct den_global *g, int argc, char **argv)
{
        static const char usage[] = "den image history [--no-trunc] [-q] IMAGE";
        static const char *const flags[] = { "n|no-trunc", "q|quiet", NULL };
        const char *vals[DEN_MAX_FLAGS];
        int i = den_flags("image history", usage, argc, argv, flags, vals);
        if (i <= 0)
                return i == 0 ? 0 : 2;
        if (argc - i != 1)
                return den_usage("image history", "expects one IMAGE");
        bool notrunc = vals[0] != NULL, quiet = vals[1] != NULL;
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        char man[DIGEST_STR_MAX];
        json_t *info = NULL;
        if (image_resolve(&s, argv[i], man, &err) < 0 || image_inspect(&s, man, &info, &err) < 0) {
                store_close(&s);
                return den_fail(err.msg);
        }
        store_close(&s);
        json_t *hist = json_object_get(json_object_get(info, "Config"), "history");
        json_t *layers = json_object_get(json_object_get(info, "Manifest"), "layers");
        const char *id = json_string_value(json_object_get(info, "Id"));
        /* newest first, as docker prints it; the layer of each non-empty step in order */
        size_t n = json_array_size(hist), li = 0, nonempty = 0;
        for (size_t k = 0; k < n; k++)
                nonempty += !json_is_true(json_object_get(json_array_get(hist, k), "empty_layer"));
        li = nonempty;
        struct format_table tab;
        format_table_init(&tab, 5);
        if (!quiet)
                for (const char *const *h = (const char *const[]){ "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT", NULL }; *h; h++)
                        format_table_add(&tab, *h);
        time_t now = time(NULL);
        for (size_t k = n; k-- > 0;) {
                json_t *h = json_array_get(hist, k);
                bool empty = json_is_true(json_object_get(h, "empty_layer"));
                uint64_t size = 0;
                if (!empty && li > 0) {
                        li--;
                        size = (uint64_t) json_integer_value(json_object_get(json_array_get(layers, li), "size"));
                }
                const char *img = k == n - 1 && id ? id + 7 : "<missing>";
                if (quiet) {
                        printf("%.*s\n", notrunc ? 64 : 12, img);
                        continue;
                }
                char idb[72], when[64] = "", sz[32];
                snprintf(idb, sizeof(idb), "%.*s", notrunc || img[0] == '<' ? 64 : 12, img);
                time_t t = format_parse_time(json_string_value(json_object_get(h, "created")) ?: "");
                if (t >= 0) {
                        format_duration(now > t ? now - t : 0, when, sizeof(when));
                        strncat(when, " ago", sizeof(when) - strlen(when) - 1);
                }
                format_size(size, sz, sizeof(sz));
                const char *by = json_string_value(json_object_get(h, "created_by")) ?: "";
                _cleanup_free_ char *byt = notrunc ? xstrdup(by) : format_trunc(by, 45);
                format_table_add(&tab, idb);
                format_table_add(&tab, when);
                format_table_add(&tab, byt);
                format_table_add(&tab, sz);
                format_table_add(&tab, json_string_value(json_object_get(h, "comment")));
        }
        if (!quiet)
                format_table_print(&tab, stdout);
        format_table_free(&tab);
        json_decref(info);
        return 0;
}
