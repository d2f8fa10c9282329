/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/layer.h"
#include "lib/store/store.h"
#include "ctr_internal.h"
#include "volume.h"

#define VOLUME_DOC_MAX (1u << 20)

static bool alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int volume_name_check(const char *name, struct err *err)
{
        size_t n = strlen(name);
        bool ok = n >= 2 && n <= VOLUME_NAME_MAX;
        for (size_t i = 0; ok && i < n; i++)
                ok = alnum(name[i]) || (i > 0 && strchr("_.-", name[i]));
        if (!ok)
                return err_set(err, -EINVAL,
                               "invalid volume name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-]+ is allowed "
                               "(2 to %d characters)", name, VOLUME_NAME_MAX);
        return 0;
}

/* the lock this thread holds across volume calls (volume_hold), -1: none */
static __thread int held = -1;

/* the volumes' directory, made when missing, locked while fd stays open (a copy of the held
 * one when this thread holds it: the same open file, the same lock) */
static int volumes_lock(const char *root, struct err *err)
{
        if (held >= 0)
                return fcntl(held, F_DUPFD_CLOEXEC, 3);
        _cleanup_free_ char *dir = xasprintf("%s/volumes", root);
        if (fs_mkdir_p(dir, 0700) < 0)
                return err_sys(err, -errno, "cannot create %s", dir);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                int r = err_sys(err, -errno, "cannot lock %s", dir);
                if (fd >= 0)
                        close(fd);
                return r;
        }
        return fd;
}

static json_t *volume_load(const char *root, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/volumes/%s/volume.json", root, name);
        struct err e = { 0 };
        json_t *j = json_load_path(p, VOLUME_DOC_MAX, &e);
        err_clear(&e);
        return j;
}

/* the record as inspect shows it: Mountpoint added, den's own fields left out */
static json_t *volume_view(const char *root, const char *name, json_t *rec)
{
        json_t *v = json_deep_copy(rec);
        json_object_del(v, "Den");
        _cleanup_free_ char *mp = xasprintf("%s/volumes/%s/_data", root, name);
        json_object_set_new(v, "Mountpoint", json_string(mp));
        return v;
}

/* docker's local driver's options, checked: type=tmpfs (o= its data), or type=none
 * (or bind) with o=bind and device=/DIR */
static int opts_check(char **opts, json_t **ret, struct err *err)
{
        json_t *o = json_object();
        for (char **p = opts; p && *p; p++) {
                const char *eq = strchr(*p, '=');
                if (!eq || eq == *p) {
                        json_decref(o);
                        return err_set(err, -EINVAL, "volume option '%s': expected KEY=VALUE", *p);
                }
                _cleanup_free_ char *k = xasprintf("%.*s", (int) (eq - *p), *p);
                if (strcmp(k, "type") && strcmp(k, "o") && strcmp(k, "device")) {
                        json_decref(o);
                        return err_set(err, -EINVAL, "volume option '%s': the local driver knows type, o and device", k);
                }
                json_object_set_new(o, k, json_string(eq + 1));
        }
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *dev = json_string_value(json_object_get(o, "device"));
        const char *mo = json_string_value(json_object_get(o, "o"));
        int r = 0;
        if (type && strcmp(type, "tmpfs") == 0) {
                if (dev && strcmp(dev, "tmpfs") != 0)
                        r = err_set(err, -EINVAL, "a tmpfs volume takes no device (device=%s)", dev);
        } else if (type && (strcmp(type, "none") == 0 || strcmp(type, "bind") == 0)) {
                struct stat st;
                if (!dev || dev[0] != '/')
                        r = err_set(err, -EINVAL, "a bind volume needs device=/HOST/DIR (an absolute path)");
                else if (!mo || !strstr(mo, "bind"))
                        r = err_set(err, -EINVAL, "a volume of type=%s needs o=bind", type);
                else if (stat(dev, &st) < 0 || !S_ISDIR(st.st_mode))
                        r = err_set(err, -ENOENT, "volume device '%s' is not a directory", dev);
        } else if (type || dev || mo)
                r = err_set(err, -EOPNOTSUPP,
                            "volume type '%s': den's local driver mounts type=tmpfs, or type=none o=bind device=DIR",
                            type ? type : "(none)");
        if (r < 0) {
                json_decref(o);
                return r;
        }
        *ret = o;
        return 0;
}

