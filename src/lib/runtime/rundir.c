/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

/* A run or state directory is opened once and checked on its fd
 * (fs_open_private_dir); from then on it is named "/proc/self/fd/N", so every
 * later lookup resolves through the directory that was checked, never through
 * its name again: another user may swap a name in /tmp at any moment (rename
 * RENAME_EXCHANGE), and fs.protected_symlinks, off on some hosts, only covers
 * symlinks anyway.  The fds stay open for the life of the process. */
#define RUNDIR_MAX 16

static struct {
        char *path; /* as the caller named it */
        char *real; /* its absolute path when opened, for runtime_dir_enter_mntns() */
        int fd;
} pinned[RUNDIR_MAX];
static size_t n_pinned;

int runtime_dir_pin(const char *path, unsigned flags, const char *hint, char **ret, struct err *err)
{
        for (size_t i = 0; i < n_pinned; i++)
                if (strcmp(pinned[i].path, path) == 0) {
                        *ret = xasprintf("/proc/self/fd/%d", pinned[i].fd);
                        return 0;
                }
        int fd = fs_open_private_dir(path, flags, hint, err);
        if (fd < 0)
                return fd;
        /* past the table the fd is kept all the same: the name below uses it */
        *ret = xasprintf("/proc/self/fd/%d", fd);
        if (n_pinned < RUNDIR_MAX) {
                pinned[n_pinned].path = xstrdup(path);
                pinned[n_pinned].real = runtime_dir_real(*ret);
                pinned[n_pinned++].fd = fd;
        }
        return 0;
}

int runtime_dir_enter_mntns(struct err *err)
{
        for (size_t i = 0; i < n_pinned; i++) {
                /* the same directory, now reached through this namespace's
                 * mounts: its name is looked up once more, and what it finds
                 * must be the very directory that was checked */
                _cleanup_close_ int fd = open(pinned[i].real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                struct stat was, now;
                bool same = fd >= 0 && fstat(fd, &now) == 0 && fstat(pinned[i].fd, &was) == 0 &&
                            was.st_dev == now.st_dev && was.st_ino == now.st_ino;
                if (!same)
                        return err_set(err, -EBUSY, "'%s' was replaced while in use (by another user?)",
                                       pinned[i].real);
                if (dup3(fd, pinned[i].fd, O_CLOEXEC) < 0)
                        return err_sys(err, -errno, "cannot open '%s' again", pinned[i].real);
        }
        return 0;
}

void runtime_dir_close_all(void)
{
        for (size_t i = 0; i < n_pinned; i++) {
                close(pinned[i].fd);
                free(pinned[i].path);
                free(pinned[i].real);
        }
        n_pinned = 0;
}

char *runtime_dir_real(const char *pinned_path)
{
        char buf[4096];
        ssize_t n = readlink(pinned_path, buf, sizeof(buf) - 1);
        if (n <= 0)
                return xstrdup(pinned_path);
        buf[n] = '\0';
        return xstrdup(buf);
}
