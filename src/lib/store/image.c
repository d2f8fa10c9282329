/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "layer.h"
#include "unpack.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/runtime/events.h"

#define MANIFEST_MAX (4u << 20)

static bool name_component_ok(const char *c, size_t n)
{
        /* [a-z0-9]+ separated by '.', '_', '__' or '-'+ */
        if (n == 0 || !((c[0] >= 'a' && c[0] <= 'z') || (c[0] >= '0' && c[0] <= '9')))
                return false;
        char last = c[n - 1];
        if (!((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9')))
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = c[i];
                if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
                        continue;
                if (ch == '.' || ch == '_' || ch == '-')
                        continue;
                return false;
        }
        return true;
}

static bool host_ok(const char *h, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char ch = h[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '-' || ch == ':'))
                        return false;
        }
        return n > 0;
}

int image_ref_normalize(const char *ref, char **ret, struct err *err)
{
        /* docker's bounds: 255 for the name (host/path, checked on the result below), 128 for the tag */
        if (!ref || !*ref || strlen(ref) > 255 + 1 + 128)
                return err_set(err, -EINVAL, "invalid reference '%s': empty or too long", ref ? ref : "");
        if (strchr(ref, '@'))
                return err_set(err, -EINVAL, "invalid reference '%s': a digest cannot name a local image", ref);
        _cleanup_free_ char *copy = xstrdup(ref);
        /* the tag is after the last ':' that follows the last '/' */
        char *slash = strrchr(copy, '/'), *colon = strrchr(slash ? slash : copy, ':');
        const char *tag = "latest";
        if (colon) {
                *colon = '\0';
                tag = colon + 1;
                size_t tl = strlen(tag);
                if (tl == 0 || tl > 128)
                        return err_set(err, -EINVAL, "invalid reference '%s': bad tag", ref);
                for (size_t i = 0; i < tl; i++) {
                        char ch = tag[i];
                        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                              ch == '_' || (i > 0 && (ch == '.' || ch == '-'))))
                                return err_set(err, -EINVAL, "invalid reference '%s': bad tag '%s'", ref, tag);
                }
        }
        const char *first_end = strchr(copy, '/');
        const char *host = NULL;
        size_t host_len = 0;
        const char *path = copy;
        if (first_end) {
                size_t fl = (size_t) (first_end - copy);
                bool is_host = memchr(copy, '.', fl) || memchr(copy, ':', fl) || (fl == 9 && memcmp(copy, "localhost", 9) == 0);
                if (is_host) {
                        if (!host_ok(copy, fl))
                                return err_set(err, -EINVAL, "invalid reference '%s': bad registry host", ref);
                        host = copy;
                        host_len = fl;
                        path = first_end + 1;
                }
        }
        for (const char *p = path;;) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t) (e - p) : strlen(p);
                if (!name_component_ok(p, n))
                        return err_set(err, -EINVAL,
                                       "invalid reference '%s': names are lowercase letters, digits and . _ - separated by /",
                                       ref);
                if (!e)
                        break;
                p = e + 1;
        }
        /* the bound holds for the name as normalized (localhost/ added), so that a
         * normalized name normalizes again: the store keeps it, `den run` is given it */
        if ((host ? host_len : strlen("localhost")) + 1 + strlen(path) > 255)
                return err_set(err, -EINVAL, "invalid reference '%s': the name is longer than 255 characters", ref);
        *ret = host ? xasprintf("%.*s/%s:%s", (int) host_len, host, path, tag) : xasprintf("localhost/%s:%s", path, tag);
        return 0;
}

int image_names_load(struct store *s, json_t **ret, struct err *err)
{
        _cleanup_free_ char *p = xasprintf("%s/names.json", s->root);
        if (access(p, F_OK) < 0) {
                *ret = json_object();
                return 0;
        }
        json_t *j = json_load_path(p, MANIFEST_MAX, err);
        if (!j)
                return err->code;
        if (!json_is_object(j)) {
                json_decref(j);
                return err_set(err, -EINVAL, "%s: not a JSON object", p);
        }
        *ret = j;
        return 0;
}

