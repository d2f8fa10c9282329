/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's device policy (linux.resources.devices): the v1 devices
 * controller's allow/deny writes, or a BPF_PROG_TYPE_CGROUP_DEVICE program on
 * cgroup v2.  Both are planned here from one list of rules. */
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "cgroup.h"

/* What runc and crun allow after the config's rules: the nodes every
 * container gets (null, zero, full, tty, random, urandom, console, ptmx, the
 * ptys) and mknod of any node.  crun 1.8's list, in its order. */
static const struct cgroup_dev_rule default_rules[] = {
        { true, 'c', -1, -1, CGROUP_DEV_MKNOD },
        { true, 'b', -1, -1, CGROUP_DEV_MKNOD },
        { true, 'c', 1, 3, CGROUP_DEV_RWM },
        { true, 'c', 1, 8, CGROUP_DEV_RWM },
        { true, 'c', 1, 7, CGROUP_DEV_RWM },
        { true, 'c', 5, 0, CGROUP_DEV_RWM },
        { true, 'c', 1, 5, CGROUP_DEV_RWM },
        { true, 'c', 1, 9, CGROUP_DEV_RWM },
        { true, 'c', 5, 1, CGROUP_DEV_RWM },
        { true, 'c', 136, -1, CGROUP_DEV_RWM },
        { true, 'c', 5, 2, CGROUP_DEV_RWM },
};

static int parse_rule(json_t *o, size_t i, struct cgroup_dev_rule *d, struct err *err)
{
        char where[64];
        const char *type = "a", *access = "rwm";
        int64_t major = -1, minor = -1;
        bool allow = false;
        int r;

        snprintf(where, sizeof(where), "linux.resources.devices[%zu]", i);
        if (!json_is_object(o))
                return err_set(err, -EINVAL, "%s: must be an object", where);
        if (!json_object_get(o, "allow"))
                return err_set(err, -EINVAL, "%s.allow: required", where);
        if ((r = json_get_bool(o, where, "allow", &allow, err)) < 0 ||
            (r = json_get_str(o, where, "type", &type, err)) < 0 ||
            (r = json_get_str(o, where, "access", &access, err)) < 0 ||
            (r = json_get_int(o, where, "major", -1, UINT32_MAX, &major, err)) < 0 ||
            (r = json_get_int(o, where, "minor", -1, UINT32_MAX, &minor, err)) < 0)
                return r;
        if (strlen(type) != 1 || !strchr("abc", type[0]))
                return err_set(err, -EINVAL, "%s.type: '%s' is none of a, b, c", where, type);
        *d = (struct cgroup_dev_rule){ allow, type[0], major, minor, 0 };
        for (const char *c = access; *c; c++) {
                const char *p = strchr("mrw", *c);
                if (!p)
                        return err_set(err, -EINVAL, "%s.access: '%s' is not made of r, w and m", where, access);
                d->access |= 1u << (p - "mrw");
        }
        /* the kernel reads "a" as every device, whatever numbers follow */
        if (d->type == 'a')
                d->major = d->minor = -1;
        return 0;
}

int cgroup_devices_rules(json_t *resources, struct cgroup_dev_rule **ret, size_t *ret_n, struct err *err)
{
        json_t *devs = NULL, *e;
        size_t i;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (resources && (r = json_get_arr(resources, "linux.resources", "devices", &devs, err)) < 0)
                return r;
        /* no rules: the container keeps its parent's policy, as with crun */
        if (!devs || json_array_size(devs) == 0)
                return 0;
        size_t n = json_array_size(devs);
        struct cgroup_dev_rule *v = xcalloc(n + ELEMENTSOF(default_rules), sizeof(*v));
        json_array_foreach(devs, i, e)
        {
                if ((r = parse_rule(e, i, &v[i], err)) < 0) {
                        free(v);
                        return r;
                }
        }
        memcpy(v + n, default_rules, sizeof(default_rules));
        *ret = v;
        *ret_n = n + ELEMENTSOF(default_rules);
        return 0;
}

static void format_number(char *buf, size_t size, int64_t n)
{
        if (n < 0)
                snprintf(buf, size, "*");
        else
                snprintf(buf, size, "%lld", (long long) n);
}

