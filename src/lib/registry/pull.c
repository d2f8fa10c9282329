/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "client.h"
#include "lib/base/macro.h"
#include "lib/runtime/events.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"

static bool is_index(const char *mt)
{
        return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                      strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* this machine as an OCI platform: os/arch[/variant] */
void registry_host_platform(char *out, size_t len)
{
        struct utsname u;
        uname(&u);
        static const struct {
                const char *machine, *platform;
        } map[] = {
                { "x86_64", "linux/amd64" }, { "aarch64", "linux/arm64" }, { "armv7l", "linux/arm/v7" },
                { "armv6l", "linux/arm/v6" }, { "i686", "linux/386" },     { "i386", "linux/386" },
                { "ppc64le", "linux/ppc64le" }, { "s390x", "linux/s390x" }, { "riscv64", "linux/riscv64" },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(u.machine, map[i].machine) == 0) {
                        snprintf(out, len, "%s", map[i].platform);
                        return;
                }
        snprintf(out, len, "linux/%.40s", u.machine);
}

static bool platform_matches(json_t *p, const char *want)
{
        const char *os = json_string_value(json_object_get(p, "os"));
        const char *arch = json_string_value(json_object_get(p, "architecture"));
        const char *var = json_string_value(json_object_get(p, "variant"));
        if (!os || !arch)
                return false;
        char w[128];
        snprintf(w, sizeof(w), "%s", want);
        char *a = strchr(w, '/'), *v = a ? strchr(a + 1, '/') : NULL;
        if (!a)
                return false;
        *a++ = '\0';
        if (v)
                *v++ = '\0';
        if (strcmp(os, w) != 0 || strcmp(arch, a) != 0)
                return false;
        /* arm64 is v8 when unsaid; a wanted variant must match one given */
        return !v || !var || strcmp(var, v) == 0;
}

static char *platform_str(json_t *p)
{
        const char *var = json_string_value(json_object_get(p, "variant"));
        return xasprintf("%s/%s%s%s", json_string_value(json_object_get(p, "os")) ?: "?",
                         json_string_value(json_object_get(p, "architecture")) ?: "?", var ? "/" : "", var ? var : "");
}

struct manifest {
        char *body;
        size_t len;
        char digest[DIGEST_STR_MAX];
        json_t *j;
        const char *media_type;
};

static void manifest_free(struct manifest *m)
{
        free(m->body);
        json_decref(m->j);
        memset(m, 0, sizeof(*m));
}

/* GET a manifest by tag or digest; with a digest (or a descriptor's size) the bytes must match */
static int fetch_manifest(struct reg_client *c, const char *name, const char *ref, const char *want_digest,
                          int64_t want_size, struct manifest *m, struct err *err)
{
        memset(m, 0, sizeof(*m));
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", c->repo, ref),
                            *what = xasprintf("manifest %s:%s", c->repo, ref);
        struct reg_req q = { .method = "GET", .path = path, .accept = REG_ACCEPT_MANIFESTS, .max = REG_MANIFEST_MAX,
                             .body_fd = -1, .what = what };
        struct reg_resp resp;
        int r = reg_request(c, &q, &resp, err);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                _cleanup_free_ char *t = reg_error_text(&resp);
                /* the first message set wins: only one of the two may be set */
                if (resp.status == 404)
                        r = err_set(err, -ENOENT, "%s: %s not found (%s)", name, want_digest ? want_digest : ref, t);
                else
                        r = err_set(err, -EIO, "%s: manifest %s: %s", name, ref, t);
                reg_resp_free(&resp);
                return r;
        }
        digest_buf(resp.body ? resp.body : "", resp.len, m->digest);
        if (want_size >= 0 && (uint64_t) want_size != resp.len)
                r = err_set(err, -EBADMSG, "%s: manifest %s: the index says %lld bytes, the registry sent %zu", name,
                            want_digest ? want_digest : ref, (long long) want_size, resp.len);
        else if (want_digest && strcmp(want_digest, m->digest) != 0)
                r = err_set(err, -EBADMSG, "%s: manifest %s: the registry sent bytes of digest %s", name, want_digest, m->digest);
        else if (resp.digest && digest_valid(resp.digest) && strcmp(resp.digest, m->digest) != 0)
                r = err_set(err, -EBADMSG, "%s: manifest %s: Docker-Content-Digest %s, but the bytes hash to %s", name, ref,
                            resp.digest, m->digest);
        else if (!(m->j = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL)))
                r = err_set(err, -EBADMSG, "%s: manifest %s: not JSON", name, ref);
        if (r < 0) {
                reg_resp_free(&resp);
                manifest_free(m);
                return r;
        }
        m->body = TAKE_PTR(resp.body);
        m->len = resp.len;
        m->media_type = json_string_value(json_object_get(m->j, "mediaType"));
        if (!m->media_type)
                m->media_type = resp.content_type && strstr(resp.content_type, "index") ? "application/vnd.oci.image.index.v1+json"
                                                                                          : "application/vnd.oci.image.manifest.v1+json";
        if (json_integer_value(json_object_get(m->j, "schemaVersion")) != 2)
                r = err_set(err, -EOPNOTSUPP, "%s: manifest %s: schema version %lld is not supported (only 2)", name, ref,
                            (long long) json_integer_value(json_object_get(m->j, "schemaVersion")));
        reg_resp_free(&resp);
        if (r < 0)
                manifest_free(m);
        return r;
}

