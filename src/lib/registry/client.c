/* SPDX-License-Identifier: GPL-2.0-or-later */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

#define C(fn) DL(LIBCURL, fn)

void reg_opts_init(struct reg_opts *o)
{
        memset(o, 0, sizeof(*o));
        o->tls_verify = -1;
        o->timeout = 30;
        o->retries = 3;
        o->parallel = 3;
        o->progress_fd = 2;
}

static void curl_init(void)
{
        C(curl_global_init)(CURL_GLOBAL_ALL);
}

static void curl_init_once(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, curl_init);
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* certs.d/HOST: *.crt are CAs, NAME.cert + NAME.key a client certificate (docker's and podman's layout) */
static void load_cert_dir(struct reg_client *c, const char *dir, char **extra, size_t *extra_len)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        if (!d)
                return;
        while ((e = readdir(d))) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name), *txt = NULL;
                size_t len;
                if (ends_with(e->d_name, ".crt") && fs_read_file(p, 1u << 20, &txt, &len) == 0) {
                        *extra = xrealloc(*extra, *extra_len + len + 2);
                        memcpy(*extra + *extra_len, txt, len);
                        *extra_len += len;
                        (*extra)[(*extra_len)++] = '\n';
                } else if (ends_with(e->d_name, ".cert") && !c->client_cert)
                        c->client_cert = xstrdup(p);
                else if (ends_with(e->d_name, ".key") && !c->client_key)
                        c->client_key = xstrdup(p);
        }
        closedir(d);
}

int reg_client_new(struct reg_client *c, const char *host, const char *repo, const struct reg_opts *o, struct err *err)
{
        memset(c, 0, sizeof(*c));
        if (!dl_available(LIBCURL))
                return err_set(err, -ENOSYS, "%s is not installed (package libcurl4); den needs it to reach registries", LIBCURL);
        curl_init_once();
        c->host = xstrdup(host);
        c->api_host = xstrdup(strcmp(host, "docker.io") == 0 ? "registry-1.docker.io" : host);
        c->repo = xstrdup(repo);
        c->o = o;
        c->scheme = xstrdup("https");
        pthread_mutex_init(&c->lock, NULL);
        reg_creds_lookup(host, o, &c->user, &c->pass);
        char *extra = NULL;
        size_t extra_len = 0;
        if (o->cert_dir)
                load_cert_dir(c, o->cert_dir, &extra, &extra_len);
        else {
                const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
                _cleanup_free_ char *u = x && *x ? xasprintf("%s/containers/certs.d/%s", x, host)
                                         : home  ? xasprintf("%s/.config/containers/certs.d/%s", home, host)
                                                 : NULL;
                _cleanup_free_ char *e1 = xasprintf("/etc/containers/certs.d/%s", host),
                                    *e2 = xasprintf("/etc/docker/certs.d/%s", host);
                if (u)
                        load_cert_dir(c, u, &extra, &extra_len);
                load_cert_dir(c, e1, &extra, &extra_len);
                load_cert_dir(c, e2, &extra, &extra_len);
        }
        if (extra) {
                /* the system's CAs stay trusted beside the registry's own */
                _cleanup_free_ char *sys = NULL;
                size_t sl = 0;
                fs_read_file("/etc/ssl/certs/ca-certificates.crt", 16u << 20, &sys, &sl);
                c->ca = xmalloc(sl + extra_len + 1);
                if (sys)
                        memcpy(c->ca, sys, sl);
                memcpy(c->ca + sl, extra, extra_len);
                c->ca_len = sl + extra_len;
                free(extra);
        }
        return 0;
}

void reg_client_free(struct reg_client *c)
{
        free(c->host);
        free(c->api_host);
        free(c->repo);
        free(c->scheme);
        free(c->ca);
        free(c->client_cert);
        free(c->client_key);
        free(c->user);
        free(c->pass);
        free(c->extra_scope);
        free(c->authz);
        pthread_mutex_destroy(&c->lock);
        memset(c, 0, sizeof(*c));
}

void reg_resp_free(struct reg_resp *r)
{
        free(r->body);
        free(r->content_type);
        free(r->digest);
        free(r->location);
        memset(r, 0, sizeof(*r));
}

