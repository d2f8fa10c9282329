/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/idmap.h"
#include "lib/store/layer.h"
#include "view.h"

/* symlinks followed in one resolution, as the kernel's MAXSYMLINKS */
#define VIEW_MAX_LINKS 40
/* components of a path, and bytes of a path being resolved */
#define VIEW_MAX_DEPTH 256
#define VIEW_MAX_PATH 4096
/* /etc/passwd and /etc/group read at most */
#define VIEW_MAX_ID_FILE (4u << 20)

static int dup_fd(int fd)
{
        return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static void fds_free(int *fds, size_t n)
{
        if (!fds)
                return;
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
}

static int *fds_root(const struct view *v)
{
        int *f = xcalloc(v->n ? v->n : 1, sizeof(int));
        for (size_t i = 0; i < v->n; i++)
                f[i] = dup_fd(v->layer_fds[i]);
        return f;
}

int view_open(struct store *s, char *const *diff_ids, size_t n, struct view *ret, struct err *err)
{
        struct view v = { .layer_fds = xcalloc(n ? n : 1, sizeof(int)), .n = n };
        for (size_t i = 0; i < n; i++)
                v.layer_fds[i] = -1;
        for (size_t i = 0; i < n; i++) {
                if (!digest_valid(diff_ids[i])) {
                        view_close(&v);
                        return err_set(err, -EINVAL, "invalid diff id '%s'", diff_ids[i]);
                }
                _cleanup_free_ char *dir = layer_dir(diff_ids[i]), *diff = xasprintf("%s/diff", dir);
                struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
                v.layer_fds[i] = (int) syscall(SYS_openat2, s->root_fd, diff, &how, sizeof(how));
                if (v.layer_fds[i] < 0) {
                        int r = -errno;
                        view_close(&v);
                        return err_sys(err, r, "layer %s is not unpacked in the store", diff_ids[i]);
                }
        }
        if (geteuid() != 0) {
                /* rootless, the layers were unpacked in a user namespace with den's default map */
                struct spec_idmap um[2], gm[2];
                size_t nu = idmap_default(false, um), ng = idmap_default(true, gm);
                v.map_ids = true;
                v.host_uid = um[0].host_id;
                v.host_gid = gm[0].host_id;
                if (nu > 1)
                        v.subuid_start = um[1].host_id, v.subuid_count = um[1].size;
                if (ng > 1)
                        v.subgid_start = gm[1].host_id, v.subgid_count = gm[1].size;
        }
        *ret = v;
        return 0;
}

void view_close(struct view *v)
{
        fds_free(v->layer_fds, v->n);
        v->layer_fds = NULL;
        v->n = 0;
}

static bool whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* den writes trusted.overlay.opaque as root, user.overlay.opaque rootless (unpack.c) */
static bool opaque(int dir_fd)
{
        char p[64], val[4];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", dir_fd);
        return (getxattr(p, "user.overlay.opaque", val, sizeof(val)) == 1 && val[0] == 'y') ||
               (getxattr(p, "trusted.overlay.opaque", val, sizeof(val)) == 1 && val[0] == 'y');
}

/* the topmost layer of the merged directory dir that has name; -ENOENT when
 * none has it or the topmost entry is a whiteout */
static int lookup(const struct view *v, const int *dir, const char *name, struct stat *ret_st)
{
        for (size_t i = v->n; i-- > 0;) {
                if (dir[i] < 0)
                        continue;
                if (fstatat(dir[i], name, ret_st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                return whiteout(ret_st) ? -ENOENT : (int) i;
        }
        return -ENOENT;
}

/* the merged directory name of dir, found as a directory in layer top: that
 * layer's, and the lower layers' down to a whiteout, a non-directory or an
 * opaque directory */
static int *descend(const struct view *v, const int *dir, const char *name, size_t top)
{
        int *f = xcalloc(v->n, sizeof(int));
        for (size_t i = 0; i < v->n; i++)
                f[i] = -1;
        f[top] = openat(dir[top], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (f[top] < 0 || opaque(f[top]))
                return f;
        for (size_t j = top; j-- > 0;) {
                struct stat st;
                if (dir[j] < 0)
                        continue;
                if (fstatat(dir[j], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!S_ISDIR(st.st_mode))
                        break;
                f[j] = openat(dir[j], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (f[j] < 0 || opaque(f[j]))
                        break;
        }
        return f;
}

/* Where a path resolution ended. */
struct hit {
        int *parent; /* the merged directory holding name (owned); the root's when name is NULL */
        char *name;  /* last component; NULL: the root itself */
        int top;     /* the layer of the entry; -1: absent */
        struct stat st;
        char *real;  /* the path with its symlinks resolved, relative */
};

static void hit_free(const struct view *v, struct hit *h)
{
        fds_free(h->parent, v->n);
        free(h->name);
        free(h->real);
        *h = (struct hit){ .top = -1 };
}

static char *join_comps(char **comps, size_t n, const char *more)
{
        size_t len = 1 + (more ? strlen(more) + 1 : 0);
        for (size_t i = 0; i < n; i++)
                len += strlen(comps[i]) + 1;
        char *s = xmalloc(len), *p = s;
        *p = '\0';
        for (size_t i = 0; i < n; i++)
                p += sprintf(p, "%s%s", i ? "/" : "", comps[i]);
        if (more && *more)
                sprintf(p, "%s%s", n ? "/" : "", more);
        return s;
}

/* the merged directory of the real components comps (no symlinks among them) */
static int *rewalk(const struct view *v, char **comps, size_t n)
{
        int *cur = fds_root(v);
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                int top = lookup(v, cur, comps[i], &st);
                int *next = top >= 0 && S_ISDIR(st.st_mode) ? descend(v, cur, comps[i], (size_t) top) : NULL;
                fds_free(cur, v->n);
                if (!next) /* changed meanwhile: an empty directory */
                        next = xcalloc(v->n ? v->n : 1, sizeof(int)), memset(next, 0xff, (v->n ? v->n : 1) * sizeof(int));
                cur = next;
        }
        return cur;
}

/* next component of *p (skipping '/' and "."), written to c; false at the end */
static bool next_comp(const char **p, char c[NAME_MAX + 1])
{
        for (;;) {
                while (**p == '/')
                        (*p)++;
                if (!**p)
                        return false;
                size_t l = strcspn(*p, "/");
                if (l > NAME_MAX)
                        l = NAME_MAX; /* too long for any file system: not found */
                memcpy(c, *p, l);
                c[l] = '\0';
                *p += strcspn(*p, "/");
                if (strcmp(c, ".") != 0)
                        return true;
        }
}

static bool at_end(const char *p)
{
        char c[NAME_MAX + 1];
        return !next_comp(&p, c);
}

/* Resolve path as overlayfs would see it, symlinks followed inside the root.
 * 0: found (h->top >= 0); -ENOENT: absent, h->real still names where it would
 * be; other errors with err set. */
static int resolve(const struct view *v, const char *path, bool follow, struct hit *h, struct err *err)
{
        *h = (struct hit){ .top = -1 };
        if (strlen(path) >= VIEW_MAX_PATH)
                return err_set(err, -ENAMETOOLONG, "'%s': path too long", path);
        char **comps = xcalloc(VIEW_MAX_DEPTH + 1, sizeof(char *));
        size_t depth = 0;
        int *cur = fds_root(v), links = 0, r = 0;
        _cleanup_free_ char *buf = xstrdup(path);
        const char *p = buf;
        char c[NAME_MAX + 1];
        bool found_name = false;
        while (next_comp(&p, c)) {
                if (strcmp(c, "..") == 0) {
                        /* ".." stops at the root */
                        if (depth > 0) {
                                free(comps[--depth]);
                                fds_free(cur, v->n);
                                cur = rewalk(v, comps, depth);
                        }
                        continue;
                }
                bool last = at_end(p);
                struct stat st;
                int top = lookup(v, cur, c, &st);
                if (top < 0) {
                        r = top;
                        /* where it would be: the rest appended as it is */
                        _cleanup_free_ char *tail = *p ? xasprintf("%s%s", c, p) : xstrdup(c);
                        _cleanup_free_ char *clean = path_clean_relative(tail);
                        h->real = join_comps(comps, depth, clean);
                        if (last) {
                                h->parent = TAKE_PTR(cur);
                                h->name = xstrdup(c);
                        }
                        break;
                }
                if (S_ISLNK(st.st_mode) && (!last || follow)) {
                        if (++links > VIEW_MAX_LINKS) {
                                r = err_set(err, -ELOOP, "'%s': too many levels of symbolic links", path);
                                break;
                        }
                        char target[VIEW_MAX_PATH];
                        ssize_t l = readlinkat(cur[top], c, target, sizeof(target) - 1);
                        if (l < 0) {
                                r = err_sys(err, -errno, "'%s': readlink", path);
                                break;
                        }
                        target[l] = '\0';
                        if (target[0] == '/') {
                                /* an absolute link starts again at the image's root */
                                while (depth > 0)
                                        free(comps[--depth]);
                                fds_free(cur, v->n);
                                cur = fds_root(v);
                        }
                        char *nb = xasprintf("%s%s", target, p);
                        if (strlen(nb) >= VIEW_MAX_PATH) {
                                free(nb);
                                r = err_set(err, -ENAMETOOLONG, "'%s': path too long after its links", path);
                                break;
                        }
                        free(buf);
                        buf = nb;
                        p = buf;
                        continue;
                }
                if (last) {
                        h->parent = TAKE_PTR(cur);
                        h->name = xstrdup(c);
                        h->top = top;
                        h->st = st;
                        h->real = join_comps(comps, depth, c);
                        found_name = true;
                        break;
                }
                if (!S_ISDIR(st.st_mode)) {
                        r = err_set(err, -ENOTDIR, "'%s': '%s' is not a directory", path, c);
                        break;
                }
                if (depth >= VIEW_MAX_DEPTH) {
                        r = err_set(err, -ELOOP, "'%s': deeper than %d levels", path, VIEW_MAX_DEPTH);
                        break;
                }
                int *next = descend(v, cur, c, (size_t) top);
                fds_free(cur, v->n);
                cur = next;
                comps[depth++] = xstrdup(c);
        }
        if (r == 0 && !found_name) {
                /* the path ends at a directory reached through "..": or the root */
                if (depth > 0) {
                        /* a trailing ".." left us inside comps: name the last one */
                        char *lastc = comps[--depth];
                        fds_free(cur, v->n);
                        cur = rewalk(v, comps, depth);
                        comps[depth] = lastc;
                        h->top = lookup(v, cur, lastc, &h->st);
                        h->parent = TAKE_PTR(cur);
                        h->name = xstrdup(lastc);
                        h->real = join_comps(comps, depth + 1, NULL);
                        depth++;
                        r = h->top < 0 ? h->top : 0;
                } else {
                        h->parent = TAKE_PTR(cur);
                        h->real = xstrdup("");
                        h->top = v->n ? (int) v->n - 1 : -1;
                        if (h->top < 0 || fstat(v->layer_fds[h->top], &h->st) < 0)
                                r = -ENOENT;
                }
        }
        while (depth > 0)
                free(comps[--depth]);
        free(comps);
        fds_free(cur, v->n);
        if (r < 0 && r != -ENOENT) {
                hit_free(v, h);
                return r;
        }
        return r;
}

/* an fd of what h found, opened with flags */
static int hit_open(const struct view *v, const struct hit *h, int flags)
{
        int fd = h->name ? openat(h->parent[h->top], h->name, flags | O_NOFOLLOW | O_CLOEXEC)
                         : openat(v->layer_fds[h->top], ".", flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int view_open_path(const struct view *v, const char *path, bool follow, int *ret_fd, struct err *err)
{
        struct hit h;
        int r = resolve(v, path, follow, &h, err);
        if (r == 0 && (r = hit_open(v, &h, O_PATH)) >= 0) {
                *ret_fd = r;
                r = 0;
        } else if (r < 0 && r != -ENOENT)
                r = err_sys(err, r, "'%s'", path);
        hit_free(v, &h);
        return r;
}

int view_open_read(const struct view *v, const char *path, int *ret_fd, struct err *err)
{
        struct hit h;
        int r = resolve(v, path, true, &h, err);
        if (r == 0 && S_ISDIR(h.st.st_mode))
                r = err_set(err, -EISDIR, "'%s' is a directory", path);
        else if (r == 0 && !S_ISREG(h.st.st_mode))
                r = err_set(err, -EINVAL, "'%s' is not a regular file", path);
        else if (r == 0 && (r = hit_open(v, &h, O_RDONLY | O_NOCTTY)) >= 0) {
                *ret_fd = r;
                r = 0;
        } else if (r < 0 && r != -ENOENT)
                r = err_sys(err, r, "'%s'", path);
        hit_free(v, &h);
        return r;
}

static uint32_t map_id(uint32_t id, uint32_t host, uint32_t start, uint32_t count)
{
        if (id == host)
                return 0;
        if (count && id >= start && id - start < count)
                return 1 + (id - start);
        return 65534; /* the overflow id: not one of the container's */
}

int view_stat(const struct view *v, const char *path, bool follow, struct stat *ret, struct err *err)
{
        struct hit h;
        int r = resolve(v, path, follow, &h, err);
        if (r == 0) {
                *ret = h.st;
                if (v->map_ids) {
                        ret->st_uid = map_id(h.st.st_uid, v->host_uid, v->subuid_start, v->subuid_count);
                        ret->st_gid = map_id(h.st.st_gid, v->host_gid, v->subgid_start, v->subgid_count);
                }
        }
        hit_free(v, &h);
        return r;
}

int view_realpath(const struct view *v, const char *path, bool follow, char **ret, struct err *err)
{
        struct hit h;
        int r = resolve(v, path, follow, &h, err);
        if (r == 0 || r == -ENOENT) {
                *ret = TAKE_PTR(h.real);
                r = 0;
        }
        hit_free(v, &h);
        return r;
}

int view_read_file(const struct view *v, const char *path, size_t max, char **ret, size_t *ret_len, struct err *err)
{
        int fd;
        int r = view_open_read(v, path, &fd, err);
        if (r < 0)
                return r;
        r = fs_read_fd(fd, max, ret, ret_len);
        close(fd);
        if (r == -EFBIG)
                return err_set(err, r, "'%s' is larger than %zu bytes", path, max);
        return r < 0 ? err_sys(err, r, "cannot read '%s'", path) : 0;
}

struct lname {
        char *name;
        size_t layer;
        bool hidden; /* a whiteout */
};

static int lname_cmp(const void *a, const void *b)
{
        const struct lname *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        /* the topmost layer first */
        return c ? c : (x->layer < y->layer) - (x->layer > y->layer);
}

static int list_layer(int dir_fd, size_t layer, struct lname **v, size_t *n)
{
        _cleanup_strv_free_ char **names = NULL;
        size_t k;
        int r = fs_dir_names(dir_fd, &names, &k);
        if (r < 0)
                return r;
        *v = xrealloc(*v, (*n + k) * sizeof(**v));
        for (size_t i = 0; i < k; i++) {
                struct stat st;
                bool wh = fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && whiteout(&st);
                (*v)[(*n)++] = (struct lname){ xstrdup(names[i]), layer, wh };
        }
        return 0;
}

int view_list(const struct view *v, const char *path, char ***ret, size_t *ret_n, struct err *err)
{
        struct hit h;
        int r = resolve(v, path, true, &h, err);
        if (r == -ENOENT)
                return err_set(err, r, "'%s': no such file or directory", path);
        if (r < 0)
                return r;
        if (!S_ISDIR(h.st.st_mode)) {
                hit_free(v, &h);
                return err_set(err, -ENOTDIR, "'%s' is not a directory", path);
        }
        int *dir = h.name ? descend(v, h.parent, h.name, (size_t) h.top) : fds_root(v);
        struct lname *all = NULL;
        size_t n_all = 0;
        for (size_t i = v->n; i-- > 0 && r == 0;)
                if (dir[i] >= 0)
                        r = list_layer(dir[i], i, &all, &n_all);
        fds_free(dir, v->n);
        hit_free(v, &h);
        if (r < 0) {
                for (size_t i = 0; i < n_all; i++)
                        free(all[i].name);
                free(all);
                return err_sys(err, r, "cannot list '%s'", path);
        }
        if (n_all)
                qsort(all, n_all, sizeof(*all), lname_cmp);
        char **names = xcalloc(n_all + 1, sizeof(char *));
        size_t n = 0;
        /* of one name, the topmost layer's entry decides (sorted first) */
        for (size_t i = 0; i < n_all; i++)
                if ((i == 0 || strcmp(all[i].name, all[i - 1].name) != 0) && !all[i].hidden)
                        names[n++] = xstrdup(all[i].name);
        for (size_t i = 0; i < n_all; i++)
                free(all[i].name);
        free(all);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* ---- USER and --chown ---- */

static bool parse_id(const char *s, uint32_t *ret)
{
        if (!*s || strlen(s) > 10)
                return false;
        uint64_t n = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        if (n >= UINT32_MAX) /* (uid_t) -1 means "unchanged" to chown */
                return false;
        *ret = (uint32_t) n;
        return true;
}

/* the entry of /etc/passwd or /etc/group whose name (field 0) is name, or
 * whose id (field 2) is id when name is NULL; *ret_extra: field 3 (passwd's
 * primary gid).  Malformed lines are skipped.  -ENOENT when none. */
static int id_file_find(const char *text, size_t len, const char *name, uint32_t id, uint32_t *ret_id,
                        uint32_t *ret_extra)
{
        const char *end = text + len;
        for (const char *line = text; line < end;) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                size_t l = nl ? (size_t) (nl - line) : (size_t) (end - line);
                char buf[1024];
                if (l < sizeof(buf) && !memchr(line, '\0', l)) {
                        memcpy(buf, line, l);
                        buf[l] = '\0';
                        char *f[4] = { 0 }, *s = buf;
                        size_t k = 0;
                        /* strsep keeps empty fields (the password field often is) */
                        while (k < 4 && (f[k] = strsep(&s, ":")))
                                k++;
                        uint32_t fid, extra = 0;
                        /* passwd needs its gid field too */
                        bool ok = k >= 3 && f[0][0] && f[0][0] != '#' && parse_id(f[2], &fid) &&
                                  (!ret_extra || (k == 4 && parse_id(f[3], &extra)));
                        if (ok && (name ? strcmp(f[0], name) == 0 : fid == id)) {
                                *ret_id = fid;
                                if (ret_extra)
                                        *ret_extra = extra;
                                return 0;
                        }
                }
                line += l + 1;
        }
        return -ENOENT;
}

static int read_id_file(const struct view *v, const char *file, char **ret, size_t *ret_len, struct err *err)
{
        struct err e = { 0 };
        int r = view_read_file(v, file, VIEW_MAX_ID_FILE, ret, ret_len, &e);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        if (r < 0)
                *err = e;
        return r;
}

int view_resolve_user(const struct view *v, const char *spec, uid_t *ret_uid, gid_t *ret_gid, struct err *err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        char *group = strchr(copy, ':');
        if (group)
                *group++ = '\0';
        const char *user = copy;
        if (!*user || (group && !*group))
                return err_set(err, -EINVAL, "invalid user '%s'", spec);
        uint32_t uid, gid = 0, pgid = 0;
        bool uid_num = parse_id(user, &uid);
        _cleanup_free_ char *pw = NULL;
        size_t pw_len = 0;
        int r = read_id_file(v, "/etc/passwd", &pw, &pw_len, err);
        if (r < 0)
                return r;
        if (uid_num) {
                /* a number not listed is fine: its group is 0 */
                if (!pw || id_file_find(pw, pw_len, NULL, uid, &uid, &pgid) < 0)
                        pgid = 0;
        } else if (!pw || id_file_find(pw, pw_len, user, 0, &uid, &pgid) < 0)
                return err_set(err, -ENOENT, "unable to find user %s: no matching entries in passwd file%s", user,
                               pw ? " (/etc/passwd)" : " (the image has no /etc/passwd)");
        gid = pgid;
        if (group && !parse_id(group, &gid)) {
                _cleanup_free_ char *gr = NULL;
                size_t gr_len = 0;
                if ((r = read_id_file(v, "/etc/group", &gr, &gr_len, err)) < 0)
                        return r;
                if (!gr || id_file_find(gr, gr_len, group, 0, &gid, NULL) < 0)
                        return err_set(err, -ENOENT, "unable to find group %s: no matching entries in group file%s",
                                       group, gr ? " (/etc/group)" : " (the image has no /etc/group)");
        }
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}
