/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/idmap.h"
#include "tarw.h"

/* argv[1] of a helper: no command line of any den program has it */
#define HELPER_MAGIC "--den-store-helper-v2"
/* the helper's fds: its end of the socket pair, then the job's */
#define HELPER_SOCK_FD 3
#define HELPER_JOB_FD0 4

/* messages over the socket pair, one per datagram */
enum helper_msg_type {
        HELPER_IN_USERNS = 1, /* helper: unshared, waiting for its maps */
        HELPER_MAPPED,        /* parent: maps written, become root inside */
        HELPER_DONE,          /* helper: the job ended; err.code 0 on success */
};

struct helper_msg {
        uint32_t type;
        struct err err;
};

static int msg_send(int fd, enum helper_msg_type type, const struct err *e)
{
        struct helper_msg m = { .type = type };
        if (e)
                m.err = *e;
        return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t) sizeof(m) ? 0 : -errno;
}

/* -EPIPE: the peer ended without a word */
static int msg_recv(int fd, struct helper_msg *m)
{
        ssize_t n;
        while ((n = recv(fd, m, sizeof(*m), 0)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != (ssize_t) sizeof(*m))
                return -EPROTO;
        m->err.msg[sizeof(m->err.msg) - 1] = '\0';
        return 0;
}

static int do_diff(const char *upper, int out_fd, int64_t epoch, char *const *exclude, struct err *err)
{
        _cleanup_close_ int dir = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct tarw *t;
        if (dir < 0)
                return err_sys(err, -errno, "%s", upper);
        int r = tarw_open(out_fd, &t, err);
        if (r < 0)
                return r;
        tarw_set_epoch(t, epoch);
        r = tarw_add_upper(t, dir, exclude, err);
        int q = tarw_close(t, err);
        return r < 0 ? r : q;
}

int helper_job_exec(const struct helper_job *job, struct err *err)
{
        int r;
        switch (job->op) {
        case HELPER_UNPACK:
                return layer_unpack(job->fds[0], job->fds[1], &job->o, NULL, err);
        case HELPER_DIFF:
                return do_diff(job->path, job->fds[0], job->epoch, job->exclude, err);
        case HELPER_RM:
                r = fs_rm_rf_at(job->fds[0], job->path);
                return r < 0 ? err_sys(err, r, "cannot remove %s", job->path) : 0;
        }
        return err_set(err, -EINVAL, "unknown helper job %d", (int) job->op);
}

/* ---- the helper's side ---- */

/* die with the parent; a parent that is already gone shows as a new getppid() */
static void follow_parent(pid_t parent)
{
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(1);
}

/* argv: MAGIC PARENT OP PATH LAYER MAX_BYTES MAX_ENTRIES CHOWN OPAQUE_XATTR EPOCH [EXCLUDE...] */
#define HELPER_ARGC_FIXED 11
static int helper_main(int argc, char **argv)
{
        if (argc < HELPER_ARGC_FIXED)
                return 2;
        pid_t parent = (pid_t) atoi(argv[2]);
        follow_parent(parent);
        int sock = HELPER_SOCK_FD;
        struct helper_job job = {
                .op = (enum helper_op) atoi(argv[3]),
                .fds = { HELPER_JOB_FD0, HELPER_JOB_FD0 + 1 },
                .path = argv[4],
                .o = { .layer = argv[5], .max_bytes = strtoull(argv[6], NULL, 10), .max_entries = strtoull(argv[7], NULL, 10),
                       .chown = strcmp(argv[8], "1") == 0, .opaque_xattr = argv[9] },
                .epoch = strtoll(argv[10], NULL, 10),
                /* argv ends with NULL: the rest is the exclude list */
                .exclude = argc > HELPER_ARGC_FIXED ? argv + HELPER_ARGC_FIXED : NULL,
        };
        struct err err = { 0 };
        struct helper_msg m;
        if (unshare(CLONE_NEWUSER) < 0)
                err_sys(&err, -errno, "cannot create a user namespace");
        else if (msg_send(sock, HELPER_IN_USERNS, NULL) < 0 || msg_recv(sock, &m) < 0 || m.type != HELPER_MAPPED)
                return 1;
        else if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                err_sys(&err, -errno, "setresuid in the user namespace");
        else {
                /* a change of credentials may clear the death signal: set it again */
                follow_parent(parent);
                helper_job_exec(&job, &err);
        }
        msg_send(sock, HELPER_DONE, &err);
        return err.code ? 1 : 0;
}

/* glibc passes argc and argv to the constructors of the program */
__attribute__((constructor)) static void helper_entry(int argc, char **argv)
{
        if (argc > 1 && argv && argv[1] && strcmp(argv[1], HELPER_MAGIC) == 0)
                _exit(helper_main(argc, argv));
}

/* ---- the parent's side ---- */

static int spawn_helper(const struct helper_job *job, int sock, pid_t *ret_pid, struct err *err)
{
        char parent[16], op[8], maxb[24], maxe[24], epoch[24];
        snprintf(parent, sizeof(parent), "%d", (int) getpid());
        snprintf(op, sizeof(op), "%d", (int) job->op);
        snprintf(maxb, sizeof(maxb), "%" PRIu64, job->o.max_bytes);
        snprintf(maxe, sizeof(maxe), "%" PRIu64, job->o.max_entries);
        snprintf(epoch, sizeof(epoch), "%" PRId64, job->epoch < 0 ? (int64_t) -1 : job->epoch);
        char *fixed[] = { "den-store-helper", HELPER_MAGIC, parent, op, (char *) (job->path ? job->path : ""),
                          (char *) (job->o.layer ? job->o.layer : ""), maxb, maxe, job->o.chown ? "1" : "0",
                          (char *) (job->o.opaque_xattr ? job->o.opaque_xattr : "user.overlay.opaque"), epoch };
        _Static_assert(ELEMENTSOF(fixed) == HELPER_ARGC_FIXED, "helper_main reads these");
        size_t n_ex = job->exclude ? strv_length(job->exclude) : 0;
        _cleanup_free_ char **argv = xcalloc(HELPER_ARGC_FIXED + n_ex + 1, sizeof(char *));
        memcpy(argv, fixed, sizeof(fixed));
        for (size_t i = 0; i < n_ex; i++)
                argv[HELPER_ARGC_FIXED + i] = job->exclude[i];
        /* every fd is O_CLOEXEC; the helper's are dup2'd to fixed numbers, from
         * copies above them so that no source is overwritten before it is used */
        int src[3] = { sock, job->fds[0], job->fds[1] }, high[3] = { -1, -1, -1 };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        sigset_t none, all;
        int r = 0;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&at);
        for (int i = 0; i < 3 && r == 0; i++) {
                if (src[i] < 0)
                        continue;
                if ((high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 16)) < 0)
                        r = err_sys(err, -errno, "fcntl");
                else
                        posix_spawn_file_actions_adddup2(&fa, high[i], HELPER_SOCK_FD + i);
        }
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &all);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0) {
                extern char **environ;
                int e = posix_spawn(ret_pid, "/proc/self/exe", &fa, &at, argv, environ);
                if (e != 0)
                        r = err_sys(err, -e, "cannot start the user namespace helper (/proc/self/exe)");
        }
        for (int i = 0; i < 3; i++)
                if (high[i] >= 0)
                        close(high[i]);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        return r;
}