char *reg_error_text(const struct reg_resp *r)
{
        json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
        json_t *e = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        char *out = msg ? xasprintf("HTTP %ld: %s%s%s", r->status, msg, code ? " " : "", code ? code : "")
                        : xasprintf("HTTP %ld", r->status);
        json_decref(j);
        return out;
}

/* ---- one transfer ---- */

struct xfer {
        struct reg_client *c;
        const struct reg_req *q;
        struct reg_resp *resp;
        CURL *h;
        long status;
        bool to_sink;
        size_t cap;
        struct err werr;
        char *www_auth;
        uint64_t body_off;
};

static size_t on_header(char *b, size_t size, size_t n, void *data)
{
        struct xfer *x = data;
        size_t len = size * n;
        _cleanup_free_ char *line = xasprintf("%.*s", (int) len, b);
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "HTTP/", 5) == 0) {
                /* a new response (after a redirect or 100 Continue): forget the last one's headers */
                free(x->resp->content_type);
                free(x->resp->digest);
                free(x->resp->location);
                free(x->www_auth);
                x->resp->content_type = x->resp->digest = x->resp->location = x->www_auth = NULL;
                x->resp->content_length = 0;
                x->status = 0;
                return len;
        }
        char *colon = strchr(line, ':');
        if (!colon)
                return len;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
                v++;
        char **slot = strcasecmp(line, "content-type") == 0           ? &x->resp->content_type
                      : strcasecmp(line, "docker-content-digest") == 0 ? &x->resp->digest
                      : strcasecmp(line, "location") == 0              ? &x->resp->location
                      : strcasecmp(line, "www-authenticate") == 0      ? &x->www_auth
                                                                       : NULL;
        if (slot) {
                free(*slot);
                *slot = xstrdup(v);
        } else if (strcasecmp(line, "content-length") == 0)
                x->resp->content_length = strtoull(v, NULL, 10);
        return len;
}

static size_t on_body(char *b, size_t size, size_t n, void *data)
{
        struct xfer *x = data;
        size_t len = size * n;
        if (!x->status) {
                C(curl_easy_getinfo)(x->h, CURLINFO_RESPONSE_CODE, &x->status);
                x->to_sink = x->q->sink && (x->status == 200 || x->status == 206);
                /* a server that ignored our Range sends it all again */
                if (x->to_sink && x->status == 200 && x->q->sink->size > 0 && store_blob_restart(x->q->sink, &x->werr) < 0)
                        return 0;
        }
        if (x->to_sink) {
                if (store_blob_write(x->q->sink, b, len, &x->werr) < 0)
                        return 0;
                if (x->q->progress)
                        x->q->progress(x->q->progress_data, x->q->sink->size);
                return len;
        }
        size_t max = x->q->max ? x->q->max : (1u << 20);
        if (x->resp->len + len > max) {
                err_set(&x->werr, -EFBIG, "the answer is larger than %zu bytes", max);
                return 0;
        }
        if (x->resp->len + len + 1 > x->cap) {
                x->cap = (x->resp->len + len + 1) * 2;
                x->resp->body = xrealloc(x->resp->body, x->cap);
        }
        memcpy(x->resp->body + x->resp->len, b, len);
        x->resp->len += len;
        x->resp->body[x->resp->len] = '\0';
        return len;
}

static size_t on_read(char *b, size_t size, size_t n, void *data)
{
        struct xfer *x = data;
        ssize_t r = pread(x->q->body_fd, b, size * n, (off_t) x->body_off);
        if (r < 0)
                return CURL_READFUNC_ABORT;
        x->body_off += (uint64_t) r;
        return (size_t) r;
}

