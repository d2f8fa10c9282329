/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "internal.h"
#include "state.h"

const char *status_name(enum status s)
{
        static const char *n[] = { "creating", "created", "running", "paused", "stopped" };
        return n[s];
}

/* our euid as the host (initial user namespace) sees it */
static uid_t host_euid(void)
{
        _cleanup_free_ char *m = NULL;
        uid_t me = geteuid();
        if (fs_read_file("/proc/self/uid_map", 1 << 16, &m, NULL) < 0)
                return me;
        char *save = NULL;
        for (char *l = strtok_r(m, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned inside, outside, count;
                if (sscanf(l, "%u %u %u", &inside, &outside, &count) == 3 && me >= inside && me - inside < count)
                        return outside + (me - inside);
        }
        return me;
}

int state_root_open(const char *given, char **ret, struct err *err)
{
        if (given)
                return runtime_dir_pin(given, FS_PRIVATE_CREATE, "give --root a directory of your own", ret, err);
        /* root inside a user namespace (rootless podman runs us there) is not
         * the host's root: it gets the rootless default */
        if (geteuid() == 0 && !runtime_in_userns())
                return runtime_dir_pin("/run/den-runtime", FS_PRIVATE_CREATE, "remove it or use --root", ret, err);
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        if (xdg && *xdg && stat(xdg, &st) == 0 && st.st_uid == geteuid() && access(xdg, W_OK) == 0) {
                _cleanup_free_ char *p = xasprintf("%s/den-runtime", xdg);
                return runtime_dir_pin(p, FS_PRIVATE_CREATE, "remove it or use --root", ret, err);
        }
        /* a name in the shared /tmp: anyone may have made it first */
        _cleanup_free_ char *p = xasprintf("/tmp/den-runtime-%u", host_euid());
        return runtime_dir_pin(p, FS_PRIVATE_CREATE | FS_PRIVATE_0700,
                               "set XDG_RUNTIME_DIR to a directory of yours or use --root", ret, err);
}

int state_check_id(const char *id, struct err *err)
{
        /* runc's messages, which callers may look for */
        size_t n = strlen(id);
        if (n == 0)
                return err_set(err, -EINVAL, "container id cannot be empty");
        bool ok = n <= 1024 && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
        for (size_t i = 0; ok && i < n; i++) {
                char c = id[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                     c == '-' || c == '.' || c == '+';
        }
        if (!ok)
                return err_set(err, -EINVAL,
                               "invalid container ID format: '%.200s' (letters, digits and _ - . + only, 1024 at most)",
                               id);
        return 0;
}

char *state_dir(const char *root, const char *id)
{
        return xasprintf("%s/%s", root, id);
}

unsigned long long state_pid_starttime(pid_t pid)
{
        char path[64];
        _cleanup_free_ char *buf = NULL;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        if (fs_read_file(path, 4096, &buf, NULL) < 0)
                return 0;
        char *p = strrchr(buf, ')');
        if (!p)
                return 0;
        unsigned long long start = 0;
        /* fields after the comm: state(3) ... starttime(22) */
        int field = 2;
        for (char *t = p + 1; *t; t++) {
                if (*t == ' ') {
                        field++;
                        if (field == 22) {
                                start = strtoull(t + 1, NULL, 10);
                                break;
                        }
                }
        }
        /* a zombie counts as gone */
        if (p[2] == 'Z' || p[2] == 'X')
                return 0;
        return start;
}

bool state_pid_alive(pid_t pid, unsigned long long start)
{
        if (pid <= 0)
                return false;
        unsigned long long now = state_pid_starttime(pid);
        return now != 0 && now == start;
}

int state_save(const char *root, const struct state *st, struct err *err)
{
        _cleanup_free_ char *dir = state_dir(root, st->id);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:i,s:b,s:s?,s:b}", "ociVersion", st->oci_version, "id",
                              st->id, "bundle", st->bundle, "rootfs", st->rootfs, "created", st->created, "pid",
                              st->pid, "pidStart", (json_int_t) st->pid_start, "owner", st->owner, "rootless",
                              st->rootless, "cgroupPaths", st->cgroup.paths, "cgroupV2", st->cgroup.v2);
        if (!j)
                return err_set(err, -EINVAL, "cannot build the state of '%s'", st->id);
        if (st->annotations)
                json_object_set(j, "annotations", st->annotations);
        if (st->resources)
                json_object_set(j, "resources", st->resources);
        if (st->config)
                json_object_set_new(j, "config", json_string(st->config));
        _cleanup_free_ char *s = json_dump_str(j, false);
        json_decref(j);
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(err, -errno, "cannot open %s", dir);
        int r = fs_write_atomic(dfd, "state.json", s, strlen(s), 0600);
        if (r < 0)
                return err_sys(err, r, "cannot write %s/state.json", dir);
        return 0;
}

