/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gc.h"
#include "image.h"
#include "layer.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

#define DOC_MAX (4u << 20)

/* does a layer blob that is not its own diff id (compressed) decompress to
 * it?  checked is a cache of blob -> the verdict (each blob once per check) */
static void check_diff_id(struct store *s, const char *image, size_t i, const char *blob, const char *diff,
                          json_t *checked, json_t *problems, json_t *broken)
{
        json_t *seen = json_object_get(checked, blob);
        char actual[DIGEST_STR_MAX] = "";
        struct err e = { 0 };
        if (!seen) {
                if (layer_verify(s, blob, diff, 0, actual, &e) < 0)
                        seen = json_string(actual[0] ? actual : e.msg);
                else
                        seen = json_true();
                json_object_set_new(checked, blob, seen);
        }
        if (json_is_true(seen))
                return;
        json_array_append_new(problems, json_sprintf("image %s: layer %zu, blob %s, does not decompress to its diff id %s (%s%s)",
                                                     image, i, blob, diff, digest_valid(json_string_value(seen)) ? "it is " : "",
                                                     json_string_value(seen)));
        if (broken)
                json_object_set_new(broken, image, json_true());
}

/* every blob (manifest, config, layers) and every layer dir a name reaches;
 * with verify, compressed layer blobs are checked against their diff ids */
