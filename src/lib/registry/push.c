/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "lib/base/macro.h"
#include "lib/runtime/events.h"
#include "lib/store/image.h"

/* an upload location: absolute, or a path on the registry */
static char *location_url(struct reg_client *c, const char *loc)
{
        if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
                return xstrdup(loc);
        return xasprintf("%s://%s%s%s", c->scheme, c->api_host, loc[0] == '/' ? "" : "/", loc);
}

static int put_blob(struct reg_client *c, struct store *s, const char *name, const char *digest, const char *mount_from,
                    struct reg_progress *p, size_t pi, struct err *err)
{
        _cleanup_free_ char *head = xasprintf("/v2/%s/blobs/%s", c->repo, digest), *what = xasprintf("blob %s", digest);
        struct reg_req q = { .method = "HEAD", .path = head, .body_fd = -1, .what = what };
        struct reg_resp resp;
        struct stat st;
        _cleanup_close_ int fd = store_open_blob(s, digest, err);
        if (fd < 0 || fstat(fd, &st) < 0)
                return err_wrap(err, "%s", name);
        reg_progress_set(p, pi, digest + 7, (uint64_t) st.st_size, "checking");
        int r = reg_request(c, &q, &resp, err);
        if (r < 0)
                return r;
        long status = resp.status;
        reg_resp_free(&resp);
        if (status == 200) {
                reg_progress_set(p, pi, NULL, 0, "exists");
                return 0;
        }
        /* start an upload, or mount the blob from a repository that has it */
        _cleanup_free_ char *post = mount_from ? xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", c->repo, digest, mount_from)
                                               : xasprintf("/v2/%s/blobs/uploads/", c->repo);
        struct reg_req pq = { .method = "POST", .path = post, .body_fd = -1, .what = what };
        if ((r = reg_request(c, &pq, &resp, err)) < 0)
                return r;
        if (resp.status == 201 && mount_from) {
                reg_resp_free(&resp);
                reg_progress_set(p, pi, NULL, 0, "mounted");
                return 0;
        }
        if (resp.status != 202 || !resp.location) {
                _cleanup_free_ char *t = reg_error_text(&resp);
                r = err_set(err, -EIO, "%s: cannot start the upload of blob %s: %s", name, digest, t);
                reg_resp_free(&resp);
                return r;
        }
        _cleanup_free_ char *loc = location_url(c, resp.location);
        reg_resp_free(&resp);
        _cleanup_free_ char *put = xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
        reg_progress_set(p, pi, NULL, 0, "uploading");
        struct reg_req uq = { .method = "PUT", .path = put, .content_type = "application/octet-stream", .body_fd = fd,
                              .body_fd_len = (uint64_t) st.st_size, .what = what };
        if ((r = reg_request(c, &uq, &resp, err)) < 0)
                return r;
        if (resp.status != 201) {
                _cleanup_free_ char *t = reg_error_text(&resp);
                r = err_set(err, -EIO, "%s: upload of blob %s refused: %s", name, digest, t);
        } else
                reg_progress_set(p, pi, NULL, 0, "pushed");
        reg_resp_free(&resp);
        return r;
}

struct uploads {
        struct reg_client *c;
        struct store *s;
        const char *name, *from;
        struct reg_progress *p;
        json_t *layers;
        size_t n, next;
        pthread_mutex_t lock;
        struct err err; /* the first failure; the others stop taking work */
};

static void *upload_worker(void *arg)
{
        struct uploads *u = arg;
        for (;;) {
                pthread_mutex_lock(&u->lock);
                size_t i = u->err.code ? u->n : u->next++;
                pthread_mutex_unlock(&u->lock);
                if (i >= u->n)
                        return NULL;
                struct err e = { 0 };
                const char *d = json_string_value(json_object_get(json_array_get(u->layers, i), "digest"));
                if (put_blob(u->c, u->s, u->name, d ? d : "", u->from, u->p, i, &e) < 0) {
                        pthread_mutex_lock(&u->lock);
                        if (!u->err.code)
                                u->err = e;
                        pthread_mutex_unlock(&u->lock);
                }
        }
}

