/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "idmap.h"

char *idmap_format(const struct spec_idmap *m, size_t n)
{
        size_t cap = n * 36 + 1, len = 0;
        char *s = xmalloc(cap);
        s[0] = '\0';
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(s + len, cap - len, "%u %u %u\n", m[i].container_id, m[i].host_id,
                                         m[i].size);
        return s;
}

static int write_map(pid_t pid, const char *file, const char *data)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
        return fs_write_file(path, data, strlen(data));
}

static int run_helper(const char *helper, pid_t pid, const struct spec_idmap *m, size_t n, struct err *err)
{
        char **argv = xcalloc(3 * n + 3, sizeof(char *));
        argv[0] = xstrdup(helper);
        argv[1] = xasprintf("%d", pid);
        for (size_t i = 0; i < n; i++) {
                argv[2 + 3 * i] = xasprintf("%u", m[i].container_id);
                argv[3 + 3 * i] = xasprintf("%u", m[i].host_id);
                argv[4 + 3 * i] = xasprintf("%u", m[i].size);
        }
        _cleanup_strv_free_ char **av = argv;
        int errpipe[2];
        if (pipe2(errpipe, O_CLOEXEC) < 0)
                return err_sys(err, -errno, "pipe");
        pid_t c = fork();
        if (c < 0)
                return err_sys(err, -errno, "fork");
        if (c == 0) {
                close(errpipe[0]);
                dup2(errpipe[1], 2);
                execvp(helper, av);
                dprintf(2, "%s: %s", helper, strerror(errno));
                _exit(127);
        }
        close(errpipe[1]);
        char msg[256] = "";
        ssize_t l = fs_read_all(errpipe[0], msg, sizeof(msg) - 1);
        close(errpipe[0]);
        if (l > 0) {
                msg[l] = '\0';
                msg[strcspn(msg, "\n")] = '\0';
        }
        int st;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return err_set(err, -EPERM, "%s failed%s%s%s", helper, *msg ? " (" : "", msg, *msg ? ")" : "");
        return 0;
}

int idmap_write(pid_t pid, const struct spec_idmap *uid, size_t n_uid, const struct spec_idmap *gid,
                size_t n_gid, bool *ret_setgroups, struct err *err)
{
        _cleanup_free_ char *u = idmap_format(uid, n_uid), *g = idmap_format(gid, n_gid);
        bool setgroups = true;
        int r;

        r = write_map(pid, "uid_map", u);
        if (r == -EPERM && (n_uid > 1 || uid[0].size > 1 || uid[0].host_id != geteuid()))
                r = run_helper("newuidmap", pid, uid, n_uid, err);
        if (r < 0)
                return err->code ? r : err_sys(err, r, "cannot write the uid map '%.*s' of the container (linux.uidMappings)",
                                               (int) strcspn(u, "\n"), u);
        r = write_map(pid, "gid_map", g);
        if (r == -EPERM) {
                if (n_gid == 1 && gid[0].size == 1 && gid[0].host_id == getegid()) {
                        /* an unprivileged single-id gid map needs setgroups denied */
                        char path[64];
                        snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
                        if (fs_write_file(path, "deny", 4) < 0)
                                return err_sys(err, -errno, "cannot deny setgroups");
                        setgroups = false;
                        r = write_map(pid, "gid_map", g);
                } else
                        r = run_helper("newgidmap", pid, gid, n_gid, err);
        }
        if (r < 0)
                return err->code ? r : err_sys(err, r, "cannot write the gid map '%.*s' of the container (linux.gidMappings)",
                                               (int) strcspn(g, "\n"), g);
        *ret_setgroups = setgroups;
        return 0;
}

int idmap_userns_fd(const struct spec_idmap *uid, size_t n_uid, const struct spec_idmap *gid, size_t n_gid,
                    struct err *err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_sys(err, -errno, "pipe");
        pid_t c = fork();
        if (c < 0)
                return err_sys(err, -errno, "fork");
        if (c == 0) {
                char b;
                close(p[1]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                /* wait for the parent to write the maps and open the namespace */
                if (read(p[0], &b, 1) < 0) {
                }
                _exit(0);
        }
        close(p[0]);
        int fd = -1;
        bool sg;
        /* the child unshares asynchronously: wait until its namespace differs */
        char path[64], self[64], other[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", c);
        ssize_t a = readlink("/proc/self/ns/user", self, sizeof(self) - 1);
        for (int i = 0; i < 10000; i++) {
                ssize_t b = readlink(path, other, sizeof(other) - 1);
                if (b < 0 || a < 0 || b != a || memcmp(self, other, (size_t) a) != 0)
                        break;
                usleep(100);
        }
        int r = idmap_write(c, uid, n_uid, gid, n_gid, &sg, err);
        if (r >= 0) {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = err_sys(err, -errno, "open %s", path);
        }
        close(p[1]);
        while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
                ;
        return r < 0 ? r : fd;
}
