/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/linux/cgroup.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char **plan(const char *res, bool v2, int *r)
{
        json_t *j = json_loads(res, 0, NULL);
        char **w = NULL;
        struct err e = { 0 };
        *r = cgroup_plan_writes(j, v2, &w, &e);
        json_decref(j);
        return w;
}

static bool has(char **w, const char *line)
{
        for (size_t i = 0; w && w[i]; i++)
                if (strcmp(w[i], line) == 0)
                        return true;
        return false;
}

static void test_v2(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan("{\"memory\":{\"limit\":1048576,\"swap\":2097152},\"pids\":{\"limit\":10},"
                                            "\"cpu\":{\"quota\":50000,\"period\":100000,\"shares\":1024},"
                                            "\"unified\":{\"memory.high\":\"900000\"}}",
                                            true, &r);
        assert_int_equal(r, 0);
        assert_true(has(w, "memory.max\t1048576"));
        assert_true(has(w, "memory.swap.max\t1048576"));
        assert_true(has(w, "pids.max\t10"));
        assert_true(has(w, "cpu.max\t50000 100000"));
        assert_true(has(w, "cpu.weight\t39"));
        assert_true(has(w, "memory.high\t900000"));
}

static void test_v1(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan("{\"memory\":{\"limit\":-1},\"pids\":{\"limit\":0},\"cpu\":{\"shares\":512}}", false, &r);
        assert_int_equal(r, 0);
        assert_true(has(w, "?memory:memory.limit_in_bytes\t-1"));
        assert_true(has(w, "?pids:pids.max\tmax"));
        assert_true(has(w, "cpu:cpu.shares\t512"));
        /* v1: the v2 hierarchy of a hybrid host; refused when it has no such file */
        _cleanup_strv_free_ char **u = plan("{\"unified\":{\"memory.high\":\"1\"}}", false, &r);
        assert_int_equal(r, 0);
        assert_true(has(u, "unified:memory.high\t1"));
        char **bad = plan("{\"unified\":{\"../escape\":\"1\"}}", true, &r);
        assert_true(r < 0);
        assert_null(bad);
}

/* dockerd sends zeros for what it leaves unset: nothing to write */
static void test_zero_is_unset(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan("{\"blockIO\":{\"weight\":0},\"cpu\":{\"shares\":0,\"quota\":0,\"period\":0},"
                                            "\"memory\":{\"limit\":0,\"reservation\":0,\"swap\":0}}",
                                            false, &r);
        assert_int_equal(r, 0);
        assert_null(w);
        _cleanup_strv_free_ char **w0 = plan("{\"memory\":{\"limit\":0,\"swap\":0}}", true, &r);
        assert_int_equal(r, 0);
        assert_null(w0);
        _cleanup_strv_free_ char **w2 = plan("{\"blockIO\":{\"weight\":500},\"memory\":{\"swap\":-1}}", false, &r);
        assert_true(has(w2, "blkio:blkio.weight|blkio.bfq.weight\t500"));
        assert_true(has(w2, "?memory:memory.memsw.limit_in_bytes\t-1"));
        /* v2: blkio's weight scaled onto io.weight */
        _cleanup_strv_free_ char **w3 = plan("{\"blockIO\":{\"weight\":500}}", true, &r);
        assert_true(has(w3, "io.weight\tdefault 4950"));
}

static const char all_v1[] =
        "{\"memory\":{\"limit\":33554432,\"reservation\":16777216,\"swap\":67108864,\"swappiness\":10,"
        "\"kernel\":-1,\"kernelTCP\":8388608,\"disableOOMKiller\":true,\"useHierarchy\":true},"
        "\"cpu\":{\"shares\":512,\"quota\":20000,\"period\":50000,\"realtimeRuntime\":1000,"
        "\"realtimePeriod\":100000,\"cpus\":\"0\",\"mems\":\"0\",\"idle\":1,\"burst\":1000},"
        "\"blockIO\":{\"weight\":300,\"leafWeight\":200,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":400}],"
        "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
        "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":0}]},"
        "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
        "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]},"
        "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}}}";

