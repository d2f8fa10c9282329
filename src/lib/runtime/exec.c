/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/base/sock.h"
#include "container.h"
#include "internal.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/console.h"
#include "lib/linux/process.h"
#include "lib/linux/seccomp.h"
#include "lib/linux/sync.h"
#include "state.h"

/* `den-runtime exec`: runc's setns contract, kept small and sealed.  The
 * runtime marks itself non-dumpable before it touches a container namespace,
 * the process is a fresh child, every fd but stdio (and --preserve-fds) is
 * closed on exec, and its cwd is resolved inside the container's root. */

static const enum spec_ns_type join_order[] = { NS_USER, NS_MNT, NS_PID, NS_NET, NS_IPC, NS_UTS, NS_CGROUP, NS_TIME };

struct exec_child {
        struct spec_process *p;
        struct spec *spec; /* for seccomp and personality */
        struct seccomp_filter *seccomp;
        int ns_fds[_NS_MAX];
        int sync_fd;
        const struct exec_opts *o;
        bool setgroups;
        bool console_to_parent;
        int console_sock; /* --console-socket, connected on the host side */
        int cg_tasks[16]; /* the container's v1 "tasks" files: we join them, not moved (cgroup.c) */
        size_t n_cg_tasks;
};

static int env_set(char ***env, const char *kv)
{
        size_t klen = strcspn(kv, "=");
        size_t n = strv_length(*env);
        for (size_t i = 0; i < n; i++)
                if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
                        free((*env)[i]);
                        (*env)[i] = xstrdup(kv);
                        return 0;
                }
        *env = xrealloc(*env, (n + 2) * sizeof(char *));
        (*env)[n] = xstrdup(kv);
        (*env)[n + 1] = NULL;
        return 0;
}

static int build_process(const struct exec_opts *o, const struct spec *s, struct spec_process *p, struct err *err)
{
        int r;
        if (o->process_json) {
                json_t *j = json_load_path(o->process_json, 1 << 20, err);
                if (!j)
                        return err->code;
                r = spec_parse_process(j, "process", p, err);
                json_decref(j);
                if (r < 0)
                        return err_wrap(err, "%s", o->process_json);
        } else {
                if (!o->args || !o->args[0])
                        return err_set(err, -EINVAL, "exec: give a command, or -p process.json");
                /* the container's own process is the template, as with runc */
                const struct spec_process *t = &s->process;
                *p = *t;
                p->args = strv_copy(o->args);
                p->env = strv_copy(t->env);
                p->cwd = xstrdup(t->cwd);
                p->additional_gids = NULL;
                p->n_additional_gids = 0;
                p->rlimits = t->n_rlimits ? xmalloc(t->n_rlimits * sizeof(*t->rlimits)) : NULL;
                if (t->n_rlimits)
                        memcpy(p->rlimits, t->rlimits, t->n_rlimits * sizeof(*t->rlimits));
                p->apparmor_profile = NULL;
                p->selinux_label = NULL;
                p->terminal = false;
                p->has_oom_score_adj = false;
        }
        if (o->tty_set)
                p->terminal = o->tty;
        if (o->cwd) {
                if (o->cwd[0] != '/')
                        return err_set(err, -EINVAL, "--cwd '%s': not an absolute path", o->cwd);
                free(p->cwd);
                p->cwd = xstrdup(o->cwd);
        }
        for (size_t i = 0; o->env && o->env[i]; i++) {
                if (!strchr(o->env[i], '='))
                        return err_set(err, -EINVAL, "--env '%s': not of the form KEY=VALUE", o->env[i]);
                env_set(&p->env, o->env[i]);
        }
        if (o->user) {
                unsigned uid, gid;
                int n = sscanf(o->user, "%u:%u", &uid, &gid);
                char tail;
                if (n < 1 || (n == 1 && sscanf(o->user, "%u%c", &uid, &tail) == 2))
                        return err_set(err, -EINVAL, "--user '%s': expected UID[:GID] (numbers)", o->user);
                p->uid = uid;
                if (n == 2)
                        p->gid = gid;
        }
        for (size_t i = 0; o->caps && o->caps[i]; i++) {
                int c = spec_cap_from_name(o->caps[i]);
                if (c < 0)
                        return err_set(err, -EINVAL, "--cap '%s': unknown capability", o->caps[i]);
                p->has_caps = true;
                for (int k = 0; k < _CAP_SET_MAX; k++)
                        if (k != CAP_SET_AMBIENT)
                                p->caps[k] |= UINT64_C(1) << c;
        }
        if (o->no_new_privs)
                p->no_new_privileges = true;
        if (p->terminal && o->detach && !o->console_socket)
                return err_set(err, -EINVAL, "--tty with --detach needs --console-socket");
        return 0;
}

