/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "container.h"
#include "hooks.h"
#include "internal.h"
#include "state.h"

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };

void runtime_pump(int from, int to, bool *open_)
{
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0) {
                if (n == 0 || (errno != EINTR && errno != EAGAIN))
                        *open_ = false;
                return;
        }
        if (fs_write_all(to, buf, (size_t) n) < 0)
                *open_ = false;
}

bool runtime_tty_raw(int master, struct termios *saved)
{
        if (master < 0 || !isatty(0) || tcgetattr(0, saved) < 0)
                return false;
        struct termios t = *saved;
        cfmakeraw(&t);
        bool raw = tcsetattr(0, TCSANOW, &t) == 0;
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
        return raw;
}

int runtime_wait_forward(pid_t pid, int pidfd, int master, struct err *err)
{
        sigset_t mask, old;
        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&mask, forwarded[i]);
        sigprocmask(SIG_BLOCK, &mask, &old);
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        struct termios saved;
        bool raw = runtime_tty_raw(master, &saved), in_open = master >= 0, out_open = master >= 0;
        for (;;) {
                struct pollfd p[4] = { { pidfd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
                                       { out_open ? master : -1, POLLIN, 0 } };
                int n = poll(p, 4, -1);
                if (n < 0 && errno != EINTR)
                        break;
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH && master >= 0) {
                                        struct winsize ws;
                                        if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                                                ioctl(master, TIOCSWINSZ, &ws);
                                } else
                                        kill(pid, (int) si.ssi_signo);
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        runtime_pump(0, master, &in_open);
                if (p[3].revents & (POLLIN | POLLHUP | POLLERR))
                        runtime_pump(master, 1, &out_open);
                if (p[0].revents & POLLIN) {
                        /* drain what the terminal still holds */
                        while (out_open) {
                                struct pollfd q = { master, POLLIN, 0 };
                                if (poll(&q, 1, 0) <= 0 || !(q.revents & POLLIN))
                                        break;
                                runtime_pump(master, 1, &out_open);
                        }
                        break;
                }
        }
        if (raw)
                tcsetattr(0, TCSANOW, &saved);
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return err_sys(err, -errno, "waitpid");
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        return 128 + WTERMSIG(st);
}

/* Remove what is left of a stopped container and run its poststop hooks. */
static int destroy(const char *root, struct state *st, struct err *err)
{
        struct spec s;
        struct err e = { 0 };
        int r = 0;
        cgroup_destroy(&st->cgroup);
        _cleanup_free_ char *dir = state_dir(root, st->id);
        fs_rm_rf(dir);
        if (runtime_spec_load(st, &s, &e) == 0) {
                if (s.n_hooks[HOOK_POSTSTOP]) {
                        _cleanup_free_ char *sj = runtime_state_for_hooks(&s, st->id, 0, "stopped");
                        hooks_run_warn(s.hooks[HOOK_POSTSTOP], s.n_hooks[HOOK_POSTSTOP], "poststop", sj);
                }
                spec_free(&s);
        }
        (void) err;
        return r;
}


int container_run(const struct create_opts *o, struct err *err)
{
        pid_t pid;
        int pidfd, master;
        int r = container_run_internal(o, &pid, &pidfd, &master, err);
        if (r < 0)
                return r;
        if ((r = container_start(o->root, o->id, err)) < 0) {
                kill(pid, SIGKILL);
                struct err e = { 0 };
                container_delete(o->root, o->id, true, &e);
                return r;
        }
        if (o->detach) {
                close(pidfd);
                return 0;
        }
        int status = runtime_wait_forward(pid, pidfd, master, err);
        close(pidfd);
        if (master >= 0)
                close(master);
        if (!o->keep) {
                struct err e = { 0 };
                container_delete(o->root, o->id, true, &e);
        }
        return status;
}

static int same_pidns(pid_t a, const char *ns)
{
        char p[64], l[128];
        snprintf(p, sizeof(p), "/proc/%d/ns/pid", a);
        ssize_t n = readlink(p, l, sizeof(l) - 1);
        if (n < 0)
                return 0;
        l[n] = '\0';
        return strcmp(l, ns) == 0;
}

int container_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, struct err *err)
{
        struct state st;
        int r = state_load(root, id, &st, err);
        if (r < 0)
                return r;
        r = cgroup_pids(&st.cgroup, ret, ret_n);
        if (r >= 0) {
                state_free(&st);
                return 0;
        }
        /* no cgroup: the processes sharing the container's pid namespace */
        pid_t *v = NULL;
        size_t n = 0;
        if (state_pid_alive(st.pid, st.pid_start)) {
                char p[64], ns[128];
                snprintf(p, sizeof(p), "/proc/%d/ns/pid", st.pid);
                ssize_t l = readlink(p, ns, sizeof(ns) - 1);
                char self[128];
                ssize_t sl = readlink("/proc/self/ns/pid", self, sizeof(self) - 1);
                v = xmalloc(sizeof(pid_t));
                v[n++] = st.pid;
                if (l > 0 && sl > 0 && (l != sl || memcmp(ns, self, (size_t) l) != 0)) {
                        ns[l] = '\0';
                        DIR *d = opendir("/proc");
                        struct dirent *de;
                        while (d && (de = readdir(d))) {
                                pid_t q = (pid_t) atoi(de->d_name);
                                if (q <= 0 || q == st.pid || !same_pidns(q, ns))
                                        continue;
                                v = xrealloc(v, (n + 1) * sizeof(pid_t));
                                v[n++] = q;
                        }
                        if (d)
                                closedir(d);
                }
        }
        state_free(&st);
        *ret = v;
        *ret_n = n;
        return 0;
}