/* the image manifest for a reference: an index is resolved to the wanted platform */
static int resolve_image(struct reg_client *c, const char *name, const struct reg_ref *ref, const struct reg_opts *o,
                         struct manifest *top, struct manifest *img, struct err *err)
{
        int r = fetch_manifest(c, name, ref->digest ? ref->digest : ref->tag, ref->digest, -1, top, err);
        if (r < 0)
                return r;
        if (!is_index(top->media_type) && !json_object_get(top->j, "manifests")) {
                /* a plain image manifest: img is a copy of top */
                *img = *top;
                img->body = xmalloc(top->len + 1);
                memcpy(img->body, top->body, top->len);
                img->j = json_incref(top->j);
                return 0;
        }
        char want[64];
        if (o->platform)
                snprintf(want, sizeof(want), "%s", o->platform);
        else
                registry_host_platform(want, sizeof(want));
        json_t *d, *pick = NULL;
        size_t i;
        json_array_foreach(json_object_get(top->j, "manifests"), i, d) if (!pick && platform_matches(json_object_get(d, "platform"), want))
                pick = d;
        if (!pick) {
                _cleanup_free_ char *have = xstrdup("");
                json_array_foreach(json_object_get(top->j, "manifests"), i, d)
                {
                        _cleanup_free_ char *p = platform_str(json_object_get(d, "platform")), *old = have;
                        have = xasprintf("%s%s%s", old, *old ? ", " : "", p);
                }
                return err_set(err, -ENOENT, "%s: no image for platform %s (the index has: %s); choose with --platform", name,
                               want, *have ? have : "nothing");
        }
        const char *pd = json_string_value(json_object_get(pick, "digest"));
        json_t *ps = json_object_get(pick, "size");
        if (!pd || !digest_valid(pd) || !json_is_integer(ps))
                return err_set(err, -EBADMSG, "%s: index %s: the entry for %s has no valid digest and size", name, top->digest, want);
        if ((r = fetch_manifest(c, name, pd, pd, json_integer_value(ps), img, err)) < 0)
                return r;
        if (is_index(img->media_type))
                return err_set(err, -EOPNOTSUPP, "%s: manifest %s: nested indexes are not supported", name, pd);
        return 0;
}

/* ---- blobs ---- */

struct job {
        size_t index;
        const char *digest;
        uint64_t size;
        struct err err;
        bool done;
};

struct pull {
        struct store *s;
        struct reg_client *c;
        const char *name;
        struct reg_progress *p;
        struct job *jobs;
        size_t n, next;
        bool stop;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t *finished; /* indexes in completion order */
        size_t nfinished;
};

struct progress_ctx {
        struct reg_progress *p;
        size_t i;
};

static void on_bytes(void *data, uint64_t now)
{
        struct progress_ctx *x = data;
        reg_progress_bytes(x->p, x->i, now);
}