int image_names_save(struct store *s, json_t *names, struct err *err)
{
        _cleanup_free_ char *txt = json_dumps(names, JSON_INDENT(1) | JSON_SORT_KEYS);
        int r = fs_write_atomic(s->root_fd, "names.json", txt, strlen(txt), 0600);
        return r < 0 ? err_sys(err, r, "cannot write %s/names.json", s->root) : 0;
}

int image_resolve(struct store *s, const char *ref, char ret[DIGEST_STR_MAX], struct err *err)
{
        json_t *names;
        int r;
        if ((r = image_names_load(s, &names, err)) < 0)
                return r;
        const char *d = NULL;
        _cleanup_free_ char *norm = NULL;
        struct err e2 = { 0 };
        const char *at = strchr(ref, '@');
        if (at) {
                /* NAME@DIGEST: the image with that manifest, when the store names it */
                const char *k;
                json_t *v;
                json_object_foreach(names, k, v) if (!d && json_string_value(v) && strcmp(json_string_value(v), at + 1) == 0)
                        d = json_string_value(v);
        } else if (image_ref_normalize(ref, &norm, &e2) == 0) {
                d = json_string_value(json_object_get(names, norm));
                /* a short name not made here: the one pulled image whose name ends so (podman's rule) */
                if (!d && strncmp(norm, "localhost/", 10) == 0 && strncmp(ref, "localhost/", 10) != 0) {
                        const char *k;
                        json_t *v;
                        size_t nl = strlen(norm + 9);
                        json_object_foreach(names, k, v)
                        {
                                size_t kl = strlen(k);
                                const char *tail = kl > nl ? k + kl - nl : NULL;
                                bool lib = tail && kl > nl + 8 && strncmp(tail - 8, "/library", 8) == 0;
                                if (!tail || strcmp(tail, norm + 9) != 0 || (strchr(k, '/') != tail && !lib))
                                        continue;
                                if (d && strcmp(d, json_string_value(v)) != 0) {
                                        json_decref(names);
                                        return err_set(err, -EINVAL, "image '%s' is ambiguous: give the registry", ref);
                                }
                                d = json_string_value(v);
                        }
                }
        }
        if (!d) {
                /* a manifest digest, or a unique prefix of one */
                const char *k;
                json_t *v;
                const char *want = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
                size_t wl = strlen(want);
                json_object_foreach(names, k, v)
                {
                        const char *dv = json_string_value(v);
                        if (wl >= 12 && dv && strncmp(dv + 7, want, wl) == 0) {
                                if (d && strcmp(d, dv) != 0) {
                                        json_decref(names);
                                        return err_set(err, -EINVAL, "image '%s' is ambiguous", ref);
                                }
                                d = dv;
                        }
                }
        }
        /* a full manifest digest of the store, named or not (a build's result) */
        if (!d && strlen(ref) == 71 && digest_valid(ref) && store_has_blob(s, ref))
                d = ref;
        if (!d || !digest_valid(d)) {
                json_decref(names);
                return err_set(err, -ENOENT, "image '%s' not found%s%s%s", ref, norm ? " (as " : "", norm ? norm : "",
                               norm ? ")" : "");
        }
        strcpy(ret, d);
        json_decref(names);
        return 0;
}

int image_tag(struct store *s, const char *src, const char *dst, struct err *err)
{
        char d[DIGEST_STR_MAX];
        _cleanup_free_ char *norm = NULL;
        json_t *names;
        int r;
        if ((r = image_ref_normalize(dst, &norm, err)) < 0)
                return r;
        if ((r = store_lock(s, true, err)) < 0)
                return r;
        if ((r = image_resolve(s, src, d, err)) >= 0 && (r = image_names_load(s, &names, err)) >= 0) {
                json_object_set_new(names, norm, json_string(d));
                r = image_names_save(s, names, err);
                json_decref(names);
        }
        store_unlock(s);
        if (r >= 0)
                events_img(s->root, "tag", d, norm);
        return r;
}

