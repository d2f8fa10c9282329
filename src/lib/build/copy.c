/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "internal_copy.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/digest.h"
#include "lib/store/layer.h"
#include "lib/store/tarw.h"


static const char *op(const struct build_copy *c)
{
        return c->add ? "ADD" : "COPY";
}

/* ---- the entries of the layer, collected, then written sorted ---- */

static int centry_cmp(const void *a, const void *b)
{
        const struct centry *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        /* of one name, the one added last first: it wins */
        return c ? c : (x->seq < y->seq) - (x->seq > y->seq);
}

struct centry *copy_push(struct copy_job *j, const char *name, mode_t mode, time_t mtime)
{
        if (j->n % 256 == 0)
                j->e = xrealloc(j->e, (j->n + 256) * sizeof(*j->e));
        struct centry *e = &j->e[j->n];
        *e = (struct centry){ .name = xstrdup(name), .seq = j->seq++, .data = DATA_NONE };
        e->st.st_mode = mode;
        e->st.st_uid = j->uid;
        e->st.st_gid = j->gid;
        e->st.st_mtime = mtime;
        j->n++;
        return e;
}

static void centry_free(struct centry *e)
{
        free(e->name);
        free(e->link);
        free(e->src);
}

/* sorted by name, one entry a name (the last added) */
static void entries_settle(struct copy_job *j)
{
        if (j->n)
                qsort(j->e, j->n, sizeof(*j->e), centry_cmp);
        size_t k = 0;
        for (size_t i = 0; i < j->n; i++) {
                if (k > 0 && strcmp(j->e[k - 1].name, j->e[i].name) == 0) {
                        centry_free(&j->e[i]);
                        continue;
                }
                j->e[k++] = j->e[i];
        }
        j->n = k;
}

static bool have_name(const struct copy_job *j, size_t n, const char *name)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(j->e[mid].name, name);
                if (c == 0)
                        return true;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

/* A directory the copy needs but does not copy itself: with its attributes
 * from the stage's root when it is a directory there (so the layer does not
 * change them), else as docker makes it (0755, the --chown ids). */
static void push_dir(struct copy_job *j, const char *name)
{
        struct stat st;
        struct err e = { 0 };
        bool in_base = j->c->base && view_stat(j->c->base, name, false, &st, &e) == 0 && S_ISDIR(st.st_mode);
        struct centry *ce = copy_push(j, name, S_IFDIR | 0755, j->now);
        if (in_base) {
                ce->st.st_mode = S_IFDIR | (st.st_mode & 07777);
                ce->st.st_uid = st.st_uid;
                ce->st.st_gid = st.st_gid;
                ce->st.st_mtime = st.st_mtime;
        }
}

/* every parent directory of an entry goes into the layer too: overlayfs
 * would show the layer's own otherwise (unpack makes missing ones 0755 root) */
static void add_parents(struct copy_job *j)
{
        entries_settle(j);
        size_t n0 = j->n;
        /* entries are sorted: the previous entry's new parents are mostly this one's */
        _cleanup_strv_free_ char **prev = NULL;
        for (size_t i = 0; i < n0; i++) {
                _cleanup_free_ char *p = xstrdup(j->e[i].name);
                _cleanup_strv_free_ char **now = NULL;
                for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
                        *s = '\0';
                        if (have_name(j, n0, p))
                                break;
                        bool seen = false;
                        for (char **q = prev; q && *q && !seen; q++)
                                seen = strcmp(*q, p) == 0;
                        strv_push(&now, p);
                        if (seen)
                                break;
                        push_dir(j, p);
                }
                strv_freep(&prev);
                prev = TAKE_PTR(now);
        }
        entries_settle(j);
}

/* ---- the spool: data that has no file of its own (archives, downloads, heredocs) ---- */

