/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/linux/seccomp.h"
#include "lib/linux/seccomp_bpf.h"
#include "lib/linux/seccomp_default.h"

static int build(const char *text, struct err *e)
{
        json_t *j = json_loads(text, 0, NULL);
        struct seccomp_filter *f = NULL;
        assert_non_null(j);
        int r = seccomp_filter_build(j, &f, e);
        json_decref(j);
        seccomp_filter_free(f);
        return r;
}

static void test_valid_profile(void **state)
{
        struct err e = { 0 };
        assert_int_equal(build("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                               "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
                               "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
                               "\"syscalls\":[{\"names\":[\"read\",\"write\",\"not_a_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                               "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                               "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
                               "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":3}]}",
                               &e),
                         0);
}

static void test_errors(void **state)
{
        struct err e = { 0 };
        assert_true(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                          "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
                          &e) < 0);
        assert_non_null(strstr(e.msg, "linux.seccomp.syscalls[0].args[0].op"));
        err_clear(&e);
        assert_true(build("{}", &e) < 0);
        assert_non_null(strstr(e.msg, "defaultAction"));
        err_clear(&e);
        assert_true(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}", &e) < 0);
        assert_non_null(strstr(e.msg, "listenerPath"));
}

#define CAP_BIT(n) (UINT64_C(1) << (n))
/* docker's default capability set, as den run gives it */
static const uint64_t docker_caps = CAP_BIT(0) | CAP_BIT(1) | CAP_BIT(3) | CAP_BIT(4) | CAP_BIT(5) | CAP_BIT(6) |
                                    CAP_BIT(7) | CAP_BIT(8) | CAP_BIT(10) | CAP_BIT(13) | CAP_BIT(18) | CAP_BIT(27) |
                                    CAP_BIT(29) | CAP_BIT(31);
#define SYS_ADMIN CAP_BIT(21)

/* the rules of an OCI profile naming syscall: their action and errnoRet, args count */
struct found {
        int allow, errno_rules, errno_ret, with_args;
};

static struct found find(json_t *oci, const char *syscall)
{
        struct found f = { 0 };
        size_t i, k;
        json_t *r, *n;
        json_array_foreach(json_object_get(oci, "syscalls"), i, r) json_array_foreach(json_object_get(r, "names"), k, n)
        {
                if (strcmp(json_string_value(n), syscall) != 0)
                        continue;
                bool allow = strcmp(json_string_value(json_object_get(r, "action")), "SCMP_ACT_ALLOW") == 0;
                f.allow += allow;
                f.errno_rules += !allow;
                if (!allow)
                        f.errno_ret = (int) json_integer_value(json_object_get(r, "errnoRet"));
                f.with_args += json_array_size(json_object_get(r, "args")) > 0;
        }
        return f;
}

static void test_default_table(void **state)
{
        json_t *p = seccomp_default_profile(docker_caps);
        assert_string_equal(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
        assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), EPERM);
#ifdef __x86_64__
        assert_int_equal(json_array_size(json_object_get(p, "architectures")), 3);
        assert_int_equal(find(p, "arch_prctl").allow, 1);
        assert_int_equal(find(p, "cacheflush").allow, 0);
#endif
        assert_int_equal(find(p, "read").allow, 1);
        assert_int_equal(find(p, "chroot").allow, 1); /* CAP_SYS_CHROOT is in the set */
        /* CAP_SYS_ADMIN's syscalls are left to the default: EPERM */
        static const char *const admin[] = { "mount", "umount2", "unshare", "setns", "bpf", "fsopen", "sethostname" };
        for (size_t i = 0; i < ELEMENTSOF(admin); i++)
                assert_int_equal(find(p, admin[i]).allow + find(p, admin[i]).errno_rules, 0);
        assert_int_equal(find(p, "init_module").allow, 0);
        assert_int_equal(find(p, "kcmp").allow, 0);
        assert_int_equal(find(p, "ptrace").allow, 1);
        /* clone without namespace flags only; clone3 ENOSYS */
        assert_int_equal(find(p, "clone").allow, 1);
        assert_int_equal(find(p, "clone").with_args, 1);
        assert_int_equal(find(p, "clone3").errno_ret, ENOSYS);
        assert_int_equal(find(p, "personality").allow, 5);
        assert_int_equal(find(p, "socket").with_args, 1);
        json_decref(p);

        p = seccomp_default_profile(docker_caps | SYS_ADMIN | CAP_BIT(19) /* SYS_PTRACE */);
        for (size_t i = 0; i < ELEMENTSOF(admin); i++)
                assert_int_equal(find(p, admin[i]).allow, 1);
        assert_int_equal(find(p, "clone").with_args, 0);
        assert_int_equal(find(p, "clone3").errno_rules, 0);
        assert_int_equal(find(p, "kcmp").allow, 1);
        json_decref(p);
}

