/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layer.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/idmap.h"
#include "unpack.h"
#include "tarw.h"
#include "digest.h"

char *layer_dir(const char *diff_id)
{
        return xasprintf("layers/%s", digest_hex(diff_id));
}

struct unpack_job {
        int blob_fd, dest_fd;
        int close_fd; /* the writing end of the pipe blob_fd reads, when it is one: not the child's to hold */
        struct unpack_opts o;
};

static int job_unpack(void *arg, struct err *err)
{
        struct unpack_job *job = arg;
        if (job->close_fd >= 0)
                close(job->close_fd);
        return layer_unpack(job->blob_fd, job->dest_fd, &job->o, NULL, err);
}

struct rm_job {
        int dir_fd;
        const char *name;
};

static int job_rm(void *arg, struct err *err)
{
        struct rm_job *j = arg;
        int r = fs_rm_rf_at(j->dir_fd, j->name);
        return r < 0 ? err_sys(err, r, "cannot remove %s", j->name) : 0;
}

/* Run fn in a child in a new user namespace with den's default map: rootless,
 * that is the only way to own (and later remove) files of the sub-ids.  Its
 * error comes back through a shared page. */
static int userns_run(int (*fn)(void *, struct err *), void *arg, struct err *err)
{
        struct spec_idmap um[2], gm[2];
        size_t nu = idmap_default(false, um), ng = idmap_default(true, gm);
        struct err *shared = mmap(NULL, sizeof(struct err), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
                return err_sys(err, -errno, "mmap");
        memset(shared, 0, sizeof(*shared));
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                munmap(shared, sizeof(*shared));
                return err_sys(err, -errno, "pipe");
        }
        pid_t pid = fork();
        if (pid == 0) {
                char b;
                close(p[1]);
                if (unshare(CLONE_NEWUSER) < 0) {
                        err_sys(shared, -errno, "cannot create a user namespace");
                        _exit(1);
                }
                if (read(p[0], &b, 1) != 1)
                        _exit(1);
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                        err_sys(shared, -errno, "setresuid in the user namespace");
                        _exit(1);
                }
                _exit(fn(arg, shared) < 0 ? 1 : 0);
        }
        close(p[0]);
        int r = 0;
        if (pid < 0)
                r = err_sys(err, -errno, "fork");
        else {
                /* wait until the child is in its own namespace */
                char self[64], other[64], path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
                ssize_t a = readlink("/proc/self/ns/user", self, sizeof(self));
                for (int i = 0; i < 20000; i++) {
                        ssize_t b = readlink(path, other, sizeof(other));
                        if (b < 0 || a != b || memcmp(self, other, (size_t) a) != 0)
                                break;
                        usleep(50);
                }
                bool sg;
                r = idmap_write(pid, um, nu, gm, ng, &sg, err);
                if (r == 0 && write(p[1], "x", 1) != 1)
                        r = err_sys(err, -errno, "sync");
                close(p[1]);
                p[1] = -1;
                int st;
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
                if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
                        r = shared->code ? err_set(err, shared->code, "%s", shared->msg)
                                         : err_set(err, -EIO, "the process in the user namespace failed");
        }
        if (p[1] >= 0)
                close(p[1]);
        munmap(shared, sizeof(*shared));
        return r;
}

struct diff_job {
        const char *upper;
        int out_fd;
};

static int job_diff(void *arg, struct err *err)
{
        struct diff_job *j = arg;
        _cleanup_close_ int dir = open(j->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct tarw *t;
        if (dir < 0)
                return err_sys(err, -errno, "%s", j->upper);
        int r = tarw_open(j->out_fd, &t, err);
        if (r < 0)
                return r;
        r = tarw_add_upper(t, dir, err);
        int q = tarw_close(t, err);
        return r < 0 ? r : q;
}

int layer_diff(const char *upper, int out_fd, struct err *err)
{
        struct diff_job j = { upper, out_fd };
        /* rootless, the files belong to the sub-ids: read them as root of the containers' map */
        return geteuid() == 0 ? job_diff(&j, err) : userns_run(job_diff, &j, err);
}

int layer_remove_tree(struct store *s, const char *rel, struct err *err)
{
        struct rm_job j = { s->root_fd, rel };
        struct err e = { 0 };
        /* most trees hold only files of the user (root inside): try as we are
         * first, a user namespace costs two newuidmap runs */
        if (job_rm(&j, &e) == 0 || geteuid() == 0) {
                if (e.code)
                        *err = e;
                return e.code;
        }
        return userns_run(job_rm, &j, err);
}

/* A compressed blob is decompressed by a thread into a pipe that the unpack
 * reads, hashing as it goes: no temporary copy, and the two run on two cores.
 * Whether the bytes are the diff id the config promises is known only at the
 * end; until then the tree is in tmp/ and goes if they are not. */
struct inflater {
        pthread_t th;
        int blob, out;
        uint64_t max;
        struct digest_ctx *hash;
        struct err err;
};

static void *inflate_main(void *arg)
{
        struct inflater *f = arg;
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &ss, NULL); /* a reader that stops early gives EPIPE, not a signal */
        layer_decompress_hashed(f->blob, f->out, f->max, f->hash, &f->err);
        close(f->out);
        return NULL;
}

