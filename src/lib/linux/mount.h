/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/spec/spec.h"

/* A config.json mount's options, sorted into what the kernel wants: mount
 * attributes, propagation, bind, and the filesystem's own data options.  Pure,
 * unit-tested. */
struct mount_opts {
        bool bind, recursive;
        uint64_t attr_set, attr_clr;    /* MOUNT_ATTR_* */
        uint64_t rattr_set, rattr_clr;  /* recursive variants (rro, rnosuid, ...) */
        unsigned long propagation;      /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, 0: keep */
        bool propagation_rec;
        bool idmap, ridmap;
        bool tmpcopyup;                 /* a tmpfs starts with what the target held (crun's) */
        bool copyup;                    /* "x-den.copyup": a bind whose source directory is empty
                                         * first gets what the target holds (a new volume takes
                                         * the image's content, as docker's volumes do) */
        char *data;                     /* comma-separated fs options, or NULL */
};

int mount_opts_parse(char *const *options, struct mount_opts *ret, struct err *err);
void mount_opts_free(struct mount_opts *o);

enum mount_kind { MOUNT_KIND_BIND, MOUNT_KIND_FS };

/* A planned mount: everything decided before any syscall. */
struct mount_op {
        enum mount_kind kind;
        const char *destination; /* inside the root */
        const char *source;      /* host path for binds */
        const char *fstype;
        struct mount_opts opts;
        bool dest_is_file;       /* bind of a non-directory */
        int mnt_fd;              /* -1, or the mount made by the parent, to attach (idmapped:
                                  * only the root of the filesystem's user namespace may) */
};

struct mount_env {
        bool in_userns;   /* mounting from a user namespace we created */
        bool new_netns;   /* sysfs may be mounted fresh */
        bool new_pidns;   /* proc may be mounted fresh */
        bool new_ipcns;   /* not the host's ipc namespace (new, or a pod's joined): mqueue is mounted fresh */
        bool new_cgroupns;
        bool cgroup2;     /* host /sys/fs/cgroup is cgroup2 */
        /* the container's own cgroup directories, cgroup_mount_sources()'s
         * "NAME\tHOST DIR" lines: a cgroup mount that cannot be fresh binds
         * these (NULL: the host's /sys/fs/cgroup, read-only if asked) */
        char **cgroup_dirs;
        /* device nodes made by the host's root (rootfs_devices_prepare), -1
         * or NULL: mknod, or rootless a bind of the host's */
        const int *dev_fds;
        size_t n_dev_fds;
};

int mount_plan(const struct spec *s, struct mount_op **ret, size_t *ret_n, struct err *err);
void mount_plan_free(struct mount_op *ops, size_t n);

/* As the host's root, before the child enters its user namespace: op's
 * idmapped bind (maps of userns_fd) as a detached mount in op->mnt_fd. */
int mount_prepare_idmapped(struct mount_op *op, int userns_fd, struct err *err);

/* Carry out one op below root_fd (the container root, before pivot_root). */
int mount_apply(int root_fd, const struct mount_op *op, const struct mount_env *env, struct err *err);

/* Bind src (an fd or path) onto the fd of an existing target, read-only if asked. */
int mount_bind_fd(int src_fd, int target_fd, bool recursive, uint64_t attr_set, struct err *err);
/* Attach a detached mount (open_tree, fsmount) onto target_fd with attributes. */
int mount_attach_fd(int mnt_fd, int target_fd, uint64_t attr_set, struct err *err);
/* Fresh filesystem of fstype (with data options) onto target_fd. */
int mount_fs_fd(const char *fstype, const char *source, const char *data, uint64_t attrs, int target_fd,
                struct err *err);
/* Change the attributes of the mount at fd (recursively or not). */
int mount_setattr_fd(int fd, const char *path, bool recursive, uint64_t set, uint64_t clr,
                     unsigned long propagation, int userns_fd);
