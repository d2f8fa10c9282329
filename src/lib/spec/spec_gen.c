/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "spec.h"

/* runc's default spec, so tools that expect its shape find it */
static const char default_spec[] =
        "{\"ociVersion\":\"1.0.2\","
        "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
        "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\"],"
        "\"cwd\":\"/\","
        "\"capabilities\":{"
        "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
        "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
        "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
        "\"noNewPrivileges\":true},"
        "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
        "\"hostname\":\"den\","
        "\"mounts\":["
        "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
        "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
        "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
        "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
        "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
        "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
        "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
        "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
        "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
        "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
        "\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
        "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";

json_t *spec_generate(bool rootless, uid_t uid, gid_t gid)
{
        json_t *j = json_loads(default_spec, 0, NULL);
        if (!j || !rootless)
                return j;
        json_t *lx = json_object_get(j, "linux");
        json_t *nss = json_object_get(lx, "namespaces");
        size_t i;
        json_t *e;
        /* like runc spec --rootless: no network namespace (nothing to route
         * it), a user namespace mapping the caller to root, and /sys bound
         * from the host since sysfs needs a network namespace of our own */
        json_array_foreach(nss, i, e)
        {
                if (strcmp(json_string_value(json_object_get(e, "type")), "network") == 0) {
                        json_array_remove(nss, i);
                        break;
                }
        }
        json_array_append_new(nss, json_pack("{s:s}", "type", "user"));
        json_object_set_new(lx, "uidMappings",
                            json_pack("[{s:i,s:I,s:i}]", "containerID", 0, "hostID", (json_int_t) uid, "size", 1));
        json_object_set_new(lx, "gidMappings",
                            json_pack("[{s:i,s:I,s:i}]", "containerID", 0, "hostID", (json_int_t) gid, "size", 1));
        json_object_del(lx, "resources");
        json_t *mounts = json_object_get(j, "mounts");
        json_array_foreach(mounts, i, e)
        {
                const char *d = json_string_value(json_object_get(e, "destination"));
                if (strcmp(d, "/dev/pts") == 0) {
                        json_t *opts = json_object_get(e, "options");
                        json_array_remove(opts, json_array_size(opts) - 1); /* gid=5 may be unmapped */
                } else if (strcmp(d, "/sys") == 0)
                        json_array_set_new(mounts, i,
                                           json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s]}", "destination", "/sys", "type",
                                                     "none", "source", "/sys", "options", "rbind", "nosuid",
                                                     "noexec", "nodev", "ro"));
        }
        json_array_foreach(mounts, i, e)
        {
                if (strcmp(json_string_value(json_object_get(e, "destination")), "/sys/fs/cgroup") == 0) {
                        json_array_remove(mounts, i);
                        break;
                }
        }
        return j;
}
