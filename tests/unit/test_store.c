/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/image.h"
#include "lib/store/store.h"
#include "lib/store/transfer.h"

static void test_digest(void **state)
{
        char d[DIGEST_STR_MAX];
        struct digest_ctx *c = digest_new();
        digest_update(c, "abc", 3);
        digest_final(c, d);
        assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_true(digest_valid(d));
        assert_false(digest_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert_false(digest_valid("sha512:ba78"));
        assert_false(digest_valid("sha256:../../etc/passwd"));
}

static void test_ref_normalize(void **state)
{
        static const char *ok[][2] = {
                { "busybox", "localhost/busybox:latest" },
                { "bb:1.36", "localhost/bb:1.36" },
                { "team/app", "localhost/team/app:latest" },
                { "localhost/x:y", "localhost/x:y" },
                { "127.0.0.1:5000/a/b:c", "127.0.0.1:5000/a/b:c" },
                { "registry.example.org/debian:bookworm", "registry.example.org/debian:bookworm" },
                { "a_b.c-d", "localhost/a_b.c-d:latest" },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                char *r = NULL;
                struct err e = { 0 };
                assert_int_equal(image_ref_normalize(ok[i][0], &r, &e), 0);
                assert_string_equal(r, ok[i][1]);
                free(r);
        }
        static const char *bad[] = { "", "UP", "a//b", "-a", "a:", "a@sha256:00", "a b", "a:-x", "/abs" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *r = NULL;
                struct err e = { 0 };
                assert_true(image_ref_normalize(bad[i], &r, &e) < 0);
                assert_non_null(strstr(e.msg, "invalid reference"));
                assert_null(r);
        }
}

static void test_blob_checked_while_written(void **state)
{
        char tmpl[] = "/tmp/den-unit-store.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        struct store s;
        struct err e = { 0 };
        assert_int_equal(store_open(tmpl, &s, &e), 0);
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], "abc", 3), 3);
        close(p[1]);
        char d[DIGEST_STR_MAX];
        /* the wrong digest: refused, nothing stored */
        assert_true(store_put_blob_fd(&s, p[0], "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                                      0, d, NULL, &e) < 0);
        assert_non_null(strstr(e.msg, "digest mismatch"));
        close(p[0]);
        assert_false(store_has_blob(&s, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert_int_equal(store_put_blob_mem(&s, "abc", 3, d, &e), 0);
        assert_true(store_has_blob(&s, d));
        char *buf;
        size_t n;
        assert_int_equal(store_read_blob(&s, d, 100, &buf, &n, &e), 0);
        assert_int_equal(n, 3);
        free(buf);
        store_close(&s);
        fs_rm_rf(tmpl);
}

/* fuzz-load: an image whose config is not JSON; the error named the config
 * digest from the manifest after the manifest was freed */
static void test_inspect_config_not_json(void **state)
{
        char tmpl[] = "/tmp/den-unit-store.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        struct store s;
        struct err e = { 0 };
        assert_int_equal(store_open(tmpl, &s, &e), 0);
        char cd[DIGEST_STR_MAX], md[DIGEST_STR_MAX];
        assert_int_equal(store_put_blob_mem(&s, "not json", 8, cd, &e), 0);
        char *m = xasprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\",\"size\":8},\"layers\":[]}", cd);
        assert_int_equal(store_put_blob_mem(&s, m, strlen(m), md, &e), 0);
        json_t *info = NULL;
        assert_int_equal(image_inspect(&s, md, &info, &e), -EINVAL);
        assert_null(info);
        assert_non_null(strstr(e.msg, cd));
        free(m);
        store_close(&s);
        fs_rm_rf(tmpl);
}

/* fuzz-load: a docker archive with no layers and a config that is not JSON
 * was loaded (and named); den run then failed on it */
static void test_load_config_not_json(void **state)
{
        char tmpl[] = "/tmp/den-unit-store.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        char *store = xasprintf("%s/store", tmpl), *arch = xasprintf("%s/archive", tmpl);
        assert_int_equal(fs_mkdir_p(arch, 0755), 0);
        int a = open(arch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        static const char manifest[] = "[{\"Config\":\"c\",\"RepoTags\":[\"x:1\"],\"Layers\":[]}]";
        assert_int_equal(fs_write_atomic(a, "manifest.json", manifest, strlen(manifest), 0644), 0);
        assert_int_equal(fs_write_atomic(a, "c", "not json", 8, 0644), 0);
        close(a);
        struct store s;
        struct err e = { 0 };
        assert_int_equal(store_open(store, &s, &e), 0);
        assert_int_equal(image_load(&s, arch, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "not JSON"));
        char d[DIGEST_STR_MAX];
        struct err e2 = { 0 };
        assert_true(image_resolve(&s, "x:1", d, &e2) < 0);
        store_close(&s);
        fs_rm_rf(tmpl);
        free(store);
        free(arch);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest),
                cmocka_unit_test(test_ref_normalize),
                cmocka_unit_test(test_blob_checked_while_written),
                cmocka_unit_test(test_inspect_config_not_json),
                cmocka_unit_test(test_load_config_not_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
