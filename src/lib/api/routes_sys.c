/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: build, events, system df, volumes, networks. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/build/build.h"
#include "lib/build/dockerfile.h"
#include "lib/registry/registry.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/events.h"
#include "lib/runtime/volume.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"
#include "lib/store/unpack.h"

/* ---- POST /build: docker's classic builder (DOCKER_BUILDKIT=0) on den's ---- */

struct build_job {
        char *root, *runroot, *ctxdir, *df, *dfname;
        size_t dflen;
        char **tags, **args, **labels;
        char *target, *network, *platform;
        bool nocache, pull, quiet;
        /* the build's thread and its result */
        int progress[2];
        char id[DIGEST_STR_MAX], man[DIGEST_STR_MAX];
        struct err err;
        int r;
        bool done;              /* __atomic */
};

static void build_job_free(struct build_job *j)
{
        if (j->ctxdir)
                fs_rm_rf(j->ctxdir);
        free(j->root), free(j->runroot), free(j->ctxdir), free(j->df), free(j->dfname);
        strv_freep(&j->tags), strv_freep(&j->args), strv_freep(&j->labels);
        free(j->target), free(j->network), free(j->platform);
        free(j);
}

static int build_fetch(void *ud, const char *ref, struct err *err)
{
        return registry_pull_root(((struct build_job *) ud)->root, ref, err);
}

