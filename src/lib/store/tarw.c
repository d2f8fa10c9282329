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
#include "lib/base/macro.h"
#include "tarw.h"

struct tarw {
        struct archive *a;
};

#define A(fn) DL(LIBARCHIVE, fn)

int tarw_open(int fd, struct tarw **ret, struct err *err)
{
        if (!dl_available(LIBARCHIVE))
                return err_set(err, -ENOSYS, "%s is not installed (package libarchive13)", LIBARCHIVE);
        struct tarw *t = xcalloc(1, sizeof(*t));
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

static struct archive_entry *entry(const char *name, mode_t type, mode_t perm, int64_t size, time_t mtime)
{
        struct archive_entry *e = A(archive_entry_new)();
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
        int r = put(t, entry(name, AE_IFREG, 0644, (int64_t) len, time(NULL)), name, err);
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
        int r = put(t, entry(name, AE_IFREG, st.st_mode & 07777, st.st_size, st.st_mtime), name, err);
        if (r == 0)
                r = copy_in(t, fd, name, err);
        return r;
}

int tarw_add_dir(struct tarw *t, const char *name, struct err *err)
{
        return put(t, entry(name, AE_IFDIR, 0755, 0, time(NULL)), name, err);
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

static int tree(struct tarw *t, int dirfd, const char *prefix, dev_t dev, int depth, bool overlay, struct err *err)
{
        if (depth > 256)
                return err_set(err, -ELOOP, "archive: deeper than 256 levels at '%s'", prefix);
        int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (!d)
                return err_sys(err, -errno, "archive: cannot read '%s'", prefix);
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st;
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                _cleanup_free_ char *name = *prefix ? xasprintf("%s/%s", prefix, n) : xstrdup(n);
                if (overlay && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        /* an overlay whiteout is an OCI one: an empty .wh.NAME */
                        _cleanup_free_ char *wh = *prefix ? xasprintf("%s/.wh.%s", prefix, n) : xasprintf(".wh.%s", n);
                        r = put(t, entry(wh, AE_IFREG, 0644, 0, st.st_mtime), wh, err);
                        continue;
                }
                struct archive_entry *e = entry(name, st.st_mode & S_IFMT, st.st_mode & 07777,
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
                else if (S_ISDIR(st.st_mode) && st.st_dev != dev) {
                        /* a mount point (proc, a volume): the directory, not what is mounted */
                        A(archive_entry_free)(e);
                        e = entry(name, AE_IFDIR, st.st_mode & 07777, 0, st.st_mtime);
                        r = put(t, e, name, err);
                        continue;
                } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
                        A(archive_entry_free)(e);
                        continue; /* sockets */
                }
                _cleanup_close_ int fd = -1;
                bool sparse = false;
                if (S_ISREG(st.st_mode)) {
                        if ((fd = openat(dirfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                                A(archive_entry_free)(e);
                                r = err_sys(err, -errno, "archive: '%s'", name);
                                break;
                        }
                        sparse = sparse_map(fd, &st, e);
                }
                if (S_ISREG(st.st_mode)) {
                        /* the entry stays alive through its data: the sparse copy walks its map */
                        r = A(archive_write_header)(t->a, e) == ARCHIVE_OK ? 0
                                : err_set(err, -EIO, "archive: '%s': %s", name, A(archive_error_string)(t->a));
                        if (r == 0)
                                r = sparse ? sparse_copy_in(t, fd, e, st.st_size, name, err) : copy_in(t, fd, name, err);
                        A(archive_entry_free)(e);
                        continue;
                }
                if ((r = put(t, e, name, err)) < 0)
                        break;
                if (S_ISDIR(st.st_mode)) {
                        if (overlay && opaque_dir(dirfd, n)) {
                                _cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", name);
                                if ((r = put(t, entry(opq, AE_IFREG, 0644, 0, st.st_mtime), opq, err)) < 0)
                                        break;
                        }
                        _cleanup_close_ int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = sub < 0 ? err_sys(err, -errno, "archive: '%s'", name)
                                    : tree(t, sub, name, dev, depth + 1, overlay, err);
                }
        }
        closedir(d);
        return r;
}

int tarw_add_tree(struct tarw *t, int dirfd, const char *prefix, struct err *err)
{
        struct stat st;
        if (fstat(dirfd, &st) < 0)
                return err_sys(err, -errno, "archive: '%s'", prefix);
        return tree(t, dirfd, prefix, st.st_dev, 0, false, err);
}

int tarw_add_upper(struct tarw *t, int dirfd, struct err *err)
{
        struct stat st;
        if (fstat(dirfd, &st) < 0)
                return err_sys(err, -errno, "archive: the upper directory");
        return tree(t, dirfd, "", st.st_dev, 0, true, err);
}

int tarw_close(struct tarw *t, struct err *err)
{
        int r = A(archive_write_close)(t->a) == ARCHIVE_OK ? 0
                                                           : err_set(err, -EIO, "archive: %s", A(archive_error_string)(t->a));
        A(archive_write_free)(t->a);
        free(t);
        return r;
}
