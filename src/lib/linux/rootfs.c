/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "rootfs.h"

static const struct spec_device default_devices[] = {
        { .path = "/dev/null", .type = 'c', .major = 1, .minor = 3, .mode = 0666 },
        { .path = "/dev/zero", .type = 'c', .major = 1, .minor = 5, .mode = 0666 },
        { .path = "/dev/full", .type = 'c', .major = 1, .minor = 7, .mode = 0666 },
        { .path = "/dev/random", .type = 'c', .major = 1, .minor = 8, .mode = 0666 },
        { .path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .mode = 0666 },
        { .path = "/dev/tty", .type = 'c', .major = 5, .minor = 0, .mode = 0666 },
};

/* The container's device list: the defaults it does not name, then its own. */
static size_t device_list(const struct spec *s, const struct spec_device ***ret)
{
        const struct spec_device **l = xcalloc(ELEMENTSOF(default_devices) + s->n_devices, sizeof(*l));
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_devices); i++) {
                bool given = false;
                for (size_t k = 0; k < s->n_devices; k++)
                        given |= strcmp(s->devices[k].path, default_devices[i].path) == 0;
                if (!given)
                        l[n++] = &default_devices[i];
        }
        for (size_t k = 0; k < s->n_devices; k++)
                l[n++] = &s->devices[k];
        *ret = l;
        return n;
}

static mode_t device_type(const struct spec_device *d)
{
        return d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
}

/* the host id of a container id, 0 (the overflow id inside) when unmapped */
static uint32_t host_id(const struct spec_idmap *m, size_t n, uint32_t id)
{
        for (size_t i = 0; i < n; i++)
                if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
                        return m[i].host_id + (id - m[i].container_id);
        return 0;
}

