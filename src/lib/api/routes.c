/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes, each a thin call into den's library: the
 * table, then /_ping, /version, /info and the image routes.  The container
 * routes are in routes_ctr.c. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "internal.h"
#include "lib/base/macro.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/format.h"
#include "lib/store/image.h"

const struct api_route api_routes[] = {
        { "GET", "/_ping", api_ping, false },
        { "GET", "/version", api_version, false },
        { "GET", "/info", api_info, true },
        { "GET", "/images/json", api_images_list, true },
        { "GET", "/images/{name}/json", api_image_inspect, true },
        { "GET", "/images/{name}/history", api_image_history, true },
        { "POST", "/images/{name}/tag", api_image_tag, true },
        { "DELETE", "/images/{name}", api_image_delete, true },
        { NULL },
};

int api_ping(struct api_req *q, struct api_reply *ret)
{
        ret->status = 200;
        ret->body = xstrdup("OK");
        ret->body_len = 2;
        ret->content_type = "text/plain; charset=utf-8";
        /* the classic builder (POST /build): docker's CLI asks for BuildKit only from a "2" */
        ret->header = xstrdup("Builder-Version: 1");
        return 0;
}

static const char *go_arch(void)
{
        static struct utsname u;
        uname(&u);
        if (strcmp(u.machine, "x86_64") == 0)
                return "amd64";
        if (strcmp(u.machine, "aarch64") == 0)
                return "arm64";
        return u.machine;
}

static const char *kernel(void)
{
        static struct utsname u;
        uname(&u);
        return u.release;
}

int api_version(struct api_req *q, struct api_reply *ret)
{
        json_t *details = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", API_VERSION, "MinAPIVersion",
                                    API_VERSION_MIN, "Os", "linux", "Arch", go_arch(), "KernelVersion", kernel(),
                                    "Experimental", "false");
        return api_json(ret, 200,
                        json_pack("{s:{s:s},s:[{s:s,s:s,s:o}],s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Platform",
                                  "Name", "den " DEN_VERSION, "Components", "Name", "Engine", "Version", DEN_VERSION,
                                  "Details", details, "Version", DEN_VERSION, "ApiVersion", API_VERSION,
                                  "MinAPIVersion", API_VERSION_MIN, "GitCommit", "", "GoVersion", "none (C)", "Os",
                                  "linux", "Arch", go_arch(), "KernelVersion", kernel(), "BuildTime", ""));
}

/* the distinct images of the store (names -> manifests) */
static int count_images(const char *root, size_t *ret)
{
        struct store s;
        struct err err = { 0 };
        json_t *names = NULL, *seen = json_object();
        if (store_open(root, &s, &err) >= 0) {
                if (image_names_load(&s, &names, &err) >= 0) {
                        const char *k;
                        json_t *v;
                        json_object_foreach(names, k, v) json_object_set(seen, json_string_value(v), json_true());
                        json_decref(names);
                }
                store_close(&s);
        }
        *ret = json_object_size(seen);
        json_decref(seen);
        return 0;
}

int api_info(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *list = NULL, *c;
        size_t i, running = 0, stopped = 0, n_images = 0;
        if (engine_list(q->root, q->runroot, &list, &err) < 0)
                return api_fail(ret, &err);
        json_array_foreach(list, i, c)
        {
                const char *st = json_string_value(json_object_get(c, "Status"));
                if (st && strcmp(st, "running") == 0)
                        running++;
                else
                        stopped++;
        }
        size_t total = json_array_size(list);
        json_decref(list);
        count_images(q->root, &n_images);
        struct sysinfo si;
        sysinfo(&si);
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:b,s:s}", "ID",
                              "den", "Containers", (json_int_t) total, "ContainersRunning", (json_int_t) running,
                              "ContainersPaused", (json_int_t) 0, "ContainersStopped", (json_int_t) stopped, "Images",
                              (json_int_t) n_images, "Driver", "overlay", "OperatingSystem", "den", "OSType", "linux",
                              "Architecture", go_arch(), "KernelVersion", kernel(), "NCPU",
                              (json_int_t) sysconf(_SC_NPROCESSORS_ONLN), "MemTotal",
                              (json_int_t) si.totalram * si.mem_unit, "Name", host, "ServerVersion", DEN_VERSION,
                              "DockerRootDir", q->root, "CgroupDriver", "none", "Debug", false, "LoggingDriver",
                              "json-file");
        json_object_set_new(j, "SecurityOptions",
                            json_pack("[s,s]", "name=seccomp,profile=default", geteuid() ? "name=rootless" : "name=root"));
        json_object_set_new(j, "Plugins", json_pack("{s:[],s:[s],s:[]}", "Volume", "Network", "host", "Log"));
        json_object_set_new(j, "RegistryConfig", json_pack("{s:{},s:[]}", "IndexConfigs", "Mirrors"));
        json_object_set_new(j, "Swarm", json_pack("{s:s}", "LocalNodeState", "inactive"));
        return api_json(ret, 200, j);
}

