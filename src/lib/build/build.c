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

#include "build_internal.h"
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

void build_intr_set_ctr(const char *id)
{
        pthread_mutex_lock(&intr.lock);
        free(intr.ctr);
        intr.ctr = id ? xstrdup(id) : NULL;
        pthread_mutex_unlock(&intr.lock);
}

int build_interrupted(struct err *err)
{
        return intr.signal ? err_set(err, -EINTR, "the build was build_interrupted (%s); nothing was named", strsignal(intr.signal)) : 0;
}

/* ---- the state ---- */

json_t *build_cfg_config(struct state *st)
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

void build_state_free(struct state *st)
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

void build_chain(struct state *st, const char *what, const char *extra)
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


const char *build_env_get(struct state *st, const char *name)
{
        json_t *e = json_object_get(build_cfg_config(st), "Env");
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

void build_env_set(struct state *st, const char *name, const char *value)
{
        json_t *c = build_cfg_config(st), *e = json_object_get(c, "Env");
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
const char *build_stage_lookup(const char *name, void *ud)
{
        struct state *st = ud;
        const char *v = build_env_get(st, name);
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

const char *build_instr_name(const struct df_instr *in)
{
        return df_kind_name(in->kind);
}

int build_fail(struct builder *b, const struct df_instr *in, struct err *err)
{
        return err_wrap(err, "%s:%u: %s", b->o->dockerfile_name, in->line, build_instr_name(in));
}

int build_ferr(struct builder *b, const struct df_instr *in, struct err *err, int code, const char *fmt, ...)
{
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(err, code, "%s:%u: %s: %s", b->o->dockerfile_name, in->line, build_instr_name(in), msg);
}

int build_expand(struct builder *b, struct state *st, const struct df_instr *in, const char *w, char **ret,
                  struct err *err)
{
        int r = dockerfile_expand(w, b->plan.escape, build_stage_lookup, st, ret, err);
        return r < 0 ? build_fail(b, in, err) : r;
}

int build_expand_words(struct builder *b, struct state *st, const struct df_instr *in, char ***ret,
                        struct err *err)
{
        if (in->json) {
                /* the JSON form of COPY, ADD, VOLUME: each element expanded, no splitting */
                char **v = xcalloc(strv_length(in->argv) + 1, sizeof(char *));
                for (size_t i = 0; in->argv[i]; i++)
                        if (build_expand(b, st, in, in->argv[i], &v[i], err) < 0) {
                                strv_freep(&v);
                                return -EINVAL;
                        }
                *ret = v;
                return 0;
        }
        int r = dockerfile_expand_words(in->args, b->plan.escape, build_stage_lookup, st, ret, err);
        return r < 0 ? build_fail(b, in, err) : r;
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

int build_state_view(struct builder *b, struct state *st, struct view *v, struct err *err)
{
        _cleanup_strv_free_ char **d = state_diff_ids(st);
        return view_open(&b->s, d, strv_length(d), v, err);
}

/* the state as a config and a manifest in the store; ret: the manifest digest */
int build_state_write(struct builder *b, struct state *st, char ret_config[DIGEST_STR_MAX],
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
void build_meta_step(struct builder *b, struct state *st, const char *created_by)
{
        build_chain(st, created_by, NULL);
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

static int tmpfile_in_store(struct builder *b, struct err *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/tmp", b->s.root);
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_sys(err, -errno, "cannot create a file in %s", dir);
        return fd;
}

int build_layer_step(struct builder *b, struct state *st, const struct df_instr *in, const char *created_by,
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

/* ---- one instruction ---- */

static int simple_word(struct builder *b, struct state *st, const struct df_instr *in, const char *key,
                       struct err *err)
{
        _cleanup_free_ char *x = NULL;
        int r = build_expand(b, st, in, in->args, &x, err);
        if (r < 0)
                return r;
        if (!*x)
                return build_ferr(b, in, err, -EINVAL, "requires an argument");
        json_object_set_new(build_cfg_config(st), key, json_string(x));
        _cleanup_free_ char *h = xasprintf("%s %s", build_instr_name(in), x);
        build_meta_step(b, st, h);
        return 0;
}

static int run_triggers(struct builder *b, size_t idx, struct state *st, json_t *triggers, struct err *err);

static int step(struct builder *b, size_t idx, struct state *st, const struct df_instr *in, bool *ret_cached,
                struct err *err)
{
        *ret_cached = false;
        if (in->n_flags > 0 && in->kind != DF_RUN && in->kind != DF_COPY && in->kind != DF_ADD &&
            in->kind != DF_HEALTHCHECK && in->kind != DF_FROM)
                return build_ferr(b, in, err, -EINVAL, "unknown flag --%s", in->flags[0].name);
        json_t *cfg = build_cfg_config(st);
        switch (in->kind) {
        case DF_RUN:
                return build_do_run(b, st, in, ret_cached, err);
        case DF_COPY:
        case DF_ADD:
                return build_do_copy(b, idx, st, in, ret_cached, err);
        case DF_WORKDIR:
                return build_do_workdir(b, st, in, ret_cached, err);
        case DF_ARG:
                return build_do_arg(b, st, in, err);
        case DF_ENV:
        case DF_LABEL:
                return build_do_env_label(b, st, in, err);
        case DF_USER:
                return simple_word(b, st, in, "User", err);
        case DF_STOPSIGNAL:
                return simple_word(b, st, in, "StopSignal", err);
        case DF_EXPOSE:
                return build_do_expose(b, st, in, err);
        case DF_VOLUME:
                return build_do_volume(b, st, in, err);
        case DF_HEALTHCHECK:
                return build_do_healthcheck(b, st, in, err);
        case DF_MAINTAINER: {
                json_object_set_new(st->cfg, "author", json_string(in->args));
                _cleanup_free_ char *h = xasprintf("MAINTAINER %s", in->args);
                build_meta_step(b, st, h);
                return 0;
        }
        case DF_CMD:
        case DF_ENTRYPOINT: {
                json_t *a = build_command_form(st, in);
                _cleanup_free_ char *t = build_json_text(a);
                _cleanup_free_ char *h = xasprintf("%s %s", build_instr_name(in), t);
                if (in->kind == DF_CMD) {
                        json_object_set_new(cfg, "Cmd", a);
                        st->cmd_set = true;
                } else {
                        json_object_set_new(cfg, "Entrypoint", a);
                        /* an inherited CMD does not survive a new ENTRYPOINT */
                        if (!st->cmd_set)
                                json_object_del(cfg, "Cmd");
                }
                build_meta_step(b, st, h);
                return 0;
        }
        case DF_SHELL: {
                json_t *a = json_array();
                for (size_t i = 0; in->argv[i]; i++)
                        json_array_append_new(a, json_string(in->argv[i]));
                _cleanup_free_ char *t = build_json_text(a);
                json_object_set_new(cfg, "Shell", a);
                _cleanup_free_ char *h = xasprintf("SHELL %s", t);
                build_meta_step(b, st, h);
                return 0;
        }
        case DF_ONBUILD: {
                json_t *ob = json_object_get(cfg, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(cfg, "OnBuild", ob);
                }
                _cleanup_free_ char *t = build_instr_text(in->sub);
                json_array_append_new(ob, json_string(t));
                _cleanup_free_ char *h = xasprintf("ONBUILD %s", t);
                build_meta_step(b, st, h);
                return 0;
        }
        case DF_FROM:
        default:
                return build_ferr(b, in, err, -EINVAL, "not allowed here");
        }
}

/* "[1/2] STEP 3/9: RUN make", held until the step starts work or ends */
static void step_line(struct builder *b, size_t idx, size_t i, size_t n, const struct df_instr *in)
{
        _cleanup_free_ char *t = build_instr_text(in);
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

int build_load_image_state(struct builder *b, const char *ref, struct state *st, struct err *err)
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
                        return build_fail(b, in, err);
                if (strcmp(p, b->platform) != 0)
                        return build_ferr(b, in, err, -EINVAL, "--platform=%s: den builds for this machine only (%s), no emulation",
                                    p, b->platform);
        }
        _cleanup_free_ char *image = NULL;
        int r = dockerfile_expand(sg->image, b->plan.escape, global_lookup, b, &image, err);
        if (r < 0)
                return build_fail(b, in, err);
        if (!*image)
                return build_ferr(b, in, err, -EINVAL, "the image name '%s' is empty after expansion", sg->image);
        ssize_t j = build_stage_index(b, image, idx);
        if (j >= 0 && !isdigit((unsigned char) image[0])) {
                if ((r = build_stage_build(b, (size_t) j, err)) < 0)
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
        if ((r = build_load_image_state(b, image, st, err)) < 0)
                return build_fail(b, in, err);
        /* the base's triggers run now, and are not inherited */
        json_t *trig = json_incref(json_object_get(build_cfg_config(st), "OnBuild"));
        json_object_del(build_cfg_config(st), "OnBuild");
        if (json_array_size(trig) > 0)
                r = run_triggers(b, idx, st, trig, err);
        json_decref(trig);
        return r;
}

int build_stage_build(struct builder *b, size_t idx, struct err *err)
{
        struct state *st = &b->st[idx];
        if (st->built)
                return 0;
        const struct df_stage *sg = &b->plan.stages[idx];
        if (st->building)
                return build_ferr(b, &sg->instrs[0], err, -ELOOP, "the stage refers to itself");
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
                if ((r = build_interrupted(err)) < 0)
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
                json_t *m = build_mount_opts(*s);
                const char *id = build_mopt(m, "id", NULL), *src = build_mopt(m, "src", "source"), *env = build_mopt(m, "env", NULL);
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
        json_object_foreach(b->bargs, k, v) if (!json_object_get(b->used, k) && !build_is_predefined_arg(k) &&
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
        build_platform_args(&b, b.global);
        struct state gst = { .cfg = json_pack("{s:{}}", "config"), .args = json_incref(b.global) };
        for (size_t i = 0; r >= 0 && i < b.plan.n_global_args; i++) {
                r = build_do_arg(&b, &gst, &b.plan.global_args[i], err);
                const char *k;
                json_t *v;
                json_object_foreach(gst.args, k, v) json_object_set_new(b.global_declared, k, json_true());
        }
        build_state_free(&gst);
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
        r = build_stage_build(&b, t, err);
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
                json_t *labels = json_object_get(build_cfg_config(st), "Labels");
                if (!json_is_object(labels)) {
                        labels = json_object();
                        json_object_set_new(build_cfg_config(st), "Labels", labels);
                }
                for (char **l = o->labels; *l; l++) {
                        const char *eq = strchr(*l, '=');
                        _cleanup_free_ char *k = eq ? strndup(*l, (size_t) (eq - *l)) : xstrdup(*l);
                        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
                }
        }
        char cd[DIGEST_STR_MAX], md[DIGEST_STR_MAX];
        if ((r = build_state_write(&b, st, cd, md, err)) < 0 || (r = tag_result(&b, md, err)) < 0)
                goto out;
        memcpy(ret_id, cd, DIGEST_STR_MAX);
        memcpy(ret_manifest, md, DIGEST_STR_MAX);
        unused_args(&b);
out:
        if (b.st)
                for (size_t i = 0; i < b.plan.n_stages; i++)
                        build_state_free(&b.st[i]);
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

