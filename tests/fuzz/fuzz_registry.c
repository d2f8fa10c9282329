/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: what a registry answers, as `den inspect --remote` reads it --
 * the manifest or index for a tag (an index resolved to linux/amd64, the
 * manifest it names fetched by digest and checked against it), the config,
 * the tag list, error bodies, a 401's WWW-Authenticate challenge and the
 * token endpoint's answer -- through registry_inspect and libcurl, from a
 * registry served by this program on 127.0.0.1.
 *
 * The input is up to 8 answers separated by a line "----", given to the
 * requests in the order they come.  An answer that starts with "HTTP/" has
 * its status line and headers up to the first empty line (Content-Length,
 * Transfer-Encoding and Connection are the server's own); any other answer
 * is a 200 with that body.  "@k" in an answer stands for the sha256 hex of
 * answer k's body and "#k" for its size (k after it), so an index names its
 * manifest and a manifest its config, which the fuzzer could not compute.
 * Requests after the last answer get a 404.
 *
 * Every URL goes through the same server as an HTTP proxy (a CONNECT is
 * accepted, then the TLS handshake fails, which makes den fall back to http
 * as --tls-verify=false does): no name is ever looked up. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/registry/registry.h"
#include "lib/store/digest.h"

#define MAX_DOCS 8
#define SEP "\n----\n"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *answer[MAX_DOCS]; /* the whole response, head and body */
static size_t answer_len[MAX_DOCS], n_answers, next_answer;

static void send_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return;
                p += w;
                n -= (size_t) w;
        }
}

