/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RUN: its mounts, secrets and environment, the container it runs in (ctr.h),
 * its output, and its upper directory as the layer. */
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
json_t *build_mount_opts(const char *spec)
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

const char *build_mopt(json_t *m, const char *k1, const char *k2)
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
                                return build_ferr(b, in, err, -EINVAL, "--network=%s: none, host or default", f->value ? f->value : "");
                        if (strcmp(f->value, "default") != 0)
                                run->network = f->value;
                        continue;
                }
                if (strcmp(f->name, "security") == 0)
                        return build_ferr(b, in, err, -EPERM, "--security=%s is not allowed: RUN stays confined",
                                    f->value ? f->value : "");
                if (strcmp(f->name, "mount") != 0)
                        return build_ferr(b, in, err, -EINVAL, "unknown flag --%s (RUN takes --mount, --network)", f->name);
                if (!f->value)
                        return build_ferr(b, in, err, -EINVAL, "--mount needs a value (type=cache,target=/root/.cache)");
                _cleanup_free_ char *ex = NULL;
                if (build_expand(b, st, in, f->value, &ex, err) < 0)
                        return -EINVAL;
                json_t *m = build_mount_opts(ex);
                const char *type = build_mopt(m, "type", NULL) ?: "bind";
                const char *target = build_mopt(m, "target", "dst") ?: build_mopt(m, "destination", NULL);
                const char *id = build_mopt(m, "id", NULL);
                int r = 0;
                if (strcmp(type, "secret") == 0 || strcmp(type, "ssh") == 0) {
                        bool ssh = type[1] == 's';
                        if (!id)
                                id = ssh ? "default" : target ? strrchr(target, '/') + 1 : NULL;
                        if (!id || !*id) {
                                json_decref(m);
                                return build_ferr(b, in, err, -EINVAL, "--mount=type=secret needs id= or target=");
                        }
                        _cleanup_free_ char *path = NULL, *tgt = NULL;
                        if (ssh) {
                                const char *sock = b->o->ssh;
                                if (!sock) {
                                        bool req = !build_mopt(m, "required", NULL) || strcmp(build_mopt(m, "required", NULL), "false");
                                        json_decref(m);
                                        if (!req)
                                                continue;
                                        return build_ferr(b, in, err, -ENOENT, "--mount=type=ssh: no --ssh given to den build");
                                }
                                path = xstrdup(sock);
                                tgt = xstrdup(target ? target : "/run/buildkit/ssh_agent.0");
                                char *e = xasprintf("SSH_AUTH_SOCK=%s", tgt);
                                strv_push(&run->env, e);
                                free(e);
                        } else {
                                r = secret_file(b, id, build_mopt(m, "mode", NULL), build_mopt(m, "uid", NULL), build_mopt(m, "gid", NULL), &path, err);
                                if (r == -ENOENT && !err->code) {
                                        bool req = build_mopt(m, "required", NULL) && strcmp(build_mopt(m, "required", NULL), "false");
                                        json_decref(m);
                                        if (!req)
                                                continue;
                                        return build_ferr(b, in, err, -ENOENT, "secret '%s' was not given (--secret id=%s,src=FILE)", id, id);
                                }
                                if (r < 0) {
                                        json_decref(m);
                                        return build_fail(b, in, err);
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
                                return build_ferr(b, in, err, -EINVAL, "--mount=type=cache needs target=");
                        }
                        char h[DIGEST_STR_MAX];
                        const char *cid = id ? id : target;
                        digest_buf(cid, strlen(cid), h);
                        _cleanup_free_ char *dir = xasprintf("%s/build-cache/mounts/%s", b->s.root, digest_hex(h));
                        if (fs_mkdir_p(dir, 0755) < 0) {
                                json_decref(m);
                                return build_ferr(b, in, err, -errno, "cannot make the cache directory %s", dir);
                        }
                        char *v = xasprintf("%s:%s", dir, target);
                        strv_push(&run->volumes, v);
                        free(v);
                        json_array_append_new(run->key, json_pack("[s,s]", "cache", target));
                } else if (strcmp(type, "tmpfs") == 0) {
                        if (!target) {
                                json_decref(m);
                                return build_ferr(b, in, err, -EINVAL, "--mount=type=tmpfs needs target=");
                        }
                        strv_push(&run->tmpfs, target);
                        json_array_append_new(run->key, json_pack("[s,s]", "tmpfs", target));
                } else if (strcmp(type, "bind") == 0) {
                        const char *src = build_mopt(m, "source", "src") ?: ".";
                        if (!target || build_mopt(m, "from", NULL) || build_mopt(m, "rw", "readwrite")) {
                                json_decref(m);
                                return build_ferr(b, in, err, -EOPNOTSUPP,
                                            "--mount=type=bind: target= is needed; from= and rw are not supported yet");
                        }
                        _cleanup_free_ char *rel = path_clean_relative(src);
                        _cleanup_close_ int fd = fs_open_in_root(b->o->context_fd, *rel ? rel : ".", O_PATH | O_CLOEXEC, 0);
                        char link[64], host[4096];
                        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                        ssize_t n = fd < 0 ? -1 : readlink(link, host, sizeof(host) - 1);
                        if (n < 0) {
                                json_decref(m);
                                return build_ferr(b, in, err, -ENOENT, "--mount=type=bind: '%s' is not in the build context", src);
                        }
                        host[n] = '\0';
                        char *v = xasprintf("%s:%s:ro", host, target);
                        strv_push(&run->volumes, v);
                        free(v);
                        json_array_append_new(run->key, json_pack("[s,s,s]", "bind", rel, target));
                } else {
                        json_decref(m);
                        return build_ferr(b, in, err, -EINVAL, "--mount type '%s': cache, secret, ssh, bind or tmpfs", type);
                }
                json_decref(m);
        }
        return 0;
}

