/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "storage.h"

static int fsconfig_str(int fd, const char *key, const char *val)
{
        return syscall(SYS_fsconfig, fd, FSCONFIG_SET_STRING, key, val, 0) < 0 ? -errno : 0;
}

static int open_overlay(const struct storage_root *r, bool lowerdir_plus, struct err *err)
{
        int fs = (int) syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return err_sys(err, -errno, "overlayfs is not available");
        int q = 0;
        if (lowerdir_plus) {
                for (size_t i = 0; i < r->n_lowers && q == 0; i++)
                        q = fsconfig_str(fs, "lowerdir+", r->lowers[i]);
        } else {
                size_t len = 1;
                for (size_t i = 0; i < r->n_lowers; i++)
                        len += strlen(r->lowers[i]) + 1;
                _cleanup_free_ char *all = xmalloc(len);
                all[0] = '\0';
                for (size_t i = 0; i < r->n_lowers; i++) {
                        if (i)
                                strcat(all, ":");
                        strcat(all, r->lowers[i]);
                }
                q = fsconfig_str(fs, "lowerdir", all);
        }
        if (q == 0)
                q = fsconfig_str(fs, "upperdir", r->upper);
        if (q == 0)
                q = fsconfig_str(fs, "workdir", r->work);
        if (q == 0 && r->userxattr && syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
                q = -errno;
        if (q == 0 && syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                q = -errno;
        if (q < 0) {
                close(fs);
                return q;
        }
        return fs;
}

int storage_mount_overlay(const struct storage_root *r, int target_fd, struct err *err)
{
        int fs = open_overlay(r, true, err);
        if (fs == -EINVAL)
                fs = open_overlay(r, false, err);
        if (fs < 0)
                return err->code ? fs : err_sys(err, fs, "cannot set up the overlay of %zu layers", r->n_lowers);
        _cleanup_close_ int fsfd = fs;
        _cleanup_close_ int m = (int) syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
        if (m < 0)
                return err_sys(err, -errno, "cannot mount the overlay");
        if (syscall(SYS_move_mount, m, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return err_sys(err, -errno, "cannot attach the overlay");
        return 0;
}
