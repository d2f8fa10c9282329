/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/base/sock.h"
#include "container.h"
#include "hooks.h"
#include "internal.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/console.h"
#include "lib/linux/idmap.h"
#include "lib/linux/mount.h"
#include "lib/linux/process.h"
#include "lib/linux/rootfs.h"
#include "lib/linux/seccomp.h"
#include "lib/linux/sync.h"
#include "lib/net/net.h"
#include "state.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

/* Everything the child needs, prepared by the parent before clone3. */
struct child {
        const struct spec *spec;
        struct mount_op *ops;
        size_t n_ops;
        struct mount_env env;
        struct seccomp_filter *seccomp;
        const struct create_opts *o;
        int sync_fd;    /* child's end */
        int fifo_fd;    /* exec fifo, O_RDWR */
        int devnull_fd; /* host /dev/null, for masking files */
        bool new_userns;
        bool rootless;
        bool console_to_parent; /* run in the foreground with a tty */
        int cg_tasks[16]; /* the v1 cgroup "tasks" files, the child joins through them */
        const struct cgroup *cgroup;
        size_t n_cg_tasks;
        char **exec_env;        /* process.env and HOME, made by the child */
        bool new_timens;        /* made by the child, not by clone3: see child_timens */
        char *time_offsets;     /* timens_offsets lines of linux.timeOffsets, or NULL */
};

pid_t runtime_clone3_into(uint64_t flags, int *ret_pidfd, int cgroup_fd)
{
        struct clone_args a = { .flags = flags | (ret_pidfd ? CLONE_PIDFD : 0) |
                                         (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                                .exit_signal = SIGCHLD,
                                .cgroup = (uint64_t) (cgroup_fd >= 0 ? cgroup_fd : 0) };
        return (pid_t) syscall(SYS_clone3, &a, sizeof(a));
}

pid_t runtime_clone3(uint64_t flags, int *ret_pidfd)
{
        struct clone_args a = { .flags = flags | (ret_pidfd ? CLONE_PIDFD : 0),
                                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                                /* clone3 refuses an exit signal with CLONE_PARENT: the
                                 * child inherits ours */
                                .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD };
        return (pid_t) syscall(SYS_clone3, &a, sizeof(a));
}

bool runtime_in_userns(void)
{
        _cleanup_free_ char *m = NULL;
        if (fs_read_file("/proc/self/uid_map", 4096, &m, NULL) < 0)
                return false;
        unsigned a, b, c;
        return !(sscanf(m, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u);
}

bool runtime_setgroups_allowed(pid_t pid)
{
        char path[64];
        _cleanup_free_ char *sg = NULL;
        if (pid > 0)
                snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
        else
                snprintf(path, sizeof(path), "/proc/self/setgroups");
        if (fs_read_file(path, 64, &sg, NULL) < 0)
                return true;
        return strncmp(sg, "deny", 4) != 0;
}

bool runtime_is_rootless(int flag)
{
        if (flag >= 0)
                return flag;
        return geteuid() != 0 || runtime_in_userns();
}

int runtime_spec_load(const struct state *st, struct spec *ret, struct err *err)
{
        return spec_load_file(st->bundle, st->config, ret, err);
}

char *runtime_state_for_hooks(const struct spec *s, const char *id, pid_t pid, const char *status)
{
        json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", s->oci_version, "id", id, "status", status,
                              "pid", pid, "bundle", s->bundle);
        json_object_set_new(j, "annotations", s->annotations ? json_incref(s->annotations) : json_object());
        char *out = json_dump_str(j, false);
        json_decref(j);
        return out;
}

/* While waiting for `start` we are pid 1 of the container: a signal from the
 * host must end us rather than be ignored as pid 1 ignores unhandled ones. */
static void die_on_signal(int sig)
{
        _exit(128 + sig);
}

static int child_console(struct child *c, int root_fd, struct err *err)
{
        int slave, r;
        _cleanup_close_ int m = fs_open_in_root(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, 0);
        if (m < 0)
                return err_sys(err, m, "process.terminal: the container has no /dev/pts/ptmx (mount a devpts)");
        if ((r = console_open(m, &slave, err)) < 0)
                return r;
        _cleanup_close_ int sl = slave;
        if (c->spec->process.console_height || c->spec->process.console_width)
                console_resize(slave, c->spec->process.console_height, c->spec->process.console_width);
        if ((r = rootfs_bind_console(root_fd, slave, err)) < 0)
                return r;
        if (c->console_to_parent) {
                r = sock_send_fds(c->sync_fd, "c", 1, &m, 1);
                if (r < 0)
                        return err_sys(err, r, "cannot pass the terminal to den-runtime");
        } else if ((r = console_send(c->o->console_socket, m, err)) < 0)
                return r;
        return console_set_stdio(sl, err);
}

/* The container's own cgroup directories, for a cgroup mount that binds them. */
static int cgroup_dirs_for_mounts(struct child *c)
{
        bool any = false;
        for (size_t i = 0; i < c->n_ops; i++)
                any |= c->ops[i].kind == MOUNT_KIND_FS && (strcmp(c->ops[i].fstype, "cgroup") == 0 ||
                                                           strcmp(c->ops[i].fstype, "cgroup2") == 0);
        if (!any)
                return 0;
        _cleanup_free_ char *own = NULL;
        int r = fs_read_file("/proc/self/cgroup", 1 << 16, &own, NULL);
        if (r < 0)
                return r;
        c->env.cgroup_dirs = cgroup_mount_sources(own, cgroup_detect(), c->cgroup);
        return 0;
}

/* A time namespace's offsets can be written only before a process is in it:
 * a clone3 child with CLONE_NEWTIME is in it at birth.  So the child unshares
 * one (it becomes its children's), writes the offsets, then enters it itself
 * with setns, which kernels from 5.6 allow a single-threaded process. */
static int child_timens(const char *offsets, struct err *err)
{
        if (unshare(CLONE_NEWTIME) < 0)
                return err_sys(err, -errno, "linux.namespaces: cannot create a time namespace");
        if (offsets) {
                int r = fs_write_file("/proc/self/timens_offsets", offsets, strlen(offsets));
                if (r < 0)
                        return err_sys(err, r, "linux.timeOffsets: cannot write '%s'", offsets);
        }
        _cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
                return err_sys(err, -errno, "linux.namespaces: cannot enter the new time namespace");
        return 0;
}

/* linux.timeOffsets -> "monotonic S N\nboottime S N\n" for /proc/PID/timens_offsets */
static int time_offsets_format(json_t *to, char **ret, struct err *err)
{
        static const char *const clocks[] = { "monotonic", "boottime" };
        char buf[256] = "";
        size_t n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(to, k, v)
        {
                char w[64];
                int64_t secs = 0, ns = 0;
                int r;
                snprintf(w, sizeof(w), "linux.timeOffsets.%.40s", k);
                if (strcmp(k, clocks[0]) != 0 && strcmp(k, clocks[1]) != 0)
                        return err_set(err, -EINVAL, "%s: unknown clock (monotonic or boottime)", w);
                if (!json_is_object(v))
                        return err_set(err, -EINVAL, "%s: must be an object", w);
                if ((r = json_get_int(v, w, "secs", INT64_MIN / 2, INT64_MAX / 2, &secs, err)) < 0 ||
                    (r = json_get_int(v, w, "nanosecs", 0, 999999999, &ns, err)) < 0)
                        return r;
                n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s %lld %lld\n", k, (long long) secs,
                                       (long long) ns);
        }
        *ret = n ? xstrdup(buf) : NULL;
        return 0;
}