static bool transient(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* a token for the challenge, or basic credentials; 0 when there is something new to try */
static int answer_challenge(struct reg_client *c, const char *challenge, const char *method, const char *sent,
                            struct err *err)
{
        _cleanup_free_ char *scheme = NULL;
        _cleanup_strv_free_ char **kv = reg_challenge_parse(challenge, &scheme);
        _cleanup_free_ char *basic = NULL;
        if (c->user) {
                _cleanup_free_ char *up = xasprintf("%s:%s", c->user, c->pass ? c->pass : "");
                _cleanup_free_ char *b64 = reg_base64(up, strlen(up));
                basic = xasprintf("Basic %s", b64);
        }
        if (strcasecmp(scheme, "basic") == 0) {
                if (!basic)
                        return err_set(err, -EACCES, "%s asks for credentials: run `den login %s` (or give --creds)", c->host,
                                       c->host);
                if (sent && strcmp(sent, basic) == 0)
                        return err_set(err, -EACCES, "%s: authentication failed for user '%s' (wrong user name or password)",
                                       c->host, c->user);
                pthread_mutex_lock(&c->lock);
                free(c->authz);
                c->authz = TAKE_PTR(basic);
                pthread_mutex_unlock(&c->lock);
                return 0;
        }
        if (strcasecmp(scheme, "bearer") != 0)
                return err_set(err, -EACCES, "%s: unsupported authentication scheme '%s'", c->host, scheme);
        const char *realm = NULL, *service = NULL, *scope = NULL;
        for (char **p = kv; p && p[0] && p[1]; p += 2) {
                if (strcmp(p[0], "realm") == 0)
                        realm = p[1];
                else if (strcmp(p[0], "service") == 0)
                        service = p[1];
                else if (strcmp(p[0], "scope") == 0)
                        scope = p[1];
        }
        if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0))
                return err_set(err, -EACCES, "%s: bearer challenge without a usable realm", c->host);
        bool write = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
        _cleanup_free_ char *own = *c->repo ? xasprintf("repository:%s:%s", c->repo, write ? "pull,push" : "pull") : NULL;
        CURL *h = C(curl_easy_init)();
        char *es = service ? C(curl_easy_escape)(h, service, 0) : NULL;
        char *e1 = scope ? C(curl_easy_escape)(h, scope, 0) : own ? C(curl_easy_escape)(h, own, 0) : NULL;
        char *e2 = c->extra_scope ? C(curl_easy_escape)(h, c->extra_scope, 0) : NULL;
        char *eu = c->user ? C(curl_easy_escape)(h, c->user, 0) : NULL;
        C(curl_easy_cleanup)(h);
        _cleanup_free_ char *url = xasprintf("%s%sservice=%s%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
                                              es ? es : "", e1 ? "&scope=" : "", e1 ? e1 : "", e2 ? "&scope=" : "",
                                              e2 ? e2 : "", eu ? "&account=" : "", eu ? eu : "");
        C(curl_free)(es);
        C(curl_free)(e1);
        C(curl_free)(e2);
        C(curl_free)(eu);
        /* the token endpoint gets basic credentials, when there are any */
        struct reg_client tc = *c;
        tc.authz = basic;
        tc.repo = (char *) "";
        struct reg_req q = { .method = "GET", .path = url, .max = 1u << 20, .body_fd = -1, .what = "token", .any_host = true };
        struct reg_resp resp = { 0 };
        int r = reg_request(&tc, &q, &resp, err);
        if (r < 0)
                return err_wrap(err, "token from %s", realm);
        if (resp.status == 401 || resp.status == 403) {
                r = c->user ? err_set(err, -EACCES, "%s: authentication failed for user '%s' (token endpoint %s: HTTP %ld)",
                                      c->host, c->user, realm, resp.status)
                            : err_set(err, -EACCES, "%s: the token endpoint %s refused anonymous access (HTTP %ld): run `den login %s`",
                                      c->host, realm, resp.status, c->host);
                reg_resp_free(&resp);
                return r;
        }
        json_t *j = resp.status == 200 ? json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL) : NULL;
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (!tok)
                tok = json_string_value(json_object_get(j, "access_token"));
        if (!tok)
                r = err_set(err, -EACCES, "%s: the token endpoint %s gave no token (HTTP %ld)", c->host, realm, resp.status);
        else {
                _cleanup_free_ char *bearer = xasprintf("Bearer %s", tok);
                if (sent && strcmp(sent, bearer) == 0)
                        r = err_set(err, -EACCES, "%s: the registry refuses the token its endpoint %s issued%s%s%s", c->host,
                                    realm, c->user ? " for user '" : "", c->user ? c->user : "", c->user ? "'" : "");
                else {
                        pthread_mutex_lock(&c->lock);
                        free(c->authz);
                        c->authz = TAKE_PTR(bearer);
                        pthread_mutex_unlock(&c->lock);
                }
        }
        json_decref(j);
        reg_resp_free(&resp);
        return r;
}