int image_untag(struct store *s, const char *ref, struct err *err)
{
        json_t *names;
        char d[DIGEST_STR_MAX];
        int r;
        if ((r = store_lock(s, true, err)) < 0)
                return r;
        if ((r = image_resolve(s, ref, d, err)) < 0 || (r = image_names_load(s, &names, err)) < 0) {
                store_unlock(s);
                return r;
        }
        _cleanup_free_ char *norm = NULL;
        struct err e2 = { 0 };
        const char *k;
        json_t *v;
        void *tmp;
        bool by_name = image_ref_normalize(ref, &norm, &e2) == 0 && json_object_get(names, norm);
        json_object_foreach_safe(names, tmp, k, v)
        {
                if (by_name ? strcmp(k, norm) == 0 : strcmp(json_string_value(v), d) == 0)
                        json_object_del(names, k);
        }
        r = image_names_save(s, names, err);
        json_decref(names);
        store_unlock(s);
        if (r >= 0)
                events_img_untagged(s->root, d, by_name ? norm : d);
        return r;
}

int image_config_load(struct store *s, const char *digest, json_t **ret, struct err *err)
{
        _cleanup_free_ char *txt = NULL;
        size_t len;
        json_error_t je;
        int r = store_read_blob(s, digest, MANIFEST_MAX, &txt, &len, err);
        if (r < 0)
                return err_wrap(err, "image config %s", digest);
        json_t *c = json_loadb(txt, len, 0, &je);
        if (!c)
                /* jansson stops at 2048 levels, with this text */
                return strstr(je.text, "depth") ? err_set(err, -EINVAL, "image config %s: not JSON: nested too deep (%s)", digest, je.text)
                                                : err_set(err, -EINVAL, "image config %s: not JSON: %s (byte %d)", digest,
                                                          je.text, je.position);
        if (!json_is_object(c)) {
                json_decref(c);
                return err_set(err, -EINVAL, "image config %s: not a JSON object", digest);
        }
        if (!json_is_array(json_object_get(json_object_get(c, "rootfs"), "diff_ids"))) {
                json_decref(c);
                return err_set(err, -EINVAL, "image config %s: no rootfs.diff_ids array", digest);
        }
        *ret = c;
        return 0;
}

int image_inspect(struct store *s, const char *manifest, json_t **ret, struct err *err)
{
        _cleanup_free_ char *mtxt = NULL, *ctxt = NULL;
        size_t ml, cl;
        int r;
        if ((r = store_read_blob(s, manifest, MANIFEST_MAX, &mtxt, &ml, err)) < 0)
                return err_wrap(err, "image manifest");
        json_t *m = json_loadb(mtxt, ml, 0, NULL);
        const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (!m || !cd || !digest_valid(cd)) {
                json_decref(m);
                return err_set(err, -EINVAL, "image manifest %s: not an OCI manifest", manifest);
        }
        if ((r = store_read_blob(s, cd, MANIFEST_MAX, &ctxt, &cl, err)) < 0) {
                json_decref(m);
                return err_wrap(err, "image config");
        }
        json_t *c = json_loadb(ctxt, cl, 0, NULL);
        if (!c) {
                /* cd lives in m: the message first */
                r = err_set(err, -EINVAL, "image config %s: not JSON", cd);
                json_decref(m);
                return r;
        }
        json_t *names = NULL, *mine = json_array();
        if (image_names_load(s, &names, err) == 0) {
                const char *k;
                json_t *v;
                json_object_foreach(names, k, v) if (strcmp(json_string_value(v), manifest) == 0)
                        json_array_append_new(mine, json_string(k));
                json_decref(names);
        }
        json_int_t size = 0;
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(m, "layers"), i, l) size += json_integer_value(json_object_get(l, "size"));
        *ret = json_pack("{s:s,s:s,s:o,s:I,s:o,s:o}", "Id", cd, "Digest", manifest, "RepoTags", mine, "Size", size,
                         "Manifest", m, "Config", c);
        return 0;
}

