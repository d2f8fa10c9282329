/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den cp: the keeper opens the path inside the container's root (it is in that
 * root: no path is resolved by the host) and hands the fd over; den copies
 * through it.  Trees are walked one name at a time with O_NOFOLLOW, never
 * leaving the subtree or crossing onto another mount. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/keeper/keeper.h"
#include "lib/keeper/proto.h"
#include "lib/store/tarw.h"
#include "lib/store/unpack.h"

static int keeper_open(const char *rundir, const char *path, const char *how, struct err *err)
{
        _cleanup_free_ char *sock = xasprintf("%s/keeper.sock", rundir);
        _cleanup_close_ int s = keeper_connect(sock, err);
        if (s < 0)
                return s;
        json_t *q = json_pack("{s:s,s:s}", "path", path, "how", how), *rep = NULL;
        enum keeper_type t;
        int fds[KEEPER_MAX_FDS];
        size_t nf = KEEPER_MAX_FDS;
        int r = keeper_send(s, KEEPER_OPEN, q, NULL, 0);
        json_decref(q);
        if (r < 0 || (r = keeper_recv(s, &t, &rep, fds, &nf, err)) < 0)
                return err->code ? r : err_sys(err, r, "keeper");
        if (t != KEEPER_STARTED || nf != 1) {
                for (size_t i = 0; i < nf; i++)
                        close(fds[i]);
                r = err_set(err, -ENOENT, "%s", json_string_value(json_object_get(rep, "error")) ?: "cannot open it");
                json_decref(rep);
                return r;
        }
        json_decref(rep);
        return fds[0];
}

/* CONTAINER:PATH, the docker way: a ':' before any '/' */
static bool split_ref(const char *arg, char **ret_ctr, const char **ret_path)
{
        const char *colon = strchr(arg, ':'), *slash = strchr(arg, '/');
        if (!colon || (slash && slash < colon) || colon == arg)
                return false;
        *ret_ctr = strndup(arg, (size_t) (colon - arg));
        *ret_path = colon + 1;
        return true;
}

static char *base_of(const char *p)
{
        _cleanup_free_ char *c = xstrdup(p);
        size_t l = strlen(c);
        while (l > 1 && c[l - 1] == '/')
                c[--l] = '\0';
        return xstrdup(basename(c));
}

static int copy(const char *rundir, bool in_dst, const char *src, const char *dst, const char *spath,
                const char *dpath, struct err *err);

int engine_cp(const char *root, const char *runroot, const char *src, const char *dst, struct err *err)
{
        _cleanup_free_ char *sctr = NULL, *dctr = NULL, *rundir = NULL;
        const char *spath = NULL, *dpath = NULL;
        bool in_src = split_ref(src, &sctr, &spath), in_dst = split_ref(dst, &dctr, &dpath);
        int r;
        if (in_src == in_dst)
                return err_set(err, -EINVAL, "cp: exactly one of '%s' and '%s' must be CONTAINER:PATH", src, dst);
        const char *cpath = in_src ? spath : dpath;
        if (cpath[0] != '/')
                return err_set(err, -EINVAL, "cp: '%s': the path in the container must be absolute", cpath);
        pid_t temp = -1;
        if ((r = engine_target_rundir(root, runroot, in_src ? sctr : dctr, &rundir, &temp, err)) < 0)
                return r;
        r = copy(rundir, in_dst, src, dst, spath, dpath, err);
        engine_target_release(temp);
        return r;
}

static int copy(const char *rundir, bool in_dst, const char *src, const char *dst, const char *spath,
                const char *dpath, struct err *err)
{
        if (in_dst) {
                /* host -> container */
                struct stat st;
                if (stat(src, &st) < 0)
                        return err_sys(err, -errno, "cp: '%s'", src);
                _cleanup_free_ char *target = xstrdup(dpath), *b = base_of(src);
                struct err e2 = { 0 };
                _cleanup_close_ int probe = keeper_open(rundir, dpath, "stat", &e2);
                struct stat pst;
                if (probe >= 0 && fstat(probe, &pst) == 0 && S_ISDIR(pst.st_mode)) {
                        free(target);
                        target = xasprintf("%s/%s", strcmp(dpath, "/") == 0 ? "" : dpath, b);
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int out = keeper_open(rundir, target, "mkdir", err);
                        _cleanup_close_ int in = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (out < 0)
                                return out;
                        if (in < 0)
                                return err_sys(err, -errno, "cp: '%s'", src);
                        return fs_copy_tree(in, out, &(struct fs_copy_opts){ .what = "cp", .dev = st.st_dev }, err);
                }
                _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
                _cleanup_close_ int out = keeper_open(rundir, target, "write", err);
                if (out < 0)
                        return out;
                if (in < 0 || fs_copy_data(in, out) < 0)
                        return err_sys(err, -errno, "cp: '%s'", src);
                fchmod(out, st.st_mode & 07777);
                return 0;
        }
        /* container -> host */
        _cleanup_close_ int probe = keeper_open(rundir, spath, "stat", err);
        struct stat pst, hst;
        if (probe < 0)
                return probe;
        if (fstat(probe, &pst) < 0)
                return err_sys(err, -errno, "cp: '%s'", src);
        _cleanup_free_ char *target = xstrdup(dst), *b = base_of(spath);
        if (stat(dst, &hst) == 0 && S_ISDIR(hst.st_mode)) {
                free(target);
                target = xasprintf("%s/%s", dst, b);
        }
        _cleanup_close_ int in = keeper_open(rundir, spath, "read", err);
        if (in < 0)
                return in;
        if (S_ISDIR(pst.st_mode)) {
                if (mkdir(target, pst.st_mode & 07777) < 0 && errno != EEXIST)
                        return err_sys(err, -errno, "cp: '%s'", target);
                _cleanup_close_ int out = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (out < 0)
                        return err_sys(err, -errno, "cp: '%s'", target);
                return fs_copy_tree(in, out, &(struct fs_copy_opts){ .what = "cp", .dev = pst.st_dev }, err);
        }
        if (!S_ISREG(pst.st_mode))
                return err_set(err, -EINVAL, "cp: '%s' is neither a file nor a directory", spath);
        _cleanup_close_ int out = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, pst.st_mode & 07777);
        if (out < 0 || fs_copy_data(in, out) < 0)
                return err_sys(err, -errno, "cp: '%s'", target);
        return 0;
}

