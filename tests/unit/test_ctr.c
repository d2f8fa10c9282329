/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/runtime/ctr_internal.h"

static bool has(char **v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static json_t *mount_at(json_t *spec, const char *dst)
{
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(spec, "mounts"), i, m)
        {
                if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
                        return m;
        }
        return NULL;
}

/* every path a start may make an empty mountpoint of in the upper directory:
 * what a builder leaves out of a layer (ctr_mount_targets) */
static void test_spec_targets_cover_every_mount(void **state)
{
        char *vols[] = { "/var/cache/apt:/var/cache/apt", "/etc/secret:/run/secrets/id:ro", NULL };
        char *tmpfs[] = { "/scratch", NULL };
        struct engine_run_opts o = { .volumes = vols, .tmpfs = tmpfs, .hostname = "h" };
        struct net_conf nc = { .mode = NET_NONE };
        struct err err = { 0 };
        for (int rootless = 0; rootless < 2; rootless++) {
                json_t *spec = ctr_spec_build(&o, &nc, "0123456789abcdef", "/rootfs", rootless, "/run/den/c", &err);
                assert_non_null(spec);
                char **t = ctr_spec_targets(spec);
                const char *want[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hosts",
                                       "/etc/resolv.conf", "/etc/hostname", "/var/cache/apt", "/run/secrets/id",
                                       "/scratch", "/proc/kcore", "/sys/firmware" };
                for (size_t i = 0; i < ELEMENTSOF(want); i++)
                        assert_true(has(t, want[i]));
                /* the /etc files come from the run directory; volumes keep their ro */
                json_t *hosts = mount_at(spec, "/etc/hosts"), *sec = mount_at(spec, "/run/secrets/id");
                assert_string_equal(json_string_value(json_object_get(hosts, "source")), "/run/den/c/hosts");
                assert_string_equal(json_string_value(json_object_get(sec, "source")), "/etc/secret");
                assert_string_equal(json_string_value(json_array_get(json_object_get(sec, "options"), 1)), "ro");
                assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "h");
                strv_freep(&t);
                json_decref(spec);
        }
}

static void test_spec_build_refuses_bad_forms(void **state)
{
        char *tmpfs[] = { "relative", NULL };
        char *vols[] = { "nocolon", NULL };
        struct net_conf nc = { .mode = NET_HOST };
        struct err err = { 0 };
        struct engine_run_opts o = { .tmpfs = tmpfs };
        assert_null(ctr_spec_build(&o, &nc, "0123456789abcdef", "/r", false, "/d", &err));
        assert_non_null(strstr(err.msg, "--tmpfs 'relative'"));
        err_clear(&err);
        struct engine_run_opts o2 = { .volumes = vols };
        assert_null(ctr_spec_build(&o2, &nc, "0123456789abcdef", "/r", false, "/d", &err));
        assert_non_null(strstr(err.msg, "-v 'nocolon'"));
        err_clear(&err);
        /* with the host's network no network namespace, and the hostname from the id */
        struct engine_run_opts o3 = { 0 };
        json_t *spec = ctr_spec_build(&o3, &nc, "0123456789abcdef", "/r", false, "/d", &err);
        size_t i;
        json_t *ns;
        json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, ns)
                assert_string_not_equal(json_string_value(json_object_get(ns, "type")), "network");
        assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "0123456789ab");
        json_decref(spec);
}

/* a command of ctr_exec has exactly its own argv; den exec's gets the image's environment */
static void test_process_request(void **state)
{
        json_t *img = json_pack("{s:[s],s:[s],s:[s],s:s}", "Entrypoint", "/ep", "Cmd", "c", "Env", "A=1", "WorkingDir", "/w");
        char *cmd[] = { "x", NULL }, *env[] = { "B=2", NULL };
        json_t *main = ctr_process_request(img, NULL, env, NULL, NULL, NULL, true, false);
        assert_int_equal(json_array_size(json_object_get(main, "args")), 2);
        assert_string_equal(json_string_value(json_object_get(main, "cwd")), "/w");
        assert_string_equal(json_string_value(json_object_get(main, "user")), "0");
        json_t *ex = ctr_process_request(img, cmd, env, "/t", "1000", "", false, true);
        assert_int_equal(json_array_size(json_object_get(ex, "args")), 1);
        assert_string_equal(json_string_value(json_array_get(json_object_get(ex, "args"), 0)), "x");
        assert_string_equal(json_string_value(json_object_get(ex, "user")), "1000");
        assert_true(json_is_true(json_object_get(ex, "terminal")));
        json_decref(main);
        json_decref(ex);
        json_decref(img);
}

/* -v's forms: a host path, a volume's name, an anonymous volume; options kept or refused */
static void test_volume_forms(void **state)
{
        struct ctr_volume v;
        struct err err = { 0 };
        assert_int_equal(ctr_volume_parse("/h:/c:ro", &v, &err), 0);
        assert_string_equal(v.source, "/h");
        assert_true(v.ro && !v.is_volume && !v.nocopy);
        ctr_volume_free(&v);
        assert_int_equal(ctr_volume_parse("data:/var/lib/x:nocopy,z", &v, &err), 0);
        assert_true(v.is_volume && v.nocopy && !v.ro);
        assert_string_equal(v.dest, "/var/lib/x");
        ctr_volume_free(&v);
        assert_int_equal(ctr_volume_parse("/anon", &v, &err), 0);
        assert_null(v.source);
        ctr_volume_free(&v);
        const char *bad[] = { "rel/dir:/c", "v:relative", "a:/c", "v:/c:rwx", "-x:/c", "v:/c:ro,bogus" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(ctr_volume_parse(bad[i], &v, &err), -EINVAL);
                assert_non_null(strstr(err.msg, bad[i]));
                err_clear(&err);
        }
        assert_int_equal(ctr_tmpfs_check("/t:size=64m,mode=1777,noexec", &err), 0);
        assert_int_equal(ctr_tmpfs_check("/t", &err), 0);
        assert_int_equal(ctr_tmpfs_check("/t:size=", &err), -EINVAL);
        err_clear(&err);
        assert_int_equal(ctr_tmpfs_check("/t:remount", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "remount"));
        err_clear(&err);
        assert_int_equal(ctr_tmpfs_check("t", &err), -EINVAL);
        err_clear(&err);
}

/* binds that copy up, tmpfs options, in the spec */
static void test_spec_volume_mounts(void **state)
{
        char *vols[] = { "/store/volumes/v/_data:/data:rw,x-den.copyup", NULL };
        char *tmpfs[] = { "/t:size=1m,ro", NULL };
        struct engine_run_opts o = { .volumes = vols, .tmpfs = tmpfs };
        struct net_conf nc = { .mode = NET_NONE };
        struct err err = { 0 };
        json_t *spec = ctr_spec_build(&o, &nc, "0123456789abcdef", "/r", false, "/d", &err);
        assert_non_null(spec);
        json_t *d = json_object_get(mount_at(spec, "/data"), "options"), *t = json_object_get(mount_at(spec, "/t"), "options");
        assert_string_equal(json_string_value(json_array_get(d, 1)), "rw");
        assert_string_equal(json_string_value(json_array_get(d, 2)), "x-den.copyup");
        assert_string_equal(json_string_value(json_array_get(t, 2)), "size=1m");
        assert_string_equal(json_string_value(json_array_get(t, 3)), "ro");
        json_decref(spec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spec_targets_cover_every_mount),
                cmocka_unit_test(test_spec_build_refuses_bad_forms),
                cmocka_unit_test(test_process_request),
                cmocka_unit_test(test_volume_forms),
                cmocka_unit_test(test_spec_volume_mounts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