static int exec_console(struct exec_child *c, struct err *err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int m = fs_open_in_root(root, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, 0);
        int slave, r;
        if (m < 0)
                return err_sys(err, m, "--tty: the container has no /dev/pts/ptmx");
        if ((r = console_open(m, &slave, err)) < 0)
                return r;
        _cleanup_close_ int sl = slave;
        if (c->p->console_height || c->p->console_width)
                console_resize(slave, c->p->console_height, c->p->console_width);
        if (c->console_to_parent)
                r = sock_send_fds(c->sync_fd, "c", 1, &m, 1) < 0 ? err_sys(err, -errno, "cannot pass the terminal") : 0;
        else if ((r = sock_send_fds(c->console_sock, "/dev/ptmx", 9, &m, 1)) < 0)
                r = err_sys(err, r, "cannot send the terminal to '%s'", c->o->console_socket);
        if (r < 0)
                return r;
        return console_set_stdio(sl, err);
}

static int exec_setup(struct exec_child *c, char **ret_exec, struct err *err)
{
        int r;
        if ((r = sync_expect(c->sync_fd, SYNC_IDMAP_DONE, NULL, err)) < 0)
                return r;
        /* runc: a session and process group of its own */
        if (setsid() < 0)
                return err_sys(err, -errno, "setsid");
        if (c->p->terminal && (r = exec_console(c, err)) < 0)
                return r;
        if ((r = process_set_limits(c->p, c->spec, true, err)) < 0)
                return r;
        if ((r = process_chdir(c->p->cwd, err)) < 0)
                return r;
        process_env_default_home(&c->p->env, c->p->uid);
        if (c->seccomp && !c->p->no_new_privileges && (r = seccomp_filter_load(c->seccomp, NULL, err)) < 0)
                return r;
        if ((r = process_fix_stdio(c->p->uid, c->p->terminal, err)) < 0 || (r = process_set_user_caps(c->p, c->setgroups, err)) < 0)
                return r;
        if ((r = process_find_exec(c->p, ret_exec, err)) < 0)
                return r;
        if (c->p->no_new_privileges && process_set_no_new_privs() < 0)
                return err_sys(err, -errno, "no_new_privs");
        if (c->seccomp && c->p->no_new_privileges && (r = seccomp_filter_load(c->seccomp, NULL, err)) < 0)
                return r;
        return 0;
}

static __attribute__((noreturn)) void exec_grandchild(struct exec_child *c)
{
        struct err err = { 0 };
        _cleanup_free_ char *path = NULL;
        if (exec_setup(c, &path, &err) < 0) {
                sync_send_err(c->sync_fd, &err);
                _exit(127);
        }
        process_close_fds(c->o->preserve_fds);
        execve(path, c->p->args, c->p->env);
        err_sys(&err, -errno, "exec '%s'", path);
        sync_send_err(c->sync_fd, &err);
        _exit(127);
}

/* the intermediate child: joins the namespaces, then forks the process as a
 * sibling (CLONE_PARENT) so den-runtime can wait for it */
