/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "mount.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

static const struct {
        const char *name;
        uint64_t set, clr;
        bool recursive;
} attr_opts[] = {
        { "ro", MOUNT_ATTR_RDONLY, 0, false },
        { "rw", 0, MOUNT_ATTR_RDONLY, false },
        { "nosuid", MOUNT_ATTR_NOSUID, 0, false },
        { "suid", 0, MOUNT_ATTR_NOSUID, false },
        { "nodev", MOUNT_ATTR_NODEV, 0, false },
        { "dev", 0, MOUNT_ATTR_NODEV, false },
        { "noexec", MOUNT_ATTR_NOEXEC, 0, false },
        { "exec", 0, MOUNT_ATTR_NOEXEC, false },
        { "nodiratime", MOUNT_ATTR_NODIRATIME, 0, false },
        { "diratime", 0, MOUNT_ATTR_NODIRATIME, false },
        { "noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, false },
        { "relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, false },
        { "strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, false },
        { "atime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, false },
        { "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0, false },
        { "symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, false },
        { "rro", MOUNT_ATTR_RDONLY, 0, true },
        { "rrw", 0, MOUNT_ATTR_RDONLY, true },
        { "rnosuid", MOUNT_ATTR_NOSUID, 0, true },
        { "rsuid", 0, MOUNT_ATTR_NOSUID, true },
        { "rnodev", MOUNT_ATTR_NODEV, 0, true },
        { "rdev", 0, MOUNT_ATTR_NODEV, true },
        { "rnoexec", MOUNT_ATTR_NOEXEC, 0, true },
        { "rexec", 0, MOUNT_ATTR_NOEXEC, true },
        { "rnodiratime", MOUNT_ATTR_NODIRATIME, 0, true },
        { "rdiratime", 0, MOUNT_ATTR_NODIRATIME, true },
        { "rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, true },
        { "rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, true },
        { "rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, true },
        { "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0, true },
        { "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, true },
};

static const struct {
        const char *name;
        unsigned long prop;
        bool rec;
} prop_opts[] = {
        { "shared", MS_SHARED, false },     { "rshared", MS_SHARED, true },
        { "slave", MS_SLAVE, false },       { "rslave", MS_SLAVE, true },
        { "private", MS_PRIVATE, false },   { "rprivate", MS_PRIVATE, true },
        { "unbindable", MS_UNBINDABLE, false }, { "runbindable", MS_UNBINDABLE, true },
};

/* options that are mount(2) flags with no attribute equivalent, or meaningless here */
static const char *const ignored_opts[] = { "defaults", "async", "sync", "dirsync", "mand", "nomand",
                                            "remount", "silent", "loud", "iversion", "noiversion",
                                            "lazytime", "nolazytime", "norelatime", "nostrictatime" };

int mount_opts_parse(char *const *options, struct mount_opts *o, struct err *err)
{
        size_t datalen = 0;
        memset(o, 0, sizeof(*o));
        for (size_t i = 0; options && options[i]; i++) {
                const char *opt = options[i];
                bool done = false;
                if (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0) {
                        o->bind = true;
                        o->recursive = opt[0] == 'r';
                        continue;
                }
                if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0) {
                        o->idmap = true;
                        o->ridmap = opt[0] == 'r';
                        continue;
                }
                if (strcmp(opt, "tmpcopyup") == 0) {
                        o->tmpcopyup = true;
                        continue;
                }
                if (strcmp(opt, "x-den.copyup") == 0) {
                        o->copyup = true;
                        continue;
                }
                for (size_t k = 0; k < ELEMENTSOF(attr_opts) && !done; k++) {
                        if (strcmp(opt, attr_opts[k].name) != 0)
                                continue;
                        uint64_t *set = attr_opts[k].recursive ? &o->rattr_set : &o->attr_set;
                        uint64_t *clr = attr_opts[k].recursive ? &o->rattr_clr : &o->attr_clr;
                        if (attr_opts[k].clr & MOUNT_ATTR__ATIME)
                                *set &= ~(uint64_t) MOUNT_ATTR__ATIME;
                        *set = (*set & ~attr_opts[k].clr) | attr_opts[k].set;
                        *clr = (*clr & ~attr_opts[k].set) | attr_opts[k].clr;
                        done = true;
                }
                for (size_t k = 0; k < ELEMENTSOF(prop_opts) && !done; k++) {
                        if (strcmp(opt, prop_opts[k].name) != 0)
                                continue;
                        o->propagation = prop_opts[k].prop;
                        o->propagation_rec = prop_opts[k].rec;
                        done = true;
                }
                for (size_t k = 0; k < ELEMENTSOF(ignored_opts) && !done; k++)
                        done = strcmp(opt, ignored_opts[k]) == 0;
                if (done)
                        continue;
                if (!*opt || strchr(opt, ',')) {
                        mount_opts_free(o);
                        return err_set(err, -EINVAL, "invalid mount option '%s'", opt);
                }
                size_t l = strlen(opt);
                o->data = xrealloc(o->data, datalen + l + 2);
                if (datalen)
                        o->data[datalen++] = ',';
                memcpy(o->data + datalen, opt, l + 1);
                datalen += l;
        }
        return 0;
}

void mount_opts_free(struct mount_opts *o)
{
        free(o->data);
        o->data = NULL;
}

int mount_plan(const struct spec *s, struct mount_op **ret, size_t *ret_n, struct err *err)
{
        struct mount_op *ops = xcalloc(s->n_mounts, sizeof(*ops));
        size_t n = 0;
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct spec_mount *m = &s->mounts[i];
                struct mount_op *op = &ops[n];
                int r = mount_opts_parse(m->options, &op->opts, err);
                op->mnt_fd = -1;
                if (r < 0) {
                        mount_plan_free(ops, n);
                        return err_wrap(err, "config.json: mounts[%zu] ('%s')", i, m->destination);
                }
                n++;
                op->destination = m->destination;
                op->source = m->source;
                op->fstype = m->type;
                bool bind = op->opts.bind || (m->type && strcmp(m->type, "bind") == 0);
                /* podman binds /dev/mqueue into a container that joins another's
                 * ipc namespace (pods): the host's shows the host's queues, not
                 * the namespace's, and may not be mounted at all.  crun mounts
                 * mqueue fresh there, and so do we */
                if (bind && s->ns[NS_IPC].enabled && m->source && strcmp(m->source, "/dev/mqueue") == 0) {
                        bind = false;
                        op->opts.bind = op->opts.recursive = false;
                        op->fstype = "mqueue";
                        op->source = "mqueue";
                }
                if (bind) {
                        struct stat st;
                        op->kind = MOUNT_KIND_BIND;
                        if (!m->source) {
                                mount_plan_free(ops, n);
                                return err_set(err, -EINVAL, "config.json: mounts[%zu].source: required for a bind mount", i);
                        }
                        /* a bind source is a host path, relative ones to the bundle */
                        if (stat(m->source, &st) < 0) {
                                int e = -errno;
                                mount_plan_free(ops, n);
                                return err_sys(err, e, "config.json: mounts[%zu]: bind source '%s'", i, m->source);
                        }
                        op->dest_is_file = !S_ISDIR(st.st_mode);
                } else {
                        op->kind = MOUNT_KIND_FS;
                        if (!op->fstype || !*op->fstype) {
                                mount_plan_free(ops, n);
                                return err_set(err, -EINVAL, "config.json: mounts[%zu].type: required for '%s'", i,
                                               m->destination);
                        }
                }
                if ((m->n_uid_mappings || m->n_gid_mappings) && !op->opts.idmap) {
                        op->opts.idmap = true;
                }
                if (op->opts.idmap && op->kind != MOUNT_KIND_BIND) {
                        mount_plan_free(ops, n);
                        return err_set(err, -EINVAL, "config.json: mounts[%zu]: idmap needs a bind mount", i);
                }
                if (op->opts.idmap && (!m->n_uid_mappings || !m->n_gid_mappings)) {
                        mount_plan_free(ops, n);
                        return err_set(err, -EINVAL,
                                       "config.json: mounts[%zu]: idmap needs uidMappings and gidMappings", i);
                }
        }
        *ret = ops;
        *ret_n = n;
        return 0;
}

void mount_plan_free(struct mount_op *ops, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                mount_opts_free(&ops[i].opts);
                if (ops[i].mnt_fd >= 0)
                        close(ops[i].mnt_fd);
        }
        free(ops);
}

int mount_setattr_fd(int fd, const char *path, bool recursive, uint64_t set, uint64_t clr,
                     unsigned long propagation, int userns_fd)
{
        struct mount_attr a = { .attr_set = set, .attr_clr = clr, .propagation = propagation };
        if (userns_fd >= 0) {
                a.attr_set |= MOUNT_ATTR_IDMAP;
                a.userns_fd = (uint64_t) userns_fd;
        }
        if (!set && !clr && !propagation && userns_fd < 0)
                return 0;
        unsigned flags = (path && *path ? 0 : AT_EMPTY_PATH) | (recursive ? AT_RECURSIVE : 0);
        if (syscall(SYS_mount_setattr, fd, path ? path : "", flags, &a, sizeof(a)) < 0)
                return -errno;
        return 0;
}

static int move_onto(int mnt_fd, int target_fd)
{
        if (syscall(SYS_move_mount, mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

int mount_bind_fd(int src_fd, int target_fd, bool recursive, uint64_t attr_set, struct err *err)
{
        _cleanup_close_ int t = (int) syscall(SYS_open_tree, src_fd, "",
                                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                                                       (recursive ? AT_RECURSIVE : 0));
        if (t < 0)
                return err_sys(err, -errno, "cannot clone the mount tree");
        int r = mount_setattr_fd(t, NULL, recursive, attr_set, 0, 0, -1);
        if (r < 0)
                return err_sys(err, r, "cannot set mount attributes");
        r = move_onto(t, target_fd);
        if (r < 0)
                return err_sys(err, r, "cannot attach the bind mount");
        return 0;
}

int mount_attach_fd(int mnt_fd, int target_fd, uint64_t attr_set, struct err *err)
{
        int r = mount_setattr_fd(mnt_fd, NULL, false, attr_set, 0, 0, -1);
        if (r < 0)
                return err_sys(err, r, "cannot set mount attributes");
        r = move_onto(mnt_fd, target_fd);
        return r < 0 ? err_sys(err, r, "cannot attach the mount") : 0;
}

static int fsconfig_data(int fsfd, const char *data, struct err *err)
{
        if (!data)
                return 0;
        _cleanup_free_ char *copy = xstrdup(data);
        char *save = NULL;
        for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(opt, '=');
                int r;
                if (eq) {
                        *eq = '\0';
                        r = (int) syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
                } else
                        r = (int) syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
                if (r < 0)
                        return err_sys(err, -errno, "option '%s%s%s'", opt, eq ? "=" : "", eq ? eq + 1 : "");
        }
        return 0;
}

int mount_fs_fd(const char *fstype, const char *source, const char *data, uint64_t attrs, int target_fd,
                struct err *err)
{
        _cleanup_close_ int fsfd = (int) syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return err_sys(err, -errno, "filesystem type '%s'", fstype);
        if (source && *source)
                syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", source, 0);
        int r = fsconfig_data(fsfd, data, err);
        if (r < 0)
                return r;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return err_sys(err, -errno, "cannot create a %s filesystem", fstype);
        /* the atime mode is one value, not bits: only pass what was chosen */
        _cleanup_close_ int mfd = (int) syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, (unsigned) attrs);
        if (mfd < 0)
                return err_sys(err, -errno, "cannot mount the %s filesystem", fstype);
        r = move_onto(mfd, target_fd);
        if (r < 0)
                return err_sys(err, r, "cannot attach the %s mount", fstype);
        return 0;
}

/* Sources den binds from the host where a fresh mount is not allowed (user
 * namespace without its own pid/net/ipc namespace, as runc and crun do). */
static const char *host_fallback(const struct mount_op *op, const struct mount_env *env)
{
        const char *t = op->fstype;
        if (strcmp(t, "sysfs") == 0 && env->in_userns && !env->new_netns)
                return "/sys";
        if (strcmp(t, "proc") == 0 && env->in_userns && !env->new_pidns)
                return "/proc";
        /* a joined ipc namespace (a pod's) gets a fresh mqueue too: the
         * host's /dev/mqueue is another namespace's, when mounted at all */
        if (strcmp(t, "mqueue") == 0 && env->in_userns && !env->new_ipcns)
                return "/dev/mqueue";
        if ((strcmp(t, "cgroup") == 0 || strcmp(t, "cgroup2") == 0) &&
            (!env->cgroup2 || !env->new_cgroupns || env->in_userns))
                return "/sys/fs/cgroup";
        return NULL;
}

/* A bind of src (a host path) onto target_fd with the op's attributes. */
static int bind_with_attrs(const char *src, int target_fd, const struct mount_op *op, struct err *err)
{
        _cleanup_close_ int src_fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (src_fd < 0)
                return err_sys(err, -errno, "cannot open '%s'", src);
        _cleanup_close_ int t = (int) syscall(SYS_open_tree, src_fd, "",
                                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (t < 0)
                return err_sys(err, -errno, "cannot bind '%s'", src);
        int r = mount_setattr_fd(t, NULL, true, op->opts.attr_set | op->opts.rattr_set,
                                 op->opts.attr_clr | op->opts.rattr_clr, 0, -1);
        if (r == 0)
                r = move_onto(t, target_fd);
        return r < 0 ? err_sys(err, r, "cannot bind '%s'", src) : 0;
}

/* /sys/fs/cgroup as the container's own cgroup (runc's way for cgroup v1):
 * on v2 its directory bound over the mount point; on v1 a tmpfs holding one
 * bind per controller of the container's directory, so no other cgroup of
 * the host shows, and nothing is writable unless the mount asks for rw. */
static int mount_cgroup_dirs(int root_fd, int target, const struct mount_op *op, char **dirs, struct err *err)
{
        int r;
        if (dirs[0] && dirs[0][0] == '\t')
                return bind_with_attrs(dirs[0] + 1, target, op, err);
        uint64_t attrs = (op->opts.attr_set | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) &
                         ~(uint64_t) MOUNT_ATTR_RDONLY;
        if ((r = mount_fs_fd("tmpfs", "cgroup", "mode=755,size=64k", attrs, target, err)) < 0)
                return r;
        _cleanup_close_ int top = fs_open_in_root(root_fd, op->destination, O_PATH | O_DIRECTORY, 0);
        if (top < 0)
                return err_sys(err, top, "cannot open the new mount");
        for (size_t i = 0; dirs[i]; i++) {
                _cleanup_free_ char *name = xstrdup(dirs[i]);
                char *tab = strchr(name, '\t');
                *tab = '\0';
                const char *src = tab + 1;
                if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
                        return err_sys(err, -errno, "cannot create '%s'", name);
                _cleanup_close_ int t = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (t < 0)
                        return err_sys(err, -errno, "cannot open '%s'", name);
                if ((r = bind_with_attrs(src, t, op, err)) < 0)
                        return r;
        }
        if ((op->opts.attr_set & MOUNT_ATTR_RDONLY) &&
            (r = mount_setattr_fd(top, NULL, false, MOUNT_ATTR_RDONLY, 0, 0, -1)) < 0)
                return err_sys(err, r, "cannot make the tmpfs read-only");
        return 0;
}

/* A detached bind of src (open in src_fd) with the op's attributes, idmapped
 * with userns_fd (>= 0). */
static int bind_tree(const struct mount_op *op, const char *src, int src_fd, bool rec, int userns_fd,
                     struct err *err)
{
        uint64_t set = op->opts.attr_set, clr = op->opts.attr_clr;
        _cleanup_close_ int t = (int) syscall(SYS_open_tree, src_fd, "",
                                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                                                       (rec ? AT_RECURSIVE : 0));
        if (t < 0)
                return err_sys(err, -errno, "cannot bind '%s'", src);
        int r = mount_setattr_fd(t, NULL, false, set, clr, 0, -1);
        if (r == 0 && (op->opts.rattr_set || op->opts.rattr_clr))
                r = mount_setattr_fd(t, NULL, true, op->opts.rattr_set, op->opts.rattr_clr, 0, -1);
        /* a read-only request for a bind covers what is below it too, like crun */
        if (r == 0 && (set & MOUNT_ATTR_RDONLY) && rec)
                r = mount_setattr_fd(t, NULL, true, MOUNT_ATTR_RDONLY, 0, 0, -1);
        if (r < 0)
                return err_sys(err, r, "cannot set the options of the bind of '%s'", src);
        if (userns_fd >= 0 && (r = mount_setattr_fd(t, NULL, op->opts.ridmap, 0, 0, 0, userns_fd)) < 0)
                return err_sys(err, r, "cannot make an idmapped mount of '%s'", src);
        return TAKE_FD(t);
}

int mount_prepare_idmapped(struct mount_op *op, int userns_fd, struct err *err)
{
        _cleanup_close_ int src_fd = open(op->source, O_PATH | O_CLOEXEC);
        if (src_fd < 0)
                return err_sys(err, -errno, "source '%s'", op->source);
        int t = bind_tree(op, op->source, src_fd, op->opts.recursive, userns_fd, err);
        if (t < 0)
                return t;
        op->mnt_fd = t;
        return 0;
}

static bool dir_empty(int fd)
{
        /* an open file of its own: a dup would share (and move) the offset fs_copy_tree reads from */
        int probe = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = probe >= 0 ? fdopendir(probe) : NULL;
        struct dirent *de;
        bool empty = true;
        while (d && empty && (de = readdir(d)))
                empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
        if (d)
                closedir(d);
        else if (probe >= 0)
                close(probe);
        return empty;
}

/* what the directory at from holds, copied into the directory at to when to is empty:
 * its entries, and the directory's own owner and mode (a volume takes the ownership of
 * the image's directory, as docker's do).  Inside the container's user namespace, so the
 * owners are the container's. */
static int copy_up(int from_fd, int to_fd, const char *what, struct err *err)
{
        _cleanup_close_ int from = openat(from_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int to = openat(to_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (from < 0 || to < 0)
                return err_sys(err, -errno, "mount '%s': cannot copy its content up", what);
        /* containers starting together on a new volume: one copies, the others wait and find
         * it full (a flock on the directory, shared by every user namespace) */
        if (flock(to, LOCK_EX) < 0)
                return err_sys(err, -errno, "mount '%s': cannot lock its source", what);
        /* nothing to copy (a target made just now), or a source that has something: left as it is */
        if (dir_empty(from) || !dir_empty(to))
                return 0;
        struct stat st;
        if (fstat(from, &st) == 0 && (fchown(to, st.st_uid, st.st_gid) < 0 || fchmod(to, st.st_mode & 07777) < 0)) {
                /* an owner outside the map: the content still goes */
        }
        struct fs_copy_opts co = { .owners = true, .nodes = true };
        return fs_copy_tree(from, to, &co, err) < 0 ? err_wrap(err, "mount '%s': copying its content up", what) : 0;
}

int mount_apply(int root_fd, const struct mount_op *op, const struct mount_env *env, struct err *err)
{
        const char *src = op->source;
        bool bind = op->kind == MOUNT_KIND_BIND;
        const char *fallback = bind ? NULL : host_fallback(op, env);
        int r;

        if (fallback) {
                src = fallback;
                bind = true;
        }
        _cleanup_close_ int src_fd = -1;
        bool is_file = op->dest_is_file;
        if (bind) {
                src_fd = open(src, O_PATH | O_CLOEXEC);
                if (src_fd < 0)
                        return err_sys(err, -errno, "mount '%s': source '%s'", op->destination, src);
                struct stat st;
                if (fstat(src_fd, &st) == 0)
                        is_file = !S_ISDIR(st.st_mode);
        }
        _cleanup_close_ int target = fs_resolve_create(root_fd, op->destination,
                                                       is_file ? FS_CREATE_FILE : FS_CREATE_DIR, 0755, err);
        if (target < 0)
                return err_wrap(err, "mount '%s'", op->destination);
        if (fallback && env->cgroup_dirs && strcmp(fallback, "/sys/fs/cgroup") == 0) {
                r = mount_cgroup_dirs(root_fd, target, op, env->cgroup_dirs, err);
                return r < 0 ? err_wrap(err, "mount '%s'", op->destination) : 0;
        }
        /* the target resolved inside the root must be of the kind we mount */
        struct stat tst;
        if (fstat(target, &tst) < 0)
                return err_sys(err, -errno, "mount '%s'", op->destination);
        if (S_ISDIR(tst.st_mode) == is_file)
                return err_set(err, -ENOTDIR, "mount '%s': the target is a %s but the source is a %s",
                               op->destination, S_ISDIR(tst.st_mode) ? "directory" : "file",
                               is_file ? "file" : "directory");

        uint64_t set = op->opts.attr_set;
        if (op->mnt_fd >= 0) {
                r = move_onto(op->mnt_fd, target);
                if (r < 0)
                        return err_sys(err, r, "mount '%s': cannot attach the bind of '%s'", op->destination, src);
        } else if (bind) {
                if (op->opts.copyup && !is_file && (r = copy_up(target, src_fd, op->destination, err)) < 0)
                        return r;
                /* in a user namespace only a recursive bind may reveal a mount with
                 * mounts on top of it; fallbacks are recursive for that reason */
                _cleanup_close_ int t = bind_tree(op, src, src_fd, op->opts.recursive || fallback, -1, err);
                if (t < 0)
                        return err_wrap(err, "mount '%s'", op->destination);
                r = move_onto(t, target);
                if (r < 0)
                        return err_sys(err, r, "mount '%s': cannot attach the bind of '%s'", op->destination,
                                       src);
        } else {
                const char *type = op->fstype;
                if (strcmp(type, "cgroup") == 0)
                        type = "cgroup2";
                /* the directory under the new mount, still reached through this fd */
                _cleanup_close_ int under = op->opts.tmpcopyup ? openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                /* a read-only one filled first, made read-only after */
                uint64_t later = under >= 0 ? (set & MOUNT_ATTR_RDONLY) : 0;
                r = mount_fs_fd(type, op->source, op->opts.data, set & ~later, target, err);
                if (r < 0)
                        return err_wrap(err, "mount '%s'", op->destination);
                if (op->opts.tmpcopyup && under >= 0) {
                        _cleanup_close_ int fresh = fs_open_in_root(root_fd, op->destination, O_PATH, 0);
                        if (fresh < 0 || (r = copy_up(under, fresh, op->destination, err)) < 0)
                                return fresh < 0 ? err_sys(err, fresh, "mount '%s'", op->destination) : r;
                        if (later && (r = mount_setattr_fd(fresh, NULL, false, later, 0, 0, -1)) < 0)
                                return err_sys(err, r, "mount '%s': cannot make it read-only", op->destination);
                }
                if (op->opts.rattr_set || op->opts.rattr_clr) {
                        _cleanup_close_ int m = fs_open_in_root(root_fd, op->destination, O_PATH, 0);
                        if (m >= 0)
                                mount_setattr_fd(m, NULL, true, op->opts.rattr_set, op->opts.rattr_clr, 0, -1);
                }
        }
        if (op->opts.propagation) {
                _cleanup_close_ int m = fs_open_in_root(root_fd, op->destination, O_PATH, 0);
                if (m < 0 || (r = mount_setattr_fd(m, NULL, op->opts.propagation_rec, 0, 0, op->opts.propagation,
                                                   -1)) < 0)
                        return err_sys(err, m < 0 ? m : r, "mount '%s': cannot set propagation", op->destination);
        }
        return 0;
}
