/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: pull, push, load, save, import, prune, search.
 * A pull runs on a thread of its own, a push on the thread of its streamed answer,
 * each under the service's lock for all its length (den's pull writes blobs and
 * unpacks layers as they arrive: no part of it leaves the store alone), den's
 * per-layer progress turned into docker's JSON lines.  A client that leaves early
 * does not stop a pull: it completes, or fails leaving nothing named. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lib/base/macro.h"
#include "lib/registry/registry.h"
#include "lib/runtime/engine.h"
#include "lib/store/gc.h"
#include "lib/store/image.h"
#include "lib/store/transfer.h"

/* ---- streamed progress ---- */

struct xfer {
        char *root, *ref, *tag; /* ref as the client gave it; tag: push's */
        int fd;
        bool gone;              /* the client left: nothing more is written */
        bool push;
        double last;            /* of the last byte count sent */
        size_t n_layers;        /* push: index n_layers is the config, not shown */
        char *creds;            /* "user:password" from X-Registry-Auth, or NULL */
        char *platform;         /* pull's "os/arch[/variant]", or NULL */
        /* a pull answers only once it is under way: an error before its first layer is an
         * HTTP error, as docker's; until then the lines wait in held, the fd is -1 */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        json_t *held;
        bool started, done;
        bool under_way;         /* a layer's progress came: errors go as docker's error line */
        int refs, r;
        struct err err;
};

static struct xfer *xfer_new(const char *root)
{
        struct xfer *x = xcalloc(1, sizeof(*x));
        x->root = xstrdup(root);
        x->fd = -1;
        x->refs = 1;
        pthread_mutex_init(&x->lock, NULL);
        pthread_cond_init(&x->cond, NULL);
        return x;
}

static void xfer_free(struct xfer *x)
{
        pthread_mutex_lock(&x->lock);
        bool last = --x->refs == 0;
        pthread_mutex_unlock(&x->lock);
        if (!last)
                return;
        pthread_mutex_destroy(&x->lock);
        pthread_cond_destroy(&x->cond);
        json_decref(x->held);
        free(x->root);
        free(x->ref);
        free(x->tag);
        free(x->creds);
        free(x->platform);
        free(x);
}

/* one line to the client (steals j); once it is gone, nothing */
static void emit(struct xfer *x, json_t *j)
{
        pthread_mutex_lock(&x->lock);
        if (x->held)
                json_array_append(x->held, j);
        else if (!x->gone && api_stream_json(x->fd, j) < 0)
                x->gone = true;
        pthread_mutex_unlock(&x->lock);
        json_decref(j);
}

/* the pull is under way (or over): the route answers */
static void xfer_signal(struct xfer *x, bool done, int r, const struct err *err)
{
        pthread_mutex_lock(&x->lock);
        x->started = true;
        if (!done)
                x->under_way = true;
        else {
                x->done = true;
                x->r = r;
                if (err)
                        x->err = *err;
        }
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
}

