/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "layer.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/idmap.h"
#include "helper.h"
#include "unpack.h"
#include "tarw.h"
#include "digest.h"

char *layer_dir(const char *diff_id)
{
        return xasprintf("layers/%s", digest_hex(diff_id));
}

int layer_diff(const char *upper, int out_fd, struct err *err)
{
        struct layer_diff_opts o = { .epoch = -1 };
        return layer_diff_opts(upper, out_fd, &o, err);
}

int layer_diff_opts(const char *upper, int out_fd, const struct layer_diff_opts *o, struct err *err)
{
        struct helper_job j = { .op = HELPER_DIFF, .fds = { out_fd, -1 }, .path = upper, .epoch = o->epoch,
                                .exclude = o->exclude };
        /* rootless, the files belong to the sub-ids: read them as root of the containers' map */
        return geteuid() == 0 ? helper_job_exec(&j, err) : helper_run(&j, err);
}

int layer_remove_tree(struct store *s, const char *rel, struct err *err)
{
        struct helper_job j = { .op = HELPER_RM, .fds = { s->root_fd, -1 }, .path = rel };
        struct err e = { 0 };
        /* most trees hold only files of the user (root inside): try as we are
         * first, a user namespace costs two newuidmap runs */
        if (helper_job_exec(&j, &e) == 0 || geteuid() == 0) {
                if (e.code)
                        *err = e;
                return e.code;
        }
        return helper_run(&j, err);
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
        layer_decompress_hashed(f->blob, f->out, f->max, f->hash, NULL, &f->err);
        close(f->out);
        return NULL;
}

static uint64_t env_number(const char *name)
{
        const char *v = getenv(name);
        char *end;
        if (!v || !*v)
                return 0;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        return errno || *end ? 0 : (uint64_t) n;
}

void layer_limits(struct store *s, uint64_t max_bytes, struct unpack_opts *o)
{
        o->max_entries = env_number("DEN_LAYER_MAX_ENTRIES");
        if (!o->max_entries)
                o->max_entries = LAYER_MAX_ENTRIES;
        o->max_bytes = max_bytes ? max_bytes : env_number("DEN_LAYER_MAX_SIZE");
        struct statvfs v;
        if (!o->max_bytes && fstatvfs(s->root_fd, &v) == 0)
                o->max_bytes = (uint64_t) v.f_bavail * v.f_frsize;
}

/* what a compressed stream may inflate to: the unpacked size and then some
 * (tar headers and padding) */
static uint64_t inflate_max(uint64_t max_bytes)
{
        return max_bytes ? max_bytes + max_bytes / 2 + (1u << 20) : 0;
}

/* layers/<hex>/from/<hex of a blob>: that blob was decompressed and hashed to
 * the layer's diff id once.  Blobs are content-addressed and checked as they
 * are stored, so once is enough; without the record a blob is checked (a blob
 * that claims the diff id of a layer already here proves nothing by that). */
static char *from_record(const char *layer_rel, const char *blob_digest)
{
        return xasprintf("%s/from/%s", layer_rel, digest_hex(blob_digest));
}

static void remember_verified(struct store *s, const char *layer_rel, const char *blob_digest)
{
        _cleanup_free_ char *from = xasprintf("%s/from", layer_rel), *rec = from_record(layer_rel, blob_digest);
        (void) mkdirat(s->root_fd, from, 0755);
        /* the record is the file's name: it is made and closed at once */
        int fd = openat(s->root_fd, rec, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd >= 0)
                close(fd);
}

int layer_verify(struct store *s, const char *blob_digest, const char *diff_id, uint64_t max,
                 char ret_actual[DIGEST_STR_MAX], struct err *err)
{
        _cleanup_close_ int blob = store_open_blob(s, blob_digest, err);
        if (blob < 0)
                return blob;
        struct digest_ctx *h = digest_new();
        char d[DIGEST_STR_MAX];
        int r = layer_decompress_hashed(blob, -1, max, h, NULL, err);
        digest_final(h, d);
        if (r < 0)
                return err_wrap(err, "layer %s", blob_digest);
        if (ret_actual)
                strcpy(ret_actual, d);
        if (strcmp(d, diff_id) != 0)
                return err_set(err, -EBADMSG, "layer %s: uncompressed it is %s, not the diff id %s the config names",
                               blob_digest, d, diff_id);
        return 0;
}

int layer_ensure(struct store *s, const char *blob_digest, const char *diff_id, uint64_t max_bytes, struct err *err)
{
        _cleanup_free_ char *dir = layer_dir(diff_id), *tmp = NULL;
        if (faccessat(s->root_fd, dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                /* the layer is here; the blob must still be what it claims to be */
                _cleanup_free_ char *rec = from_record(dir, blob_digest);
                if (strcmp(blob_digest, diff_id) == 0 || faccessat(s->root_fd, rec, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return 0;
                struct unpack_opts lim;
                layer_limits(s, max_bytes, &lim);
                int r = layer_verify(s, blob_digest, diff_id, inflate_max(lim.max_bytes), NULL, err);
                if (r == 0)
                        remember_verified(s, dir, blob_digest);
                return r;
        }
        struct unpack_opts lim;
        layer_limits(s, max_bytes, &lim);
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
                                          .max = inflate_max(lim.max_bytes) };
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
        /* the pipe's writing end is the inflate thread's alone (it closes it
         * when done, and its number may be reused at once): nothing here
         * names it, and the helper gets only the fds of its job */
        struct helper_job job = { .op = HELPER_UNPACK, .fds = { blob, dest },
                                  .o = { .layer = name, .max_bytes = lim.max_bytes, .max_entries = lim.max_entries,
                                         .chown = true } };
        if (geteuid() == 0) {
                job.o.allow_devices = true;
                job.o.opaque_xattr = "trusted.overlay.opaque";
                r = helper_job_exec(&job, err);
        } else {
                struct spec_idmap m[2];
                /* with sub-ids the archive's owners are kept; with a single id
                 * everything belongs to the user (root inside) */
                job.o.chown = idmap_default(false, m) > 1 && idmap_default(true, m) > 1;
                job.o.opaque_xattr = "user.overlay.opaque";
                r = helper_run(&job, err);
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
        if (strcmp(blob_digest, diff_id) != 0)
                remember_verified(s, tmp, blob_digest);
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