static int reachable(struct store *s, json_t *keep_blobs, json_t *keep_layers, json_t *problems, json_t *broken,
                     bool verify, struct err *err)
{
        json_t *checked = json_object();
        json_t *names;
        int r = image_names_load(s, &names, err);
        if (r < 0)
                return r;
        const char *k;
        json_t *v;
        json_object_foreach(names, k, v)
        {
                const char *man = json_string_value(v);
                _cleanup_free_ char *txt = NULL;
                size_t len;
                struct err e = { 0 };
                if (!man || store_read_blob(s, man, DOC_MAX, &txt, &len, &e) < 0) {
                        json_array_append_new(problems, json_sprintf("image %s: manifest %s is missing", k, man ? man : "?"));
                        if (broken)
                                json_object_set_new(broken, k, json_true());
                        continue;
                }
                json_object_set_new(keep_blobs, man, json_true());
                json_t *m = json_loadb(txt, len, 0, NULL);
                const char *cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
                if (!m || !cfg) {
                        json_array_append_new(problems, json_sprintf("image %s: manifest %s is not a manifest", k, man));
                        if (broken)
                                json_object_set_new(broken, k, json_true());
                        json_decref(m);
                        continue;
                }
                json_object_set_new(keep_blobs, cfg, json_true());
                _cleanup_free_ char *ctxt = NULL;
                size_t clen = 0;
                struct err ce = { 0 };
                json_t *c = store_read_blob(s, cfg, DOC_MAX, &ctxt, &clen, &ce) == 0 ? json_loadb(ctxt, clen, 0, NULL) : NULL;
                json_t *diffs = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
                if (!store_has_blob(s, cfg)) {
                        json_array_append_new(problems, json_sprintf("image %s: config %s is missing", k, cfg));
                        if (broken)
                                json_object_set_new(broken, k, json_true());
                }
                size_t i;
                json_t *l;
                json_array_foreach(json_object_get(m, "layers"), i, l)
                {
                        const char *d = json_string_value(json_object_get(l, "digest"));
                        if (!d || !digest_valid(d))
                                continue;
                        const char *diff = json_string_value(json_array_get(diffs, i));
                        if (!diff || !digest_valid(diff))
                                diff = d;
                        json_object_set_new(keep_blobs, d, json_true());
                        /* layer trees are named by diff id; remember the blob to unpack from */
                        json_object_set_new(keep_layers, digest_hex(diff), json_string(d));
                        _cleanup_free_ char *dir = layer_dir(diff);
                        if (!store_has_blob(s, d)) {
                                json_array_append_new(problems, json_sprintf("image %s: layer blob %s is missing", k, d));
                                if (broken)
                                        json_object_set_new(broken, k, json_true());
                        }
                        if (faccessat(s->root_fd, dir, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                                json_array_append_new(problems, json_sprintf("image %s: layer %s is not unpacked", k, d));
                        else if (verify && strcmp(d, diff) != 0 && store_has_blob(s, d))
                                check_diff_id(s, k, i, d, diff, checked, problems, broken);
                }
                json_decref(c);
                json_decref(m);
        }
        json_decref(names);
        json_decref(checked);
        return 0;
}

static int rehash(struct store *s, const char *hex, bool *ret_ok)
{
        _cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", hex);
        _cleanup_close_ int fd = openat(s->root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct digest_ctx *c = digest_new();
        char buf[1 << 16], d[DIGEST_STR_MAX];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                digest_update(c, buf, (size_t) n);
        digest_final(c, d);
        *ret_ok = n == 0 && strcmp(d + 7, hex) == 0;
        return 0;
}

/* the pid in a work file's name: tmp/w.PID.X, tmp/blob.PID.X, .NAME.tmp.PID */
static pid_t writer_pid(const char *name)
{
        const char *p = strstr(name, ".tmp.");
        if (p)
                return (pid_t) atoi(p + 5);
        p = strchr(name, '.');
        return p ? (pid_t) atoi(p + 1) : 0;
}

static bool writer_alive(const char *name)
{
        pid_t pid = writer_pid(name);
        return pid > 0 && pid != getpid() && kill(pid, 0) == 0;
}

/* Leftovers of writers that died (kill -9, a crash): tmp/ entries and the
 * temporary names of atomic writes.  Under the exclusive lock nothing else
 * is writing, and what a live writer owns is left alone.  They are garbage,
 * not damage: swept, and reported as such. */
static void sweep_leftovers(struct store *s, json_t *swept)
{
        static const char *const dirs[] = { "tmp", ".", "blobs/sha256" };
        for (size_t k = 0; k < ELEMENTSOF(dirs); k++) {
                _cleanup_close_ int dfd = openat(s->root_fd, dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        const char *n = de->d_name;
                        bool tmpfile = k == 0 ? n[0] != '.' : n[0] == '.' && strstr(n, ".tmp.") != NULL;
                        if (!tmpfile || writer_alive(n))
                                continue;
                        _cleanup_free_ char *rel = k == 1 ? xstrdup(n) : xasprintf("%s/%s", dirs[k], n);
                        struct err e = { 0 };
                        if (layer_remove_tree(s, rel, &e) == 0 && swept)
                                json_array_append_new(swept, json_sprintf("swept %s/%s, left by an interrupted writer",
                                                                          s->root, rel));
                }
                if (d)
                        closedir(d);
        }
}

/* Go over the entries of a store directory: with keep, those not in it are
 * orphans; without, every entry is a leftover (tmp/).  remove: take them out. */
static int sweep_dir(struct store *s, const char *sub, json_t *keep, bool remove, json_t *problems, json_t *repaired,
                     unsigned *n_removed, struct err *err)
{
        _cleanup_close_ int dfd = openat(s->root_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(err, -errno, "cannot open %s/%s", s->root, sub);
        DIR *d = fdopendir(dup(dfd));
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (keep && json_object_get(keep, de->d_name))
                        continue;
                _cleanup_free_ char *rel = xasprintf("%s/%s", sub, de->d_name);
                if (!keep && problems)
                        json_array_append_new(problems, json_sprintf("%s/%s: left over by an interrupted writer", s->root, rel));
                if (!remove)
                        continue;
                struct err e = { 0 };
                if (layer_remove_tree(s, rel, &e) == 0) {
                        if (repaired)
                                json_array_append_new(repaired, json_sprintf("removed %s/%s", s->root, rel));
                        if (n_removed)
                                (*n_removed)++;
                }
        }
        if (d)
                closedir(d);
        return 0;
}

int store_check(struct store *s, bool repair, json_t **ret, struct err *err)
{
        json_t *problems = json_array(), *repaired = json_array(), *kb = json_object(), *kl = json_object();
        /* images with a layer blob that is not its diff id: the names go on repair */
        json_t *poisoned = json_object();
        int r = store_lock(s, true, err);
        if (r >= 0) {
                r = reachable(s, kb, kl, problems, poisoned, true, err);
                /* every blob is rehashed; one whose bytes lie is removed on repair */
                _cleanup_close_ int bd = openat(s->root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = r >= 0 && bd >= 0 ? fdopendir(dup(bd)) : NULL;
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        bool ok = true;
                        if (de->d_name[0] == '.' || rehash(s, de->d_name, &ok) < 0 || ok)
                                continue;
                        json_array_append_new(problems,
                                              json_sprintf("blob sha256:%s: content does not match its digest", de->d_name));
                        if (repair && unlinkat(bd, de->d_name, 0) == 0)
                                json_array_append_new(repaired, json_sprintf("removed blob sha256:%s", de->d_name));
                }
                if (d)
                        closedir(d);
                /* layers whose blob is there but whose tree is not: unpack again */
                const char *k;
                json_t *v;
                json_object_foreach(kl, k, v)
                {
                        _cleanup_free_ char *dg = xasprintf("sha256:%s", k), *dir = layer_dir(dg);
                        struct err e = { 0 };
                        const char *blob = json_string_value(v);
                        if (repair && blob && faccessat(s->root_fd, dir, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
                            store_has_blob(s, blob) && layer_ensure(s, blob, dg, 0, &e) == 0)
                                json_array_append_new(repaired, json_sprintf("unpacked layer %s again", dg));
                }
                /* names whose image is now (or was) broken go */
                json_t *broken = json_object(), *scratch = json_array(), *names = NULL, *kb2 = json_object(),
                       *kl2 = json_object();
                json_object_update(broken, poisoned);
                if (repair && r >= 0 && reachable(s, kb2, kl2, scratch, broken, false, err) >= 0 &&
                    json_object_size(broken) && image_names_load(s, &names, err) >= 0) {
                        const char *bn;
                        json_t *bv;
                        json_object_foreach(broken, bn, bv)
                        {
                                json_object_del(names, bn);
                                json_array_append_new(repaired, json_sprintf("removed the name %s (its image is broken)", bn));
                        }
                        r = image_names_save(s, names, err);
                        json_decref(names);
                }
                json_decref(broken);
                json_decref(scratch);
                json_decref(kb2);
                json_decref(kl2);
                if (r >= 0)
                        sweep_leftovers(s, repaired);
                store_unlock(s);
        }
        json_decref(kb);
        json_decref(kl);
        json_decref(poisoned);
        if (r < 0) {
                json_decref(problems);
                json_decref(repaired);
                return r;
        }
        *ret = json_pack("{s:o,s:o}", "problems", problems, "repaired", repaired);
        return 0;
}

int store_prune(struct store *s, unsigned *ret_removed, struct err *err)
{
        json_t *problems = json_array(), *kb = json_object(), *kl = json_object(), *kbh = json_object();
        unsigned n = 0;
        int r = store_lock(s, true, err);
        if (r >= 0) {
                r = reachable(s, kb, kl, problems, NULL, false, err);
                /* keys of kb are "sha256:<hex>"; blob files are named by hex */
                const char *k;
                json_t *v;
                json_object_foreach(kb, k, v) json_object_set_new(kbh, k + 7, json_true());
                if (r >= 0)
                        r = sweep_dir(s, "blobs/sha256", kbh, true, NULL, NULL, &n, err);
                if (r >= 0)
                        r = sweep_dir(s, "layers", kl, true, NULL, NULL, &n, err);
                if (r >= 0)
                        sweep_leftovers(s, NULL);
                store_unlock(s);
        }
        json_decref(problems);
        json_decref(kb);
        json_decref(kl);
        json_decref(kbh);
        if (r >= 0 && ret_removed)
                *ret_removed = n;
        return r;
}
