/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/base/macro.h"
#include "lib/registry/client.h"
#include "lib/registry/registry.h"
#include "lib/store/image.h"

/* whether the host's registries.conf names search registries (then short names go there) */
static bool host_search_registries(void)
{
        FILE *f = fopen("/etc/containers/registries.conf", "r");
        char line[512];
        bool found = false;
        while (f && fgets(line, sizeof(line), f))
                found = found || strncmp(line + strspn(line, " \t"), "unqualified-search-registries", 29) == 0;
        if (f)
                fclose(f);
        return found;
}

static void test_ref_parse(void **state)
{
        static const char *ok[][5] = {
                /* input, host, repo, tag, digest */
                { "127.0.0.1:5000/a/b:c", "127.0.0.1:5000", "a/b", "c", NULL },
                { "localhost/x", "localhost", "x", "latest", NULL },
                { "quay.io/org/app@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "quay.io",
                  "org/app", NULL, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { "quay.io/app:1@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "quay.io", "app",
                  "1", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                /* short names: docker.io, library/ for one component (no registries.conf here) */
                { "debian", "docker.io", "library/debian", "latest", NULL },
                { "team/app:2", "docker.io", "team/app", "2", NULL },
        };
        /* short names depend on registries.conf: the user's is moved out of the way; when the
         * host's names a search registry, only qualified names are checked */
        setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                struct reg_ref r;
                struct err e = { 0 };
                if (i >= 4 && host_search_registries())
                        break;
                assert_int_equal(reg_ref_parse(ok[i][0], &r, &e), 0);
                assert_string_equal(r.host, ok[i][1]);
                assert_string_equal(r.repo, ok[i][2]);
                if (ok[i][3])
                        assert_string_equal(r.tag, ok[i][3]);
                else
                        assert_null(r.tag);
                if (ok[i][4])
                        assert_string_equal(r.digest, ok[i][4]);
                else
                        assert_null(r.digest);
                reg_ref_free(&r);
        }
        static const char *bad[] = { "", "Host.io/UPPER", "h.io/x@sha256:abc", "h.io/x@md5:00", "h.io/x:" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct reg_ref r;
                struct err e = { 0 };
                assert_true(reg_ref_parse(bad[i], &r, &e) < 0);
                assert_true(strlen(e.msg) > 0);
        }
        struct reg_ref r = { .host = "h:1", .repo = "a/b", .tag = "t" };
        char *n = reg_ref_name(&r);
        assert_string_equal(n, "h:1/a/b:t");
        free(n);
}

/* fuzz-ref: a long reference parsed, then its name refused by the store's normalizer
 * (the 255 bound was checked on the input, without the tag and host added) */
static void test_ref_long_name(void **state)
{
        char path[260];
        for (size_t n = 240; n < sizeof(path) - 1; n++) {
                memset(path, 'a', n);
                path[n] = '\0';
                char *s = xasprintf("quay.io/%s", path), *tagged = xasprintf("quay.io/%s:v1", path);
                struct reg_ref r;
                struct err e = { 0 };
                bool fits = strlen(s) <= 255;
                assert_int_equal(reg_ref_parse(s, &r, &e) == 0, fits);
                if (fits) {
                        char *name = reg_ref_name(&r), *norm = NULL;
                        assert_int_equal(image_ref_normalize(name, &norm, &e), 0);
                        assert_string_equal(norm, name);
                        free(norm);
                        free(name);
                        reg_ref_free(&r);
                        /* the tag does not count */
                        assert_int_equal(reg_ref_parse(tagged, &r, &e), 0);
                        reg_ref_free(&r);
                } else
                        assert_int_equal(e.code, -EINVAL);
                free(s);
                free(tagged);
        }
}

/* a registry on 127.0.0.1 served by fn on a thread, for den's client alone (no proxy,
 * no credentials): returns "127.0.0.1:PORT" */
static char *serve(void *(*fn)(void *), int *ret_l, pthread_t *th)
{
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(l, 8), 0);
        assert_int_equal(getsockname(l, (struct sockaddr *) &sa, &sl), 0);
        assert_int_equal(pthread_create(th, NULL, fn, (void *) (intptr_t) l), 0);
        unsetenv("http_proxy");
        unsetenv("https_proxy");
        setenv("REGISTRY_AUTH_FILE", "/nonexistent/auth.json", 1);
        *ret_l = l;
        return xasprintf("127.0.0.1:%d", ntohs(sa.sin_port));
}

/* a registry on 127.0.0.1 that refuses with a 401 and a body, asking for basic
 * credentials: the TLS attempt first is closed (den falls back to http) */