int volume_create(const char *root, const struct volume_create_opts *o, json_t **ret, struct err *err)
{
        if (o->driver && *o->driver && strcmp(o->driver, "local") != 0)
                return err_set(err, -EOPNOTSUPP, "volume driver '%s': den has only the local driver", o->driver);
        _cleanup_free_ char *name = o->name ? xstrdup(o->name) : record_random_id();
        if (volume_name_check(name, err) < 0)
                return -EINVAL;
        const char *lname;
        json_t *lv;
        json_object_foreach(o->labels, lname, lv)
        {
                if (lname[strspn(lname, " \t")] == '\0')
                        return err_set(err, -EINVAL, "invalid label '%s=%s': a label needs a name", lname,
                                       json_string_value(lv) ?: "");
        }
        json_t *opts = NULL;
        if (opts_check(o->opts, &opts, err) < 0)
                return -EINVAL;
        _cleanup_close_ int lk = volumes_lock(root, err);
        if (lk < 0) {
                json_decref(opts);
                return lk;
        }
        json_t *old = volume_load(root, name);
        if (old) {
                bool same = o->reuse || json_equal(json_object_get(old, "Options"), opts);
                json_decref(opts);
                if (!same) {
                        json_decref(old);
                        return err_set(err, -EEXIST, "volume '%s' exists with other options", name);
                }
                if (ret)
                        *ret = volume_view(root, name, old);
                json_decref(old);
                return 0;
        }
        _cleanup_free_ char *created = now_rfc3339();
        json_t *rec = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:{s:b}}", "Name", name, "Driver", "local", "CreatedAt",
                                created, "Labels", o->labels ? json_deep_copy(o->labels) : json_object(), "Scope",
                                "local", "Options", opts, "Den", "Anonymous", o->anonymous);
        /* whole or not at all: made under a temporary name, renamed into place */
        /* a name of its own (NAME may be 255 bytes, a whole path component) */
        _cleanup_free_ char *rnd = record_random_id();
        _cleanup_free_ char *tmp = xasprintf("%s/volumes/.tmp-%.16s", root, rnd),
                            *dst = xasprintf("%s/volumes/%s", root, name), *data = xasprintf("%s/_data", tmp);
        _cleanup_free_ char *txt = json_dumps(rec, JSON_INDENT(1));
        int r = 0;
        _cleanup_close_ int dfd = -1;
        if (mkdir(tmp, 0700) < 0 || mkdir(data, 0755) < 0 ||
            (dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
            fs_write_replace(dfd, "volume.json", txt, strlen(txt), 0600) < 0 || rename(tmp, dst) < 0) {
                r = err_sys(err, -errno, "cannot create volume '%s' in %s/volumes", name, root);
                fs_rm_rf(tmp);
        }
        if (r == 0 && ret)
                *ret = volume_view(root, name, rec);
        json_decref(rec);
        return r;
}

int volume_inspect(const char *root, const char *name, json_t **ret, struct err *err)
{
        json_t *rec = volume_name_check(name, err) < 0 ? NULL : volume_load(root, name);
        err_clear(err);
        if (!rec)
                return err_set(err, -ENOENT, "no such volume: %s", name);
        *ret = volume_view(root, name, rec);
        json_decref(rec);
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* the names under <root>/volumes, sorted */
static char **volume_names(const char *root)
{
        _cleanup_free_ char *dir = xasprintf("%s/volumes", root);
        char **out = NULL;
        size_t n = 0;
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                strv_push(&out, de->d_name);
                n++;
        }
        if (d)
                closedir(d);
        if (n)
                qsort(out, n, sizeof(*out), cmp_str);
        return out ? out : xcalloc(1, sizeof(char *));
}

int volume_list(const char *root, json_t **ret, struct err *err)
{
        (void) err;
        _cleanup_strv_free_ char **names = volume_names(root);
        json_t *a = json_array();
        for (char **n = names; *n; n++) {
                json_t *rec = volume_load(root, *n);
                if (!rec)
                        continue;
                json_array_append_new(a, volume_view(root, *n, rec));
                json_decref(rec);
        }
        *ret = a;
        return 0;
}

/* the volume name of a record's mount "SOURCE:DEST[:OPTS]", or NULL for a bind */
static char *mount_volume_name(const char *m)
{
        const char *c = strchr(m, ':');
        if (!c || m[0] == '/')
                return NULL;
        return xasprintf("%.*s", (int) (c - m), m);
}

char **volume_users(const char *root, const char *name)
{
        _cleanup_free_ char *dir = xasprintf("%s/containers", root);
        char **out = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                json_t *rec = record_load(root, de->d_name);
                size_t i;
                json_t *v;
                bool uses = false;
                json_array_foreach(json_object_get(json_object_get(rec, "Options"), "Volumes"), i, v)
                {
                        _cleanup_free_ char *vn = mount_volume_name(json_string_value(v) ?: "");
                        uses = uses || (vn && strcmp(vn, name) == 0);
                }
                if (uses)
                        strv_push(&out, json_string_value(json_object_get(rec, "Name")) ?: de->d_name);
                json_decref(rec);
        }
        if (d)
                closedir(d);
        return out ? out : xcalloc(1, sizeof(char *));
}