static __attribute__((noreturn)) void exec_child(struct exec_child *c)
{
        struct err err = { 0 };
        /* no directory of the host's state goes along into the container */
        runtime_dir_close_all();
        /* the process forked below is born in every cgroup we are in */
        if (cgroup_enter_self_v1(c->cg_tasks, c->n_cg_tasks, &err) < 0) {
                sync_send_err(c->sync_fd, &err);
                _exit(1);
        }
        for (size_t i = 0; i < ELEMENTSOF(join_order); i++) {
                int t = join_order[i];
                if (c->ns_fds[t] >= 0 && setns(c->ns_fds[t], spec_ns_clone_flags[t]) < 0) {
                        err_sys(&err, -errno, "cannot join the container's %s namespace", spec_ns_names[t]);
                        sync_send_err(c->sync_fd, &err);
                        _exit(1);
                }
        }
        pid_t pid = runtime_clone3(CLONE_PARENT, NULL);
        if (pid < 0) {
                err_sys(&err, -errno, "cannot fork in the container");
                sync_send_err(c->sync_fd, &err);
                _exit(1);
        }
        if (pid == 0)
                exec_grandchild(c);
        sync_send(c->sync_fd, SYNC_EXEC_PID, pid);
        _exit(0);
}

static int open_namespaces(pid_t pid, int *fds, struct err *err)
{
        for (int t = 0; t < _NS_MAX; t++)
                fds[t] = -1;
        static const char *files[_NS_MAX] = { [NS_PID] = "pid", [NS_NET] = "net",       [NS_MNT] = "mnt",
                                              [NS_IPC] = "ipc", [NS_UTS] = "uts",       [NS_USER] = "user",
                                              [NS_CGROUP] = "cgroup", [NS_TIME] = "time" };
        for (size_t i = 0; i < ELEMENTSOF(join_order); i++) {
                int t = join_order[i];
                char p[64], q[64];
                struct stat a, b;
                snprintf(p, sizeof(p), "/proc/%d/ns/%s", pid, files[t]);
                snprintf(q, sizeof(q), "/proc/self/ns/%s", files[t]);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT && (t == NS_CGROUP || t == NS_TIME))
                                continue;
                        return err_sys(err, -errno, "cannot open %s", p);
                }
                if (fstat(fd, &a) == 0 && stat(q, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
                        close(fd);
                        continue;
                }
                fds[t] = fd;
        }
        return 0;
}

