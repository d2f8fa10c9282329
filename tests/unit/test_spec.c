/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <string.h>
#include <sys/resource.h>

#include "lib/spec/spec.h"

static const char base[] =
        "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
        "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\",\"user\":{\"uid\":1,\"gid\":2,\"additionalGids\":[3]},"
        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],"
        "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"NET_RAW\"]}},"
        "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
        "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"}],"
        "\"maskedPaths\":[\"/proc/kcore\"]},"
        "\"hooks\":{\"poststop\":[{\"path\":\"/bin/true\",\"timeout\":3}]}}";

static int parse(const char *text, struct spec *s, struct err *e)
{
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        int r = spec_parse(j, "/bundle", s, e);
        json_decref(j);
        return r;
}

static void test_parse_valid(void **state)
{
        struct spec s;
        struct err e = { 0 };
        assert_int_equal(parse(base, &s, &e), 0);
        assert_string_equal(s.root_path, "/bundle/rootfs");
        assert_string_equal(s.process.args[0], "/bin/sh");
        assert_int_equal(s.process.uid, 1);
        assert_int_equal(s.process.gid, 2);
        assert_int_equal(s.process.n_additional_gids, 1);
        assert_int_equal(s.process.rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(s.process.rlimits[0].hard, 20);
        assert_true(s.process.caps[CAP_SET_BOUNDING] == ((1ull << 5) | (1ull << 13)));
        assert_true(s.ns[NS_PID].enabled && !s.ns[NS_PID].path);
        assert_string_equal(s.ns[NS_NET].path, "/run/netns/x");
        assert_int_equal(s.n_mounts, 1);
        assert_int_equal(s.n_hooks[HOOK_POSTSTOP], 1);
        assert_int_equal(s.hooks[HOOK_POSTSTOP][0].timeout, 3);
        spec_free(&s);
}

static void expect_error(const char *from, const char *to, const char *field)
{
        char doc[4096];
        const char *p = strstr(base, from);
        assert_non_null(p);
        snprintf(doc, sizeof(doc), "%.*s%s%s", (int) (p - base), base, to, p + strlen(from));
        struct spec s;
        struct err e = { 0 };
        assert_true(parse(doc, &s, &e) < 0);
        if (!strstr(e.msg, field))
                fail_msg("error '%s' does not name '%s'", e.msg, field);
        spec_free(&s);
}

static void test_errors_name_the_field(void **state)
{
        expect_error("\"1.0.2\"", "\"0.9\"", "ociVersion");
        expect_error("[\"/bin/sh\"]", "[]", "process.args");
        expect_error("\"cwd\":\"/\"", "\"cwd\":\"x\"", "process.cwd");
        expect_error("\"uid\":1", "\"uid\":-1", "process.user.uid");
        expect_error("\"RLIMIT_NOFILE\"", "\"RLIMIT_FOO\"", "process.rlimits[0].type");
        expect_error("\"soft\":10", "\"soft\":30", "process.rlimits[0]");
        expect_error("\"NET_RAW\"", "\"CAP_WHAT\"", "process.capabilities.bounding[1]");
        expect_error("{\"type\":\"pid\"}", "{\"type\":\"pod\"}", "linux.namespaces[0].type");
        expect_error("\"destination\":\"/proc\"", "\"destination\":\"proc\"", "mounts[0].destination");
        expect_error("\"timeout\":3", "\"timeout\":0", "hooks.poststop[0].timeout");
        expect_error("\"path\":\"rootfs\"", "\"path\":\"\"", "root.path");
}

static void test_device_file_mode_with_type_bits(void **state)
{
        /* podman's --device as root: fileMode is S_IFCHR | 0660 */
        char doc[4096];
        const char *p = strstr(base, "\"maskedPaths\"");
        snprintf(doc, sizeof(doc), "%.*s\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,"
                 "\"minor\":229,\"fileMode\":8624}],%s", (int) (p - base), base, p);
        struct spec s;
        struct err e = { 0 };
        assert_int_equal(parse(doc, &s, &e), 0);
        assert_int_equal(s.devices[0].mode, 0660);
        spec_free(&s);
}

static void test_sysctl_namespaces(void **state)
{
        enum spec_ns_type t;
        assert_int_equal(spec_sysctl_namespace("kernel.shmmax", &t), 0);
        assert_int_equal(t, NS_IPC);
        assert_int_equal(spec_sysctl_namespace("kernel/sem", &t), 0);
        assert_int_equal(t, NS_IPC);
        assert_int_equal(spec_sysctl_namespace("fs.mqueue.msg_max", &t), 0);
        assert_int_equal(t, NS_IPC);
        assert_int_equal(spec_sysctl_namespace("kernel.domainname", &t), 0);
        assert_int_equal(t, NS_UTS);
        assert_int_equal(spec_sysctl_namespace("net.ipv4.ip_forward", &t), 0);
        assert_int_equal(t, NS_NET);
        assert_true(spec_sysctl_namespace("kernel.pid_max", &t) < 0);
        assert_true(spec_sysctl_namespace("kernel.msgfoo", &t) < 0);
        assert_true(spec_sysctl_namespace("vm.swappiness", &t) < 0);
        /* the base config has a network namespace (joined), no ipc and no uts one */
        expect_error("\"maskedPaths\"", "\"sysctl\":{\"kernel.shmmax\":\"1\"},\"maskedPaths\"", "needs a new IPC namespace");
        expect_error("\"maskedPaths\"", "\"sysctl\":{\"fs.mqueue.msg_max\":\"1\"},\"maskedPaths\"",
                     "linux.sysctl.fs.mqueue.msg_max");
        expect_error("\"maskedPaths\"", "\"sysctl\":{\"kernel.hostname\":\"a\"},\"maskedPaths\"", "'uts'");
        expect_error("\"maskedPaths\"", "\"sysctl\":{\"vm.swappiness\":\"1\"},\"maskedPaths\"", "not namespaced");
        struct spec sp;
        struct err e = { 0 };
        static const char conflict[] = "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"hostname\":\"b\","
                                       "\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],\"sysctl\":{\"kernel.hostname\":\"a\"}}}";
        assert_true(parse(conflict, &sp, &e) < 0);
        assert_non_null(strstr(e.msg, "conflicts with hostname 'b'"));
        spec_free(&sp);
}

static void expect_sched(const char *sched, const char *field)
{
        char doc[4096];
        const char *p = strstr(base, "\"cwd\"");
        snprintf(doc, sizeof(doc), "%.*s\"scheduler\":%s,%s", (int) (p - base), base, sched, p);
        struct spec s;
        struct err e = { 0 };
        int r = parse(doc, &s, &e);
        if (!field)
                assert_int_equal(r, 0);
        else if (r >= 0 || !strstr(e.msg, field))
                fail_msg("scheduler %s: error '%s' does not name '%s'", sched, e.msg, field);
        spec_free(&s);
}

static void test_scheduler_checked_before_the_kernel(void **state)
{
        expect_sched("{\"policy\":\"SCHED_OTHER\",\"nice\":5}", NULL);
        expect_sched("{\"policy\":\"SCHED_FIFO\",\"priority\":10}", NULL);
        expect_sched("{\"policy\":\"SCHED_FIFO\"}", "process.scheduler.priority");
        expect_sched("{\"policy\":\"SCHED_OTHER\",\"priority\":3}", "process.scheduler.priority");
        expect_sched("{\"policy\":\"SCHED_BATCH\",\"runtime\":2000}", "process.scheduler");
        expect_sched("{\"policy\":\"SCHED_DEADLINE\",\"runtime\":10000,\"deadline\":20000,\"period\":30000}",
                     NULL);
        expect_sched("{\"policy\":\"SCHED_DEADLINE\",\"runtime\":10000,\"deadline\":20000}", NULL);
        expect_sched("{\"policy\":\"SCHED_DEADLINE\",\"runtime\":100,\"deadline\":20000}",
                     "process.scheduler.runtime");
        expect_sched("{\"policy\":\"SCHED_DEADLINE\",\"runtime\":30000,\"deadline\":20000}",
                     "process.scheduler.deadline");
        expect_sched("{\"policy\":\"SCHED_DEADLINE\",\"runtime\":10000,\"deadline\":20000,\"period\":15000}",
                     "process.scheduler.period");
}

static void test_generate_rootless(void **state)
{
        json_t *j = spec_generate(true, 1000, 1000);
        struct spec s;
        struct err e = { 0 };
        assert_int_equal(spec_parse(j, "/b", &s, &e), 0);
        assert_true(s.ns[NS_USER].enabled);
        assert_false(s.ns[NS_NET].enabled);
        assert_int_equal(s.uid_mappings[0].host_id, 1000);
        spec_free(&s);
        json_decref(j);
        j = spec_generate(false, 0, 0);
        assert_int_equal(spec_parse(j, "/b", &s, &e), 0);
        assert_false(s.ns[NS_USER].enabled);
        assert_true(s.ns[NS_NET].enabled);
        spec_free(&s);
        json_decref(j);
}

static void test_cap_names(void **state)
{
        assert_int_equal(spec_cap_from_name("CAP_SYS_ADMIN"), 21);
        assert_int_equal(spec_cap_from_name("sys_admin"), 21);
        assert_true(spec_cap_from_name("CAP_NOPE") < 0);
        assert_string_equal(spec_cap_name(0), "CAP_CHOWN");
}

static void test_intel_rdt_message(void **state)
{
        assert_non_null(strstr(spec_intel_rdt_message(false), "no resctrl file system"));
        assert_non_null(strstr(spec_intel_rdt_message(true), "not supported by den-runtime"));
        assert_non_null(strstr(spec_intel_rdt_message(false), "linux.intelRdt"));
}

static void test_memory_policy(void **state)
{
        struct spec s;
        struct err e = { 0 };
        char doc[4096];
        const char *p = strstr(base, "\"maskedPaths\"");
        snprintf(doc, sizeof(doc), "%.*s%s%s", (int) (p - base), base,
                 "\"memoryPolicy\":{\"mode\":\"MPOL_INTERLEAVE\",\"nodes\":\"0-2,65\","
                 "\"flags\":[\"MPOL_F_RELATIVE_NODES\"]},",
                 p);
        assert_int_equal(parse(doc, &s, &e), 0);
        assert_true(s.has_mempolicy);
        assert_int_equal(s.mempolicy_mode, 3);
        assert_int_equal(s.mempolicy_flags, 1u << 14);
        assert_true(s.mempolicy_nodes[0] == 7);
        assert_true(s.mempolicy_nodes[65 / (8 * sizeof(long))] & (1ul << (65 % (8 * sizeof(long)))));
        spec_free(&s);
        expect_error("\"maskedPaths\"", "\"memoryPolicy\":{\"mode\":\"MPOL_X\"},\"maskedPaths\"",
                     "linux.memoryPolicy.mode");
        expect_error("\"maskedPaths\"", "\"memoryPolicy\":{\"mode\":\"MPOL_BIND\"},\"maskedPaths\"",
                     "linux.memoryPolicy.nodes");
        expect_error("\"maskedPaths\"", "\"memoryPolicy\":{\"mode\":\"MPOL_LOCAL\",\"nodes\":\"0\"},\"maskedPaths\"",
                     "linux.memoryPolicy.nodes");
        expect_error("\"maskedPaths\"", "\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":\"1--2\"},\"maskedPaths\"",
                     "linux.memoryPolicy.nodes");
        /* MPOL_PREFERRED with no nodes means "local" */
        snprintf(doc, sizeof(doc), "%.*s%s%s", (int) (p - base), base, "\"memoryPolicy\":{\"mode\":\"MPOL_PREFERRED\"},", p);
        assert_int_equal(parse(doc, &s, &e), 0);
        assert_int_equal(s.mempolicy_mode, 1);
        spec_free(&s);
}

static void test_net_devices(void **state)
{
        /* base joins a network namespace by path: netDevices needs a new one */
        expect_error("\"maskedPaths\"", "\"netDevices\":{\"eth0\":{\"name\":\"x\"}},\"maskedPaths\"",
                     "linux.netDevices");
        expect_error("\"maskedPaths\"", "\"netDevices\":{\"eth0\":{\"name\":\"a/b\"}},\"maskedPaths\"",
                     "linux.netDevices.eth0.name");
        expect_error("\"maskedPaths\"", "\"netDevices\":{\"eth0\":{\"name\":\"x\"},\"eth1\":{\"name\":\"x\"}},\"maskedPaths\"",
                     "two devices named 'x'");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_valid),
                cmocka_unit_test(test_errors_name_the_field),
                cmocka_unit_test(test_scheduler_checked_before_the_kernel),
                cmocka_unit_test(test_generate_rootless),
                cmocka_unit_test(test_cap_names),
                cmocka_unit_test(test_device_file_mode_with_type_bits),
                cmocka_unit_test(test_sysctl_namespaces),
                cmocka_unit_test(test_intel_rdt_message),
                cmocka_unit_test(test_memory_policy),
                cmocka_unit_test(test_net_devices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
