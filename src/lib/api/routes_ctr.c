/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container routes of the Docker Engine API: docker's request and
 * response shapes mapped onto engine.h, nothing run here but through it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "internal.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/base/signal.h"
#include "lib/runtime/ctr.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/format.h"
#include "lib/runtime/volume.h"

static json_int_t epoch_of(json_t *v)
{
        if (json_is_integer(v))
                return json_integer_value(v);
        time_t t = format_parse_time(json_string_value(v));
        return t < 0 ? 0 : (json_int_t) t;
}

/* a published port of the record ("[IP:]HOST:CTR[/proto]") in its parts; false when malformed */
static bool publish_parts(const char *spec, char ip[64], long *host, long *ctr, const char **proto)
{
        const char *slash = strchr(spec, '/'), *last = strrchr(spec, ':');
        *proto = slash ? slash + 1 : "tcp";
        if (!last)
                return false;
        *ctr = strtol(last + 1, NULL, 10);
        const char *prev = last;
        while (prev > spec && prev[-1] != ':')
                prev--;
        *host = strtol(prev, NULL, 10);
        size_t il = prev > spec ? (size_t) (prev - 1 - spec) : 0;
        snprintf(ip, 64, "%.*s", (int) (il < 63 ? il : 63), spec);
        if (ip[0] == '[' && il > 1 && ip[il - 1] == ']') {
                memmove(ip, ip + 1, il - 2);
                ip[il - 2] = '\0';
        }
        return *host > 0 && *ctr > 0;
}

/* docker's two shapes of the published ports: ps's [{IP, PrivatePort, PublicPort, Type}]
 * and inspect's {"80/tcp": [{HostIp, HostPort}]} */
static json_t *ports_json(json_t *publish, bool inspect)
{
        json_t *out = inspect ? json_object() : json_array(), *v;
        size_t i;
        json_array_foreach(publish, i, v)
        {
                char ip[64];
                long host, ctr;
                const char *proto;
                if (!publish_parts(json_string_value(v) ?: "", ip, &host, &ctr, &proto))
                        continue;
                const char *addr = *ip ? ip : "0.0.0.0";
                if (!inspect) {
                        json_array_append_new(out, json_pack("{s:s,s:I,s:I,s:s}", "IP", addr, "PrivatePort", (json_int_t) ctr,
                                                             "PublicPort", (json_int_t) host, "Type", proto));
                        continue;
                }
                char key[32], hp[16];
                snprintf(key, sizeof(key), "%ld/%s", ctr, proto);
                snprintf(hp, sizeof(hp), "%ld", host);
                json_t *l = json_object_get(out, key);
                if (!l)
                        json_object_set_new(out, key, l = json_array());
                json_array_append_new(l, json_pack("{s:s,s:s}", "HostIp", addr, "HostPort", hp));
        }
        return out;
}

/* seconds since the epoch as docker's times (-1 or 0: never, docker's zero time) */
static const char *rfc3339(json_int_t t, char buf[40])
{
        struct tm tm;
        time_t tt = (time_t) t;
        if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return "0001-01-01T00:00:00Z";
        return buf;
}

/* "SRC:DST[:OPTS]" of the record in its parts (s is cut); false when it is not so */
static bool mount_parts(char *s, char **ret_dst, char **ret_opts)
{
        char *dst = strchr(s, ':');
        if (!dst)
                return false;
        *dst++ = '\0';
        char *opts = strchr(dst, ':');
        if (opts)
                *opts++ = '\0';
        *ret_dst = dst, *ret_opts = opts;
        return true;
}

static bool opts_have(const char *opts, const char *want)
{
        size_t n = strlen(want);
        for (const char *o = opts; o && *o; o += strcspn(o, ","), o += *o == ',')
                if (strncmp(o, want, n) == 0 && (o[n] == ',' || !o[n]))
                        return true;
        return false;
}

/* the record's mounts ("SRC:DST[:OPTS]", SRC a host path or a volume's name) as inspect's Mounts */
static json_t *mounts_json(const char *root, json_t *vols)
{
        json_t *out = json_array(), *v;
        size_t i;
        json_array_foreach(vols, i, v)
        {
                _cleanup_free_ char *s = xstrdup(json_string_value(v) ?: "");
                char *dst, *mode;
                if (!mount_parts(s, &dst, &mode))
                        continue;
                bool rw = !opts_have(mode, "ro");
                if (s[0] == '/') {
                        json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", s,
                                                             "Destination", dst, "Mode", mode ? mode : "", "RW", rw,
                                                             "Propagation", "rprivate"));
                        continue;
                }
                /* a volume: where its content is, and its driver */
                json_t *vol = NULL;
                struct err err = { 0 };
                volume_inspect(root, s, &vol, &err);
                json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "volume", "Name", s,
                                                     "Source", json_string_value(json_object_get(vol, "Mountpoint")) ?: "",
                                                     "Destination", dst, "Driver",
                                                     json_string_value(json_object_get(vol, "Driver")) ?: "local", "Mode",
                                                     mode ? mode : "", "RW", rw, "Propagation", ""));
                json_decref(vol);
        }
        return out;
}

/* Config.Volumes: the targets of the container's anonymous volumes, {"/path": {}}; null when none */
static json_t *anon_json(json_t *opt)
{
        json_t *anon = json_object_get(opt, "AnonVolumes"), *out = NULL, *v, *a;
        size_t i, k;
        json_array_foreach(json_object_get(opt, "Volumes"), i, v)
        {
                _cleanup_free_ char *s = xstrdup(json_string_value(v) ?: "");
                char *dst, *mode;
                if (!mount_parts(s, &dst, &mode))
                        continue;
                json_array_foreach(anon, k, a) if (strcmp(json_string_value(a) ?: "", s) == 0)
                {
                        if (!out)
                                out = json_object();
                        json_object_set_new(out, dst, json_object());
                }
        }
        return out ? out : json_null();
}

static json_t *labels_of(json_t *rec)
{
        json_t *l = json_object_get(json_object_get(rec, "Options"), "Labels");
        return json_is_object(l) ? json_deep_copy(l) : json_object();
}

static char *join_args(json_t *args)
{
        char *out = xstrdup("");
        size_t i;
        json_t *a;
        json_array_foreach(args, i, a)
        {
                char *n = xasprintf("%s%s%s", out, i ? " " : "", json_string_value(a));
                free(out);
                out = n;
        }
        return out;
}

/* docker's filters: {"key": ["v", ...]} (or the older {"key": {"v": true}}): the values of key */
static json_t *filter_values(json_t *f, const char *key)
{
        json_t *v = json_object_get(f, key), *out = json_array(), *m;
        const char *k;
        size_t i;
        if (json_is_array(v))
                json_array_foreach(v, i, m) if (json_is_string(m)) json_array_append(out, m);
        if (json_is_object(v))
                json_object_foreach(v, k, m) json_array_append_new(out, json_string(k));
        return out;
}

static bool name_matches(const char *pattern, const char *name)
{
        regex_t re;
        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        _cleanup_free_ char *slashed = xasprintf("/%s", name);
        bool m = regexec(&re, slashed, 0, NULL, 0) == 0;
        regfree(&re);
        return m;
}

static bool label_matches(json_t *c, const char *want)
{
        json_t *labels = json_object_get(c, "Labels") ?: json_object_get(json_object_get(c, "Options"), "Labels");
        const char *eq = strchr(want, '=');
        _cleanup_free_ char *key = eq ? strndup(want, (size_t) (eq - want)) : xstrdup(want);
        const char *v = json_string_value(json_object_get(labels, key));
        return v && (!eq || strcmp(v, eq + 1) == 0);
}

static bool image_matches(json_t *c, const char *want)
{
        const char *img = json_string_value(json_object_get(c, "Image")) ?: "";
        const char *dig = json_string_value(json_object_get(c, "ImageDigest")) ?: "";
        size_t l = strlen(want);
        _cleanup_free_ char *tagged = xasprintf("%s:latest", want);
        return strcmp(img, want) == 0 || strcmp(img, tagged) == 0 ||
               (l >= 4 && (strncmp(dig, want, l) == 0 || (strlen(dig) > 7 && strncmp(dig + 7, want, l) == 0)));
}

/* dockerd's volume filter: a volume of that name, or any mount at that destination */
static bool volume_matches(json_t *c, const char *v)
{
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(json_object_get(c, "Options"), "Volumes"), i, m)
        {
                _cleanup_free_ char *s = xstrdup(json_string_value(m) ?: "");
                char *dst, *mode;
                if (mount_parts(s, &dst, &mode) && (strcmp(dst, v) == 0 || (s[0] != '/' && strcmp(s, v) == 0)))
                        return true;
        }
        return false;
}