int copy_spool_fd(struct copy_job *j, struct err *err)
{
        if (j->spool >= 0)
                return j->spool;
        const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
        for (size_t i = 0; i < ELEMENTSOF(dirs) && j->spool < 0; i++)
                if (dirs[i] && *dirs[i])
                        j->spool = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (j->spool < 0)
                j->spool = memfd_create("den-copy", MFD_CLOEXEC);
        return j->spool < 0 ? err_sys(err, -errno, "%s: cannot create a temporary file", op(j->c)) : j->spool;
}

int copy_spool_write(struct copy_job *j, const void *data, size_t len, struct err *err)
{
        int fd = copy_spool_fd(j, err);
        if (fd < 0)
                return fd;
        if (len && pwrite(fd, data, len, j->spool_len) != (ssize_t) len)
                return err_sys(err, -errno, "%s: write to a temporary file", op(j->c));
        j->spool_len += (off_t) len;
        return 0;
}

/* ---- sources: the build context (beneath its root) or an image (COPY --from) ---- */

static int ctx_open(int ctx, const char *path, int flags)
{
        struct open_how how = { .flags = (unsigned) flags | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, ctx, *path ? path : ".", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* negative errno; err set for what is not -ENOENT / -EXDEV */
static int src_stat(const struct copy_job *j, const char *path, bool follow, struct stat *st, struct err *err)
{
        if (j->c->from) {
                int r = view_stat(j->c->from, path, follow, st, err);
                return r;
        }
        int fd = ctx_open(j->c->context_fd, path, O_PATH | (follow ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return fd == -ELOOP ? -EXDEV : fd;
        int r = fstat(fd, st) < 0 ? -errno : 0;
        close(fd);
        return r;
}

int copy_src_open(const struct copy_job *j, const char *path, int *ret_fd, struct err *err)
{
        if (j->c->from)
                return view_open_read(j->c->from, path, ret_fd, err);
        int fd = ctx_open(j->c->context_fd, path, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return err_sys(err, fd, "%s: cannot open '%s'", op(j->c), path);
        *ret_fd = fd;
        return 0;
}

static int src_list(const struct copy_job *j, const char *path, char ***ret, size_t *ret_n, struct err *err)
{
        if (j->c->from)
                return view_list(j->c->from, path, ret, ret_n, err);
        _cleanup_close_ int fd = ctx_open(j->c->context_fd, path, O_PATH | O_DIRECTORY);
        int r = fd < 0 ? fd : fs_dir_names(fd, ret, ret_n);
        return r < 0 ? err_sys(err, r, "%s: cannot list '%s'", op(j->c), path) : 0;
}

static int src_readlink(const struct copy_job *j, const char *path, char **ret, struct err *err)
{
        int fd;
        if (j->c->from) {
                int r = view_open_path(j->c->from, path, false, &fd, err);
                if (r < 0)
                        return r;
        } else if ((fd = ctx_open(j->c->context_fd, path, O_PATH | O_NOFOLLOW)) < 0)
                return err_sys(err, fd, "%s: '%s'", op(j->c), path);
        char buf[4096];
        ssize_t l = readlinkat(fd, "", buf, sizeof(buf) - 1);
        int r = l < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return err_sys(err, r, "%s: readlink '%s'", op(j->c), path);
        buf[l] = '\0';
        *ret = xstrdup(buf);
        return 0;
}

static bool ignored(const struct copy_job *j, const char *path)
{
        return !j->c->from && j->c->ign && ignore_match(j->c->ign, path);
}

static bool ignored_dir_walked(const struct copy_job *j, const char *path)
{
        return ignore_dir_may_include(j->c->ign, path);
}

static char *path_join(const char *a, const char *b)
{
        return *a ? (*b ? xasprintf("%s/%s", a, b) : xstrdup(a)) : xstrdup(b);
}

/* where name goes: through the stage's root, so that a directory that is a
 * symlink there (a merged /usr's /lib) is written where it points */
char *copy_dest_real(const struct copy_job *j, const char *path, bool follow, struct err *err)
{
        char *real = NULL;
        struct err e = { 0 }; /* a path the base cannot resolve is simply new */
        if (!j->c->base || view_realpath(j->c->base, path, follow, &real, &e) < 0)
                real = path_clean_relative(path);
        return real;
}

/* ---- walking a source ---- */

static void apply_mode(const struct copy_job *j, struct centry *e, const struct stat *st)
{
        mode_t perm = st->st_mode & 07777;
        if (j->c->chmod >= 0 && !S_ISLNK(st->st_mode))
                perm = (mode_t) j->c->chmod & 07777;
        e->st.st_mode = (st->st_mode & S_IFMT) | perm;
}

static int add_one(struct copy_job *j, const char *spath, const char *lname, const struct stat *st, struct err *err);

/* the contents of the source directory spath into the layer directory lname */
static int walk(struct copy_job *j, const char *spath, const char *lname, int depth, struct err *err)
{
        if (depth > 256)
                return err_set(err, -ELOOP, "%s: '%s' is deeper than 256 levels", op(j->c), spath);
        char **names;
        size_t n;
        /* the context's directory opened once: its names are stat'ed beneath it
         * (one component each, no symlink followed) */
        _cleanup_close_ int dfd = j->c->from ? -1 : ctx_open(j->c->context_fd, spath, O_RDONLY | O_DIRECTORY);
        int r;
        if (!j->c->from && dfd < 0)
                return err_sys(err, dfd, "%s: cannot list '%s'", op(j->c), spath);
        r = dfd >= 0 ? fs_dir_names(dfd, &names, &n) : src_list(j, spath, &names, &n, err);
        if (r < 0)
                return err->code ? r : err_sys(err, r, "%s: cannot list '%s'", op(j->c), spath);
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_free_ char *sp = path_join(spath, names[i]), *ln = path_join(lname, names[i]);
                struct stat st;
                bool walk_only = false;
                if (ignored(j, sp)) {
                        /* an excluded directory is still walked when an exception may match below */
                        struct err e = { 0 };
                        if (!(src_stat(j, sp, false, &st, &e) == 0 && S_ISDIR(st.st_mode) && ignored_dir_walked(j, sp)))
                                continue;
                        walk_only = true;
                }
                if (dfd >= 0)
                        r = fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
                else
                        r = src_stat(j, sp, false, &st, err);
                if (r < 0) {
                        r = r == -ENOENT ? 0 : err_sys(err, r, "%s: '%s'", op(j->c), sp);
                        continue;
                }
                if (walk_only) {
                        _cleanup_free_ char *real = copy_dest_real(j, ln, true, err);
                        r = walk(j, sp, real, depth + 1, err);
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_free_ char *real = copy_dest_real(j, ln, true, err);
                        if ((r = add_one(j, sp, real, &st, err)) == 0)
                                r = walk(j, sp, real, depth + 1, err);
                } else
                        r = add_one(j, sp, ln, &st, err);
        }
        strv_freep(&names);
        return r;
}

static int add_one(struct copy_job *j, const char *spath, const char *lname, const struct stat *st, struct err *err)
{
        if (!*lname)
                return 0; /* the root itself */
        if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode) && !S_ISFIFO(st->st_mode))
                return 0; /* devices and sockets are not copied */
        struct centry *e = copy_push(j, lname, st->st_mode, st->st_mtime);
        apply_mode(j, e, st);
        if (S_ISREG(st->st_mode)) {
                e->st.st_size = st->st_size;
                e->data = DATA_SRC;
                e->src = xstrdup(spath);
        } else if (S_ISLNK(st->st_mode)) {
                char *target;
                int r = src_readlink(j, spath, &target, err);
                if (r < 0)
                        return r;
                j->e[j->n - 1].link = target;
        }
        return 0;
}

/* ---- sources and their wildcards ---- */

static bool has_meta(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

/* Go's filepath.Match, as docker matches COPY's wildcards */
static bool glob_match(const char *pattern, const char *name)
{
        return ignore_glob_match(pattern, name);
}

static int expand(struct copy_job *j, const char *dir, const char *pattern, char ***matches, struct err *err)
{
        const char *slash = strchr(pattern, '/');
        _cleanup_free_ char *comp = slash ? strndup(pattern, (size_t) (slash - pattern)) : xstrdup(pattern);
        const char *rest = slash ? slash + 1 : NULL;
        if (!has_meta(comp)) {
                _cleanup_free_ char *p = path_join(dir, comp);
                if (!rest)
                        return strv_push(matches, p), 0;
                struct stat st;
                struct err e = { 0 };
                if (src_stat(j, p, true, &st, &e) < 0 || !S_ISDIR(st.st_mode))
                        return 0;
                return expand(j, p, rest, matches, err);
        }
        char **names;
        size_t n;
        struct err e = { 0 };
        if (src_list(j, dir, &names, &n, &e) < 0)
                return 0; /* not a directory: nothing matches */
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                if (!glob_match(comp, names[i]))
                        continue;
                _cleanup_free_ char *p = path_join(dir, names[i]);
                if (ignored(j, p))
                        continue;
                if (!rest)
                        strv_push(matches, p);
                else
                        r = expand(j, p, rest, matches, err);
        }
        strv_freep(&names);
        return r;
}

/* a source as given: cleaned, relative; NULL when it climbs out of the root */
static char *src_clean(const struct copy_job *j, const char *src)
{
        int depth = 0;
        _cleanup_free_ char *copy = xstrdup(src);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, "..") == 0) {
                        if (--depth < 0 && !j->c->from)
                                return NULL;
                        depth = depth < 0 ? 0 : depth;
                } else if (strcmp(c, ".") != 0)
                        depth++;
        }
        return path_clean_relative(src);
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* one source (no wildcard left) to dest */
static int copy_source(struct copy_job *j, const char *path, const char *dest, bool dest_dir, struct err *err)
{
        struct stat st;
        struct err e = { 0 };
        bool excluded_dir = false;
        if (*path && ignored(j, path)) {
                if (!(src_stat(j, path, true, &st, &e) == 0 && S_ISDIR(st.st_mode) && ignored_dir_walked(j, path)))
                        return err_set(err, -ENOENT, "%s failed: file not found in build context or excluded by "
                                       ".dockerignore: stat %s: file does not exist", op(j->c), path);
                excluded_dir = true;
        }
        int r = src_stat(j, path, true, &st, &e);
        if (r == -ENOENT)
                return j->c->from ? err_set(err, r, "%s failed: '/%s' not found in the image", op(j->c), path)
                                  : err_set(err, r, "%s failed: file not found in build context or excluded by "
                                            ".dockerignore: stat %s: file does not exist", op(j->c), path);
        if (r == -EXDEV)
                return err_set(err, r, "%s failed: '%s' is outside the build context", op(j->c), path);
        if (r < 0)
                return e.code ? (*err = e, r) : err_sys(err, r, "%s failed: '%s'", op(j->c), path);
        if (S_ISDIR(st.st_mode)) {
                /* a directory's contents, not the directory itself */
                _cleanup_free_ char *real = copy_dest_real(j, dest, true, err);
                /* the destination directory is made even when nothing is in it */
                if (*real && !excluded_dir) {
                        struct stat bst;
                        struct err e2 = { 0 };
                        bool in_base = j->c->base && view_stat(j->c->base, real, false, &bst, &e2) == 0;
                        push_dir(j, real);
                        /* a new one takes the source directory's mode and time, as docker's copy does
                         * (so the same context gives the same layer) */
                        if (!in_base) {
                                struct centry *ce = &j->e[j->n - 1];
                                apply_mode(j, ce, &st);
                                ce->st.st_mtime = st.st_mtime;
                        }
                }
                return walk(j, path, real, 0, err);
        }
        _cleanup_free_ char *target = dest_dir ? path_join(dest, base_name(path)) : xstrdup(dest);
        if (j->c->add && S_ISREG(st.st_mode)) {
                int fd;
                if ((r = copy_src_open(j, path, &fd, err)) < 0)
                        return r;
                r = copy_archive_maybe(j, fd, path, dest, err);
                close(fd);
                if (r != 0)
                        return r < 0 ? r : 0; /* 1: unpacked */
        }
        _cleanup_free_ char *real = copy_dest_real(j, target, false, err);
        return add_one(j, path, real, &st, err);
}

