/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "tarw.h"

struct tarw {
        struct archive *a;
        int64_t epoch; /* >= 0: no mtime later than this (SOURCE_DATE_EPOCH); -1: none */
};

#define A(fn) DL(LIBARCHIVE, fn)

int tarw_open(int fd, struct tarw **ret, struct err *err)
{
        if (!dl_available(LIBARCHIVE))
                return err_set(err, -ENOSYS, "%s is not installed (package libarchive13)", LIBARCHIVE);
        struct tarw *t = xcalloc(1, sizeof(*t));
        t->epoch = -1;
        t->a = A(archive_write_new)();
        A(archive_write_set_format_pax_restricted)(t->a);
        if (A(archive_write_open_fd)(t->a, fd) != ARCHIVE_OK) {
                int r = err_set(err, -EIO, "cannot write an archive: %s", A(archive_error_string)(t->a));
                A(archive_write_free)(t->a);
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

void tarw_set_epoch(struct tarw *t, int64_t epoch)
{
        t->epoch = epoch < 0 ? -1 : epoch;
}

/* Only what is set here goes into a header: no atime, ctime, uname or gname,
 * whole seconds, so the same tree gives the same bytes. */
static struct archive_entry *entry(const struct tarw *t, const char *name, mode_t type, mode_t perm, int64_t size,
                                   time_t mtime)
{
        struct archive_entry *e = A(archive_entry_new)();
        if (t->epoch >= 0 && mtime > t->epoch)
                mtime = (time_t) t->epoch;
        A(archive_entry_set_pathname)(e, name);
        A(archive_entry_set_filetype)(e, type);
        A(archive_entry_set_perm)(e, perm);
        A(archive_entry_set_size)(e, size);
        A(archive_entry_set_mtime)(e, mtime, 0);
        return e;
}

static int put(struct tarw *t, struct archive_entry *e, const char *name, struct err *err)
{
        int r = A(archive_write_header)(t->a, e) == ARCHIVE_OK ? 0
                                                                : err_set(err, -EIO, "archive: '%s': %s", name,
                                                                          A(archive_error_string)(t->a));
        A(archive_entry_free)(e);
        return r;
}

int tarw_add_bytes(struct tarw *t, const char *name, const void *data, size_t len, struct err *err)
{
        int r = put(t, entry(t, name, AE_IFREG, 0644, (int64_t) len, time(NULL)), name, err);
        if (r == 0 && A(archive_write_data)(t->a, data, len) != (la_ssize_t) len)
                r = err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
        return r;
}

static int copy_in(struct tarw *t, int fd, const char *name, struct err *err)
{
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (A(archive_write_data)(t->a, buf, (size_t) n) != n)
                        return err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
        return n < 0 ? err_sys(err, -errno, "archive: '%s'", name) : 0;
}

/* A sparse file's data regions into e's sparse map, so that its holes are
 * written as nothing (pax, GNU sparse 1.0) rather than as their zeros: a
 * 1 TiB file of one block is not a 1 TiB stream.  false: not sparse (or the
 * file system cannot tell), to be copied whole. */
static bool sparse_map(int fd, const struct stat *st, struct archive_entry *e)
{
        if ((uint64_t) st->st_blocks * 512 >= (uint64_t) st->st_size)
                return false;
        off_t pos = 0;
        while (pos < st->st_size) {
                off_t data = lseek(fd, pos, SEEK_DATA);
                if (data < 0 && errno == ENXIO)
                        break; /* only a hole is left */
                off_t hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
                if (hole < 0) {
                        A(archive_entry_sparse_clear)(e);
                        return false;
                }
                if (hole > st->st_size)
                        hole = st->st_size;
                A(archive_entry_sparse_add_entry)(e, data, hole - data);
                pos = hole;
        }
        /* a file that ends in a hole ends its map with an empty region, as GNU tar does */
        if (pos < st->st_size)
                A(archive_entry_sparse_add_entry)(e, st->st_size, 0);
        return true;
}

/* holes are handed to the writer as zeros it skips without reading them;
 * given in pieces of a real buffer all the same */
static int sparse_copy_in(struct tarw *t, int fd, struct archive_entry *e, int64_t size, const char *name,
                          struct err *err)
{
        static const char zeros[1 << 20];
        char buf[1 << 16];
        la_int64_t off, len;
        int64_t pos = 0;
        A(archive_entry_sparse_reset)(e);
        for (bool more = true; pos < size || more;) {
                more = A(archive_entry_sparse_next)(e, &off, &len) == ARCHIVE_OK;
                int64_t until = more ? off : size;
                for (; pos < until;) {
                        size_t n = until - pos > (int64_t) sizeof(zeros) ? sizeof(zeros) : (size_t) (until - pos);
                        if (A(archive_write_data)(t->a, zeros, n) != (la_ssize_t) n)
                                return err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
                        pos += (int64_t) n;
                }
                for (int64_t end = more ? off + len : pos; pos < end;) {
                        size_t want = end - pos > (int64_t) sizeof(buf) ? sizeof(buf) : (size_t) (end - pos);
                        ssize_t n = pread(fd, buf, want, pos);
                        if (n < 0)
                                return err_sys(err, -errno, "archive: '%s'", name);
                        if (n == 0) /* shrunk while archived: zeros keep the header true */
                                memset(buf, 0, want), n = (ssize_t) want;
                        if (A(archive_write_data)(t->a, buf, (size_t) n) != n)
                                return err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
                        pos += n;
                }
                if (!more)
                        break;
        }
        return 0;
}

int tarw_add_fd(struct tarw *t, const char *name, int fd, struct err *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return err_sys(err, -errno, "archive: '%s'", name);
        int r = put(t, entry(t, name, AE_IFREG, st.st_mode & 07777, st.st_size, st.st_mtime), name, err);
        if (r == 0)
                r = copy_in(t, fd, name, err);
        return r;
}

int tarw_add_dir(struct tarw *t, const char *name, struct err *err)
{
        return put(t, entry(t, name, AE_IFDIR, 0755, 0, time(NULL)), name, err);
}

/* an overlay upper directory's opaque marker (kernel overlay as root, with userxattr rootless) */
static bool opaque_dir(int dirfd, const char *n)
{
        char p[64], v[4];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", dirfd);
        _cleanup_free_ char *path = xasprintf("%s/%s", p, n);
        return (lgetxattr(path, "user.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y') ||
               (lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y');
}

struct walk {
        dev_t dev;              /* the file system walked: mount points below are written empty */
        bool overlay;           /* an overlay upper directory: whiteouts and opaque markers translated */
        char *const *exclude;   /* NULL-terminated, may be NULL: see tarw_add_upper */
};

static bool excluded(const struct walk *w, int dirfd, const char *n, const char *name, const struct stat *st)
{
        if (!w->exclude)
                return false;
        bool listed = false;
        for (char *const *x = w->exclude; *x && !listed; x++)
                listed = strcmp(*x + (**x == '/'), name) == 0; /* a leading '/' is forgiven */
        if (!listed)
                return false;
        if (S_ISREG(st->st_mode))
                return st->st_size == 0;
        if (S_ISCHR(st->st_mode))
                return st->st_rdev == makedev(0, 0);
        if (!S_ISDIR(st->st_mode))
                return false;
        /* a directory goes when everything in it goes (/run of /run/secrets/x) */
        _cleanup_close_ int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_strv_free_ char **v = NULL;
        size_t k = 0;
        if (sub < 0 || fs_dir_names(sub, &v, &k) < 0)
                return false;
        for (size_t i = 0; i < k; i++) {
                struct stat cst;
                _cleanup_free_ char *cname = xasprintf("%s/%s", name, v[i]);
                if (fstatat(sub, v[i], &cst, AT_SYMLINK_NOFOLLOW) < 0 || !excluded(w, sub, v[i], cname, &cst))
                        return false;
        }
        return true;
}

static int tree(struct tarw *t, int dirfd, const char *prefix, int depth, const struct walk *w, struct err *err);

static int tree_one(struct tarw *t, int dirfd, const char *n, const char *prefix, int depth, const struct walk *w,
                    struct err *err)
{
        struct stat st;
        if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0; /* gone meanwhile */
        _cleanup_free_ char *name = *prefix ? xasprintf("%s/%s", prefix, n) : xstrdup(n);
        if (excluded(w, dirfd, n, name, &st))
                return 0;
        if (w->overlay && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                /* an overlay whiteout is an OCI one: an empty .wh.NAME */
                _cleanup_free_ char *wh = *prefix ? xasprintf("%s/.wh.%s", prefix, n) : xasprintf(".wh.%s", n);
                return put(t, entry(t, wh, AE_IFREG, 0644, 0, st.st_mtime), wh, err);
        }
        struct archive_entry *e = entry(t, name, st.st_mode & S_IFMT, st.st_mode & 07777,
                                        S_ISREG(st.st_mode) ? st.st_size : 0, st.st_mtime);
        A(archive_entry_set_uid)(e, st.st_uid);
        A(archive_entry_set_gid)(e, st.st_gid);
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t l = readlinkat(dirfd, n, target, sizeof(target) - 1);
                target[l > 0 ? l : 0] = '\0';
                A(archive_entry_set_symlink)(e, target);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                A(archive_entry_set_rdev)(e, st.st_rdev);
        else if (S_ISDIR(st.st_mode) && st.st_dev != w->dev)
                /* a mount point (proc, a volume): the directory, not what is mounted */
                return put(t, e, name, err);
        else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
                A(archive_entry_free)(e);
                return 0; /* sockets */
        }
        int r;
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd = openat(dirfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        A(archive_entry_free)(e);
                        return err_sys(err, -errno, "archive: '%s'", name);
                }
                bool sparse = sparse_map(fd, &st, e);
                /* the entry stays alive through its data: the sparse copy walks its map */
                r = A(archive_write_header)(t->a, e) == ARCHIVE_OK
                            ? 0
                            : err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
                if (r == 0)
                        r = sparse ? sparse_copy_in(t, fd, e, st.st_size, name, err) : copy_in(t, fd, name, err);
                A(archive_entry_free)(e);
                return r;
        }
        if ((r = put(t, e, name, err)) < 0 || !S_ISDIR(st.st_mode))
                return r;
        if (w->overlay && opaque_dir(dirfd, n)) {
                _cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", name);
                if ((r = put(t, entry(t, opq, AE_IFREG, 0644, 0, st.st_mtime), opq, err)) < 0)
                        return r;
        }
        _cleanup_close_ int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return sub < 0 ? err_sys(err, -errno, "archive: '%s'", name) : tree(t, sub, name, depth + 1, w, err);
}

static int tree(struct tarw *t, int dirfd, const char *prefix, int depth, const struct walk *w, struct err *err)
{
        if (depth > 256)
                return err_set(err, -ELOOP, "archive: deeper than 256 levels at '%s'", prefix);
        _cleanup_strv_free_ char **names = NULL;
        size_t n;
        int r = fs_dir_names(dirfd, &names, &n);
        if (r < 0)
                return err_sys(err, r, "archive: cannot read '%s'", prefix);
        for (size_t i = 0; i < n && r == 0; i++)
                r = tree_one(t, dirfd, names[i], prefix, depth, w, err);
        return r;
}

int tarw_add_tree(struct tarw *t, int dirfd, const char *prefix, struct err *err)
{
        struct stat st;
        if (fstat(dirfd, &st) < 0)
                return err_sys(err, -errno, "archive: '%s'", prefix);
        struct walk w = { .dev = st.st_dev };
        return tree(t, dirfd, prefix, 0, &w, err);
}

int tarw_add_upper(struct tarw *t, int dirfd, char *const *exclude, struct err *err)
{
        struct stat st;
        if (fstat(dirfd, &st) < 0)
                return err_sys(err, -errno, "archive: the upper directory");
        struct walk w = { .dev = st.st_dev, .overlay = true, .exclude = exclude };
        return tree(t, dirfd, "", 0, &w, err);
}

/* exactly size bytes of fd from where it stands; a file that shrank meanwhile
 * is padded with zeros, so the header stays true */
static int copy_exact(struct tarw *t, int fd, int64_t size, const char *name, struct err *err)
{
        char buf[1 << 16];
        while (size > 0) {
                size_t want = size > (int64_t) sizeof(buf) ? sizeof(buf) : (size_t) size;
                ssize_t n = read(fd, buf, want);
                if (n < 0)
                        return err_sys(err, -errno, "archive: '%s'", name);
                if (n == 0)
                        memset(buf, 0, want), n = (ssize_t) want;
                if (A(archive_write_data)(t->a, buf, (size_t) n) != n)
                        return err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
                size -= n;
        }
        return 0;
}

int tarw_add_entry(struct tarw *t, const char *name, const struct stat *st, int data_fd, const char *link_target,
                   struct err *err)
{
        mode_t type = st->st_mode & S_IFMT;
        if (type == S_IFLNK && !link_target)
                return err_set(err, -EINVAL, "archive: '%s': a symlink without a target", name);
        struct archive_entry *e = entry(t, name, type, st->st_mode & 07777, type == S_IFREG ? st->st_size : 0,
                                        st->st_mtime);
        A(archive_entry_set_uid)(e, st->st_uid);
        A(archive_entry_set_gid)(e, st->st_gid);
        if (type == S_IFLNK)
                A(archive_entry_set_symlink)(e, link_target);
        else if (type == S_IFCHR || type == S_IFBLK)
                A(archive_entry_set_rdev)(e, st->st_rdev);
        int r = put(t, e, name, err);
        if (r == 0 && type == S_IFREG && st->st_size > 0)
                r = data_fd < 0 ? err_set(err, -EINVAL, "archive: '%s': no data", name)
                                : copy_exact(t, data_fd, st->st_size, name, err);
        return r;
}

int tarw_close(struct tarw *t, struct err *err)
{
        int r = A(archive_write_close)(t->a) == ARCHIVE_OK ? 0
                                                           : err_set(err, -EIO, "archive: %s", A(archive_error_string)(t->a));
        A(archive_write_free)(t->a);
        free(t);
        return r;
}