/* one blob into the store, checked against its digest and size as it streams */
static int download_blob(struct store *s, struct reg_client *c, const char *name, const char *digest, uint64_t size,
                         struct reg_progress *p, size_t pi, struct err *err)
{
        struct blob_writer w;
        int r = store_blob_begin(s, &w, err);
        if (r < 0)
                return r;
        w.max = size;
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", c->repo, digest), *what = xasprintf("blob %s", digest);
        struct progress_ctx pc = { p, pi };
        struct reg_req q = { .method = "GET", .path = path, .max = 1u << 16, .body_fd = -1, .sink = &w,
                             .progress = on_bytes, .progress_data = &pc, .what = what };
        struct reg_resp resp;
        reg_progress_set(p, pi, digest + 7, size, "downloading");
        r = reg_request(c, &q, &resp, err);
        if (r < 0) {
                err_wrap(err, "%s", name);
        } else if (resp.status != 200 && resp.status != 206) {
                _cleanup_free_ char *t = reg_error_text(&resp);
                r = err_set(err, -EIO, "%s: blob %s: %s", name, digest, t);
        } else if (w.size != size)
                r = err_set(err, -EBADMSG, "%s: blob %s: the registry sent %llu bytes, the manifest says %llu", name, digest,
                            (unsigned long long) w.size, (unsigned long long) size);
        reg_resp_free(&resp);
        if (r < 0) {
                store_blob_abort(&w);
                reg_progress_set(p, pi, NULL, 0, "failed");
                return r;
        }
        struct err ce = { 0 };
        if ((r = store_blob_commit(&w, digest, NULL, &ce)) < 0) {
                reg_progress_set(p, pi, NULL, 0, "failed");
                return r == -EBADMSG ? err_set(err, r, "%s: blob %s: the bytes the registry sent do not match the digest (%s)",
                                               name, digest, ce.msg)
                                     : err_set(err, r, "%s: blob %s: %s", name, digest, ce.msg);
        }
        reg_progress_set(p, pi, NULL, 0, "downloaded");
        return 0;
}

static void *worker(void *arg)
{
        struct pull *pl = arg;
        for (;;) {
                pthread_mutex_lock(&pl->lock);
                if (pl->stop || pl->next >= pl->n) {
                        pthread_mutex_unlock(&pl->lock);
                        return NULL;
                }
                struct job *j = &pl->jobs[pl->next++];
                pthread_mutex_unlock(&pl->lock);
                int r = download_blob(pl->s, pl->c, pl->name, j->digest, j->size, pl->p, j->index, &j->err);
                pthread_mutex_lock(&pl->lock);
                j->done = true;
                if (r < 0)
                        pl->stop = true;
                pl->finished[pl->nfinished++] = (size_t) (j - pl->jobs);
                pthread_cond_broadcast(&pl->cond);
                pthread_mutex_unlock(&pl->lock);
        }
}