/* Steps 4 and 5 up to the exec fifo; see DESIGN.md "How a container starts". */
static int child_setup(struct child *c, int *ret_notify_sock, char **ret_exec, struct err *err)
{
        const struct spec *s = c->spec;
        const struct spec_process *p = &s->process;
        int32_t host_pid = 0;
        bool setgroups_ok;
        int r;

        if ((r = sync_expect(c->sync_fd, SYNC_IDMAP_DONE, &host_pid, err)) < 0)
                return r;
        /* a session and process group of its own, as runc gives every process
         * it starts: the caller's terminal signals reach it only through us */
        if (setsid() < 0)
                return err_sys(err, -errno, "setsid");
        if (c->new_userns) {
                /* become root of the new namespace, when root is mapped */
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        log_debug("uid/gid 0 not mapped in the container");
        }
        if (c->new_timens && (r = child_timens(c->time_offsets, err)) < 0)
                return r;
        /* runc and crun: a network namespace of its own has its loopback up */
        if (c->env.new_netns)
                net_loopback_up();
        setgroups_ok = runtime_setgroups_allowed(0);
        r = cgroup_enter_self_v1(c->cg_tasks, c->n_cg_tasks, err);
        for (size_t i = 0; i < c->n_cg_tasks; i++)
                close(c->cg_tasks[i]);
        if (r < 0)
                return r;
        /* read before the cgroup namespace hides the paths */
        if ((r = cgroup_dirs_for_mounts(c)) < 0)
                return err_sys(err, r, "cannot read /proc/self/cgroup");
        /* we are in our cgroup now: it becomes the namespace's root, so
         * /proc/self/cgroup reads "/" inside (runc and crun do the same) */
        if (s->ns[NS_CGROUP].enabled && !s->ns[NS_CGROUP].path && unshare(CLONE_NEWCGROUP) < 0)
                return err_sys(err, -errno, "cannot create the cgroup namespace");
        if (s->ns[NS_MNT].path) {
                _cleanup_close_ int fd = open(s->ns[NS_MNT].path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
                        return err_sys(err, -errno, "linux.namespaces: cannot join mount namespace '%s'",
                                       s->ns[NS_MNT].path);
        }
        _cleanup_close_ int root_fd = rootfs_mount(s, c->ops, c->n_ops, &c->env, err);
        if (root_fd < 0)
                return root_fd;
        if (p->terminal && (r = child_console(c, root_fd, err)) < 0)
                return r;
        if (s->n_hooks[HOOK_PRESTART] + s->n_hooks[HOOK_CREATE_RUNTIME]) {
                if ((r = sync_send(c->sync_fd, SYNC_HOOKS_RUNTIME, 0)) < 0 ||
                    (r = sync_expect(c->sync_fd, SYNC_HOOKS_DONE, NULL, err)) < 0)
                        return err->code ? r : err_sys(err, r, "sync");
        }
        if (s->n_hooks[HOOK_CREATE_CONTAINER]) {
                _cleanup_free_ char *st = runtime_state_for_hooks(s, c->o->id, host_pid, "creating");
                if ((r = hooks_run(s->hooks[HOOK_CREATE_CONTAINER], s->n_hooks[HOOK_CREATE_CONTAINER],
                                   "createContainer", st, err)) < 0)
                        return r;
        }
        /* a seccomp listener is a host path: connect before leaving the host's root */
        if (seccomp_listener_path(c->seccomp)) {
                struct err e2 = { 0 };
                int sk = runtime_connect_unix(seccomp_listener_path(c->seccomp), &e2);
                if (sk < 0)
                        return err_set(err, sk, "linux.seccomp.listenerPath: %s", e2.msg);
                *ret_notify_sock = sk;
        }
        if ((r = rootfs_pivot(root_fd, c->o->no_pivot, err)) < 0)
                return r;
        if ((r = rootfs_finish(s, c->devnull_fd, err)) < 0)
                return r;
        if ((r = process_set_limits(p, s, c->rootless, err)) < 0)
                return r;
        if ((r = process_chdir(p->cwd, err)) < 0)
                return r;
        c->exec_env = strv_copy(p->env);
        process_env_default_home(&c->exec_env, p->uid);
        if (!c->o->no_new_keyring) {
                char name[128];
                snprintf(name, sizeof(name), "_ses.%.100s", c->o->id);
                if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0)
                        log_debug("cannot join a new session keyring: %s", strerror(errno));
        }
        if (c->seccomp && !p->no_new_privileges && (r = seccomp_filter_load(c->seccomp, NULL, err)) < 0)
                return r;
        if ((r = process_fix_stdio(p->uid, p->terminal, err)) < 0 || (r = process_set_user_caps(p, setgroups_ok, err)) < 0)
                return r;
        /* cwd again, now as the user: it must be reachable by them */
        if (chdir(".") < 0)
                return err_sys(err, -errno, "process.cwd '%s'", p->cwd);
        if ((r = process_find_exec(p, ret_exec, err)) < 0)
                return r;
        return 0;
}

