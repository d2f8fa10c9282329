/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/linux/mount.h"
#include "storage.h"

static const char *const names[] = { "auto", "overlay", "fuse-overlayfs", "copy" };

int storage_driver_parse(const char *s, enum storage_driver *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = (enum storage_driver) i;
                        return 0;
                }
        return -EINVAL;
}

const char *storage_driver_name(enum storage_driver d)
{
        return names[d];
}

int storage_mount_fuse(const struct storage_root *r, const char *target, struct err *err)
{
        if (access("/usr/bin/fuse-overlayfs", X_OK) < 0)
                return err_set(err, -ENOENT, "fuse-overlayfs is not installed (package fuse-overlayfs)");
        /* we mount the FUSE filesystem ourselves and hand the daemon the fd
         * (libfuse's /dev/fd/N): the daemon then lives in a mount namespace of
         * its own, untouched by the pivot_root that follows, which would
         * otherwise make the mount its own root and deadlock it */
        _cleanup_close_ int fd = open("/dev/fuse", O_RDWR);
        if (fd < 0)
                return err_sys(err, -errno, "/dev/fuse is not usable (on some hosts it is mode 0600)");
        char data[160];
        snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions", fd);
        if (mount("fuse-overlayfs", target, "fuse.fuse-overlayfs", MS_NODEV, data) < 0)
                return err_sys(err, -errno, "cannot mount a FUSE filesystem on %s", target);
        size_t len = 64;
        for (size_t i = 0; i < r->n_lowers; i++)
                len += strlen(r->lowers[i]) + 1;
        _cleanup_free_ char *opts = xmalloc(len + strlen(r->upper) + strlen(r->work) + 64);
        strcpy(opts, "lowerdir=");
        for (size_t i = 0; i < r->n_lowers; i++) {
                if (i)
                        strcat(opts, ":");
                strcat(opts, r->lowers[i]);
        }
        sprintf(opts + strlen(opts), ",upperdir=%s,workdir=%s", r->upper, r->work);
        char mp[32];
        snprintf(mp, sizeof(mp), "/dev/fd/%d", fd);
        pid_t pid = fork();
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(126);
                int nul = open("/dev/null", O_RDWR);
                dup2(nul, 0);
                dup2(nul, 1);
                execl("/usr/bin/fuse-overlayfs", "fuse-overlayfs", "-o", opts, mp, (char *) NULL);
                _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) < 0) {
                umount2(target, MNT_DETACH);
                return err_sys(err, -errno, "fuse-overlayfs");
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                umount2(target, MNT_DETACH);
                return err_set(err, -EIO, "fuse-overlayfs failed (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        }
        return 0;
}

/* apply one layer onto the copy: whiteouts delete, opaque directories are emptied first */
static int copy_layer(int src, int dst, bool userxattr, int depth, struct err *err)
{
        if (depth > 256)
                return err_set(err, -ELOOP, "copy driver: a layer deeper than 256 levels");
        int dfd = fcntl(src, F_DUPFD_CLOEXEC, 3);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d)
                return err_sys(err, -errno, "copy driver: cannot read a layer");
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st;
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        fs_rm_rf_at(dst, n); /* a whiteout */
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int s2 = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        char v[2];
                        bool opaque = s2 >= 0 && fgetxattr(s2, userxattr ? "user.overlay.opaque" : "trusted.overlay.opaque",
                                                          v, sizeof(v)) == 1 && v[0] == 'y';
                        struct stat dst_st;
                        if (opaque || (fstatat(dst, n, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst_st.st_mode)))
                                fs_rm_rf_at(dst, n);
                        if (mkdirat(dst, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
                                r = err_sys(err, -errno, "copy driver: mkdir '%s'", n);
                                break;
                        }
                        /* owners kept as far as this user namespace maps them */
                        if (fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                            fchmodat(dst, n, st.st_mode & 07777, 0) < 0) {
                        }
                        _cleanup_close_ int d2 = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s2 < 0 || d2 < 0) {
                                r = err_sys(err, -errno, "copy driver: '%s'", n);
                                break;
                        }
                        r = copy_layer(s2, d2, userxattr, depth + 1, err);
                        continue;
                }
                fs_rm_rf_at(dst, n);
                if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int in = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int out = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                        char buf[1 << 16];
                        ssize_t k;
                        if (in < 0 || out < 0) {
                                r = err_sys(err, -errno, "copy driver: '%s'", n);
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

int storage_mount_copy(const struct storage_root *r, int target_fd, struct err *err)
{
        _cleanup_free_ char *done = xasprintf("%s.done", r->copy);
        int q;
        if (access(done, F_OK) < 0) {
                /* made once, base layer first; a half-made copy is made again */
                fs_rm_rf(r->copy);
                if (mkdir(r->copy, 0755) < 0)
                        return err_sys(err, -errno, "copy driver: cannot create %s", r->copy);
                _cleanup_close_ int dst = open(r->copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                for (size_t i = r->n_lowers; i-- > 0;) {
                        _cleanup_close_ int src = open(r->lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (src < 0 || dst < 0)
                                return err_sys(err, -errno, "copy driver: '%s'", r->lowers[i]);
                        if ((q = copy_layer(src, dst, r->userxattr, 0, err)) < 0)
                                return q;
                }
                int fd = open(done, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                if (fd >= 0)
                        close(fd);
        }
        _cleanup_close_ int src = open(r->copy, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (src < 0)
                return err_sys(err, -errno, "copy driver: '%s'", r->copy);
        return mount_bind_fd(src, target_fd, true, 0, err);
}

int storage_mount(const struct storage_root *r, enum storage_driver d, int target_fd, const char *target_path,
                  struct err *err)
{
        struct err e1 = { 0 };
        int q;
        if (d == STORAGE_OVERLAY || d == STORAGE_AUTO) {
                if ((q = storage_mount_overlay(r, target_fd, &e1)) == 0)
                        return STORAGE_OVERLAY;
                if (d == STORAGE_OVERLAY) {
                        *err = e1;
                        return q;
                }
        }
        struct err e2 = { 0 };
        if (d == STORAGE_FUSE_OVERLAYFS || d == STORAGE_AUTO) {
                if ((q = storage_mount_fuse(r, target_path, &e2)) == 0) {
                        if (d == STORAGE_AUTO)
                                log_warn("notice: kernel overlayfs is not usable here (%s); using fuse-overlayfs", e1.msg);
                        return STORAGE_FUSE_OVERLAYFS;
                }
                if (d == STORAGE_FUSE_OVERLAYFS) {
                        *err = e2;
                        return q;
                }
        }
        if ((q = storage_mount_copy(r, target_fd, err)) < 0)
                return q;
        if (d == STORAGE_AUTO)
                log_warn("notice: neither kernel overlayfs (%s) nor fuse-overlayfs (%s) is usable; using a plain copy",
                         e1.msg, e2.msg);
        return STORAGE_COPY;
}