int container_kill(const char *root, const char *id, int sig, bool all, struct err *err)
{
        struct state st;
        int r = state_load(root, id, &st, err);
        if (r < 0)
                return r;
        enum status s = state_status(root, &st);
        if (s == STATUS_STOPPED && !all) {
                state_free(&st);
                return err_set(err, -ESRCH, "container '%s' is not running", id);
        }
        if (all) {
                pid_t *v = NULL;
                size_t n = 0;
                if (container_pids(root, id, &v, &n, err) == 0) {
                        for (size_t i = 0; i < n; i++)
                                kill(v[i], sig);
                        free(v);
                }
                if (s == STATUS_PAUSED && sig == SIGKILL)
                        cgroup_freeze(&st.cgroup, false, err);
                state_free(&st);
                return 0;
        }
        /* the pid is checked against its start time: never signal a reused pid */
        int pidfd = (int) syscall(SYS_pidfd_open, st.pid, 0);
        if (pidfd < 0 || !state_pid_alive(st.pid, st.pid_start)) {
                if (pidfd >= 0)
                        close(pidfd);
                state_free(&st);
                return err_set(err, -ESRCH, "container '%s' is not running", id);
        }
        r = (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
        close(pidfd);
        state_free(&st);
        if (r < 0)
                return err_sys(err, -errno, "cannot send signal %d to container '%s'", sig, id);
        return 0;
}

static void wait_gone(pid_t pid, unsigned long long start)
{
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd >= 0) {
                struct pollfd p = { pidfd, POLLIN, 0 };
                poll(&p, 1, 10000);
                close(pidfd);
        }
        for (int i = 0; i < 1000 && state_pid_alive(pid, start); i++)
                usleep(1000);
}

int container_delete(const char *root, const char *id, bool force, struct err *err)
{
        struct state st;
        int r = state_load(root, id, &st, err);
        if (r == -ENOENT && force) {
                /* runc: delete --force of a missing container is not an error */
                err_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        /* held until we return: no start or exec races the delete */
        _cleanup_close_ int lock = state_lock(root, id, err);
        (void) lock;
        enum status s = state_status(root, &st);
        if (s != STATUS_STOPPED) {
                if (!force && s != STATUS_CREATED) {
                        state_free(&st);
                        return err_set(err, -EBUSY, "cannot delete container '%s' that is not stopped: %s", id,
                                       status_name(s));
                }
                struct err e = { 0 };
                container_kill(root, id, SIGKILL, true, &e);
                if (s == STATUS_PAUSED)
                        cgroup_freeze(&st.cgroup, false, &e);
                kill(st.pid, SIGKILL);
                wait_gone(st.pid, st.pid_start);
        }
        r = destroy(root, &st, err);
        state_free(&st);
        return r;
}

int container_pause(const char *root, const char *id, bool pause, struct err *err)
{
        struct state st;
        int r = state_load(root, id, &st, err);
        if (r < 0)
                return r;
        enum status s = state_status(root, &st);
        if (pause && s != STATUS_RUNNING)
                r = err_set(err, -EINVAL, "cannot pause container '%s': it is %s", id, status_name(s));
        else if (!pause && s != STATUS_PAUSED)
                r = err_set(err, -EINVAL, "cannot resume container '%s': it is %s, not paused", id, status_name(s));
        else
                r = cgroup_freeze(&st.cgroup, pause, err);
        state_free(&st);
        return r;
}

int container_update(const char *root, const char *id, json_t *resources, struct err *err)
{
        struct state st;
        int r = state_check_id(id, err);
        if (r < 0)
                return r;
        /* held until we return: the state may be saved with a directory joined now */
        _cleanup_close_ int lock = state_lock(root, id, err);
        if (lock < 0)
                return lock;
        r = state_load(root, id, &st, err);
        if (r < 0)
                return r;
        if (state_status(root, &st) == STATUS_STOPPED)
                r = err_set(err, -EINVAL, "cannot update container '%s': it is stopped", id);
        else if (!st.cgroup.paths)
                r = err_set(err, -EOPNOTSUPP,
                            "cannot update container '%s': it has no cgroup of its own (rootless without a delegated cgroup)", id);
        else {
                json_t *merged, *apply = cgroup_resources_for_update(st.resources, resources, &merged);
                r = cgroup_update(&st.cgroup, apply, err);
                json_decref(apply);
                if (st.resources)
                        json_decref(st.resources);
                st.resources = merged;
                /* recorded: the new values, and a v1 directory joined now */
                if (r >= 0)
                        r = state_save(root, &st, err);
        }
        state_free(&st);
        return r < 0 ? r : 0;
}

int container_stats(const char *root, const char *id, json_t **ret, struct err *err)
{
        struct state st;
        int r = state_load(root, id, &st, err);
        if (r < 0)
                return r;
        if (!st.cgroup.paths)
                r = err_set(err, -EOPNOTSUPP,
                            "cannot read the stats of container '%s': it has no cgroup of its own (rootless without a delegated cgroup)",
                            id);
        else
                *ret = cgroup_stats(&st.cgroup);
        state_free(&st);
        return r;
}