static const char *created_of(json_t *c)
{
        return json_string_value(json_object_get(c, "Created")) ?: "";
}

/* whether c passes one filter key's value */
static bool filter_one(json_t *list, json_t *c, const char *key, const char *v)
{
        const char *st = json_string_value(json_object_get(c, "Status")) ?: "";
        if (strcmp(key, "id") == 0)
                return strncmp(json_string_value(json_object_get(c, "Id")) ?: "", v, strlen(v)) == 0;
        if (strcmp(key, "name") == 0)
                return name_matches(v, json_string_value(json_object_get(c, "Name")) ?: "");
        if (strcmp(key, "status") == 0)
                return strcmp(st, v) == 0;
        if (strcmp(key, "exited") == 0)
                return strcmp(st, "exited") == 0 && json_integer_value(json_object_get(c, "ExitCode")) == atoi(v);
        if (strcmp(key, "ancestor") == 0)
                return image_matches(c, v);
        if (strcmp(key, "label") == 0)
                return label_matches(c, v);
        if (strcmp(key, "volume") == 0)
                return volume_matches(c, v);
        /* before, since: created before or after the container named */
        json_t *o;
        size_t i;
        json_array_foreach(list, i, o)
        {
                const char *id = json_string_value(json_object_get(o, "Id")) ?: "";
                if (strcmp(json_string_value(json_object_get(o, "Name")) ?: "", v) != 0 &&
                    strncmp(id, v, strlen(v)) != 0)
                        continue;
                int d = strcmp(created_of(c), created_of(o));
                return strcmp(key, "before") == 0 ? d < 0 : d > 0;
        }
        return false;
}

static bool in_list(const char *k, const char *const *list);

/* the filters of a list, checked: NULL (answered 400) when one is unknown or malformed */
static json_t *list_filters(struct api_req *q, struct api_reply *ret, bool *all)
{
        static const char *const known[] = { "id",    "name",   "status", "exited", "ancestor",
                                             "label", "before", "since",  "volume", NULL };
        static const char *const states[] = { "created", "restarting", "running", "removing", "paused", "exited", "dead", NULL };
        const char *s = api_query(q, "filters");
        json_error_t je;
        json_t *f = s && *s ? json_loads(s, 0, &je) : json_object(), *v;
        const char *k;
        if (!json_is_object(f)) {
                json_decref(f);
                api_error(ret, 400, "invalid filters: %s", s);
                return NULL;
        }
        json_object_foreach(f, k, v)
        {
                if (!in_list(k, known)) {
                        api_error(ret, 400, "invalid filter '%s'", k);
                        json_decref(f);
                        return NULL;
                }
                json_t *vals = filter_values(f, k), *m;
                size_t i;
                bool bad = false;
                json_array_foreach(vals, i, m) if (strcmp(k, "status") == 0 && !in_list(json_string_value(m), states))
                {
                        api_error(ret, 400, "invalid filter 'status=%s'", json_string_value(m));
                        bad = true;
                        break;
                }
                json_decref(vals);
                if (bad) {
                        json_decref(f);
                        return NULL;
                }
                /* as dockerd: these look at stopped containers too */
                if (strcmp(k, "status") == 0 || strcmp(k, "before") == 0 || strcmp(k, "since") == 0)
                        *all = true;
        }
        return f;
}

/* every key of f has a value c passes */
static bool filters_pass(json_t *f, json_t *list, json_t *c)
{
        const char *k;
        json_t *v;
        json_object_foreach(f, k, v)
        {
                json_t *vals = filter_values(f, k), *m;
                size_t i;
                /* as dockerd: a container has every label asked for; other keys take any value */
                bool labels = strcmp(k, "label") == 0;
                bool any = json_array_size(vals) == 0 || labels;
                json_array_foreach(vals, i, m)
                {
                        bool hit = filter_one(list, c, k, json_string_value(m));
                        if (labels && !hit)
                                any = false;
                        else if (!labels && hit)
                                any = true;
                }
                json_decref(vals);
                if (!any)
                        return false;
        }
        return true;
}

static int newest_first(const void *a, const void *b)
{
        return strcmp(created_of(*(json_t *const *) b), created_of(*(json_t *const *) a));
}

int api_ctr_list(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *list = NULL, *c, *out = json_array();
        bool all = api_query_bool(q, "all"), size = api_query_bool(q, "size");
        const char *ls = api_query(q, "limit");
        long limit = ls && *ls ? strtol(ls, NULL, 10) : -1;
        json_t *filters = list_filters(q, ret, &all);
        if (!filters) {
                json_decref(out);
                return 0;
        }
        if (engine_list(q->root, q->runroot, &list, &err) < 0) {
                json_decref(out), json_decref(filters);
                return api_fail(ret, &err);
        }
        /* docker's order: the newest first (what limit keeps) */
        size_t i, n = json_array_size(list);
        json_t **sorted = xcalloc(n + 1, sizeof(json_t *));
        json_array_foreach(list, i, c) sorted[i] = c;
        qsort(sorted, n, sizeof(json_t *), newest_first);
        time_t now = time(NULL);
        for (i = 0; i < n && (limit <= 0 || json_array_size(out) < (size_t) limit); i++) {
                c = sorted[i];
                const char *st = json_string_value(json_object_get(c, "Status"));
                if (!st)
                        st = "unknown";
                if (!all && limit <= 0 && strcmp(st, "running") != 0)
                        continue;
                if (!filters_pass(filters, list, c))
                        continue;
                json_int_t started = json_integer_value(json_object_get(c, "StartedAt")),
                           finished = json_integer_value(json_object_get(c, "FinishedAt"));
                char status[128];
                format_status(st, (int) json_integer_value(json_object_get(c, "ExitCode")), started, finished, now,
                              status, sizeof(status));
                _cleanup_free_ char *cmd = join_args(json_object_get(json_object_get(c, "Process"), "args"));
                _cleanup_free_ char *name = xasprintf("/%s", json_string_value(json_object_get(c, "Name")));
                json_t *e = json_pack("{s:O,s:[s],s:O,s:s,s:s,s:I,s:s,s:s,s:[],s:{},s:{s:s},s:{s:{}},s:[]}", "Id",
                                      json_object_get(c, "Id"), "Names", name, "Image", json_object_get(c, "Image"),
                                      "ImageID", json_string_value(json_object_get(c, "ImageDigest")) ?: "", "Command",
                                      cmd, "Created", epoch_of(json_object_get(c, "Created")), "State", st, "Status",
                                      status, "Ports", "Labels", "HostConfig", "NetworkMode", "default",
                                      "NetworkSettings", "Networks", "Mounts");
                json_object_set_new(e, "Labels", labels_of(c));
                json_object_set_new(e, "Ports", ports_json(json_object_get(json_object_get(c, "Options"), "Publish"), false));
                json_object_set_new(e, "Mounts", mounts_json(q->root, json_object_get(json_object_get(c, "Options"), "Volumes")));
                if (size) {
                        json_int_t rw = (json_int_t) engine_size_rw(q->root, json_string_value(json_object_get(c, "Id")) ?: "");
                        json_object_set_new(e, "SizeRw", json_integer(rw));
                        json_object_set_new(e, "SizeRootFs", json_integer(rw));
                }
                json_array_append_new(out, e);
        }
        free(sorted);
        json_decref(list), json_decref(filters);
        return api_json(ret, 200, out);
}

