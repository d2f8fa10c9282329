/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "process.h"

struct sched_attr_ {
        uint32_t size, sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
        uint32_t sched_util_min, sched_util_max;
};

int process_set_limits(const struct spec_process *p, const struct spec *s, bool rootless, struct err *err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard }, cur;
                if (setrlimit(p->rlimits[i].resource, &rl) == 0)
                        continue;
                int e = errno;
                /* raising a hard limit needs CAP_SYS_RESOURCE, which rootless and
                 * some confined roots lack; callers (podman) ask for more than the
                 * host allows: cap at the host's hard limit and say so */
                if (e == EPERM && getrlimit(p->rlimits[i].resource, &cur) == 0 && rl.rlim_max > cur.rlim_max) {
                        struct rlimit capped = { rl.rlim_cur < cur.rlim_max ? rl.rlim_cur : cur.rlim_max, cur.rlim_max };
                        if (setrlimit(p->rlimits[i].resource, &capped) == 0) {
                                log_warn("process.rlimits[%zu]: hard limit %llu capped at %llu (raising it needs CAP_SYS_RESOURCE)",
                                         i, (unsigned long long) rl.rlim_max, (unsigned long long) cur.rlim_max);
                                continue;
                        }
                }
                return err_sys(err, -e, "process.rlimits[%zu]: cannot set soft %llu hard %llu", i,
                               (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max);
        }
        if (p->has_oom_score_adj) {
                char buf[16];
                int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
                int r = fs_write_file("/proc/self/oom_score_adj", buf, (size_t) n);
                if (r < 0) {
                        /* lowering it needs CAP_SYS_RESOURCE on the host */
                        if (!rootless || (r != -EACCES && r != -EPERM))
                                return err_sys(err, r, "process.oomScoreAdj: cannot set %d", p->oom_score_adj);
                        log_warn("process.oomScoreAdj: cannot set %d without privileges, left as it is",
                                 p->oom_score_adj);
                }
        }
        if (p->has_scheduler) {
                struct sched_attr_ a = { .size = sizeof(a),
                                         .sched_policy = (uint32_t) p->sched_policy,
                                         .sched_flags = p->sched_flags,
                                         .sched_nice = p->sched_nice,
                                         .sched_priority = (uint32_t) p->sched_priority,
                                         .sched_runtime = p->sched_runtime,
                                         .sched_deadline = p->sched_deadline,
                                         .sched_period = p->sched_period };
                if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
                        return err_sys(err, -errno, "process.scheduler: sched_setattr");
        }
        if (p->has_io_priority) {
                int v = (p->ioprio_class << 13) | p->ioprio_level;
                if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, v) < 0)
                        return err_sys(err, -errno, "process.ioPriority: ioprio_set");
        }
        if (s && s->has_personality && personality(s->personality) < 0)
                return err_sys(err, -errno, "linux.personality: cannot set it");
        if (s && s->has_mempolicy) {
                /* raw syscall: no libnuma.  The mask is empty for the modes
                 * that take none (checked when the config was read); maxnode
                 * counts one past the last bit, as libnuma passes it */
                bool any = false;
                for (size_t i = 0; i < ELEMENTSOF(s->mempolicy_nodes); i++)
                        any |= s->mempolicy_nodes[i] != 0;
                if (syscall(SYS_set_mempolicy, s->mempolicy_mode | (int) s->mempolicy_flags,
                            any ? s->mempolicy_nodes : NULL, any ? SPEC_MEMPOLICY_NODES + 1 : 0) < 0)
                        return err_sys(err, -errno, "linux.memoryPolicy: set_mempolicy (nodes the host has not got, or outside the cpuset's mems?)");
        }
        if (p->has_umask)
                umask(p->umask);
        else
                umask(0022);
        return 0;
}