static const char *const layer_types[] = {
        "application/vnd.oci.image.layer.v1.tar",          "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",     "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static int check_descriptor(json_t *d, const char *name, const char *what, bool layer, struct err *err)
{
        const char *dg = json_string_value(json_object_get(d, "digest"));
        const char *mt = json_string_value(json_object_get(d, "mediaType"));
        if (!dg || !digest_valid(dg) || !json_is_integer(json_object_get(d, "size")) ||
            json_integer_value(json_object_get(d, "size")) < 0)
                return err_set(err, -EBADMSG, "%s: %s has no valid sha256 digest and size", name, what);
        if (layer && mt) {
                for (size_t i = 0; i < ELEMENTSOF(layer_types); i++)
                        if (strcmp(mt, layer_types[i]) == 0)
                                return 0;
                return err_set(err, -EOPNOTSUPP, "%s: %s has an unknown media type '%s'", name, what, mt);
        }
        return 0;
}

int registry_pull(struct store *s, const char *refstr, const struct reg_opts *o, char ret[DIGEST_STR_MAX], struct err *err)
{
        struct reg_ref ref;
        int r = reg_ref_parse(refstr, &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *name = reg_ref_name(&ref);
        struct reg_client c;
        struct manifest top = { 0 }, img = { 0 };
        json_t *config = NULL;
        struct pull pl = { .s = s, .c = &c, .name = name };
        pthread_mutex_init(&pl.lock, NULL);
        pthread_cond_init(&pl.cond, NULL);
        bool locked = false;
        if ((r = reg_client_new(&c, ref.host, ref.repo, o, err)) < 0)
                goto out_ref;
        if ((r = resolve_image(&c, name, &ref, o, &top, &img, err)) < 0)
                goto out;
        json_t *cfgd = json_object_get(img.j, "config"), *layers = json_object_get(img.j, "layers"), *l;
        if ((r = check_descriptor(cfgd, name, "the config", false, err)) < 0)
                goto out;
        size_t nl = json_array_size(layers), i;
        if (!json_is_array(layers)) {
                r = err_set(err, -EBADMSG, "%s: manifest %s lists no layers", name, img.digest);
                goto out;
        }
        json_array_foreach(layers, i, l)
        {
                _cleanup_free_ char *what = xasprintf("layer %zu", i);
                if ((r = check_descriptor(l, name, what, true, err)) < 0)
                        goto out;
        }
        /* a shared lock: other pulls and runs go on, prune waits */
        if ((r = store_lock(s, false, err)) < 0)
                goto out;
        locked = true;
        const char *cd = json_string_value(json_object_get(cfgd, "digest"));
        uint64_t cs = (uint64_t) json_integer_value(json_object_get(cfgd, "size"));
        if (cs > REG_MANIFEST_MAX) {
                r = err_set(err, -EFBIG, "%s: config %s: %llu bytes is too large", name, cd, (unsigned long long) cs);
                goto out;
        }
        if (!store_has_blob(s, cd) && (r = download_blob(s, &c, name, cd, cs, NULL, 0, err)) < 0)
                goto out;
        if ((r = image_config_load(s, cd, &config, err)) < 0) {
                err_wrap(err, "%s", name);
                goto out;
        }
        json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
        if (json_array_size(diffs) != nl) {
                r = err_set(err, -EBADMSG, "%s: config %s: its diff_ids do not match the manifest's layers", name, cd);
                goto out;
        }
        /* layers: the missing ones download in parallel, each unpacked here as soon as it is complete */
        pl.p = reg_progress_new(o, nl);
        pl.jobs = xcalloc(nl + 1, sizeof(*pl.jobs));
        pl.finished = xcalloc(nl + 1, sizeof(size_t));
        size_t *present = xcalloc(nl + 1, sizeof(size_t)), npresent = 0;
        json_array_foreach(layers, i, l)
        {
                const char *d = json_string_value(json_object_get(l, "digest"));
                uint64_t sz = (uint64_t) json_integer_value(json_object_get(l, "size"));
                reg_progress_set(pl.p, i, d + 7, sz, "waiting");
                bool dup = false;
                for (size_t k = 0; k < pl.n; k++)
                        dup = dup || strcmp(pl.jobs[k].digest, d) == 0;
                if (store_has_blob(s, d)) {
                        reg_progress_set(pl.p, i, NULL, 0, "exists");
                        present[npresent++] = i;
                } else if (!dup)
                        pl.jobs[pl.n++] = (struct job) { .index = i, .digest = d, .size = sz };
                else
                        present[npresent++] = i; /* a repeat of a layer being downloaded: unpacked at the end */
        }
        int nthreads = o->parallel > 0 ? o->parallel : 1;
        if ((size_t) nthreads > pl.n)
                nthreads = (int) pl.n;
        pthread_t th[16];
        if (nthreads > 16)
                nthreads = 16;
        for (int t = 0; t < nthreads; t++)
                pthread_create(&th[t], NULL, worker, &pl);
        size_t taken = 0;
        struct err uerr = { 0 };
        int ur = 0;
        for (;;) {
                pthread_mutex_lock(&pl.lock);
                while (taken == pl.nfinished && taken < pl.n && !(pl.stop && taken == pl.nfinished))
                        pthread_cond_wait(&pl.cond, &pl.lock);
                if (taken == pl.nfinished) {
                        pthread_mutex_unlock(&pl.lock);
                        if (pl.stop || taken == pl.n)
                                break;
                        continue;
                }
                struct job *j = &pl.jobs[pl.finished[taken++]];
                pthread_mutex_unlock(&pl.lock);
                if (j->err.code || ur < 0)
                        continue;
                const char *diff = json_string_value(json_array_get(diffs, j->index));
                reg_progress_set(pl.p, j->index, NULL, 0, "unpacking");
                if (!diff || !digest_valid(diff))
                        ur = err_set(&uerr, -EBADMSG, "%s: config %s: no valid diff id for layer %zu", name, cd, j->index);
                else if ((ur = layer_ensure(s, j->digest, diff, 0, &uerr)) < 0)
                        err_wrap(&uerr, "%s", name);
                if (ur < 0) {
                        pthread_mutex_lock(&pl.lock);
                        pl.stop = true;
                        pthread_mutex_unlock(&pl.lock);
                } else
                        reg_progress_set(pl.p, j->index, NULL, 0, "done");
        }
        for (int t = 0; t < nthreads; t++)
                pthread_join(th[t], NULL);
        for (size_t k = 0; k < pl.n && r == 0; k++)
                if (pl.jobs[k].err.code) {
                        *err = pl.jobs[k].err;
                        r = err->code;
                }
        if (r == 0 && ur < 0) {
                *err = uerr;
                r = ur;
        }
        for (size_t k = 0; k < npresent && r == 0; k++) {
                json_t *pli = json_array_get(layers, present[k]);
                const char *diff = json_string_value(json_array_get(diffs, present[k]));
                if (!diff || !digest_valid(diff))
                        r = err_set(err, -EBADMSG, "%s: config %s: no valid diff id for layer %zu", name, cd, present[k]);
                else if ((r = layer_ensure(s, json_string_value(json_object_get(pli, "digest")), diff, 0, err)) < 0)
                        err_wrap(err, "%s", name);
        }
        free(present);
        reg_progress_free(pl.p);
        pl.p = NULL;
        if (r < 0)
                goto out;
        /* the manifest last, then the name: an image appears whole or not at all */
        store_unlock(s);
        locked = false;
        if ((r = store_lock(s, true, err)) < 0)
                goto out;
        locked = true;
        char got[DIGEST_STR_MAX];
        json_t *names;
        if ((r = store_put_blob_mem(s, img.body, img.len, got, err)) < 0 || (r = image_names_load(s, &names, err)) < 0)
                goto out;
        json_object_set_new(names, name, json_string(img.digest));
        r = image_names_save(s, names, err);
        json_decref(names);
        if (r == 0) {
                strcpy(ret, img.digest);
                events_img(s->root, "pull", name, name);
        }
out:
        if (locked)
                store_unlock(s);
        json_decref(config);
        free(pl.jobs);
        free(pl.finished);
        manifest_free(&top);
        manifest_free(&img);
        reg_client_free(&c);
out_ref:
        pthread_mutex_destroy(&pl.lock);
        pthread_cond_destroy(&pl.cond);
        reg_ref_free(&ref);
        return r;
}

/* ---- inspect --remote ---- */

int registry_inspect(const char *refstr, const struct reg_opts *o, bool raw, json_t **ret, struct err *err)
{
        struct reg_ref ref;
        int r = reg_ref_parse(refstr, &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *name = reg_ref_name(&ref);
        struct reg_client c;
        struct manifest top = { 0 }, img = { 0 };
        _cleanup_free_ char *path = NULL, *what = NULL, *tp = NULL, *full = NULL;
        if ((r = reg_client_new(&c, ref.host, ref.repo, o, err)) < 0) {
                reg_ref_free(&ref);
                return r;
        }
        if (raw) {
                r = fetch_manifest(&c, name, ref.digest ? ref.digest : ref.tag, ref.digest, -1, &top, err);
                if (r == 0)
                        *ret = json_incref(top.j);
                goto out;
        }
        if ((r = resolve_image(&c, name, &ref, o, &top, &img, err)) < 0)
                goto out;
        json_t *cfgd = json_object_get(img.j, "config");
        const char *cd = json_string_value(json_object_get(cfgd, "digest"));
        if ((r = check_descriptor(cfgd, name, "the config", false, err)) < 0)
                goto out;
        path = xasprintf("/v2/%s/blobs/%s", c.repo, cd);
        what = xasprintf("config %s", cd);
        struct reg_req q = { .method = "GET", .path = path, .max = REG_MANIFEST_MAX, .body_fd = -1, .what = what };
        struct reg_resp resp;
        if ((r = reg_request(&c, &q, &resp, err)) < 0)
                goto out;
        char got[DIGEST_STR_MAX];
        digest_buf(resp.body ? resp.body : "", resp.len, got);
        json_t *cfg = resp.status == 200 ? json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL) : NULL;
        if (resp.status != 200 || strcmp(got, cd) != 0 || !cfg) {
                _cleanup_free_ char *t = reg_error_text(&resp);
                r = err_set(err, -EBADMSG, "%s: config %s: %s", name, cd,
                            resp.status != 200 ? t : strcmp(got, cd) ? "the bytes do not match the digest" : "not JSON");
                json_decref(cfg);
                reg_resp_free(&resp);
                goto out;
        }
        reg_resp_free(&resp);
        /* tags, best effort (skopeo prints them too) */
        json_t *tags = json_array();
        tp = xasprintf("/v2/%s/tags/list", c.repo);
        struct reg_req tq = { .method = "GET", .path = tp, .max = REG_MANIFEST_MAX, .body_fd = -1, .what = "tags" };
        struct err terr = { 0 };
        if (reg_request(&c, &tq, &resp, &terr) == 0 && resp.status == 200) {
                json_t *tj = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
                if (json_is_array(json_object_get(tj, "tags")))
                        json_array_extend(tags, json_object_get(tj, "tags"));
                json_decref(tj);
        }
        reg_resp_free(&resp);
        json_t *layers = json_array(), *ldata = json_array(), *l, *platforms = json_array(), *d;
        size_t i;
        json_array_foreach(json_object_get(img.j, "layers"), i, l)
        {
                json_array_append(layers, json_object_get(l, "digest"));
                json_array_append_new(ldata, json_pack("{s:O?,s:O,s:O}", "MIMEType", json_object_get(l, "mediaType"),
                                                       "Digest", json_object_get(l, "digest"), "Size", json_object_get(l, "size")));
        }
        json_array_foreach(json_object_get(top.j, "manifests"), i, d)
        {
                _cleanup_free_ char *p = platform_str(json_object_get(d, "platform"));
                json_array_append_new(platforms, json_string(p));
        }
        json_t *cc = json_object_get(cfg, "config");
        full = xasprintf("%s/%s", ref.host, ref.repo);
        *ret = json_pack("{s:s,s:s,s:s,s:o,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:s,s:s,s:o,s:o,s:O?,s:o}", "Name", full,
                         "Digest", top.digest, "ManifestDigest", img.digest, "RepoTags", tags,
                         "Created", json_object_get(cfg, "created"), "DockerVersion", json_object_get(cfg, "docker_version"),
                         "Labels", json_object_get(cc, "Labels"), "Architecture", json_object_get(cfg, "architecture"),
                         "Os", json_object_get(cfg, "os"), "Variant", json_object_get(cfg, "variant"),
                         "MediaType", img.media_type, "Config", cd, "Layers", layers, "LayersData", ldata,
                         "Env", json_object_get(cc, "Env"), "Platforms", platforms);
        json_decref(cfg);
out:
        manifest_free(&top);
        manifest_free(&img);
        reg_client_free(&c);
        reg_ref_free(&ref);
        return r;
}

int registry_pull_root(const char *root, const char *ref, struct err *err)
{
        struct store s;
        int r = store_open(root, &s, err);
        if (r < 0)
                return r;
        struct reg_opts o;
        reg_opts_init(&o);
        char man[DIGEST_STR_MAX];
        r = registry_pull(&s, ref, &o, man, err);
        store_close(&s);
        return r;
}