static void emit_status(struct xfer *x, const char *id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emit_status(struct xfer *x, const char *id, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        json_t *j = json_pack("{s:s}", "status", s ? s : "");
        if (id)
                json_object_set_new(j, "id", json_string(id));
        emit(x, j);
}

/* docker's error line: the CLI prints message and exits 1 */
static void emit_error(struct xfer *x, const char *msg)
{
        emit(x, json_pack("{s:{s:s},s:s}", "errorDetail", "message", msg, "error", msg));
}

static double mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* den's layer states as docker's words */
static void on_progress(void *data, size_t i, const char *hex, uint64_t now, uint64_t total, const char *state)
{
        struct xfer *x = data;
        char id[13];
        snprintf(id, sizeof(id), "%.12s", hex);
        const char *st = NULL;
        bool detail = false;
        static const char *const pull[][2] = { { "waiting", "Pulling fs layer" },   { "exists", "Already exists" },
                                               { "downloading", "Downloading" },    { "downloaded", "Download complete" },
                                               { "unpacking", "Extracting" },       { "done", "Pull complete" } };
        static const char *const push[][2] = { { "checking", "Preparing" }, { "exists", "Layer already exists" },
                                               { "uploading", "Pushing" },  { "pushed", "Pushed" } };
        if (x->push && i >= x->n_layers)
                return;
        if (x->push && strcmp(state, "mounted") == 0) {
                emit_status(x, id, "Mounted from another repository");
                return;
        }
        for (size_t k = 0; !x->push && k < ELEMENTSOF(pull); k++)
                if (strcmp(state, pull[k][0]) == 0)
                        st = pull[k][1];
        for (size_t k = 0; x->push && k < ELEMENTSOF(push); k++)
                if (strcmp(state, push[k][0]) == 0)
                        st = push[k][1];
        if (!st)
                return;
        if (!x->push && !x->under_way)
                xfer_signal(x, false, 0, NULL);
        detail = strcmp(state, "downloading") == 0 || strcmp(state, "unpacking") == 0;
        if (strcmp(state, "downloading") == 0 && now && now < total) {
                /* byte counts at most ten times a second */
                double t = mono();
                if (t - x->last < 0.1)
                        return;
                x->last = t;
        }
        json_t *j = json_pack("{s:s,s:{},s:s}", "status", st, "progressDetail", "id", id);
        if (detail)
                json_object_set_new(j, "progressDetail", json_pack("{s:I,s:I}", "current",
                                                                   (json_int_t) (strcmp(state, "unpacking") == 0 ? total : now),
                                                                   "total", (json_int_t) total));
        emit(x, j);
}

/* docker takes a registry on a loopback address for plain http (its insecure default) */
static int tls_verify_for(const char *host)
{
        bool loopback = strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0 ||
                        (strncmp(host, "localhost", 9) == 0 && (host[9] == '\0' || host[9] == ':'));
        return loopback ? 0 : -1;
}

static void xfer_opts(struct xfer *x, const char *host, struct reg_opts *o)
{
        reg_opts_init(o);
        o->quiet = true;
        o->tls_verify = tls_verify_for(host);
        o->progress_fn = on_progress;
        o->progress_data = x;
        o->creds = x->creds;
        o->platform = x->platform;
}

/* X-Registry-Auth: base64url of {"username":..,"password":..}; "user:password" or NULL
 * (none, {}, or an identity token den cannot use: then den's own auth.json) */
static char *registry_auth(struct api_req *q)
{
        const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "X-Registry-Auth");
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        if (!h || !*h)
                return NULL;
        size_t n = strlen(h), o = 0;
        _cleanup_free_ char *buf = xmalloc(n + 1);
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n && h[i] != '='; i++) {
                char c = h[i] == '-' ? '+' : h[i] == '_' ? '/' : h[i];
                const char *p = c ? strchr(tab, c) : NULL;
                if (!p)
                        return NULL;
                acc = acc << 6 | (uint32_t) (p - tab);
                if ((bits += 6) >= 8) {
                        bits -= 8;
                        buf[o++] = (char) (acc >> bits & 0xff);
                }
        }
        json_t *j = json_loadb(buf, o, 0, NULL);
        const char *user = json_string_value(json_object_get(j, "username")),
                   *pass = json_string_value(json_object_get(j, "password"));
        char *ret = user && *user && pass ? xasprintf("%s:%s", user, pass) : NULL;
        json_decref(j);
        return ret;
}

/* ---- pull ---- */