int api_ctr_inspect(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return api_fail(ret, &err);
        json_t *proc = json_object_get(rec, "Process"), *opt = json_object_get(rec, "Options");
        json_t *args = json_object_get(proc, "args");
        const char *st = json_string_value(json_object_get(rec, "Status"));
        int code = (int) json_integer_value(json_object_get(rec, "ExitCode"));
        bool running = st && strcmp(st, "running") == 0;
        _cleanup_free_ char *name = xasprintf("/%s", json_string_value(json_object_get(rec, "Name")));
        char started[40], finished[40];
        json_t *state = json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,s:s}", "Status", st ? st : "unknown",
                                  "Running", running, "Paused", false, "Restarting", false, "OOMKilled", false, "Dead",
                                  false, "Pid", (int) json_integer_value(json_object_get(rec, "KeeperPid")), "ExitCode",
                                  code < 0 ? 0 : code, "Error", "", "StartedAt",
                                  rfc3339(json_integer_value(json_object_get(rec, "StartedAt")), started), "FinishedAt",
                                  rfc3339(json_integer_value(json_object_get(rec, "FinishedAt")), finished));
        json_t *cmd = json_array_size(args) ? json_deep_copy(args) : json_array();
        json_t *config = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:O?,s:o,s:O,s:s,s:n,s:{}}", "Hostname",
                                   json_string_value(json_object_get(opt, "Hostname")) ?: "", "Domainname", "", "User",
                                   json_string_value(json_object_get(proc, "user")) ?: "", "AttachStdin", false,
                                   "AttachStdout", false, "AttachStderr", false, "Tty",
                                   json_is_true(json_object_get(opt, "Tty")), "OpenStdin", json_is_true(json_object_get(opt, "Interactive")), "Env",
                                   json_object_get(proc, "env"), "Cmd", cmd, "Image", json_object_get(rec, "Image"),
                                   "WorkingDir", json_string_value(json_object_get(proc, "cwd")) ?: "", "Entrypoint",
                                   "Labels");
        json_object_set_new(config, "StdinOnce", json_boolean(json_is_true(json_object_get(opt, "StdinOnce"))));
        json_object_set_new(config, "Labels", labels_of(rec));
        const char *net = json_string_value(json_object_get(opt, "Network"));
        json_t *host = json_pack("{s:O,s:s,s:b,s:b,s:{s:s}}", "Binds", json_object_get(opt, "Volumes"),
                                 "NetworkMode", net ? net : "default", "AutoRemove",
                                 json_is_true(json_object_get(opt, "AutoRemove")), "ReadonlyRootfs",
                                 json_is_true(json_object_get(opt, "ReadOnly")), "RestartPolicy", "Name", "no");
        json_object_set_new(host, "LogConfig", json_pack("{s:s,s:{}}", "Type", "json-file", "Config"));
        _cleanup_free_ char *created = xstrdup(json_string_value(json_object_get(rec, "Created")) ?: "");
        json_t *j = json_pack("{s:O,s:s,s:s,s:s,s:O?,s:o,s:O,s:s,s:i,s:s,s:s,s:o,s:o,s:[],s:{s:{}}}", "Id",
                              json_object_get(rec, "Id"), "Created", created, "Path",
                              json_string_value(json_array_get(args, 0)) ?: "", "Name", name, "Args",
                              json_null(), "State", state, "Image", json_object_get(rec, "ImageDigest"),
                              "Driver", "overlay", "RestartCount", 0, "Platform", "linux", "MountLabel", "", "Config",
                              config, "HostConfig", host, "Mounts", "NetworkSettings", "Networks");
        json_object_set_new(host, "PortBindings", ports_json(json_object_get(opt, "Publish"), true));
        json_object_set_new(j, "Mounts", mounts_json(q->root, json_object_get(opt, "Volumes")));
        json_object_set_new(config, "Volumes", anon_json(opt));
        json_object_set_new(json_object_get(j, "NetworkSettings"), "Ports",
                            ports_json(json_object_get(opt, "Publish"), true));
        json_t *rest = json_array();
        for (size_t i = 1; i < json_array_size(args); i++)
                json_array_append(rest, json_array_get(args, i));
        json_object_set_new(j, "Args", rest);
        if (api_query_bool(q, "size")) {
                json_int_t rw = (json_int_t) engine_size_rw(q->root, json_string_value(json_object_get(rec, "Id")) ?: "");
                json_object_set_new(j, "SizeRw", json_integer(rw));
                json_object_set_new(j, "SizeRootFs", json_integer(rw));
        }
        json_decref(rec);
        return api_json(ret, 200, j);
}

/* a JSON value docker's CLI sends for a field left alone: null, false, 0, "", [], {} (or all of its members so) */
static bool json_empty(json_t *v)
{
        if (!v)
                return true;
        const char *k;
        json_t *m;
        size_t i;
        switch (json_typeof(v)) {
        case JSON_NULL:
        case JSON_FALSE:
                return true;
        case JSON_INTEGER:
                return json_integer_value(v) == 0;
        case JSON_REAL:
                return json_real_value(v) == 0;
        case JSON_STRING:
                return json_string_length(v) == 0;
        case JSON_ARRAY:
                json_array_foreach(v, i, m) if (!json_empty(m)) return false;
                return true;
        case JSON_OBJECT:
                json_object_foreach(v, k, m) if (!json_empty(m)) return false;
                return true;
        default:
                return false;
        }
}

static bool in_list(const char *k, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(k, *list) == 0)
                        return true;
        return false;
}

/* the fields of obj that are neither handled nor left empty, "a, b": to refuse */
static char *unsupported(json_t *obj, const char *where, const char *const *handled)
{
        char *out = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v)
        {
                if (in_list(k, handled) || json_empty(v))
                        continue;
                /* what the CLI sends by default, meaning what den does */
                if ((strcmp(k, "RestartPolicy") == 0 && json_empty(json_object_get(v, "MaximumRetryCount")) &&
                     (!json_string_value(json_object_get(v, "Name")) ||
                      strcmp(json_string_value(json_object_get(v, "Name")), "no") == 0)) ||
                    (strcmp(k, "MemorySwappiness") == 0 && json_integer_value(v) == -1) ||
                    (strcmp(k, "CgroupnsMode") == 0 && strcmp(json_string_value(v) ?: "", "private") == 0) ||
                    (strcmp(k, "IpcMode") == 0 && strcmp(json_string_value(v) ?: "", "private") == 0))
                        continue;
                char *n = xasprintf("%s%s%s%s", out ? out : "", out ? ", " : "", where, k);
                free(out);
                out = n;
        }
        return out;
}

static int strv_from_json(json_t *a, const char *what, char ***ret, struct api_reply *rep)
{
        size_t i;
        json_t *v;
        if (json_is_null(a) || !a)
                return 0;
        if (json_is_string(a)) {
                strv_push(ret, json_string_value(a));
                return 0;
        }
        if (!json_is_array(a))
                return api_error(rep, 400, "%s: expected an array of strings", what), -1;
        json_array_foreach(a, i, v)
        {
                if (!json_is_string(v))
                        return api_error(rep, 400, "%s: expected an array of strings", what), -1;
                strv_push(ret, json_string_value(v));
        }
        return 0;
}

static void opts_free(struct engine_run_opts *o)
{
        strv_freep(&o->cmd);
        strv_freep(&o->env);
        strv_freep(&o->volumes);
        strv_freep(&o->volumes_from);
        strv_freep(&o->tmpfs);
        strv_freep(&o->publish);
}

/* a free port of the host for a binding without one (docker picks one so) */
static int free_port(const char *ip, bool udp)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        if (!ip || !*ip || inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
                sa.sin_addr.s_addr = htonl(INADDR_ANY);
        _cleanup_close_ int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        socklen_t len = sizeof(sa);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return -1;
        return ntohs(sa.sin_port);
}

/* HostConfig.PortBindings {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} -> den's -p */
static int ports_opts(json_t *pb, struct engine_run_opts *o, struct api_reply *rep)
{
        const char *k;
        json_t *v, *b;
        size_t i;
        json_object_foreach(pb, k, v)
        {
                json_array_foreach(v, i, b)
                {
                        const char *ip = json_string_value(json_object_get(b, "HostIp")) ?: "";
                        const char *hp = json_string_value(json_object_get(b, "HostPort")) ?: "";
                        char port[16];
                        if (!*hp || strcmp(hp, "0") == 0) {
                                int p = free_port(ip, strstr(k, "/udp") != NULL);
                                if (p < 0)
                                        return api_error(rep, 500, "no free host port for %s: %m", k), -1;
                                snprintf(port, sizeof(port), "%d", p);
                                hp = port;
                        }
                        _cleanup_free_ char *spec = xasprintf("%s%s%s:%s", ip, *ip ? ":" : "", hp, k);
                        strv_push(&o->publish, spec);
                }
        }
        return 0;
}

/* one more option of a mount, ":o1,o2" after its spec */
static void opts_add(char **spec, bool *first, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void opts_add(char **spec, bool *first, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *o = NULL;
        if (vasprintf(&o, fmt, ap) < 0)
                abort();
        va_end(ap);
        char *n = xasprintf("%s%s%s", *spec, *first ? ":" : ",", o);
        *first = false;
        free(*spec);
        *spec = n;
}

/* a volume --mount names with options of its own (VolumeOptions.Labels, DriverConfig):
 * made first with them, as dockerd does */
static int mount_volume_make(const char *root, const char *name, json_t *vo, size_t i, struct api_reply *rep)
{
        json_t *labels = json_object_get(vo, "Labels"), *dc = json_object_get(vo, "DriverConfig"), *v;
        if (json_empty(labels) && json_empty(dc))
                return 0;
        if (!*name)
                return api_error(rep, 400, "HostConfig.Mounts[%zu]: an anonymous volume takes no VolumeOptions.Labels "
                                           "or DriverConfig in den", i), -1;
        _cleanup_strv_free_ char **opts = NULL;
        const char *k, *driver = json_string_value(json_object_get(dc, "Name"));
        json_object_foreach(json_object_get(dc, "Options"), k, v)
        {
                _cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(v) ?: "");
                strv_push(&opts, kv);
        }
        /* labels only: one that exists is taken as it is (its options are not compared) */
        struct volume_create_opts o = { .name = name, .driver = driver && *driver ? driver : NULL, .opts = opts,
                                        .labels = json_is_object(labels) ? labels : NULL, .reuse = !opts };
        struct err err = { 0 };
        json_t *vol = NULL;
        if (volume_create(root, &o, &vol, &err) < 0)
                return api_fail(rep, &err), -1;
        json_decref(vol);
        return 0;
}