int engine_export(const char *root, const char *runroot, const char *container, int out_fd, struct err *err)
{
        _cleanup_free_ char *rundir = NULL;
        pid_t temp = -1;
        int r = engine_target_rundir(root, runroot, container, &rundir, &temp, err);
        if (r < 0)
                return r;
        int top = keeper_open(rundir, "/", "read", err);
        struct tarw *t = NULL;
        if (top >= 0 && (r = tarw_open(out_fd, &t, err)) >= 0) {
                r = tarw_add_tree(t, top, "", err);
                int q = tarw_close(t, err);
                if (r >= 0)
                        r = q;
        }
        if (top >= 0)
                close(top);
        else
                r = top;
        engine_target_release(temp);
        return r;
}

/* the archive routes of den serve (docker cp through the API) */
static int archive_target(const char *root, const char *runroot, const char *container, const char *path,
                          char **rundir, pid_t *temp, struct err *err)
{
        if (path[0] != '/')
                return err_set(err, -EINVAL, "'%s': the path in the container must be absolute", path);
        return engine_target_rundir(root, runroot, container, rundir, temp, err);
}

/* the path as docker stats it: its last component not followed (a symlink is itself, its
 * target in *ret_link), unless it ends in "/", "/." or "..": then resolved, all inside the root */
static int archive_lstat(const char *rundir, const char *path, struct stat *st, char **ret_link, struct err *err)
{
        _cleanup_free_ char *parent = xstrdup(path);
        char *slash = strrchr(parent, '/');
        const char *base = slash + 1;
        *ret_link = NULL;
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
                _cleanup_close_ int fd = keeper_open(rundir, path, "stat", err);
                if (fd < 0)
                        return fd;
                return fstat(fd, st) < 0 ? err_sys(err, -errno, "'%s'", path) : 0;
        }
        *slash = '\0';
        _cleanup_close_ int dir = keeper_open(rundir, *parent ? parent : "/", "stat", err);
        if (dir < 0)
                return dir;
        /* the parent resolved inside the root; its entry looked at without following it */
        base = path + (slash - parent) + 1;
        if (fstatat(dir, base, st, AT_SYMLINK_NOFOLLOW) < 0)
                return err_sys(err, -errno, "'%s'", path);
        if (S_ISLNK(st->st_mode)) {
                char target[4096];
                ssize_t l = readlinkat(dir, base, target, sizeof(target) - 1);
                if (l < 0)
                        return err_sys(err, -errno, "'%s'", path);
                target[l] = '\0';
                *ret_link = xstrdup(target);
        }
        return 0;
}

int engine_archive_stat(const char *root, const char *runroot, const char *container, const char *path,
                        struct stat *ret, char **ret_link, struct err *err)
{
        _cleanup_free_ char *rundir = NULL;
        pid_t temp = -1;
        int r = archive_target(root, runroot, container, path, &rundir, &temp, err);
        if (r < 0)
                return r;
        r = archive_lstat(rundir, path, ret, ret_link, err);
        engine_target_release(temp);
        return r;
}