static void *build_thread(void *p)
{
        struct build_job *j = p;
        _cleanup_close_ int ctx = open(j->ctxdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        struct build_opts o = { .root = j->root, .runroot = j->runroot, .context_fd = ctx, .dockerfile = j->df,
                                .dockerfile_len = j->dflen, .dockerfile_name = j->dfname, .dockerfile_dir_fd = -1,
                                .tags = j->tags, .build_args = j->args, .labels = j->labels, .target = j->target,
                                .network = j->network, .platform = j->platform, .no_cache = j->nocache,
                                .pull = j->pull, .quiet = j->quiet, .epoch = -1, .progress_fd = j->progress[1],
                                .fetch = build_fetch, .fetch_userdata = j };
        /* the builder makes containers and layers: the store is ours meanwhile */
        api_serial(true);
        j->r = build_run(&o, j->id, j->man, &j->err);
        api_serial(false);
        __atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
        close(j->progress[1]);
        j->progress[1] = -1;
        return NULL;
}

/* a JSON string of s; not UTF-8 (a RUN's output, a command in an error may be anything): its
 * other bytes as '?' */
static json_t *text_json(const char *s)
{
        json_t *v = json_string(s);
        if (v)
                return v;
        _cleanup_free_ char *t = xstrdup(s);
        for (char *c = t; *c; c++)
                if ((unsigned char) *c >= 0x80)
                        *c = '?';
        return json_string(t);
}

static int stream_text(int fd, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int stream_text(int fd, const char *key, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        json_t *j = json_pack("{s:o}", key, text_json(s));
        free(s);
        int r = api_stream_json(fd, j);
        json_decref(j);
        return r;
}

/* one line of den's progress as docker's: "[1/2] STEP 3/9: RUN make" -> "Step 3/9 : RUN make",
 * den's timings left out, the rest (a RUN's output) as it is */
static int build_line(int fd, const char *line)
{
        unsigned a, b, i, n;
        int off = 0;
        if (sscanf(line, "[%u/%u] STEP %u/%u: %n", &a, &b, &i, &n, &off) == 4 && off > 0) {
                size_t l = strlen(line + off);
                bool cached = l >= 7 && strcmp(line + off + l - 7, " CACHED") == 0;
                int r = stream_text(fd, "stream", "Step %u/%u : %.*s\n", i, n, (int) (cached ? l - 7 : l), line + off);
                return r < 0 || !cached ? r : stream_text(fd, "stream", " ---> Using cache\n");
        }
        if (strncmp(line, "--> ", 4) == 0 || (line[0] == '[' && strstr(line, "] done in ")) ||
            (line[0] == '[' && strstr(line, " done in ") && strstr(line, "] stage ")))
                return 0;
        return stream_text(fd, "stream", "%s\n", line);
}

/* the progress of the build, line by line, until the build is done */
static int build_pump(struct build_job *j, int fd)
{
        char buf[8192];
        size_t have = 0;
        int r = 0;
        for (;;) {
                struct pollfd p = { j->progress[0], POLLIN, 0 };
                int k = poll(&p, 1, 100);
                ssize_t n = 0;
                if (k > 0)
                        n = read(j->progress[0], buf + have, sizeof(buf) - 1 - have);
                if (k > 0 && n <= 0 && !(n < 0 && errno == EINTR))
                        break; /* every writer is gone */
                if (k == 0 && __atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
                        break; /* a process the builder started may hold the pipe: done is done */
                if (n > 0)
                        have += (size_t) n;
                buf[have] = '\0';
                char *s = buf, *nl;
                for (; (nl = strchr(s, '\n')); s = nl + 1) {
                        *nl = '\0';
                        if (r >= 0)
                                r = build_line(fd, s);
                }
                have -= (size_t) (s - buf);
                memmove(buf, s, have);
                if (have == sizeof(buf) - 1) {
                        /* a line longer than buf: what there is of it */
                        buf[have] = '\0';
                        if (r >= 0)
                                r = build_line(fd, buf);
                        have = 0;
                }
        }
        if (have && r >= 0) {
                buf[have] = '\0';
                r = build_line(fd, buf);
        }
        return r;
}

static void build_stream(void *arg, int fd)
{
        struct build_job *j = arg;
        pthread_t t;
        int r = pthread_create(&t, NULL, build_thread, j);
        if (r != 0) {
                err_set(&j->err, -r, "cannot start a thread: %s", strerror(r));
                j->r = -r;
                close(j->progress[1]);
                j->progress[1] = -1;
        } else {
                /* a client gone does not end the build: its result is kept all the same */
                build_pump(j, fd);
                pthread_join(t, NULL);
        }
        close(j->progress[0]);
        if (j->r < 0) {
                json_t *e = json_pack("{s:{s:o},s:o}", "errorDetail", "message", text_json(j->err.msg), "error",
                                      text_json(j->err.msg));
                api_stream_json(fd, e);
                json_decref(e);
        } else {
                json_t *aux = json_pack("{s:{s:s}}", "aux", "ID", j->id);
                api_stream_json(fd, aux);
                json_decref(aux);
                if (j->quiet)
                        stream_text(fd, "stream", "%s\n", j->id);
                else {
                        stream_text(fd, "stream", "Successfully built %.12s\n", j->id + 7);
                        for (char **tg = j->tags; *tg; tg++) {
                                _cleanup_free_ char *norm = NULL;
                                struct err e = { 0 };
                                /* the builder names the image itself: its tags logged here, as docker's are */
                                if (image_ref_normalize(*tg, &norm, &e) >= 0)
                                        events_img(j->root, "tag", j->man, norm);
                                const char *slash = strrchr(*tg, '/'), *last = slash ? slash + 1 : *tg;
                                bool bare = !strchr(last, ':') && !strchr(last, '@');
                                stream_text(fd, "stream", "Successfully tagged %s%s\n", *tg, bare ? ":latest" : "");
                        }
                }
        }
        build_job_free(j);
}

struct query_walk {
        struct build_job *j;
        char *bad; /* an option den does not do, set to something that changes the result */
};

/* the options docker's CLI sends, each with the value that leaves it alone ("": any) */
static const char *const build_ignored[][2] = {
        { "rm", "" },        { "forcerm", "" },     { "version", "" },    { "session", "" },   { "buildid", "" },
        { "memory", "0" },   { "memswap", "0" },    { "cpushares", "0" }, { "cpuquota", "0" }, { "cpuperiod", "0" },
        { "shmsize", "0" },  { "cpusetcpus", "" },  { "cpusetmems", "" }, { "cgroupparent", "" },
        { "ulimits", "null" }, { "cachefrom", "null" }, { "extrahosts", "" }, { "isolation", "" },
        { "squash", "0" },   { "outputs", "" },     { "remote", "" },
        { NULL, NULL },
};

static bool value_empty(const char *v)
{
        return !v || !*v || strcmp(v, "0") == 0 || strcmp(v, "null") == 0 || strcmp(v, "[]") == 0 ||
               strcmp(v, "{}") == 0 || strcmp(v, "false") == 0 || strcmp(v, "default") == 0 ||
               strcmp(v, "\"\"") == 0;
}

static enum MHD_Result build_query(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
        struct query_walk *w = cls;
        (void) kind;
        if (strcmp(k, "t") == 0) {
                if (v && *v)
                        strv_push(&w->j->tags, v);
                return MHD_YES;
        }
        static const char *const known[] = { "dockerfile", "buildargs", "target", "labels", "nocache", "q", "pull",
                                             "networkmode", "platform", "remote" };
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strcmp(k, known[i]) == 0)
                        return MHD_YES;
        for (size_t i = 0; build_ignored[i][0]; i++)
                if (strcmp(k, build_ignored[i][0]) == 0 && (!*build_ignored[i][1] || value_empty(v)))
                        return MHD_YES;
        if (!w->bad && !value_empty(v))
                w->bad = xasprintf("%s=%s", k, v ? v : "");
        return MHD_YES;
}

/* a JSON object of the query ({"K":"V"}) as K=V strings; a null value is left out */
static int query_kv(struct api_req *q, const char *name, char ***ret, struct api_reply *rep)
{
        const char *v = api_query(q, name);
        if (!v || !*v)
                return 0;
        json_t *o = json_loads(v, 0, NULL), *x;
        const char *k;
        if (!json_is_object(o) && !json_is_null(o)) {
                json_decref(o);
                return api_error(rep, 400, "%s: a JSON object of strings, not '%.100s'", name, v), -1;
        }
        json_object_foreach(o, k, x)
        {
                if (!json_is_string(x))
                        continue;
                _cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(x));
                strv_push(ret, kv);
        }
        json_decref(o);
        return 0;
}

/* the context tar (maybe compressed) unpacked into a new directory of the store */
static int build_context(struct api_req *q, struct build_job *j, struct api_reply *ret)
{
        struct store s;
        struct err err = { 0 };
        _cleanup_free_ char *name = NULL;
        /* tmp/w.PID.X: a store check sees it is live work */
        int r = store_open(q->root, &s, &err);
        if (r >= 0) {
                r = store_mkdtemp(&s, &name, &err);
                store_close(&s);
        }
        if (r < 0)
                return api_fail(ret, &err), -1;
        j->ctxdir = xasprintf("%s/%s", q->root, name);
        if (q->body_fd < 0)
                return 0;
        struct stat sb;
        if (fstat(q->body_fd, &sb) == 0 && sb.st_size == 0)
                return 0;
        _cleanup_close_ int dfd = open(j->ctxdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        struct unpack_opts uo = { .layer = "(the build context)", .opaque_xattr = "user.overlay.opaque" };
        if (dfd < 0 || layer_unpack(q->body_fd, dfd, &uo, NULL, &err) < 0)
                return api_error(ret, 400, "the build context: %s", dfd < 0 ? strerror(errno) : err.msg), -1;
        return 0;
}

/* the Dockerfile, a name inside the context */
static int build_dockerfile(struct api_req *q, struct build_job *j, struct api_reply *ret)
{
        const char *name = api_query(q, "dockerfile");
        if (!name || !*name)
                name = "Dockerfile";
        while (strncmp(name, "./", 2) == 0)
                name += 2;
        if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 || strstr(name, "/../"))
                return api_error(ret, 400, "dockerfile '%s': a path inside the context", name), -1;
        _cleanup_free_ char *path = xasprintf("%s/%s", j->ctxdir, name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
                return api_error(ret, 400, "dockerfile '%s': a symbolic link", name), -1;
        if (fs_read_file(path, DF_MAX_SIZE, &j->df, &j->dflen) < 0) {
                if (strcmp(name, "Dockerfile") == 0) {
                        free(path);
                        path = xasprintf("%s/dockerfile", j->ctxdir);
                        if (fs_read_file(path, DF_MAX_SIZE, &j->df, &j->dflen) >= 0)
                                goto found;
                }
                return api_error(ret, 400, "Cannot locate specified Dockerfile: %s", name), -1;
        }
found:;
        const char *slash = strrchr(name, '/');
        j->dfname = xstrdup(slash ? slash + 1 : name);
        return 0;
}

static int api_build(struct api_req *q, struct api_reply *ret)
{
        struct build_job *j = xcalloc(1, sizeof(*j));
        j->progress[0] = j->progress[1] = -1;
        j->tags = xcalloc(1, sizeof(char *)), j->args = xcalloc(1, sizeof(char *)), j->labels = xcalloc(1, sizeof(char *));
        j->root = xstrdup(q->root), j->runroot = q->runroot ? xstrdup(q->runroot) : NULL;
        struct query_walk w = { .j = j };
        MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, build_query, &w);
        const char *v;
        if (w.bad) {
                api_error(ret, 400, "build option %s is not supported by den", w.bad);
                free(w.bad);
                goto fail;
        }
        if ((v = api_query(q, "remote")) && *v) {
                api_error(ret, 400, "remote=%s: den builds from the context sent (a tar), not from a URL", v);
                goto fail;
        }
        if (query_kv(q, "buildargs", &j->args, ret) < 0 || query_kv(q, "labels", &j->labels, ret) < 0)
                goto fail;
        if ((v = api_query(q, "target")) && *v)
                j->target = xstrdup(v);
        if ((v = api_query(q, "platform")) && *v)
                j->platform = xstrdup(v);
        if ((v = api_query(q, "networkmode")) && *v) {
                if (strcmp(v, "none") && strcmp(v, "host") && strcmp(v, "default") && strcmp(v, "bridge") &&
                    strcmp(v, "private")) {
                        api_error(ret, 400, "networkmode '%s': default, none or host", v);
                        goto fail;
                }
                /* default is den's default, as a container's NetworkMode default is (routes_ctr.c) */
                if (strcmp(v, "default") != 0 && strcmp(v, "bridge") != 0)
                        j->network = xstrdup(v);
        }
        j->nocache = api_query_bool(q, "nocache");
        j->pull = api_query_bool(q, "pull");
        j->quiet = api_query_bool(q, "q");
        if (build_context(q, j, ret) < 0 || build_dockerfile(q, j, ret) < 0)
                goto fail;
        if (pipe2(j->progress, O_CLOEXEC) < 0) {
                api_error(ret, 500, "pipe: %m");
                goto fail;
        }
        if (api_stream(ret, 200, NULL, build_stream, j) < 0 || ret->status != 200) {
                close(j->progress[0]), close(j->progress[1]);
                goto fail;
        }
        return 0;
fail:
        build_job_free(j);
        return 0;
}

/* ---- GET /events: the store's event log, then what comes, until the client leaves ---- */

struct events_job {
        char *root, *runroot;
        long long since, until; /* ns; since < 0: none; until 0: follow */
        off_t start;            /* no since: the log's end when asked */
        ino_t start_ino;
        json_t *filters;        /* {"type": {"container": true}} or {"type": ["container"]} */
};

/* a docker time, seconds with an optional fraction ("1700000000.5"): ns; -1 when not one */
static long long parse_ts(const char *v)
{
        if (!v || !*v)
                return -1;
        char *end;
        long long s = strtoll(v, &end, 10), ns = 0;
        if (end == v)
                return -1;
        if (*end == '.') {
                long long scale = 100000000LL;
                for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
                        ns += (*end - '0') * scale;
        }
        if (*end)
                return -1;
        return s * 1000000000LL + ns;
}

/* the values of filter name: an array, or the keys of an object */
static bool filter_has(json_t *filters, const char *name, bool (*match)(const char *want, void *cls), void *cls,
                       bool *ret_given)
{
        json_t *f = json_object_get(filters, name), *v;
        const char *k;
        size_t i;
        *ret_given = json_array_size(f) > 0 || json_object_size(f) > 0;
        if (json_is_array(f))
                json_array_foreach(f, i, v) if (json_is_string(v) && match(json_string_value(v), cls)) return true;
        if (json_is_object(f))
                json_object_foreach(f, k, v) if (match(k, cls)) return true;
        return false;
}

static bool match_eq(const char *want, void *cls)
{
        return strcmp(want, cls) == 0;
}

/* a container or an image by name, full id or id prefix */
static bool match_actor(const char *want, void *cls)
{
        json_t *ev = cls, *actor = json_object_get(ev, "Actor"), *attrs = json_object_get(actor, "Attributes");
        const char *id = json_string_value(json_object_get(actor, "ID")) ?: "";
        const char *name = json_string_value(json_object_get(attrs, "name")) ?: "";
        const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
        const char *w = strncmp(want, "sha256:", 7) == 0 ? want + 7 : want;
        return strcmp(want, name) == 0 || strcmp(want, id) == 0 || (strlen(w) >= 4 && strncmp(hex, w, strlen(w)) == 0);
}

static bool match_image(const char *want, void *cls)
{
        json_t *ev = cls;
        const char *type = json_string_value(json_object_get(ev, "Type")) ?: "";
        const char *img = json_string_value(json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"),
                                                            "image"));
        if (strcmp(type, "image") == 0)
                return match_actor(want, cls);
        return img && strcmp(img, want) == 0;
}