/* HostConfig.Mounts: binds, volumes (named, or anonymous without a Source) and tmpfs as den's -v and --tmpfs */
static int mounts_opts(const char *root, json_t *mounts, struct engine_run_opts *o, struct api_reply *rep)
{
        json_t *m;
        size_t i;
        json_array_foreach(mounts, i, m)
        {
                const char *type = json_string_value(json_object_get(m, "Type")) ?: "volume";
                const char *src = json_string_value(json_object_get(m, "Source")) ?: "";
                const char *dst = json_string_value(json_object_get(m, "Target")) ?: "";
                bool ro = json_is_true(json_object_get(m, "ReadOnly"));
                json_t *vo = json_object_get(m, "VolumeOptions"), *to = json_object_get(m, "TmpfsOptions");
                if (!*dst)
                        return api_error(rep, 400, "HostConfig.Mounts[%zu]: Target is missing", i), -1;
                if (strcmp(type, "bind") == 0 && *src) {
                        _cleanup_free_ char *v = xasprintf("%s:%s%s", src, dst, ro ? ":ro" : "");
                        strv_push(&o->volumes, v);
                } else if (strcmp(type, "volume") == 0) {
                        struct err err = { 0 };
                        bool nocopy = json_is_true(json_object_get(vo, "NoCopy"));
                        if (*src && volume_name_check(src, &err) < 0)
                                return api_error(rep, 400, "HostConfig.Mounts[%zu]: %s", i, err.msg), -1;
                        if (!json_empty(json_object_get(vo, "Subpath")))
                                return api_error(rep, 400, "HostConfig.Mounts[%zu]: den does not mount a volume's "
                                                           "Subpath yet", i), -1;
                        if (!*src && (ro || nocopy))
                                return api_error(rep, 400, "HostConfig.Mounts[%zu]: den mounts an anonymous volume "
                                                           "read-write, without NoCopy", i), -1;
                        if (mount_volume_make(root, src, vo, i, rep) < 0)
                                return -1;
                        char *v = xasprintf("%s%s%s", src, *src ? ":" : "", dst);
                        bool first = true; /* "NAME:/DST[:OPTS]", or "/DST" for an anonymous one */
                        if (ro)
                                opts_add(&v, &first, "ro");
                        if (nocopy)
                                opts_add(&v, &first, "nocopy");
                        strv_push(&o->volumes, v);
                        free(v);
                } else if (strcmp(type, "tmpfs") == 0) {
                        /* size in bytes, mode as octal: the options of den's --tmpfs DST:OPTS */
                        json_int_t size = json_integer_value(json_object_get(to, "SizeBytes"));
                        json_int_t mode = json_integer_value(json_object_get(to, "Mode"));
                        if (!json_empty(json_object_get(to, "Options")))
                                return api_error(rep, 400, "HostConfig.Mounts[%zu]: TmpfsOptions.Options are not "
                                                           "supported by den yet", i), -1;
                        char *v = xstrdup(dst);
                        bool first = true;
                        if (ro)
                                opts_add(&v, &first, "ro");
                        if (size > 0)
                                opts_add(&v, &first, "size=%lld", (long long) size);
                        if (mode > 0)
                                opts_add(&v, &first, "mode=%llo", (unsigned long long) mode);
                        strv_push(&o->tmpfs, v);
                        free(v);
                } else
                        return api_error(rep, 400, "HostConfig.Mounts[%zu]: den serve mounts bind, volume and tmpfs, "
                                                   "not %s", i, type), -1;
        }
        return 0;
}

/* the target of a "SRC:DST[:OPTS]" or "/DST" mount, in buf */
static const char *mount_target(const char *spec, char *buf, size_t n)
{
        const char *c = strchr(spec, ':');
        if (spec[0] == '/' && (!c || c[1] != '/'))
                c = NULL; /* "/DST" or "/DST:OPTS": an anonymous one */
        const char *d = c ? c + 1 : spec, *e = strchr(d, ':');
        snprintf(buf, n, "%.*s", (int) (e ? (size_t) (e - d) : strlen(d)), d);
        return buf;
}

/* Config.Volumes {"/path": {}}: anonymous volumes, but where a bind or a volume is mounted at that path
 * (docker-compose sends both for its named volumes) */
static int anon_opts(json_t *vols, struct engine_run_opts *o, struct api_reply *rep)
{
        const char *k;
        json_t *v;
        if (vols && !json_is_object(vols) && !json_is_null(vols))
                return api_error(rep, 400, "Volumes: an object {\"/path\": {}}"), -1;
        json_object_foreach(vols, k, v)
        {
                char t[4096];
                bool taken = false;
                for (char **m = o->volumes; m && *m && !taken; m++)
                        taken = strcmp(mount_target(*m, t, sizeof(t)), k) == 0;
                for (char **m = o->tmpfs; m && *m && !taken; m++)
                        taken = strncmp(*m, k, strlen(k)) == 0 && ((*m)[strlen(k)] == ':' || !(*m)[strlen(k)]);
                if (k[0] != '/')
                        return api_error(rep, 400, "Volumes: %s: not an absolute path", k), -1;
                if (!taken)
                        strv_push(&o->volumes, k);
        }
        return 0;
}

/* docker's create body -> den's run options; 400 naming what den does not do */
static int create_opts(json_t *b, struct engine_run_opts *o, char **ret_ep, struct api_reply *rep)
{
        static const char *const top[] = { "Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Tty",
                                           "OpenStdin", "Hostname", "HostConfig", "AttachStdin", "AttachStdout",
                                           "AttachStderr", "StdinOnce", "NetworkingConfig", "Labels", "ExposedPorts",
                                           "Volumes", NULL };
        static const char *const hc[] = { "Binds", "AutoRemove", "NetworkMode", "ReadonlyRootfs", "Tmpfs",
                                          "ConsoleSize", "LogConfig", "Isolation", "PortBindings", "PublishAllPorts",
                                          "Mounts", "VolumesFrom", NULL };
        json_t *h = json_object_get(b, "HostConfig");
        _cleanup_free_ char *u1 = unsupported(b, "", top), *u2 = json_is_object(h) ? unsupported(h, "HostConfig.", hc) : NULL;
        if (u1 || u2)
                return api_error(rep, 400, "den does not support %s%s%s yet", u1 ? u1 : "", u1 && u2 ? ", " : "",
                                 u2 ? u2 : ""), -1;
        /* the log den keeps is docker's json-file; no other driver, no isolation but the default */
        const char *lt = json_string_value(json_object_get(json_object_get(h, "LogConfig"), "Type"));
        if ((lt && *lt && strcmp(lt, "json-file") != 0) || !json_empty(json_object_get(json_object_get(h, "LogConfig"), "Config")))
                return api_error(rep, 400, "HostConfig.LogConfig: den keeps json-file logs only, without options"), -1;
        const char *iso = json_string_value(json_object_get(h, "Isolation"));
        if (iso && *iso && strcmp(iso, "default") != 0)
                return api_error(rep, 400, "HostConfig.Isolation %s: not on Linux", iso), -1;
        o->image = json_string_value(json_object_get(b, "Image"));
        if (!o->image || !*o->image)
                return api_error(rep, 400, "config: Image is missing"), -1;
        char **ep = NULL;
        if (strv_from_json(json_object_get(b, "Entrypoint"), "Entrypoint", &ep, rep) < 0)
                return -1;
        /* den's entrypoint is one word: the rest of docker's array goes before Cmd */
        if (ep) {
                *ret_ep = xstrdup(ep[0]);
                o->entrypoint = *ret_ep;
                for (size_t i = 1; ep[i]; i++)
                        strv_push(&o->cmd, ep[i]);
                strv_freep(&ep);
        }
        if (strv_from_json(json_object_get(b, "Cmd"), "Cmd", &o->cmd, rep) < 0 ||
            strv_from_json(json_object_get(b, "Env"), "Env", &o->env, rep) < 0 ||
            strv_from_json(json_object_get(h, "Binds"), "HostConfig.Binds", &o->volumes, rep) < 0)
                return -1;
        const char *s = json_string_value(json_object_get(b, "WorkingDir"));
        o->workdir = s && *s ? s : NULL;
        s = json_string_value(json_object_get(b, "User"));
        o->user = s && *s ? s : NULL;
        s = json_string_value(json_object_get(b, "Hostname"));
        o->hostname = s && *s ? s : NULL;
        o->tty = json_is_true(json_object_get(b, "Tty"));
        o->interactive = json_is_true(json_object_get(b, "OpenStdin"));
        o->stdin_once = json_is_true(json_object_get(b, "StdinOnce"));
        o->rm = json_is_true(json_object_get(h, "AutoRemove"));
        o->read_only = json_is_true(json_object_get(h, "ReadonlyRootfs"));
        s = json_string_value(json_object_get(h, "NetworkMode"));
        if (s && *s && strcmp(s, "default") != 0 && strcmp(s, "bridge") != 0)
                o->network = s;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(h, "Tmpfs"), k, v)
        {
                const char *to = json_string_value(v);
                _cleanup_free_ char *t = to && *to ? xasprintf("%s:%s", k, to) : xstrdup(k);
                strv_push(&o->tmpfs, t);
        }
        if (ports_opts(json_object_get(h, "PortBindings"), o, rep) < 0 ||
            mounts_opts(o->root, json_object_get(h, "Mounts"), o, rep) < 0 ||
            strv_from_json(json_object_get(h, "VolumesFrom"), "HostConfig.VolumesFrom", &o->volumes_from, rep) < 0 ||
            anon_opts(json_object_get(b, "Volumes"), o, rep) < 0)
                return -1;
        o->publish_all = json_is_true(json_object_get(h, "PublishAllPorts"));
        json_t *labels = json_object_get(b, "Labels");
        json_object_foreach(labels, k, v) if (!json_is_string(v)) return api_error(rep, 400, "Labels: %s: a string", k), -1;
        o->labels = json_is_object(labels) ? labels : NULL;
        o->detach = true;
        o->image_volumes = true; /* as dockerd: the image's VOLUME paths get anonymous volumes */
        return 0;
}