static void serve(int fd)
{
        char req[8192];
        size_t n = 0;
        struct timeval tv = { .tv_sec = 2 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        while (n < sizeof(req) - 1) {
                ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);
                if (r <= 0)
                        return;
                n += (size_t) r;
                req[n] = '\0';
                if (strstr(req, "\r\n\r\n"))
                        break;
                if (!strchr("GHPDC", req[0]))
                        return; /* a TLS ClientHello: closing fails the handshake */
        }
        if (strncmp(req, "CONNECT ", 8) == 0) {
                /* the tunnel opens; what comes through it is TLS, answered by a close */
                send_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n", 39);
                recv(fd, req, sizeof(req), 0);
                return;
        }
        pthread_mutex_lock(&lock);
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        if (next_answer < n_answers) {
                out = xmalloc(answer_len[next_answer]);
                memcpy(out, answer[next_answer], answer_len[next_answer]);
                len = answer_len[next_answer++];
        } else {
                out = xstrdup("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                len = strlen(out);
        }
        pthread_mutex_unlock(&lock);
        send_all(fd, out, len);
}

static void *server(void *arg)
{
        int l = (int) (intptr_t) arg;
        for (;;) {
                int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                serve(fd);
                shutdown(fd, SHUT_RDWR);
                close(fd);
        }
        return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        if (l < 0 || bind(l, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(l, 64) < 0 ||
            getsockname(l, (struct sockaddr *) &sa, &sl) < 0)
                abort();
        port = ntohs(sa.sin_port);
        pthread_t th;
        if (pthread_create(&th, NULL, server, (void *) (intptr_t) l) != 0)
                abort();
        char proxy[64];
        snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
        /* no certs.d, auth.json or registries.conf of this machine */
        setenv("HOME", "/nonexistent", 1);
        setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
        setenv("REGISTRY_AUTH_FILE", "/nonexistent/auth.json", 1);
        unsetenv("XDG_RUNTIME_DIR");
        unsetenv("DOCKER_CONFIG");
        unsetenv("no_proxy");
        unsetenv("NO_PROXY");
        setenv("http_proxy", proxy, 1);
        setenv("https_proxy", proxy, 1);
        return 0;
}

/* answer k's body: after the head when it has one */
static const char *body_of(const char *a, size_t len, size_t *ret_len, size_t *ret_head)
{
        size_t head = 0;
        if (len >= 5 && memcmp(a, "HTTP/", 5) == 0) {
                const char *e = memmem(a, len, "\n\n", 2);
                head = e ? (size_t) (e - a) + 2 : len;
        }
        *ret_head = head;
        *ret_len = len - head;
        return a + head;
}

/* the response as sent: the head's own lines (less the framing headers), then ours */
static char *response(const char *doc, size_t len, size_t *ret_len)
{
        size_t bl, hl;
        const char *body = body_of(doc, len, &bl, &hl);
        _cleanup_free_ char *head = xstrdup(hl == 0 ? "HTTP/1.1 200 OK\r\n" : "");
        for (const char *p = doc; p < doc + hl;) {
                const char *e = memchr(p, '\n', (size_t) (doc + hl - p));
                size_t n = e ? (size_t) (e - p) : (size_t) (doc + hl - p);
                if (n > 0 && strncasecmp(p, "content-length:", 15) && strncasecmp(p, "transfer-encoding:", 18) &&
                    strncasecmp(p, "connection:", 11)) {
                        char *old = head;
                        head = xasprintf("%s%.*s\r\n", old, (int) n, p);
                        free(old);
                }
                p += n + 1;
        }
        char *out = xasprintf("%sContent-Length: %zu\r\nConnection: close\r\n\r\n", head, bl);
        size_t ol = strlen(out);
        out = xrealloc(out, ol + bl);
        memcpy(out + ol, body, bl);
        *ret_len = ol + bl;
        return out;
}

/* doc with "@k" and "#k" (self < k < n) replaced by the hex digest and the
 * size of answer k's body */
static char *substitute(const char *doc, size_t len, size_t self, size_t n, char hex[][65], const size_t *size,
                        size_t *ret_len)
{
        char *out = xmalloc(len * 33 + 1), *o = out;
        for (size_t i = 0; i < len; i++) {
                size_t k = i + 1 < len && doc[i + 1] >= '1' && doc[i + 1] <= '9' ? (size_t) (doc[i + 1] - '0') : 0;
                if ((doc[i] == '@' || doc[i] == '#') && k > self && k < n) {
                        if (doc[i] == '@') {
                                memcpy(o, hex[k], 64);
                                o += 64;
                        } else
                                o += sprintf(o, "%zu", size[k]);
                        i++;
                } else
                        *o++ = doc[i];
        }
        *ret_len = (size_t) (o - out);
        return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *doc[MAX_DOCS];
        size_t len[MAX_DOCS], n = 0;
        const char *p = (const char *) data, *end = p + size;
        for (;;) {
                const char *s = n < MAX_DOCS - 1 ? memmem(p, (size_t) (end - p), SEP, strlen(SEP)) : NULL;
                doc[n] = p;
                len[n] = (size_t) ((s ? s : end) - p);
                n++;
                if (!s)
                        break;
                p = s + strlen(SEP);
        }
        char hex[MAX_DOCS][65];
        size_t body_size[MAX_DOCS];
        pthread_mutex_lock(&lock);
        for (size_t k = 0; k < n_answers; k++)
                free(answer[k]);
        for (size_t k = n; k-- > 0;) {
                size_t tl, bl, hl;
                _cleanup_free_ char *txt = substitute(doc[k], len[k], k, n, hex, body_size, &tl);
                const char *body = body_of(txt, tl, &bl, &hl);
                char d[DIGEST_STR_MAX];
                digest_buf(body, bl, d);
                snprintf(hex[k], sizeof(hex[k]), "%s", digest_hex(d));
                body_size[k] = bl;
                answer[k] = response(txt, tl, &answer_len[k]);
        }
        n_answers = n;
        next_answer = 0;
        pthread_mutex_unlock(&lock);

        struct reg_opts o;
        reg_opts_init(&o);
        o.tls_verify = 0;
        o.retries = 0;
        o.timeout = 2;
        o.quiet = true;
        o.platform = "linux/amd64";
        _cleanup_free_ char *ref = xasprintf("127.0.0.1:%d/fuzz/app:1", port);
        json_t *info = NULL;
        struct err e = { 0 };
        int r = registry_inspect(ref, &o, false, &info, &e);
        if (getenv("DEN_FUZZ_DEBUG"))
                fprintf(stderr, "registry_inspect: %s\n", r < 0 ? e.msg : "ok");
        if (r == 0)
                json_decref(info);
        return 0;
}
