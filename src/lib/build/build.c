/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Dockerfile executor: stages built on demand (so only what the target
 * needs runs), each instruction applied to the stage's state (an image config
 * and its layers), layer steps cached by content. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "copy.h"
#include "dockerfile.h"
#include "ignore.h"
#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/json.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/registry/registry.h"
#include "lib/runtime/ctr.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"
#include "lib/store/store.h"
#include "lib/store/tarw.h"
#include "view.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CONFIG_MAX (8u << 20)
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define RUN_TAIL 4096 /* the last bytes of a RUN's output kept for its error */

/* the state of a stage after a step: its image config (architecture, os,
 * config, rootfs.diff_ids, history) and its layers' descriptors */
struct state {
        json_t *cfg;
        json_t *layers;
        char key[DIGEST_STR_MAX]; /* the cache chain: a digest of every step so far */
        json_t *args;             /* ARG scope: name -> string, or null when declared without value */
        bool cmd_set;             /* CMD given in this stage: a later ENTRYPOINT keeps it */
        bool built, building;
};

struct builder {
        const struct build_opts *o;
        struct store s;
        struct df_plan plan;
        struct ignore *ign;
        struct state *st;        /* one per stage */
        json_t *bargs;           /* --build-arg: name -> value */
        json_t *used;            /* the build args some ARG consumed */
        json_t *global;          /* the ARGs before the first FROM, with the build args applied */
        json_t *global_declared; /* their names */
        json_t *secrets;         /* id -> host path (a private copy for env= ones) */
        char platform[64];
        char *tmpdir;            /* <runroot>/build-<pid>: secrets copied for RUNs */
        int cache_fd;            /* <root>/build-cache */
        size_t stage_total;
        bool step_cached;        /* the last metadata step was in the cache */
        char *pending;           /* the step's line, printed when it starts work or ends (CACHED on it) */
};