int api_ctr_create(struct api_req *q, struct api_reply *ret)
{
        json_error_t je;
        json_t *b = json_loadb(q->body, q->body_len, 0, &je);
        if (!json_is_object(b)) {
                json_decref(b);
                return api_error(ret, 400, "malformed JSON body: %s", b ? "not an object" : je.text);
        }
        struct engine_run_opts o = { .root = q->root, .runroot = q->runroot, .name = api_query(q, "name") };
        _cleanup_free_ char *ep = NULL, *id = NULL;
        if (o.name && !*o.name)
                o.name = NULL;
        if (create_opts(b, &o, &ep, ret) < 0) {
                opts_free(&o);
                json_decref(b);
                return 0;
        }
        struct err err = { 0 };
        int r = engine_create_id(&o, &id, &err);
        opts_free(&o);
        json_decref(b);
        if (r < 0) {
                /* docker's CLI pulls on a 404 that says "No such image" */
                if (-err.code == ENOENT && strncmp(err.msg, "image ", 6) == 0)
                        return api_error(ret, 404, "No such image: %s", err.msg);
                /* not a 404: docker's CLI would take it for a missing image and pull */
                if (-err.code == ENOENT && strncmp(err.msg, "--volumes-from", 14) == 0)
                        return api_error(ret, 400, "%s", err.msg);
                return api_fail(ret, &err);
        }
        return api_json(ret, 201, json_pack("{s:s,s:[]}", "Id", id, "Warnings"));
}

struct reaper {
        char *root, *runroot, *id;
        pid_t keeper;   /* the keeper den start forked: our child, reaped here (else a zombie
                         * that would stay "running") */
        bool autorm;    /* HostConfig.AutoRemove: removed once it ends, as dockerd does (den start
                         * leaves the removal to whoever ran den run --rm: here, the service) */
};

/* what the service saw of the ends of the containers it started: each exit code, noted
 * before an AutoRemove removes the record that holds it; and a generation that wakes
 * the /waits (instead of their looking again every 50 ms) */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t seen_cond = PTHREAD_COND_INITIALIZER;
static unsigned long seen_gen;
static struct {
        char id[65];
        int code;
        unsigned long gen;
} seen[64];

/* the attaches waiting, each woken through an eventfd of its own (they poll their client too) */
struct waker {
        int fd;
        struct waker *next;
};
static struct waker *wakers;

static int waker_add(void)
{
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
                return -1;
        struct waker *w = xcalloc(1, sizeof(*w));
        w->fd = fd;
        pthread_mutex_lock(&seen_lock);
        w->next = wakers;
        wakers = w;
        pthread_mutex_unlock(&seen_lock);
        return fd;
}

static void waker_del(int fd)
{
        if (fd < 0)
                return;
        pthread_mutex_lock(&seen_lock);
        for (struct waker **pp = &wakers; *pp; pp = &(*pp)->next)
                if ((*pp)->fd == fd) {
                        struct waker *w = *pp;
                        *pp = w->next;
                        free(w);
                        break;
                }
        pthread_mutex_unlock(&seen_lock);
        close(fd);
}

/* code >= 0: an exit; SEEN_START_FAILED: a start that failed (an attach waiting for the
 * container to run ends: docker run -i attaches first, a newer CLI waits for the attach after
 * a failed start); -1: a change to wake for, kept nowhere (a start, a removal) */
#define SEEN_START_FAILED (-2)

static void seen_note(const char *id, int code)
{
        pthread_mutex_lock(&seen_lock);
        for (struct waker *w = wakers; w; w = w->next)
                (void) !eventfd_write(w->fd, 1);
        seen_gen++;
        if (code != -1) {
                size_t i = seen_gen % ELEMENTSOF(seen);
                snprintf(seen[i].id, sizeof(seen[i].id), "%s", id);
                seen[i].code = code;
                seen[i].gen = seen_gen;
        }
        pthread_cond_broadcast(&seen_cond);
        pthread_mutex_unlock(&seen_lock);
}

static unsigned long seen_now(void)
{
        pthread_mutex_lock(&seen_lock);
        unsigned long g = seen_gen;
        pthread_mutex_unlock(&seen_lock);
        return g;
}

/* the last exit of id (or, failed, its failed start) noted after generation since */
static bool seen_find(const char *id, unsigned long since, bool failed, int *code)
{
        bool hit = false;
        unsigned long best = 0;
        pthread_mutex_lock(&seen_lock);
        for (size_t i = 0; i < ELEMENTSOF(seen); i++)
                if (seen[i].gen > since && seen[i].gen > best && strcmp(seen[i].id, id) == 0 &&
                    (failed ? seen[i].code == SEEN_START_FAILED : seen[i].code >= 0)) {
                        best = seen[i].gen;
                        if (code)
                                *code = seen[i].code;
                        hit = true;
                }
        pthread_mutex_unlock(&seen_lock);
        return hit;
}

static bool seen_exit(const char *id, unsigned long since, int *code)
{
        return seen_find(id, since, false, code);
}

/* until something is noted after *gen, or ms pass */
static void seen_wait(unsigned long *gen, int ms)
{
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += (long) ms * 1000000L;
        t.tv_sec += t.tv_nsec / 1000000000L;
        t.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&seen_lock);
        while (seen_gen == *gen)
                if (pthread_cond_timedwait(&seen_cond, &seen_lock, &t) != 0)
                        break;
        *gen = seen_gen;
        pthread_mutex_unlock(&seen_lock);
}