/* a name, a full or short image id ("sha256:ab12..." or "ab12...") -> manifest digest */
static int image_find(struct store *s, const char *ref, char man[DIGEST_STR_MAX], struct err *err)
{
        struct err e1 = { 0 };
        /* "sha256:..." is docker's image id (the config's digest), not den's manifest digest */
        if (strncmp(ref, "sha256:", 7) != 0 && image_resolve(s, ref, man, &e1) >= 0)
                return 0;
        return image_find_id(s, ref, man, err);
}

static json_int_t created_of(json_t *info)
{
        time_t t = format_parse_time(json_string_value(json_object_get(json_object_get(info, "Config"), "created")));
        return t < 0 ? 0 : (json_int_t) t;
}

/* docker's image summary (/images/json) */
static json_t *image_summary(json_t *info)
{
        json_t *labels = json_object_get(json_object_get(json_object_get(info, "Config"), "config"), "Labels");
        return json_pack("{s:O,s:s,s:O,s:[],s:I,s:O,s:O,s:i,s:O,s:i}", "Id", json_object_get(info, "Id"), "ParentId", "",
                         "RepoTags", json_object_get(info, "RepoTags"), "RepoDigests", "Created", created_of(info),
                         "Size", json_object_get(info, "Size"), "VirtualSize", json_object_get(info, "Size"),
                         "SharedSize", -1, "Labels", json_is_object(labels) ? labels : json_null(), "Containers", -1);
}

/* the values of filter key: docker's {"key":{"v":true}} or the older {"key":["v"]} */
static json_t *filter_values(json_t *filters, const char *key)
{
        json_t *f = json_object_get(filters, key), *out = json_array(), *v;
        const char *k;
        size_t i;
        if (json_is_object(f))
                json_object_foreach(f, k, v) if (json_is_true(v)) json_array_append_new(out, json_string(k));
        if (json_is_array(f))
                json_array_foreach(f, i, v) if (json_is_string(v)) json_array_append(out, v);
        return out;
}

/* a name against docker's reference pattern: as it is and as docker shows it (no
 * docker.io/library/ or localhost/), the tag left out when the pattern has none */
static bool reference_match(const char *pattern, const char *name)
{
        static const char *const prefixes[] = { "", "docker.io/library/", "docker.io/", "localhost/" };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                size_t pl = strlen(prefixes[i]);
                if (strncmp(name, prefixes[i], pl) != 0)
                        continue;
                _cleanup_free_ char *n = xstrdup(name + pl);
                const char *slash = strrchr(n, '/');
                char *colon = strchr(slash ? slash : n, ':');
                if (fnmatch(pattern, n, FNM_PATHNAME) == 0)
                        return true;
                if (colon && !strchr(strrchr(pattern, '/') ? strrchr(pattern, '/') : pattern, ':')) {
                        *colon = '\0';
                        if (fnmatch(pattern, n, FNM_PATHNAME) == 0)
                                return true;
                }
        }
        return false;
}

/* the Created of the image ref names (before=, since=), -1 when there is none */
static json_int_t created_by_ref(struct store *s, const char *ref)
{
        char man[DIGEST_STR_MAX];
        json_t *info = NULL;
        struct err e = { 0 };
        if (image_find(s, ref, man, &e) < 0 || image_inspect(s, man, &info, &e) < 0)
                return -1;
        json_int_t t = created_of(info);
        json_decref(info);
        return t;
}

/* docker's filters of /images/json: dangling, reference, label, before, since; false
 * drops the image, RepoTags narrowed to the names a reference matched */