int registry_push(struct store *s, const char *image, const char *dest, const struct reg_opts *o, char ret[DIGEST_STR_MAX],
                  struct err *err)
{
        char man[DIGEST_STR_MAX];
        _cleanup_free_ char *mtxt = NULL, *from = NULL, *local = NULL, *path = NULL, *what = NULL;
        size_t ml;
        int r;
        if ((r = store_lock(s, false, err)) < 0)
                return r;
        if ((r = image_resolve(s, image, man, err)) < 0 || (r = store_read_blob(s, man, REG_MANIFEST_MAX, &mtxt, &ml, err)) < 0) {
                store_unlock(s);
                return r;
        }
        if (!dest) {
                if (image_ref_normalize(image, &local, err) < 0 || strncmp(local, "localhost/", 10) == 0) {
                        store_unlock(s);
                        return err_set(err, -EINVAL, "push %s: name the registry: den push IMAGE HOST[:PORT]/NAME[:TAG]", image);
                }
                dest = local;
        }
        struct reg_ref ref;
        if ((r = reg_ref_parse(dest, &ref, err)) < 0) {
                store_unlock(s);
                return r;
        }
        if (!ref.tag) {
                reg_ref_free(&ref);
                store_unlock(s);
                return err_set(err, -EINVAL, "push %s: a destination needs a tag, not a digest", dest);
        }
        _cleanup_free_ char *name = reg_ref_name(&ref);
        /* another repository of the same registry that holds this image: its blobs can be mounted */
        json_t *names = NULL, *v;
        const char *k;
        if (image_names_load(s, &names, err) == 0) {
                size_t hl = strlen(ref.host);
                json_object_foreach(names, k, v)
                {
                        const char *slash = strchr(k, '/');
                        if (from || strcmp(json_string_value(v), man) != 0 || strncmp(k, ref.host, hl) != 0 || k[hl] != '/' || !slash)
                                continue;
                        _cleanup_free_ char *repo = xstrdup(k + hl + 1);
                        repo[strcspn(repo, ":@")] = '\0';
                        if (strcmp(repo, ref.repo) != 0)
                                from = TAKE_PTR(repo);
                }
                json_decref(names);
        }
        struct reg_client c;
        json_t *m = json_loadb(mtxt, ml, 0, NULL);
        if ((r = reg_client_new(&c, ref.host, ref.repo, o, err)) < 0)
                goto out_ref;
        if (from)
                c.extra_scope = xasprintf("repository:%s:pull", from);
        json_t *layers = json_object_get(m, "layers");
        const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (!m || !cd) {
                r = err_set(err, -EINVAL, "push %s: manifest %s is not an image manifest", image, man);
                goto out;
        }
        size_t n = json_array_size(layers);
        struct reg_progress *p = reg_progress_new(o, n + 1);
        /* the layers in parallel, the config after them, the manifest last */
        struct uploads up = { .c = &c, .s = s, .name = name, .from = from, .p = p, .layers = layers, .n = n };
        pthread_mutex_init(&up.lock, NULL);
        int nt = o->parallel > 0 ? o->parallel : 1;
        pthread_t th[16];
        nt = nt > 16 ? 16 : (size_t) nt > n ? (int) n : nt;
        for (int t = 0; t < nt; t++)
                pthread_create(&th[t], NULL, upload_worker, &up);
        for (int t = 0; t < nt; t++)
                pthread_join(th[t], NULL);
        pthread_mutex_destroy(&up.lock);
        if (up.err.code) {
                *err = up.err;
                r = up.err.code;
        }
        if (r == 0)
                r = put_blob(&c, s, name, cd, from, p, n, err);
        reg_progress_free(p);
        if (r < 0)
                goto out;
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        path = xasprintf("/v2/%s/manifests/%s", ref.repo, ref.tag);
        what = xasprintf("manifest %s", ref.tag);
        struct reg_req q = { .method = "PUT", .path = path, .content_type = mt ? mt : "application/vnd.oci.image.manifest.v1+json",
                             .body = mtxt, .body_len = ml, .body_fd = -1, .what = what };
        struct reg_resp resp;
        if ((r = reg_request(&c, &q, &resp, err)) < 0)
                goto out;
        if (resp.status != 201) {
                _cleanup_free_ char *t = reg_error_text(&resp);
                r = err_set(err, -EIO, "%s: the registry refused the manifest: %s", name, t);
        } else {
                strcpy(ret, man);
                events_img(s->root, "push", dest, dest);
        }
        reg_resp_free(&resp);
out:
        reg_client_free(&c);
out_ref:
        json_decref(m);
        reg_ref_free(&ref);
        store_unlock(s);
        return r;
}
