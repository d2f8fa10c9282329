/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

char *reg_base64(const void *data, size_t len)
{
        char *out = xmalloc(4 * ((len + 2) / 3) + 1);
        DL(LIBCRYPTO, EVP_EncodeBlock)((unsigned char *) out, data, (int) len);
        return out;
}

static char *unbase64(const char *in)
{
        size_t n = strlen(in);
        unsigned char *out = xmalloc(n + 1);
        int m = DL(LIBCRYPTO, EVP_DecodeBlock)(out, (const unsigned char *) in, (int) n);
        if (m < 0) {
                free(out);
                return NULL;
        }
        /* EVP_DecodeBlock counts the padding as zero bytes */
        while (n > 0 && in[n - 1] == '=' && m > 0) {
                n--;
                m--;
        }
        out[m] = '\0';
        return (char *) out;
}

char *registry_authfile(const struct reg_opts *o)
{
        const char *e = o && o->authfile ? o->authfile : getenv("REGISTRY_AUTH_FILE");
        if (e && *e)
                return xstrdup(e);
        const char *x = getenv("XDG_RUNTIME_DIR");
        if (x && *x)
                return xasprintf("%s/containers/auth.json", x);
        if (geteuid() == 0)
                return xstrdup("/run/containers/0/auth.json");
        const char *home = getenv("HOME");
        return xasprintf("%s/.config/containers/auth.json", home ? home : "/");
}

/* docker's config.json names Docker Hub by its v1 index URL */
static bool key_matches(const char *key, const char *host)
{
        if (strncmp(key, "https://", 8) == 0)
                key += 8;
        else if (strncmp(key, "http://", 7) == 0)
                key += 7;
        size_t hl = strlen(host);
        if (strncmp(key, host, hl) == 0 && (key[hl] == '\0' || key[hl] == '/'))
                return strchr(key + hl, '/') == NULL || strcmp(key + hl, "/") == 0 || strncmp(key + hl, "/v1", 3) == 0 ||
                       strncmp(key + hl, "/v2", 3) == 0;
        if (strcmp(host, "docker.io") == 0)
                return strncmp(key, "index.docker.io", 15) == 0 || strncmp(key, "registry-1.docker.io", 20) == 0;
        return false;
}

static int creds_in(const char *path, const char *host, char **user, char **pass)
{
        struct err e = { 0 };
        if (access(path, F_OK) < 0)
                return 0;
        json_t *j = json_load_path(path, 1u << 20, &e), *v;
        const char *k;
        int found = 0;
        json_object_foreach(json_object_get(j, "auths"), k, v)
        {
                const char *a = json_string_value(json_object_get(v, "auth"));
                if (!a || !key_matches(k, host))
                        continue;
                char *dec = unbase64(a), *colon = dec ? strchr(dec, ':') : NULL;
                if (colon) {
                        *colon = '\0';
                        *user = xstrdup(dec);
                        *pass = xstrdup(colon + 1);
                        found = 1;
                }
                free(dec);
                if (found)
                        break;
        }
        json_decref(j);
        return found;
}

int reg_creds_lookup(const char *host, const struct reg_opts *o, char **user, char **pass)
{
        if (o->creds) {
                const char *colon = strchr(o->creds, ':');
                *user = colon ? xasprintf("%.*s", (int) (colon - o->creds), o->creds) : xstrdup(o->creds);
                *pass = xstrdup(colon ? colon + 1 : "");
                return 1;
        }
        const char *explicit = o->authfile ? o->authfile : getenv("REGISTRY_AUTH_FILE");
        if (explicit && *explicit)
                return creds_in(explicit, host, user, pass);
        const char *x = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME"), *dc = getenv("DOCKER_CONFIG");
        char *paths[4] = {
                x && *x ? xasprintf("%s/containers/auth.json", x) : geteuid() == 0 ? xstrdup("/run/containers/0/auth.json") : NULL,
                home ? xasprintf("%s/.config/containers/auth.json", home) : NULL,
                dc && *dc ? xasprintf("%s/config.json", dc) : home ? xasprintf("%s/.docker/config.json", home) : NULL,
                NULL,
        };
        int found = 0;
        for (int i = 0; i < 3; i++) {
                if (!found && paths[i])
                        found = creds_in(paths[i], host, user, pass);
                free(paths[i]);
        }
        return found;
}

