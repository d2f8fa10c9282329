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
                        if ((q = fs_copy_tree(src, dst, r->userxattr ? "user.overlay.opaque" : "trusted.overlay.opaque", err)) < 0)
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