/* every field, on v1 */
static void test_all_fields_v1(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan(all_v1, false, &r);
        assert_int_equal(r, 0);
        static const char *const want[] = {
                "memory:memory.limit_in_bytes\t33554432", "memory:memory.soft_limit_in_bytes\t16777216",
                "memory:memory.memsw.limit_in_bytes\t67108864", "memory:memory.swappiness\t10",
                "?memory:memory.kmem.limit_in_bytes\t-1", "memory:memory.kmem.tcp.limit_in_bytes\t8388608",
                "memory:memory.oom_control\t1", "cpu:cpu.shares\t512", "cpu:cpu.cfs_period_us\t50000",
                "cpu:cpu.cfs_quota_us\t20000", "cpu:cpu.cfs_burst_us\t1000", "cpu:cpu.rt_period_us\t100000",
                "cpu:cpu.rt_runtime_us\t1000", "cpuset:cpuset.cpus\t0", "cpuset:cpuset.mems\t0", "cpu:cpu.idle\t1",
                "blkio:blkio.weight|blkio.bfq.weight\t300", "blkio:blkio.leaf_weight\t200",
                "blkio:blkio.weight_device|blkio.bfq.weight_device\t8:0 400",
                "blkio:blkio.throttle.read_bps_device\t8:0 1048576", "blkio:blkio.throttle.write_iops_device\t8:16 0",
                "hugetlb:hugetlb.2MB.limit_in_bytes\t4194304", "net_cls:net_cls.classid\t1048577",
                "net_prio:net_prio.ifpriomap\teth0 5", "rdma:rdma.max\tmlx5_1 hca_handle=3 hca_object=10000",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                if (!has(w, want[i]))
                        fail_msg("missing '%s'", want[i]);
        }
        assert_int_equal(strv_length(w), ELEMENTSOF(want));
        /* the controllers joined only for these */
        static const char *const joined[] = { "memory", "cpu", "blkio" };
        _cleanup_strv_free_ char **x = cgroup_plan_extra_controllers(w, joined, ELEMENTSOF(joined));
        assert_int_equal(strv_length(x), 5);
        assert_string_equal(x[0], "cpuset");
        assert_string_equal(x[1], "hugetlb");
        assert_string_equal(x[2], "net_cls");
        assert_string_equal(x[3], "net_prio");
        assert_string_equal(x[4], "rdma");
}

/* the same on v2, with runc's conversions; v1-only fields refused when set */
static void test_all_fields_v2(void **state)
{
        int r;
        _cleanup_strv_free_ char **w = plan(
                "{\"memory\":{\"limit\":33554432,\"reservation\":16777216,\"swap\":67108864,\"kernel\":-1},"
                "\"cpu\":{\"shares\":512,\"quota\":20000,\"period\":50000,\"cpus\":\"0-1\",\"mems\":\"0\",\"idle\":1,"
                "\"burst\":1000},"
                "\"blockIO\":{\"weight\":1000,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":400}],"
                "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
                "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":0}]},"
                "\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":0}],"
                "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}}}",
                true, &r);
        assert_int_equal(r, 0);
        static const char *const want[] = {
                "memory.max\t33554432", "memory.low\t16777216", "memory.swap.max\t33554432", "cpu.weight\t20",
                "cpu.max\t20000 50000", "cpu.max.burst\t1000", "cpuset.cpus\t0-1", "cpuset.mems\t0", "cpu.idle\t1",
                "io.weight\tdefault 10000", "io.bfq.weight\t8:0 400", "io.max\t8:0 rbps=1048576",
                "io.max\t8:16 wiops=max", "hugetlb.1GB.max\t0", "rdma.max\tmlx5_1 hca_handle=3",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                if (!has(w, want[i]))
                        fail_msg("missing '%s'", want[i]);
        }
        assert_int_equal(strv_length(w), ELEMENTSOF(want));
        static const char *const refused[] = {
                "{\"memory\":{\"swappiness\":60}}", "{\"memory\":{\"disableOOMKiller\":true}}",
                "{\"memory\":{\"kernelTCP\":1000}}", "{\"cpu\":{\"realtimeRuntime\":1000}}",
                "{\"blockIO\":{\"leafWeight\":100}}", "{\"network\":{\"classID\":1}}",
                "{\"memory\":{\"swap\":1000}}", /* runc: swap needs a memory limit on v2 */
                "{\"memory\":{\"limit\":2000,\"swap\":1000}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char **b = plan(refused[i], true, &r);
                if (r >= 0)
                        fail_msg("'%s' accepted on v2", refused[i]);
                assert_null(b);
        }
        /* defaults of v1-only fields pass */
        _cleanup_strv_free_ char **d = plan("{\"memory\":{\"swappiness\":-1,\"disableOOMKiller\":false,"
                                            "\"useHierarchy\":true},\"cpu\":{\"realtimeRuntime\":0},"
                                            "\"network\":{\"classID\":0}}",
                                            true, &r);
        assert_int_equal(r, 0);
        assert_null(d);
        /* unlimited memory, swap unset: swap unlimited too (runc) */
        _cleanup_strv_free_ char **u = plan("{\"memory\":{\"limit\":-1,\"swap\":0}}", true, &r);
        assert_true(has(u, "?memory.max\tmax"));
        assert_true(has(u, "?memory.swap.max\tmax"));
}