int rootfs_devices_prepare(const struct spec *s, int **ret_fds, size_t *ret_n, struct err *err)
{
        _cleanup_free_ const struct spec_device **devs = NULL;
        size_t n = device_list(s, &devs);
        _cleanup_close_ int fsfd = (int) syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
        if (fsfd < 0 || syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
            syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return err_sys(err, -errno, "cannot make a tmpfs for the device nodes");
        _cleanup_close_ int mfd = (int) syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
        if (mfd < 0)
                return err_sys(err, -errno, "cannot make a tmpfs for the device nodes");
        int *fds = xcalloc(n, sizeof(*fds));
        for (size_t i = 0; i < n; i++)
                fds[i] = -1;
        for (size_t i = 0; i < n; i++) {
                const struct spec_device *d = devs[i];
                char name[32];
                snprintf(name, sizeof(name), "%zu", i);
                if (mknodat(mfd, name, device_type(d) | (d->mode & 07777), makedev(d->major, d->minor)) < 0 ||
                    fchmodat(mfd, name, d->mode & 07777, 0) < 0 ||
                    fchownat(mfd, name, host_id(s->uid_mappings, s->n_uid_mappings, d->uid),
                             host_id(s->gid_mappings, s->n_gid_mappings, d->gid), AT_SYMLINK_NOFOLLOW) < 0) {
                        int e = -errno;
                        rootfs_devices_close(fds, n);
                        return err_sys(err, e, "device '%s': mknod", d->path);
                }
                /* a mount of the node alone, for the child to attach */
                fds[i] = (int) syscall(SYS_open_tree, mfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fds[i] < 0) {
                        int e = -errno;
                        rootfs_devices_close(fds, n);
                        return err_sys(err, e, "device '%s': cannot clone the node", d->path);
                }
        }
        *ret_fds = fds;
        *ret_n = n;
        return 0;
}

void rootfs_devices_close(int *fds, size_t n)
{
        for (size_t i = 0; fds && i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
}

/* node_fd >= 0: the host root's node (rootfs_devices_prepare) to attach; else
 * bind the host's when bind, or mknod */
static int make_device(int root_fd, const struct spec_device *d, bool bind, int node_fd, struct err *err)
{
        int r;
        if (node_fd >= 0 || bind) {
                /* in a user namespace mknod is refused: bind a node, as runc and
                 * crun do; rootless the host's own */
                _cleanup_close_ int src = node_fd >= 0 ? -1 : open(d->path, O_PATH | O_CLOEXEC);
                if (node_fd < 0 && src < 0)
                        return err_sys(err, -errno, "device '%s': not on the host to bind", d->path);
                _cleanup_close_ int t = fs_resolve_create(root_fd, d->path, FS_CREATE_FILE, 0600, err);
                if (t < 0)
                        return err_wrap(err, "device '%s'", d->path);
                /* nosuid and noexec as a device node needs neither (runc, crun) */
                if (node_fd >= 0)
                        r = mount_attach_fd(node_fd, t, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
                else
                        r = mount_bind_fd(src, t, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
                return r < 0 ? err_wrap(err, "device '%s'", d->path) : 0;
        }
        _cleanup_free_ char *clean = path_clean_relative(d->path);
        char *slash = strrchr(clean, '/');
        const char *name = slash ? slash + 1 : clean;
        if (slash)
                *slash = '\0';
        _cleanup_close_ int dir = fs_resolve_create(root_fd, slash ? clean : "", FS_CREATE_DIR, 0755, err);
        if (dir < 0)
                return err_wrap(err, "device '%s'", d->path);
        _cleanup_close_ int dfd = openat(dir, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(err, -errno, "device '%s'", d->path);
        unlinkat(dfd, name, 0);
        if (mknodat(dfd, name, device_type(d) | (d->mode & 07777), makedev(d->major, d->minor)) < 0)
                return err_sys(err, -errno, "device '%s': mknod", d->path);
        if (fchmodat(dfd, name, d->mode & 07777, 0) < 0 || fchownat(dfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return err_sys(err, -errno, "device '%s': chown", d->path);
        return 0;
}

static int make_dev(int root_fd, const struct spec *s, const struct mount_env *env, struct err *err)
{
        static const char *const links[][2] = { { "/proc/self/fd", "fd" },  { "/proc/self/fd/0", "stdin" },
                                                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                                                { "pts/ptmx", "ptmx" } };
        _cleanup_free_ const struct spec_device **devs = NULL;
        size_t n = device_list(s, &devs);
        int r;
        for (size_t i = 0; i < n; i++) {
                int node = env->dev_fds && i < env->n_dev_fds ? env->dev_fds[i] : -1;
                if ((r = make_device(root_fd, devs[i], env->in_userns, node, err)) < 0)
                        return r;
        }
        _cleanup_close_ int dev = fs_open_in_root(root_fd, "/dev", O_DIRECTORY | O_RDONLY, 0);
        if (dev < 0)
                return err_sys(err, dev, "cannot open /dev in the container root");
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                unlinkat(dev, links[i][1], 0);
                if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
                        return err_sys(err, -errno, "cannot create /dev/%s", links[i][1]);
        }
        return 0;
}

int rootfs_bind_console(int root_fd, int slave_fd, struct err *err)
{
        _cleanup_close_ int t = fs_resolve_create(root_fd, "/dev/console", FS_CREATE_FILE, 0600, err);
        if (t < 0 || mount_bind_fd(slave_fd, t, false, 0, err) < 0)
                return err_wrap(err, "/dev/console");
        return 0;
}

int rootfs_mount(const struct spec *s, const struct mount_op *ops, size_t n_ops, const struct mount_env *env,
                 struct err *err)
{
        /* nothing we mount may propagate back to the host: all of / becomes a
         * slave, or private when asked.  Not yet shared nor unbindable: the
         * root could not be bound (unbindable) nor pivoted into (pivot_root
         * refuses a shared new root or parent); rootfs_finish sets those on
         * the new / (crun's way; runc's rootfsParentMountPrivate) */
        unsigned long prop = s->rootfs_propagation & MS_PRIVATE ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
        int r;

        if (mount(NULL, "/", NULL, prop, NULL) < 0)
                return err_sys(err, -errno, "cannot make / non-shared");
        if (mount(s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_sys(err, -errno, "cannot bind the root '%s'", s->root_path);
        _cleanup_close_ int root_fd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return err_sys(err, -errno, "cannot open the root '%s'", s->root_path);

        bool dev_mounted = false;
        for (size_t i = 0; i < n_ops; i++) {
                if ((r = mount_apply(root_fd, &ops[i], env, err)) < 0)
                        return r;
                _cleanup_free_ char *d = path_clean_relative(ops[i].destination);
                if (strcmp(d, "dev") == 0)
                        dev_mounted = ops[i].kind != MOUNT_KIND_BIND;
        }
        if (dev_mounted && (r = make_dev(root_fd, s, env, err)) < 0)
                return r;
        return TAKE_FD(root_fd);
}

int rootfs_pivot(int root_fd, bool no_pivot, struct err *err)
{
        if (fchdir(root_fd) < 0)
                return err_sys(err, -errno, "cannot enter the root");
        if (no_pivot) {
                if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                        return err_sys(err, -errno, "cannot move the root to /");
                if (chroot(".") < 0)
                        return err_sys(err, -errno, "chroot");
        } else {
                /* pivot_root(".", ".") stacks the old root under the new one;
                 * detaching "." then drops it, with no directory to make */
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return err_sys(err, -errno, "pivot_root");
                /* the old root is already a slave or private (rootfs_mount
                 * made all of "/" one): its detach cannot reach the host.  A second
                 * MS_SLAVE here would also hit the new tree and undo the
                 * propagation the config asked for on its mounts */
                if (umount2(".", MNT_DETACH) < 0)
                        return err_sys(err, -errno, "cannot detach the old root");
        }
        if (chdir("/") < 0)
                return err_sys(err, -errno, "chdir /");
        return 0;
}

static int mask_path(int root_fd, const char *path, int devnull_fd, struct err *err)
{
        _cleanup_close_ int fd = fs_open_in_root(root_fd, path, O_PATH, 0);
        struct stat st;
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0)
                return err_sys(err, fd, "masked path '%s'", path);
        if (fstat(fd, &st) < 0)
                return err_sys(err, -errno, "masked path '%s'", path);
        int r = S_ISDIR(st.st_mode) ? mount_fs_fd("tmpfs", "tmpfs", "size=0,mode=0555", MOUNT_ATTR_RDONLY, fd, err)
                                    : mount_bind_fd(devnull_fd, fd, false, 0, err);
        return r < 0 ? err_wrap(err, "masked path '%s'", path) : 0;
}

static int readonly_path(int root_fd, const char *path, struct err *err)
{
        _cleanup_close_ int fd = fs_open_in_root(root_fd, path, O_PATH, 0);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0)
                return err_sys(err, fd, "read-only path '%s'", path);
        int r = mount_bind_fd(fd, fd, true, MOUNT_ATTR_RDONLY, err);
        return r < 0 ? err_wrap(err, "read-only path '%s'", path) : 0;
}

static int write_sysctl(int root_fd, const char *key, const char *value, struct err *err)
{
        _cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
        for (char *p = path + 10; *p; p++)
                if (*p == '.')
                        *p = '/';
        _cleanup_close_ int fd = fs_open_in_root(root_fd, path, O_WRONLY | O_NOFOLLOW, 0);
        if (fd < 0)
                return err_sys(err, fd, "sysctl '%s'", key);
        if (fs_write_all(fd, value, strlen(value)) < 0)
                return err_sys(err, -errno, "sysctl '%s' = '%s'", key, value);
        return 0;
}

int rootfs_finish(const struct spec *s, int devnull_fd, struct err *err)
{
        _cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r;
        if (root_fd < 0)
                return err_sys(err, -errno, "open /");
        if (s->rootfs_propagation && mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
                return err_sys(err, -errno, "linux.rootfsPropagation: cannot set it on the root");
        /* the host's /dev/null is out of reach after pivot_root: mask with the container's */
        _cleanup_close_ int null_fd = -1;
        if (s->masked_paths && s->masked_paths[0]) {
                null_fd = fs_open_in_root(root_fd, "/dev/null", O_PATH, 0);
                struct stat st;
                if (null_fd < 0 || fstat(null_fd, &st) < 0 || !S_ISCHR(st.st_mode))
                        return err_set(err, -ENODEV, "linux.maskedPaths: the container has no /dev/null device to mask files with");
        }
        devnull_fd = null_fd;
        /* sysctls first: /proc/sys is usually among the read-only paths */
        for (size_t i = 0; i < s->n_sysctls; i++)
                if ((r = write_sysctl(root_fd, s->sysctls[i].key, s->sysctls[i].value, err)) < 0)
                        return r;
        for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
                if ((r = mask_path(root_fd, s->masked_paths[i], devnull_fd, err)) < 0)
                        return r;
        for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
                if ((r = readonly_path(root_fd, s->readonly_paths[i], err)) < 0)
                        return r;
        /* a missing process.cwd is made while the root is still writable (crun
         * does; process_chdir makes it otherwise) */
        if (s->root_readonly && s->process.cwd) {
                _cleanup_close_ int cwd = fs_open_in_root(root_fd, s->process.cwd, O_PATH | O_DIRECTORY, 0);
                if (cwd == -ENOENT && (cwd = fs_resolve_create(root_fd, s->process.cwd, FS_CREATE_DIR, 0755, err)) < 0)
                        return err_wrap(err, "process.cwd '%s'", s->process.cwd);
        }
        if (s->root_readonly && (r = mount_setattr_fd(root_fd, NULL, false, MOUNT_ATTR_RDONLY, 0, 0, -1)) < 0)
                return err_sys(err, r, "cannot make the root read-only");
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return err_sys(err, -errno, "sethostname '%s'", s->hostname);
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return err_sys(err, -errno, "setdomainname '%s'", s->domainname);
        return 0;
}