static char *time_str(const struct builder *b)
{
        if (b->o->epoch < 0)
                return now_rfc3339();
        time_t t = (time_t) b->o->epoch;
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[64];
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

static void progress(const struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct builder *b, const char *fmt, ...)
{
        if (b->o->progress_fd < 0 || b->o->quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        vdprintf(b->o->progress_fd, fmt, ap);
        va_end(ap);
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* the step's line, now: its work begins */
static void step_flush(struct builder *b)
{
        if (!b->pending)
                return;
        progress(b, "%s\n", b->pending);
        free(b->pending);
        b->pending = NULL;
}

/* ---- interruption: ^C stops the RUN going on, and the build ends cleanly ---- */

static struct {
        pthread_mutex_t lock;
        const char *root, *runroot;
        char *ctr;             /* the container of the RUN going on */
        volatile sig_atomic_t signal;
        bool done;
} intr = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *intr_thread(void *p)
{
        const sigset_t *mask = p;
        int sig = 0;
        sigwait(mask, &sig);
        pthread_mutex_lock(&intr.lock);
        if (!intr.done) {
                intr.signal = sig;
                struct err e = { 0 };
                if (intr.ctr)
                        ctr_halt(intr.root, intr.runroot, intr.ctr, &e);
        }
        pthread_mutex_unlock(&intr.lock);
        return NULL;
}

static void intr_set_ctr(const char *id)
{
        pthread_mutex_lock(&intr.lock);
        free(intr.ctr);
        intr.ctr = id ? xstrdup(id) : NULL;
        pthread_mutex_unlock(&intr.lock);
}

static int interrupted(struct err *err)
{
        return intr.signal ? err_set(err, -EINTR, "the build was interrupted (%s); nothing was named", strsignal(intr.signal)) : 0;
}

/* ---- the state ---- */

static json_t *cfg_config(struct state *st)
{
        json_t *c = json_object_get(st->cfg, "config");
        if (!json_is_object(c)) {
                c = json_object();
                json_object_set_new(st->cfg, "config", c);
        }
        return c;
}

static json_t *cfg_history(struct state *st)
{
        json_t *h = json_object_get(st->cfg, "history");
        if (!json_is_array(h)) {
                h = json_array();
                json_object_set_new(st->cfg, "history", h);
        }
        return h;
}

static json_t *cfg_diff_ids(struct state *st)
{
        json_t *rf = json_object_get(st->cfg, "rootfs");
        if (!json_is_object(rf)) {
                rf = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
                json_object_set_new(st->cfg, "rootfs", rf);
        }
        json_t *d = json_object_get(rf, "diff_ids");
        if (!json_is_array(d)) {
                d = json_array();
                json_object_set_new(rf, "diff_ids", d);
        }
        return d;
}

static void state_free(struct state *st)
{
        json_decref(st->cfg);
        json_decref(st->layers);
        json_decref(st->args);
        memset(st, 0, sizeof(*st));
}

static void state_copy(struct state *dst, const struct state *src)
{
        dst->cfg = json_deep_copy(src->cfg);
        dst->layers = json_deep_copy(src->layers);
        dst->args = json_object();
        memcpy(dst->key, src->key, sizeof(dst->key));
}

static void chain(struct state *st, const char *what, const char *extra)
{
        _cleanup_free_ char *t = xasprintf("%s\n%s\n%s", st->key, what, extra ? extra : "");
        digest_buf(t, strlen(t), st->key);
}

/* when: the time a cached step was first made (a rebuild from the cache gives
 * the same config), NULL: now, or SOURCE_DATE_EPOCH */
static void history_add(struct builder *b, struct state *st, const char *created_by, bool empty, const char *when)
{
        _cleanup_free_ char *t = when ? xstrdup(when) : time_str(b);
        json_t *h = json_pack("{s:s,s:s}", "created", t, "created_by", created_by);
        if (empty)
                json_object_set_new(h, "empty_layer", json_true());
        json_array_append_new(cfg_history(st), h);
        json_object_set_new(st->cfg, "created", json_string(t));
}

static void meta_step(struct builder *b, struct state *st, const char *created_by);

static const char *env_get(struct state *st, const char *name)
{
        json_t *e = json_object_get(cfg_config(st), "Env");
        size_t nl = strlen(name), i;
        json_t *v;
        json_array_foreach(e, i, v)
        {
                const char *s = json_string_value(v);
                if (s && strncmp(s, name, nl) == 0 && s[nl] == '=')
                        return s + nl + 1;
        }
        return NULL;
}

static void env_set(struct state *st, const char *name, const char *value)
{
        json_t *c = cfg_config(st), *e = json_object_get(c, "Env");
        if (!json_is_array(e)) {
                e = json_array();
                json_object_set_new(c, "Env", e);
        }
        char *kv = xasprintf("%s=%s", name, value);
        size_t nl = strlen(name), i;
        json_t *v;
        json_array_foreach(e, i, v)
        {
                const char *s = json_string_value(v);
                if (s && strncmp(s, name, nl) == 0 && s[nl] == '=') {
                        json_array_set_new(e, i, json_string(kv));
                        free(kv);
                        return;
                }
        }
        json_array_append_new(e, json_string(kv));
        free(kv);
}

/* the variables a word of a stage sees: ENV first, then the ARGs in scope */
static const char *stage_lookup(const char *name, void *ud)
{
        struct state *st = ud;
        const char *v = env_get(st, name);
        if (v)
                return v;
        return json_string_value(json_object_get(st->args, name));
}

/* FROM lines see the global ARGs only */
static const char *global_lookup(const char *name, void *ud)
{
        struct builder *b = ud;
        return json_string_value(json_object_get(b->global, name));
}

static const char *instr_name(const struct df_instr *in)
{
        return df_kind_name(in->kind);
}

static int fail(struct builder *b, const struct df_instr *in, struct err *err)
{
        return err_wrap(err, "%s:%u: %s", b->o->dockerfile_name, in->line, instr_name(in));
}

static int ferr(struct builder *b, const struct df_instr *in, struct err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int ferr(struct builder *b, const struct df_instr *in, struct err *err, int code, const char *fmt, ...)
{
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(err, code, "%s:%u: %s: %s", b->o->dockerfile_name, in->line, instr_name(in), msg);
}

static int expand(struct builder *b, struct state *st, const struct df_instr *in, const char *w, char **ret,
                  struct err *err)
{
        int r = dockerfile_expand(w, b->plan.escape, stage_lookup, st, ret, err);
        return r < 0 ? fail(b, in, err) : r;
}

static int expand_words(struct builder *b, struct state *st, const struct df_instr *in, char ***ret,
                        struct err *err)
{
        if (in->json) {
                /* the JSON form of COPY, ADD, VOLUME: each element expanded, no splitting */
                char **v = xcalloc(strv_length(in->argv) + 1, sizeof(char *));
                for (size_t i = 0; in->argv[i]; i++)
                        if (expand(b, st, in, in->argv[i], &v[i], err) < 0) {
                                strv_freep(&v);
                                return -EINVAL;
                        }
                *ret = v;
                return 0;
        }
        int r = dockerfile_expand_words(in->args, b->plan.escape, stage_lookup, st, ret, err);
        return r < 0 ? fail(b, in, err) : r;
}

/* ---- images in the store ---- */

static int read_json_blob(struct builder *b, const char *digest, json_t **ret, struct err *err)
{
        _cleanup_free_ char *txt = NULL;
        size_t len;
        int r = store_read_blob(&b->s, digest, CONFIG_MAX, &txt, &len, err);
        if (r < 0)
                return r;
        json_error_t je;
        json_t *j = json_loadb(txt, len, 0, &je);
        if (!json_is_object(j)) {
                json_decref(j);
                return err_set(err, -EINVAL, "blob %s is not a JSON object: %s", digest, je.text);
        }
        *ret = j;
        return 0;
}

/* docker's layer media types as OCI's, so one manifest holds them all */
static const char *oci_layer_type(const char *mt)
{
        if (!mt || strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.gzip") == 0)
                return "application/vnd.oci.image.layer.v1.tar+gzip";
        if (strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
                return OCI_LAYER;
        return mt;
}

static int state_from_manifest(struct builder *b, const char *manifest, struct state *st, struct err *err)
{
        json_t *m = NULL;
        int r = read_json_blob(b, manifest, &m, err);
        if (r < 0)
                return r;
        const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        json_t *layers = json_object_get(m, "layers");
        if (!cd || !json_is_array(layers)) {
                json_decref(m);
                return err_set(err, -EINVAL, "manifest %s has no config or layers", manifest);
        }
        if ((r = read_json_blob(b, cd, &st->cfg, err)) < 0) {
                json_decref(m);
                return r;
        }
        json_t *diffs = cfg_diff_ids(st);
        if (json_array_size(diffs) != json_array_size(layers)) {
                json_decref(m);
                return err_set(err, -EINVAL, "image %s: %zu layers but %zu diff ids", manifest, json_array_size(layers),
                               json_array_size(diffs));
        }
        st->layers = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l)
        {
                const char *d = json_string_value(json_object_get(l, "digest"));
                const char *diff = json_string_value(json_array_get(diffs, i));
                if (!d || !diff || !digest_valid(d) || !digest_valid(diff)) {
                        json_decref(m);
                        return err_set(err, -EINVAL, "image %s: layer %zu has no valid digest", manifest, i);
                }
                if ((r = layer_ensure(&b->s, d, diff, 0, err)) < 0) {
                        json_decref(m);
                        return r;
                }
                json_t *desc = json_deep_copy(l);
                json_object_set_new(desc, "mediaType",
                                    json_string(oci_layer_type(json_string_value(json_object_get(l, "mediaType")))));
                json_array_append_new(st->layers, desc);
        }
        json_decref(m);
        return 0;
}

static char **state_diff_ids(struct state *st)
{
        json_t *d = cfg_diff_ids(st);
        char **v = xcalloc(json_array_size(d) + 1, sizeof(char *));
        for (size_t i = 0; i < json_array_size(d); i++)
                v[i] = xstrdup(json_string_value(json_array_get(d, i)) ?: "");
        return v;
}

static int state_view(struct builder *b, struct state *st, struct view *v, struct err *err)
{
        _cleanup_strv_free_ char **d = state_diff_ids(st);
        return view_open(&b->s, d, strv_length(d), v, err);
}

/* the state as a config and a manifest in the store; ret: the manifest digest */
static int state_write(struct builder *b, struct state *st, char ret_config[DIGEST_STR_MAX],
                       char ret[DIGEST_STR_MAX], struct err *err)
{
        _cleanup_free_ char *ct = json_dumps(st->cfg, JSON_COMPACT | JSON_SORT_KEYS);
        char cd[DIGEST_STR_MAX];
        int r = store_put_blob_mem(&b->s, ct, strlen(ct), cd, err);
        if (r < 0)
                return r;
        json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType", OCI_MANIFEST, "config",
                              "mediaType", OCI_CONFIG, "digest", cd, "size", (json_int_t) strlen(ct), "layers",
                              st->layers);
        _cleanup_free_ char *mt = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        if (ret_config)
                memcpy(ret_config, cd, DIGEST_STR_MAX);
        return store_put_blob_mem(&b->s, mt, strlen(mt), ret, err);
}

/* a layer tar (uncompressed, on fd) into the store and unpacked; appended to the state */
static int state_add_layer(struct builder *b, struct state *st, int fd, json_t **ret_desc, struct err *err)
{
        char d[DIGEST_STR_MAX];
        uint64_t size;
        lseek(fd, 0, SEEK_SET);
        int r = store_put_blob_fd(&b->s, fd, NULL, 0, d, &size, err);
        if (r < 0 || (r = layer_ensure(&b->s, d, d, 0, err)) < 0)
                return r;
        json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", OCI_LAYER, "digest", d, "size", (json_int_t) size);
        json_array_append(st->layers, desc);
        json_array_append_new(cfg_diff_ids(st), json_string(d));
        if (ret_desc)
                *ret_desc = desc;
        else
                json_decref(desc);
        return 0;
}

/* ---- the cache: <root>/build-cache/<key hex> = {layer, diff_id} ---- */

static bool cache_get(struct builder *b, struct state *st, const char *key, const char *created_by)
{
        if (b->o->no_cache || b->cache_fd < 0)
                return false;
        _cleanup_close_ int fd = openat(b->cache_fd, digest_hex(key), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *txt = NULL;
        size_t len;
        if (fd < 0 || fs_read_fd(fd, 1 << 16, &txt, &len) < 0)
                return false;
        json_t *e = json_loadb(txt, len, 0, NULL);
        json_t *desc = json_object_get(e, "layer");
        const char *d = json_string_value(json_object_get(desc, "digest"));
        const char *diff = json_string_value(json_object_get(e, "diff_id"));
        struct err e2 = { 0 };
        /* the layer must still be there (an image prune may have taken it) */
        bool ok = d && diff && digest_valid(d) && digest_valid(diff) && store_has_blob(&b->s, d) &&
                  layer_ensure(&b->s, d, diff, 0, &e2) == 0;
        if (ok) {
                json_array_append(st->layers, desc);
                json_array_append_new(cfg_diff_ids(st), json_string(diff));
                history_add(b, st, created_by, false, json_string_value(json_object_get(e, "created")));
                memcpy(st->key, key, DIGEST_STR_MAX);
        }
        json_decref(e);
        return ok;
}

/* desc NULL: a metadata step, remembered only for its time */
static void cache_put(struct builder *b, struct state *st, const char *key, json_t *desc)
{
        if (b->cache_fd < 0)
                return;
        json_t *h = json_array_get(cfg_history(st), json_array_size(cfg_history(st)) - 1);
        json_t *e = json_pack("{s:O?}", "created", json_object_get(h, "created"));
        if (desc) {
                json_object_set(e, "layer", desc);
                json_object_set(e, "diff_id", json_object_get(desc, "digest"));
        }
        _cleanup_free_ char *t = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        fs_write_replace(b->cache_fd, digest_hex(key), t, strlen(t), 0600);
}

/* a metadata-only step: history and the cache chain; CACHED when made before */
static void meta_step(struct builder *b, struct state *st, const char *created_by)
{
        chain(st, created_by, NULL);
        json_t *e = NULL;
        if (!b->o->no_cache && b->cache_fd >= 0) {
                _cleanup_close_ int fd = openat(b->cache_fd, digest_hex(st->key), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                _cleanup_free_ char *txt = NULL;
                size_t len;
                if (fd >= 0 && fs_read_fd(fd, 1 << 16, &txt, &len) == 0)
                        e = json_loadb(txt, len, 0, NULL);
        }
        history_add(b, st, created_by, true, json_string_value(json_object_get(e, "created")));
        b->step_cached = e != NULL;
        if (!e)
                cache_put(b, st, st->key, NULL);
        json_decref(e);
}

/* a layer step: cached by key, else made by make() into a tar on a temp file */
typedef int (*make_fn)(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                       struct err *err);

static int tmpfile_in_store(struct builder *b, struct err *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/tmp", b->s.root);
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_sys(err, -errno, "cannot create a file in %s", dir);
        return fd;
}

static int layer_step(struct builder *b, struct state *st, const struct df_instr *in, const char *created_by,
                      const char *extra, make_fn make, void *ud, bool *ret_cached, struct err *err)
{
        char key[DIGEST_STR_MAX];
        _cleanup_free_ char *t = xasprintf("%s\n%s\n%s", st->key, created_by, extra ? extra : "");
        digest_buf(t, strlen(t), key);
        if (cache_get(b, st, key, created_by)) {
                *ret_cached = true;
                return 0;
        }
        *ret_cached = false;
        _cleanup_close_ int fd = tmpfile_in_store(b, err);
        if (fd < 0)
                return fd;
        step_flush(b);
        double t0 = now_s();
        int r = make(b, st, in, ud, fd, err);
        double t1 = now_s();
        json_t *desc = NULL;
        if (r < 0 || (r = state_add_layer(b, st, fd, &desc, err)) < 0)
                return r;
        log_msg(LOG_LVL_DEBUG, "build: %s: layer made in %.3fs, stored and unpacked in %.3fs", created_by, t1 - t0,
                now_s() - t1);
        history_add(b, st, created_by, false, NULL);
        cache_put(b, st, key, desc);
        json_decref(desc);
        memcpy(st->key, key, DIGEST_STR_MAX);
        return 0;
}

/* ---- metadata instructions ---- */

/* KEY=VALUE pairs (ENV, LABEL, ARG), or the old "KEY VALUE" form of ENV and LABEL */
static int pairs(struct builder *b, struct state *st, const struct df_instr *in, bool legacy, json_t **ret,
                 struct err *err)
{
        _cleanup_strv_free_ char **raw = NULL;
        dockerfile_split_words(in->args ? in->args : "", b->plan.escape, &raw);
        json_t *out = json_array();
        int r = 0;
        if (raw[0] && !strchr(raw[0], '=') && in->kind != DF_ARG) {
                if (!legacy || !raw[1]) {
                        json_decref(out);
                        return ferr(b, in, err, -EINVAL, "'%s' needs a value: KEY=VALUE (or KEY VALUE)", raw[0]);
                }
                /* ENV KEY the rest of the line */
                const char *rest = in->args + strspn(in->args, " \t");
                rest += strcspn(rest, " \t");
                rest += strspn(rest, " \t");
                _cleanup_free_ char *k = NULL, *v = NULL;
                if ((r = expand(b, st, in, raw[0], &k, err)) < 0 || (r = expand(b, st, in, rest, &v, err)) < 0) {
                        json_decref(out);
                        return r;
                }
                json_array_append_new(out, json_pack("[s,s]", k, v));
                *ret = out;
                return 0;
        }
        for (size_t i = 0; raw[i]; i++) {
                char *eq = strchr(raw[i], '=');
                if (!eq && in->kind != DF_ARG) {
                        json_decref(out);
                        return ferr(b, in, err, -EINVAL, "'%s' is not KEY=VALUE", raw[i]);
                }
                _cleanup_free_ char *k = eq ? strndup(raw[i], (size_t) (eq - raw[i])) : xstrdup(raw[i]), *kx = NULL,
                                    *v = NULL;
                if ((r = expand(b, st, in, k, &kx, err)) < 0 || (eq && (r = expand(b, st, in, eq + 1, &v, err)) < 0)) {
                        json_decref(out);
                        return r;
                }
                if (!*kx) {
                        json_decref(out);
                        return ferr(b, in, err, -EINVAL, "an empty name in '%s'", raw[i]);
                }
                json_array_append_new(out, v ? json_pack("[s,s]", kx, v) : json_pack("[s,n]", kx));
        }
        *ret = out;
        return 0;
}

static bool is_predefined_arg(const char *n)
{
        static const char *const p[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                         "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL };
        for (size_t i = 0; p[i]; i++)
                if (strcmp(p[i], n) == 0)
                        return true;
        return false;
}

static void platform_args(struct builder *b, json_t *into)
{
        char os[32] = "linux", arch[32] = "", variant[32] = "";
        sscanf(b->platform, "%31[^/]/%31[^/]/%31s", os, arch, variant);
        const char *names[] = { "TARGET", "BUILD" };
        for (size_t i = 0; i < 2; i++) {
                char k[32];
                snprintf(k, sizeof(k), "%sPLATFORM", names[i]);
                json_object_set_new(into, k, json_string(b->platform));
                snprintf(k, sizeof(k), "%sOS", names[i]);
                json_object_set_new(into, k, json_string(os));
                snprintf(k, sizeof(k), "%sARCH", names[i]);
                json_object_set_new(into, k, json_string(arch));
                snprintf(k, sizeof(k), "%sVARIANT", names[i]);
                json_object_set_new(into, k, json_string(variant));
        }
}

static int do_arg(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        json_t *ps = NULL;
        int r = pairs(b, st, in, false, &ps, err);
        if (r < 0)
                return r;
        size_t i;
        json_t *p;
        json_array_foreach(ps, i, p)
        {
                const char *k = json_string_value(json_array_get(p, 0));
                json_t *dflt = json_array_get(p, 1);
                json_t *given = json_object_get(b->bargs, k);
                json_t *val = given ? given : json_is_string(dflt) ? dflt : NULL;
                /* a stage's ARG NAME without a default takes the global one */
                if (!val)
                        val = json_object_get(b->global, k);
                if (given)
                        json_object_set_new(b->used, k, json_true());
                json_object_set(st->args, k, val ? val : json_null());
                _cleanup_free_ char *w = xasprintf("ARG %s=%s", k, json_string_value(val) ?: "");
                chain(st, w, NULL);
        }
        json_decref(ps);
        return 0;
}

static int do_env_label(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        json_t *ps = NULL;
        int r = pairs(b, st, in, true, &ps, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *hist = xstrdup(in->kind == DF_ENV ? "ENV" : "LABEL");
        json_t *labels = NULL;
        if (in->kind == DF_LABEL) {
                labels = json_object_get(cfg_config(st), "Labels");
                if (!json_is_object(labels)) {
                        labels = json_object();
                        json_object_set_new(cfg_config(st), "Labels", labels);
                }
        }
        size_t i;
        json_t *p;
        json_array_foreach(ps, i, p)
        {
                const char *k = json_string_value(json_array_get(p, 0)), *v = json_string_value(json_array_get(p, 1));
                if (in->kind == DF_ENV)
                        env_set(st, k, v);
                else
                        json_object_set_new(labels, k, json_string(v));
                char *h = xasprintf("%s %s=%s", hist, k, v);
                free(hist);
                hist = h;
        }
        json_decref(ps);
        meta_step(b, st, hist);
        return 0;
}

/* CMD, ENTRYPOINT: JSON as given, a shell form through the stage's SHELL */
static json_t *command_form(struct state *st, const struct df_instr *in)
{
        json_t *a = json_array();
        if (in->json) {
                for (size_t i = 0; in->argv[i]; i++)
                        json_array_append_new(a, json_string(in->argv[i]));
                return a;
        }
        json_t *sh = json_object_get(cfg_config(st), "Shell");
        if (json_is_array(sh) && json_array_size(sh) > 0)
                json_array_extend(a, sh);
        else
                json_array_extend(a, json_pack("[s,s]", "/bin/sh", "-c"));
        json_array_append_new(a, json_string(in->args));
        return a;
}

static char *json_text(json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int parse_duration(const char *s, json_int_t *ret)
{
        /* Go's time.ParseDuration for the units HEALTHCHECK uses */
        double total = 0;
        const char *p = s;
        if (!*p)
                return -EINVAL;
        while (*p) {
                char *end;
                double v = strtod(p, &end);
                if (end == p)
                        return -EINVAL;
                p = end;
                double mult;
                if (strncmp(p, "ns", 2) == 0)
                        mult = 1, p += 2;
                else if (strncmp(p, "us", 2) == 0 || strncmp(p, "µs", 3) == 0)
                        mult = 1e3, p += (*p == 'u' ? 2 : 3);
                else if (strncmp(p, "ms", 2) == 0)
                        mult = 1e6, p += 2;
                else if (*p == 's')
                        mult = 1e9, p++;
                else if (*p == 'm')
                        mult = 60e9, p++;
                else if (*p == 'h')
                        mult = 3600e9, p++;
                else
                        return -EINVAL;
                total += v * mult;
        }
        *ret = (json_int_t) total;
        return 0;
}

static int do_healthcheck(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        json_t *hc;
        if (in->none) {
                hc = json_pack("{s:[s]}", "Test", "NONE");
        } else {
                const struct df_instr *c = in->sub;
                json_t *test = json_array();
                json_array_append_new(test, json_string(c->json ? "CMD" : "CMD-SHELL"));
                if (c->json)
                        for (size_t i = 0; c->argv[i]; i++)
                                json_array_append_new(test, json_string(c->argv[i]));
                else
                        json_array_append_new(test, json_string(c->args));
                hc = json_pack("{s:o}", "Test", test);
                static const struct {
                        const char *flag, *key;
                } durs[] = { { "interval", "Interval" },
                             { "timeout", "Timeout" },
                             { "start-period", "StartPeriod" },
                             { "start-interval", "StartInterval" } };
                for (size_t i = 0; i < in->n_flags; i++) {
                        const struct df_flag *f = &in->flags[i];
                        size_t k;
                        for (k = 0; k < ELEMENTSOF(durs); k++)
                                if (strcmp(f->name, durs[k].flag) == 0)
                                        break;
                        json_int_t v;
                        if (k < ELEMENTSOF(durs)) {
                                if (!f->value || parse_duration(f->value, &v) < 0 || v < 0) {
                                        json_decref(hc);
                                        return ferr(b, in, err, -EINVAL, "--%s '%s': not a duration (30s, 1m30s)",
                                                    f->name, f->value ? f->value : "");
                                }
                                if (v > 0)
                                        json_object_set_new(hc, durs[k].key, json_integer(v));
                        } else if (strcmp(f->name, "retries") == 0) {
                                char *end;
                                long n = f->value ? strtol(f->value, &end, 10) : -1;
                                if (!f->value || *end || n < 0) {
                                        json_decref(hc);
                                        return ferr(b, in, err, -EINVAL, "--retries '%s': not a number",
                                                    f->value ? f->value : "");
                                }
                                if (n > 0)
                                        json_object_set_new(hc, "Retries", json_integer(n));
                        } else {
                                json_decref(hc);
                                return ferr(b, in, err, -EINVAL, "unknown flag --%s", f->name);
                        }
                }
        }
        _cleanup_free_ char *t = json_text(json_object_get(hc, "Test"));
        json_object_set_new(cfg_config(st), "Healthcheck", hc);
        _cleanup_free_ char *h = xasprintf("HEALTHCHECK %s", t);
        meta_step(b, st, h);
        return 0;
}

/* the text of an instruction as a trigger line (ONBUILD) */
static char *instr_text(const struct df_instr *in)
{
        struct df_buf t = { 0 };
        const char *n = df_kind_name(in->kind);
        df_buf_add(&t, n, strlen(n));
        for (size_t i = 0; i < in->n_flags; i++) {
                _cleanup_free_ char *f = in->flags[i].value ? xasprintf(" --%s=%s", in->flags[i].name, in->flags[i].value)
                                                           : xasprintf(" --%s", in->flags[i].name);
                df_buf_add(&t, f, strlen(f));
        }
        if (in->sub) {
                _cleanup_free_ char *s = instr_text(in->sub);
                df_buf_add(&t, " ", 1);
                df_buf_add(&t, s, strlen(s));
        } else if (in->none) {
                df_buf_add(&t, " NONE", 5);
        } else if (in->json) {
                json_t *a = json_array();
                for (size_t i = 0; in->argv[i]; i++)
                        json_array_append_new(a, json_string(in->argv[i]));
                _cleanup_free_ char *s = json_text(a);
                json_decref(a);
                df_buf_add(&t, " ", 1);
                df_buf_add(&t, s, strlen(s));
        } else if (in->args) {
                df_buf_add(&t, " ", 1);
                df_buf_add(&t, in->args, strlen(in->args));
        }
        return t.s;
}

static int do_expose(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_free_ char **w = NULL;
        int r = expand_words(b, st, in, &w, err);
        if (r < 0)
                return r;
        json_t *ports = json_object_get(cfg_config(st), "ExposedPorts");
        if (!json_is_object(ports)) {
                ports = json_object();
                json_object_set_new(cfg_config(st), "ExposedPorts", ports);
        }
        _cleanup_free_ char *hist = xstrdup("EXPOSE");
        for (size_t i = 0; w[i]; i++) {
                char proto[8] = "tcp";
                unsigned lo, hi;
                char *slash = strchr(w[i], '/');
                if (slash) {
                        if (strcasecmp(slash + 1, "tcp") && strcasecmp(slash + 1, "udp") && strcasecmp(slash + 1, "sctp"))
                                return ferr(b, in, err, -EINVAL, "'%s': the protocol is tcp, udp or sctp", w[i]);
                        snprintf(proto, sizeof(proto), "%s", slash + 1);
                        for (char *p = proto; *p; p++)
                                *p = (char) tolower((unsigned char) *p);
                        *slash = '\0';
                }
                int n = sscanf(w[i], "%u-%u", &lo, &hi);
                char tail;
                if (n < 1 || (n == 1 && sscanf(w[i], "%u%c", &lo, &tail) != 1) || lo == 0 || lo > 65535 ||
                    (n == 2 && (hi < lo || hi > 65535)))
                        return ferr(b, in, err, -EINVAL, "'%s' is not a port (80, 80/udp, 8000-8010)", w[i]);
                if (n == 1)
                        hi = lo;
                for (unsigned p = lo; p <= hi; p++) {
                        char k[32];
                        snprintf(k, sizeof(k), "%u/%s", p, proto);
                        json_object_set_new(ports, k, json_object());
                        char *h = xasprintf("%s %s", hist, k);
                        free(hist);
                        hist = h;
                }
        }
        meta_step(b, st, hist);
        return 0;
}

static int do_volume(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_free_ char **w = NULL;
        int r = expand_words(b, st, in, &w, err);
        if (r < 0)
                return r;
        json_t *vols = json_object_get(cfg_config(st), "Volumes");
        if (!json_is_object(vols)) {
                vols = json_object();
                json_object_set_new(cfg_config(st), "Volumes", vols);
        }
        json_t *a = json_array();
        for (size_t i = 0; w[i]; i++) {
                if (!*w[i]) {
                        json_decref(a);
                        return ferr(b, in, err, -EINVAL, "a volume cannot be an empty path");
                }
                json_object_set_new(vols, w[i], json_object());
                json_array_append_new(a, json_string(w[i]));
        }
        _cleanup_free_ char *t = json_text(a);
        json_decref(a);
        _cleanup_free_ char *h = xasprintf("VOLUME %s", t);
        meta_step(b, st, h);
        return 0;
}

/* ---- RUN ---- */

struct run {
        char **argv, **env;
        char **volumes, **tmpfs;
        const char *network;
        json_t *key; /* what the cache key must see beyond the instruction */
};

static void run_free(struct run *r)
{
        strv_freep(&r->argv);
        strv_freep(&r->env);
        strv_freep(&r->volumes);
        strv_freep(&r->tmpfs);
        json_decref(r->key);
}

/* "k=v,k2=v2" of --mount into an object; a bare word is "true" (readonly, rw) */
static json_t *mount_opts(const char *spec)
{
        json_t *o = json_object();
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;
        for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(f, '=');
                if (eq) {
                        *eq = '\0';
                        json_object_set_new(o, f, json_string(eq + 1));
                } else {
                        json_object_set_new(o, f, json_string("true"));
                }
        }
        return o;
}

static const char *mopt(json_t *m, const char *k1, const char *k2)
{
        const char *v = json_string_value(json_object_get(m, k1));
        return v ? v : k2 ? json_string_value(json_object_get(m, k2)) : NULL;
}

static int secret_file(struct builder *b, const char *id, const char *mode, const char *uid, const char *gid,
                       char **ret, struct err *err)
{
        /* mode=, uid=, gid= as BuildKit takes them (default 0400, 0:0) */
        long m = 0400, u = 0, g = 0;
        char *end;
        if (mode && ((m = strtol(mode, &end, 8)) < 0 || m > 0777 || *end))
                return err_set(err, -EINVAL, "secret '%s': mode=%s is not an octal mode", id, mode);
        if (uid && ((u = strtol(uid, &end, 10)) < 0 || *end))
                return err_set(err, -EINVAL, "secret '%s': uid=%s is not a number", id, uid);
        if (gid && ((g = strtol(gid, &end, 10)) < 0 || *end))
                return err_set(err, -EINVAL, "secret '%s': gid=%s is not a number", id, gid);
        if ((u || g) && geteuid() != 0)
                return err_set(err, -EPERM, "secret '%s': uid= and gid= other than 0 need den as root; rootless, "
                               "give mode=0444 for another user to read it", id);
        const char *src = json_string_value(json_object_get(b->secrets, id));
        if (!src)
                return -ENOENT;
        /* a private copy, mode 0400, in den's run directory (not the store, never a layer) */
        if (!b->tmpdir) {
                _cleanup_free_ char *rr = NULL;
                int r = engine_runroot(b->o->runroot, &rr, err);
                if (r < 0)
                        return r;
                b->tmpdir = xasprintf("%s/build-%d", rr, getpid());
                if (mkdir(b->tmpdir, 0700) < 0 && errno != EEXIST)
                        return err_sys(err, -errno, "cannot make %s", b->tmpdir);
        }
        _cleanup_free_ char *data = NULL;
        size_t len;
        const char *envv = NULL;
        if (strncmp(src, "env:", 4) == 0) {
                envv = getenv(src + 4);
                if (!envv)
                        return err_set(err, -ENOENT, "secret '%s': the variable %s is not set", id, src + 4);
        } else if (fs_read_file(src + 5, 1 << 20, &data, &len) < 0) {
                return err_sys(err, -errno, "secret '%s': cannot read %s", id, src + 5);
        }
        char h[DIGEST_STR_MAX];
        digest_buf(id, strlen(id), h);
        char *path = xasprintf("%s/secret-%.16s", b->tmpdir, digest_hex(h));
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (fd < 0 || fs_write_all(fd, envv ? envv : data, envv ? strlen(envv) : len) < 0 ||
            fchmod(fd, (mode_t) m) < 0 || ((u || g) && fchown(fd, (uid_t) u, (gid_t) g) < 0)) {
                int e = -errno;
                if (fd >= 0)
                        close(fd);
                free(path);
                return err_sys(err, e, "secret '%s': cannot write its private copy", id);
        }
        close(fd);
        *ret = path;
        return 0;
}

static int run_mounts(struct builder *b, struct state *st, const struct df_instr *in, struct run *run,
                      struct err *err)
{
        for (size_t i = 0; i < in->n_flags; i++) {
                const struct df_flag *f = &in->flags[i];
                if (strcmp(f->name, "network") == 0) {
                        if (!f->value || (strcmp(f->value, "none") && strcmp(f->value, "host") && strcmp(f->value, "default")))
                                return ferr(b, in, err, -EINVAL, "--network=%s: none, host or default", f->value ? f->value : "");
                        if (strcmp(f->value, "default") != 0)
                                run->network = f->value;
                        continue;
                }
                if (strcmp(f->name, "security") == 0)
                        return ferr(b, in, err, -EPERM, "--security=%s is not allowed: RUN stays confined",
                                    f->value ? f->value : "");
                if (strcmp(f->name, "mount") != 0)
                        return ferr(b, in, err, -EINVAL, "unknown flag --%s (RUN takes --mount, --network)", f->name);
                if (!f->value)
                        return ferr(b, in, err, -EINVAL, "--mount needs a value (type=cache,target=/root/.cache)");
                _cleanup_free_ char *ex = NULL;
                if (expand(b, st, in, f->value, &ex, err) < 0)
                        return -EINVAL;
                json_t *m = mount_opts(ex);
                const char *type = mopt(m, "type", NULL) ?: "bind";
                const char *target = mopt(m, "target", "dst") ?: mopt(m, "destination", NULL);
                const char *id = mopt(m, "id", NULL);
                int r = 0;
                if (strcmp(type, "secret") == 0 || strcmp(type, "ssh") == 0) {
                        bool ssh = type[1] == 's';
                        if (!id)
                                id = ssh ? "default" : target ? strrchr(target, '/') + 1 : NULL;
                        if (!id || !*id) {
                                json_decref(m);
                                return ferr(b, in, err, -EINVAL, "--mount=type=secret needs id= or target=");
                        }
                        _cleanup_free_ char *path = NULL, *tgt = NULL;
                        if (ssh) {
                                const char *sock = b->o->ssh;
                                if (!sock) {
                                        bool req = !mopt(m, "required", NULL) || strcmp(mopt(m, "required", NULL), "false");
                                        json_decref(m);
                                        if (!req)
                                                continue;
                                        return ferr(b, in, err, -ENOENT, "--mount=type=ssh: no --ssh given to den build");
                                }
                                path = xstrdup(sock);
                                tgt = xstrdup(target ? target : "/run/buildkit/ssh_agent.0");
                                char *e = xasprintf("SSH_AUTH_SOCK=%s", tgt);
                                strv_push(&run->env, e);
                                free(e);
                        } else {
                                r = secret_file(b, id, mopt(m, "mode", NULL), mopt(m, "uid", NULL), mopt(m, "gid", NULL), &path, err);
                                if (r == -ENOENT && !err->code) {
                                        bool req = mopt(m, "required", NULL) && strcmp(mopt(m, "required", NULL), "false");
                                        json_decref(m);
                                        if (!req)
                                                continue;
                                        return ferr(b, in, err, -ENOENT, "secret '%s' was not given (--secret id=%s,src=FILE)", id, id);
                                }
                                if (r < 0) {
                                        json_decref(m);
                                        return fail(b, in, err);
                                }
                                tgt = target ? xstrdup(target) : xasprintf("/run/secrets/%s", id);
                        }
                        char *v = xasprintf("%s:%s:ro", path, tgt);
                        strv_push(&run->volumes, v);
                        free(v);
                        json_array_append_new(run->key, json_pack("[s,s,s]", type, id, tgt));
                } else if (strcmp(type, "cache") == 0) {
                        if (!target) {
                                json_decref(m);
                                return ferr(b, in, err, -EINVAL, "--mount=type=cache needs target=");
                        }
                        char h[DIGEST_STR_MAX];
                        const char *cid = id ? id : target;
                        digest_buf(cid, strlen(cid), h);
                        _cleanup_free_ char *dir = xasprintf("%s/build-cache/mounts/%s", b->s.root, digest_hex(h));
                        if (fs_mkdir_p(dir, 0755) < 0) {
                                json_decref(m);
                                return ferr(b, in, err, -errno, "cannot make the cache directory %s", dir);
                        }
                        char *v = xasprintf("%s:%s", dir, target);
                        strv_push(&run->volumes, v);
                        free(v);
                        json_array_append_new(run->key, json_pack("[s,s]", "cache", target));
                } else if (strcmp(type, "tmpfs") == 0) {
                        if (!target) {
                                json_decref(m);
                                return ferr(b, in, err, -EINVAL, "--mount=type=tmpfs needs target=");
                        }
                        strv_push(&run->tmpfs, target);
                        json_array_append_new(run->key, json_pack("[s,s]", "tmpfs", target));
                } else if (strcmp(type, "bind") == 0) {
                        const char *src = mopt(m, "source", "src") ?: ".";
                        if (!target || mopt(m, "from", NULL) || mopt(m, "rw", "readwrite")) {
                                json_decref(m);
                                return ferr(b, in, err, -EOPNOTSUPP,
                                            "--mount=type=bind: target= is needed; from= and rw are not supported yet");
                        }
                        _cleanup_free_ char *rel = path_clean_relative(src);
                        _cleanup_close_ int fd = fs_open_in_root(b->o->context_fd, *rel ? rel : ".", O_PATH | O_CLOEXEC, 0);
                        char link[64], host[4096];
                        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                        ssize_t n = fd < 0 ? -1 : readlink(link, host, sizeof(host) - 1);
                        if (n < 0) {
                                json_decref(m);
                                return ferr(b, in, err, -ENOENT, "--mount=type=bind: '%s' is not in the build context", src);
                        }
                        host[n] = '\0';
                        char *v = xasprintf("%s:%s:ro", host, target);
                        strv_push(&run->volumes, v);
                        free(v);
                        json_array_append_new(run->key, json_pack("[s,s,s]", "bind", rel, target));
                } else {
                        json_decref(m);
                        return ferr(b, in, err, -EINVAL, "--mount type '%s': cache, secret, ssh, bind or tmpfs", type);
                }
                json_decref(m);
        }
        return 0;
}

static char **run_env(struct builder *b, struct state *st)
{
        char **env = xcalloc(1, sizeof(char *));
        json_t *e = json_object_get(cfg_config(st), "Env");
        size_t i;
        json_t *v;
        bool path = false;
        json_array_foreach(e, i, v) if (json_string_value(v))
        {
                strv_push(&env, json_string_value(v));
                path |= strncmp(json_string_value(v), "PATH=", 5) == 0;
        }
        const char *k;
        json_object_foreach(st->args, k, v) if (json_is_string(v) && !env_get(st, k))
        {
                char *kv = xasprintf("%s=%s", k, json_string_value(v));
                strv_push(&env, kv);
                free(kv);
        }
        /* the proxy variables need no ARG */
        json_object_foreach(b->bargs, k, v) if (is_predefined_arg(k) && !json_object_get(st->args, k))
        {
                char *kv = xasprintf("%s=%s", k, json_string_value(v));
                strv_push(&env, kv);
                free(kv);
                json_object_set_new(b->used, k, json_true());
        }
        if (!path)
                strv_push(&env, DEFAULT_PATH);
        return env;
}

struct tail {
        int fd, out;
        bool live;     /* a terminal: only the last lines, redrawn in place */
        unsigned drawn; /* lines on screen now */
        char buf[RUN_TAIL];
        size_t n;
};

#define LIVE_LINES 6

static void live_erase(struct tail *t)
{
        if (t->drawn)
                dprintf(t->out, "\033[%uA\033[J", t->drawn);
        t->drawn = 0;
}

/* the last LIVE_LINES lines of the output, each cut to the width of a terminal */
static void live_draw(struct tail *t)
{
        live_erase(t);
        size_t end = t->n, start = end;
        unsigned lines = 0;
        if (end > 0 && t->buf[end - 1] == '\n')
                end--;
        start = end;
        while (start > 0 && lines < LIVE_LINES - 1)
                if (t->buf[--start] == '\n')
                        lines++;
        if (start < end && t->buf[start] == '\n')
                start++;
        struct df_buf o = { 0 };
        for (size_t p = start; p < end;) {
                const char *nl = memchr(t->buf + p, '\n', end - p);
                size_t len = nl ? (size_t) (nl - (t->buf + p)) : end - p;
                df_buf_add(&o, "  | ", 4);
                for (size_t k = 0; k < len && k < 100; k++) {
                        char c = t->buf[p + k];
                        df_buf_add(&o, (c >= 32 && c < 127) || (unsigned char) c >= 128 ? &c : "?", 1);
                }
                df_buf_add(&o, "\n", 1);
                t->drawn++;
                p += len + 1;
        }
        if (o.s)
                fs_write_all(t->out, o.s, o.n);
        free(o.s);
}

static void *tail_thread(void *p)
{
        struct tail *t = p;
        char buf[8192];
        ssize_t n;
        while ((n = read(t->fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
                if (n < 0)
                        continue;
                if (t->out >= 0 && !t->live)
                        fs_write_all(t->out, buf, (size_t) n);
                size_t k = (size_t) n;
                if (k >= RUN_TAIL) {
                        memcpy(t->buf, buf + k - RUN_TAIL, RUN_TAIL);
                        t->n = RUN_TAIL;
                } else {
                        if (t->n + k > RUN_TAIL) {
                                size_t drop = t->n + k - RUN_TAIL;
                                memmove(t->buf, t->buf + drop, t->n - drop);
                                t->n -= drop;
                        }
                        memcpy(t->buf + t->n, buf, k);
                        t->n += k;
                }
                if (t->out >= 0 && t->live)
                        live_draw(t);
        }
        if (t->out >= 0 && t->live)
                live_erase(t);
        return NULL;
}

/* the last lines of the output, for the error: at most 5 */
static char *tail_lines(struct tail *t)
{
        size_t n = t->n;
        while (n > 0 && t->buf[n - 1] == '\n')
                n--;
        size_t start = n, lines = 0;
        while (start > 0 && lines < 5)
                if (t->buf[--start] == '\n')
                        lines++;
        if (t->buf[start] == '\n')
                start++;
        return strndup(t->buf + start, n - start);
}

/* paths the container start may have made as empty mountpoints and that the
 * base did not have: left out of the layer */
static char **mount_stubs(struct builder *b, struct state *st, const char *id)
{
        _cleanup_strv_free_ char **targets = NULL;
        struct err e2 = { 0 };
        char **out = xcalloc(1, sizeof(char *));
        struct view v;
        if (ctr_mount_targets(b->s.root, id, &targets, &e2) < 0 || state_view(b, st, &v, &e2) < 0)
                return out;
        for (size_t i = 0; targets[i]; i++) {
                _cleanup_free_ char *rel = path_clean_relative(targets[i]);
                /* the target and every parent of it that the base lacks */
                for (char *p = rel; *p;) {
                        char *slash = strchr(p, '/');
                        _cleanup_free_ char *prefix = slash ? strndup(rel, (size_t) (slash - rel)) : xstrdup(rel);
                        _cleanup_free_ char *abs = xasprintf("/%s", prefix);
                        struct stat sb;
                        struct err e3 = { 0 };
                        if (view_stat(&v, abs, false, &sb, &e3) < 0) {
                                bool have = false;
                                for (char **o = out; *o; o++)
                                        have |= strcmp(*o, prefix) == 0;
                                if (!have)
                                        strv_push(&out, prefix);
                        }
                        if (!slash)
                                break;
                        p = slash + 1;
                }
        }
        view_close(&v);
        return out;
}

struct run_make {
        struct run *run;
        const char *created_by;
};

static int run_make(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                    struct err *err)
{
        struct run *run = ((struct run_make *) ud)->run;
        char man[DIGEST_STR_MAX];
        int r = state_write(b, st, NULL, man, err);
        if (r < 0)
                return r;
        struct engine_run_opts eo = {
                .root = b->o->root, .runroot = b->o->runroot, .image = man, .network = run->network,
                .volumes = run->volumes, .tmpfs = run->tmpfs, .session = true, .quiet = true,
        };
        _cleanup_free_ char *id = NULL;
        if ((r = ctr_make(&eo, &id, err)) < 0)
                return fail(b, in, err);
        intr_set_ctr(id);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, err);
                return err_sys(err, -errno, "pipe");
        }
        struct tail t = { .fd = p[0], .out = b->o->quiet ? -1 : b->o->progress_fd, .live = b->o->live };
        pthread_t th;
        pthread_create(&th, NULL, tail_thread, &t);
        json_t *cfg = cfg_config(st);
        const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
        const char *user = json_string_value(json_object_get(cfg, "User"));
        struct ctr_cmd c = {
                .argv = run->argv, .env = run->env, .workdir = wd && *wd ? wd : "/",
                .user = user && *user ? user : NULL, .fds = { -1, p[1], p[1] },
        };
        int status = -1;
        r = ctr_exec(b->o->root, b->o->runroot, id, &c, &status, err);
        close(p[1]);
        pthread_join(th, NULL);
        close(p[0]);
        intr_set_ctr(NULL);
        struct err e2 = { 0 };
        if (intr.signal) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                err_clear(err);
                return interrupted(err);
        }
        if (r < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                return fail(b, in, err);
        }
        if (status != 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                _cleanup_free_ char *last = tail_lines(&t);
                return ferr(b, in, err, -ECANCELED, "the command '%.120s' returned a non-zero code: %d%s%s", in->args ? in->args : run->argv[0],
                            status, *last ? "; its last output:\n" : "", last);
        }
        if ((r = ctr_halt(b->o->root, b->o->runroot, id, err)) < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                return fail(b, in, err);
        }
        _cleanup_strv_free_ char **stubs = mount_stubs(b, st, id);
        _cleanup_free_ char *upper = ctr_upper(b->o->root, id);
        struct layer_diff_opts lo = { .epoch = b->o->epoch, .exclude = stubs };
        r = layer_diff_opts(upper, out_fd, &lo, err);
        ctr_remove(b->o->root, b->o->runroot, id, &e2);
        return r < 0 ? fail(b, in, err) : 0;
}

static int do_run(struct builder *b, struct state *st, const struct df_instr *in, bool *ret_cached, struct err *err)
{
        struct run run = { .network = b->o->network ? b->o->network : "none", .key = json_array() };
        run.env = xcalloc(1, sizeof(char *));
        int r = run_mounts(b, st, in, &run, err);
        if (r < 0) {
                run_free(&run);
                return r;
        }
        _cleanup_strv_free_ char **base_env = run_env(b, st);
        for (char **e = base_env; *e; e++)
                strv_push(&run.env, *e);
        json_t *sh = json_object_get(cfg_config(st), "Shell");
        if (in->json) {
                run.argv = strv_copy(in->argv);
        } else {
                _cleanup_free_ char *script = NULL;
                const char *text = in->args;
                if (in->n_heredocs > 0) {
                        /* RUN <<EOF alone runs the heredoc as the script; otherwise the
                         * heredocs stay in the text for the shell to feed */
                        const char *a = in->args + strspn(in->args, " \t");
                        bool alone = in->n_heredocs == 1 && strncmp(a, "<<", 2) == 0 && !strpbrk(a, " \t");
                        if (alone) {
                                script = xstrdup(in->heredocs[0].body);
                        } else {
                                struct df_buf t = { 0 };
                                df_buf_add(&t, in->args, strlen(in->args));
                                df_buf_add(&t, "\n", 1);
                                for (size_t i = 0; i < in->n_heredocs; i++) {
                                        df_buf_add(&t, in->heredocs[i].body, strlen(in->heredocs[i].body));
                                        df_buf_add(&t, in->heredocs[i].name, strlen(in->heredocs[i].name));
                                        df_buf_add(&t, "\n", 1);
                                }
                                script = t.s;
                        }
                        text = script;
                }
                run.argv = xcalloc(1, sizeof(char *));
                if (json_is_array(sh) && json_array_size(sh) > 0) {
                        size_t i;
                        json_t *v;
                        json_array_foreach(sh, i, v) strv_push(&run.argv, json_string_value(v) ?: "");
                } else {
                        strv_push(&run.argv, "/bin/sh");
                        strv_push(&run.argv, "-c");
                }
                strv_push(&run.argv, text);
        }
        struct df_buf cb = { 0 };
        df_buf_add(&cb, "RUN", 3);
        for (char **a = run.argv; *a; a++) {
                df_buf_add(&cb, " ", 1);
                df_buf_add(&cb, *a, strlen(*a));
        }
        df_buf_add(&cb, " # buildkit", 11);
        json_t *cfg = cfg_config(st);
        json_t *ex = json_pack("{s:O,s:o,s:s?,s:s?,s:s}", "mounts", run.key, "env", json_array(), "user",
                               json_string_value(json_object_get(cfg, "User")), "workdir",
                               json_string_value(json_object_get(cfg, "WorkingDir")), "network", run.network);
        for (char **e = run.env; *e; e++)
                json_array_append_new(json_object_get(ex, "env"), json_string(*e));
        _cleanup_free_ char *extra = json_dumps(ex, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(ex);
        struct run_make rm = { &run, cb.s };
        r = layer_step(b, st, in, cb.s, extra, run_make, &rm, ret_cached, err);
        free(cb.s);
        run_free(&run);
        return r;
}

/* ---- COPY, ADD, WORKDIR: layers without a container ---- */

static int stage_build(struct builder *b, size_t idx, struct err *err);

static ssize_t stage_index(struct builder *b, const char *name, size_t before)
{
        for (size_t i = 0; i < before && i < b->plan.n_stages; i++)
                if (b->plan.stages[i].name && strcasecmp(b->plan.stages[i].name, name) == 0)
                        return (ssize_t) i;
        char *end;
        long n = strtol(name, &end, 10);
        if (*name && !*end && n >= 0 && (size_t) n < before)
                return n;
        return -1;
}

static int load_image_state(struct builder *b, const char *ref, struct state *st, struct err *err);

/* the root COPY --from reads: a stage (built first when needed) or an image */
static int from_view(struct builder *b, size_t cur, const char *from, const struct df_instr *in, struct view *v,
                     struct err *err)
{
        ssize_t j = stage_index(b, from, cur);
        if (j < 0) {
                for (size_t i = cur; i < b->plan.n_stages; i++)
                        if (b->plan.stages[i].name && strcasecmp(b->plan.stages[i].name, from) == 0)
                                return ferr(b, in, err, -EINVAL, "--from=%s names this stage or a later one", from);
        }
        if (j >= 0) {
                int r = stage_build(b, (size_t) j, err);
                return r < 0 ? r : state_view(b, &b->st[j], v, err);
        }
        struct state tmp = { 0 };
        int r = load_image_state(b, from, &tmp, err);
        if (r < 0) {
                state_free(&tmp);
                return err_wrap(err, "%s:%u: %s: --from=%s is neither a stage nor an image", b->o->dockerfile_name,
                                in->line, instr_name(in), from);
        }
        r = state_view(b, &tmp, v, err);
        state_free(&tmp);
        return r;
}

static char *join_workdir(struct state *st, const char *p)
{
        if (p[0] == '/')
                return xstrdup(p);
        const char *wd = json_string_value(json_object_get(cfg_config(st), "WorkingDir"));
        if (!wd || !*wd)
                wd = "/";
        size_t n = strlen(p);
        bool dir = n > 0 && p[n - 1] == '/';
        if (strcmp(p, ".") == 0 || strcmp(p, "./") == 0)
                dir = true;
        _cleanup_free_ char *j = xasprintf("%s/%s", wd, p), *c = path_clean_relative(j);
        return xasprintf("/%s%s", c, dir && *c ? "/" : "");
}

static int copy_make(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                     struct err *err)
{
        (void) st;
        int r = build_copy_tar(ud, out_fd, err);
        return r < 0 ? fail(b, in, err) : 0;
}

static int do_copy(struct builder *b, size_t idx, struct state *st, const struct df_instr *in, bool *ret_cached,
                   struct err *err)
{
        bool add = in->kind == DF_ADD;
        const char *from = NULL, *chown = NULL, *chmod = NULL;
        for (size_t i = 0; i < in->n_flags; i++) {
                const struct df_flag *f = &in->flags[i];
                if (strcmp(f->name, "from") == 0 && !add)
                        from = f->value;
                else if (strcmp(f->name, "chown") == 0)
                        chown = f->value;
                else if (strcmp(f->name, "chmod") == 0)
                        chmod = f->value;
                else if (strcmp(f->name, "link") == 0 || (add && strcmp(f->name, "keep-git-dir") == 0))
                        ;
                else
                        return ferr(b, in, err, -EINVAL, "unknown flag --%s (%s takes %s--chown, --chmod, --link)",
                                    f->name, instr_name(in), add ? "" : "--from, ");
                if (!f->value && strcmp(f->name, "link") != 0)
                        return ferr(b, in, err, -EINVAL, "--%s needs a value", f->name);
        }
        _cleanup_strv_free_ char **w = NULL;
        int r = expand_words(b, st, in, &w, err);
        if (r < 0)
                return r;
        size_t n = strv_length(w);
        if (n < 2)
                return ferr(b, in, err, -EINVAL, "requires at least two arguments (source and destination)");
        _cleanup_free_ char *dest = join_workdir(st, w[n - 1]);
        free(w[n - 1]);
        w[n - 1] = NULL;
        struct build_copy c = {
                .context_fd = b->o->context_fd, .ign = b->ign, .srcs = w, .dest = dest, .uid = 0, .gid = 0,
                .chmod = -1, .add = add, .network = b->o->network && strcmp(b->o->network, "none") != 0,
                .epoch = b->o->epoch,
        };
        _cleanup_free_ char *fx = NULL, *ux = NULL, *text = NULL, *cb = NULL, *extra = NULL, *hbody = NULL;
        if (n == 2 && strncmp(w[0], "<<", 2) == 0 && in->n_heredocs > 0) {
                c.heredoc_name = in->heredocs[0].name;
                c.heredoc_body = in->heredocs[0].body;
                if (in->heredocs[0].expand) {
                        if ((r = dockerfile_expand_heredoc(in->heredocs[0].body, b->plan.escape, stage_lookup, st,
                                                           &hbody, err)) < 0)
                                return fail(b, in, err);
                        c.heredoc_body = hbody;
                }
                c.srcs = NULL;
        }
        struct view base = { 0 }, fromv = { 0 };
        bool have_from = false;
        if ((r = state_view(b, st, &base, err)) < 0)
                return fail(b, in, err);
        c.base = &base;
        if (from) {
                if ((r = expand(b, st, in, from, &fx, err)) < 0)
                        goto out;
                if ((r = from_view(b, idx, fx, in, &fromv, err)) < 0)
                        goto out;
                have_from = true;
                c.from = &fromv;
        }
        if (chown) {
                if ((r = expand(b, st, in, chown, &ux, err)) < 0)
                        goto out;
                if ((r = view_resolve_user(&base, ux, &c.uid, &c.gid, err)) < 0) {
                        r = fail(b, in, err);
                        goto out;
                }
                /* a number alone is UID:UID (BuildKit); a name alone gets its primary group */
                if (ux[strspn(ux, "0123456789")] == '\0')
                        c.gid = (gid_t) c.uid;
        }
        if (chmod) {
                char *end;
                long m = strtol(chmod, &end, 8);
                if (*end || m < 0 || m > 07777) {
                        r = ferr(b, in, err, -EINVAL, "--chmod=%s: an octal mode (0755) is needed", chmod);
                        goto out;
                }
                c.chmod = (int) m;
        }
        /* the key: the content and attributes of what would be copied, not their times */
        char kd[DIGEST_STR_MAX];
        if ((r = build_copy_key(&c, kd, err)) < 0) {
                r = fail(b, in, err);
                goto out;
        }
        text = instr_text(in);
        cb = xasprintf("%s # buildkit", text);
        extra = xasprintf("%s %s %s", kd, fx ? fx : "", dest);
        r = layer_step(b, st, in, cb, extra, copy_make, &c, ret_cached, err);
out:
        view_close(&base);
        if (have_from)
                view_close(&fromv);
        return r;
}

/* WORKDIR: the directory made in a layer when the base lacks it */
static int workdir_make(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                        struct err *err)
{
        const char *dir = ud;
        struct view v;
        int r = state_view(b, st, &v, err);
        if (r < 0)
                return fail(b, in, err);
        struct build_copy c = {
                .context_fd = -1, .dest = dir, .base = &v, .chmod = -1, .epoch = b->o->epoch,
                .mkdir_only = true,
        };
        r = build_copy_tar(&c, out_fd, err);
        view_close(&v);
        return r < 0 ? fail(b, in, err) : 0;
}

static int do_workdir(struct builder *b, struct state *st, const struct df_instr *in, bool *ret_cached,
                      struct err *err)
{
        _cleanup_free_ char *x = NULL;
        int r = expand(b, st, in, in->args, &x, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *wd = join_workdir(st, x);
        size_t n = strlen(wd);
        if (n > 1 && wd[n - 1] == '/')
                wd[n - 1] = '\0';
        json_object_set_new(cfg_config(st), "WorkingDir", json_string(wd));
        _cleanup_free_ char *h = xasprintf("WORKDIR %s", wd);
        struct view v;
        struct stat sb;
        struct err e2 = { 0 };
        bool exists = false;
        if (state_view(b, st, &v, &e2) == 0) {
                exists = view_stat(&v, wd, true, &sb, &e2) == 0;
                view_close(&v);
        }
        if (exists) {
                meta_step(b, st, h);
                return 0;
        }
        _cleanup_free_ char *cb = xasprintf("%s # buildkit", h);
        return layer_step(b, st, in, cb, NULL, workdir_make, wd, ret_cached, err);
}

/* ---- one instruction ---- */

static int simple_word(struct builder *b, struct state *st, const struct df_instr *in, const char *key,
                       struct err *err)
{
        _cleanup_free_ char *x = NULL;
        int r = expand(b, st, in, in->args, &x, err);
        if (r < 0)
                return r;
        if (!*x)
                return ferr(b, in, err, -EINVAL, "requires an argument");
        json_object_set_new(cfg_config(st), key, json_string(x));
        _cleanup_free_ char *h = xasprintf("%s %s", instr_name(in), x);
        meta_step(b, st, h);
        return 0;
}

static int run_triggers(struct builder *b, size_t idx, struct state *st, json_t *triggers, struct err *err);

static int step(struct builder *b, size_t idx, struct state *st, const struct df_instr *in, bool *ret_cached,
                struct err *err)
{
        *ret_cached = false;
        if (in->n_flags > 0 && in->kind != DF_RUN && in->kind != DF_COPY && in->kind != DF_ADD &&
            in->kind != DF_HEALTHCHECK && in->kind != DF_FROM)
                return ferr(b, in, err, -EINVAL, "unknown flag --%s", in->flags[0].name);
        json_t *cfg = cfg_config(st);
        switch (in->kind) {
        case DF_RUN:
                return do_run(b, st, in, ret_cached, err);
        case DF_COPY:
        case DF_ADD:
                return do_copy(b, idx, st, in, ret_cached, err);
        case DF_WORKDIR:
                return do_workdir(b, st, in, ret_cached, err);
        case DF_ARG:
                return do_arg(b, st, in, err);
        case DF_ENV:
        case DF_LABEL:
                return do_env_label(b, st, in, err);
        case DF_USER:
                return simple_word(b, st, in, "User", err);
        case DF_STOPSIGNAL:
                return simple_word(b, st, in, "StopSignal", err);
        case DF_EXPOSE:
                return do_expose(b, st, in, err);
        case DF_VOLUME:
                return do_volume(b, st, in, err);
        case DF_HEALTHCHECK:
                return do_healthcheck(b, st, in, err);
        case DF_MAINTAINER: {
                json_object_set_new(st->cfg, "author", json_string(in->args));
                _cleanup_free_ char *h = xasprintf("MAINTAINER %s", in->args);
                meta_step(b, st, h);
                return 0;
        }
        case DF_CMD:
        case DF_ENTRYPOINT: {
                json_t *a = command_form(st, in);
                _cleanup_free_ char *t = json_text(a);
                _cleanup_free_ char *h = xasprintf("%s %s", instr_name(in), t);
                if (in->kind == DF_CMD) {
                        json_object_set_new(cfg, "Cmd", a);
                        st->cmd_set = true;
                } else {
                        json_object_set_new(cfg, "Entrypoint", a);
                        /* an inherited CMD does not survive a new ENTRYPOINT */
                        if (!st->cmd_set)
                                json_object_del(cfg, "Cmd");
                }
                meta_step(b, st, h);
                return 0;
        }
        case DF_SHELL: {
                json_t *a = json_array();
                for (size_t i = 0; in->argv[i]; i++)
                        json_array_append_new(a, json_string(in->argv[i]));
                _cleanup_free_ char *t = json_text(a);
                json_object_set_new(cfg, "Shell", a);
                _cleanup_free_ char *h = xasprintf("SHELL %s", t);
                meta_step(b, st, h);
                return 0;
        }
        case DF_ONBUILD: {
                json_t *ob = json_object_get(cfg, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(cfg, "OnBuild", ob);
                }
                _cleanup_free_ char *t = instr_text(in->sub);
                json_array_append_new(ob, json_string(t));
                _cleanup_free_ char *h = xasprintf("ONBUILD %s", t);
                meta_step(b, st, h);
                return 0;
        }
        case DF_FROM:
        default:
                return ferr(b, in, err, -EINVAL, "not allowed here");
        }
}

/* "[1/2] STEP 3/9: RUN make", held until the step starts work or ends */
static void step_line(struct builder *b, size_t idx, size_t i, size_t n, const struct df_instr *in)
{
        _cleanup_free_ char *t = instr_text(in);
        free(b->pending);
        b->pending = xasprintf("[%zu/%zu] STEP %zu/%zu: %.*s%s", idx + 1, b->stage_total, i, n, 200, t,
                               strlen(t) > 200 ? "..." : "");
}

/* the end of a step: its line (with CACHED) when nothing ran, else how long it took */
static void step_end(struct builder *b, bool cached, double started)
{
        if (b->pending) {
                progress(b, "%s%s\n", b->pending, cached ? " CACHED" : "");
                free(b->pending);
                b->pending = NULL;
        } else {
                progress(b, "--> %.2fs\n", now_s() - started);
        }
}

static int run_triggers(struct builder *b, size_t idx, struct state *st, json_t *triggers, struct err *err)
{
        size_t k;
        json_t *t;
        json_array_foreach(triggers, k, t)
        {
                const char *line = json_string_value(t);
                if (!line)
                        continue;
                _cleanup_free_ char *text = xasprintf("FROM scratch\n%s\n", line);
                struct df_plan p = { 0 };
                int r = dockerfile_parse(text, strlen(text), &p, err);
                if (r < 0)
                        return err_wrap(err, "the base image's ONBUILD trigger '%.80s'", line);
                if (p.n_stages != 1 || p.stages[0].n_instrs != 2) {
                        dockerfile_plan_free(&p);
                        return err_set(err, -EINVAL, "the base image's ONBUILD trigger '%.80s' is not one instruction", line);
                }
                struct df_instr *in = &p.stages[0].instrs[1];
                unsigned saved = in->line;
                in->line = b->plan.stages[idx].line;
                free(b->pending);
                b->pending = xasprintf("[%zu/%zu] ONBUILD %s", idx + 1, b->stage_total, line);
                bool cached;
                double t0 = now_s();
                b->step_cached = false;
                r = step(b, idx, st, in, &cached, err);
                if (r >= 0)
                        step_end(b, cached || b->step_cached, t0);
                in->line = saved;
                dockerfile_plan_free(&p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_image_state(struct builder *b, const char *ref, struct state *st, struct err *err)
{
        char man[DIGEST_STR_MAX];
        struct err e2 = { 0 };
        int r;
        bool have = image_resolve(&b->s, ref, man, &e2) == 0;
        if (!have || b->o->pull) {
                if (!b->o->fetch) {
                        if (!have)
                                return err_set(err, e2.code, "%s", e2.msg);
                } else {
                        store_unlock(&b->s);
                        r = b->o->fetch(b->o->fetch_userdata, ref, err);
                        int r2 = store_lock(&b->s, false, err);
                        if (r < 0 || r2 < 0)
                                return r < 0 ? r : r2;
                        if ((r = image_resolve(&b->s, ref, man, err)) < 0)
                                return r;
                }
        }
        if ((r = state_from_manifest(b, man, st, err)) < 0)
                return err_wrap(err, "image '%s'", ref);
        const char *os = json_string_value(json_object_get(st->cfg, "os"));
        const char *arch = json_string_value(json_object_get(st->cfg, "architecture"));
        const char *variant = json_string_value(json_object_get(st->cfg, "variant"));
        if (os && arch) {
                _cleanup_free_ char *p = variant ? xasprintf("%s/%s/%s", os, arch, variant) : xasprintf("%s/%s", os, arch);
                if (strncmp(b->platform, p, strlen(p)) != 0)
                        return err_set(err, -EINVAL, "image '%s' is for %s, this machine is %s (den does not emulate)", ref,
                                       p, b->platform);
        }
        _cleanup_free_ char *k = xasprintf("FROM %s", man);
        digest_buf(k, strlen(k), st->key);
        return 0;
}

static int stage_from(struct builder *b, size_t idx, struct state *st, struct err *err)
{
        const struct df_stage *sg = &b->plan.stages[idx];
        const struct df_instr *in = &sg->instrs[0];
        if (sg->platform) {
                _cleanup_free_ char *p = NULL;
                int r = dockerfile_expand(sg->platform, b->plan.escape, global_lookup, b, &p, err);
                if (r < 0)
                        return fail(b, in, err);
                if (strcmp(p, b->platform) != 0)
                        return ferr(b, in, err, -EINVAL, "--platform=%s: den builds for this machine only (%s), no emulation",
                                    p, b->platform);
        }
        _cleanup_free_ char *image = NULL;
        int r = dockerfile_expand(sg->image, b->plan.escape, global_lookup, b, &image, err);
        if (r < 0)
                return fail(b, in, err);
        if (!*image)
                return ferr(b, in, err, -EINVAL, "the image name '%s' is empty after expansion", sg->image);
        ssize_t j = stage_index(b, image, idx);
        if (j >= 0 && !isdigit((unsigned char) image[0])) {
                if ((r = stage_build(b, (size_t) j, err)) < 0)
                        return r;
                state_copy(st, &b->st[j]);
                return 0;
        }
        st->args = json_object();
        if (strcmp(image, "scratch") == 0) {
                char arch[64];
                snprintf(arch, sizeof(arch), "%s", strchr(b->platform, '/') + 1);
                if (strchr(arch, '/'))
                        *strchr(arch, '/') = '\0';
                st->cfg = json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:[]},s:[]}", "architecture", arch, "os", "linux",
                                    "config", "Env", DEFAULT_PATH, "rootfs", "type", "layers", "diff_ids", "history");
                st->layers = json_array();
                digest_buf("FROM scratch", 12, st->key);
                return 0;
        }
        if ((r = load_image_state(b, image, st, err)) < 0)
                return fail(b, in, err);
        /* the base's triggers run now, and are not inherited */
        json_t *trig = json_incref(json_object_get(cfg_config(st), "OnBuild"));
        json_object_del(cfg_config(st), "OnBuild");
        if (json_array_size(trig) > 0)
                r = run_triggers(b, idx, st, trig, err);
        json_decref(trig);
        return r;
}

static int stage_build(struct builder *b, size_t idx, struct err *err)
{
        struct state *st = &b->st[idx];
        if (st->built)
                return 0;
        const struct df_stage *sg = &b->plan.stages[idx];
        if (st->building)
                return ferr(b, &sg->instrs[0], err, -ELOOP, "the stage refers to itself");
        st->building = true;
        size_t n = sg->n_instrs;
        double t0 = now_s();
        step_line(b, idx, 1, n, &sg->instrs[0]);
        step_flush(b);
        int r = stage_from(b, idx, st, err);
        for (size_t i = 1; r >= 0 && i < n; i++) {
                const struct df_instr *in = &sg->instrs[i];
                step_line(b, idx, i + 1, n, in);
                double ts = now_s();
                bool cached = false;
                b->step_cached = false;
                if ((r = interrupted(err)) < 0)
                        break;
                r = step(b, idx, st, in, &cached, err);
                if (r >= 0)
                        step_end(b, cached || b->step_cached, ts);
        }
        if (r < 0)
                step_flush(b);
        st->building = false;
        if (r < 0)
                return r;
        st->built = true;
        if (sg->name)
                progress(b, "[%zu/%zu] stage %s done in %.2fs\n", idx + 1, b->stage_total, sg->name, now_s() - t0);
        else
                progress(b, "[%zu/%zu] done in %.2fs\n", idx + 1, b->stage_total, now_s() - t0);
        return 0;
}

/* ---- the build ---- */

static int parse_secrets(struct builder *b, struct err *err)
{
        b->secrets = json_object();
        for (char **s = b->o->secrets; s && *s; s++) {
                json_t *m = mount_opts(*s);
                const char *id = mopt(m, "id", NULL), *src = mopt(m, "src", "source"), *env = mopt(m, "env", NULL);
                if (!id || !*id || (src && env)) {
                        json_decref(m);
                        return err_set(err, -EINVAL, "--secret '%s': id=ID and one of src=FILE or env=VARIABLE", *s);
                }
                char *v;
                if (env)
                        v = xasprintf("env:%s", env);
                else if (src)
                        v = xasprintf("file:%s", src);
                else /* docker's default: the variable of that name when set, else the file */
                        v = getenv(id) ? xasprintf("env:%s", id) : xasprintf("file:%s", id);
                if (strncmp(v, "file:", 5) == 0 && access(v + 5, R_OK) < 0) {
                        int e = -errno;
                        free(v);
                        json_decref(m);
                        return err_sys(err, e, "--secret '%s': cannot read %s", *s, src ? src : id);
                }
                json_object_set_new(b->secrets, id, json_string(v));
                free(v);
                json_decref(m);
        }
        return 0;
}

static int parse_build_args(struct builder *b, struct err *err)
{
        b->bargs = json_object();
        for (char **a = b->o->build_args; a && *a; a++) {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *k = eq ? strndup(*a, (size_t) (eq - *a)) : xstrdup(*a);
                if (!*k)
                        return err_set(err, -EINVAL, "--build-arg '%s': NAME=VALUE or NAME", *a);
                const char *v = eq ? eq + 1 : getenv(k);
                if (v)
                        json_object_set_new(b->bargs, k, json_string(v));
        }
        return 0;
}

static int tag_result(struct builder *b, const char *manifest, struct err *err)
{
        if (!b->o->tags || !*b->o->tags)
                return 0;
        json_t *names = NULL;
        int r = store_lock(&b->s, true, err);
        if (r < 0 || (r = image_names_load(&b->s, &names, err)) < 0)
                return r;
        for (char **t = b->o->tags; *t; t++) {
                _cleanup_free_ char *norm = NULL;
                if ((r = image_ref_normalize(*t, &norm, err)) < 0)
                        break;
                json_object_set_new(names, norm, json_string(manifest));
        }
        if (r >= 0)
                r = image_names_save(&b->s, names, err);
        json_decref(names);
        return r;
}

static void unused_args(struct builder *b)
{
        const char *k;
        json_t *v;
        struct df_buf t = { 0 };
        json_object_foreach(b->bargs, k, v) if (!json_object_get(b->used, k) && !is_predefined_arg(k) &&
                                               !json_object_get(b->global_declared, k))
        {
                if (t.n)
                        df_buf_add(&t, " ", 1);
                df_buf_add(&t, k, strlen(k));
        }
        if (t.n && b->o->progress_fd >= 0)
                dprintf(b->o->progress_fd, "den build: warning: build args not consumed by any ARG: %s\n", t.s);
        free(t.s);
}

int build_run(const struct build_opts *o, char ret_id[DIGEST_STR_MAX], char ret_manifest[DIGEST_STR_MAX],
              struct err *err)
{
        struct builder b = { .o = o, .cache_fd = -1, .s = { .root_fd = -1, .lock_fd = -1 } };
        _cleanup_free_ char *cdir = NULL;
        registry_host_platform(b.platform, sizeof(b.platform));
        if (o->platform && strcmp(o->platform, b.platform) != 0)
                return err_set(err, -EINVAL, "--platform %s: den builds for this machine only (%s), it does not emulate",
                               o->platform, b.platform);
        int r = dockerfile_parse(o->dockerfile, o->dockerfile_len, &b.plan, err);
        if (r < 0)
                return err_wrap(err, "%s", o->dockerfile_name), r;
        if (b.plan.syntax && o->progress_fd >= 0 && !o->quiet)
                dprintf(o->progress_fd, "den build: '# syntax=%s' is ignored: den reads the Dockerfile itself\n",
                        b.plan.syntax);
        b.used = json_object();
        b.global = json_object();
        b.global_declared = json_object();
        size_t t = b.plan.n_stages - 1;
        if (b.plan.n_stages == 0) {
                r = err_set(err, -EINVAL, "%s: no FROM: a Dockerfile needs at least one stage", o->dockerfile_name);
                goto out;
        }
        if (o->target) {
                ssize_t j = -1;
                for (size_t i = 0; i < b.plan.n_stages; i++)
                        if (b.plan.stages[i].name && strcasecmp(b.plan.stages[i].name, o->target) == 0)
                                j = (ssize_t) i;
                if (j < 0) {
                        r = err_set(err, -ENOENT, "--target %s: no stage of that name in %s", o->target, o->dockerfile_name);
                        goto out;
                }
                t = (size_t) j;
        }
        if ((r = parse_build_args(&b, err)) < 0 || (r = parse_secrets(&b, err)) < 0 ||
            (r = store_open(o->root, &b.s, err)) < 0 || (r = store_lock(&b.s, false, err)) < 0)
                goto out;
        cdir = xasprintf("%s/build-cache", o->root);
        if (mkdir(cdir, 0700) < 0 && errno != EEXIST) {
                r = err_sys(err, -errno, "cannot make %s", cdir);
                goto out;
        }
        b.cache_fd = open(cdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if ((r = ignore_load(o->context_fd, o->dockerfile_dir_fd >= 0 ? o->dockerfile_dir_fd : o->context_fd,
                             o->dockerfile_name, &b.ign, err)) < 0)
                goto out;
        /* the ARGs before the first FROM: for FROM lines, and for a stage's ARG NAME */
        platform_args(&b, b.global);
        struct state gst = { .cfg = json_pack("{s:{}}", "config"), .args = json_incref(b.global) };
        for (size_t i = 0; r >= 0 && i < b.plan.n_global_args; i++) {
                r = do_arg(&b, &gst, &b.plan.global_args[i], err);
                const char *k;
                json_t *v;
                json_object_foreach(gst.args, k, v) json_object_set_new(b.global_declared, k, json_true());
        }
        state_free(&gst);
        if (r < 0)
                goto out;
        b.st = xcalloc(b.plan.n_stages, sizeof(*b.st));
        b.stage_total = b.plan.n_stages;
        /* signals go to one thread, which stops the RUN going on; the steps end cleanly */
        static sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigset_t old_mask;
        pthread_sigmask(SIG_BLOCK, &mask, &old_mask);
        intr.root = o->root;
        intr.runroot = o->runroot;
        intr.done = false;
        pthread_t ith;
        bool ith_ok = pthread_create(&ith, NULL, intr_thread, &mask) == 0;
        r = stage_build(&b, t, err);
        pthread_mutex_lock(&intr.lock);
        intr.done = true;
        pthread_mutex_unlock(&intr.lock);
        if (ith_ok) {
                pthread_kill(ith, SIGTERM); /* sigwait takes it: the thread ends */
                pthread_join(ith, NULL);
        }
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        if (r < 0)
                goto out;
        struct state *st = &b.st[t];
        if (o->labels && *o->labels) {
                json_t *labels = json_object_get(cfg_config(st), "Labels");
                if (!json_is_object(labels)) {
                        labels = json_object();
                        json_object_set_new(cfg_config(st), "Labels", labels);
                }
                for (char **l = o->labels; *l; l++) {
                        const char *eq = strchr(*l, '=');
                        _cleanup_free_ char *k = eq ? strndup(*l, (size_t) (eq - *l)) : xstrdup(*l);
                        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
                }
        }
        char cd[DIGEST_STR_MAX], md[DIGEST_STR_MAX];
        if ((r = state_write(&b, st, cd, md, err)) < 0 || (r = tag_result(&b, md, err)) < 0)
                goto out;
        memcpy(ret_id, cd, DIGEST_STR_MAX);
        memcpy(ret_manifest, md, DIGEST_STR_MAX);
        unused_args(&b);
out:
        if (b.st)
                for (size_t i = 0; i < b.plan.n_stages; i++)
                        state_free(&b.st[i]);
        free(b.st);
        if (b.tmpdir) {
                fs_rm_rf(b.tmpdir);
                free(b.tmpdir);
        }
        if (b.cache_fd >= 0)
                close(b.cache_fd);
        if (b.ign)
                ignore_free(b.ign);
        json_decref(b.bargs);
        json_decref(b.used);
        json_decref(b.global);
        json_decref(b.global_declared);
        json_decref(b.secrets);
        if (b.s.root)
                store_close(&b.s);
        dockerfile_plan_free(&b.plan);
        free(b.pending);
        return r;
}

int build_cache_prune(const char *root, uint64_t *ret_count, struct err *err)
{
        struct store s;
        int r = store_open(root, &s, err);
        if (r < 0)
                return r;
        if ((r = store_lock(&s, true, err)) < 0) {
                store_close(&s);
                return r;
        }
        uint64_t n = 0;
        _cleanup_close_ int dfd = openat(s.root_fd, "build-cache", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0) {
                DIR *d = fdopendir(dup(dfd));
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (strlen(de->d_name) == 64 && unlinkat(dfd, de->d_name, 0) == 0)
                                n++;
                if (d)
                        closedir(d);
                struct stat sb;
                if (fstatat(dfd, "mounts", &sb, AT_SYMLINK_NOFOLLOW) == 0)
                        r = layer_remove_tree(&s, "build-cache/mounts", err);
        }
        store_close(&s);
        *ret_count = n;
        return r;
}
