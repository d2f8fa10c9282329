/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A den container's keeper: started (its side of the start, in the new
 * namespaces, and ours), sent commands, signalled, waited for, killed */
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "events.h"
#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/keeper/keeper.h"
#include "lib/keeper/proto.h"
#include "lib/linux/idmap.h"
#include "lib/linux/mount.h"
#include "lib/linux/rootfs.h"
#include "lib/linux/sync.h"
#include "secopt.h"
#include "state.h"

#ifndef P_PIDFD
#define P_PIDFD 3 /* linux/wait.h, not in glibc 2.36's sys/wait.h */
#endif

struct keeper_child {
        struct spec *spec;
        struct mount_op *ops;
        size_t n_ops;
        struct mount_env env;
        struct storage_root sroot;
        enum storage_driver driver;
        int sync_fd, listen_fd, exit_fd, devnull;
        int keeper_exe; /* den-keeper beside den, opened on the host, or -1 */
        bool temporary; /* serves den cp or export of a stopped container: dies with that den */
        bool new_userns;
        void *seccomp;  /* the commands' filter (lib/linux/seccomp_bpf.h), NULL: none */
        size_t seccomp_len;
};

static int keeper_setup(struct keeper_child *c, struct err *err)
{
        int r;
        if ((r = sync_expect(c->sync_fd, SYNC_IDMAP_DONE, NULL, err)) < 0)
                return r;
        /* raw syscalls: glibc's setresgid() signals every thread it knows of, and a child forked
         * by a threaded den (den serve) while another thread was being created waits forever
         * for that thread (nptl_setxid); this child has one thread, the syscall is enough */
        if (c->new_userns && (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0))
                return err_sys(err, -errno, "cannot become root in the container's user namespace");
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return err_sys(err, -errno, "cannot make / non-shared");
        /* the run directory's rootfs and files are mounted here, in our namespace */
        if ((r = runtime_dir_enter_mntns(err)) < 0)
                return r;
        _cleanup_close_ int target = open(c->spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (target < 0)
                return err_sys(err, -errno, "%s", c->spec->root_path);
        if ((r = storage_mount(&c->sroot, c->driver, target, c->spec->root_path, err)) < 0)
                return r;
        c->driver = (enum storage_driver) r;
        _cleanup_close_ int root_fd = rootfs_mount(c->spec, c->ops, c->n_ops, &c->env, err);
        if (root_fd < 0)
                return root_fd;
        if ((r = rootfs_pivot(root_fd, false, err)) < 0 || (r = rootfs_finish(c->spec, -1, err)) < 0)
                return r;
        if (c->env.new_netns)
                net_loopback_up();
        return 0;
}

static __attribute__((noreturn)) void keeper_child_main(struct keeper_child *c)
{
        struct err err = { 0 };
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (keeper_setup(c, &err) < 0) {
                sync_send_err(c->sync_fd, &err);
                _exit(1);
        }
        /* nothing inside may read the keeper's memory or reach its binary */
        prctl(PR_SET_DUMPABLE, 0);
        /* a keeper for one copy dies with its den, however den ends (den export | head:
         * SIGPIPE), or the stopped container would look running ever after */
        if (!c->temporary)
                prctl(PR_SET_PDEATHSIG, 0);
        struct keeper_conf kc = { .listen_fd = c->listen_fd, .exit_fd = c->exit_fd, .default_caps = ctr_default_caps(),
                                  .setgroups = runtime_setgroups_allowed(0), .seccomp = c->seccomp,
                                  .seccomp_len = c->seccomp_len };
        /* den-keeper reads the filter from fd 6: a memfd, kept clear of 3-5 until then */
        int sc_fd = -1;
        if (c->keeper_exe >= 0 && c->seccomp) {
                _cleanup_close_ int m = memfd_create("seccomp", MFD_CLOEXEC);
                if (m < 0 || write(m, c->seccomp, c->seccomp_len) != (ssize_t) c->seccomp_len ||
                    lseek(m, 0, SEEK_SET) != 0 || (sc_fd = fcntl(m, F_DUPFD_CLOEXEC, 64)) < 0) {
                        err_sys(&err, -errno, "cannot hand the seccomp filter to the keeper");
                        sync_send_err(c->sync_fd, &err);
                        _exit(1);
                }
        }
        /* the driver used goes back: later starts of this container must use it too */
        sync_send(c->sync_fd, SYNC_READY, (int32_t) c->driver);
        /* the keeper holds no host stdio: a detached container must not keep
         * its starter's terminal or pipes open */
        dup2(c->devnull, 0);
        dup2(c->devnull, 1);
        dup2(c->devnull, 2);
        /* and no host fd but its socket and the exit file: whatever den held
         * (the store's directory, its lock) is closed, not just marked
         * close-on-exec.  They go to fixed numbers: 3 the socket, 4 the exit
         * file, 5 (close-on-exec) the small den-keeper program, if there is one */
        if (dup3(c->listen_fd, 3, 0) < 0 || dup3(c->exit_fd, 4, 0) < 0 ||
            (c->keeper_exe >= 0 ? dup3(c->keeper_exe, 5, O_CLOEXEC) : dup3(c->devnull, 5, O_CLOEXEC)) < 0 ||
            (sc_fd >= 0 && dup3(sc_fd, 6, 0) < 0))
                _exit(1);
        syscall(SYS_close_range, sc_fd >= 0 ? 7 : 6, ~0u, 0);
        kc.listen_fd = 3;
        kc.exit_fd = 4;
        if (c->keeper_exe >= 0) {
                /* opened before pivot_root: no path of the container is involved */
                char caps_hex[24], *argv[] = { "den-keeper", "3", "4", caps_hex, kc.setgroups ? "1" : "0",
                                               sc_fd >= 0 ? "6" : NULL, NULL };
                snprintf(caps_hex, sizeof(caps_hex), "%llx", (unsigned long long) kc.default_caps);
                syscall(SYS_execveat, 5, "", argv, (char *[]){ NULL }, AT_EMPTY_PATH);
        }
        close(5);
        keeper_main(&kc);
}

/* den-keeper in den's own directory (build or install), opened here on the host */
static int keeper_exe_open(void)
{
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return -1;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (!slash || (size_t) (slash - self) + 12 >= sizeof(self))
                return -1;
        strcpy(slash + 1, "den-keeper");
        return open(self, O_PATH | O_CLOEXEC);
}

static int listen_at(const char *dir, int *ret, struct err *err)
{
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/keeper.sock", dfd);
        /* left by an earlier run of this container (its keeper is gone) */
        if (dfd >= 0)
                unlinkat(dfd, "keeper.sock", 0);
        int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (dfd < 0 || s < 0 || bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(s, 64) < 0) {
                int r = -errno;
                if (s >= 0)
                        close(s);
                return err_sys(err, r, "cannot create the keeper socket in %s", dir);
        }
        *ret = s;
        return 0;
}

int keeper_ctl_start(const struct engine_run_opts *o, struct store *s, struct image_info *ii, const char *rr,
                     struct started *out, struct err *err)
{
        bool rootless = runtime_is_rootless(-1);
        struct spec spec = { 0 };
        struct mount_op *ops = NULL;
        size_t n_ops = 0;
        int r, listen_fd = -1, exit_fd = -1, devnull = -1, sp[2] = { -1, -1 }, c_keeper_exe = -1, ns_net = -1, ns_user = -1;
        pid_t pid = -1;
        _cleanup_free_ void *seccomp = NULL;
        size_t seccomp_len = 0;
        _cleanup_free_ char *pidtxt = NULL;
        _cleanup_close_ int rd = -1;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", out->rundir), *upper = xasprintf("%s/upper", out->cdir),
                            *work = xasprintf("%s/work", out->cdir), *exitp = xasprintf("%s/exit", out->rundir),
                            *copy = xasprintf("%s/copy", out->cdir);
        /* a container started again keeps its upper directory */
        if ((mkdir(rootfs, 0700) < 0 && errno != EEXIST) || (mkdir(upper, 0755) < 0 && errno != EEXIST) ||
            (mkdir(work, 0700) < 0 && errno != EEXIST))
                return err_sys(err, -errno, "cannot create the directories of container %s", out->id);
        struct net_conf nc;
        if ((r = net_conf_parse(o->network, o->allow_host_loopback, o->publish, &nc, err)) < 0)
                return r;
        json_t *sj = ctr_spec_make(o, &nc, out->id, rootfs, rootless, out->rundir, err);
        if (!sj) {
                net_conf_free(&nc);
                return err->code;
        }
        r = spec_parse(sj, out->cdir, &spec, err);
        json_decref(sj);
        if (r < 0)
                goto out;
        if ((r = mount_plan(&spec, &ops, &n_ops, err)) < 0)
                goto out;
        /* the filter of the commands, as the record says; a keeper that only
         * serves den cp or den export runs none */
        if (!out->service || o->session) {
                json_t *rec = record_load(o->root, out->id);
                r = secopt_filter(json_object_get(rec, "Options"), ctr_default_caps(), rr, &seccomp, &seccomp_len, err);
                json_decref(rec);
                if (r < 0)
                        goto out;
        }
        if ((r = listen_at(out->rundir, &listen_fd, err)) < 0)
                goto out;
        /* a keeper started only to reach a stopped container's files (cp,
         * export) must not erase the status its last run left */
        exit_fd = open(exitp, O_WRONLY | O_CREAT | (out->service ? 0 : O_TRUNC) | O_CLOEXEC, 0600);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (exit_fd < 0 || devnull < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = err_sys(err, -errno, "cannot set up container %s", out->id);
                goto out;
        }
        struct keeper_child c = { .spec = &spec, .ops = ops, .n_ops = n_ops, .sync_fd = sp[1], .listen_fd = listen_fd,
                                  .exit_fd = exit_fd, .devnull = devnull, .new_userns = spec.ns[NS_USER].enabled,
                                  .keeper_exe = (c_keeper_exe = keeper_exe_open()), .seccomp = seccomp,
                                  .seccomp_len = seccomp_len, .temporary = out->service && !o->session };
        c.env = (struct mount_env){ .in_userns = rootless, .new_netns = spec.ns[NS_NET].enabled,
                                    .new_pidns = true, .new_ipcns = true, .new_cgroupns = true };
        c.sroot = (struct storage_root){ .lowers = ii->lowers, .n_lowers = ii->n_lowers, .upper = upper,
                                         .work = work, .copy = copy, .userxattr = rootless };
        c.driver = out->driver;
        uint64_t flags = 0;
        for (int t = 0; t < _NS_MAX; t++)
                if (spec.ns[t].enabled)
                        flags |= (uint64_t) spec_ns_clone_flags[t];
        /* from den serve a clone of a threaded process: its child runs den's code (malloc) until it
         * execs den-keeper.  glibc's allocator has worked there; GCC 12's ASan allocator can be
         * found locked by a thread the child does not have (a keeper hung, 1 start in 20 of a
         * stress test: a known limit of the sanitizer build; a fork() first made it worse there,
         * and made plain keepers die, 1 start in 6) */
        pid = runtime_clone3(flags, NULL);
        if (pid < 0) {
                r = err_sys(err, -errno, "cannot create the keeper of container %s", out->id);
                goto out;
        }
        if (pid == 0) {
                close(sp[0]);
                keeper_child_main(&c);
        }
        close(sp[1]);
        sp[1] = -1;
        if (net_mode_private(nc.mode)) {
                /* now, while the child is still a dumpable copy of us */
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/ns/net", pid);
                ns_net = open(p, O_RDONLY | O_CLOEXEC);
                snprintf(p, sizeof(p), "/proc/%d/ns/user", pid);
                ns_user = spec.ns[NS_USER].enabled ? open(p, O_RDONLY | O_CLOEXEC) : -1;
                if (ns_net < 0 || (spec.ns[NS_USER].enabled && ns_user < 0)) {
                        r = err_sys(err, -errno, "cannot open the namespaces of container %s", out->id);
                        goto out;
                }
        }
        if (spec.ns[NS_USER].enabled) {
                bool sg;
                if ((r = idmap_write(pid, spec.uid_mappings, spec.n_uid_mappings, spec.gid_mappings,
                                     spec.n_gid_mappings, &sg, err)) < 0)
                        goto out;
        }
        sync_send(sp[0], SYNC_IDMAP_DONE, pid);
        int32_t used = 0;
        if ((r = sync_expect(sp[0], SYNC_READY, &used, err)) < 0)
                goto out;
        out->driver = (enum storage_driver) used;
        /* "temporary": a keeper for cp or export, which does not make the container running */
        pidtxt = xasprintf("%d %llu%s\n", pid, state_pid_starttime(pid), c.temporary ? " temporary" : "");
        rd = open(out->rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (rd < 0 || fs_write_replace(rd, "keeper.pid", pidtxt, strlen(pidtxt), 0600) < 0) {
                r = err_sys(err, -errno, "cannot record the keeper of %s", out->id);
                goto out;
        }
        /* the network helper, outside, before any command runs */
        if ((r = net_attach(pid, ns_user, ns_net, &nc, out->rundir, c_keeper_exe, err)) < 0)
                goto out;
        out->keeper = pid;
        pid = -1;
        r = 0;
out:
        net_conf_free(&nc);
        if (ns_net >= 0)
                close(ns_net);
        if (ns_user >= 0)
                close(ns_user);
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        for (int i = 0; i < 2; i++)
                if (sp[i] >= 0)
                        close(sp[i]);
        if (listen_fd >= 0)
                close(listen_fd);
        if (exit_fd >= 0)
                close(exit_fd);
        if (devnull >= 0)
                close(devnull);
        if (c_keeper_exe >= 0)
                close(c_keeper_exe);
        mount_plan_free(ops, n_ops);
        spec_free(&spec);
        return r;
}

int keeper_ctl_run(const char *rundir, json_t *req, const int *fds, size_t n_fds, int *ret_master, struct err *err)
{
        _cleanup_free_ char *sock = xasprintf("%s/keeper.sock", rundir);
        int s = keeper_connect(sock, err);
        if (s < 0)
                return s;
        enum keeper_type t;
        json_t *rep = NULL;
        int r = keeper_send(s, KEEPER_RUN, req, fds, n_fds);
        if (r == -EMSGSIZE)
                err_set(err, r, "the command (its arguments and environment) is larger than a keeper takes (%u MiB)",
                        KEEPER_MAX_PAYLOAD >> 20);
        int got[KEEPER_MAX_FDS];
        size_t n_got = KEEPER_MAX_FDS;
        if (r < 0 || (r = keeper_recv(s, &t, &rep, got, &n_got, err)) < 0) {
                close(s);
                return err->code ? r : err_sys(err, r, "keeper");
        }
        if (ret_master)
                *ret_master = -1;
        for (size_t i = 0; i < n_got; i++) {
                if (ret_master && i == 0 && t == KEEPER_STARTED)
                        *ret_master = got[i];
                else
                        close(got[i]);
        }
        if (t != KEEPER_STARTED) {
                const char *m = json_string_value(json_object_get(rep, "error"));
                r = err_set(err, -EIO, "%s", m ? m : "the keeper refused the command");
                json_decref(rep);
                close(s);
                return r;
        }
        json_decref(rep);
        return s;
}

/* forwarding: with a terminal (master >= 0) resizes too; without forward the
 * caller's signal mask and stdio are left alone (ctr_exec) */
int keeper_ctl_wait(int s, const char *rundir, int master, bool forward, struct err *err)
{
        sigset_t mask, old;
        sigemptyset(&mask);
        int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
        for (size_t i = 0; i < ELEMENTSOF(fwd); i++)
                sigaddset(&mask, fwd[i]);
        if (!forward)
                master = -1;
        else
                sigprocmask(SIG_BLOCK, &mask, &old);
        _cleanup_close_ int sfd = forward ? signalfd(-1, &mask, SFD_CLOEXEC) : -1;
        struct termios saved;
        bool raw = runtime_tty_raw(master, &saved), in_open = master >= 0, out_open = master >= 0;
        int status = -1;
        for (;;) {
                struct pollfd p[4] = { { s, POLLIN, 0 }, { sfd, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
                                       { out_open ? master : -1, POLLIN, 0 } };
                if (poll(p, 4, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH) {
                                        struct winsize ws;
                                        if (master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
                                                ioctl(master, TIOCSWINSZ, &ws);
                                        continue;
                                }
                                struct err e = { 0 };
                                keeper_ctl_signal(rundir, 0, (int) si.ssi_signo, &e);
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        runtime_pump(0, master, &in_open);
                if (p[3].revents & (POLLIN | POLLHUP | POLLERR))
                        runtime_pump(master, 1, &out_open);
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        while (out_open) {
                                struct pollfd q = { master, POLLIN, 0 };
                                if (poll(&q, 1, 0) <= 0 || !(q.revents & POLLIN))
                                        break;
                                runtime_pump(master, 1, &out_open);
                        }
                        enum keeper_type t;
                        json_t *rep = NULL;
                        if (keeper_recv(s, &t, &rep, NULL, NULL, err) < 0)
                                break;
                        if (t == KEEPER_EXITED)
                                status = (int) json_integer_value(json_object_get(rep, "status"));
                        json_decref(rep);
                        break;
                }
        }
        if (raw)
                tcsetattr(0, TCSANOW, &saved);
        if (forward)
                sigprocmask(SIG_SETMASK, &old, NULL);
        if (status < 0)
                return err->code ? err->code : err_set(err, -EIO, "lost the keeper before the command ended");
        err_clear(err);
        return status;
}

int keeper_ctl_start_main(const struct engine_run_opts *o, struct store *s, struct image_info *ii, const char *rr,
                          struct started *st, json_t *req, bool attach, struct ctr_io *io, struct err *err)
{
        int r, sock = -1, logfd = -1, master = -1;
        if (fs_mkdir_p(st->rundir, 0700) < 0)
                return err_sys(err, -errno, "cannot create %s", st->rundir);
        events_ctr_started(rr, st->id);
        if ((r = keeper_ctl_start(o, s, ii, rr, st, err)) < 0)
                return r;
        record_set_driver(st->cdir, st->driver);
        int fds[3] = { 0, 1, 2 };
        /* stdin only with -i, as docker and podman do: a loop reading its own
         * input around `den run` must not have it eaten */
        _cleanup_close_ int in_nul = o->interactive ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in_nul >= 0)
                fds[0] = in_nul;
        if (!attach || io) {
                /* the keeper writes the output as JSON lines, capped: a terminal's too (the
                 * keeper keeps its master open; the command keeps its terminal) */
                _cleanup_free_ char *lp = xasprintf("%s/ctr.log", st->cdir);
                logfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (o->tty)
                        fds[0] = logfd;
                else {
                        fds[0] = io && io->stdin_fd >= 0 ? io->stdin_fd : nul;
                        fds[1] = logfd;
                }
                json_object_set_new(req, "log", json_true());
                sock = keeper_ctl_run(st->rundir, req, fds, o->tty ? 1 : 2, o->tty ? &master : NULL, err);
                close(nul);
                close(logfd);
                if (io) {
                        io->master = master;
                        master = -1;
                }
        } else
                sock = keeper_ctl_run(st->rundir, req, fds, o->tty ? 0 : 3, &master, err);
        if (sock < 0) {
                kill(st->keeper, SIGKILL);
                waitpid(st->keeper, NULL, 0);
                return sock;
        }
        events_ctr(o->root, st->id, "start", NULL);
        if (!attach || io) {
                if (master >= 0)
                        close(master);
                close(sock);
                return 0;
        }
        r = keeper_ctl_wait(sock, st->rundir, master, true, err);
        waitpid(st->keeper, NULL, 0);
        events_ctr_check(o->root, rr, st->id);
        net_detach_wait(st->rundir, 3000);
        if (master >= 0)
                close(master);
        close(sock);
        return r;
}

void keeper_ctl_free(struct started *st)
{
        free(st->id);
        free(st->rundir);
        free(st->cdir);
}

void keeper_ctl_paths(struct started *st, const char *root, const char *rr)
{
        st->cdir = xasprintf("%s/containers/%s", root, st->id);
        st->rundir = xasprintf("%s/containers/%s", rr, st->id);
}

int keeper_ctl_signal(const char *rundir, int pid, int sig, struct err *err)
{
        _cleanup_free_ char *sock = xasprintf("%s/keeper.sock", rundir);
        int s = keeper_connect(sock, err);
        if (s < 0)
                return s;
        json_t *q = json_pack("{s:i,s:i}", "pid", pid, "signal", sig), *rep = NULL;
        enum keeper_type t;
        int r = keeper_send(s, KEEPER_SIGNAL, q, NULL, 0);
        json_decref(q);
        if (r >= 0 && (r = keeper_recv(s, &t, &rep, NULL, NULL, err)) >= 0 && t == KEEPER_ERROR)
                r = err_set(err, -ESRCH, "%s", json_string_value(json_object_get(rep, "error")));
        json_decref(rep);
        close(s);
        return r;
}

bool keeper_ctl_gone(pid_t pid, int timeout_ms)
{
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return true;
        struct pollfd p = { pfd, POLLIN, 0 };
        int n = poll(&p, 1, timeout_ms);
        close(pfd);
        return n > 0;
}

void keeper_ctl_kill(pid_t pid, int timeout_ms)
{
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return;
        syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
        struct pollfd p = { pfd, POLLIN, 0 };
        poll(&p, 1, timeout_ms);
        /* a keeper this process started (ctr_make) is its child: reaped here, or
         * the zombie would still look alive; through the pidfd, so that no other
         * child of ours is ever reaped */
        siginfo_t si;
        waitid((idtype_t) P_PIDFD, (id_t) pfd, &si, WEXITED | WNOHANG);
        close(pfd);
}