int container_exec(const struct exec_opts *o, struct err *err)
{
        struct state st;
        struct spec s = { 0 };
        struct spec_process p = { 0 };
        struct seccomp_filter *sc = NULL;
        _cleanup_free_ char *sc_cache = xasprintf("%s/.seccomp", o->root); /* as container_create's */
        int ns_fds[_NS_MAX];
        _cleanup_close_ int psock = -1, csock = -1, cgfd = -1;
        int r, status = 0;
        pid_t child = -1, pid = -1;

        for (int t = 0; t < _NS_MAX; t++)
                ns_fds[t] = -1;
        if ((r = state_load(o->root, o->id, &st, err)) < 0)
                return r;
        enum status stt = state_status(o->root, &st);
        if (stt != STATUS_RUNNING && stt != STATUS_CREATED) {
                r = err_set(err, -EINVAL, "cannot exec in container '%s': it is %s", o->id, status_name(stt));
                goto out;
        }
        if ((r = runtime_spec_load(&st, &s, err)) < 0)
                goto out;
        if ((r = build_process(o, &s, &p, err)) < 0)
                goto out;
        if (s.seccomp && (r = seccomp_filter_build_cached(s.seccomp, sc_cache, &sc, err)) < 0)
                goto out;
        if (o->apparmor || o->process_label)
                log_warn("--apparmor/--process-label ignored: the host has neither AppArmor nor SELinux");
        if ((r = open_namespaces(st.pid, ns_fds, err)) < 0)
                goto out;
        /* nothing in the container may read our memory or reach our binary
         * through /proc/PID/exe once we are inside (CVE-2019-5736) */
        prctl(PR_SET_DUMPABLE, 0);
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = err_sys(err, -errno, "socketpair");
                goto out;
        }
        psock = sp[0];
        csock = sp[1];
        struct exec_child c = { .p = &p, .spec = &s, .seccomp = sc, .sync_fd = csock, .o = o,
                                .console_to_parent = p.terminal && !o->console_socket };
        memcpy(c.ns_fds, ns_fds, sizeof(ns_fds));
        c.console_sock = -1;
        /* the socket is a host path: connect before anything joins the container */
        if (p.terminal && o->console_socket &&
            (c.console_sock = runtime_connect_unix(o->console_socket, err)) < 0) {
                r = err_wrap(err, "--console-socket");
                goto out;
        }
        /* read on the host: inside, /proc belongs to a pid namespace we are not in yet */
        c.setgroups = runtime_setgroups_allowed(st.pid);
        struct err ce = { 0 };
        bool v1_self = cgroup_open_v1_tasks(&st.cgroup, c.cg_tasks, ELEMENTSOF(c.cg_tasks), &c.n_cg_tasks, &ce) == 0;
        err_clear(&ce);
        cgfd = cgroup_open_v2(&st.cgroup);
        child = runtime_clone3_into(0, NULL, cgfd);
        bool born_in_v2 = child >= 0 && cgfd >= 0;
        if (child < 0 && cgfd >= 0)
                child = runtime_clone3_into(0, NULL, -1);
        for (size_t i = 0; child != 0 && i < c.n_cg_tasks; i++)
                close(c.cg_tasks[i]);
        if (child < 0) {
                r = err_sys(err, -errno, "fork");
                goto out;
        }
        if (child == 0) {
                close(psock);
                exec_child(&c);
        }
        close(TAKE_FD(csock));
        if (c.console_sock >= 0)
                close(c.console_sock);
        int32_t v;
        r = sync_expect(psock, SYNC_EXEC_PID, &v, err);
        waitpid(child, NULL, 0);
        if (r < 0)
                goto out;
        pid = v;
        /* joined through the intermediate child when it could; else moved */
        if (!v1_self ? cgroup_enter(&st.cgroup, pid, &ce) < 0
                     : !born_in_v2 && cgroup_enter_v2(&st.cgroup, pid, &ce) < 0)
                log_warn("exec: %s", ce.msg);
        sync_send(psock, SYNC_IDMAP_DONE, 0);
        int master = -1;
        if (c.console_to_parent) {
                char b;
                size_t nf = 1;
                int fds[1];
                int q = sock_recv_fds(psock, &b, 1, fds, &nf);
                if (q > 0 && nf == 1)
                        master = fds[0];
        }
        /* EOF on the sync socket: the exec happened (it is close-on-exec) */
        struct sync_msg m;
        ssize_t n;
        do
                n = recv(psock, &m, sizeof(m), 0);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof(m) && m.type == SYNC_ERROR) {
                m.err.msg[sizeof(m.err.msg) - 1] = '\0';
                r = err_set(err, m.err.code < 0 ? m.err.code : -EIO, "%s", m.err.msg);
                waitpid(pid, NULL, 0);
                if (master >= 0)
                        close(master);
                goto out;
        }
        if (o->pid_file) {
                char buf[16];
                int l = snprintf(buf, sizeof(buf), "%d", pid);
                _cleanup_close_ int fd = open(o->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || fs_write_all(fd, buf, (size_t) l) < 0) {
                        r = err_sys(err, -errno, "--pid-file '%s'", o->pid_file);
                        goto out;
                }
        }
        if (o->detach) {
                if (master >= 0)
                        close(master);
                r = 0;
                goto out;
        }
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        status = runtime_wait_forward(pid, pidfd, master, err);
        if (pidfd >= 0)
                close(pidfd);
        if (master >= 0)
                close(master);
        r = status;
out:
        for (int t = 0; t < _NS_MAX; t++)
                if (ns_fds[t] >= 0)
                        close(ns_fds[t]);
        seccomp_filter_free(sc);
        if (o->process_json)
                spec_process_free(&p);
        else if (p.args) {
                strv_freep(&p.args);
                strv_freep(&p.env);
                free(p.cwd);
                free(p.rlimits);
        }
        spec_free(&s);
        state_free(&st);
        return r;
}