static void *reap(void *arg)
{
        struct reaper *p = arg;
        struct err err = { 0 };
        if (p->keeper > 0)
                waitpid(p->keeper, NULL, 0);
        else
                engine_wait(p->root, p->runroot, p->id, &err);
        /* the keeper is gone: its exit file tells the code, noted before a removal takes it.
         * Under the lock starts take: a client told of the end may start the container again
         * at once, and that run's start must not be read as this run's end */
        api_serial(true);
        json_t *rec = NULL;
        bool again = engine_inspect(p->root, p->runroot, p->id, &rec, &err) >= 0 &&
                     json_is_true(json_object_get(json_object_get(rec, "State"), "Running"));
        json_decref(rec);
        err_clear(&err);
        int code = again ? -1 : engine_wait(p->root, p->runroot, p->id, &err);
        if (!again)
                api_console_drop(p->id);
        api_serial(false);
        if (!again)
                seen_note(p->id, code < 0 ? 137 : code);
        for (int i = 0; p->autorm && i < 50; i++) {
                err_clear(&err);
                api_serial(true);
                /* with its anonymous volumes, as dockerd's AutoRemove */
                int r = engine_rm_volumes(p->root, p->runroot, p->id, true, true, &err);
                api_serial(false);
                if (r >= 0 || r == -ENOENT) {
                        seen_note(p->id, -1);
                        break;
                }
                if (i == 49)
                        log_warn("cannot remove container %s (AutoRemove): %s", p->id, err.msg);
                usleep(100 * 1000);
        }
        free(p->root), free(p->runroot), free(p->id);
        free(p);
        api_hold(-1);
        return NULL;
}

static void reap_later(struct api_req *q, const char *id, pid_t keeper, bool autorm)
{
        struct reaper *p = xcalloc(1, sizeof(*p));
        p->root = xstrdup(q->root), p->runroot = q->runroot ? xstrdup(q->runroot) : NULL, p->id = xstrdup(id);
        p->keeper = keeper, p->autorm = autorm;
        api_hold(+1);
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, reap, p) != 0) {
                api_hold(-1);
                free(p->root), free(p->runroot), free(p->id);
                free(p);
        }
        pthread_attr_destroy(&a);
}

int api_ctr_start(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return api_fail(ret, &err);
        json_t *opts = json_object_get(rec, "Options");
        bool autorm = json_is_true(json_object_get(opts, "AutoRemove")), tty = json_is_true(json_object_get(opts, "Tty")),
             in = json_is_true(json_object_get(opts, "Interactive")), once = json_is_true(json_object_get(opts, "StdinOnce"));
        _cleanup_free_ char *id = xstrdup(json_string_value(json_object_get(rec, "Id")) ?: q->params[0]);
        json_decref(rec);
        pid_t keeper = 0;
        /* with a terminal or input: started with its input from here (routes_exec.c) */
        /* the keeper's pid from the start itself: a quick command may be over before an inspect */
        int r = tty || in ? api_console_start(q->root, q->runroot, id, tty, in, once, &keeper, &err)
                          : ctr_start_io(q->root, q->runroot, id, NULL, &keeper, &err);
        if (r >= 0) {
                seen_note(id, -1);
                reap_later(q, id, keeper, autorm);
        }
        if (r == -EBUSY) {
                ret->status = 304;
                return 0;
        }
        if (r < 0) {
                seen_note(id, SEEN_START_FAILED);
                return api_fail(ret, &err);
        }
        ret->status = 204;
        return 0;
}

/* the state of a container: "created", "running", "exited"...; NULL when there is none */
static char *ctr_state(struct api_req *q, int *code)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return NULL;
        char *st = xstrdup(json_string_value(json_object_get(rec, "Status")) ?: "unknown");
        *code = (int) json_integer_value(json_object_get(rec, "ExitCode"));
        json_decref(rec);
        return st;
}

/* like ctr_state, with when its command last ended (seconds, -1: never), from the list */
static char *ctr_status(const char *root, const char *runroot, const char *ref, int *code, long long *finished)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(root, runroot, ref, &rec, &err) < 0)
                return NULL;
        const char *id = json_string_value(json_object_get(rec, "Id")) ?: "";
        char *st = xstrdup(json_string_value(json_object_get(rec, "Status")) ?: "unknown");
        *code = (int) json_integer_value(json_object_get(rec, "ExitCode"));
        /* FinishedAt is in seconds: two runs in one second look alike; the exit file's
         * time to the nanosecond (engine.h: <runroot>/containers/<id>/exit) tells them apart */
        _cleanup_free_ char *ep = xasprintf("%s/containers/%s/exit", runroot, id);
        struct stat sb;
        /* an empty one is a start under way (it is made anew, empty, before the keeper runs): no end yet */
        *finished = stat(ep, &sb) < 0 || sb.st_size == 0 ? -1
                                                         : (long long) sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
        json_decref(rec);
        return st;
}

struct waiter {
        char *root, *runroot, *id, *cond;
        unsigned long since; /* seen_now() as the wait began */
        long long finished; /* when it last ended as the wait began: a later end is the next exit */
        bool done;
};

static void waiter_free(void *cls)
{
        struct waiter *w = cls;
        free(w->root), free(w->runroot), free(w->id), free(w->cond);
        free(w);
}

/* the body of a /wait, once the container has ended (or been removed, condition=removed) */
static size_t wait_body(void *cls, char *buf, size_t max)
{
        struct waiter *w = cls;
        if (w->done)
                return 0;
        w->done = true;
        const char *cond = w->cond;
        bool next = cond && (strcmp(cond, "next-exit") == 0 || strcmp(cond, "removed") == 0);
        bool removed = cond && strcmp(cond, "removed") == 0;
        int code = -1, now, noted;
        long long fin = -1;
        bool seen_run = false;
        unsigned long gen = seen_now();
        for (;;) {
                /* an end the service saw is the one reported: the record may be gone (AutoRemove) */
                if (seen_exit(w->id, w->since, &noted)) {
                        code = noted;
                        seen_run = true;
                }
                _cleanup_free_ char *st = ctr_status(w->root, w->runroot, w->id, &now, &fin);
                if (!st)
                        break; /* removed (AutoRemove) */
                bool running = strcmp(st, "running") == 0;
                /* the first end seen is the one reported: a removal may start a keeper of its own */
                if (running && code < 0) {
                        struct err err = { 0 };
                        seen_run = true;
                        int r = engine_wait(w->root, w->runroot, w->id, &err);
                        code = r >= 0 ? r : 0;
                        if (!removed)
                                break;
                        continue;
                }
                /* a new end has an exit file of a new time (a start in progress has none for a moment) */
                bool ended = !running && strcmp(st, "created") != 0 && (!next || seen_run || (fin > 0 && fin != w->finished));
                if (ended && code < 0)
                        code = now;
                if (ended && !removed)
                        break;
                /* created, or waiting for the next exit or the removal */
                seen_wait(&gen, 50);
        }
        if (seen_exit(w->id, w->since, &noted))
                code = noted;
        int n = snprintf(buf, max, "{\"StatusCode\":%d,\"Error\":null}\n", code < 0 ? 0 : code);
        return n > 0 && (size_t) n < max ? (size_t) n : 0;
}

int api_ctr_wait(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return api_fail(ret, &err);
        struct waiter *w = xcalloc(1, sizeof(*w));
        const char *cond = api_query(q, "condition");
        int code;
        w->root = xstrdup(q->root), w->runroot = q->runroot ? xstrdup(q->runroot) : NULL;
        w->id = xstrdup(json_string_value(json_object_get(rec, "Id")));
        w->cond = cond && *cond ? xstrdup(cond) : NULL;
        w->since = seen_now();
        json_decref(rec);
        free(ctr_status(w->root, w->runroot, w->id, &code, &w->finished));
        ret->status = 200;
        ret->gen = wait_body, ret->gen_cls = w, ret->gen_free = waiter_free;
        return 0;
}

int api_ctr_stop(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        const char *t = api_query(q, "t");
        int timeout = t && *t ? atoi(t) : 10;
        int code;
        _cleanup_free_ char *st = ctr_state(q, &code);
        if (!st)
                return api_error(ret, 404, "No such container: %s", q->params[0]);
        if (strcmp(st, "running") != 0) {
                ret->status = 304;
                return 0;
        }
        if (engine_stop(q->root, q->runroot, q->params[0], timeout < 0 ? 0 : timeout, &err) < 0)
                return api_fail(ret, &err);
        ret->status = 204;
        return 0;
}

int api_ctr_kill(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        const char *s = api_query(q, "signal");
        int sig = s && *s ? signal_parse(s) : SIGKILL, code;
        if (sig < 0)
                return api_error(ret, 400, "invalid signal: %s", s);
        _cleanup_free_ char *st = ctr_state(q, &code);
        if (!st)
                return api_error(ret, 404, "No such container: %s", q->params[0]);
        if (strcmp(st, "running") != 0)
                return api_error(ret, 409, "Container %s is not running", q->params[0]);
        if (engine_kill(q->root, q->runroot, q->params[0], sig, &err) < 0)
                return api_fail(ret, &err);
        ret->status = 204;
        return 0;
}

