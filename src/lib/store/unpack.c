/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "unpack.h"
#include "digest.h"

#define MAX_DEPTH 256

static void ar_free(struct archive *a)
{
        DL(LIBARCHIVE, archive_read_free)(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, ar_free)

struct dir_fixup {
        char *path;
        mode_t mode;
        struct timespec mtime;
};

static int open_beneath(int dfd, const char *path, int flags)
{
        struct open_how how = { .flags = (unsigned) flags | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, dfd, *path ? path : ".", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* Clean an archive path: refuse absolute ones and any ".." that climbs out.
 * Returns the cleaned relative path, NULL when refused. */
static char *clean_entry(const char *name, const char **why)
{
        if (name[0] == '/') {
                *why = "is an absolute path";
                return NULL;
        }
        size_t depth = 0;
        for (const char *p = name; *p; p++)
                depth += *p == '/';
        if (depth > MAX_DEPTH || strlen(name) >= 4096) {
                *why = "is too deep (more than 256 components or 4096 bytes)";
                return NULL;
        }
        /* ".." anywhere is refused: lexically harmless ones ("a/../b") do not
         * occur in archives made by real tools */
        _cleanup_free_ char *copy = xstrdup(name);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (strcmp(c, "..") == 0) {
                        *why = "escapes the layer root ('..')";
                        return NULL;
                }
        char *clean = path_clean_relative(name);
        return clean;
}

static int open_parent(int root, const char *path, char **ret_base, struct err *err, const struct unpack_opts *o,
                       const char *entry)
{
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        const char *base = slash ? slash + 1 : copy;
        if (slash)
                *slash = '\0';
        const char *dir = slash ? copy : "";
        int fd = open_beneath(root, dir, O_PATH | O_DIRECTORY);
        if (fd == -ENOENT) {
                /* tar may list a file before (or without) its directory */
                _cleanup_free_ char *walk = xstrdup(dir);
                for (char *p = walk;; p++) {
                        if (*p == '/' || *p == '\0') {
                                char c = *p;
                                *p = '\0';
                                int dfd = open_beneath(root, walk, O_PATH | O_DIRECTORY);
                                if (dfd == -ENOENT) {
                                        char *s2 = strrchr(walk, '/');
                                        _cleanup_close_ int pfd = -1;
                                        if (s2) {
                                                *s2 = '\0';
                                                pfd = open_beneath(root, walk, O_PATH | O_DIRECTORY);
                                                *s2 = '/';
                                        } else
                                                pfd = open_beneath(root, "", O_PATH | O_DIRECTORY);
                                        if (pfd < 0 || mkdirat(pfd, s2 ? s2 + 1 : walk, 0755) < 0) {
                                                *p = c;
                                                break;
                                        }
                                } else if (dfd >= 0)
                                        close(dfd);
                                *p = c;
                                if (!c)
                                        break;
                        }
                }
                fd = open_beneath(root, dir, O_PATH | O_DIRECTORY);
        }
        if (fd == -ELOOP || fd == -EXDEV)
                return err_set(err, -ELOOP, "layer %s: entry '%s' passes through a symlink", o->layer, entry);
        if (fd < 0)
                return err_sys(err, fd, "layer %s: entry '%s': its directory", o->layer, entry);
        *ret_base = xstrdup(base);
        return fd;
}

static int whiteout(int parent, const char *name, const struct unpack_opts *o, const char *entry, struct err *err)
{
        if (strcmp(name, ".wh..opq") == 0) {
                _cleanup_close_ int d = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d < 0 || fsetxattr(d, o->opaque_xattr, "y", 1, 0) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': cannot mark the directory opaque", o->layer,
                                       entry);
                return 0;
        }
        const char *victim = name + 4;
        if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0 || strncmp(victim, ".wh.", 4) == 0)
                return err_set(err, -EINVAL, "layer %s: entry '%s' is a whiteout of an invalid name", o->layer, entry);
        _cleanup_close_ int d = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0)
                return err_sys(err, -errno, "layer %s: entry '%s'", o->layer, entry);
        unlinkat(d, victim, 0);
        if (mknodat(d, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return err_sys(err, -errno, "layer %s: entry '%s': cannot create the whiteout", o->layer, entry);
        return 0;
}

static int remove_existing(int d, const char *name, bool keep_dir)
{
        struct stat st;
        if (fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                if (keep_dir)
                        return 1;
                /* a directory replaced by another kind of entry */
                return fs_rm_rf_at(d, name);
        }
        return unlinkat(d, name, 0) < 0 ? -errno : 0;
}

static int write_data(struct archive *a, int fd, const struct unpack_opts *o, uint64_t apparent, const char *entry,
                      struct err *err)
{
        const void *buf;
        size_t size;
        la_int64_t off;
        int r;
        /* the entry's apparent size was counted against the limit from its
         * header; its data must stay inside it */
        while ((r = DL(LIBARCHIVE, archive_read_data_block)(a, &buf, &size, &off)) == ARCHIVE_OK) {
                if (off < 0 || (uint64_t) off + size > apparent)
                        return err_set(err, -EINVAL, "layer %s: entry '%s': data past its size", o->layer, entry);
                if (size && pwrite(fd, buf, size, off) != (ssize_t) size)
                        return err_sys(err, -errno, "layer %s: entry '%s': write", o->layer, entry);
        }
        if (r != ARCHIVE_EOF)
                return err_set(err, -EIO, "layer %s: entry '%s': %s", o->layer, entry, DL(LIBARCHIVE, archive_error_string)(a));
        return 0;
}

/* an entry name fit for a message: long ones keep their head and tail */
static const char *short_name(const char *n, char buf[200])
{
        size_t l = strlen(n);
        if (l < 160)
                return n;
        snprintf(buf, 200, "%.80s...%s", n, n + l - 60);
        return buf;
}

/* Count an entry against the limits from its header, before anything is made
 * or read: a regular file counts with its apparent size (a sparse file's
 * full size, which is what `den export` and a copy out would write). */
static int layer_limits_count(struct archive_entry *e, const struct unpack_opts *o, struct unpack_stats *st,
                              const char *name, struct err *err)
{
        st->entries++;
        if (o->max_entries && st->entries > o->max_entries)
                return err_set(err, -EFBIG, "layer %s: more than %llu entries (at entry '%s')", o->layer,
                               (unsigned long long) o->max_entries, name);
        la_int64_t size = DL(LIBARCHIVE, archive_entry_size)(e);
        if (DL(LIBARCHIVE, archive_entry_filetype)(e) != AE_IFREG || DL(LIBARCHIVE, archive_entry_hardlink)(e) ||
            !DL(LIBARCHIVE, archive_entry_size_is_set)(e))
                return 0;
        if (size < 0)
                return err_set(err, -EINVAL, "layer %s: entry '%s' has a negative size", o->layer, name);
        st->bytes += (uint64_t) size;
        if (o->max_bytes && st->bytes > o->max_bytes)
                return err_set(err, -EFBIG, "layer %s: unpacks to more than %llu bytes (at entry '%s', of %lld bytes%s)",
                               o->layer, (unsigned long long) o->max_bytes, name, (long long) size,
                               DL(LIBARCHIVE, archive_entry_sparse_count)(e) > 0 ? ", sparse" : "");
        return 0;
}

static int one_entry(struct archive *a, struct archive_entry *e, int root, const struct unpack_opts *o,
                     struct unpack_stats *st, struct dir_fixup **fix, size_t *n_fix, struct err *err)
{
        const char *full = DL(LIBARCHIVE, archive_entry_pathname)(e), *why = NULL;
        char sbuf[200];
        int r;
        if (!full)
                return err_set(err, -EINVAL, "layer %s: an entry without a name", o->layer);
        const char *name = short_name(full, sbuf);
        if ((r = layer_limits_count(e, o, st, name, err)) < 0)
                return r;
        /* 4294967295 is (uid_t) -1, "leave the owner alone" to chown: the
         * entry would silently stay root's; larger ones would wrap */
        la_int64_t uid = DL(LIBARCHIVE, archive_entry_uid)(e), gid = DL(LIBARCHIVE, archive_entry_gid)(e);
        if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
                return err_set(err, -EINVAL, "layer %s: entry '%s': %s %lld cannot be an owner (ids end at 4294967294)",
                               o->layer, name, uid < 0 || uid >= UINT32_MAX ? "uid" : "gid",
                               (long long) (uid < 0 || uid >= UINT32_MAX ? uid : gid));
        _cleanup_free_ char *path = clean_entry(full, &why);
        if (!path)
                return err_set(err, -EINVAL, "layer %s: entry '%s' %s", o->layer, name, why);
        if (!*path)
                return 0; /* the root itself */
        _cleanup_free_ char *base = NULL;
        _cleanup_close_ int pfd = open_parent(root, path, &base, err, o, name);
        if (pfd < 0)
                return pfd;
        _cleanup_close_ int d = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0)
                return err_sys(err, -errno, "layer %s: entry '%s'", o->layer, name);
        if (strncmp(base, ".wh.", 4) == 0) {
                if (strncmp(base, ".wh..wh.", 8) == 0 && strcmp(base, ".wh..wh..opq") != 0)
                        return 0; /* aufs metadata */
                return whiteout(pfd, strcmp(base, ".wh..wh..opq") == 0 ? ".wh..opq" : base, o, name, err);
        }
        mode_t type = DL(LIBARCHIVE, archive_entry_filetype)(e);
        mode_t mode = DL(LIBARCHIVE, archive_entry_perm)(e);
        const char *hl = DL(LIBARCHIVE, archive_entry_hardlink)(e);
        if (hl) {
                _cleanup_free_ char *target = clean_entry(hl, &why);
                if (!target || !*target)
                        return err_set(err, -EINVAL, "layer %s: entry '%s' is a hard link to '%s', which %s", o->layer,
                                       name, hl, why ? why : "is the root");
                _cleanup_free_ char *tbase = NULL;
                _cleanup_close_ int tp = open_parent(root, target, &tbase, err, o, name);
                if (tp < 0)
                        return tp;
                /* O_NOFOLLOW: a hard link to a symlink links the symlink itself (tar allows it) */
                _cleanup_close_ int tfd = open_beneath(tp, tbase, O_PATH | O_NOFOLLOW);
                if (tfd < 0)
                        return err_sys(err, tfd, "layer %s: entry '%s' is a hard link to '%s', not in the layer", o->layer,
                                       name, hl);
                remove_existing(d, base, false);
                if (linkat(tfd, "", d, base, AT_EMPTY_PATH) < 0 &&
                    linkat(tp, tbase, d, base, 0) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': hard link", o->layer, name);
                return 0;
        }
        switch (type) {
        case AE_IFDIR:
                if ((r = remove_existing(d, base, true)) < 0)
                        return err_sys(err, r, "layer %s: entry '%s'", o->layer, name);
                if (r == 0 && mkdirat(d, base, 0700) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': mkdir", o->layer, name);
                *fix = xrealloc(*fix, (*n_fix + 1) * sizeof(**fix));
                (*fix)[(*n_fix)++] = (struct dir_fixup){ xstrdup(path), mode,
                                                         { DL(LIBARCHIVE, archive_entry_mtime)(e), DL(LIBARCHIVE, archive_entry_mtime_nsec)(e) } };
                break;
        case AE_IFREG: {
                remove_existing(d, base, false);
                _cleanup_close_ int fd = openat(d, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': create", o->layer, name);
                if ((r = write_data(a, fd, o, (uint64_t) DL(LIBARCHIVE, archive_entry_size)(e), name, err)) < 0)
                        return r;
                if (ftruncate(fd, DL(LIBARCHIVE, archive_entry_size)(e)) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s'", o->layer, name);
                break;
        }
        case AE_IFLNK:
                remove_existing(d, base, false);
                if (symlinkat(DL(LIBARCHIVE, archive_entry_symlink)(e) ? DL(LIBARCHIVE, archive_entry_symlink)(e) : "", d, base) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': symlink", o->layer, name);
                break;
        case AE_IFCHR:
        case AE_IFBLK:
                if (!o->allow_devices) {
                        /* a root filesystem's own /dev (mmdebstrap and sbuild chroots ship
                         * console, null, ...): containers get their /dev from den, so these
                         * are left out; a device node anywhere else is refused */
                        if (strncmp(path, "dev/", 4) == 0) {
                                st->skipped_devices++;
                                return 0;
                        }
                        return err_set(err, -EPERM, "layer %s: entry '%s' is a device node, refused without privileges",
                                       o->layer, name);
                }
                remove_existing(d, base, false);
                if (mknodat(d, base, type | mode, DL(LIBARCHIVE, archive_entry_rdev)(e)) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': mknod", o->layer, name);
                break;
        case AE_IFIFO:
                remove_existing(d, base, false);
                if (mkfifoat(d, base, mode) < 0)
                        return err_sys(err, -errno, "layer %s: entry '%s': mkfifo", o->layer, name);
                break;
        default:
                return err_set(err, -EINVAL, "layer %s: entry '%s' has an unsupported type", o->layer, name);
        }
        if (o->chown && fchownat(d, base, (uid_t) uid, (gid_t) gid, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == EINVAL ? err_set(err, -EINVAL, "layer %s: entry '%s': its owner %lld:%lld is not among the ids "
                                                               "den maps (/etc/subuid, /etc/subgid)", o->layer, name,
                                                 (long long) uid, (long long) gid)
                                       : err_sys(err, -errno, "layer %s: entry '%s': owner %lld:%lld", o->layer, name,
                                                 (long long) uid, (long long) gid);
        if (type != AE_IFLNK && type != AE_IFDIR && fchmodat(d, base, mode, 0) < 0)
                return err_sys(err, -errno, "layer %s: entry '%s': chmod", o->layer, name);
        /* xattrs of regular files and directories; what the host refuses is left out */
        const char *xn;
        const void *xv;
        size_t xs;
        if (DL(LIBARCHIVE, archive_entry_xattr_reset)(e) > 0 && (type == AE_IFREG || type == AE_IFDIR)) {
                _cleanup_close_ int f = openat(d, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                while (f >= 0 && DL(LIBARCHIVE, archive_entry_xattr_next)(e, &xn, &xv, &xs) == ARCHIVE_OK)
                        if (strncmp(xn, "trusted.overlay.", 16) != 0 && strncmp(xn, "user.overlay.", 13) != 0)
                                fsetxattr(f, xn, xv, xs, 0);
        }
        if (type != AE_IFDIR) {
                struct timespec ts[2] = { { DL(LIBARCHIVE, archive_entry_mtime)(e), DL(LIBARCHIVE, archive_entry_mtime_nsec)(e) },
                                          { DL(LIBARCHIVE, archive_entry_mtime)(e), DL(LIBARCHIVE, archive_entry_mtime_nsec)(e) } };
                utimensat(d, base, ts, AT_SYMLINK_NOFOLLOW);
        }
        return 0;
}

static struct archive *reader(int fd)
{
        struct archive *a = DL(LIBARCHIVE, archive_read_new)();
        DL(LIBARCHIVE, archive_read_support_filter_all)(a);
        DL(LIBARCHIVE, archive_read_support_format_tar)(a);
        DL(LIBARCHIVE, archive_read_support_format_gnutar)(a);
        if (DL(LIBARCHIVE, archive_read_open_fd)(a, fd, 1 << 16) != ARCHIVE_OK) {
                return a; /* the caller reports archive_error_string */
        }
        return a;
}

int layer_unpack(int archive_fd, int dest_fd, const struct unpack_opts *o, struct unpack_stats *ret, struct err *err)
{
        if (!dl_available(LIBARCHIVE))
                return err_set(err, -ENOSYS, "layer %s: %s is not installed (package libarchive13)", o->layer, LIBARCHIVE);
        _cleanup_(ar_freep) struct archive *a = reader(archive_fd);
        struct archive_entry *e;
        struct unpack_stats st = { 0 };
        struct dir_fixup *fix = NULL;
        size_t n_fix = 0;
        int r = 0, ar;

        if (DL(LIBARCHIVE, archive_errno)(a) != 0 && DL(LIBARCHIVE, archive_error_string)(a))
                return err_set(err, -EINVAL, "layer %s: %s", o->layer, DL(LIBARCHIVE, archive_error_string)(a));
        while ((ar = DL(LIBARCHIVE, archive_read_next_header)(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
                if ((r = one_entry(a, e, dest_fd, o, &st, &fix, &n_fix, err)) < 0)
                        break;
        }
        if (r == 0 && ar != ARCHIVE_EOF)
                r = err_set(err, -EINVAL, "layer %s: not a valid archive: %s", o->layer,
                            DL(LIBARCHIVE, archive_error_string)(a) ? DL(LIBARCHIVE, archive_error_string)(a) : "truncated");
        /* directories last, deepest first: their modes may forbid writing and
         * their mtimes change with every entry */
        for (size_t i = n_fix; i-- > 0;) {
                if (r == 0) {
                        _cleanup_close_ int dfd = open_beneath(dest_fd, fix[i].path, O_RDONLY | O_DIRECTORY);
                        if (dfd >= 0) {
                                fchmod(dfd, fix[i].mode);
                                struct timespec ts[2] = { fix[i].mtime, fix[i].mtime };
                                futimens(dfd, ts);
                        }
                }
                free(fix[i].path);
        }
        free(fix);
        if (r == 0 && ret)
                *ret = st;
        return r;
}

int layer_decompress(int archive_fd, int out_fd, uint64_t max, struct err *err)
{
        return layer_decompress_hashed(archive_fd, out_fd, max, NULL, NULL, err);
}

/* a decompressor of fd (any filter libarchive knows, or none), positioned at its data */
static int raw_open(int fd, struct archive **ret, struct err *err)
{
        if (!dl_available(LIBARCHIVE))
                return err_set(err, -ENOSYS, "%s is not installed (package libarchive13)", LIBARCHIVE);
        _cleanup_(ar_freep) struct archive *a = DL(LIBARCHIVE, archive_read_new)();
        struct archive_entry *e;
        DL(LIBARCHIVE, archive_read_support_filter_all)(a);
        DL(LIBARCHIVE, archive_read_support_format_raw)(a);
        if (DL(LIBARCHIVE, archive_read_open_fd)(a, fd, 1 << 16) != ARCHIVE_OK ||
            DL(LIBARCHIVE, archive_read_next_header)(a, &e) != ARCHIVE_OK)
                return err_set(err, -EINVAL, "not an archive: %s",
                               DL(LIBARCHIVE, archive_error_string)(a) ? DL(LIBARCHIVE, archive_error_string)(a) : "empty");
        *ret = TAKE_PTR(a);
        return 0;
}

int layer_decompress_hashed(int archive_fd, int out_fd, uint64_t max, struct digest_ctx *hash, uint64_t *ret_total,
                            struct err *err)
{
        _cleanup_(ar_freep) struct archive *a = NULL;
        int r = raw_open(archive_fd, &a, err);
        if (r < 0)
                return r;
        char buf[1 << 16];
        uint64_t total = 0;
        la_ssize_t n;
        while ((n = DL(LIBARCHIVE, archive_read_data)(a, buf, sizeof(buf))) > 0) {
                total += (uint64_t) n;
                if (max && total > max)
                        return err_set(err, -EFBIG, "larger than %llu bytes uncompressed", (unsigned long long) max);
                if (hash)
                        digest_update(hash, buf, (size_t) n);
                if (out_fd >= 0 && fs_write_all(out_fd, buf, (size_t) n) < 0)
                        return err_sys(err, -errno, "write");
        }
        if (n < 0)
                return err_set(err, -EINVAL, "cannot decompress: %s", DL(LIBARCHIVE, archive_error_string)(a));
        if (ret_total)
                *ret_total = total;
        return 0;
}

/* ---- den import: a tar read to its end-of-archive marker, no further ---- */

struct tee {
        struct archive *raw; /* the decompressor */
        int out;
        uint64_t total, max;
        char buf[1 << 16];
};

/* the tar reader's input: decompressed bytes, each also written to out */
static la_ssize_t tee_read(struct archive *a, void *data, const void **ret)
{
        struct tee *t = data;
        la_ssize_t n = DL(LIBARCHIVE, archive_read_data)(t->raw, t->buf, sizeof(t->buf));
        if (n < 0) {
                DL(LIBARCHIVE, archive_set_error)(a, EINVAL, "cannot decompress: %s",
                                                  DL(LIBARCHIVE, archive_error_string)(t->raw));
                return -1;
        }
        t->total += (uint64_t) n;
        if (t->max && t->total > t->max) {
                DL(LIBARCHIVE, archive_set_error)(a, EFBIG, "larger than %llu bytes uncompressed",
                                                  (unsigned long long) t->max);
                return -1;
        }
        if (n > 0 && fs_write_all(t->out, t->buf, (size_t) n) < 0) {
                DL(LIBARCHIVE, archive_set_error)(a, errno, "write: %s", strerror(errno));
                return -1;
        }
        *ret = t->buf;
        return n;
}

int layer_decompress_tar(int archive_fd, int out_fd, const struct unpack_opts *o, struct err *err)
{
        _cleanup_(ar_freep) struct archive *raw = NULL;
        struct archive_entry *e;
        int ar, r = raw_open(archive_fd, &raw, err);
        if (r < 0)
                return err_wrap(err, "layer %s", o->layer);
        _cleanup_free_ struct tee *t = xmalloc(sizeof(*t));
        *t = (struct tee){ .raw = raw, .out = out_fd,
                           .max = o->max_bytes ? o->max_bytes + o->max_bytes / 2 + (1u << 20) : 0 };
        _cleanup_(ar_freep) struct archive *tar = DL(LIBARCHIVE, archive_read_new)();
        DL(LIBARCHIVE, archive_read_support_format_tar)(tar);
        DL(LIBARCHIVE, archive_read_support_format_gnutar)(tar);
        struct unpack_stats st = { 0 };
        if (DL(LIBARCHIVE, archive_read_open)(tar, t, NULL, tee_read, NULL) != ARCHIVE_OK)
                return err_set(err, -EINVAL, "layer %s: not a tar archive: %s", o->layer, DL(LIBARCHIVE, archive_error_string)(tar));
        while ((ar = DL(LIBARCHIVE, archive_read_next_header)(tar, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
                const char *full = DL(LIBARCHIVE, archive_entry_pathname)(e);
                char sbuf[200];
                if ((r = layer_limits_count(e, o, &st, short_name(full ? full : "", sbuf), err)) < 0)
                        return r;
                if (DL(LIBARCHIVE, archive_read_data_skip)(tar) != ARCHIVE_OK) {
                        ar = ARCHIVE_FATAL;
                        break;
                }
        }
        if (ar != ARCHIVE_EOF)
                return err_set(err, -EINVAL, "layer %s: not a valid tar archive: %s", o->layer,
                               DL(LIBARCHIVE, archive_error_string)(tar) ? DL(LIBARCHIVE, archive_error_string)(tar) : "truncated");
        /* a block of zeros is an end-of-archive marker: /dev/zero is an empty tar */
        if (st.entries == 0)
                return err_set(err, -EINVAL, "layer %s: an empty archive (it begins with an end-of-archive marker)", o->layer);
        return 0;
}