static void test_bad_values(void **state)
{
        static const char *const bad[] = {
                "{\"cpu\":{\"cpus\":\"0;echo\"}}",
                "{\"hugepageLimits\":[{\"pageSize\":\"../2MB\",\"limit\":1}]}",
                "{\"memory\":{\"swappiness\":101}}",
                "{\"network\":{\"priorities\":[{\"name\":\"eth0 1\\neth1\",\"priority\":1}]}}",
                "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"rate\":1}]}}",
                "{\"rdma\":{\"mlx5 x\":{\"hcaHandles\":1}}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r;
                char **w = plan(bad[i], false, &r);
                if (r >= 0)
                        fail_msg("'%s' accepted", bad[i]);
                assert_null(w);
        }
}

/* runc's update flags: go-units' RAMInBytes */
static void test_parse_bytes(void **state)
{
        static const struct {
                const char *s;
                int64_t v;
        } ok[] = { { "-1", -1 },          { "0", 0 },           { "4096", 4096 },        { "32m", 32 << 20 },
                   { "32M", 32 << 20 },    { "1.5g", 3LL << 29 }, { "64 MiB", 64 << 20 }, { "100kb", 102400 },
                   { "2t", 2LL << 40 },    { "1b", 1 } };
        static const char *const bad[] = { "", "-2", "m", "12x", "1.5.5g", "32mm", "99999999999999999999", " 1" };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                int64_t v = -7;
                if (cgroup_parse_bytes(ok[i].s, &v) < 0 || v != ok[i].v)
                        fail_msg("'%s' read as %lld", ok[i].s, (long long) v);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int64_t v;
                if (cgroup_parse_bytes(bad[i], &v) == 0)
                        fail_msg("'%s' accepted", bad[i]);
        }
}

/* update: recorded values merged group by group; a swap given alone gets the
 * recorded limit (v2 needs it) */
static void test_resources_for_update(void **state)
{
        json_t *rec = json_loads("{\"memory\":{\"limit\":1000,\"reservation\":500},\"pids\":{\"limit\":9}}", 0, NULL);
        json_t *upd = json_loads("{\"memory\":{\"swap\":3000},\"cpu\":{\"shares\":2}}", 0, NULL);
        json_t *merged, *apply = cgroup_resources_for_update(rec, upd, &merged);
        _cleanup_free_ char *a = json_dumps(apply, JSON_SORT_KEYS | JSON_COMPACT);
        _cleanup_free_ char *m = json_dumps(merged, JSON_SORT_KEYS | JSON_COMPACT);
        assert_string_equal(a, "{\"cpu\":{\"shares\":2},\"memory\":{\"limit\":1000,\"swap\":3000}}");
        assert_string_equal(m, "{\"cpu\":{\"shares\":2},\"memory\":{\"limit\":1000,\"reservation\":500,\"swap\":3000},"
                               "\"pids\":{\"limit\":9}}");
        /* the recorded object is left as it was */
        assert_null(json_object_get(json_object_get(rec, "memory"), "swap"));
        json_decref(apply);
        json_decref(merged);
        apply = cgroup_resources_for_update(NULL, upd, &merged);
        assert_null(json_object_get(json_object_get(apply, "memory"), "limit"));
        assert_true(json_equal(merged, upd));
        json_decref(apply);
        json_decref(merged);
        json_decref(rec);
        json_decref(upd);
}

static struct cgroup_dev_rule *rules(const char *res, size_t *n, int *r)
{
        json_t *j = json_loads(res, 0, NULL);
        struct cgroup_dev_rule *v = NULL;
        struct err e = { 0 };
        *r = cgroup_devices_rules(j, &v, n, &e);
        json_decref(j);
        return v;
}

static const char deny_all_allow_null[] =
        "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}]}";

static void test_devices_v1(void **state)
{
        size_t n;
        int r;
        _cleanup_free_ struct cgroup_dev_rule *d = rules(deny_all_allow_null, &n, &r);
        assert_int_equal(r, 0);
        _cleanup_strv_free_ char **w = cgroup_devices_plan_v1(d, n);
        assert_string_equal(w[0], "devices.deny\ta");
        assert_string_equal(w[1], "devices.deny\ta");
        assert_string_equal(w[2], "devices.allow\tc 1:3 rw");
        /* then the defaults, crun's */
        assert_string_equal(w[3], "devices.allow\tc *:* m");
        assert_true(has(w, "devices.allow\tc 136:* rwm"));
        assert_true(has(w, "devices.allow\tc 1:5 rwm"));
        _cleanup_free_ struct cgroup_dev_rule *none = rules("{\"memory\":{}}", &n, &r);
        assert_int_equal(r, 0);
        assert_null(none);
        assert_int_equal(n, 0);
        assert_null(rules("{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", &n, &r));
        assert_true(r < 0);
        assert_null(rules("{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}", &n, &r));
        assert_true(r < 0);
        assert_null(rules("{\"devices\":[{\"type\":\"c\"}]}", &n, &r));
        assert_true(r < 0);
}