int api_ctr_delete(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        int code;
        bool force = api_query_bool(q, "force");
        _cleanup_free_ char *st = ctr_state(q, &code);
        if (!st)
                return api_error(ret, 404, "No such container: %s", q->params[0]);
        if (!force && strcmp(st, "running") == 0) {
                json_t *rec = NULL;
                _cleanup_free_ char *id = engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0
                                                  ? xstrdup(q->params[0])
                                                  : xstrdup(json_string_value(json_object_get(rec, "Id")) ?: q->params[0]);
                json_decref(rec);
                return api_error(ret, 409,
                                 "You cannot remove a running container %s. Stop the container before attempting removal or force remove",
                                 id);
        }
        /* v: its anonymous volumes too */
        if (engine_rm_volumes(q->root, q->runroot, q->params[0], force, api_query_bool(q, "v"), &err) < 0)
                return api_fail(ret, &err);
        ret->status = 204;
        return 0;
}

#define LOG_MAX (64u << 20) /* the last 64 MiB of a log at most in one answer */

/* docker's multiplexed frames: [stream, 0, 0, 0, size (big-endian u32)] then the bytes */
static void frame(char **buf, size_t *len, int stream, const char *data, size_t n)
{
        *buf = xrealloc(*buf, *len + 8 + n);
        unsigned char *h = (unsigned char *) *buf + *len;
        h[0] = (unsigned char) stream;
        h[1] = h[2] = h[3] = 0;
        h[4] = (unsigned char) (n >> 24), h[5] = (unsigned char) (n >> 16), h[6] = (unsigned char) (n >> 8),
        h[7] = (unsigned char) n;
        memcpy(*buf + *len + 8, data, n);
        *len += 8 + n;
}

/* den's log is docker's json-file, one {"log","stream","time"} a line (a terminal's
 * output too, in pieces as read): the complete lines of data as docker's frames (raw with a tty)
 * appended to *buf; returns how much of data it used */
/* what of a log is wanted: streams, the time of each entry before it, a window of time */
struct log_sel {
        bool tty, out, err, ts;
        time_t since, until; /* 0: open */
};

static size_t log_frames(const char *data, size_t n, const struct log_sel *s, char **buf, size_t *len)
{
        const char *line = data, *nl;
        for (; line < data + n && (nl = memchr(line, '\n', (size_t) (data + n - line))); line = nl + 1) {
                json_t *e = json_loadb(line, (size_t) (nl - line), 0, NULL);
                const char *text = json_string_value(json_object_get(e, "log"));
                const char *stream = json_string_value(json_object_get(e, "stream"));
                const char *when = json_string_value(json_object_get(e, "time")) ?: "";
                bool is_err = stream && strcmp(stream, "stderr") == 0;
                size_t tl = json_string_length(json_object_get(e, "log"));
                time_t t = s->since || s->until ? format_parse_time(when) : 0;
                if (!text || (s->since && t < s->since) || (s->until && t > s->until) ||
                    (s->tty ? !s->out : !(is_err ? s->err : s->out))) {
                        json_decref(e);
                        continue;
                }
                _cleanup_free_ char *stamped = s->ts ? xasprintf("%s %.*s", when, (int) tl, text) : NULL;
                if (stamped)
                        text = stamped, tl = strlen(stamped);
                if (s->tty) {
                        *buf = xrealloc(*buf, *len + tl + 1);
                        memcpy(*buf + *len, text, tl);
                        *len += tl;
                } else
                        frame(buf, len, is_err ? 2 : 1, text, tl);
                json_decref(e);
        }
        return (size_t) (line - data);
}


/* an attach: the container's log followed from where it stood, to the client's socket */
struct attach {
        char *root, *runroot, *id;
        int logfd;             /* the log, opened (made) before start: read on after a --rm removed it */
        off_t off;             /* read up to here */
        off_t off0;            /* the log's size as the attach began: grown, the container ran */
        bool tty, out, err;
        bool in;               /* stdin=1: what the client sends goes to the container's console */
        char *typed;           /* input not yet taken (the container has not started) */
        size_t n_typed;
        bool in_end, in_end_sent;
        unsigned long failures; /* seen_now() as it began: a failed start after it ends the attach */
        bool ts;               /* logs: each entry's time before it */
        time_t since, until;   /* logs: the window (0: open) */
        char *log_path;
        bool was_created;      /* not started when attached: its first end is the one to wait for */
        long long finished;    /* when it last ended as the attach began */
};

static void attach_free(struct attach *a)
{
        free(a->root), free(a->runroot), free(a->id), free(a->typed), free(a->log_path);
        if (a->logfd >= 0)
                close(a->logfd);
        free(a);
}

/* what the log gained since a->off, as frames appended to *out */
static void attach_read(struct attach *a, char **pend, size_t *n_pend, char **out, size_t *n_out)
{
        char chunk[65536];
        ssize_t k;
        while ((k = pread(a->logfd, chunk, sizeof(chunk), a->off)) > 0) {
                a->off += k;
                *pend = xrealloc(*pend, *n_pend + (size_t) k);
                memcpy(*pend + *n_pend, chunk, (size_t) k);
                *n_pend += (size_t) k;
        }
        struct log_sel s = { .tty = a->tty, .out = a->out, .err = a->err, .ts = a->ts, .since = a->since, .until = a->until };
        size_t used = log_frames(*pend, *n_pend, &s, out, n_out);
        if (used) {
                memmove(*pend, *pend + used, *n_pend - used);
                *n_pend -= used;
        }
}

/* the same, sent; false when the client is gone */
static bool attach_pump(struct attach *a, int fd, char **pend, size_t *n_pend)
{
        char *out = NULL;
        size_t n_out = 0;
        attach_read(a, pend, n_pend, &out, &n_out);
        bool ok = true;
        for (size_t sent = 0; sent < n_out && ok;) {
                ssize_t w = send(fd, out + sent, n_out - sent, MSG_NOSIGNAL);
                ok = w > 0;
                sent += w > 0 ? (size_t) w : 0;
        }
        free(out);
        return ok;
}

/* docker logs -f: the log followed until the container's command ends */
struct follow {
        struct attach *a;
        char *pend, *out;  /* a partial line read; frames not yet given to MHD */
        size_t n_pend, n_out, given;
        bool ended;
};

static void follow_free(void *cls)
{
        struct follow *f = cls;
        attach_free(f->a);
        free(f->pend), free(f->out);
        free(f);
}

static size_t follow_body(void *cls, char *buf, size_t max)
{
        struct follow *f = cls;
        for (;;) {
                if (f->given < f->n_out) {
                        size_t n = f->n_out - f->given < max ? f->n_out - f->given : max;
                        memcpy(buf, f->out + f->given, n);
                        f->given += n;
                        return n;
                }
                f->given = f->n_out = 0;
                if (f->ended)
                        return 0;
                attach_read(f->a, &f->pend, &f->n_pend, &f->out, &f->n_out);
                if (f->n_out)
                        continue;
                int code;
                long long fin;
                _cleanup_free_ char *st = ctr_status(f->a->root, f->a->runroot, f->a->id, &code, &fin);
                if (!st || strcmp(st, "running") != 0) {
                        struct err err = { 0 };
                        engine_wait(f->a->root, f->a->runroot, f->a->id, &err);
                        attach_read(f->a, &f->pend, &f->n_pend, &f->out, &f->n_out);
                        f->ended = true;
                        continue;
                }
                usleep(100 * 1000);
        }
}

/* a pidfd of the container's keeper, -1 when there is none */
static int keeper_pidfd(struct attach *a)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(a->root, a->runroot, a->id, &rec, &err) < 0)
                return -1;
        pid_t pid = (pid_t) json_integer_value(json_object_get(rec, "KeeperPid"));
        json_decref(rec);
        return pid > 0 ? (int) syscall(SYS_pidfd_open, pid, 0) : -1;
}

#define TYPED_MAX (1u << 20) /* input kept for a container that has no console (yet): past this, dropped */

static void attach_typed(struct attach *a, const char *data, size_t n)
{
        if (!a->in || !n || a->n_typed + n > TYPED_MAX)
                return;
        a->typed = xrealloc(a->typed, a->n_typed + n);
        memcpy(a->typed + a->n_typed, data, n);
        a->n_typed += n;
}