static bool image_filter(struct store *s, json_t *filters, json_t *info, struct err *err)
{
        json_t *vals, *v, *tags = json_object_get(info, "RepoTags");
        size_t i, j;
        bool keep = true;
        vals = filter_values(filters, "dangling");
        /* every image den lists has a name: none is dangling */
        json_array_foreach(vals, i, v) keep = keep && (strcmp(json_string_value(v), "true") != 0 && strcmp(json_string_value(v), "1") != 0);
        json_decref(vals);
        vals = filter_values(filters, "reference");
        if (keep && json_array_size(vals)) {
                json_t *hit = json_array(), *t;
                json_array_foreach(tags, j, t)
                {
                        bool m = false;
                        json_array_foreach(vals, i, v) m = m || reference_match(json_string_value(v), json_string_value(t));
                        if (m)
                                json_array_append(hit, t);
                }
                keep = json_array_size(hit) > 0;
                json_object_set_new(info, "RepoTags", hit);
        }
        json_decref(vals);
        json_t *labels = json_object_get(json_object_get(json_object_get(info, "Config"), "config"), "Labels");
        vals = filter_values(filters, "label");
        json_array_foreach(vals, i, v)
        {
                _cleanup_free_ char *kv = xstrdup(json_string_value(v));
                char *eq = strchr(kv, '=');
                if (eq)
                        *eq++ = '\0';
                const char *have = json_string_value(json_object_get(labels, kv));
                keep = keep && have && (!eq || strcmp(have, eq) == 0);
        }
        json_decref(vals);
        static const char *const when[] = { "before", "since" };
        for (size_t w = 0; w < ELEMENTSOF(when); w++) {
                vals = filter_values(filters, when[w]);
                json_array_foreach(vals, i, v)
                {
                        json_int_t t = created_by_ref(s, json_string_value(v));
                        if (t < 0 && !err->code)
                                err_set(err, -ENOENT, "No such image: %s", json_string_value(v));
                        keep = keep && (w == 0 ? created_of(info) < t : created_of(info) > t);
                }
                json_decref(vals);
        }
        return keep;
}

int api_images_list(struct api_req *q, struct api_reply *ret)
{
        struct store s;
        struct err err = { 0 };
        const char *fs = api_query(q, "filters");
        json_t *filters = fs && *fs ? json_loads(fs, 0, NULL) : NULL;
        if (fs && *fs && !json_is_object(filters)) {
                json_decref(filters);
                return api_error(ret, 400, "invalid filter: %s", fs);
        }
        if (store_open(q->root, &s, &err) < 0) {
                json_decref(filters);
                return api_fail(ret, &err);
        }
        json_t *names = NULL, *out = json_array(), *seen = json_object();
        if (image_names_load(&s, &names, &err) < 0) {
                store_close(&s);
                json_decref(out);
                json_decref(seen);
                json_decref(filters);
                return api_fail(ret, &err);
        }
        const char *k;
        json_t *v;
        json_object_foreach(names, k, v)
        {
                const char *man = json_string_value(v);
                json_t *info = NULL;
                struct err e2 = { 0 };
                if (json_object_get(seen, man) || image_inspect(&s, man, &info, &e2) < 0)
                        continue;
                json_object_set(seen, man, json_true());
                if (!filters || image_filter(&s, filters, info, &err))
                        json_array_append_new(out, image_summary(info));
                json_decref(info);
        }
        json_decref(names);
        json_decref(seen);
        json_decref(filters);
        store_close(&s);
        if (err.code) {
                json_decref(out);
                return api_fail(ret, &err);
        }
        return api_json(ret, 200, out);
}

/* the image q->params[0] names, inspected into *info or given the name tag_as;
 * -1 after a 404 (or another error) in ret */
static int image_load(struct api_req *q, struct api_reply *ret, json_t **info, const char *tag_as)
{
        struct store s;
        struct err err = { 0 };
        char man[DIGEST_STR_MAX];
        int r = store_open(q->root, &s, &err);
        if (r >= 0) {
                if ((r = image_find(&s, q->params[0], man, &err)) >= 0)
                        r = tag_as ? image_tag(&s, man, tag_as, &err) : image_inspect(&s, man, info, &err);
                store_close(&s);
        }
        return r < 0 ? api_fail(ret, &err), -1 : 0;
}