static bool event_wanted(struct events_job *j, json_t *ev)
{
        json_int_t t = json_integer_value(json_object_get(ev, "timeNano"));
        if (t < j->since || (j->until > 0 && t > j->until))
                return false;
        bool given;
        const char *type = json_string_value(json_object_get(ev, "Type")) ?: "";
        const char *action = json_string_value(json_object_get(ev, "Action")) ?: "";
        if (!filter_has(j->filters, "type", match_eq, (void *) type, &given) && given)
                return false;
        if (!filter_has(j->filters, "event", match_eq, (void *) action, &given) && given)
                return false;
        if ((!filter_has(j->filters, "container", match_actor, ev, &given) || strcmp(type, "container") != 0) && given)
                return false;
        if (!filter_has(j->filters, "image", match_image, ev, &given) && given)
                return false;
        return true;
}

/* the whole lines of fd from where it is, each wanted one to out; -1 when the client is gone */
static int events_read(struct events_job *j, int fd, char **pending, int out)
{
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                char *all = xasprintf("%s%.*s", *pending ? *pending : "", (int) n, buf), *s = all, *nl;
                free(*pending);
                *pending = NULL;
                for (; (nl = strchr(s, '\n')); s = nl + 1) {
                        *nl = '\0';
                        json_t *ev = json_loads(s, 0, NULL);
                        int r = ev && event_wanted(j, ev) ? api_stream_json(out, ev) : 0;
                        json_decref(ev);
                        if (r < 0) {
                                free(all);
                                return -1;
                        }
                }
                *pending = *s ? xstrdup(s) : NULL;
                free(all);
        }
        return 0;
}

