/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the keeper prepares for a command it starts, apart from the loop: the
 * user of the request looked up in the image, and a network (and sysfs) of the
 * command's own.  Nothing here may block on what the image holds. */
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "command.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/process.h"
#include "lib/net/net.h"

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* USER[:GROUP], names looked up in the container's own /etc/passwd and /etc/group
 * (we are inside its root); supplementary groups from /etc/group.  A file that
 * cannot be read fails the request when a name must be looked up in it. */
int command_resolve_user(const char *spec, json_t **ret, struct err *err)
{
        _cleanup_free_ char *copy = xstrdup(spec), *pw = NULL, *gr = NULL;
        char *grp = strchr(copy, ':');
        if (grp)
                *grp++ = '\0';
        const char *uname = NULL;
        long uid = -1, gid = -1;
        struct err pe = { 0 }, ge = { 0 };
        if (process_read_etc("/etc/passwd", &pw, &pe) < 0 && !all_digits(copy))
                return err_set(err, pe.code, "user '%s': %s", copy, pe.msg);
        if (process_read_etc("/etc/group", &gr, &ge) < 0 && ((grp && !all_digits(grp)) || !all_digits(copy)))
                return err_set(err, ge.code, "user '%s': %s", spec, ge.msg);
        if (all_digits(copy))
                uid = atol(copy);
        char *save = NULL;
        for (char *l = pw ? strtok_r(pw, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                char *f[7];
                if (process_etc_fields(l, f, 7) < 4)
                        continue;
                if ((uid < 0 && strcmp(f[0], copy) == 0) || (uid >= 0 && all_digits(f[2]) && atol(f[2]) == uid)) {
                        uname = f[0];
                        uid = atol(f[2]);
                        gid = atol(f[3]);
                        break;
                }
        }
        if (uid < 0)
                return err_set(err, -ENOENT, "user '%s' not found in the container's /etc/passwd", copy);
        if (gid < 0)
                gid = 0;
        json_t *groups = json_array();
        save = NULL;
        for (char *l = gr ? strtok_r(gr, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                char *f[4];
                if (process_etc_fields(l, f, 4) < 3)
                        continue;
                if (grp && !all_digits(grp) && strcmp(f[0], grp) == 0)
                        gid = atol(f[2]);
                if (uname && f[3]) {
                        _cleanup_free_ char *members = xstrdup(f[3]);
                        char *s2 = NULL;
                        for (char *m = strtok_r(members, ",", &s2); m; m = strtok_r(NULL, ",", &s2))
                                if (strcmp(m, uname) == 0)
                                        json_array_append_new(groups, json_integer(atol(f[2])));
                }
        }
        if (grp && all_digits(grp))
                gid = atol(grp);
        else if (grp && gid < 0) {
                json_decref(groups);
                return err_set(err, -ENOENT, "group '%s' not found in the container's /etc/group", grp);
        }
        *ret = json_pack("{s:I,s:I,s:o}", "uid", (json_int_t) uid, "gid", (json_int_t) gid, "additionalGids", groups);
        return 0;
}

/* mountinfo's octal escapes (\040 for a space) undone in place */
static void unescape_octal(char *s)
{
        char *w = s;
        for (char *r = s; *r; w++)
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w = (char) ((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
                        r += 4;
                } else
                        *w = *r++;
        *w = '\0';
}

#define MAX_SYS_MOUNTS 64

/* the mount points right under the mount on /sys (the cgroup tree, the masked
 * /sys/firmware, rootless with the host's network the host's own), in order */
static int sys_submounts(char **ret, size_t *n_ret, struct err *err)
{
        _cleanup_free_ char *mi = NULL;
        int r = fs_read_file("/proc/self/mountinfo", 4u << 20, &mi, NULL);
        if (r < 0)
                return err_sys(err, r, "cannot read /proc/self/mountinfo");
        long sys_id = -1;
        size_t n = 0;
        char *save = NULL;
        /* a mount comes after its parent: one pass finds /sys (the top one) and its children */
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                long id, parent;
                char where[4096];
                if (sscanf(l, "%ld %ld %*s %*s %4095s", &id, &parent, where) != 3)
                        continue;
                unescape_octal(where);
                if (strcmp(where, "/sys") == 0)
                        sys_id = id;
                else if (parent == sys_id && sys_id >= 0) {
                        if (n == MAX_SYS_MOUNTS)
                                return err_set(err, -E2BIG, "more than %d mounts on /sys", MAX_SYS_MOUNTS);
                        ret[n++] = xstrdup(where);
                }
        }
        *n_ret = n;
        return 0;
}

/* A command with a network namespace of its own (den session exec --network
 * none) sees that namespace's sysfs, as a container of its own network does: it
 * gets a mount namespace of its own too, a fresh read-only sysfs on /sys, and
 * the mounts that were on the old /sys moved onto the new one (a mask left out
 * would uncover what it hid).  Rootless, the new network namespace belongs to the
 * container's user namespace, so the kernel lets its root mount a sysfs of it. */
int command_own_netns(struct err *err)
{
        if (unshare(CLONE_NEWNET) < 0)
                return err_sys(err, -errno, "cannot give the command a network namespace of its own");
        net_loopback_up();
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return err_sys(err, -errno, "cannot give the command a mount namespace of its own");
        char *where[MAX_SYS_MOUNTS];
        int trees[MAX_SYS_MOUNTS];
        size_t n = 0, i;
        int r = sys_submounts(where, &n, err);
        for (i = 0; r >= 0 && i < n; i++) {
                trees[i] = (int) syscall(SYS_open_tree, AT_FDCWD, where[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (trees[i] < 0)
                        r = err_sys(err, -errno, "cannot take the mount on '%s' along", where[i]);
        }
        if (r >= 0 && mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                r = err_sys(err, -errno, "cannot mount a sysfs of the command's network namespace");
        for (size_t k = 0; k < n; k++) {
                if (r >= 0 && k < i &&
                    syscall(SYS_move_mount, trees[k], "", AT_FDCWD, where[k], MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        r = err_sys(err, -errno, "cannot move the mount on '%s' onto the new sysfs", where[k]);
                if (k < i)
                        close(trees[k]);
                free(where[k]);
        }
        return r;
}