static void *pull_work(void *arg)
{
        struct xfer *x = arg;
        struct reg_ref ref;
        struct err err = { 0 };
        if (reg_ref_parse(x->ref, &ref, &err) < 0) {
                xfer_signal(x, true, -EINVAL, &err);
                xfer_free(x);
                return NULL;
        }
        _cleanup_free_ char *name = reg_ref_name(&ref);
        emit_status(x, ref.tag ? ref.tag : ref.digest, "Pulling from %s", ref.repo);
        struct reg_opts o;
        xfer_opts(x, ref.host, &o);
        api_serial(true);
        struct store s;
        char before[DIGEST_STR_MAX] = "", man[DIGEST_STR_MAX];
        int r = store_open(x->root, &s, &err);
        if (r >= 0) {
                struct err e2 = { 0 };
                if (image_resolve(&s, name, before, &e2) < 0)
                        before[0] = '\0';
                r = registry_pull(&s, x->ref, &o, man, &err);
                store_close(&s);
        }
        api_serial(false);
        if (r < 0 && x->under_way)
                emit_error(x, err.msg);
        else if (r >= 0) {
                emit_status(x, NULL, "Digest: %s", man);
                emit_status(x, NULL, "Status: %s for %s", strcmp(before, man) == 0 ? "Image is up to date" : "Downloaded newer image",
                            x->ref);
        }
        xfer_signal(x, true, r, &err);
        reg_ref_free(&ref);
        xfer_free(x);
        return NULL;
}

/* the answer's thread: the lines held so far, then the pull's own as they come, until its end */
static void pull_stream(void *arg, int fd)
{
        struct xfer *x = arg;
        json_t *j;
        size_t i;
        pthread_mutex_lock(&x->lock);
        json_array_foreach(x->held, i, j) if (!x->gone && api_stream_json(fd, j) < 0) x->gone = true;
        json_decref(x->held);
        x->held = NULL;
        x->fd = fd;
        while (!x->done)
                pthread_cond_wait(&x->cond, &x->lock);
        x->gone = true; /* fd is closed after this returns */
        pthread_mutex_unlock(&x->lock);
        xfer_free(x);
}

/* under the service's lock: the image ref names (or ids), or the one io imports,
 * inspected; its manifest digest in man */
static int image_get(const char *root, const char *ref, const struct image_import_opts *io, json_t **info,
                     char man[DIGEST_STR_MAX], struct err *err)
{
        struct store s;
        struct err e1 = { 0 };
        api_serial(true);
        int r = store_open(root, &s, err);
        if (r >= 0) {
                if (io)
                        r = image_import(&s, io, man, err);
                else if (strncmp(ref, "sha256:", 7) == 0) /* docker's id, the config's digest */
                        r = image_find_id(&s, ref, man, err);
                else if ((r = image_resolve(&s, ref, man, &e1)) < 0 && (r = image_find_id(&s, ref, man, err)) < 0 &&
                         r == -ENOENT)
                        *err = e1;
                if (r >= 0)
                        r = image_inspect(&s, man, info, err);
                store_close(&s);
        }
        api_serial(false);
        return r;
}

/* docker import: the body is a root filesystem tar; answers the image id */
static int import_body(struct api_req *q, struct api_reply *ret)
{
        const char *repo = api_query(q, "repo"), *tag = api_query(q, "tag"), *changes = api_query(q, "changes"),
                   *msg = api_query(q, "message");
        /* refused, not dropped: den import makes the image from the tar alone */
        if ((changes && *changes) || (msg && *msg))
                return api_error(ret, 400, "den import takes no --change and no --message");
        if (!repo || !*repo)
                return api_error(ret, 400, "den import needs a name: give the repository (docker import FILE NAME)");
        _cleanup_free_ char *name = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo),
                            *src = xasprintf("/proc/self/fd/%d", q->body_fd);
        struct image_import_opts io = { .name = name, .source = src };
        struct err err = { 0 };
        json_t *info = NULL;
        char man[DIGEST_STR_MAX];
        int r = image_get(q->root, NULL, &io, &info, man, &err);
        if (r < 0)
                return api_fail(ret, &err);
        json_t *j = json_pack("{s:O}", "status", json_object_get(info, "Id"));
        json_decref(info);
        return api_json(ret, 200, j);
}

