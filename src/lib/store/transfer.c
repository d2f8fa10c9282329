/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "layer.h"
#include "lib/base/fs.h"
#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/runtime/events.h"
#include "tarw.h"
#include "transfer.h"
#include "unpack.h"

#define DOC_MAX (4u << 20)

int image_format_parse(const char *s, enum image_format *ret)
{
        if (strcmp(s, "docker-archive") == 0)
                *ret = FORMAT_DOCKER_ARCHIVE;
        else if (strcmp(s, "oci-archive") == 0)
                *ret = FORMAT_OCI_ARCHIVE;
        else if (strcmp(s, "oci-dir") == 0 || strcmp(s, "oci") == 0)
                *ret = FORMAT_OCI_DIR;
        else
                return -EINVAL;
        return 0;
}

/* ---- save ---- */

struct sink {
        struct tarw *tar;  /* archives */
        int dir_fd;        /* oci-dir */
};

static int sink_bytes(struct sink *k, const char *name, const void *data, size_t len, struct err *err)
{
        if (k->tar)
                return tarw_add_bytes(k->tar, name, data, len, err);
        int r = fs_write_atomic(k->dir_fd, name, data, len, 0644);
        return r < 0 ? err_sys(err, r, "cannot write '%s'", name) : 0;
}

static int sink_blob(struct sink *k, struct store *s, const char *digest, const char *name, struct err *err)
{
        _cleanup_close_ int fd = store_open_blob(s, digest, err);
        if (fd < 0)
                return fd;
        if (k->tar)
                return tarw_add_fd(k->tar, name, fd, err);
        _cleanup_close_ int out = openat(k->dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char buf[1 << 16];
        ssize_t n;
        if (out < 0)
                return err_sys(err, -errno, "cannot write '%s'", name);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (fs_write_all(out, buf, (size_t) n) < 0)
                        return err_sys(err, -errno, "cannot write '%s'", name);
        return 0;
}

/* a blob into the sink once (an archive of several images shares their blobs) */
static int sink_blob_once(struct sink *k, json_t *written, struct store *s, const char *digest, const char *name,
                          struct err *err)
{
        if (json_object_get(written, name))
                return 0;
        json_object_set_new(written, name, json_true());
        return sink_blob(k, s, digest, name, err);
}

/* one image's blobs into the sink; its manifest.json entry (docker) or index.json
 * descriptor (OCI) appended to entries */
static int save_image(struct sink *k, json_t *written, struct store *s, const char *ref, enum image_format f,
                      json_t *entries, struct err *err)
{
        char man[DIGEST_STR_MAX];
        json_t *info = NULL;
        int r;
        if ((r = image_resolve(s, ref, man, err)) < 0 || (r = image_inspect(s, man, &info, err)) < 0)
                return r;
        json_t *m = json_object_get(info, "Manifest"), *c = json_object_get(info, "Config");
        const char *cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        json_t *tags = json_object_get(info, "RepoTags"), *l;
        /* saved by one of its names, an image goes with that name alone (docker save); a
         * short name may stand for docker.io's (what docker's CLI tags as) */
        _cleanup_free_ char *norm = NULL, *lib = NULL, *hub = NULL;
        struct err e2 = { 0 };
        size_t i;
        if (image_ref_normalize(ref, &norm, &e2) == 0 && strncmp(norm, "localhost/", 10) == 0) {
                lib = xasprintf("docker.io/library/%s", norm + 10);
                hub = xasprintf("docker.io/%s", norm + 10);
        }
        json_array_foreach(tags, i, l)
        {
                const char *t = json_string_value(l);
                if (norm && (strcmp(t, norm) == 0 || (lib && strcmp(t, lib) == 0) || (hub && strcmp(t, hub) == 0))) {
                        tags = json_pack("[s]", t);
                        json_object_set_new(info, "RepoTags", tags);
                        break;
                }
        }
        const char *name = json_string_value(json_array_get(tags, 0));
        if (f == FORMAT_DOCKER_ARCHIVE) {
                /* docker save's layout: config as <hex>.json, layers as <diff id hex>/layer.tar, uncompressed */
                json_t *layer_paths = json_array();
                _cleanup_free_ char *cname = xasprintf("%s.json", digest_hex(cfg));
                r = sink_blob_once(k, written, s, cfg, cname, err);
                json_t *diffs = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
                json_array_foreach(json_object_get(m, "layers"), i, l)
                {
                        const char *d = json_string_value(json_object_get(l, "digest"));
                        const char *diff = json_string_value(json_array_get(diffs, i));
                        if (r < 0 || !d || !diff)
                                break;
                        if (strcmp(d, diff) != 0) {
                                r = err_set(err, -EOPNOTSUPP,
                                            "save --format docker-archive: layer %s is compressed; use --format oci-archive", d);
                                break;
                        }
                        _cleanup_free_ char *dir = xstrdup(digest_hex(diff)), *lp = xasprintf("%s/layer.tar", dir);
                        if (!json_object_get(written, lp) && k->tar && (r = tarw_add_dir(k->tar, dir, err)) < 0)
                                break;
                        if ((r = sink_blob_once(k, written, s, d, lp, err)) < 0)
                                break;
                        json_array_append_new(layer_paths, json_string(lp));
                }
                if (r >= 0)
                        json_array_append_new(entries, json_pack("{s:s,s:O,s:o}", "Config", cname, "RepoTags", tags,
                                                                 "Layers", layer_paths));
                else
                        json_decref(layer_paths);
        } else {
                /* an OCI image layout */
                _cleanup_free_ char *mname = xasprintf("blobs/sha256/%s", digest_hex(man)),
                                    *cname = xasprintf("blobs/sha256/%s", digest_hex(cfg));
                if (r >= 0)
                        r = sink_blob_once(k, written, s, man, mname, err);
                if (r >= 0)
                        r = sink_blob_once(k, written, s, cfg, cname, err);
                json_array_foreach(json_object_get(m, "layers"), i, l)
                {
                        const char *d = json_string_value(json_object_get(l, "digest"));
                        _cleanup_free_ char *ln = xasprintf("blobs/sha256/%s", d ? digest_hex(d) : "");
                        if (r < 0 || !d || (r = sink_blob_once(k, written, s, d, ln, err)) < 0)
                                break;
                }
                struct stat st;
                _cleanup_close_ int mfd = store_open_blob(s, man, err);
                if (r >= 0 && mfd >= 0 && fstat(mfd, &st) == 0)
                        json_array_append_new(entries, json_pack("{s:s,s:s,s:I,s:{s:s?}}", "mediaType",
                                                                 "application/vnd.oci.image.manifest.v1+json", "digest",
                                                                 man, "size", (json_int_t) st.st_size, "annotations",
                                                                 "org.opencontainers.image.ref.name", name));
        }
        json_decref(info);
        return r;
}

int image_save_many(struct store *s, const char *const *refs, size_t n, enum image_format f, int out_fd,
                    const char *dir_path, struct err *err)
{
        int r;
        if ((r = store_lock(s, false, err)) < 0)
                return r;
        struct sink k = { .dir_fd = -1 };
        json_t *entries = json_array(), *written = json_object();
        if (f == FORMAT_OCI_DIR) {
                if (mkdir(dir_path, 0755) < 0 && errno != EEXIST) {
                        r = err_sys(err, -errno, "cannot create '%s'", dir_path);
                        goto out;
                }
                k.dir_fd = open(dir_path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (k.dir_fd < 0 || (mkdirat(k.dir_fd, "blobs", 0755) < 0 && errno != EEXIST) ||
                    (mkdirat(k.dir_fd, "blobs/sha256", 0755) < 0 && errno != EEXIST)) {
                        r = err_sys(err, -errno, "cannot write into '%s'", dir_path);
                        goto out;
                }
        } else if ((r = tarw_open(out_fd, &k.tar, err)) < 0)
                goto out;
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        if (f != FORMAT_DOCKER_ARCHIVE && k.tar)
                r = tarw_add_dir(k.tar, "blobs", err) < 0 ? -EIO : tarw_add_dir(k.tar, "blobs/sha256", err);
        if (f != FORMAT_DOCKER_ARCHIVE && r >= 0)
                r = sink_bytes(&k, "oci-layout", layout, strlen(layout), err);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = save_image(&k, written, s, refs[i], f, entries, err);
        if (r >= 0) {
                json_t *doc = f == FORMAT_DOCKER_ARCHIVE ? json_incref(entries)
                                                         : json_pack("{s:i,s:O}", "schemaVersion", 2, "manifests", entries);
                _cleanup_free_ char *txt = json_dumps(doc, JSON_COMPACT);
                json_decref(doc);
                r = sink_bytes(&k, f == FORMAT_DOCKER_ARCHIVE ? "manifest.json" : "index.json", txt, strlen(txt), err);
        }
        if (k.tar) {
                int q = tarw_close(k.tar, err);
                if (r >= 0)
                        r = q;
        }
out:
        if (k.dir_fd >= 0)
                close(k.dir_fd);
        json_decref(entries);
        json_decref(written);
        store_unlock(s);
        for (size_t i = 0; r >= 0 && i < n; i++)
                events_img(s->root, "save", refs[i], refs[i]);
        return r;
}

int image_save(struct store *s, const char *ref, enum image_format f, int out_fd, const char *dir_path, struct err *err)
{
        return image_save_many(s, &ref, 1, f, out_fd, dir_path, err);
}

/* ---- load ---- */

/* a blob from the unpacked archive into the store; expected may be NULL */
static int put_file(struct store *s, int dir, const char *path, const char *expected, char ret[DIGEST_STR_MAX],
                    uint64_t *ret_size, struct err *err)
{
        _cleanup_close_ int fd = fs_open_in_root(dir, path, O_RDONLY, 0);
        if (fd < 0)
                return err_sys(err, fd, "the archive names '%s', which it does not hold", path);
        int r = store_put_blob_fd(s, fd, expected, 0, ret, ret_size, err);
        return r < 0 ? err_wrap(err, "'%s'", path) : 0;
}

static bool known_layer_type(const char *mt)
{
        static const char *const ok[] = {
                "application/vnd.oci.image.layer.v1.tar",       "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd",  "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        };
        if (!mt)
                return true; /* absent in some older manifests: the bytes tell */
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (strcmp(mt, ok[i]) == 0)
                        return true;
        return false;
}

/* unpack the layers of a manifest, each checked against its diff id in the config */
static int unpack_layers(struct store *s, const char *config, json_t *layers, struct err *err)
{
        size_t i;
        json_t *l, *c;
        int r = image_config_load(s, config, &c, err);
        if (r < 0)
                return r;
        json_t *diffs = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
        json_array_foreach(layers, i, l)
        {
                const char *diff = json_string_value(json_array_get(diffs, i));
                if (!diff || !digest_valid(diff)) {
                        r = err_set(err, -EINVAL, "config %s: no diff id for layer %zu", config, i);
                        break;
                }
                if ((r = layer_ensure(s, json_string_value(json_object_get(l, "digest")), diff, 0, err)) < 0)
                        break;
        }
        json_decref(c);
        return r;
}

/* a JSON document at the top of the unpacked archive (index.json, manifest.json);
 * NULL and an error when it is not there, NULL alone when it is not JSON */
static json_t *archive_doc(int dir, const char *name, struct err *err)
{
        _cleanup_close_ int fd = fs_open_in_root(dir, name, O_RDONLY, 0);
        _cleanup_free_ char *txt = NULL;
        size_t len;
        if (fd < 0 || fs_read_fd(fd, DOC_MAX, &txt, &len) < 0) {
                err_set(err, -EINVAL, "%s is missing or unreadable", name);
                return NULL;
        }
        return json_loadb(txt, len, 0, NULL);
}

/* a name loaded: into out (den serve), else printed (den load) */
static void loaded(json_t *out, const char *name)
{
        if (out)
                json_array_append_new(out, json_string(name));
        else
                printf("Loaded image: %s\n", name);
}

static int load_manifest(struct store *s, int dir, const char *mdigest, const char *name, json_t *out, struct err *err)
{
        char got[DIGEST_STR_MAX];
        if (!digest_valid(mdigest))
                return err_set(err, -EINVAL, "index.json: unsupported digest '%s'", mdigest);
        _cleanup_free_ char *mp = xasprintf("blobs/sha256/%s", digest_hex(mdigest)), *txt = NULL;
        int r = put_file(s, dir, mp, mdigest, got, NULL, err);
        if (r < 0)
                return r;
        size_t len;
        if ((r = store_read_blob(s, mdigest, DOC_MAX, &txt, &len, err)) < 0)
                return r;
        json_t *m = json_loadb(txt, len, 0, NULL);
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        if (!m) {
                store_remove_blob(s, mdigest);
                return err_set(err, -EINVAL, "manifest %s: not JSON", mdigest);
        }
        if (mt && strstr(mt, "index")) {
                json_decref(m);
                return err_set(err, -EINVAL, "manifest %s: not an image manifest (nested indexes are not supported)", mdigest);
        }
        json_t *cfg = json_object_get(m, "config"), *l;
        const char *cd = json_string_value(json_object_get(cfg, "digest"));
        size_t i;
        if (!cd || !digest_valid(cd)) {
                json_decref(m);
                return err_set(err, -EINVAL, "manifest %s: no valid config digest", mdigest);
        }
        _cleanup_free_ char *cp = xasprintf("blobs/sha256/%s", digest_hex(cd));
        if ((r = put_file(s, dir, cp, cd, got, NULL, err)) < 0) {
                json_decref(m);
                return r;
        }
        json_array_foreach(json_object_get(m, "layers"), i, l)
        {
                const char *d = json_string_value(json_object_get(l, "digest"));
                const char *lt = json_string_value(json_object_get(l, "mediaType"));
                if (!d || !digest_valid(d)) {
                        json_decref(m);
                        return err_set(err, -EINVAL, "manifest %s: layer %zu has no valid digest", mdigest, i);
                }
                if (!known_layer_type(lt)) {
                        r = err_set(err, -EINVAL, "manifest %s: layer %zu has an unknown media type '%s'", mdigest, i, lt);
                        json_decref(m);
                        return r;
                }
                _cleanup_free_ char *lp = xasprintf("blobs/sha256/%s", digest_hex(d));
                if ((r = put_file(s, dir, lp, d, got, NULL, err)) < 0) {
                        json_decref(m);
                        return r;
                }
        }
        r = unpack_layers(s, cd, json_object_get(m, "layers"), err);
        json_decref(m);
        if (r < 0)
                return r;
        json_t *names;
        _cleanup_free_ char *norm = NULL;
        if ((r = image_ref_normalize(name, &norm, err)) < 0 || (r = image_names_load(s, &names, err)) < 0)
                return r;
        json_object_set_new(names, norm, json_string(mdigest));
        r = image_names_save(s, names, err);
        json_decref(names);
        if (r == 0)
                loaded(out, norm);
        if (r == 0)
                events_img(s->root, "load", mdigest, norm);
        return r;
}

static int load_oci(struct store *s, int dir, json_t *out, struct err *err)
{
        json_t *idx = archive_doc(dir, "index.json", err), *d;
        size_t i;
        int r = 0, n = 0;
        if (!idx)
                return err->code ? err->code : err_set(err, -EINVAL, "index.json is not JSON");
        json_array_foreach(json_object_get(idx, "manifests"), i, d)
        {
                const char *md = json_string_value(json_object_get(d, "digest"));
                json_t *ann = json_object_get(d, "annotations");
                const char *ref = json_string_value(json_object_get(ann, "io.containerd.image.name"));
                if (!ref)
                        ref = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
                _cleanup_free_ char *fallback = md && digest_valid(md) ? xasprintf("loaded-%.12s", digest_hex(md)) : NULL;
                if ((r = load_manifest(s, dir, md ? md : "", ref ? ref : fallback ? fallback : "", out, err)) < 0)
                        break;
                n++;
        }
        json_decref(idx);
        if (r == 0 && n == 0)
                r = err_set(err, -EINVAL, "index.json lists no image");
        return r;
}

/* docker save: manifest.json with Config, RepoTags and Layers paths */
static int load_docker(struct store *s, int dir, json_t *out, struct err *err)
{
        json_t *all = archive_doc(dir, "manifest.json", err), *e;
        size_t i;
        int r = 0;
        if (!all && err->code)
                return err->code;
        if (!json_is_array(all) || json_array_size(all) == 0) {
                json_decref(all);
                return err_set(err, -EINVAL, "manifest.json: not a docker-archive manifest");
        }
        json_array_foreach(all, i, e)
        {
                const char *cpath = json_string_value(json_object_get(e, "Config"));
                char cd[DIGEST_STR_MAX], ld[DIGEST_STR_MAX], md[DIGEST_STR_MAX];
                uint64_t csize = 0, lsize = 0;
                if (!cpath) {
                        r = err_set(err, -EINVAL, "manifest.json[%zu]: no Config", i);
                        break;
                }
                if ((r = put_file(s, dir, cpath, NULL, cd, &csize, err)) < 0)
                        break;
                json_t *layers = json_array(), *lp;
                size_t k;
                json_array_foreach(json_object_get(e, "Layers"), k, lp)
                {
                        const char *p = json_string_value(lp);
                        if (!p) {
                                r = err_set(err, -EINVAL, "manifest.json[%zu].Layers[%zu]: not a path", i, k);
                                break;
                        }
                        if ((r = put_file(s, dir, p, NULL, ld, &lsize, err)) < 0)
                                break;
                        json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType",
                                                                "application/vnd.oci.image.layer.v1.tar", "digest", ld,
                                                                "size", (json_int_t) lsize));
                }
                if (r < 0) {
                        json_decref(layers);
                        break;
                }
                /* the layers as docker saves them are uncompressed (their digests are the
                 * diff ids); compressed ones get their media type from what they are */
                json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
                                      "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                                      "application/vnd.oci.image.config.v1+json", "digest", cd, "size",
                                      (json_int_t) csize, "layers", layers);
                _cleanup_free_ char *mt = json_dumps(m, JSON_COMPACT);
                json_decref(m);
                if ((r = store_put_blob_mem(s, mt, strlen(mt), md, err)) < 0) {
                        json_decref(layers);
                        break;
                }
                r = unpack_layers(s, cd, layers, err);
                json_decref(layers);
                if (r < 0)
                        break;
                json_t *tags = json_object_get(e, "RepoTags"), *t;
                json_t *names;
                if ((r = image_names_load(s, &names, err)) < 0)
                        break;
                _cleanup_free_ char *fallback = xasprintf("loaded-%.12s", digest_hex(md));
                if (json_array_size(tags) == 0)
                        json_object_set_new(names, fallback, json_string(md));
                json_array_foreach(tags, k, t)
                {
                        _cleanup_free_ char *norm = NULL;
                        if ((r = image_ref_normalize(json_string_value(t) ? json_string_value(t) : "", &norm, err)) < 0)
                                break;
                        json_object_set_new(names, norm, json_string(md));
                        loaded(out, norm);
                }
                if (r >= 0)
                        r = image_names_save(s, names, err);
                json_decref(names);
                if (r < 0)
                        break;
        }
        json_decref(all);
        return r;
}