int engine_archive_get(const char *root, const char *runroot, const char *container, const char *path, int out_fd,
                       struct err *err)
{
        _cleanup_free_ char *rundir = NULL;
        pid_t temp = -1;
        int r = archive_target(root, runroot, container, path, &rundir, &temp, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *b = base_of(path), *link = NULL;
        const char *name = strcmp(b, "/") == 0 ? "." : b;
        struct tarw *t = NULL;
        struct stat st;
        if ((r = archive_lstat(rundir, path, &st, &link, err)) >= 0 && link) {
                /* a symlink: itself, as docker cp copies it */
                if ((r = tarw_open(out_fd, &t, err)) >= 0) {
                        r = tarw_add_entry(t, name, &st, -1, link, err);
                        int q = tarw_close(t, err);
                        r = r < 0 ? r : q;
                }
                engine_target_release(temp);
                return r;
        }
        int in = r < 0 ? r : keeper_open(rundir, path, "read", err);
        if (in < 0)
                r = in;
        else if (fstat(in, &st) < 0)
                r = err_sys(err, -errno, "'%s'", path);
        else if ((r = tarw_open(out_fd, &t, err)) >= 0) {
                if (S_ISDIR(st.st_mode)) {
                        r = tarw_add_entry(t, name, &st, -1, NULL, err);
                        if (r >= 0)
                                r = tarw_add_tree(t, in, name, err);
                } else
                        r = tarw_add_entry(t, name, &st, in, NULL, err);
                int q = tarw_close(t, err);
                if (r >= 0)
                        r = q;
        }
        if (in >= 0)
                close(in);
        engine_target_release(temp);
        return r;
}

static void ar_free(struct archive **a)
{
        if (*a)
                DL(LIBARCHIVE, archive_read_free)(*a);
}

/* docker's noOverwriteDirNonDir, before anything is written: no entry of the tar on fd
 * may replace a directory of dir by something else or the reverse; no entry may be
 * named as an overlay whiteout (.wh.*), which would hide a file of the image.  fd is
 * rewound after. */
static int archive_put_check(int fd, int dir, const char *path, struct err *err)
{
        if (!dl_available(LIBARCHIVE))
                return err_set(err, -ENOSYS, "%s is not installed (package libarchive13)", LIBARCHIVE);
        __attribute__((cleanup(ar_free))) struct archive *a = DL(LIBARCHIVE, archive_read_new)();
        struct archive_entry *e;
        int r = 0, ar;
        DL(LIBARCHIVE, archive_read_support_filter_all)(a);
        DL(LIBARCHIVE, archive_read_support_format_tar)(a);
        DL(LIBARCHIVE, archive_read_support_format_gnutar)(a);
        if (DL(LIBARCHIVE, archive_read_open_fd)(a, fd, 1 << 16) != ARCHIVE_OK)
                return err_set(err, -EINVAL, "not a tar archive: %s", DL(LIBARCHIVE, archive_error_string)(a) ?: "");
        while (r == 0 && ((ar = DL(LIBARCHIVE, archive_read_next_header)(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN)) {
                _cleanup_free_ char *rel = path_clean_relative(DL(LIBARCHIVE, archive_entry_pathname)(e) ?: "");
                char *slash = strrchr(rel, '/');
                const char *base = slash ? slash + 1 : rel;
                bool is_dir = DL(LIBARCHIVE, archive_entry_filetype)(e) == AE_IFDIR;
                if (!*rel)
                        continue;
                if (strncmp(base, ".wh.", 4) == 0) {
                        r = err_set(err, -EINVAL, "'%s': a name of an overlay whiteout, refused", rel);
                        break;
                }
                if (slash)
                        *slash = '\0';
                _cleanup_close_ int parent = fs_open_in_root(dir, slash ? rel : ".", O_PATH | O_DIRECTORY, 0);
                struct stat st;
                if (parent < 0 || fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue; /* not there yet (or its directory not either): nothing replaced */
                if (slash)
                        *slash = '/';
                if (S_ISDIR(st.st_mode) && !is_dir)
                        r = err_set(err, -EEXIST, "cannot overwrite directory \"%s/%s\" with non-directory",
                                    strcmp(path, "/") == 0 ? "" : path, rel);
                else if (!S_ISDIR(st.st_mode) && is_dir)
                        r = err_set(err, -EEXIST, "cannot overwrite non-directory \"%s/%s\" with directory",
                                    strcmp(path, "/") == 0 ? "" : path, rel);
        }
        if (lseek(fd, 0, SEEK_SET) < 0 && r == 0)
                r = err_sys(err, -errno, "cannot read the archive again");
        return r;
}

int engine_archive_put(const char *root, const char *runroot, const char *container, const char *path, int tar_fd,
                       struct err *err)
{
        _cleanup_free_ char *rundir = NULL;
        pid_t temp = -1;
        int r = archive_target(root, runroot, container, path, &rundir, &temp, err);
        if (r < 0)
                return r;
        int dir = keeper_open(rundir, path, "read", err);
        struct stat st;
        if (dir < 0)
                r = dir;
        else if (fstat(dir, &st) < 0)
                r = err_sys(err, -errno, "'%s'", path);
        else if (!S_ISDIR(st.st_mode))
                r = err_set(err, -ENOTDIR, "extraction point is not a directory");
        else {
                /* entries resolved beneath dir, no symlink followed: nothing lands outside */
                struct unpack_opts o = { .layer = path,
                                         .opaque_xattr = geteuid() == 0 ? "trusted.overlay.opaque"
                                                                        : "user.overlay.opaque" };
                r = archive_put_check(tar_fd, dir, path, err);
                if (r >= 0)
                        r = layer_unpack(tar_fd, dir, &o, NULL, err);
        }
        if (dir >= 0)
                close(dir);
        engine_target_release(temp);
        return r;
}