static int api_image_create(struct api_req *q, struct api_reply *ret)
{
        const char *from = api_query(q, "fromImage"), *src = api_query(q, "fromSrc"), *tag = api_query(q, "tag");
        if (src) {
                if (strcmp(src, "-") != 0)
                        return api_error(ret, 400, "fromSrc: den imports from the request body only (-), not '%s'", src);
                return import_body(q, ret);
        }
        if (!from || !*from)
                return api_error(ret, 400, "fromImage or fromSrc is needed");
        struct xfer *x = xfer_new(q->root);
        x->creds = registry_auth(q);
        const char *platform = api_query(q, "platform");
        x->platform = platform && *platform ? xstrdup(platform) : NULL;
        x->ref = !tag || !*tag                   ? xstrdup(from)
                 : strncmp(tag, "sha256:", 7) == 0 ? xasprintf("%s@%s", from, tag)
                                                   : xasprintf("%s:%s", from, tag);
        struct reg_ref ref;
        struct err err = { 0 };
        if (reg_ref_parse(x->ref, &ref, &err) < 0) {
                xfer_free(x);
                return api_error(ret, 400, "%s", err.msg);
        }
        reg_ref_free(&ref);
        /* a thread for the pull, which the answer waits for until it is under way */
        x->held = json_array();
        x->refs = 2;
        pthread_t t;
        int r = pthread_create(&t, NULL, pull_work, x);
        if (r == 0)
                pthread_detach(t);
        else {
                x->refs = 1;
                xfer_free(x);
                return api_error(ret, 500, "cannot start a thread: %s", strerror(r));
        }
        pthread_mutex_lock(&x->lock);
        while (!x->started)
                pthread_cond_wait(&x->cond, &x->lock);
        bool failed = x->done && x->r < 0 && !x->under_way;
        err = x->err;
        pthread_mutex_unlock(&x->lock);
        if (failed) {
                xfer_free(x);
                return api_fail(ret, &err);
        }
        api_stream(ret, 200, NULL, pull_stream, x);
        if (!ret->gen) {
                /* no answer's thread: the pull goes on alone */
                pthread_mutex_lock(&x->lock);
                x->gone = true;
                json_decref(x->held);
                x->held = NULL;
                pthread_mutex_unlock(&x->lock);
                xfer_free(x);
        }
        return 0;
}

/* ---- push ---- */

/* the names of the store to push: name:tag, or without a tag every tag of name (docker push -a) */
static int push_names(struct store *s, const char *name, const char *tag, json_t **ret, struct err *err)
{
        json_t *names = NULL, *v;
        const char *k;
        _cleanup_free_ char *norm = NULL, *want = tag && *tag ? xasprintf("%s:%s", name, tag) : NULL;
        char man[DIGEST_STR_MAX];
        *ret = json_array();
        if (want) {
                struct err e = { 0 };
                if (image_resolve(s, want, man, &e) < 0)
                        return err_set(err, -ENOENT, "An image does not exist locally with the tag: %s", name);
                json_array_append_new(*ret, json_string(want));
                return 0;
        }
        int r;
        if ((r = image_ref_normalize(name, &norm, err)) < 0 || (r = image_names_load(s, &names, err)) < 0)
                return r;
        /* the repository: the name without the tag normalize gave it */
        char *slash = strrchr(norm, '/');
        (slash ? slash : norm)[strcspn(slash ? slash : norm, ":")] = '\0';
        size_t nl = strlen(norm);
        json_object_foreach(names, k, v) if (strncmp(k, norm, nl) == 0 && k[nl] == ':') json_array_append_new(*ret, json_string(k));
        json_decref(names);
        if (json_array_size(*ret) == 0)
                return err_set(err, -ENOENT, "An image does not exist locally with the tag: %s", name);
        return 0;
}