int api_image_inspect(struct api_req *q, struct api_reply *ret)
{
        json_t *info = NULL;
        if (image_load(q, ret, &info, NULL) < 0)
                return 0;
        json_t *cfg = json_object_get(info, "Config"), *ccfg = json_object_get(cfg, "config");
        json_t *j = json_pack("{s:O,s:O,s:[s],s:s,s:s,s:O?,s:s,s:O?,s:O?,s:s,s:O,s:O,s:{s:s},s:{s:s,s:O?}}", "Id",
                              json_object_get(info, "Id"), "RepoTags", json_object_get(info, "RepoTags"),
                              "RepoDigests", "", "Parent", "", "Comment", "", "Created",
                              json_object_get(cfg, "created"), "DockerVersion", "", "Author",
                              json_object_get(cfg, "author"), "Config", json_is_object(ccfg) ? ccfg : json_null(),
                              "Os", "linux", "Size", json_object_get(info, "Size"), "VirtualSize",
                              json_object_get(info, "Size"), "GraphDriver", "Name", "overlay", "RootFS", "Type",
                              "layers", "Layers", json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"));
        json_array_clear(json_object_get(j, "RepoDigests"));
        json_object_set(j, "Architecture", json_object_get(cfg, "architecture") ?: json_string(go_arch()));
        json_decref(info);
        return api_json(ret, 200, j);
}

int api_image_history(struct api_req *q, struct api_reply *ret)
{
        json_t *info = NULL;
        if (image_load(q, ret, &info, NULL) < 0)
                return 0;
        json_t *hist = json_object_get(json_object_get(info, "Config"), "history"), *out = json_array(), *h;
        json_t *layers = json_object_get(json_object_get(info, "Manifest"), "layers");
        size_t n = json_array_size(hist), li = 0;
        /* docker lists the newest first; a step that made no layer has size 0 */
        json_t *sizes = json_array();
        for (size_t i = 0; i < n; i++) {
                h = json_array_get(hist, i);
                json_int_t sz = 0;
                if (!json_is_true(json_object_get(h, "empty_layer")))
                        sz = json_integer_value(json_object_get(json_array_get(layers, li++), "size"));
                json_array_append_new(sizes, json_integer(sz));
        }
        for (size_t i = n; i-- > 0;) {
                h = json_array_get(hist, i);
                time_t t = format_parse_time(json_string_value(json_object_get(h, "created")));
                json_t *tags = i == n - 1 ? json_deep_copy(json_object_get(info, "RepoTags")) : json_array();
                const char *by = json_string_value(json_object_get(h, "created_by"));
                const char *comment = json_string_value(json_object_get(h, "comment"));
                const char *id = i == n - 1 ? json_string_value(json_object_get(info, "Id")) : "<missing>";
                json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:o,s:O,s:s}", "Id", id, "Created",
                                                     (json_int_t) (t < 0 ? 0 : t), "CreatedBy", by ? by : "",
                                                     "Tags", tags, "Size", json_array_get(sizes, i), "Comment",
                                                     comment ? comment : ""));
        }
        json_decref(sizes);
        json_decref(info);
        return api_json(ret, 200, out);
}

int api_image_tag(struct api_req *q, struct api_reply *ret)
{
        const char *repo = api_query(q, "repo"), *tag = api_query(q, "tag");
        if (!repo || !*repo)
                return api_error(ret, 400, "repository name must have at least one component");
        _cleanup_free_ char *dst = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
        if (image_load(q, ret, NULL, dst) < 0)
                return 0;
        ret->status = 201;
        return 0;
}

/* the exact name in the store that ref (resolved to man) stands for: ref itself
 * normalized, else the pulled name it is short for (docker.io/library/x:t for x:t);
 * image_untag given a short name would drop every name of the image */
static char *image_name_key(struct store *s, const char *ref, const char *man)
{
        _cleanup_free_ char *norm = NULL;
        struct err e = { 0 };
        json_t *names = NULL;
        char *key = NULL;
        if (image_ref_normalize(ref, &norm, &e) < 0 || image_names_load(s, &names, &e) < 0)
                return NULL;
        const char *k, *tail = strncmp(norm, "localhost/", 10) == 0 ? norm + 9 : NULL;
        json_t *v;
        json_object_foreach(names, k, v)
        {
                size_t kl = strlen(k), tl = tail ? strlen(tail) : 0;
                if (strcmp(k, norm) == 0 ||
                    (!key && tail && kl > tl && strcmp(k + kl - tl, tail) == 0 && strcmp(json_string_value(v), man) == 0)) {
                        free(key);
                        key = xstrdup(k);
                        if (strcmp(k, norm) == 0)
                                break;
                }
        }
        json_decref(names);
        return key;
}

int api_image_delete(struct api_req *q, struct api_reply *ret)
{
        struct store s;
        struct err err = { 0 };
        char man[DIGEST_STR_MAX];
        json_t *names = NULL, *out = json_array();
        int r = store_open(q->root, &s, &err);
        if (r < 0) {
                json_decref(out);
                return api_fail(ret, &err);
        }
        /* a name drops that name (den's rule of names, as den rmi); an id every name of the image */
        struct err e1 = { 0 };
        _cleanup_free_ char *key = NULL;
        if (image_resolve(&s, q->params[0], man, &e1) >= 0 && (key = image_name_key(&s, q->params[0], man))) {
                if ((r = image_untag(&s, key, &err)) >= 0)
                        json_array_append_new(out, json_pack("{s:s}", "Untagged", q->params[0]));
        } else if ((r = image_find(&s, q->params[0], man, &err)) >= 0 && (r = image_names_load(&s, &names, &err)) >= 0) {
                const char *k;
                json_t *v;
                json_object_foreach(names, k, v)
                {
                        if (strcmp(json_string_value(v), man) != 0)
                                continue;
                        if ((r = image_untag(&s, k, &err)) < 0)
                                break;
                        json_array_append_new(out, json_pack("{s:s}", "Untagged", k));
                }
                json_decref(names);
        }
        store_close(&s);
        if (r < 0) {
                json_decref(out);
                return api_fail(ret, &err);
        }
        return api_json(ret, 200, out);
}