/* removed if no container has it; the volumes' lock held */
static int volume_rm_locked(const char *root, const char *name, bool missing_ok, struct err *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
        struct stat st;
        if (volume_name_check(name, err) < 0 || lstat(dir, &st) < 0) {
                err_clear(err);
                return missing_ok ? 0 : err_set(err, -ENOENT, "no such volume: %s", name);
        }
        _cleanup_strv_free_ char **users = volume_users(root, name);
        if (users[0]) {
                _cleanup_free_ char *list = strv_join(users, ", ");
                return err_set(err, -EBUSY, "volume %s is in use by container%s %s", name, users[1] ? "s" : "", list);
        }
        /* out of sight first (a rename is atomic), then removed: rootless from inside the
         * user namespace, as its files belong to the container's ids */
        _cleanup_free_ char *rnd = record_random_id();
        _cleanup_free_ char *gone = xasprintf("%s/volumes/.rm-%.16s", root, rnd), *rel = xasprintf("volumes/.rm-%.16s", rnd);
        struct store s;
        if (store_open(root, &s, err) < 0)
                return err->code;
        int r = 0;
        if (rename(dir, gone) < 0)
                r = err_sys(err, -errno, "cannot remove volume %s", name);
        if (r >= 0)
                r = layer_remove_tree(&s, rel, err);
        store_close(&s);
        return r;
}

int volume_rm(const char *root, const char *name, bool force, struct err *err)
{
        _cleanup_close_ int lk = volumes_lock(root, err);
        if (lk < 0)
                return lk;
        return volume_rm_locked(root, name, force, err);
}

int64_t volume_size(const char *root, const char *name)
{
        _cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -1 : (int64_t) fs_disk_usage(fd, "_data");
}

static bool labels_match(json_t *labels, json_t *filters)
{
        size_t i;
        json_t *f;
        json_array_foreach(filters, i, f)
        {
                const char *s = json_string_value(f) ?: "";
                const char *eq = strchr(s, '=');
                _cleanup_free_ char *k = xasprintf("%.*s", (int) (eq ? eq - s : (ptrdiff_t) strlen(s)), s);
                json_t *v = json_object_get(labels, k);
                if (!v || (eq && strcmp(json_string_value(v) ?: "", eq + 1) != 0))
                        return false;
        }
        return true;
}

/* what a create or rm cut short left (.tmp-*, .rm-*), removed; the volumes' lock held */
static void sweep_leftovers(const char *root)
{
        _cleanup_free_ char *dir = xasprintf("%s/volumes", root);
        char **left = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, ".tmp-", 5) == 0 || strncmp(de->d_name, ".rm-", 4) == 0)
                        strv_push(&left, de->d_name);
        if (d)
                closedir(d);
        struct store s;
        struct err e = { 0 };
        if (left && store_open(root, &s, &e) >= 0) {
                for (char **l = left; *l; l++) {
                        _cleanup_free_ char *rel = xasprintf("volumes/%s", *l);
                        layer_remove_tree(&s, rel, &e);
                        err_clear(&e);
                }
                store_close(&s);
        }
        err_clear(&e);
        strv_freep(&left);
}

int volume_prune(const char *root, bool all, json_t *label_filters, char ***ret, uint64_t *ret_bytes, struct err *err)
{
        _cleanup_close_ int lk = volumes_lock(root, err);
        if (lk < 0)
                return lk;
        _cleanup_strv_free_ char **names = volume_names(root);
        char **gone = NULL;
        uint64_t bytes = 0;
        sweep_leftovers(root);
        for (char **n = names; *n; n++) {
                json_t *rec = volume_load(root, *n);
                bool anon = json_is_true(json_object_get(json_object_get(rec, "Den"), "Anonymous"));
                bool pick = rec && (all || anon) && labels_match(json_object_get(rec, "Labels"), label_filters);
                json_decref(rec);
                if (!pick)
                        continue;
                int64_t sz = volume_size(root, *n);
                struct err e = { 0 };
                if (volume_rm_locked(root, *n, false, &e) == 0) {
                        strv_push(&gone, *n);
                        bytes += sz > 0 ? (uint64_t) sz : 0;
                }
                err_clear(&e);
        }
        *ret = gone ? gone : xcalloc(1, sizeof(char *));
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

int volume_mount_of(const char *root, const char *name, struct volume_mount *ret, struct err *err)
{
        *ret = (struct volume_mount) { 0 };
        json_t *rec = volume_name_check(name, err) < 0 ? NULL : volume_load(root, name);
        if (!rec) {
                err_clear(err);
                return err_set(err, -ENOENT, "no such volume: %s", name);
        }
        json_t *o = json_object_get(rec, "Options");
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *dev = json_string_value(json_object_get(o, "device"));
        const char *mo = json_string_value(json_object_get(o, "o"));
        if (type && strcmp(type, "tmpfs") == 0)
                ret->tmpfs_data = mo && *mo ? xstrdup(mo) : NULL;
        else if (dev)
                ret->source = xstrdup(dev);
        else
                ret->source = xasprintf("%s/volumes/%s/_data", root, name);
        /* every kind takes the image's content while empty, as docker's local driver */
        ret->copy_up = true;
        json_decref(rec);
        return 0;
}

void volume_mount_free(struct volume_mount *m)
{
        free(m->source);
        free(m->tmpfs_data);
        *m = (struct volume_mount) { 0 };
}

int volume_hold(const char *root, struct err *err)
{
        if (held >= 0)
                return 0; /* held already: one hold per thread */
        int fd = volumes_lock(root, err);
        if (fd < 0)
                return fd;
        held = fd;
        return 0;
}

void volume_release(void)
{
        if (held >= 0)
                close(held);
        held = -1;
}