char **reg_challenge_parse(const char *h, char **scheme)
{
        char **kv = NULL;
        while (*h == ' ')
                h++;
        const char *sp = strchr(h, ' ');
        *scheme = sp ? xasprintf("%.*s", (int) (sp - h), h) : xstrdup(h);
        for (const char *p = sp; p && *p;) {
                while (*p == ' ' || *p == ',')
                        p++;
                const char *eq = strchr(p, '=');
                if (!eq)
                        break;
                _cleanup_free_ char *key = xasprintf("%.*s", (int) (eq - p), p);
                p = eq + 1;
                _cleanup_free_ char *val = NULL;
                if (*p == '"') {
                        const char *e = strchr(p + 1, '"');
                        if (!e)
                                break;
                        val = xasprintf("%.*s", (int) (e - p - 1), p + 1);
                        p = e + 1;
                } else {
                        size_t n = strcspn(p, ", ");
                        val = xasprintf("%.*s", (int) n, p);
                        p += n;
                }
                strv_push(&kv, key);
                strv_push(&kv, val);
        }
        return kv;
}

static int authfile_update(const char *path, const char *host, const char *auth, struct err *err)
{
        json_t *j = NULL;
        if (access(path, F_OK) == 0) {
                j = json_load_path(path, 1u << 20, err);
                if (!j || !json_is_object(j)) {
                        json_decref(j);
                        return err_set(err, -EINVAL, "%s: not a JSON object; not changing it", path);
                }
        } else
                j = json_object();
        json_t *auths = json_object_get(j, "auths");
        if (!json_is_object(auths)) {
                auths = json_object();
                json_object_set_new(j, "auths", auths);
        }
        if (auth)
                json_object_set_new(auths, host, json_pack("{s:s}", "auth", auth));
        else if (host)
                json_object_del(auths, host);
        else
                json_object_clear(auths);
        _cleanup_free_ char *txt = json_dumps(j, JSON_INDENT(8)), *dir = xstrdup(path);
        json_decref(j);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                fs_mkdir_p(dir, 0700);
        }
        _cleanup_close_ int dfd = open(slash ? dir : ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        int r = dfd < 0 ? -errno : fs_write_atomic(dfd, slash ? slash + 1 : path, txt, strlen(txt), 0600);
        return r < 0 ? err_sys(err, r, "cannot write %s", path) : 0;
}

int registry_login(const char *host, const char *user, const char *password, const struct reg_opts *o, struct err *err)
{
        struct reg_opts lo = *o;
        _cleanup_free_ char *creds = xasprintf("%s:%s", user, password);
        lo.creds = creds;
        struct reg_client c;
        struct reg_resp resp = { 0 };
        int r = reg_client_new(&c, host, "", &lo, err);
        if (r < 0)
                return r;
        struct reg_req q = { .method = "GET", .path = "/v2/", .max = 1u << 16, .body_fd = -1, .what = "login" };
        r = reg_request(&c, &q, &resp, err);
        if (r == 0 && resp.status != 200)
                r = err_set(err, -EACCES, "%s: login as '%s' refused (HTTP %ld)", host, user, resp.status);
        reg_resp_free(&resp);
        reg_client_free(&c);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = registry_authfile(o), *auth = reg_base64(creds, strlen(creds));
        return authfile_update(path, host, auth, err);
}

int registry_logout(const char *host, bool all, const struct reg_opts *o, struct err *err)
{
        _cleanup_free_ char *path = registry_authfile(o);
        if (!all) {
                char *u = NULL, *p = NULL;
                int found = creds_in(path, host, &u, &p);
                free(u);
                free(p);
                if (!found)
                        return err_set(err, -ENOENT, "not logged in to %s (in %s)", host, path);
        }
        return authfile_update(path, all ? NULL : host, NULL, err);
}
