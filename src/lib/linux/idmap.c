/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
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

struct helper {
        pid_t pid;
        int errfd;
        const char *name;
};

static int helper_spawn(const char *helper, pid_t pid, const struct spec_idmap *m, size_t n, struct helper *h,
                        struct err *err)
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
        if (c < 0) {
                close(errpipe[0]);
                close(errpipe[1]);
                return err_sys(err, -errno, "fork");
        }
        if (c == 0) {
                close(errpipe[0]);
                dup2(errpipe[1], 2);
                execvp(helper, av);
                dprintf(2, "%s: %s", helper, strerror(errno));
                _exit(127);
        }
        close(errpipe[1]);
        *h = (struct helper){ c, errpipe[0], helper };
        return 0;
}

static int helper_wait(struct helper *h, struct err *err)
{
        char msg[256] = "";
        ssize_t l = fs_read_all(h->errfd, msg, sizeof(msg) - 1);
        close(h->errfd);
        if (l > 0) {
                msg[l] = '\0';
                msg[strcspn(msg, "\n")] = '\0';
        }
        int st = 0;
        while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return err_set(err, -EPERM, "%s failed%s%s%s", h->name, *msg ? " (" : "", msg, *msg ? ")" : "");
        return 0;
}

int idmap_write(pid_t pid, const struct spec_idmap *uid, size_t n_uid, const struct spec_idmap *gid,
                size_t n_gid, bool *ret_setgroups, struct err *err)
{
        _cleanup_free_ char *u = idmap_format(uid, n_uid), *g = idmap_format(gid, n_gid);
        bool setgroups = true, uid_helper = false, gid_helper = false;
        int r;

        r = write_map(pid, "uid_map", u);
        if (r == -EPERM && (n_uid > 1 || uid[0].size > 1 || uid[0].host_id != geteuid()))
                uid_helper = true;
        else if (r < 0)
                return err_sys(err, r, "cannot write the uid map '%.*s' of the container (linux.uidMappings)",
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
                } else {
                        gid_helper = true;
                        r = 0;
                }
        }
        if (r < 0)
                return err_sys(err, r, "cannot write the gid map '%.*s' of the container (linux.gidMappings)",
                               (int) strcspn(g, "\n"), g);
        /* newuidmap and newgidmap are setuid programs that take a few ms each:
         * run them side by side */
        struct helper hu = { -1, -1, NULL }, hg = { -1, -1, NULL };
        if (uid_helper && (r = helper_spawn("newuidmap", pid, uid, n_uid, &hu, err)) < 0)
                return r;
        if (gid_helper && (r = helper_spawn("newgidmap", pid, gid, n_gid, &hg, err)) < 0) {
                if (uid_helper)
                        helper_wait(&hu, err);
                return r;
        }
        int ru = uid_helper ? helper_wait(&hu, err) : 0;
        int rg = gid_helper ? helper_wait(&hg, err) : 0;
        if (ru < 0 || rg < 0)
                return ru < 0 ? ru : rg;
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

int idmap_subids(const char *file, uid_t id, uint32_t *ret_start, uint32_t *ret_count)
{
        if (access("/usr/bin/newuidmap", X_OK) < 0 && access("/bin/newuidmap", X_OK) < 0)
                return -ENOENT;
        char name[256] = "";
        struct passwd pw, *res = NULL;
        char buf[1024];
        if (getpwuid_r(id, &pw, buf, sizeof(buf), &res) == 0 && res)
                snprintf(name, sizeof(name), "%s", res->pw_name);
        _cleanup_free_ char *txt = NULL;
        if (fs_read_file(file, 1 << 20, &txt, NULL) < 0)
                return -ENOENT;
        char *save = NULL;
        for (char *l = strtok_r(txt, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c1 = '\0';
                char num[16];
                snprintf(num, sizeof(num), "%u", id);
                if (strcmp(l, name) != 0 && strcmp(l, num) != 0)
                        continue;
                *ret_start = (uint32_t) strtoul(c1 + 1, NULL, 10);
                *ret_count = (uint32_t) strtoul(c2 + 1, NULL, 10);
                return *ret_count > 0 ? 0 : -ENOENT;
        }
        return -ENOENT;
}

size_t idmap_default(bool gid, struct spec_idmap ret[2])
{
        uid_t me = gid ? getegid() : geteuid();
        uint32_t start, count;
        ret[0] = (struct spec_idmap){ 0, me, 1 };
        if (idmap_subids(gid ? "/etc/subgid" : "/etc/subuid", geteuid(), &start, &count) < 0)
                return 1;
        ret[1] = (struct spec_idmap){ 1, start, count };
        return 2;
}