int helper_run(const struct helper_job *job, struct err *err)
{
        struct spec_idmap um[2], gm[2];
        size_t nu = idmap_default(false, um), ng = idmap_default(true, gm);
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return err_sys(err, -errno, "socketpair");
        _cleanup_close_ int sock = sp[0];
        pid_t pid;
        int r = spawn_helper(job, sp[1], &pid, err);
        close(sp[1]);
        if (r < 0)
                return r;
        struct helper_msg m;
        bool sg;
        r = msg_recv(sock, &m);
        if (r == 0 && m.type == HELPER_IN_USERNS) {
                if ((r = idmap_write(pid, um, nu, gm, ng, &sg, err)) == 0 && (r = msg_send(sock, HELPER_MAPPED, NULL)) == 0)
                        r = msg_recv(sock, &m);
        }
        if (r < 0 && !err->code)
                r = err_sys(err, r, "the user namespace helper");
        if (r < 0)
                kill(pid, SIGKILL);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (m.type != HELPER_DONE)
                return err_set(err, -EPROTO, "the user namespace helper: unexpected message %u", m.type);
        if (m.err.code)
                return err_set(err, m.err.code < 0 ? m.err.code : -EIO, "%s", m.err.msg);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return err_set(err, -EIO, "the user namespace helper failed (%s %d)",
                               WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        return 0;
}