static bool is_url(const char *s)
{
        return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int copy_heredoc(struct copy_job *j, const char *dest, bool dest_dir, struct err *err)
{
        const char *body = j->c->heredoc_body ? j->c->heredoc_body : "";
        size_t len = strlen(body);
        off_t off = j->spool_len;
        int r = copy_spool_write(j, body, len, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *target = dest_dir ? path_join(dest, j->c->heredoc_name) : xstrdup(dest);
        _cleanup_free_ char *real = copy_dest_real(j, target, false, err);
        if (!*real)
                return err_set(err, -EINVAL, "%s: the destination of a heredoc is the root", op(j->c));
        struct centry *e = copy_push(j, real, S_IFREG | (j->c->chmod >= 0 ? (mode_t) j->c->chmod & 07777 : 0644), j->now);
        e->st.st_size = (off_t) len;
        e->data = DATA_SPOOL;
        e->off = off;
        return 0;
}

static int collect(struct copy_job *j, struct err *err)
{
        const struct build_copy *c = j->c;
        size_t n_src = c->srcs ? strv_length(c->srcs) : 0;
        if (!c->dest || c->dest[0] != '/')
                return err_set(err, -EINVAL, "%s: the destination '%s' is not absolute", op(c), c->dest ? c->dest : "");
        _cleanup_free_ char *dest = path_clean_relative(c->dest);
        size_t dl = strlen(c->dest);
        bool slash = c->dest[dl - 1] == '/' || strcmp(c->dest + (dl >= 2 ? dl - 2 : 0), "/.") == 0;
        bool dest_dir = slash || !*dest;
        struct stat st;
        struct err e = { 0 };
        if (!dest_dir && c->base && view_stat(c->base, dest, true, &st, &e) == 0 && S_ISDIR(st.st_mode))
                dest_dir = true;
        if (c->mkdir_only) {
                /* WORKDIR: the directory (its parents follow in add_parents) */
                _cleanup_free_ char *real = copy_dest_real(j, dest, true, err);
                if (*real)
                        copy_push(j, real, S_IFDIR | 0755, j->now);
                return 0;
        }
        if (c->heredoc_name)
                return copy_heredoc(j, dest, dest_dir, err);
        if (n_src == 0)
                return err_set(err, -EINVAL, "%s failed: no source files were specified", op(c));
        if (n_src > 1 && !slash)
                return err_set(err, -EINVAL, "When using %s with more than one source file, the destination must be a "
                               "directory and end with a /", op(c));
        int r = 0;
        for (size_t i = 0; i < n_src && r == 0; i++) {
                const char *src = c->srcs[i];
                if (is_url(src)) {
                        if (!c->add)
                                return err_set(err, -EINVAL, "COPY failed: source can't be a URL for COPY: %s", src);
                        r = copy_url(j, src, dest, dest_dir, err);
                        continue;
                }
                _cleanup_free_ char *clean = src_clean(j, src);
                if (!clean)
                        return err_set(err, -EXDEV, "%s failed: '%s' is outside the build context", op(c), src);
                if (!has_meta(clean)) {
                        r = copy_source(j, clean, dest, dest_dir, err);
                        continue;
                }
                _cleanup_strv_free_ char **m = NULL;
                if ((r = expand(j, "", clean, &m, err)) < 0)
                        break;
                size_t n_m = m ? strv_length(m) : 0;
                if (n_m == 0)
                        return err_set(err, -ENOENT, "%s failed: no source files were specified (nothing matches '%s')",
                                       op(c), src);
                if (n_m > 1 && !dest_dir)
                        return err_set(err, -EINVAL, "When using %s with more than one source file, the destination "
                                       "must be a directory and end with a /", op(c));
                for (size_t k = 0; k < n_m && r == 0; k++)
                        r = copy_source(j, m[k], dest, dest_dir, err);
        }
        return r;
}

/* ---- writing ---- */

static int write_entries(struct copy_job *j, int out_fd, struct err *err)
{
        struct tarw *t;
        int r = tarw_open(out_fd, &t, err);
        if (r < 0)
                return r;
        tarw_set_epoch(t, j->c->epoch);
        for (size_t i = 0; i < j->n && r == 0; i++) {
                struct centry *e = &j->e[i];
                int fd = -1;
                if (e->data == DATA_SRC)
                        r = copy_src_open(j, e->src, &fd, err);
                else if (e->data == DATA_SPOOL && lseek(j->spool, e->off, SEEK_SET) < 0)
                        r = err_sys(err, -errno, "%s: the temporary file", op(j->c));
                if (r == 0)
                        r = tarw_add_entry(t, e->name, &e->st, e->data == DATA_SPOOL ? j->spool : fd, e->link, err);
                if (fd >= 0)
                        close(fd);
        }
        int q = tarw_close(t, err);
        return r < 0 ? r : q;
}

/* the key of a copy: every entry's name, type, mode, owner, link and data, not its time */
static int hash_entries(struct copy_job *j, char ret[DIGEST_STR_MAX], struct err *err)
{
        struct digest_ctx *d = digest_new();
        char buf[1 << 16];
        int r = 0;
        for (size_t i = 0; i < j->n && r == 0; i++) {
                struct centry *e = &j->e[i];
                char head[128];
                int hn = snprintf(head, sizeof(head), "\n%o %u %u %lld ", (unsigned) e->st.st_mode, (unsigned) e->st.st_uid,
                                  (unsigned) e->st.st_gid, (long long) e->st.st_size);
                digest_update(d, e->name, strlen(e->name) + 1);
                digest_update(d, head, (size_t) hn);
                if (e->link)
                        digest_update(d, e->link, strlen(e->link) + 1);
                int fd = -1;
                off_t left = e->st.st_size;
                if (e->data == DATA_SRC)
                        r = copy_src_open(j, e->src, &fd, err);
                else if (e->data == DATA_SPOOL && lseek(j->spool, e->off, SEEK_SET) < 0)
                        r = err_sys(err, -errno, "%s: the temporary file", op(j->c));
                int from = e->data == DATA_SPOOL ? j->spool : fd;
                while (r == 0 && e->data != DATA_NONE && left > 0) {
                        ssize_t n = read(from, buf, (size_t) (left < (off_t) sizeof(buf) ? left : (off_t) sizeof(buf)));
                        if (n <= 0) {
                                r = err_sys(err, n < 0 ? -errno : -EIO, "%s: '%s' changed while it was read", op(j->c), e->name);
                                break;
                        }
                        digest_update(d, buf, (size_t) n);
                        left -= n;
                }
                if (fd >= 0)
                        close(fd);
        }
        if (r < 0) {
                digest_free(d);
                return r;
        }
        digest_final(d, ret);
        return 0;
}

static int copy_run(const struct build_copy *c, int out_fd, char key[DIGEST_STR_MAX], struct err *err)
{
        struct copy_job j = { .c = c, .spool = -1, .now = time(NULL),
                              .uid = c->uid == (uid_t) -1 ? 0 : c->uid, .gid = c->gid == (gid_t) -1 ? 0 : c->gid };
        if (c->epoch >= 0 && j.now > c->epoch)
                j.now = (time_t) c->epoch;
        int r = collect(&j, err);
        if (r == 0)
                add_parents(&j);
        if (r == 0)
                r = key ? hash_entries(&j, key, err) : write_entries(&j, out_fd, err);
        for (size_t i = 0; i < j.n; i++)
                centry_free(&j.e[i]);
        free(j.e);
        if (j.spool >= 0)
                close(j.spool);
        return r;
}

int build_copy_tar(const struct build_copy *c, int out_fd, struct err *err)
{
        return copy_run(c, out_fd, NULL, err);
}

int build_copy_key(const struct build_copy *c, char ret[DIGEST_STR_MAX], struct err *err)
{
        return copy_run(c, -1, ret, err);
}