static void attach_stream(void *cls, int fd, const char *extra, size_t n_extra)
{
        struct attach *a = cls;
        char *pend = NULL, buf[4096];
        size_t n_pend = 0;
        bool seen_run = false, in_open = true;
        attach_typed(a, extra, n_extra);
        /* woken by the log growing (inotify) and the keeper's end (its pidfd), not only
         * every 50 ms: an interactive terminal's echo, and docker run's end, come at once */
        int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), pidfd = -1, wake = waker_add();
        if (ino >= 0 && a->log_path)
                inotify_add_watch(ino, a->log_path, IN_MODIFY);
        for (;;) {
                /* the client's input goes to the console (once the container has one: docker
                 * run attaches before it starts); a hang-up ends the attach */
                struct pollfd p[4] = { { .fd = fd, .events = in_open ? POLLIN : 0 },
                                       { .fd = ino, .events = POLLIN },
                                       { .fd = pidfd, .events = POLLIN },
                                       { .fd = wake, .events = POLLIN } };
                if (poll(p, 4, 50) > 0) {
                        eventfd_t ev;
                        if (p[3].revents)
                                (void) !eventfd_read(wake, &ev);
                        if (p[1].revents)
                                while (read(ino, buf, sizeof(buf)) > 0)
                                        ;
                        /* the keeper ended: told once (its state follows once it is reaped) */
                        if (p[2].revents) {
                                close(pidfd);
                                pidfd = -2;
                        }
                        ssize_t k = (p[0].revents & POLLIN) ? recv(fd, buf, sizeof(buf), MSG_DONTWAIT) : -1;
                        if (k > 0)
                                attach_typed(a, buf, (size_t) k);
                        else if (k == 0) {
                                in_open = false;
                                a->in_end = true;
                        } else if (p[0].revents & (POLLHUP | POLLERR))
                                break;
                }
                if (a->in && (a->n_typed || (a->in_end && !a->in_end_sent)) &&
                    api_console_input(a->id, a->typed, a->n_typed, a->in_end) == 0) {
                        a->n_typed = 0;
                        a->in_end_sent = a->in_end;
                }
                if (!attach_pump(a, fd, &pend, &n_pend))
                        break;
                int code;
                long long fin = -1;
                _cleanup_free_ char *st = ctr_status(a->root, a->runroot, a->id, &code, &fin);
                if (st && strcmp(st, "running") == 0) {
                        seen_run = true;
                        if (pidfd == -1)
                                pidfd = keeper_pidfd(a);
                        continue;
                }
                if (!seen_run && seen_find(a->id, a->failures, true, NULL))
                        break;
                /* exited with an empty exit file, never seen running: a start under way, its keeper
                 * not recorded yet (taken for an end, the attach stopped passing input on, and a
                 * command reading to the end of its input waited for ever: docker run -i, 1 in 20) */
                if (!seen_run && fin < 0 && st && strcmp(st, "exited") == 0)
                        continue;
                /* ended (or removed, --rm): what the log still holds, then the end */
                if (!st || (strcmp(st, "created") != 0 &&
                            (seen_run || a->was_created || (fin > 0 && fin != a->finished) || a->off > a->off0))) {
                        /* the keeper may still be moving the last output into the log: until it is gone */
                        struct err err = { 0 };
                        engine_wait(a->root, a->runroot, a->id, &err);
                        attach_pump(a, fd, &pend, &n_pend);
                        break;
                }
        }
        free(pend);
        if (ino >= 0)
                close(ino);
        if (pidfd >= 0)
                close(pidfd);
        waker_del(wake);
        shutdown(fd, SHUT_WR);
        attach_free(a);
}

static void attach_drop(void *cls)
{
        attach_free(cls);
}

int api_ctr_attach(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return api_fail(ret, &err);
        struct attach *a = xcalloc(1, sizeof(*a));
        a->root = xstrdup(q->root), a->runroot = q->runroot ? xstrdup(q->runroot) : NULL;
        a->id = xstrdup(json_string_value(json_object_get(rec, "Id")));
        a->tty = json_is_true(json_object_get(json_object_get(rec, "Options"), "Tty"));
        a->was_created = strcmp(json_string_value(json_object_get(rec, "Status")) ?: "", "created") == 0;
        a->out = api_query_bool(q, "stdout"), a->err = api_query_bool(q, "stderr");
        a->failures = seen_now();
        a->in = api_query_bool(q, "stdin") && json_is_true(json_object_get(json_object_get(rec, "Options"), "Interactive"));
        json_decref(rec);
        int code;
        free(ctr_status(a->root, a->runroot, a->id, &code, &a->finished));
        _cleanup_free_ char *path = NULL;
        a->logfd = -1;
        if (engine_log_path(q->root, q->runroot, a->id, &path, &err) < 0) {
                attach_free(a);
                return api_fail(ret, &err);
        }
        /* made here when the container has not run: the keeper writes into this file (never truncated) */
        a->logfd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        a->log_path = xstrdup(path);
        struct stat sb;
        if (a->logfd < 0 || fstat(a->logfd, &sb) < 0) {
                attach_free(a);
                return api_error(ret, 500, "cannot open the log of '%s': %s", q->params[0], strerror(errno));
        }
        a->off = a->off0 = sb.st_size;
        ret->status = 101;
        ret->content_type = a->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
        ret->hijack = attach_stream;
        ret->hijack_cls = a;
        ret->hijack_drop = attach_drop;
        return 0;
}

int api_ctr_logs(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0)
                return api_fail(ret, &err);
        bool tty = json_is_true(json_object_get(json_object_get(rec, "Options"), "Tty"));
        json_decref(rec);
        if (!api_query_bool(q, "stdout") && !api_query_bool(q, "stderr"))
                return api_error(ret, 400, "Bad parameters: you must choose at least one stream");
        _cleanup_free_ char *path = NULL;
        if (engine_log_path(q->root, q->runroot, q->params[0], &path, &err) < 0)
                return api_fail(ret, &err);
        ret->status = 200;
        ret->content_type = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) < 0)
                return 0;
        off_t from = sb.st_size > (off_t) LOG_MAX ? sb.st_size - (off_t) LOG_MAX : 0;
        size_t n = (size_t) (sb.st_size - from), got = 0;
        _cleanup_free_ char *data = xmalloc(n + 1);
        while (got < n) {
                ssize_t k = pread(fd, data + got, n - got, from + (off_t) got);
                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        /* the last N lines: skip the others */
        const char *tail = api_query(q, "tail");
        long keep = tail && *tail && strcmp(tail, "all") != 0 ? atol(tail) : -1;
        size_t n_lines = 0, start = 0;
        for (size_t i = 0; i < got; i++)
                n_lines += data[i] == '\n';
        for (size_t skip = keep >= 0 && (size_t) keep < n_lines ? n_lines - (size_t) keep : 0; skip && start < got; start++)
                skip -= data[start] == '\n';
        /* since and until: seconds since the epoch, maybe with a fraction (docker's CLI turns
         * "10m" or a date into that) */
        const char *since = api_query(q, "since"), *until = api_query(q, "until");
        struct log_sel s = { .tty = tty, .out = api_query_bool(q, "stdout"), .err = api_query_bool(q, "stderr"),
                             .ts = api_query_bool(q, "timestamps"), .since = since ? (time_t) atoll(since) : 0,
                             .until = until ? (time_t) atoll(until) : 0 };
        log_frames(data + start, got - start, &s, &ret->body, &ret->body_len);
        /* a window that has ended is all there is to follow */
        if (!api_query_bool(q, "follow") || (s.until && s.until <= time(NULL)))
                return 0;
        /* then what comes, until the command ends: its headers at once, as docker's */
        struct follow *f = xcalloc(1, sizeof(*f));
        f->a = xcalloc(1, sizeof(*f->a));
        f->a->root = xstrdup(q->root), f->a->runroot = q->runroot ? xstrdup(q->runroot) : NULL;
        f->a->id = xstrdup(q->params[0]);
        f->a->tty = tty, f->a->out = s.out, f->a->err = s.err;
        f->a->ts = s.ts, f->a->since = s.since, f->a->until = s.until;
        f->a->logfd = TAKE_FD(fd);
        f->a->off = from + (off_t) got;
        f->out = TAKE_PTR(ret->body);
        f->n_out = ret->body_len;
        ret->gen = follow_body, ret->gen_cls = f, ret->gen_free = follow_free;
        return 0;
}

const struct api_route api_routes_ctr[] = {
        { "GET", "/containers/json", api_ctr_list, true },
        { "POST", "/containers/create", api_ctr_create, true },
        { "GET", "/containers/{id}/json", api_ctr_inspect, true },
        { "POST", "/containers/{id}/start", api_ctr_start, true },
        { "POST", "/containers/{id}/wait", api_ctr_wait, false },
        { "POST", "/containers/{id}/stop", api_ctr_stop, false },
        { "POST", "/containers/{id}/kill", api_ctr_kill, true },
        { "GET", "/containers/{id}/logs", api_ctr_logs, false },
        { "POST", "/containers/{id}/attach", api_ctr_attach, true },
        { "DELETE", "/containers/{id}", api_ctr_delete, true },
        { NULL },
};