static long long now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* the ends of containers nobody has looked at yet: engine_list logs their die */
static void events_notice(struct events_job *j)
{
        struct err err = { 0 };
        json_t *list = NULL;
        api_serial(true);
        engine_list(j->root, j->runroot, &list, &err);
        api_serial(false);
        json_decref(list);
}

static void events_stream(void *arg, int out)
{
        struct events_job *j = arg;
        _cleanup_free_ char *path = xasprintf("%s/events", j->root), *old = xasprintf("%s/events.1", j->root);
        char *pending = NULL;
        events_notice(j);
        /* no since: what comes from now on */
        int fd = j->since >= 0 ? open(old, O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
                events_read(j, fd, &pending, out);
                close(fd);
                free(pending);
                pending = NULL;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        /* rotated since: the new log from its start */
        if (fd >= 0 && j->since < 0 && fstat(fd, &sb) == 0 && sb.st_ino == j->start_ino)
                lseek(fd, j->start, SEEK_SET);
        int r = fd >= 0 ? events_read(j, fd, &pending, out) : 0;
        for (unsigned tick = 1; r >= 0 && (j->until <= 0 || now_ns() <= j->until); tick++) {
                struct pollfd p = { out, 0, 0 };
                /* the client gone: the read end of the pipe closed, POLLERR */
                if (poll(&p, 1, 250) > 0 && (p.revents & (POLLERR | POLLHUP)))
                        break;
                /* the server learns that the client left only when it writes to it: a
                 * newline now and then (JSON decoders skip it) ends an idle follow of
                 * a client gone; not before an until, whose end comes anyway (python's docker
                 * takes whitespace at the end of a stream for a broken value) */
                if (j->until <= 0 && tick % 8 == 0 && fs_write_all(out, "\n", 1) < 0)
                        break;
                events_notice(j);
                if (fd < 0)
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                r = events_read(j, fd, &pending, out);
                /* rotated: the rest of the old file is read above, the new one from its start */
                struct stat a, b;
                if (r >= 0 && fstat(fd, &a) == 0 && (stat(path, &b) < 0 || a.st_ino != b.st_ino)) {
                        close(fd);
                        fd = -1;
                        free(pending);
                        pending = NULL;
                }
        }
        if (fd >= 0)
                close(fd);
        free(pending);
        free(j->root), free(j->runroot);
        json_decref(j->filters);
        free(j);
}

static int api_events(struct api_req *q, struct api_reply *ret)
{
        const char *since = api_query(q, "since"), *until = api_query(q, "until"), *filters = api_query(q, "filters");
        long long s = since && *since ? parse_ts(since) : -2, u = until && *until ? parse_ts(until) : 0;
        if (s == -1 || u < 0)
                return api_error(ret, 400, "since and until are times in seconds since 1970 ('%s', '%s')",
                                 since ? since : "", until ? until : "");
        json_t *f = filters && *filters ? json_loads(filters, 0, NULL) : json_object();
        if (!json_is_object(f)) {
                json_decref(f);
                return api_error(ret, 400, "filters: a JSON object, not '%.100s'", filters);
        }
        const char *k;
        json_t *v;
        json_object_foreach(f, k, v)
        {
                if (strcmp(k, "type") && strcmp(k, "container") && strcmp(k, "image") && strcmp(k, "event")) {
                        api_error(ret, 400, "filter '%s' is not supported by den (type, container, image, event)", k);
                        json_decref(f);
                        return 0;
                }
        }
        struct events_job *j = xcalloc(1, sizeof(*j));
        j->root = xstrdup(q->root), j->runroot = q->runroot ? xstrdup(q->runroot) : NULL;
        j->since = s, j->until = u, j->filters = f;
        /* what is logged once the client has its answer must reach it: the log's end now */
        _cleanup_free_ char *path = xasprintf("%s/events", q->root);
        struct stat sb;
        if (stat(path, &sb) == 0)
                j->start = sb.st_size, j->start_ino = sb.st_ino;
        return api_stream(ret, 200, NULL, events_stream, j);
}

/* ---- GET /system/df ---- */

/* /system/df's Volumes: each as inspect shows it, with its size and how many containers have it */
static json_t *df_volumes(const char *root)
{
        json_t *list = NULL, *v;
        struct err err = { 0 };
        if (volume_list(root, &list, &err) < 0)
                return json_array();
        size_t i;
        json_array_foreach(list, i, v)
        {
                const char *name = json_string_value(json_object_get(v, "Name")) ?: "";
                char **users = volume_users(root, name);
                json_object_set_new(v, "UsageData", json_pack("{s:I,s:I}", "Size", (json_int_t) volume_size(root, name),
                                                              "RefCount", (json_int_t) strv_length(users)));
                strv_freep(&users);
        }
        return list;
}

static int api_system_df(struct api_req *q, struct api_reply *ret)
{
        /* the images as /images/json has them */
        struct api_reply ir = { 0 };
        api_images_list(q, &ir);
        json_t *images = ir.status == 200 && ir.body ? json_loadb(ir.body, ir.body_len, 0, NULL) : NULL;
        int status = ir.status;
        free(ir.body);
        if (!json_is_array(images)) {
                json_decref(images);
                return api_error(ret, status >= 400 ? status : 500, "cannot list the images");
        }
        struct err err = { 0 };
        json_t *list = NULL, *c, *img, *ctrs = json_array();
        if (engine_list(q->root, q->runroot, &list, &err) < 0) {
                json_decref(images);
                json_decref(ctrs);
                return api_fail(ret, &err);
        }
        size_t i, k;
        json_int_t layers = 0;
        json_array_foreach(images, i, img)
        {
                /* the containers of each image, by den's image digest (the manifest's) */
                json_int_t n = 0;
                layers += json_integer_value(json_object_get(img, "Size"));
                json_array_foreach(list, k, c)
                {
                        /* by the name it was made from, as the image lists it */
                        _cleanup_free_ char *norm = NULL;
                        struct err e = { 0 };
                        if (image_ref_normalize(json_string_value(json_object_get(c, "Image")) ?: "", &norm, &e) < 0)
                                continue;
                        size_t t;
                        json_t *tag;
                        bool mine = false;
                        json_array_foreach(json_object_get(img, "RepoTags"), t, tag) mine |=
                                strcmp(json_string_value(tag) ?: "", norm) == 0;
                        n += mine;
                }
                json_object_set_new(img, "Containers", json_integer(n));
        }
        json_array_foreach(list, i, c)
        {
                const char *st = json_string_value(json_object_get(c, "Status")) ?: "unknown";
                _cleanup_free_ char *name = xasprintf("/%s", json_string_value(json_object_get(c, "Name")) ?: "");
                json_array_append_new(ctrs, json_pack("{s:O,s:[s],s:O,s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:{},s:[]}", "Id",
                                                      json_object_get(c, "Id"), "Names", name, "Image",
                                                      json_object_get(c, "Image"), "ImageID",
                                                      json_string_value(json_object_get(c, "ImageDigest")) ?: "",
                                                      "Command", "", "Created", (json_int_t) 0, "State", st, "Status",
                                                      st, "SizeRw", (json_int_t) 0, "SizeRootFs", (json_int_t) 0,
                                                      "Labels", "Mounts"));
        }
        json_decref(list);
        return api_json(ret, 200, json_pack("{s:I,s:o,s:o,s:o,s:[]}", "LayersSize", layers, "Images", images,
                                            "Containers", ctrs, "Volumes", df_volumes(q->root), "BuildCache"));
}

/* ---- networks and volumes: den's built-in networks; user ones come later ---- */

/* den's networks, as --network names them: docker's bridge is den's private network */
static const char *const networks[][2] = { { "bridge", "bridge" }, { "host", "host" }, { "none", "null" } };

static json_t *network_json(size_t i)
{
        char id[65];
        const char *name = networks[i][0];
        /* a stable id: the name's bytes in hex, zero-padded */
        size_t n = 0;
        for (const char *c = name; *c && n < 64; c++, n += 2)
                snprintf(id + n, 3, "%02x", (unsigned char) *c);
        memset(id + n, '0', 64 - n);
        id[64] = '\0';
        json_t *ipam = json_pack("{s:s,s:n,s:[]}", "Driver", "default", "Options", "Config");
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:b,s:b,s:b,s:{},s:{},s:{}}", "Name", name, "Id", id,
                         "Created", "0001-01-01T00:00:00Z", "Scope", "local", "Driver", networks[i][1], "EnableIPv6",
                         false, "IPAM", ipam, "Internal", false, "Attachable", false, "Ingress", false, "Containers",
                         "Options", "Labels");
}