int state_load(const char *root, const char *id, struct state *st, struct err *err)
{
        int r = state_check_id(id, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = xasprintf("%s/%s/state.json", root, id);
        memset(st, 0, sizeof(*st));
        if (access(path, F_OK) < 0)
                return err_set(err, -ENOENT, "container '%s' does not exist", id);
        struct err e = { 0 };
        json_t *j = json_load_path(path, 1 << 20, &e);
        if (!j)
                return err_set(err, -EIO, "container '%s': state is unreadable: %s", id, e.msg);
        const char *s;
        st->id = xstrdup(id);
#define STR(k) ((s = json_string_value(json_object_get(j, k))) ? xstrdup(s) : xstrdup(""))
        st->bundle = STR("bundle");
        st->rootfs = STR("rootfs");
        st->created = STR("created");
        st->oci_version = STR("ociVersion");
#undef STR
        s = json_string_value(json_object_get(j, "config"));
        st->config = s ? xstrdup(s) : NULL;
        st->pid = (pid_t) json_integer_value(json_object_get(j, "pid"));
        st->pid_start = (unsigned long long) json_integer_value(json_object_get(j, "pidStart"));
        st->owner = (uid_t) json_integer_value(json_object_get(j, "owner"));
        st->rootless = json_is_true(json_object_get(j, "rootless"));
        s = json_string_value(json_object_get(j, "cgroupPaths"));
        st->cgroup.paths = s ? xstrdup(s) : NULL;
        st->cgroup.v2 = json_is_true(json_object_get(j, "cgroupV2"));
        json_t *a = json_object_get(j, "annotations");
        st->annotations = a ? json_incref(a) : NULL;
        json_t *res = json_object_get(j, "resources");
        st->resources = json_is_object(res) ? json_incref(res) : NULL;
        json_decref(j);
        return 0;
}

void state_free(struct state *st)
{
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        free(st->oci_version);
        free(st->config);
        free(st->cgroup.paths);
        if (st->annotations)
                json_decref(st->annotations);
        if (st->resources)
                json_decref(st->resources);
        memset(st, 0, sizeof(*st));
}

enum status state_status(const char *root, const struct state *st)
{
        if (!state_pid_alive(st->pid, st->pid_start))
                return STATUS_STOPPED;
        _cleanup_free_ char *fifo = xasprintf("%s/%s/exec.fifo", root, st->id);
        if (access(fifo, F_OK) == 0)
                return STATUS_CREATED;
        if (cgroup_frozen(&st->cgroup))
                return STATUS_PAUSED;
        return STATUS_RUNNING;
}

json_t *state_to_json(const struct state *st, enum status s, bool runc_extras)
{
        json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s}", "ociVersion", st->oci_version, "id", st->id, "pid",
                              s == STATUS_STOPPED ? 0 : st->pid, "status", status_name(s), "bundle", st->bundle);
        if (runc_extras) {
                json_object_set_new(j, "rootfs", json_string(st->rootfs));
                json_object_set_new(j, "created", json_string(st->created));
                json_object_set_new(j, "owner", json_string(""));
        }
        json_object_set_new(j, "annotations", st->annotations ? json_incref(st->annotations) : json_object());
        return j;
}

int state_lock(const char *root, const char *id, struct err *err)
{
        _cleanup_free_ char *dir = state_dir(root, id);
        int fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err->code ? err->code : err_set(err, -ENOENT, "container '%s' does not exist", id);
        if (flock(fd, LOCK_EX) < 0) {
                int r = -errno;
                close(fd);
                return err_sys(err, r, "cannot lock container '%s'", id);
        }
        return fd;
}

char **state_ids(const char *root)
{
        char **ids = xcalloc(1, sizeof(char *));
        DIR *d = opendir(root);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                struct state st;
                struct err err = { 0 };
                if (de->d_name[0] == '.' || state_load(root, de->d_name, &st, &err) < 0)
                        continue;
                state_free(&st);
                strv_push(&ids, de->d_name);
        }
        if (d)
                closedir(d);
        return ids;
}
