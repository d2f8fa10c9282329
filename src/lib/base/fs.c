/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "macro.h"

char *path_clean_relative(const char *path)
{
        size_t n = strlen(path);
        char *out = xmalloc(n + 1);
        size_t o = 0;
        const char *p = path;

        while (*p) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *e = strchrnul(p, '/');
                size_t len = (size_t) (e - p);
                if (len == 1 && p[0] == '.') {
                } else if (len == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                } else {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, len);
                        o += len;
                }
                p = e;
        }
        out[o] = '\0';
        return out;
}

int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
        struct open_how how = {
                .flags = (unsigned) flags | O_CLOEXEC,
                .mode = (flags & O_CREAT) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        while (*path == '/')
                path++;
        if (!*path)
                path = ".";
        int fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

static int resolve_create_once(int root_fd, char *clean, enum fs_create how, mode_t mode, char **ret_redirect,
                               struct err *err, const char *path)
{
        _cleanup_close_ int cur = fs_open_in_root(root_fd, "", O_PATH | O_DIRECTORY, 0);
        char *p = clean;

        if (cur < 0)
                return err_sys(err, cur, "cannot open the root");
        if (!*p)
                return TAKE_FD(cur);
        /* fast path: it exists already */
        int fd = fs_open_in_root(root_fd, clean, O_PATH, 0);
        if (fd >= 0)
                return fd;
        if (fd != -ENOENT || how == FS_CREATE_NONE)
                return err_sys(err, fd, "cannot resolve '%s' in the container root", path);

        while (*p) {
                char *slash = strchr(p, '/');
                bool last = !slash;
                if (slash)
                        *slash = '\0';
                /* resolve the prefix up to here again inside the root: a symlink met
                 * on the way is followed as if the root were "/" */
                int next = fs_open_in_root(root_fd, clean, O_PATH, 0);
                if (next == -ENOENT) {
                        int r;
                        if (last && how == FS_CREATE_FILE) {
                                r = openat(cur, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                                if (r >= 0)
                                        close(r);
                        } else
                                r = mkdirat(cur, p, last ? mode : 0755);
                        if (r < 0 && errno == EEXIST) {
                                /* a dangling symlink: go on with its target, still
                                 * inside the root */
                                char target[4096];
                                ssize_t n = readlinkat(cur, p, target, sizeof(target) - 1);
                                if (n < 0)
                                        return err_sys(err, -errno, "cannot resolve '%s' in the container root", path);
                                target[n] = '\0';
                                *(p - (p > clean ? 1 : 0)) = '\0';
                                const char *rest = slash ? slash + 1 : "";
                                *ret_redirect = target[0] == '/' ? xasprintf("%s/%s", target, rest)
                                                                 : xasprintf("%s/%s/%s", p > clean ? clean : "", target, rest);
                                return 0;
                        }
                        if (r < 0)
                                return err_sys(err, -errno, "cannot create '%s' in the container root", path);
                        next = fs_open_in_root(root_fd, clean, O_PATH, 0);
                }
                if (next < 0)
                        return err_sys(err, next, "cannot resolve '%s' in the container root", path);
                close(cur);
                cur = next;
                if (slash)
                        *slash = '/';
                if (last)
                        break;
                p = slash + 1;
        }
        return TAKE_FD(cur);
}

int fs_resolve_create(int root_fd, const char *path, enum fs_create how, mode_t mode, struct err *err)
{
        _cleanup_free_ char *clean = path_clean_relative(path);
        for (int i = 0; i < 40; i++) {
                char *redirect = NULL;
                int r = resolve_create_once(root_fd, clean, how, mode, &redirect, err, path);
                if (r != 0 || !redirect)
                        return r;
                free(clean);
                clean = path_clean_relative(redirect);
                free(redirect);
        }
        return err_set(err, -ELOOP, "cannot resolve '%s' in the container root: too many symlinks", path);
}

ssize_t fs_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        size_t done = 0;
        while (done < len) {
                ssize_t n = write(fd, p + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) n;
        }
        return (ssize_t) done;
}

ssize_t fs_read_all(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t done = 0;
        while (done < len) {
                ssize_t n = read(fd, p + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

int fs_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
        size_t cap = 4096, len = 0;
        char *buf = xmalloc(cap + 1);
        for (;;) {
                if (len == cap) {
                        if (cap >= max) {
                                free(buf);
                                return -EFBIG;
                        }
                        cap *= 2;
                        buf = xrealloc(buf, cap + 1);
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        free(buf);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > max) {
                free(buf);
                return -EFBIG;
        }
        buf[len] = '\0';
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fs_read_fd(fd, max, ret, ret_len);
}

int fs_write_file(const char *path, const char *data, size_t len)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
        if (fd < 0)
                return -errno;
        ssize_t n = fs_write_all(fd, data, len);
        return n < 0 ? (int) n : 0;
}

static int write_atomic(int dir_fd, const char *name, const char *data, size_t len, mode_t mode, bool sync)
{
        char tmp[256];
        snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, getpid());
        _cleanup_close_ int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                                        mode);
        if (fd < 0)
                return -errno;
        ssize_t n = fs_write_all(fd, data, len);
        if (n < 0 || (sync && fsync(fd) < 0)) {
                int r = n < 0 ? (int) n : -errno;
                unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                int r = -errno;
                unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

int fs_write_atomic(int dir_fd, const char *name, const char *data, size_t len, mode_t mode)
{
        return write_atomic(dir_fd, name, data, len, mode, true);
}

int fs_write_replace(int dir_fd, const char *name, const char *data, size_t len, mode_t mode)
{
        return write_atomic(dir_fd, name, data, len, mode, false);
}

int fs_mkdir_p(const char *path, mode_t mode)
{
        /* mkdir("") fails with ENOENT; the loop below would start past the end */
        if (!*path)
                return -ENOENT;
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int fs_open_private_dir(const char *path, unsigned flags, const char *hint, struct err *err)
{
        if (!*path)
                return err_set(err, -EINVAL, "an empty path is not a directory");
        /* "dir/" would follow a symlink named dir despite O_NOFOLLOW */
        _cleanup_free_ char *p = xstrdup(path);
        for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
                p[n - 1] = '\0';
        bool made = false;
        if (flags & FS_PRIVATE_CREATE) {
                char *slash = strrchr(p, '/');
                if (slash && slash != p) {
                        *slash = '\0';
                        int r = fs_mkdir_p(p, 0700);
                        *slash = '/';
                        if (r < 0)
                                return err_sys(err, r, "cannot create '%s'", path);
                }
                if (mkdir(p, 0700) == 0)
                        made = true;
                else if (errno != EEXIST)
                        return err_sys(err, -errno, "cannot create '%s'", path);
        }
        /* one open, no symlink followed at the end: everything below is
         * checked on this fd, so a name swapped after it changes nothing */
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
                return err_set(err, -ENOTDIR, "'%s' is a symbolic link or not a directory: %s", path, hint);
        if (fd < 0)
                return err_sys(err, -errno, "cannot open '%s'", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return err_sys(err, -errno, "cannot stat '%s'", path);
        if (st.st_uid != geteuid())
                return err_set(err, -EPERM, "'%s' belongs to uid %u, not to uid %u: %s", path, (unsigned) st.st_uid,
                               (unsigned) geteuid(), hint);
        /* ours and just made: the umask may have taken more than 0700 leaves */
        if (made && (flags & FS_PRIVATE_0700) && fchmod(fd, 0700) == 0)
                st.st_mode = (st.st_mode & ~(mode_t) 07777) | 0700;
        if ((flags & FS_PRIVATE_0700) && (st.st_mode & 07777) != 0700)
                return err_set(err, -EPERM, "'%s' has mode %04o, not 0700: %s", path, (unsigned) (st.st_mode & 07777),
                               hint);
        if (st.st_mode & 022)
                return err_set(err, -EPERM, "'%s' has mode %04o: group or others may write to it: %s", path,
                               (unsigned) (st.st_mode & 07777), hint);
        return TAKE_FD(fd);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int fs_dir_names(int dirfd, char ***ret, size_t *ret_n)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        size_t n = 0, cap = 64;
        char **v = xcalloc(cap, sizeof(char *));
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n + 2 > cap)
                        v = xrealloc(v, (cap *= 2) * sizeof(char *));
                v[n++] = xstrdup(de->d_name);
                v[n] = NULL;
        }
        closedir(d);
        qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}

int fs_rm_rf_at(int dfd, const char *name)
{
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* a directory of ours without permissions (overlay's work/work is 000) */
        if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOTDIR || errno == ELOOP)
                        return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
                return errno == ENOENT ? 0 : -errno;
        }
        DIR *d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int q = fs_rm_rf_at(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int fs_rm_rf(const char *path)
{
        return fs_rm_rf_at(AT_FDCWD, path);
}

uint64_t fs_disk_usage(int dfd, const char *name)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        uint64_t total = (uint64_t) st.st_blocks * 512;
        if (!S_ISDIR(st.st_mode))
                return total;
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        total += fs_disk_usage(dirfd(d), de->d_name);
        if (d)
                closedir(d);
        else if (fd >= 0)
                close(fd);
        return total;
}

static int copy_tree(int src, int dst, const char *opaque_xattr, int depth, struct err *err)
{
        if (depth > 256)
                return err_set(err, -ELOOP, "copy: a tree deeper than 256 levels");
        int dfd = fcntl(src, F_DUPFD_CLOEXEC, 3);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d)
                return err_sys(err, -errno, "copy: cannot read a directory");
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st;
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (opaque_xattr && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        fs_rm_rf_at(dst, n); /* a whiteout */
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int s2 = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        char v[2];
                        bool opaque = opaque_xattr && s2 >= 0 && fgetxattr(s2, opaque_xattr, v, sizeof(v)) == 1 && v[0] == 'y';
                        struct stat dst_st;
                        if (opaque || (fstatat(dst, n, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst_st.st_mode)))
                                fs_rm_rf_at(dst, n);
                        if (mkdirat(dst, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
                                r = err_sys(err, -errno, "copy: mkdir '%s'", n);
                                break;
                        }
                        /* owners kept as far as this user namespace maps them */
                        if (fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                            fchmodat(dst, n, st.st_mode & 07777, 0) < 0) {
                        }
                        _cleanup_close_ int d2 = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s2 < 0 || d2 < 0) {
                                r = err_sys(err, -errno, "copy: '%s'", n);
                                break;
                        }
                        r = copy_tree(s2, d2, opaque_xattr, depth + 1, err);
                        continue;
                }
                fs_rm_rf_at(dst, n);
                if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int in = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int out = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                        char buf[1 << 16];
                        ssize_t k;
                        if (in < 0 || out < 0) {
                                r = err_sys(err, -errno, "copy: '%s'", n);
                                break;
                        }
                        while ((k = read(in, buf, sizeof(buf))) > 0)
                                if (fs_write_all(out, buf, (size_t) k) < 0)
                                        break;
                        if (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0) {
                        }
                } else if (S_ISLNK(st.st_mode)) {
                        char t[4096];
                        ssize_t l = readlinkat(src, n, t, sizeof(t) - 1);
                        if (l >= 0) {
                                t[l] = '\0';
                                if (symlinkat(t, dst, n) < 0 ||
                                    fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
                                }
                        }
                } else if (mknodat(dst, n, st.st_mode, st.st_rdev) == 0 &&
                           fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
                }
        }
        closedir(d);
        return r;
}

int fs_copy_tree(int src, int dst, const char *opaque_xattr, struct err *err)
{
        return copy_tree(src, dst, opaque_xattr, 0, err);
}
