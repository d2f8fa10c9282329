/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* The OCI runtime configuration (config.json), parsed and validated.  Every
 * error names the field it is about.  Unknown fields are ignored, as the spec
 * allows; known fields den cannot honour are refused by name. */

struct spec_idmap {
        uint32_t container_id, host_id, size;
};

struct spec_mount {
        char *destination, *type, *source;
        char **options;
        struct spec_idmap *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
};

enum spec_ns_type { NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME, _NS_MAX };

struct spec_ns {
        bool enabled;
        char *path; /* join, when set */
};

struct spec_rlimit {
        int resource;
        uint64_t soft, hard;
};

struct spec_device {
        char *path;
        char type; /* c, b, u, p */
        int64_t major, minor;
        mode_t mode;
        bool has_mode;
        uid_t uid;
        gid_t gid;
};

struct spec_hook {
        char *path;
        char **args, **env;
        int timeout; /* seconds, 0: none */
};

enum spec_hook_kind {
        HOOK_PRESTART,
        HOOK_CREATE_RUNTIME,
        HOOK_CREATE_CONTAINER,
        HOOK_START_CONTAINER,
        HOOK_POSTSTART,
        HOOK_POSTSTOP,
        _HOOK_MAX
};

enum spec_cap_set { CAP_SET_BOUNDING, CAP_SET_EFFECTIVE, CAP_SET_INHERITABLE, CAP_SET_PERMITTED, CAP_SET_AMBIENT, _CAP_SET_MAX };

struct spec_process {
        bool terminal;
        unsigned console_height, console_width;
        char **args, **env;
        char *cwd;
        uid_t uid;
        gid_t gid;
        gid_t *additional_gids;
        size_t n_additional_gids;
        bool has_umask;
        mode_t umask;
        bool has_caps;
        uint64_t caps[_CAP_SET_MAX];
        bool no_new_privileges;
        struct spec_rlimit *rlimits;
        size_t n_rlimits;
        bool has_oom_score_adj;
        int oom_score_adj;
        bool has_io_priority;
        int ioprio_class, ioprio_level;
        bool has_scheduler;
        int sched_policy, sched_nice, sched_priority;
        uint64_t sched_flags, sched_runtime, sched_deadline, sched_period;
        char *apparmor_profile, *selinux_label;
};

struct spec_sysctl {
        char *key, *value;
};

/* linux.netDevices: a host interface moved into the container's network
 * namespace under name (the host's name when the config gives none) */
struct spec_net_device {
        char *host_name, *name;
};
#define SPEC_NET_DEVICES_MAX 64
/* set_mempolicy's nodemask: MAX_NUMNODES is at most 1 << 10 (NODES_SHIFT) */
#define SPEC_MEMPOLICY_NODES 1024

struct spec {
        json_t *json; /* the whole document, owned */
        char *oci_version;
        char *bundle; /* absolute */
        char *root_path; /* absolute */
        bool root_readonly;
        char *hostname, *domainname;
        struct spec_process process;
        bool has_process;
        struct spec_mount *mounts;
        size_t n_mounts;
        struct spec_ns ns[_NS_MAX];
        struct spec_idmap *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct spec_device *devices;
        size_t n_devices;
        char **masked_paths, **readonly_paths;
        struct spec_sysctl *sysctls;
        size_t n_sysctls;
        char *cgroups_path;
        json_t *resources; /* linux.resources, borrowed from json */
        json_t *seccomp; /* linux.seccomp, borrowed */
        json_t *annotations; /* borrowed */
        unsigned long rootfs_propagation; /* MS_* or 0 for the default */
        bool has_personality;
        unsigned long personality;
        char *mount_label;
        bool has_mempolicy; /* linux.memoryPolicy */
        int mempolicy_mode; /* MPOL_* */
        unsigned mempolicy_flags; /* MPOL_F_* */
        unsigned long mempolicy_nodes[SPEC_MEMPOLICY_NODES / (8 * sizeof(unsigned long))];
        struct spec_net_device *net_devices;
        size_t n_net_devices;
        struct spec_hook *hooks[_HOOK_MAX];
        size_t n_hooks[_HOOK_MAX];
};

extern const char *const spec_ns_names[_NS_MAX];
extern const int spec_ns_clone_flags[_NS_MAX];

/* Parse a config.json document; bundle is the absolute bundle directory. */
int spec_parse(json_t *doc, const char *bundle, struct spec *ret, struct err *err);
/* The namespace a sysctl belongs to (crun's list: fs.mqueue.*, kernel's IPC
 * and UTS names, net.*); -ENOENT for one that is not namespaced. */
int spec_sysctl_namespace(const char *key, enum spec_ns_type *ret);
/* Refuse a sysctl that is not namespaced, whose namespace the container does
 * not have, or that contradicts hostname/domainname. */
int spec_sysctl_check(const struct spec *s, const char *key, const char *value, struct err *err);
/* linux.intelRdt, linux.memoryPolicy, linux.netDevices (spec_extras.c) */
int spec_parse_linux_extras(json_t *lx, struct spec *s, struct err *err);
void spec_net_devices_free(struct spec *s);
/* The refusal of linux.intelRdt, by whether the host has resctrl mounted */
const char *spec_intel_rdt_message(bool have_resctrl);
/* A node list ("0-3,7") into a mask of n_bits bits */
int spec_parse_nodes(const char *s, unsigned long *mask, size_t n_bits, struct err *err);
/* Load <bundle>/config.json */
int spec_load(const char *bundle, struct spec *ret, struct err *err);
/* Load config (crun's --config), or <bundle>/config.json when NULL */
int spec_load_file(const char *bundle, const char *config, struct spec *ret, struct err *err);
void spec_free(struct spec *s);
/* Parse a process object alone, as `exec -p process.json` passes it. */
int spec_parse_process(json_t *o, const char *where, struct spec_process *ret, struct err *err);
void spec_process_free(struct spec_process *p);

int spec_cap_from_name(const char *name);
const char *spec_cap_name(int cap);
int spec_cap_last(void);
int spec_rlimit_from_name(const char *name);

/* The default config.json, as `spec` writes it (rootless: user namespace,
 * single-id mappings of the caller, no network namespace). */
json_t *spec_generate(bool rootless, uid_t uid, gid_t gid);