/* Run the program on one access, as the kernel would: a tiny interpreter for
 * the instructions the generator emits. */
static int run_bpf(const struct bpf_insn *p, size_t n, char type, unsigned major, unsigned minor, unsigned access)
{
        uint64_t reg[11] = { 0 };
        uint32_t ctx[3] = { (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK) | (access << 16), major, minor };
        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];
                uint64_t src = BPF_SRC(i->code) == BPF_X ? reg[i->src_reg] : (uint64_t) (int64_t) i->imm;
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W:
                        reg[i->dst_reg] = ctx[i->off / 4];
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        reg[i->dst_reg] = (uint32_t) (reg[i->dst_reg] & src);
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        reg[i->dst_reg] = (uint32_t) reg[i->dst_reg] >> i->imm;
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        reg[i->dst_reg] = (uint32_t) src;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = src;
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                case BPF_JMP | BPF_JNE | BPF_X:
                        if (reg[i->dst_reg] != src)
                                pc += (size_t) i->off;
                        break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                        if (reg[i->dst_reg] == src)
                                pc += (size_t) i->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int) reg[0];
                default:
                        fail_msg("unexpected instruction %#x at %zu", i->code, pc);
                }
        }
        fail_msg("the program runs off its end");
        return -1;
}

static void test_devices_bpf(void **state)
{
        size_t n, ni, ni1;
        int r;
        _cleanup_free_ struct cgroup_dev_rule *d = rules(deny_all_allow_null, &n, &r);
        _cleanup_free_ struct bpf_insn *p = cgroup_devices_bpf(d, n, &ni);
        ni1 = ni;
        /* allowed by the config (read and write only), by the defaults, refused */
        assert_int_equal(run_bpf(p, ni, 'c', 1, 3, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE), 1);
        assert_int_equal(run_bpf(p, ni, 'c', 1, 5, BPF_DEVCG_ACC_READ), 1);
        assert_int_equal(run_bpf(p, ni, 'c', 136, 7, BPF_DEVCG_ACC_WRITE), 1);
        assert_int_equal(run_bpf(p, ni, 'b', 8, 0, BPF_DEVCG_ACC_MKNOD), 1);
        assert_int_equal(run_bpf(p, ni, 'b', 8, 0, BPF_DEVCG_ACC_READ), 0);
        assert_int_equal(run_bpf(p, ni, 'c', 10, 229, BPF_DEVCG_ACC_READ), 0);
        assert_int_equal(run_bpf(p, ni, 'c', 1, 4, BPF_DEVCG_ACC_READ), 0);

        /* allow all, then deny writes to one: the last matching rule wins, and
         * the unconditional rule ends the program (no unreachable code) */
        _cleanup_free_ struct cgroup_dev_rule *d2 = rules(
                "{\"devices\":[{\"allow\":true,\"access\":\"rwm\"},{\"allow\":false,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"w\"}]}",
                &n, &r);
        _cleanup_free_ struct bpf_insn *p2 = cgroup_devices_bpf(d2, n, &ni);
        assert_int_equal(run_bpf(p2, ni, 'c', 10, 229, BPF_DEVCG_ACC_READ), 1);
        assert_int_equal(run_bpf(p2, ni, 'c', 10, 229, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE), 0);
        assert_int_equal(run_bpf(p2, ni, 'b', 7, 0, BPF_DEVCG_ACC_WRITE), 1);
        assert_int_equal(p2[ni - 1].code, BPF_JMP | BPF_EXIT);
        assert_int_equal(p2[ni - 2].imm, 1);

        /* the kernel's verifier accepts both (needs CAP_BPF or root) */
        if (geteuid() == 0) {
                const struct bpf_insn *progs[] = { p, p2 };
                size_t lens[] = { ni1, ni };
                for (size_t k = 0; k < 2; k++) {
                        union bpf_attr a = { 0 };
                        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
                        a.insns = (uint64_t) (uintptr_t) progs[k];
                        a.insn_cnt = (uint32_t) lens[k];
                        a.license = (uint64_t) (uintptr_t) "GPL";
                        int fd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
                        if (fd < 0)
                                fail_msg("the verifier refused program %zu: %s", k, strerror(errno));
                        close(fd);
                }
        }
}