static void *refusing_registry(void *arg)
{
        int l = (int) (intptr_t) arg;
        for (int i = 0; i < 2; i++) {
                int fd = accept(l, NULL, NULL);
                char buf[4096];
                ssize_t n = fd < 0 ? -1 : recv(fd, buf, sizeof(buf), 0);
                if (n > 0 && buf[0] == 'G') {
                        static const char reply[] = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\n"
                                                    "Content-Length: 9\r\nConnection: close\r\n\r\nno access";
                        assert_int_equal(send(fd, reply, strlen(reply), MSG_NOSIGNAL), (ssize_t) strlen(reply));
                        i = 2;
                }
                if (fd >= 0)
                        close(fd);
        }
        return NULL;
}

/* fuzz-registry (LeakSanitizer): a request that failed on a 401 left its body in resp,
 * and no caller frees resp after an error */
static void test_request_error_frees(void **state)
{
        int l;
        pthread_t th;
        char *host = serve(refusing_registry, &l, &th);
        struct reg_opts o;
        reg_opts_init(&o);
        o.tls_verify = 0;
        o.retries = 0;
        o.timeout = 5;
        struct reg_client c;
        struct err e = { 0 };
        assert_int_equal(reg_client_new(&c, host, "a", &o, &e), 0);
        struct reg_req q = { .method = "GET", .path = "/v2/a/manifests/1", .max = 1 << 16, .body_fd = -1, .what = "manifest" };
        struct reg_resp resp;
        assert_int_equal(reg_request(&c, &q, &resp, &e), -EACCES);
        assert_non_null(strstr(e.msg, "asks for credentials"));
        assert_null(resp.body);
        pthread_join(th, NULL);
        reg_client_free(&c);
        close(l);
        free(host);
        unsetenv("REGISTRY_AUTH_FILE");
}

/* a registry that answers every request with a 500 (the TLS attempt first is closed) */
static void *failing_registry(void *arg)
{
        int l = (int) (intptr_t) arg;
        for (int i = 0; i < 8; i++) {
                int fd = accept(l, NULL, NULL);
                if (fd < 0)
                        break;
                char buf[4096];
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n > 0 && (buf[0] == 'G' || buf[0] == 'H')) {
                        static const char reply[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
                                                    "Connection: close\r\n\r\noops";
                        send(fd, reply, strlen(reply), MSG_NOSIGNAL);
                }
                close(fd);
        }
        return NULL;
}

/* a registry's 500 on a manifest was reported as "not found" (two messages set, the first won) */
static void test_manifest_500_is_not_not_found(void **state)
{
        int l;
        pthread_t th;
        char *host = serve(failing_registry, &l, &th), *ref = xasprintf("%s/a:1", host);
        struct reg_opts o;
        reg_opts_init(&o);
        o.tls_verify = 0;
        o.retries = 0;
        o.timeout = 5;
        json_t *j = NULL;
        struct err e = { 0 };
        assert_true(registry_inspect(ref, &o, false, &j, &e) < 0);
        assert_null(strstr(e.msg, "not found"));
        assert_non_null(strstr(e.msg, "500"));
        shutdown(l, SHUT_RDWR);
        pthread_join(th, NULL);
        close(l);
        free(ref);
        free(host);
        unsetenv("REGISTRY_AUTH_FILE");
}

static void test_challenge(void **state)
{
        char *scheme = NULL;
        char **kv = reg_challenge_parse(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"",
                &scheme);
        assert_string_equal(scheme, "Bearer");
        assert_non_null(kv);
        assert_string_equal(kv[0], "realm");
        assert_string_equal(kv[1], "https://auth.example/token");
        assert_string_equal(kv[3], "registry.example");
        assert_string_equal(kv[5], "repository:a/b:pull,push");
        assert_null(kv[6]);
        free(scheme);
        strv_freep(&kv);
        kv = reg_challenge_parse("Basic realm=den", &scheme);
        assert_string_equal(scheme, "Basic");
        assert_string_equal(kv[1], "den");
        free(scheme);
        strv_freep(&kv);
}

static void test_base64(void **state)
{
        char *b = reg_base64("alice:s3cret", 12);
        assert_string_equal(b, "YWxpY2U6czNjcmV0");
        free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ref_parse),
                cmocka_unit_test(test_ref_long_name),
                cmocka_unit_test(test_challenge),
                cmocka_unit_test(test_request_error_frees),
                cmocka_unit_test(test_manifest_500_is_not_not_found),
                cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