static void push_run(void *arg, int fd)
{
        struct xfer *x = arg;
        x->fd = fd;
        struct store s;
        struct err err = { 0 };
        json_t *todo = NULL, *t;
        size_t i;
        emit_status(x, NULL, "The push refers to repository [%s]", x->ref);
        api_serial(true);
        int r = store_open(x->root, &s, &err);
        bool opened = r >= 0;
        if (r >= 0 && (r = push_names(&s, x->ref, x->tag, &todo, &err)) >= 0) {
                json_array_foreach(todo, i, t)
                {
                        const char *name = json_string_value(t);
                        struct reg_ref ref;
                        char man[DIGEST_STR_MAX], mreal[DIGEST_STR_MAX];
                        if ((r = reg_ref_parse(name, &ref, &err)) < 0)
                                break;
                        struct reg_opts o;
                        xfer_opts(x, ref.host, &o);
                        json_t *info = NULL;
                        if ((r = image_resolve(&s, name, mreal, &err)) >= 0 && (r = image_inspect(&s, mreal, &info, &err)) >= 0)
                                x->n_layers = json_array_size(json_object_get(json_object_get(info, "Manifest"), "layers"));
                        json_decref(info);
                        if (r >= 0)
                                r = registry_push(&s, name, NULL, &o, man, &err);
                        struct stat st;
                        int mfd = r >= 0 ? store_open_blob(&s, man, &err) : -1;
                        json_int_t size = mfd >= 0 && fstat(mfd, &st) == 0 ? (json_int_t) st.st_size : 0;
                        if (mfd >= 0)
                                close(mfd);
                        if (r >= 0) {
                                const char *tg = ref.tag ? ref.tag : "latest";
                                emit_status(x, NULL, "%s: digest: %s size: %lld", tg, man, (long long) size);
                                emit(x, json_pack("{s:{},s:{s:s,s:s,s:I}}", "progressDetail", "aux", "Tag", tg, "Digest",
                                                  man, "Size", size));
                        }
                        reg_ref_free(&ref);
                        if (r < 0)
                                break;
                }
        }
        if (opened)
                store_close(&s);
        api_serial(false);
        json_decref(todo);
        if (r < 0)
                emit_error(x, err.msg);
        xfer_free(x);
}

static int api_image_push(struct api_req *q, struct api_reply *ret)
{
        struct xfer *x = xfer_new(q->root);
        x->creds = registry_auth(q);
        x->ref = xstrdup(q->params[0]);
        const char *tag = api_query(q, "tag");
        x->tag = tag && *tag ? xstrdup(tag) : NULL;
        x->push = true;
        api_stream(ret, 200, NULL, push_run, x);
        if (!ret->gen)
                xfer_free(x); /* no thread to run it: the error is in ret */
        return 0;
}

/* ---- load, save ---- */

/* docker load: the body is a docker save tar or an OCI layout tar */
static int api_image_load(struct api_req *q, struct api_reply *ret)
{
        _cleanup_free_ char *src = xasprintf("/proc/self/fd/%d", q->body_fd);
        struct store s;
        struct err err = { 0 };
        json_t *names = json_array(), *n;
        int r = store_open(q->root, &s, &err);
        if (r >= 0) {
                r = image_load_names(&s, src, names, &err);
                store_close(&s);
        }
        if (r < 0) {
                json_decref(names);
                return api_fail(ret, &err);
        }
        size_t i;
        char *body = xstrdup("");
        json_array_foreach(names, i, n)
        {
                _cleanup_free_ char *line = xasprintf("Loaded image: %s\n", json_string_value(n));
                json_t *j = json_pack("{s:s}", "stream", line);
                _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                char *b = xasprintf("%s%s\n", body, txt);
                free(body);
                body = b;
        }
        json_decref(names);
        ret->status = 200;
        ret->body = body;
        ret->body_len = strlen(body);
        return 0;
}

struct save {
        char *root;
        json_t *names;
        enum image_format f;
};

static void save_free(struct save *v)
{
        free(v->root);
        json_decref(v->names);
        free(v);
}