int image_import(struct store *s, const struct image_import_opts *o, char ret[DIGEST_STR_MAX], struct err *err)
{
        _cleanup_free_ char *norm = NULL, *created = NULL, *ctxt = NULL, *mtxt = NULL;
        int r;
        if ((r = image_ref_normalize(o->name, &norm, err)) < 0)
                return r;
        _cleanup_close_ int in = strcmp(o->source, "-") == 0 ? dup(0) : open(o->source, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return err_sys(err, -errno, "cannot open '%s'", o->source);
        /* the layer is stored uncompressed: its digest is its diff id */
        char path[256];
        snprintf(path, sizeof(path), "%s/tmp/import.%d.XXXXXX", s->root, getpid());
        _cleanup_close_ int raw = mkostemp(path, O_CLOEXEC);
        if (raw < 0)
                return err_sys(err, -errno, "cannot create a file in %s/tmp", s->root);
        unlink(path);
        /* a bomb stops here, from the tar headers, before its data is read */
        struct unpack_opts lim = { .layer = "(the archive)" };
        layer_limits(s, o->max_bytes, &lim);
        if ((r = layer_decompress_tar(in, raw, &lim, err)) < 0)
                return err_wrap(err, "import '%s'", o->source);
        if (lseek(raw, 0, SEEK_SET) < 0)
                return err_sys(err, -errno, "lseek");
        if ((r = store_lock(s, true, err)) < 0)
                return r;
        char layer[DIGEST_STR_MAX], cfg[DIGEST_STR_MAX], man[DIGEST_STR_MAX];
        uint64_t layer_size = 0;
        if ((r = store_put_blob_fd(s, raw, NULL, 0, layer, &layer_size, err)) < 0)
                goto out;
        if ((r = layer_ensure(s, layer, layer, o->max_bytes, err)) < 0) {
                /* a refused layer's blob must not linger: had it been in the store
                 * already, its unpacked tree would be there and nothing refused */
                store_remove_blob(s, layer);
                goto out;
        }
        created = now_rfc3339();
        json_t *config = json_pack(
                "{s:s,s:s,s:s,s:{s:[s],s:[s]},s:{s:s,s:[s]},s:[{s:s,s:s}]}", "created", created, "architecture",
                "amd64", "os", "linux", "config", "Env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "Cmd", "/bin/sh", "rootfs", "type", "layers", "diff_ids", layer, "history", "created", created,
                "created_by", "den import");
        ctxt = json_dumps(config, JSON_COMPACT);
        json_decref(config);
        if ((r = store_put_blob_mem(s, ctxt, strlen(ctxt), cfg, err)) < 0)
                goto out;
        json_t *manifest = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "mediaType",
                                     "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                                     "application/vnd.oci.image.config.v1+json", "digest", cfg, "size",
                                     (json_int_t) strlen(ctxt), "layers", "mediaType",
                                     "application/vnd.oci.image.layer.v1.tar", "digest", layer, "size",
                                     (json_int_t) layer_size);
        mtxt = json_dumps(manifest, JSON_COMPACT);
        json_decref(manifest);
        if ((r = store_put_blob_mem(s, mtxt, strlen(mtxt), man, err)) < 0)
                goto out;
        json_t *names;
        if ((r = image_names_load(s, &names, err)) < 0)
                goto out;
        json_object_set_new(names, norm, json_string(man));
        r = image_names_save(s, names, err);
        json_decref(names);
        if (r == 0)
                strcpy(ret, man);
        if (r == 0)
                events_img(s->root, "import", man, norm);
out:
        store_unlock(s);
        return r;
}