static int send_notify_fd(int sock, int notify_fd, const struct child *c, struct err *err)
{
        /* the container process state of the runtime spec, with the fd */
        json_t *j = json_pack("{s:s,s:[s],s:i,s:s?,s:o}", "ociVersion", c->spec->oci_version, "fds",
                              "seccompFd", "pid", (int) getpid(), "metadata",
                              seccomp_listener_metadata(c->seccomp),
                              "state", json_loads(runtime_state_for_hooks(c->spec, c->o->id, 0, "creating"), 0, NULL));
        _cleanup_free_ char *s = json_dump_str(j, false);
        json_decref(j);
        int r = sock_send_fds(sock, s, strlen(s), &notify_fd, 1);
        return r < 0 ? err_sys(err, r, "linux.seccomp.listenerPath: cannot send the notification fd") : 0;
}

static __attribute__((noreturn)) void child_main(struct child *c)
{
        struct err err = { 0 };
        _cleanup_free_ char *exec_path = NULL;
        int notify_sock = -1, r;
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* no directory of the host's state goes along into the container */
        runtime_dir_close_all();
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                signal(sigs[i], die_on_signal);
        r = child_setup(c, &notify_sock, &exec_path, &err);
        if (r < 0) {
                sync_send_err(c->sync_fd, &err);
                _exit(1);
        }
        /* from here no process in the container may read our memory or
         * reach our binary through /proc/1/exe (runc CVE-2019-5736).
         * Rootless, the container has no more power than its user, and a
         * non-dumpable pid 1 would keep `exec` (run by that user) out. */
        if (!c->rootless)
                prctl(PR_SET_DUMPABLE, 0);
        /* `create` returns after this; the parent's death must no longer kill us */
        prctl(PR_SET_PDEATHSIG, 0);
        if (sync_send(c->sync_fd, SYNC_READY, (int32_t) getpid()) < 0)
                _exit(1);
        char b;
        ssize_t n;
        do
                n = read(c->fifo_fd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                _exit(1);
        close(c->fifo_fd);
        const struct spec *s = c->spec;
        if (s->n_hooks[HOOK_START_CONTAINER]) {
                /* runc: the container is still "created" until its process runs */
                _cleanup_free_ char *st = runtime_state_for_hooks(s, c->o->id, getpid(), "created");
                if (hooks_run(s->hooks[HOOK_START_CONTAINER], s->n_hooks[HOOK_START_CONTAINER], "startContainer",
                              st, &err) < 0)
                        goto fail;
        }
        if (s->process.no_new_privileges && process_set_no_new_privs() < 0) {
                err_sys(&err, -errno, "process.noNewPrivileges");
                goto fail;
        }
        if (c->seccomp && s->process.no_new_privileges) {
                int nfd = -1;
                if (seccomp_filter_load(c->seccomp, &nfd, &err) < 0)
                        goto fail;
                if (nfd >= 0 && notify_sock >= 0 && send_notify_fd(notify_sock, nfd, c, &err) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                signal(sigs[i], SIG_DFL);
        process_close_fds(c->o->preserve_fds);
        execve(exec_path, s->process.args, c->exec_env);
        err_sys(&err, -errno, "exec '%s'", exec_path);
fail:
        log_error("%s", err.msg);
        _exit(127);
}

/* Join namespaces given by path, in the parent, before clone3: the child is
 * born in them.  The mount namespace is joined by the child. */
static int join_namespaces(const struct spec *s, struct err *err)
{
        static const enum spec_ns_type order[] = { NS_USER, NS_PID, NS_NET, NS_IPC, NS_UTS, NS_CGROUP, NS_TIME };
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                const struct spec_ns *ns = &s->ns[order[i]];
                if (!ns->enabled || !ns->path)
                        continue;
                _cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return err_sys(err, -errno, "linux.namespaces: cannot open %s namespace '%s'",
                                       spec_ns_names[order[i]], ns->path);
                if (setns(fd, spec_ns_clone_flags[order[i]]) < 0)
                        return err_sys(err, -errno, "linux.namespaces: cannot join %s namespace '%s'",
                                       spec_ns_names[order[i]], ns->path);
        }
        return 0;
}

static uint64_t clone_flags(const struct spec *s)
{
        uint64_t f = 0;
        for (int t = 0; t < _NS_MAX; t++)
                if (s->ns[t].enabled && !s->ns[t].path && t != NS_TIME)
                        f |= (uint64_t) spec_ns_clone_flags[t];
        /* the child unshares its cgroup namespace once in its cgroup */
        return f & ~(uint64_t) CLONE_NEWCGROUP;
}

static int write_pid_file(const char *path, pid_t pid, struct err *err)
{
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", pid);
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        const char *name = slash ? slash + 1 : dir;
        if (slash == dir)
                dir[1] = '\0';
        else if (slash)
                *slash = '\0';
        _cleanup_close_ int dfd = open(slash ? dir : ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return err_sys(err, -errno, "--pid-file '%s'", path);
        int r = fs_write_atomic(dfd, name, buf, (size_t) n, 0644);
        return r < 0 ? err_sys(err, r, "--pid-file '%s'", path) : 0;
}

int runtime_connect_unix(const char *path, struct err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "'%s': path too long for a socket", path);
        strcpy(sa.sun_path, path);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                if (s >= 0)
                        close(s);
                return err_sys(err, r, "cannot connect to '%s'", path);
        }
        return s;
}

struct created {
        pid_t pid;
        int pidfd;
        int console_master; /* run in the foreground with a tty */
        struct spec spec;
        struct state st;
};

static void created_free(struct created *c)
{
        if (c->pidfd >= 0)
                close(c->pidfd);
        if (c->console_master >= 0)
                close(c->console_master);
        spec_free(&c->spec);
        state_free(&c->st);
}

static int validate(const struct create_opts *o, const struct spec *s, bool rootless, struct err *err)
{
        if (!s->has_process)
                return err_set(err, -EINVAL, "config.json: process: required");
        if (s->process.terminal && !o->console_socket && o->detach)
                return err_set(err, -EINVAL,
                               "process.terminal is true: --console-socket is required when den-runtime does not stay attached");
        if (!s->process.terminal && o->console_socket)
                return err_set(err, -EINVAL, "--console-socket given but process.terminal is false");
        if (s->ns[NS_TIME].path && json_object_get(json_object_get(s->json, "linux"), "timeOffsets"))
                return err_set(err, -EINVAL,
                               "config.json: linux.timeOffsets: only for a new time namespace, not one joined by path");
        for (size_t i = 0; i < s->n_sysctls; i++) {
                /* a namespace joined by path may be the caller's own */
                static const char *const proc_ns[_NS_MAX] = { [NS_NET] = "net", [NS_IPC] = "ipc", [NS_UTS] = "uts" };
                enum spec_ns_type t;
                struct stat a, b;
                if (spec_sysctl_namespace(s->sysctls[i].key, &t) < 0 || !s->ns[t].path || !proc_ns[t])
                        continue;
                _cleanup_free_ char *own = xasprintf("/proc/self/ns/%s", proc_ns[t]);
                if (stat(s->ns[t].path, &a) == 0 && stat(own, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        return err_set(err, -EINVAL,
                                       "config.json: linux.sysctl.%s: the %s namespace '%s' is den-runtime's own",
                                       s->sysctls[i].key, spec_ns_names[t], s->ns[t].path);
        }
        /* moving a host interface takes CAP_NET_ADMIN over the host's
         * network namespace */
        if (s->n_net_devices && (rootless || geteuid() != 0))
                return err_set(err, -EPERM, "config.json: linux.netDevices: needs root (a rootless container "
                                            "cannot take the host's interfaces)");
        for (size_t i = 0; i < s->n_net_devices; i++)
                if (if_nametoindex(s->net_devices[i].host_name) == 0)
                        return err_set(err, -ENODEV, "config.json: linux.netDevices: the host has no interface '%s'",
                                       s->net_devices[i].host_name);
        struct stat st;
        if (stat(s->root_path, &st) < 0 || !S_ISDIR(st.st_mode))
                return err_set(err, -ENOENT, "config.json: root.path: '%s' is not a directory", s->root_path);
        const char *labels[] = { s->process.apparmor_profile, s->process.selinux_label, s->mount_label };
        for (size_t i = 0; i < ELEMENTSOF(labels); i++)
                if (labels[i] && access("/sys/kernel/security/apparmor", F_OK) < 0 &&
                    access("/sys/fs/selinux/enforce", F_OK) < 0) {
                        log_warn("config.json: security label '%s' ignored: the host has neither AppArmor nor SELinux",
                                 labels[i]);
                        break;
                }
        return 0;
}

/* crun's defaults: a new user namespace without maps maps container root to
 * the caller (and 1.. to the caller's sub-ids, den's own map, as crun does);
 * rootless, a config without a user namespace gets one, since nothing else
 * can be set up without it */
static void default_userns(struct spec *s, bool rootless)
{
        if (rootless && geteuid() != 0 && !s->ns[NS_USER].enabled)
                s->ns[NS_USER].enabled = true;
        if (!s->ns[NS_USER].enabled || s->ns[NS_USER].path)
                return;
        if (!s->n_uid_mappings) {
                s->uid_mappings = xcalloc(2, sizeof(*s->uid_mappings));
                s->n_uid_mappings = idmap_default(false, s->uid_mappings);
        }
        if (!s->n_gid_mappings) {
                s->gid_mappings = xcalloc(2, sizeof(*s->gid_mappings));
                s->n_gid_mappings = idmap_default(true, s->gid_mappings);
        }
}

/* linux.netDevices, before the process starts: the devices go into the
 * child's new network namespace (a dummy device dies with it, a physical one
 * goes back to the host's) */
static int move_net_devices(const struct spec *s, pid_t pid, struct err *err)
{
        _cleanup_free_ char *p = xasprintf("/proc/%d/ns/net", (int) pid);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_sys(err, -errno, "linux.netDevices: cannot open the container's network namespace");
        for (size_t i = 0; i < s->n_net_devices; i++) {
                int r = net_link_move(s->net_devices[i].host_name, fd, s->net_devices[i].name, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void cleanup_failed(const char *root, const char *id, struct created *c)
{
        if (c->pid > 0) {
                kill(c->pid, SIGKILL);
                waitpid(c->pid, NULL, 0);
        }
        cgroup_destroy(&c->st.cgroup);
        _cleanup_free_ char *dir = state_dir(root, id);
        fs_rm_rf(dir);
}

static int prepare_idmap_mounts(struct mount_op *ops, size_t n, const struct spec *s, bool rootless, struct err *err)
{
        for (size_t i = 0; i < n; i++) {
                if (!ops[i].opts.idmap)
                        continue;
                if (rootless)
                        return err_set(err, -EPERM, "mounts[%zu] ('%s'): idmapped mounts need root", i,
                                       ops[i].destination);
                const struct spec_mount *m = &s->mounts[i];
                _cleanup_close_ int fd = idmap_userns_fd(m->uid_mappings, m->n_uid_mappings, m->gid_mappings,
                                                         m->n_gid_mappings, err);
                if (fd < 0 || mount_prepare_idmapped(&ops[i], fd, err) < 0)
                        return err_wrap(err, "mounts[%zu] ('%s')", i, ops[i].destination);
        }
        return 0;
}

static int do_create(const struct create_opts *o, bool console_to_parent, struct created *out, struct err *err)
{
        struct spec *s = &out->spec;
        struct mount_op *ops = NULL;
        size_t n_ops = 0;
        struct seccomp_filter *sc = NULL;
        int *dev_fds = NULL;
        size_t n_dev_fds = 0;
        /* compiled filters, dot-named: `list` skips it */
        _cleanup_free_ char *time_offsets = NULL, *sc_cache = xasprintf("%s/.seccomp", o->root);
        bool rootless = runtime_is_rootless(o->rootless);
        _cleanup_free_ char *dir = NULL, *fifo = NULL;
        _cleanup_close_ int fifo_fd = -1, devnull = -1, parent_sock = -1, child_sock = -1, cgfd = -1;
        int r;

        out->pid = -1;
        out->pidfd = -1;
        out->console_master = -1;
        if ((r = state_check_id(o->id, err)) < 0)
                return r;
        _cleanup_free_ char *bundle = realpath(o->bundle, NULL);
        if (!bundle)
                return err_sys(err, -errno, "bundle '%s'", o->bundle);
        /* crun's --config: relative to our cwd, as crun takes it */
        _cleanup_free_ char *config = o->config ? realpath(o->config, NULL) : NULL;
        if (o->config && !config)
                return err_sys(err, -errno, "--config '%s'", o->config);
        if ((r = spec_load_file(bundle, config, s, err)) < 0)
                return r;
        default_userns(s, rootless);
        if ((r = validate(o, s, rootless, err)) < 0)
                return r;
        json_t *to = json_object_get(json_object_get(s->json, "linux"), "timeOffsets");
        if (to && !json_is_object(to))
                return err_set(err, -EINVAL, "config.json: linux.timeOffsets: must be an object");
        if (to && (r = time_offsets_format(to, &time_offsets, err)) < 0)
                return err_wrap(err, "config.json");
        if ((r = mount_plan(s, &ops, &n_ops, err)) < 0)
                return r;
        if (s->seccomp && (r = seccomp_filter_build_cached(s->seccomp, sc_cache, &sc, err)) < 0)
                goto out;

        /* o->root exists: state_root_open made and checked it */
        dir = state_dir(o->root, o->id);
        if (mkdir(dir, 0700) < 0) {
                r = errno == EEXIST ? err_set(err, -EEXIST, "container '%s' already exists", o->id)
                                    : err_sys(err, -errno, "cannot create %s", dir);
                goto out;
        }
        if ((r = prepare_idmap_mounts(ops, n_ops, s, rootless, err)) < 0)
                goto fail;
        fifo = xasprintf("%s/exec.fifo", dir);
        if (mkfifo(fifo, 0600) < 0) {
                r = err_sys(err, -errno, "cannot create %s", fifo);
                goto fail;
        }
        fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
        devnull = open("/dev/null", O_PATH | O_CLOEXEC);
        int sp[2];
        if (fifo_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = err_sys(err, -errno, "cannot set up the sync channel");
                goto fail;
        }
        parent_sock = sp[0];
        child_sock = sp[1];
        struct child c = {
                .spec = s, .ops = ops, .n_ops = n_ops, .seccomp = sc, .o = o, .sync_fd = child_sock,
                .fifo_fd = fifo_fd, .devnull_fd = devnull, .new_userns = s->ns[NS_USER].enabled && !s->ns[NS_USER].path,
                .rootless = rootless, .console_to_parent = console_to_parent && s->process.terminal,
                .new_timens = s->ns[NS_TIME].enabled && !s->ns[NS_TIME].path, .time_offsets = time_offsets,
                .cgroup = &out->st.cgroup,
        };
        c.env = (struct mount_env){
                .in_userns = c.new_userns || runtime_in_userns() || s->ns[NS_USER].path,
                .new_netns = s->ns[NS_NET].enabled && !s->ns[NS_NET].path,
                .new_pidns = s->ns[NS_PID].enabled && !s->ns[NS_PID].path,
                .new_ipcns = s->ns[NS_IPC].enabled,
                .new_cgroupns = s->ns[NS_CGROUP].enabled,
                .cgroup2 = cgroup_detect() == CGROUP_UNIFIED,
        };
        /* root with a user namespace: device nodes made with mknod out here
         * (a kernel without open_tree of a detached mount: the host's bound) */
        if (!rootless && c.env.in_userns) {
                struct err e2 = { 0 };
                if (rootfs_devices_prepare(s, &dev_fds, &n_dev_fds, &e2) < 0)
                        log_debug("%s: binding the host's device nodes instead", e2.msg);
                c.env.dev_fds = dev_fds;
                c.env.n_dev_fds = n_dev_fds;
        }
        if ((r = join_namespaces(s, err)) < 0)
                goto fail;
        if (!s->ns[NS_MNT].enabled) {
                r = err_set(err, -EINVAL, "config.json: linux.namespaces: a mount namespace is required");
                goto fail;
        }
        /* every container gets a cgroup of its own (rootless: when one is
         * delegated), with its device rules, before it opens anything; it is
         * born in it (v2) or moves itself (v1), never moved by us: that costs
         * an RCU grace period (see lib/linux/cgroup.c) */
        if (!o->no_cgroup &&
            (r = cgroup_create(s->cgroups_path, o->id, s->resources, rootless, &out->st.cgroup, err)) < 0)
                goto fail;
        if ((r = cgroup_open_v1_tasks(&out->st.cgroup, c.cg_tasks, ELEMENTSOF(c.cg_tasks), &c.n_cg_tasks, err)) < 0)
                goto fail;
        cgfd = cgroup_open_v2(&out->st.cgroup);
        pid_t pid = runtime_clone3_into(clone_flags(s), &out->pidfd, cgfd);
        bool born_in_v2 = pid >= 0 && cgfd >= 0;
        if (pid < 0 && cgfd >= 0) {
                /* a kernel or a cgroup that refuses CLONE_INTO_CGROUP */
                log_debug("clone3 into the cgroup: %s", strerror(errno));
                pid = runtime_clone3_into(clone_flags(s), &out->pidfd, -1);
        }
        int clone_errno = errno;
        if (pid == 0) {
                close(parent_sock);
                child_main(&c);
        }
        for (size_t i = 0; i < c.n_cg_tasks; i++)
                close(c.cg_tasks[i]);
        if (pid < 0) {
                r = err_sys(err, -clone_errno, "cannot create the container process (clone3 with namespaces)");
                goto fail;
        }
        out->pid = pid;
        close(TAKE_FD(child_sock));

        if (c.new_userns) {
                bool sg;
                if ((r = idmap_write(pid, s->uid_mappings, s->n_uid_mappings, s->gid_mappings, s->n_gid_mappings, &sg,
                                     err)) < 0)
                        goto fail;
        }
        if (!born_in_v2 && (r = cgroup_enter_v2(&out->st.cgroup, pid, err)) < 0)
                goto fail;
        if (s->n_net_devices && (r = move_net_devices(s, pid, err)) < 0)
                goto fail;
        if ((r = sync_send(parent_sock, SYNC_IDMAP_DONE, pid)) < 0) {
                r = sync_expect(parent_sock, SYNC_READY, NULL, err);
                goto fail;
        }
        if (c.console_to_parent) {
                char b;
                int fds[1];
                size_t nf = 1;
                r = sock_recv_fds(parent_sock, &b, 1, fds, &nf);
                if (r <= 0 || nf != 1) {
                        r = sync_expect(parent_sock, SYNC_READY, NULL, err);
                        if (r >= 0)
                                r = err_set(err, -EPROTO, "the container did not pass its terminal");
                        goto fail;
                }
                out->console_master = fds[0];
        }
        if (s->n_hooks[HOOK_PRESTART] + s->n_hooks[HOOK_CREATE_RUNTIME]) {
                if ((r = sync_expect(parent_sock, SYNC_HOOKS_RUNTIME, NULL, err)) < 0)
                        goto fail;
                _cleanup_free_ char *sj = runtime_state_for_hooks(s, o->id, pid, "creating");
                if ((r = hooks_run(s->hooks[HOOK_PRESTART], s->n_hooks[HOOK_PRESTART], "prestart", sj, err)) < 0 ||
                    (r = hooks_run(s->hooks[HOOK_CREATE_RUNTIME], s->n_hooks[HOOK_CREATE_RUNTIME], "createRuntime",
                                   sj, err)) < 0)
                        goto fail;
                sync_send(parent_sock, SYNC_HOOKS_DONE, 0);
        }
        if ((r = sync_expect(parent_sock, SYNC_READY, NULL, err)) < 0)
                goto fail;

        struct state *st = &out->st;
        st->id = xstrdup(o->id);
        st->bundle = xstrdup(bundle);
        st->config = config ? xstrdup(config) : NULL;
        st->rootfs = xstrdup(s->root_path);
        st->created = now_rfc3339();
        st->oci_version = xstrdup(s->oci_version);
        st->pid = pid;
        st->pid_start = state_pid_starttime(pid);
        st->owner = geteuid();
        st->rootless = rootless;
        st->annotations = s->annotations ? json_incref(s->annotations) : NULL;
        st->resources = s->resources ? json_incref(s->resources) : NULL;
        if ((r = state_save(o->root, st, err)) < 0)
                goto fail;
        if (o->pid_file && (r = write_pid_file(o->pid_file, pid, err)) < 0)
                goto fail;
        r = 0;
        goto out;
fail:
        cleanup_failed(o->root, o->id, out);
out:
        mount_plan_free(ops, n_ops);
        rootfs_devices_close(dev_fds, n_dev_fds);
        seccomp_filter_free(sc);
        return r;
}

int container_run_internal(const struct create_opts *o, pid_t *ret_pid, int *ret_pidfd, int *ret_master,
                           struct err *err)
{
        struct created c = { 0 };
        int r = do_create(o, !o->detach, &c, err);
        if (r >= 0) {
                *ret_pid = c.pid;
                *ret_pidfd = TAKE_FD(c.pidfd);
                *ret_master = TAKE_FD(c.console_master);
        }
        created_free(&c);
        return r;
}

int container_create(const struct create_opts *o, struct err *err)
{
        struct created c = { 0 };
        int r = do_create(o, false, &c, err);
        created_free(&c);
        return r;
}

static void poststart(const char *root, const char *id)
{
        struct state st;
        struct spec s;
        struct err e = { 0 };
        if (state_load(root, id, &st, &e) < 0)
                return;
        if (runtime_spec_load(&st, &s, &e) == 0) {
                if (s.n_hooks[HOOK_POSTSTART]) {
                        _cleanup_free_ char *sj = runtime_state_for_hooks(&s, id, st.pid, "running");
                        hooks_run_warn(s.hooks[HOOK_POSTSTART], s.n_hooks[HOOK_POSTSTART], "poststart", sj);
                }
                spec_free(&s);
        }
        state_free(&st);
}

int container_start(const char *root, const char *id, struct err *err)
{
        struct state st;
        int r = state_load(root, id, &st, err);
        if (r < 0)
                return r;
        _cleanup_close_ int lock = state_lock(root, id, err);
        if (lock < 0) {
                state_free(&st);
                return lock;
        }
        enum status s = state_status(root, &st);
        state_free(&st);
        if (s != STATUS_CREATED)
                return err_set(err, -EINVAL, "cannot start container '%s': it is %s, not created", id, status_name(s));
        _cleanup_free_ char *fifo = xasprintf("%s/%s/exec.fifo", root, id);
        /* O_NONBLOCK: with the container gone there is no reader and this fails
         * with ENXIO instead of hanging */
        _cleanup_close_ int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return err_sys(err, -errno, "cannot start container '%s'", id);
        if (write(fd, "0", 1) != 1)
                return err_sys(err, -errno, "cannot start container '%s'", id);
        unlink(fifo);
        poststart(root, id);
        return 0;
}