static void save_run(void *arg, int fd)
{
        struct save *v = arg;
        struct store s;
        struct err err = { 0 };
        size_t n = json_array_size(v->names);
        const char **refs = xcalloc(n + 1, sizeof(*refs));
        for (size_t i = 0; i < n; i++)
                refs[i] = json_string_value(json_array_get(v->names, i));
        api_serial(true);
        if (store_open(v->root, &s, &err) >= 0) {
                /* an error mid-way cuts the tar short: the client's reader sees it truncated */
                image_save_many(&s, refs, n, v->f, fd, NULL, &err);
                store_close(&s);
        }
        api_serial(false);
        free(refs);
        save_free(v);
}

static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
        if (strcmp(key, "names") == 0 && value)
                json_array_append_new(cls, json_string(value));
        return MHD_YES;
}

/* docker save (steals names): docker's layout when every layer is an uncompressed tar
 * (docker's own images), an OCI layout (which docker load, podman load and den load
 * read) when one is compressed (pulled images) */
static int save(struct api_req *q, struct api_reply *ret, json_t *names)
{
        enum image_format f = FORMAT_DOCKER_ARCHIVE;
        json_t *name;
        size_t k;
        if (json_array_size(names) == 0) {
                json_decref(names);
                return api_error(ret, 400, "no image names given (names=)");
        }
        json_array_foreach(names, k, name)
        {
                struct err err = { 0 };
                json_t *info = NULL;
                char man[DIGEST_STR_MAX];
                if (image_get(q->root, json_string_value(name), NULL, &info, man, &err) < 0) {
                        json_decref(names);
                        return api_fail(ret, &err);
                }
                /* an image id: saved as the manifest it stands for */
                if (strncmp(json_string_value(name), "sha256:", 7) == 0 ||
                    strspn(json_string_value(name), "0123456789abcdef") == strlen(json_string_value(name)))
                        json_array_set_new(names, k, json_sprintf("id@%s", man));
                json_t *diffs = json_object_get(json_object_get(json_object_get(info, "Config"), "rootfs"), "diff_ids"), *l;
                size_t i;
                json_array_foreach(json_object_get(json_object_get(info, "Manifest"), "layers"), i, l)
                {
                        const char *d = json_string_value(json_object_get(l, "digest"));
                        const char *diff = json_string_value(json_array_get(diffs, i));
                        if (!d || !diff || strcmp(d, diff) != 0)
                                f = FORMAT_OCI_ARCHIVE;
                }
                json_decref(info);
        }
        struct save *v = xcalloc(1, sizeof(*v));
        v->root = xstrdup(q->root);
        v->names = names;
        v->f = f;
        api_stream(ret, 200, "application/x-tar", save_run, v);
        if (!ret->gen)
                save_free(v); /* no thread to run it: the error is in ret */
        return 0;
}

static int api_image_save(struct api_req *q, struct api_reply *ret)
{
        return save(q, ret, json_pack("[s]", q->params[0]));
}

static int api_images_save(struct api_req *q, struct api_reply *ret)
{
        json_t *names = json_array();
        MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, query_collect, names);
        return save(q, ret, names);
}

/* ---- prune, search ---- */

/* the blobs of the store: their total size, and the image ids (config digests) of the
 * manifests among them that no name reaches (docker's dangling images) */