int layer_ensure(struct store *s, const char *blob_digest, const char *diff_id, uint64_t max_bytes, struct err *err)
{
        _cleanup_free_ char *dir = layer_dir(diff_id), *tmp = NULL;
        if (faccessat(s->root_fd, dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        int r = store_mkdtemp(s, &tmp, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *diff = xasprintf("%s/diff", tmp);
        _cleanup_close_ int blob = store_open_blob(s, blob_digest, err);
        _cleanup_close_ int dest = -1;
        struct inflater inf = { .blob = -1, .out = -1 };
        bool inflating = false;
        if (blob < 0) {
                r = blob;
                goto fail;
        }
        if (strcmp(blob_digest, diff_id) != 0) {
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0) {
                        r = err_sys(err, -errno, "pipe");
                        goto fail;
                }
                inf = (struct inflater) { .blob = blob, .out = p[1], .hash = digest_new(),
                                          .max = max_bytes ? max_bytes + max_bytes / 2 + (1u << 20) : 0 };
                if (pthread_create(&inf.th, NULL, inflate_main, &inf) != 0) {
                        close(p[0]);
                        close(p[1]);
                        digest_free(inf.hash);
                        r = err_set(err, -EAGAIN, "cannot start a thread");
                        goto fail;
                }
                inflating = true;
                blob = p[0];
        }
        if (mkdirat(s->root_fd, diff, 0755) < 0 ||
            (dest = openat(s->root_fd, diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                r = err_sys(err, -errno, "cannot create %s/%s", s->root, diff);
                goto fail;
        }
        char name[24];
        snprintf(name, sizeof(name), "%.19s", diff_id);
        struct unpack_job job = { .blob_fd = blob, .dest_fd = dest, .close_fd = inf.out,
                                  .o = { .layer = name, .max_bytes = max_bytes, .chown = true } };
        if (geteuid() == 0) {
                job.o.allow_devices = true;
                job.o.opaque_xattr = "trusted.overlay.opaque";
                r = layer_unpack(blob, dest, &job.o, NULL, err);
        } else {
                struct spec_idmap m[2];
                /* with sub-ids the archive's owners are kept; with a single id
                 * everything belongs to the user (root inside) */
                job.o.chown = idmap_default(false, m) > 1 && idmap_default(true, m) > 1;
                job.o.opaque_xattr = "user.overlay.opaque";
                r = userns_run(job_unpack, &job, err);
        }
        if (inflating) {
                /* the rest of the stream (a tar ends before its padding) still counts */
                char buf[1 << 16];
                if (r == 0)
                        while (read(blob, buf, sizeof(buf)) > 0)
                                ;
                close(TAKE_FD(blob));
                pthread_join(inf.th, NULL);
                close(inf.blob);
                inflating = false;
                char d[DIGEST_STR_MAX];
                digest_final(inf.hash, d);
                /* a broken pipe only means the unpack stopped first: its error is the one to tell */
                if (inf.err.code && (inf.err.code != -EPIPE || r == 0)) {
                        err_clear(err);
                        r = err_set(err, inf.err.code, "layer %.19s: %s", blob_digest, inf.err.msg);
                } else if (r == 0 && strcmp(d, diff_id) != 0)
                        r = err_set(err, -EBADMSG, "layer %s: uncompressed it is %s, not the diff id %s the config names",
                                    blob_digest, d, diff_id);
        }
        if (r < 0)
                goto fail;
        if (fsync(dest) < 0 || renameat(s->root_fd, tmp, s->root_fd, dir) < 0) {
                /* another writer may have finished the same layer first: fine */
                r = errno == ENOTEMPTY || errno == EEXIST ? 0 : err_sys(err, -errno, "cannot move the layer into place");
                goto fail;
        }
        return 0;
fail:
        if (inflating) {
                close(TAKE_FD(blob));
                pthread_join(inf.th, NULL);
                close(inf.blob);
                digest_free(inf.hash);
        }
        /* nothing half-written stays: the tree in tmp/ goes */
        {
                struct err e2 = { 0 };
                layer_remove_tree(s, tmp, &e2);
        }
        return r;
}