/* every name of the table is a syscall libseccomp knows on some architecture: no typos */
static void test_default_names_known(void **state)
{
        static const uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_ARM,
                                           SCMP_ARCH_AARCH64, SCMP_ARCH_S390X, SCMP_ARCH_PPC64LE, SCMP_ARCH_RISCV64 };
        json_t *d = seccomp_default_docker(), *r, *n;
        size_t i, k, count = 0;
        json_array_foreach(json_object_get(d, "syscalls"), i, r) json_array_foreach(json_object_get(r, "names"), k, n)
        {
                bool known = false;
                for (size_t a = 0; a < ELEMENTSOF(arches); a++)
                        known |= seccomp_syscall_resolve_name_arch(arches[a], json_string_value(n)) != __NR_SCMP_ERROR;
                if (!known)
                        fail_msg("'%s' is no syscall libseccomp knows", json_string_value(n));
                count++;
        }
        assert_true(count > 350);
        json_decref(d);
}

static int resolve(const char *text, uint64_t caps, json_t **ret, struct err *e)
{
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        int r = seccomp_profile_resolve(j, caps, "profile", ret, e);
        json_decref(j);
        return r;
}

static void test_docker_format(void **state)
{
        struct err e = { 0 };
        json_t *p = NULL;
        assert_int_equal(resolve("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
                                 "\"subArchitectures\":[\"SCMP_ARCH_X86\"]},{\"architecture\":\"SCMP_ARCH_AARCH64\","
                                 "\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],\"syscalls\":["
                                 "{\"name\":\"read\",\"action\":\"SCMP_ACT_ALLOW\"},"
                                 "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                                 "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38,"
                                 "\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                                 "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"4.8\"}},"
                                 "{\"names\":[\"kexec_load\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"99.0\"}},"
                                 "{\"names\":[\"arch_prctl\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"amd64\"]}},"
                                 "{\"names\":[\"set_tls\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"arches\":[\"amd64\"]}}]}",
                                 docker_caps, &p, &e),
                         0);
        assert_int_equal(find(p, "read").allow, 1);
        assert_int_equal(find(p, "mount").allow, 0);
        assert_int_equal(find(p, "clone3").errno_ret, ENOSYS);
        assert_int_equal(find(p, "ptrace").allow, 1);
        assert_int_equal(find(p, "kexec_load").allow, 0);
#ifdef __x86_64__
        assert_int_equal(json_array_size(json_object_get(p, "architectures")), 2);
        assert_int_equal(find(p, "arch_prctl").allow, 1);
        assert_int_equal(find(p, "set_tls").allow, 0);
#endif
        /* what comes out is for seccomp_filter_build */
        struct seccomp_filter *f = NULL;
        assert_int_equal(seccomp_filter_build(p, &f, &e), 0);
        seccomp_filter_free(f);
        json_decref(p);

        assert_int_equal(resolve("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"mount\"],"
                                 "\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}",
                                 docker_caps | SYS_ADMIN, &p, &e),
                         0);
        assert_int_equal(find(p, "mount").allow, 1);
        json_decref(p);

        assert_true(resolve("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"mount\"],"
                            "\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_NOPE\"]}}]}",
                            docker_caps, &p, &e) < 0);
        assert_non_null(strstr(e.msg, "profile.syscalls[0].includes.caps[0]"));
        err_clear(&e);
        assert_true(resolve("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"listenerPath\":\"/x\"}", docker_caps, &p, &e) < 0);
        assert_non_null(strstr(e.msg, "listenerPath"));
        err_clear(&e);
        assert_true(resolve("[]", docker_caps, &p, &e) < 0);
}

/* the default, compiled, exported and installed as the keeper does: in a child
 * with no_new_privs (no privilege needed), syscalls get the answers docker's give */
static void test_default_installed(void **state)
{
        struct err e = { 0 };
        struct seccomp_filter *f = NULL;
        void *blob = NULL;
        size_t len = 0;
        json_t *p = seccomp_default_profile(docker_caps);
        assert_int_equal(seccomp_filter_build(p, &f, &e), 0);
        assert_int_equal(seccomp_filter_export(f, &blob, &len, &e), 0);
        seccomp_filter_free(f);
        json_decref(p);
        assert_int_equal(seccomp_blob_check(blob, len), 0);
        assert_int_equal(seccomp_blob_check(blob, len - 1), -EINVAL);
        pid_t pid = fork();
        if (pid == 0) {
                struct clone_args ca = { .exit_signal = SIGCHLD };
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_blob_install(blob, len, &e) < 0)
                        _exit(10);
                if (getpid() <= 0)
                        _exit(11);
                if (mount("none", "/", "tmpfs", 0, NULL) == 0 || errno != EPERM)
                        _exit(12);
                if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
                        _exit(13);
                if (syscall(SYS_clone3, &ca, sizeof(ca)) != -1 || errno != ENOSYS)
                        _exit(14);
                if (syscall(SYS_add_key, "user", "x", "y", 1, 0) != -1 || errno != EPERM)
                        _exit(15);
                pid_t c = fork(); /* clone without namespace flags */
                if (c == 0)
                        _exit(0);
                if (c < 0 || waitpid(c, NULL, 0) != c)
                        _exit(16);
                _exit(0);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        free(blob);
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_valid_profile), cmocka_unit_test(test_errors),
                                            cmocka_unit_test(test_default_table), cmocka_unit_test(test_default_names_known),
                                            cmocka_unit_test(test_docker_format), cmocka_unit_test(test_default_installed) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