static void test_mount_sources(void **state)
{
        static const char hybrid[] = "10:hugetlb:/\n9:name=systemd:/c1\n8:pids:/c1\n4:memory:/a/c1\n"
                                     "2:cpu,cpuacct:/c1\n3:cpuset:/\n0::/c1\n";
        _cleanup_strv_free_ char **h = cgroup_mount_sources(hybrid, CGROUP_HYBRID, NULL);
        assert_true(has(h, "systemd\t/sys/fs/cgroup/systemd/c1"));
        assert_true(has(h, "pids\t/sys/fs/cgroup/pids/c1"));
        assert_true(has(h, "memory\t/sys/fs/cgroup/memory/a/c1"));
        assert_true(has(h, "cpu\t/sys/fs/cgroup/cpu/c1"));
        assert_true(has(h, "cpuacct\t/sys/fs/cgroup/cpuacct/c1"));
        assert_true(has(h, "unified\t/sys/fs/cgroup/unified/c1"));
        /* not joined: not shown (they would be the host's whole tree) */
        for (size_t i = 0; h[i]; i++)
                assert_null(strstr(h[i], "cpuset"));
        _cleanup_strv_free_ char **l = cgroup_mount_sources(hybrid, CGROUP_LEGACY, NULL);
        assert_false(has(l, "unified\t/sys/fs/cgroup/unified/c1"));
        _cleanup_strv_free_ char **v2 = cgroup_mount_sources("0::/x/c1\n", CGROUP_UNIFIED, NULL);
        assert_string_equal(v2[0], "\t/sys/fs/cgroup/x/c1");
        assert_null(v2[1]);
        _cleanup_strv_free_ char **top = cgroup_mount_sources("0::/\n", CGROUP_UNIFIED, NULL);
        assert_string_equal(top[0], "\t/sys/fs/cgroup");
        /* joined on demand: shown when the container's cgroup has it */
        char paths[] = "/sys/fs/cgroup/memory/a/c1\n/sys/fs/cgroup/cpuset/c1";
        struct cgroup cg = { .paths = paths };
        _cleanup_strv_free_ char **d = cgroup_mount_sources("3:cpuset:/c1\n10:hugetlb:/\n4:memory:/a/c1\n",
                                                            CGROUP_HYBRID, &cg);
        assert_true(has(d, "cpuset\t/sys/fs/cgroup/cpuset/c1"));
        assert_true(has(d, "memory\t/sys/fs/cgroup/memory/a/c1"));
        assert_int_equal(strv_length(d), 2);
}

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static char *read_text(const char *path)
{
        static char buf[256];
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

/* v2: each level above the container's cgroup passes its controllers down */
static void test_v2_enable_controllers(void **state)
{
        char top[] = "/tmp/den-cg-XXXXXX", p[512];
        assert_non_null(mkdtemp(top));
        snprintf(p, sizeof(p), "%s/a", top);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/cgroup.controllers", top);
        write_text(p, "cpu io memory pids\n");
        snprintf(p, sizeof(p), "%s/cgroup.subtree_control", top);
        write_text(p, "cpu\n");
        snprintf(p, sizeof(p), "%s/a/cgroup.controllers", top);
        write_text(p, "cpu io memory pids\n");
        snprintf(p, sizeof(p), "%s/a/cgroup.subtree_control", top);
        write_text(p, "cpu io memory pids\n");
        snprintf(p, sizeof(p), "%s/a/c1", top);
        cgroup_v2_enable_controllers(top, p);
        snprintf(p, sizeof(p), "%s/cgroup.subtree_control", top);
        assert_string_equal(read_text(p), "+io +memory +pids");
        /* all on already: not written */
        snprintf(p, sizeof(p), "%s/a/cgroup.subtree_control", top);
        assert_string_equal(read_text(p), "cpu io memory pids\n");
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_v2), cmocka_unit_test(test_v1),
                                            cmocka_unit_test(test_zero_is_unset),
                                            cmocka_unit_test(test_all_fields_v1), cmocka_unit_test(test_all_fields_v2),
                                            cmocka_unit_test(test_bad_values), cmocka_unit_test(test_parse_bytes),
                                            cmocka_unit_test(test_resources_for_update), cmocka_unit_test(test_devices_v1),
                                            cmocka_unit_test(test_devices_bpf), cmocka_unit_test(test_mount_sources),
                                            cmocka_unit_test(test_v2_enable_controllers) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