char **cgroup_devices_plan_v1(const struct cgroup_dev_rule *rules, size_t n)
{
        if (!n)
                return NULL;
        /* deny first: a v1 cgroup starts with its parent's list, often "a *:* rwm",
         * and the rules are an allow-list on a default deny, as on v2 */
        char **v = xcalloc(n + 2, sizeof(char *));
        v[0] = xstrdup("devices.deny\ta");
        for (size_t i = 0; i < n; i++) {
                const struct cgroup_dev_rule *d = &rules[i];
                const char *file = d->allow ? "devices.allow" : "devices.deny";
                if (d->type == 'a') {
                        v[i + 1] = xasprintf("%s\ta", file);
                        continue;
                }
                char maj[24], min[24], acc[4] = "";
                format_number(maj, sizeof(maj), d->major);
                format_number(min, sizeof(min), d->minor);
                static const unsigned bits[] = { CGROUP_DEV_READ, CGROUP_DEV_WRITE, CGROUP_DEV_MKNOD };
                for (int b = 0, k = 0; b < 3; b++)
                        if (d->access & bits[b])
                                acc[k++] = "rwm"[b];
                v[i + 1] = xasprintf("%s\t%c %s:%s %s", file, d->type, maj, min, acc);
        }
        return v;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

/* One rule's instructions: conditions that jump past the block when they do
 * not hold, then "return allow".  Returns the count; *terminal when the rule
 * has no condition (every later instruction would be unreachable, which the
 * verifier refuses). */
static size_t rule_block(const struct cgroup_dev_rule *d, struct bpf_insn *b, bool *terminal)
{
        size_t n = 0;
        size_t jumps[4], n_jumps = 0;

        if (d->type != 'a') {
                jumps[n_jumps++] = n;
                b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                              d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
        }
        if (d->access != CGROUP_DEV_RWM) {
                /* r1 = request & rule: an allow rule must cover every access
                 * asked for; a deny rule hits when it names any of them (the
                 * v1 controller's reading of "deny c 1:3 w" for an O_RDWR open) */
                uint32_t acc = ((d->access & CGROUP_DEV_MKNOD) ? BPF_DEVCG_ACC_MKNOD : 0) |
                               ((d->access & CGROUP_DEV_READ) ? BPF_DEVCG_ACC_READ : 0) |
                               ((d->access & CGROUP_DEV_WRITE) ? BPF_DEVCG_ACC_WRITE : 0);
                b[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
                b[n++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t) acc);
                jumps[n_jumps++] = n;
                b[n++] = d->allow ? insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0)
                                  : insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0);
        }
        if (d->major >= 0) {
                jumps[n_jumps++] = n;
                b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t) d->major);
        }
        if (d->minor >= 0) {
                jumps[n_jumps++] = n;
                b[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) d->minor);
        }
        b[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, d->allow);
        b[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t j = 0; j < n_jumps; j++)
                b[jumps[j]].off = (int16_t) (n - jumps[j] - 1);
        *terminal = n_jumps == 0;
        return n;
}

struct bpf_insn *cgroup_devices_bpf(const struct cgroup_dev_rule *rules, size_t n, size_t *ret_n)
{
        /* 4 loads, up to 9 instructions a rule, the default */
        struct bpf_insn *p = xcalloc(4 + 9 * n + 2, sizeof(*p));
        size_t k = 0;
        bool terminal = false;

        /* ctx is struct bpf_cgroup_dev_ctx: access_type (type | access << 16), major, minor */
        p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
        p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
        p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
        p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
        p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
        p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
        /* the last matching rule wins, as with the v1 controller: test from the end */
        for (size_t i = n; i > 0 && !terminal; i--)
                k += rule_block(&rules[i - 1], p + k, &terminal);
        if (!terminal) {
                p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
                p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        }
        *ret_n = k;
        return p;
}

int cgroup_devices_attach_bpf(const char *dir, const struct cgroup_dev_rule *rules, size_t n, struct err *err)
{
        size_t n_insns;
        _cleanup_free_ struct bpf_insn *prog = cgroup_devices_bpf(rules, n, &n_insns);
        union bpf_attr load = { 0 };
        load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        load.insns = (uint64_t) (uintptr_t) prog;
        load.insn_cnt = (uint32_t) n_insns;
        load.license = (uint64_t) (uintptr_t) "GPL";
        _cleanup_close_ int prog_fd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
        if (prog_fd < 0) {
                /* again with the verifier's log, for the message */
                int r = -errno;
                _cleanup_free_ char *log = xcalloc(1, 65536);
                load.log_buf = (uint64_t) (uintptr_t) log;
                load.log_size = 65536;
                load.log_level = 1;
                int fd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
                if (fd >= 0)
                        close(fd);
                size_t l = strlen(log);
                return err_sys(err, r, "cgroup: cannot load the device program (%zu instructions)%s%s", n_insns,
                               l ? ": " : "", log + (l > 300 ? l - 300 : 0));
        }
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(err, -errno, "cgroup: cannot open %s", dir);
        union bpf_attr at = { 0 };
        at.target_fd = (uint32_t) dfd;
        at.attach_bpf_fd = (uint32_t) prog_fd;
        at.attach_type = BPF_CGROUP_DEVICE;
        /* beside whatever an ancestor attached (systemd's): all must allow */
        at.attach_flags = BPF_F_ALLOW_MULTI;
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &at, sizeof(at)) < 0)
                return err_sys(err, -errno, "cgroup: cannot attach the device program to %s", dir);
        return 0;
}