static int api_networks(struct api_req *q, struct api_reply *ret)
{
        json_t *out = json_array();
        for (size_t i = 0; i < ELEMENTSOF(networks); i++)
                json_array_append_new(out, network_json(i));
        return api_json(ret, 200, out);
}

static int api_network_inspect(struct api_req *q, struct api_reply *ret)
{
        const char *want = q->params[0];
        /* den's own names for its private network */
        if (strcmp(want, "private") == 0 || strcmp(want, "default") == 0)
                want = "bridge";
        for (size_t i = 0; i < ELEMENTSOF(networks); i++) {
                json_t *n = network_json(i);
                const char *id = json_string_value(json_object_get(n, "Id"));
                if (strcmp(want, networks[i][0]) == 0 || (strlen(want) >= 4 && strncmp(id, want, strlen(want)) == 0))
                        return api_json(ret, 200, n);
                json_decref(n);
        }
        return api_error(ret, 404, "network %s not found", q->params[0]);
}

static int api_not_yet(struct api_req *q, struct api_reply *ret)
{
        (void) q;
        return api_error(ret, 501, "den serve does not manage user-defined networks yet (only den's built-in networks "
                                   "bridge, host and none)");
}

/* ---- volumes (volume.h): docker's local driver ---- */

/* the filters query of q, checked against known: NULL (answered 400) when malformed or unknown */
static json_t *vol_filters(struct api_req *q, struct api_reply *ret, const char *const *known)
{
        const char *s = api_query(q, "filters"), *k;
        json_t *f = s && *s ? json_loads(s, 0, NULL) : json_object(), *v;
        if (!json_is_object(f)) {
                json_decref(f);
                api_error(ret, 400, "invalid filters: %.100s", s);
                return NULL;
        }
        json_object_foreach(f, k, v)
        {
                bool ok = false;
                for (const char *const *n = known; *n; n++)
                        ok |= strcmp(k, *n) == 0;
                if (!ok) {
                        api_error(ret, 400, "invalid filter '%s'", k);
                        json_decref(f);
                        return NULL;
                }
        }
        return f;
}