static int request(struct reg_client *c, const struct reg_req *q, struct reg_resp *resp, struct err *err)
{
        memset(resp, 0, sizeof(*resp));
        const struct reg_opts *o = c->o;
        bool absolute = strncmp(q->path, "http://", 7) == 0 || strncmp(q->path, "https://", 8) == 0;
        int auth_rounds = 0;
        bool https_fallback_done = false;
        for (int attempt = 0;; attempt++) {
                pthread_mutex_lock(&c->lock);
                _cleanup_free_ char *url = absolute ? xstrdup(q->path) : xasprintf("%s://%s%s", c->scheme, c->api_host, q->path);
                bool used_https = !absolute && strcmp(c->scheme, "https") == 0;
                _cleanup_free_ char *authz = c->authz ? xstrdup(c->authz) : NULL;
                pthread_mutex_unlock(&c->lock);
                /* credentials go to the registry (and a token endpoint), never to another host an upload
                 * location or a blob's storage points at */
                if (absolute && authz && !q->any_host) {
                        const char *h = strstr(url, "://") + 3;
                        size_t hl = strcspn(h, "/?#");
                        if (hl != strlen(c->api_host) || strncmp(h, c->api_host, hl) != 0) {
                                free(authz);
                                authz = NULL;
                        }
                }

                struct xfer x = { .c = c, .q = q, .resp = resp };
                reg_resp_free(resp);
                CURL *h = x.h = C(curl_easy_init)();
                struct curl_slist *hdr = NULL;
                _cleanup_free_ char *ah = authz ? xasprintf("Authorization: %s", authz) : NULL,
                                    *acc = q->accept ? xasprintf("Accept: %s", q->accept) : NULL,
                                    *ct = q->content_type ? xasprintf("Content-Type: %s", q->content_type) : NULL,
                                    *range = q->sink && q->sink->size ? xasprintf("Range: bytes=%llu-", (unsigned long long) q->sink->size) : NULL;
                if (ah)
                        hdr = C(curl_slist_append)(hdr, ah);
                if (acc)
                        hdr = C(curl_slist_append)(hdr, acc);
                if (ct)
                        hdr = C(curl_slist_append)(hdr, ct);
                if (range)
                        hdr = C(curl_slist_append)(hdr, range);
                hdr = C(curl_slist_append)(hdr, "Expect:");
                C(curl_easy_setopt)(h, CURLOPT_URL, url);
                C(curl_easy_setopt)(h, CURLOPT_HTTPHEADER, hdr);
                C(curl_easy_setopt)(h, CURLOPT_USERAGENT, "den/" DEN_VERSION);
                C(curl_easy_setopt)(h, CURLOPT_NOSIGNAL, 1L);
                C(curl_easy_setopt)(h, CURLOPT_PROTOCOLS_STR, "http,https");
                C(curl_easy_setopt)(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
                C(curl_easy_setopt)(h, CURLOPT_CONNECTTIMEOUT, o->timeout);
                C(curl_easy_setopt)(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
                C(curl_easy_setopt)(h, CURLOPT_LOW_SPEED_TIME, o->timeout);
                C(curl_easy_setopt)(h, CURLOPT_HEADERFUNCTION, on_header);
                C(curl_easy_setopt)(h, CURLOPT_HEADERDATA, &x);
                C(curl_easy_setopt)(h, CURLOPT_WRITEFUNCTION, on_body);
                C(curl_easy_setopt)(h, CURLOPT_WRITEDATA, &x);
                if (o->tls_verify == 0) {
                        C(curl_easy_setopt)(h, CURLOPT_SSL_VERIFYPEER, 0L);
                        C(curl_easy_setopt)(h, CURLOPT_SSL_VERIFYHOST, 0L);
                }
                if (c->ca) {
                        struct curl_blob blob = { .data = c->ca, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY };
                        C(curl_easy_setopt)(h, CURLOPT_CAINFO_BLOB, &blob);
                }
                if (c->client_cert && c->client_key) {
                        C(curl_easy_setopt)(h, CURLOPT_SSLCERT, c->client_cert);
                        C(curl_easy_setopt)(h, CURLOPT_SSLKEY, c->client_key);
                }
                if (strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0) {
                        /* registries send blobs off to storage; a loop ends at 10 */
                        C(curl_easy_setopt)(h, CURLOPT_FOLLOWLOCATION, 1L);
                        C(curl_easy_setopt)(h, CURLOPT_MAXREDIRS, 10L);
                        if (strcmp(q->method, "HEAD") == 0)
                                C(curl_easy_setopt)(h, CURLOPT_NOBODY, 1L);
                } else if (q->body_fd >= 0) {
                        C(curl_easy_setopt)(h, CURLOPT_UPLOAD, 1L);
                        C(curl_easy_setopt)(h, CURLOPT_CUSTOMREQUEST, q->method);
                        C(curl_easy_setopt)(h, CURLOPT_READFUNCTION, on_read);
                        C(curl_easy_setopt)(h, CURLOPT_READDATA, &x);
                        C(curl_easy_setopt)(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) q->body_fd_len);
                } else {
                        C(curl_easy_setopt)(h, CURLOPT_CUSTOMREQUEST, q->method);
                        C(curl_easy_setopt)(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
                        C(curl_easy_setopt)(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) q->body_len);
                }
                char ebuf[CURL_ERROR_SIZE] = "";
                C(curl_easy_setopt)(h, CURLOPT_ERRORBUFFER, ebuf);
                CURLcode rc = C(curl_easy_perform)(h);
                C(curl_easy_getinfo)(h, CURLINFO_RESPONSE_CODE, &resp->status);
                C(curl_easy_cleanup)(h);
                C(curl_slist_free_all)(hdr);
                _cleanup_free_ char *www = TAKE_PTR(x.www_auth);
                if (x.werr.code) {
                        /* the sink refused (too big, disk full): no retry helps */
                        *err = x.werr;
                        return err_wrap(err, "%s: %s", c->host, q->what);
                }
                if (rc == CURLE_OK && resp->status == 401 && www && auth_rounds++ < 1) {
                        int r = answer_challenge(c, www, q->method, authz, err);
                        if (r < 0)
                                return r;
                        attempt--;
                        continue;
                }
                if (rc == CURLE_OK && resp->status == 401)
                        return c->user ? err_set(err, -EACCES, "%s: authentication failed for user '%s' (%s: HTTP 401)",
                                                 c->host, c->user, q->what)
                                       : err_set(err, -EACCES, "%s: %s: authentication required (HTTP 401): run `den login %s`",
                                                 c->host, q->what, c->host);
                if (rc == CURLE_OK)
                        return 0;
                if (rc == CURLE_SSL_CONNECT_ERROR && o->tls_verify == 0 && used_https && !https_fallback_done) {
                        /* asked for no TLS checks: a registry that speaks plain http (another
                         * thread may have found that out already) */
                        pthread_mutex_lock(&c->lock);
                        free(c->scheme);
                        c->scheme = xstrdup("http");
                        pthread_mutex_unlock(&c->lock);
                        https_fallback_done = true;
                        attempt--;
                        continue;
                }
                if (transient(rc) && attempt < o->retries) {
                        struct timespec ts = { .tv_sec = (250L << attempt) / 1000, .tv_nsec = ((250L << attempt) % 1000) * 1000000L };
                        nanosleep(&ts, NULL);
                        continue;
                }
                const char *why = *ebuf ? ebuf : C(curl_easy_strerror)(rc);
                if (rc == CURLE_TOO_MANY_REDIRECTS)
                        return err_set(err, -ELOOP, "%s: %s: redirect loop (more than 10 redirects)", c->host, q->what);
                if (rc == CURLE_OPERATION_TIMEDOUT)
                        return err_set(err, -ETIMEDOUT, "%s: %s: no progress within %ld s (--timeout): %s", c->host, q->what,
                                       o->timeout, why);
                if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CONNECT_ERROR)
                        return err_set(err, -EPROTO,
                                       "%s: %s: TLS: %s (put the registry's CA in /etc/containers/certs.d/%s/ca.crt, or use --tls-verify=false)",
                                       c->host, q->what, why, c->host);
                return err_set(err, -EIO, "%s: %s: %s (%d attempts)", c->host, q->what, why, attempt + 1);
        }
}

int reg_request(struct reg_client *c, const struct reg_req *q, struct reg_resp *resp, struct err *err)
{
        int r = request(c, q, resp, err);
        /* a failure leaves nothing for the caller to free: the body of a refused 401 is dropped here */
        if (r < 0)
                reg_resp_free(resp);
        return r;
}
