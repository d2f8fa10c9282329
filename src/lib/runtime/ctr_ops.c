/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What den serve asks of a container beyond its lifecycle: its changes against
 * its image (docker diff) and its processes (docker top, docker stats). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctr.h"
#include "ctr_internal.h"
#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/store.h"

struct changes {
        char **lowers;
        size_t n_lowers;
        json_t *out;
};

/* whether path (relative, no leading '/') is in the image: in a lower layer, above any whiteout of it */
static bool in_image(const struct changes *c, const char *rel)
{
        for (size_t i = 0; i < c->n_lowers; i++) {
                struct stat st;
                _cleanup_free_ char *p = xasprintf("%s/%s", c->lowers[i], rel);
                if (lstat(p, &st) < 0)
                        continue;
                return !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        }
        return false;
}

static void change(struct changes *c, const char *rel, int kind)
{
        _cleanup_free_ char *p = xasprintf("/%s", rel);
        json_array_append_new(c->out, json_pack("{s:s,s:i}", "Path", p, "Kind", kind));
}

static int walk_upper(struct changes *c, int dirfd, const char *prefix, int depth)
{
        _cleanup_strv_free_ char **names = NULL;
        size_t n;
        if (depth > 256 || fs_dir_names(dirfd, &names, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                _cleanup_free_ char *rel = *prefix ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        change(c, rel, 2); /* a whiteout: deleted */
                        continue;
                }
                change(c, rel, in_image(c, rel) ? 0 : 1);
                if (!S_ISDIR(st.st_mode))
                        continue;
                _cleanup_close_ int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                        walk_upper(c, sub, rel, depth + 1);
        }
        return 0;
}

int engine_changes(const char *root, const char *runroot, const char *container, json_t **ret, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r < 0)
                return r;
        json_t *rec = record_load(root, t.id);
        _cleanup_free_ char *upper = ctr_upper(root, t.id);
        const char *manifest = json_string_value(json_object_get(rec, "ImageDigest"));
        struct store s = { 0 };
        struct image_info ii = { 0 };
        struct changes c = { .out = json_array() };
        if (!rec || !manifest)
                r = err_set(err, -EIO, "container '%s': its record is damaged", container);
        else if (!upper)
                r = err_set(err, -EOPNOTSUPP, "container '%s' has a plain copy of its image (storage driver copy): no layer of its changes", container);
        else if ((r = store_open(root, &s, err)) >= 0) {
                if ((r = ctr_image_load_digest(&s, manifest, &ii, err)) >= 0) {
                        c.lowers = ii.lowers, c.n_lowers = ii.n_lowers;
                        _cleanup_close_ int d = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (d >= 0)
                                walk_upper(&c, d, "", 0);
                        ctr_image_free(&ii);
                }
                store_close(&s);
        }
        json_decref(rec);
        record_target_free(&t);
        if (r < 0) {
                json_decref(c.out);
                return r;
        }
        *ret = c.out;
        return 0;
}

/* the parent of pid from /proc/PID/stat, -1 when gone */
static pid_t parent_of(pid_t pid)
{
        char p[64], buf[1024];
        snprintf(p, sizeof(p), "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        /* the name may hold spaces and parentheses: the fields follow its last ')' */
        char *e = strrchr(buf, ')');
        int ppid;
        return e && sscanf(e + 1, " %*c %d", &ppid) == 1 ? (pid_t) ppid : -1;
}

int engine_pids(const char *root, const char *runroot, const char *container, pid_t **ret, size_t *ret_n,
                struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r < 0)
                return r;
        if (!t.running || t.keeper <= 0) {
                r = err_set(err, -ESRCH, "container %s is not running", container);
                record_target_free(&t);
                return r;
        }
        /* the keeper and its descendants: every pid whose chain of parents reaches it */
        size_t n = 0, cap = 16, nall = 0, capall = 256;
        pid_t *out = xcalloc(cap, sizeof(pid_t)), (*all)[2] = xcalloc(capall, sizeof(*all));
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0)
                        continue;
                if (nall == capall)
                        all = xrealloc(all, (capall *= 2) * sizeof(*all));
                all[nall][0] = (pid_t) pid, all[nall][1] = parent_of((pid_t) pid);
                nall++;
        }
        if (d)
                closedir(d);
        /* breadth first from the keeper (not itself: not the container's, as docker top
         * leaves out containerd's shim): each round adds the children of the known */
        for (size_t k = 0; k <= n; k++)
                for (size_t i = 0; i < nall; i++)
                        if (all[i][1] == (k ? out[k - 1] : t.keeper)) {
                                if (n == cap)
                                        out = xrealloc(out, (cap *= 2) * sizeof(pid_t));
                                out[n++] = all[i][0];
                        }
        free(all);
        record_target_free(&t);
        *ret = out, *ret_n = n;
        return 0;
}

uint64_t engine_size_rw(const char *root, const char *id)
{
        _cleanup_free_ char *upper = ctr_upper(root, id);
        return upper ? fs_disk_usage(AT_FDCWD, upper) : 0;
}