static bool vol_true(const char *v)
{
        return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
}

static bool match_part(const char *want, void *cls)
{
        return strstr(cls, want) != NULL;
}

/* a label filter "k" or "k=v" that {"k": "v"} does not pass */
static bool match_label_not(const char *want, void *labels)
{
        const char *eq = strchr(want, '=');
        _cleanup_free_ char *key = eq ? strndup(want, (size_t) (eq - want)) : xstrdup(want);
        const char *v = json_string_value(json_object_get(labels, key));
        return !v || (eq && strcmp(v, eq + 1) != 0);
}

static bool match_bool(const char *want, void *cls)
{
        return vol_true(want) == *(bool *) cls;
}

/* every value of a filter into the array cls */
static bool match_collect(const char *want, void *cls)
{
        json_array_append_new(cls, json_string(want));
        return false;
}

/* dockerd's rules: each filter given must pass; name and driver: any of their values (a
 * name filter matches a part of the name), label: all of them, dangling: no container has it */
static bool vol_wanted(const char *root, json_t *f, json_t *vol)
{
        const char *name = json_string_value(json_object_get(vol, "Name")) ?: "";
        const char *driver = json_string_value(json_object_get(vol, "Driver")) ?: "local";
        bool given;
        if ((!filter_has(f, "name", match_part, (void *) name, &given) && given) ||
            (!filter_has(f, "driver", match_eq, (void *) driver, &given) && given) ||
            filter_has(f, "label", match_label_not, json_object_get(vol, "Labels"), &given))
                return false;
        if (!json_object_get(f, "dangling"))
                return true;
        /* as dockerd: dangling wanted when a value says so (true, 1) */
        bool yes = true, want = filter_has(f, "dangling", match_bool, &yes, &given);
        char **users = volume_users(root, name);
        bool dangling = !users || !users[0];
        strv_freep(&users);
        return want == dangling;
}