int process_chdir(const char *cwd, struct err *err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return err_sys(err, -errno, "open /");
        /* resolved inside the root: a symlink in the image cannot lead the
         * process's cwd outside it */
        _cleanup_close_ int fd = fs_open_in_root(root, cwd, O_PATH | O_DIRECTORY, 0);
        if (fd == -ENOENT) {
                fd = fs_resolve_create(root, cwd, FS_CREATE_DIR, 0755, err);
                if (fd < 0)
                        return err_wrap(err, "process.cwd '%s'", cwd);
        }
        if (fd < 0)
                return err_sys(err, fd, "process.cwd '%s'", cwd);
        if (fchdir(fd) < 0)
                return err_sys(err, -errno, "process.cwd '%s'", cwd);
        return 0;
}

static int capset_all(const uint64_t *caps)
{
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        for (int i = 0; i < 2; i++) {
                d[i].effective = (uint32_t) (caps[CAP_SET_EFFECTIVE] >> (32 * i));
                d[i].permitted = (uint32_t) (caps[CAP_SET_PERMITTED] >> (32 * i));
                d[i].inheritable = (uint32_t) (caps[CAP_SET_INHERITABLE] >> (32 * i));
        }
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int process_set_user_caps(const struct spec_process *p, bool setgroups_allowed, struct err *err)
{
        int last = spec_cap_last();
        uint64_t none[_CAP_SET_MAX] = { 0 };
        const uint64_t *caps = p->has_caps ? p->caps : none;

        for (int c = 0; c <= last; c++)
                if (!(caps[CAP_SET_BOUNDING] & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        return err_sys(err, -errno, "process.capabilities.bounding: cannot drop %s",
                                       spec_cap_name(c));
        if (setgroups_allowed && (p->n_additional_gids || geteuid() == 0)) {
                if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
                        return err_sys(err, -errno, "process.user.additionalGids: setgroups");
        } else {
                for (size_t i = 0; i < p->n_additional_gids; i++)
                        if (p->additional_gids[i] != p->gid)
                                return err_set(err, -EPERM,
                                               "process.user.additionalGids: cannot set groups with a single-id user namespace (setgroups is denied); give the user sub-ids in /etc/subgid");
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return err_sys(err, -errno, "prctl(PR_SET_KEEPCAPS)");
        if (setresgid(p->gid, p->gid, p->gid) < 0)
                return err_sys(err, -errno, "process.user.gid: cannot become gid %u (is it mapped?)", p->gid);
        if (setresuid(p->uid, p->uid, p->uid) < 0)
                return err_sys(err, -errno, "process.user.uid: cannot become uid %u (is it mapped?)", p->uid);
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        int r = capset_all(caps);
        if (r < 0)
                return err_sys(err, r, "process.capabilities: capset");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return err_sys(err, -errno, "process.capabilities.ambient: clear");
        for (int c = 0; c <= last; c++)
                if ((caps[CAP_SET_AMBIENT] & (UINT64_C(1) << c)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
                        log_debug("process.capabilities.ambient: cannot raise %s (it must be permitted and inheritable)",
                                 spec_cap_name(c));
        return 0;
}

int process_set_no_new_privs(void)
{
        return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static const char *env_get(char *const *env, const char *key)
{
        size_t l = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, l) == 0 && env[i][l] == '=')
                        return env[i] + l + 1;
        return NULL;
}

static bool is_executable(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

int process_find_exec(const struct spec_process *p, char **ret, struct err *err)
{
        const char *a0 = p->args[0];
        if (strchr(a0, '/')) {
                if (!is_executable(a0)) {
                        int e = errno ? -errno : -EACCES;
                        struct stat st;
                        if (stat(a0, &st) == 0)
                                e = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
                        /* lowercase, as Go's errno strings: the docker CLI turns "no such
                         * file or directory" into exit code 127 and "permission denied" into
                         * 126 by matching these words exactly (execve of a directory is
                         * EACCES, so runc says "permission denied" there too) */
                        if (e == -EISDIR)
                                return err_set(err, e, "exec: '%s': permission denied (a directory)", a0);
                        char what[64];
                        snprintf(what, sizeof(what), "%s", strerror(-e));
                        what[0] = (char) tolower((unsigned char) what[0]);
                        return err_set(err, e, "exec: '%s': %s", a0, what);
                }
                *ret = xstrdup(a0);
                return 0;
        }
        const char *path = env_get(p->env, "PATH");
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", a0);
                if (is_executable(cand)) {
                        *ret = TAKE_PTR(cand);
                        return 0;
                }
        }
        return err_set(err, -ENOENT, "exec: '%s': executable file not found in $PATH", a0);
}

int process_close_fds(int n_preserve)
{
        unsigned first = 3u + (unsigned) (n_preserve > 0 ? n_preserve : 0);
        if (syscall(SYS_close_range, first, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
                return -errno;
        return 0;
}

int process_etc_fields(char *line, char **f, int max)
{
        int n = 0;
        f[n++] = line;
        for (char *p = line; *p && n < max; p++)
                if (*p == ':') {
                        *p = '\0';
                        f[n++] = p + 1;
                }
        return n;
}

/* The image decides what is there, and the keeper serves every command: nothing
 * may block the reader.  Opened inside the root without following a last
 * symlink and without waiting (a FIFO would wait for a writer forever), read
 * only when a regular file of at most PROCESS_ETC_MAX bytes. */
int process_read_etc(const char *path, char **ret, struct err *err)
{
        *ret = NULL;
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return err_sys(err, -errno, "cannot open the container's root");
        _cleanup_close_ int fd = fs_open_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd == -ELOOP)
                return err_set(err, -ELOOP, "the container's %s is a symlink: not read", path);
        if (fd < 0)
                return err_sys(err, fd, "cannot open the container's %s", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return err_sys(err, -errno, "cannot stat the container's %s", path);
        if (!S_ISREG(st.st_mode))
                return err_set(err, -EINVAL, "the container's %s is not a regular file", path);
        if ((uint64_t) st.st_size > PROCESS_ETC_MAX)
                return err_set(err, -EFBIG, "the container's %s is larger than %u MiB", path, PROCESS_ETC_MAX >> 20);
        int r = fs_read_fd(fd, PROCESS_ETC_MAX, ret, NULL);
        if (r < 0)
                return err_sys(err, r, "cannot read the container's %s", path);
        return 0;
}

void process_env_default_home(char ***env, uid_t uid)
{
        if (env_get(*env, "HOME"))
                return;
        _cleanup_free_ char *pw = NULL;
        struct err e = { 0 };
        const char *home = "/";
        if (process_read_etc("/etc/passwd", &pw, &e) < 0)
                log_debug("HOME left as /: %s", e.msg);
        char *save = NULL;
        for (char *l = pw ? strtok_r(pw, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                char *f[7], *end;
                if (process_etc_fields(l, f, 7) < 6 || !*f[2])
                        continue;
                unsigned long id = strtoul(f[2], &end, 10);
                if (*end || id != uid)
                        continue;
                if (*f[5])
                        home = f[5];
                break;
        }
        _cleanup_free_ char *kv = xasprintf("HOME=%s", home);
        strv_push(env, kv);
}

int process_fix_stdio(uid_t uid, bool own_tty, struct err *err)
{
        struct stat null;
        if (stat("/dev/null", &null) < 0)
                return err_sys(err, -errno, "stat /dev/null");
        for (int fd = 0; fd < 3; fd++) {
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        if (errno == EBADF)
                                continue;
                        return err_sys(err, -errno, "stdio fd %d", fd);
                }
                if (st.st_uid == uid || (S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev))
                        continue;
                /* unlike runc: a character device that is not the container's
                 * own terminal is the caller's (its tty): never taken from it */
                if (S_ISCHR(st.st_mode) && !own_tty)
                        continue;
                /* runc: only the owner, the group may be the mount's choice.
                 * EINVAL: the gid is not mapped; EPERM: the owner is not (a file
                 * of another host user); EROFS: a read-only /dev.  All leave the
                 * fd as it is rather than fail the start */
                if (fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
                        return err_sys(err, -errno, "cannot give stdio fd %d to uid %u", fd, uid);
        }
        return 0;
}
