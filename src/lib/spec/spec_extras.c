/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.memoryPolicy, linux.netDevices and linux.intelRdt: read and checked
 * when the config is read, so a bad value fails `create` with the field's
 * name before anything is set up. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "lib/base/macro.h"
#include "spec.h"

/* include/uapi/linux/mempolicy.h */
static const char *const mpol_modes[] = {
        [0] = "MPOL_DEFAULT",   [1] = "MPOL_PREFERRED",      [2] = "MPOL_BIND",
        [3] = "MPOL_INTERLEAVE", [4] = "MPOL_LOCAL",         [5] = "MPOL_PREFERRED_MANY",
        [6] = "MPOL_WEIGHTED_INTERLEAVE",
};
static const struct {
        const char *name;
        unsigned flag;
} mpol_flags[] = {
        { "MPOL_F_NUMA_BALANCING", 1u << 13 },
        { "MPOL_F_RELATIVE_NODES", 1u << 14 },
        { "MPOL_F_STATIC_NODES", 1u << 15 },
};

/* "0-3,7": node numbers and ranges, as cpuset.mems and set_mempolicy(2)'s
 * users write them */
int spec_parse_nodes(const char *s, unsigned long *mask, size_t n_bits, struct err *err)
{
        memset(mask, 0, n_bits / CHAR_BIT);
        if (!*s)
                return err_set(err, -EINVAL, "empty node list");
        for (const char *p = s; *p;) {
                char *end;
                if (!isdigit((unsigned char) *p))
                        return err_set(err, -EINVAL, "'%s': expected a node number at '%s'", s, p);
                unsigned long a = strtoul(p, &end, 10), b = a;
                if (*end == '-') {
                        p = end + 1;
                        if (!isdigit((unsigned char) *p))
                                return err_set(err, -EINVAL, "'%s': expected a node number at '%s'", s, p);
                        b = strtoul(p, &end, 10);
                }
                if (a > b)
                        return err_set(err, -EINVAL, "'%s': range %lu-%lu goes backwards", s, a, b);
                if (b >= n_bits)
                        return err_set(err, -EINVAL, "'%s': node %lu is beyond the limit of %zu nodes",
                                       s, b, n_bits);
                for (unsigned long i = a; i <= b; i++)
                        mask[i / (sizeof(long) * CHAR_BIT)] |= 1ul << (i % (sizeof(long) * CHAR_BIT));
                p = end;
                if (*p == ',' && p[1])
                        p++;
                else if (*p)
                        return err_set(err, -EINVAL, "'%s': unexpected '%c'", s, *p);
        }
        return 0;
}

static int parse_memory_policy(json_t *o, struct spec *s, struct err *err)
{
        const char *mode = NULL, *nodes = NULL;
        char **flags = NULL;
        int r;
        if (!json_is_object(o))
                return err_set(err, -EINVAL, "linux.memoryPolicy: must be an object");
        if ((r = json_get_str(o, "linux.memoryPolicy", "mode", &mode, err)) < 0 ||
            (r = json_get_str(o, "linux.memoryPolicy", "nodes", &nodes, err)) < 0 ||
            (r = json_get_strv(o, "linux.memoryPolicy", "flags", &flags, err)) < 0)
                return r;
        _cleanup_strv_free_ char **fl = flags;
        if (!mode)
                return err_set(err, -EINVAL, "linux.memoryPolicy.mode: required");
        int m = -1;
        for (size_t i = 0; i < ELEMENTSOF(mpol_modes); i++)
                if (strcmp(mode, mpol_modes[i]) == 0)
                        m = (int) i;
        if (m < 0)
                return err_set(err, -EINVAL, "linux.memoryPolicy.mode: unknown mode '%s'", mode);
        bool has_nodes = nodes && *nodes;
        /* set_mempolicy(2): DEFAULT and LOCAL take an empty mask; PREFERRED
         * may be empty (meaning local); the others need nodes */
        if (has_nodes && (m == 0 || m == 4))
                return err_set(err, -EINVAL, "linux.memoryPolicy.nodes: must be empty with %s", mode);
        if (!has_nodes && m != 0 && m != 4 && m != 1)
                return err_set(err, -EINVAL, "linux.memoryPolicy.nodes: required with %s", mode);
        if (has_nodes && (r = spec_parse_nodes(nodes, s->mempolicy_nodes, SPEC_MEMPOLICY_NODES, err)) < 0)
                return err_wrap(err, "linux.memoryPolicy.nodes");
        unsigned f = 0;
        for (size_t i = 0; fl && fl[i]; i++) {
                size_t j = 0;
                while (j < ELEMENTSOF(mpol_flags) && strcmp(fl[i], mpol_flags[j].name) != 0)
                        j++;
                if (j == ELEMENTSOF(mpol_flags))
                        return err_set(err, -EINVAL, "linux.memoryPolicy.flags[%zu]: unknown flag '%s'", i, fl[i]);
                f |= mpol_flags[j].flag;
        }
        if ((f & (1u << 14)) && (f & (1u << 15)))
                return err_set(err, -EINVAL,
                               "linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other");
        if ((f & (1u << 13)) && m != 2 && m != 5)
                return err_set(err, -EINVAL,
                               "linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs MPOL_BIND or MPOL_PREFERRED_MANY");
        if ((f & ((1u << 14) | (1u << 15))) && !has_nodes)
                return err_set(err, -EINVAL, "linux.memoryPolicy.flags: %s needs nodes",
                               f & (1u << 14) ? "MPOL_F_RELATIVE_NODES" : "MPOL_F_STATIC_NODES");
        s->mempolicy_mode = m;
        s->mempolicy_flags = f;
        s->has_mempolicy = true;
        return 0;
}