static int api_volumes(struct api_req *q, struct api_reply *ret)
{
        static const char *const known[] = { "dangling", "name", "label", "driver", NULL };
        json_t *f = vol_filters(q, ret, known), *list = NULL, *out, *v;
        if (!f)
                return 0;
        struct err err = { 0 };
        if (volume_list(q->root, &list, &err) < 0) {
                json_decref(f);
                return api_fail(ret, &err);
        }
        out = json_array();
        size_t i;
        json_array_foreach(list, i, v) if (vol_wanted(q->root, f, v)) json_array_append(out, v);
        json_decref(list), json_decref(f);
        return api_json(ret, 200, json_pack("{s:o,s:n}", "Volumes", out, "Warnings"));
}

static int api_volume_create(struct api_req *q, struct api_reply *ret)
{
        json_error_t je;
        json_t *b = q->body_len ? json_loadb(q->body, q->body_len, 0, &je) : json_object(), *v;
        if (!json_is_object(b)) {
                json_decref(b);
                return api_error(ret, 400, "malformed JSON body: %s", b ? "not an object" : je.text);
        }
        const char *name = json_string_value(json_object_get(b, "Name")), *driver =
                json_string_value(json_object_get(b, "Driver")), *k;
        json_t *labels = json_object_get(b, "Labels"), *dopts = json_object_get(b, "DriverOpts");
        _cleanup_strv_free_ char **opts = NULL;
        json_object_foreach(dopts, k, v)
        {
                if (!json_is_string(v)) {
                        json_decref(b);
                        return api_error(ret, 400, "DriverOpts: %s: a string", k);
                }
                _cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(v));
                strv_push(&opts, kv);
        }
        json_object_foreach(labels, k, v) if (!json_is_string(v))
        {
                json_decref(b);
                return api_error(ret, 400, "Labels: %s: a string", k);
        }
        /* no name: anonymous, as dockerd makes it (prune takes it without all) */
        bool anon = !name || !*name;
        struct volume_create_opts o = { .name = anon ? NULL : name, .driver = driver && *driver ? driver : NULL,
                                        .opts = opts, .labels = json_is_object(labels) ? labels : NULL,
                                        .anonymous = anon };
        struct err err = { 0 };
        json_t *vol = NULL;
        int r = volume_create(q->root, &o, &vol, &err);
        json_decref(b);
        return r < 0 ? api_fail(ret, &err) : api_json(ret, 201, vol);
}