static char **run_env(struct builder *b, struct state *st)
{
        char **env = xcalloc(1, sizeof(char *));
        json_t *e = json_object_get(build_cfg_config(st), "Env");
        size_t i;
        json_t *v;
        bool path = false;
        json_array_foreach(e, i, v) if (json_string_value(v))
        {
                strv_push(&env, json_string_value(v));
                path |= strncmp(json_string_value(v), "PATH=", 5) == 0;
        }
        const char *k;
        json_object_foreach(st->args, k, v) if (json_is_string(v) && !build_env_get(st, k))
        {
                char *kv = xasprintf("%s=%s", k, json_string_value(v));
                strv_push(&env, kv);
                free(kv);
        }
        /* the proxy variables need no ARG */
        json_object_foreach(b->bargs, k, v) if (build_is_predefined_arg(k) && !json_object_get(st->args, k))
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
        if (ctr_mount_targets(b->s.root, id, &targets, &e2) < 0 || build_state_view(b, st, &v, &e2) < 0)
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
        int r = build_state_write(b, st, NULL, man, err);
        if (r < 0)
                return r;
        struct engine_run_opts eo = {
                .root = b->o->root, .runroot = b->o->runroot, .image = man, .network = run->network,
                .volumes = run->volumes, .tmpfs = run->tmpfs, .session = true, .quiet = true,
        };
        _cleanup_free_ char *id = NULL;
        if ((r = ctr_make(&eo, &id, err)) < 0)
                return build_fail(b, in, err);
        build_intr_set_ctr(id);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, err);
                return err_sys(err, -errno, "pipe");
        }
        struct tail t = { .fd = p[0], .out = b->o->quiet ? -1 : b->o->progress_fd, .live = b->o->live };
        pthread_t th;
        pthread_create(&th, NULL, tail_thread, &t);
        json_t *cfg = build_cfg_config(st);
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
        build_intr_set_ctr(NULL);
        struct err e2 = { 0 };
        if (build_interrupted(NULL) < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                err_clear(err);
                return build_interrupted(err);
        }
        if (r < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                return build_fail(b, in, err);
        }
        if (status != 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                _cleanup_free_ char *last = tail_lines(&t);
                return build_ferr(b, in, err, -ECANCELED, "the command '%.120s' returned a non-zero code: %d%s%s", in->args ? in->args : run->argv[0],
                            status, *last ? "; its last output:\n" : "", last);
        }
        if ((r = ctr_halt(b->o->root, b->o->runroot, id, err)) < 0) {
                ctr_remove(b->o->root, b->o->runroot, id, &e2);
                return build_fail(b, in, err);
        }
        _cleanup_strv_free_ char **stubs = mount_stubs(b, st, id);
        _cleanup_free_ char *upper = ctr_upper(b->o->root, id);
        struct layer_diff_opts lo = { .epoch = b->o->epoch, .exclude = stubs };
        r = layer_diff_opts(upper, out_fd, &lo, err);
        ctr_remove(b->o->root, b->o->runroot, id, &e2);
        return r < 0 ? build_fail(b, in, err) : 0;
}

int build_do_run(struct builder *b, struct state *st, const struct df_instr *in, bool *ret_cached, struct err *err)
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
        json_t *sh = json_object_get(build_cfg_config(st), "Shell");
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
        json_t *cfg = build_cfg_config(st);
        json_t *ex = json_pack("{s:O,s:o,s:s?,s:s?,s:s}", "mounts", run.key, "env", json_array(), "user",
                               json_string_value(json_object_get(cfg, "User")), "workdir",
                               json_string_value(json_object_get(cfg, "WorkingDir")), "network", run.network);
        for (char **e = run.env; *e; e++)
                json_array_append_new(json_object_get(ex, "env"), json_string(*e));
        _cleanup_free_ char *extra = json_dumps(ex, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(ex);
        struct run_make rm = { &run, cb.s };
        r = build_layer_step(b, st, in, cb.s, extra, run_make, &rm, ret_cached, err);
        free(cb.s);
        run_free(&run);
        return r;
}