int image_commit(struct store *s, const char *base, int layer_fd, const char *name, const char *comment,
                 char ret[DIGEST_STR_MAX], struct err *err)
{
        _cleanup_free_ char *norm = NULL, *mtxt = NULL, *ctxt = NULL, *created = now_rfc3339(), *cnew = NULL,
                            *mnew = NULL;
        size_t ml, cl;
        int r;
        if ((r = image_ref_normalize(name, &norm, err)) < 0)
                return r;
        if ((r = store_lock(s, true, err)) < 0)
                return r;
        json_t *m = NULL, *c = NULL, *names = NULL;
        char diff[DIGEST_STR_MAX], cd[DIGEST_STR_MAX], md[DIGEST_STR_MAX];
        uint64_t size = 0;
        lseek(layer_fd, 0, SEEK_SET);
        if ((r = store_put_blob_fd(s, layer_fd, NULL, 0, diff, &size, err)) < 0 ||
            (r = store_read_blob(s, base, MANIFEST_MAX, &mtxt, &ml, err)) < 0)
                goto out;
        m = json_loadb(mtxt, ml, 0, NULL);
        const char *bcd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (!m || !bcd || (r = store_read_blob(s, bcd, MANIFEST_MAX, &ctxt, &cl, err)) < 0 ||
            !(c = json_loadb(ctxt, cl, 0, NULL)) || !json_is_array(json_object_get(json_object_get(c, "rootfs"), "diff_ids"))) {
                r = r < 0 ? r : err_set(err, -EINVAL, "image %s: its manifest or config is damaged", base);
                goto out;
        }
        json_array_append_new(json_object_get(json_object_get(c, "rootfs"), "diff_ids"), json_string(diff));
        json_t *hist = json_object_get(c, "history");
        if (!json_is_array(hist)) {
                hist = json_array();
                json_object_set_new(c, "history", hist);
        }
        json_array_append_new(hist, json_pack("{s:s,s:s}", "created", created, "created_by", comment));
        json_object_set_new(c, "created", json_string(created));
        cnew = json_dumps(c, JSON_COMPACT);
        if ((r = store_put_blob_mem(s, cnew, strlen(cnew), cd, err)) < 0)
                goto out;
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        bool docker = mt && strstr(mt, "docker");
        json_object_set_new(json_object_get(m, "config"), "digest", json_string(cd));
        json_object_set_new(json_object_get(m, "config"), "size", json_integer((json_int_t) strlen(cnew)));
        json_array_append_new(json_object_get(m, "layers"),
                              json_pack("{s:s,s:s,s:I}", "mediaType",
                                        docker ? "application/vnd.docker.image.rootfs.diff.tar"
                                               : "application/vnd.oci.image.layer.v1.tar",
                                        "digest", diff, "size", (json_int_t) size));
        mnew = json_dumps(m, JSON_COMPACT);
        if ((r = store_put_blob_mem(s, mnew, strlen(mnew), md, err)) < 0 || (r = layer_ensure(s, diff, diff, 0, err)) < 0 ||
            (r = image_names_load(s, &names, err)) < 0)
                goto out;
        json_object_set_new(names, norm, json_string(md));
        if ((r = image_names_save(s, names, err)) == 0)
                strcpy(ret, md);
out:
        json_decref(m);
        json_decref(c);
        json_decref(names);
        store_unlock(s);
        return r;
}

int image_find_id(struct store *s, const char *id, char ret_manifest[DIGEST_STR_MAX], struct err *err)
{
        const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
        size_t hl = strlen(hex);
        json_t *names = NULL;
        if (hl < 4 || hl > 64 || strspn(hex, "0123456789abcdef") != hl)
                return err_set(err, -ENOENT, "No such image: %s", id);
        int r = image_names_load(s, &names, err);
        if (r < 0)
                return r;
        const char *k;
        json_t *v;
        r = -ENOENT;
        json_object_foreach(names, k, v)
        {
                json_t *info = NULL;
                struct err e2 = { 0 };
                if (image_inspect(s, json_string_value(v), &info, &e2) < 0)
                        continue;
                const char *cid = json_string_value(json_object_get(info, "Id"));
                bool hit = cid && strlen(cid) > 7 && strncmp(cid + 7, hex, hl) == 0;
                json_decref(info);
                if (hit) {
                        snprintf(ret_manifest, DIGEST_STR_MAX, "%s", json_string_value(v));
                        r = 0;
                        break;
                }
        }
        json_decref(names);
        return r < 0 ? err_set(err, r, "No such image: %s", id) : 0;
}