static int api_volume_inspect(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *vol = NULL;
        if (volume_inspect(q->root, q->params[0], &vol, &err) < 0)
                return err.code == -ENOENT ? api_error(ret, 404, "get %s: no such volume", q->params[0])
                                           : api_fail(ret, &err);
        return api_json(ret, 200, vol);
}

/* the ids of the containers named, "[id1, id2]" (dockerd names the users of a volume by id) */
static char *vol_users_ids(struct api_req *q, char **users)
{
        json_t *list = NULL, *c;
        struct err err = { 0 };
        engine_list(q->root, q->runroot, &list, &err);
        char *out = xstrdup("");
        for (char **u = users; u && *u; u++) {
                const char *id = *u;
                size_t i;
                json_array_foreach(list, i, c) if (strcmp(json_string_value(json_object_get(c, "Name")) ?: "", *u) == 0)
                        id = json_string_value(json_object_get(c, "Id")) ?: *u;
                char *n = xasprintf("%s%s%s", out, *out ? ", " : "", id);
                free(out);
                out = n;
        }
        json_decref(list);
        return out;
}

static int api_volume_delete(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        bool force = api_query_bool(q, "force");
        json_t *vol = NULL;
        if (volume_inspect(q->root, q->params[0], &vol, &err) < 0) {
                if (err.code != -ENOENT)
                        return api_fail(ret, &err);
                if (force) { /* as dockerd: nothing to remove is no error with force */
                        ret->status = 204;
                        return 0;
                }
                return api_error(ret, 404, "get %s: no such volume", q->params[0]);
        }
        json_decref(vol);
        /* in use: refused even with force, as dockerd, naming its containers */
        _cleanup_strv_free_ char **users = volume_users(q->root, q->params[0]);
        if (users && users[0]) {
                _cleanup_free_ char *ids = vol_users_ids(q, users);
                return api_error(ret, 409, "remove %s: volume is in use - [%s]", q->params[0], ids);
        }
        if (volume_rm(q->root, q->params[0], force, &err) < 0)
                return api_fail(ret, &err);
        ret->status = 204;
        return 0;
}

static int api_volumes_prune(struct api_req *q, struct api_reply *ret)
{
        static const char *const known[] = { "all", "label", NULL };
        json_t *f = vol_filters(q, ret, known);
        if (!f)
                return 0;
        /* docker's API 1.42 on: named volumes only with all */
        bool yes = true, given, every = filter_has(f, "all", match_bool, &yes, &given);
        json_t *labels = json_array();
        filter_has(f, "label", match_collect, labels, &given);
        json_decref(f);
        _cleanup_strv_free_ char **gone = NULL;
        uint64_t bytes = 0;
        struct err err = { 0 };
        int r = volume_prune(q->root, every, json_array_size(labels) ? labels : NULL, &gone, &bytes, &err);
        json_decref(labels);
        if (r < 0)
                return api_fail(ret, &err);
        json_t *names = json_array();
        for (char **g = gone; g && *g; g++)
                json_array_append_new(names, json_string(*g));
        return api_json(ret, 200, json_pack("{s:o,s:I}", "VolumesDeleted", names, "SpaceReclaimed", (json_int_t) bytes));
}

const struct api_route api_routes_sys[] = {
        { "POST", "/build", api_build, false, true },
        { "GET", "/events", api_events, false },
        { "GET", "/system/df", api_system_df, true },
        { "GET", "/networks", api_networks, false },
        { "GET", "/networks/{id}", api_network_inspect, false },
        { "POST", "/networks/create", api_not_yet, false },
        { "DELETE", "/networks/{id}", api_not_yet, false },
        { "POST", "/networks/{id}/connect", api_not_yet, false },
        { "POST", "/networks/{id}/disconnect", api_not_yet, false },
        { "POST", "/networks/prune", api_not_yet, false },
        { "GET", "/volumes", api_volumes, true },
        { "POST", "/volumes/create", api_volume_create, true },
        { "POST", "/volumes/prune", api_volumes_prune, true },
        { "GET", "/volumes/{name}", api_volume_inspect, true },
        { "DELETE", "/volumes/{name}", api_volume_delete, true },
        { NULL },
};