static int parse_net_devices(json_t *o, struct spec *s, struct err *err)
{
        const char *k;
        json_t *v;
        if (!json_is_object(o))
                return err_set(err, -EINVAL, "linux.netDevices: must be an object");
        if (json_object_size(o) > SPEC_NET_DEVICES_MAX)
                return err_set(err, -E2BIG, "linux.netDevices: more than %d devices", SPEC_NET_DEVICES_MAX);
        s->net_devices = xcalloc(json_object_size(o) + 1, sizeof(*s->net_devices));
        json_object_foreach(o, k, v)
        {
                const char *name = NULL;
                int r;
                if (!*k || strlen(k) >= IFNAMSIZ || strchr(k, '/') || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
                        return err_set(err, -EINVAL, "linux.netDevices: invalid interface name '%s'", k);
                if (!json_is_object(v))
                        return err_set(err, -EINVAL, "linux.netDevices.%s: must be an object", k);
                char where[64];
                snprintf(where, sizeof(where), "linux.netDevices.%s", k);
                if ((r = json_get_str(v, where, "name", &name, err)) < 0)
                        return r;
                if (name && *name &&
                    (strlen(name) >= IFNAMSIZ || strchr(name, '/') || strpbrk(name, " \t\n:") ||
                     strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
                        return err_set(err, -EINVAL, "linux.netDevices.%s.name: invalid interface name '%s'", k, name);
                struct spec_net_device *d = &s->net_devices[s->n_net_devices++];
                d->host_name = xstrdup(k);
                d->name = xstrdup(name && *name ? name : k);
        }
        for (size_t i = 0; i < s->n_net_devices; i++)
                for (size_t j = 0; j < i; j++)
                        if (strcmp(s->net_devices[i].name, s->net_devices[j].name) == 0)
                                return err_set(err, -EINVAL, "linux.netDevices: two devices named '%s'",
                                               s->net_devices[i].name);
        return 0;
}

const char *spec_intel_rdt_message(bool have_resctrl)
{
        return have_resctrl ? "linux.intelRdt: not supported by den-runtime"
                            : "linux.intelRdt: this host has no resctrl file system (Intel RDT / AMD PQoS not available)";
}

static bool have_resctrl(void)
{
        struct statfs st;
        /* RDTGROUP_SUPER_MAGIC */
        return statfs("/sys/fs/resctrl", &st) == 0 && st.f_type == 0x7655821;
}

int spec_parse_linux_extras(json_t *lx, struct spec *s, struct err *err)
{
        json_t *v;
        int r;
        if (json_object_get(lx, "intelRdt"))
                return err_set(err, -EOPNOTSUPP, "%s", spec_intel_rdt_message(have_resctrl()));
        if ((v = json_object_get(lx, "memoryPolicy")) && !json_is_null(v) &&
            (r = parse_memory_policy(v, s, err)) < 0)
                return r;
        if ((v = json_object_get(lx, "netDevices")) && !json_is_null(v) && (r = parse_net_devices(v, s, err)) < 0)
                return r;
        if (s->n_net_devices > 0 && (!s->ns[NS_NET].enabled || s->ns[NS_NET].path))
                return err_set(err, -EINVAL,
                               "linux.netDevices: needs a new network namespace (linux.namespaces has no 'network' without a path)");
        return 0;
}

void spec_net_devices_free(struct spec *s)
{
        for (size_t i = 0; i < s->n_net_devices; i++) {
                free(s->net_devices[i].host_name);
                free(s->net_devices[i].name);
        }
        free(s->net_devices);
}