static uint64_t blobs_scan(struct store *s, json_t *named, json_t *dangling)
{
        int dfd = openat(s->root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct dirent *e;
        uint64_t total = 0;
        if (!d) {
                if (dfd >= 0)
                        close(dfd);
                return 0;
        }
        while ((e = readdir(d))) {
                struct stat st;
                if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue;
                total += (uint64_t) st.st_size;
                if (!dangling || st.st_size > (1 << 20))
                        continue;
                _cleanup_free_ char *dg = xasprintf("sha256:%s", e->d_name), *txt = NULL;
                size_t len;
                struct err err = { 0 };
                if (json_object_get(named, dg) || store_read_blob(s, dg, 1u << 20, &txt, &len, &err) < 0)
                        continue;
                json_t *m = json_loadb(txt, len, 0, NULL);
                const char *cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
                if (cfg && json_is_array(json_object_get(m, "layers")))
                        json_object_set_new(dangling, dg, json_string(cfg));
                json_decref(m);
        }
        closedir(d);
        return total;
}

/* prune -a: every name of an image no container uses is dropped first ({"Untagged":..} into out) */
static int untag_unused(struct api_req *q, struct store *s, json_t *names, json_t *out, struct err *err)
{
        json_t *list = NULL, *c, *used = json_object(), *v;
        const char *k;
        size_t i;
        int r = engine_list(q->root, q->runroot, &list, err);
        json_array_foreach(list, i, c)
        {
                const char *d = json_string_value(json_object_get(c, "ImageDigest"));
                if (d)
                        json_object_set(used, d, json_true());
        }
        json_decref(list);
        json_object_foreach(names, k, v)
        {
                if (r < 0 || json_object_get(used, json_string_value(v)))
                        continue;
                if ((r = image_untag(s, k, err)) >= 0)
                        json_array_append_new(out, json_pack("{s:s}", "Untagged", k));
        }
        json_decref(used);
        return r;
}

static int api_images_prune(struct api_req *q, struct api_reply *ret)
{
        const char *filters = api_query(q, "filters");
        json_t *fj = filters ? json_loads(filters, 0, NULL) : NULL, *dv = json_object_get(fj, "dangling");
        bool all = json_is_true(json_object_get(dv, "false")) || json_is_true(json_object_get(dv, "0")) ||
                   (json_is_array(dv) && json_string_value(json_array_get(dv, 0)) &&
                    strcmp(json_string_value(json_array_get(dv, 0)), "false") == 0);
        json_decref(fj);
        struct store s;
        struct err err = { 0 };
        json_t *names = NULL, *named = json_object(), *dangling = json_object(), *v, *out = json_array();
        const char *k;
        unsigned n = 0;
        uint64_t before = 0, after = 0;
        int r = store_open(q->root, &s, &err);
        if (r < 0)
                goto out;
        if ((r = image_names_load(&s, &names, &err)) >= 0 && all) {
                r = untag_unused(q, &s, names, out, &err);
                json_decref(names);
                names = NULL;
                if (r >= 0)
                        r = image_names_load(&s, &names, &err);
        }
        if (r >= 0) {
                json_object_foreach(names, k, v) json_object_set(named, json_string_value(v), json_true());
                before = blobs_scan(&s, named, dangling);
                r = store_prune(&s, &n, &err);
        }
        if (r >= 0) {
                after = blobs_scan(&s, named, NULL);
                json_object_foreach(dangling, k, v) if (!store_has_blob(&s, k))
                        json_array_append_new(out, json_pack("{s:O}", "Deleted", v));
        }
        store_close(&s);
out:
        json_decref(names);
        json_decref(named);
        json_decref(dangling);
        if (r < 0) {
                json_decref(out);
                return api_fail(ret, &err);
        }
        return api_json(ret, 200,
                        json_pack("{s:o,s:I}", "ImagesDeleted", json_array_size(out) ? out : (json_decref(out), json_null()),
                                  "SpaceReclaimed", (json_int_t) (before > after ? before - after : 0)));
}

/* docker search: den has no registry index to search */
static int api_images_search(struct api_req *q, struct api_reply *ret)
{
        return api_json(ret, 200, json_array());
}

const struct api_route api_routes_img[] = {
        { "POST", "/images/create", api_image_create, false, true },
        { "POST", "/images/load", api_image_load, true, true },
        { "GET", "/images/get", api_images_save, false },
        { "POST", "/images/prune", api_images_prune, true },
        { "GET", "/images/search", api_images_search, false },
        { "GET", "/images/{name}/get", api_image_save, false },
        { "POST", "/images/{name}/push", api_image_push, false },
        { NULL },
};
