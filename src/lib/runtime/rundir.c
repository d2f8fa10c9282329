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

/* den's run directory: --runroot or $DEN_RUNROOT, else /run/den (root),
 * $XDG_RUNTIME_DIR/den, /tmp/den-<uid>; opened once, checked on the fd and
 * named through it from then on (runtime_dir_pin): *ret is "/proc/self/fd/N" */
int runtime_runroot_open(const char *given, char **ret, struct err *err)
{
        const char *e = getenv("DEN_RUNROOT"), *xdg = getenv("XDG_RUNTIME_DIR");
        const char *hint = "remove it or use --runroot";
        unsigned flags = FS_PRIVATE_CREATE;
        _cleanup_free_ char *p = NULL;
        struct stat st;
        if (given || (e && *e)) {
                p = xstrdup(given ? given : e);
                hint = "give --runroot a directory of your own";
        } else if (geteuid() == 0 && !runtime_in_userns())
                p = xstrdup("/run/den");
        else if (xdg && *xdg && stat(xdg, &st) == 0 && st.st_uid == geteuid())
                p = xasprintf("%s/den", xdg);
        else {
                /* a name in the shared /tmp: anyone may have made it first */
                p = xasprintf("/tmp/den-%u", geteuid());
                flags |= FS_PRIVATE_0700;
                hint = "set XDG_RUNTIME_DIR to a directory of yours or use --runroot";
        }
        int r = runtime_dir_pin(p, flags, hint, ret, err);
        return r < 0 ? err_wrap(err, "cannot use the run directory") : r;
}