int image_load_names(struct store *s, const char *source, json_t *out, struct err *err)
{
        struct stat st;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int dir = -1;
        int r;
        if (strcmp(source, "-") != 0 && stat(source, &st) < 0)
                return err_sys(err, -errno, "load: '%s'", source);
        if ((r = store_lock(s, true, err)) < 0)
                return r;
        if (strcmp(source, "-") != 0 && S_ISDIR(st.st_mode)) {
                dir = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0) {
                        r = err_sys(err, -errno, "load: '%s'", source);
                        goto out;
                }
        } else {
                /* an archive: unpacked into tmp/ with the layer unpacker's rules, so a
                 * hostile archive is refused the same way a hostile layer is */
                _cleanup_close_ int in = strcmp(source, "-") == 0 ? dup(0) : open(source, O_RDONLY | O_CLOEXEC);
                if (in < 0 || (r = store_mkdtemp(s, &tmp, err)) < 0) {
                        r = r < 0 ? r : err_sys(err, -errno, "load: '%s'", source);
                        goto out;
                }
                dir = openat(s->root_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct unpack_opts uo = { .layer = "(the archive)", .opaque_xattr = "user.overlay.opaque" };
                layer_limits(s, 0, &uo);
                if (dir < 0 || (r = layer_unpack(in, dir, &uo, NULL, err)) < 0) {
                        r = r < 0 ? err_wrap(err, "load '%s'", source) : err_sys(err, -errno, "load");
                        goto out;
                }
        }
        if (faccessat(dir, "index.json", F_OK, 0) == 0)
                r = load_oci(s, dir, out, err);
        else if (faccessat(dir, "manifest.json", F_OK, 0) == 0)
                r = load_docker(s, dir, out, err);
        else
                r = err_set(err, -EINVAL, "load '%s': neither an OCI layout (index.json) nor a docker archive (manifest.json)",
                            source);
        if (r < 0)
                err_wrap(err, "load '%s'", source);
out:
        if (tmp) {
                struct err e2 = { 0 };
                layer_remove_tree(s, tmp, &e2);
        }
        store_unlock(s);
        return r;
}

int image_load(struct store *s, const char *source, struct err *err)
{
        return image_load_names(s, source, NULL, err);
}
