/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "store.h"

int store_open(const char *root, struct store *s, struct err *err)
{
        memset(s, 0, sizeof(*s));
        s->root_fd = s->lock_fd = -1;
        int r = fs_mkdir_p(root, 0700);
        if (r < 0)
                return err_sys(err, r, "cannot create the store '%s'", root);
        s->root = xstrdup(root);
        s->root_fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (s->root_fd < 0) {
                r = err_sys(err, -errno, "cannot open the store '%s'", root);
                store_close(s);
                return r;
        }
        static const char *dirs[] = { "blobs", "blobs/sha256", "layers", "tmp" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdirat(s->root_fd, dirs[i], 0700) < 0 && errno != EEXIST) {
                        r = err_sys(err, -errno, "cannot create %s/%s", root, dirs[i]);
                        store_close(s);
                        return r;
                }
        s->lock_fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0) {
                r = err_sys(err, -errno, "cannot open %s/lock", root);
                store_close(s);
                return r;
        }
        return 0;
}

void store_close(struct store *s)
{
        if (s->root_fd >= 0)
                close(s->root_fd);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->root);
        memset(s, 0, sizeof(*s));
        s->root_fd = s->lock_fd = -1;
}

int store_lock(struct store *s, bool exclusive, struct err *err)
{
        while (flock(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR)
                        return err_sys(err, -errno, "cannot lock the store '%s'", s->root);
        return 0;
}

void store_unlock(struct store *s)
{
        flock(s->lock_fd, LOCK_UN);
}

static char *blob_rel(const char *digest)
{
        return xasprintf("blobs/sha256/%s", digest_hex(digest));
}

int store_mkdtemp(struct store *s, char **ret_name, struct err *err)
{
        /* the writer's pid in the name: `system check` tells live work from leftovers */
        _cleanup_free_ char *tmpl = xasprintf("%s/tmp/w.%d.XXXXXX", s->root, getpid());
        if (!mkdtemp(tmpl))
                return err_sys(err, -errno, "cannot create a directory in %s/tmp", s->root);
        *ret_name = xstrdup(tmpl + strlen(s->root) + 1);
        return 0;
}

int store_blob_begin(struct store *s, struct blob_writer *w, struct err *err)
{
        memset(w, 0, sizeof(*w));
        w->s = s;
        w->path = xasprintf("%s/tmp/blob.%d.XXXXXX", s->root, getpid());
        w->fd = mkostemp(w->path, O_CLOEXEC);
        if (w->fd < 0) {
                int r = err_sys(err, -errno, "cannot create a temporary blob in %s/tmp", s->root);
                free(w->path);
                w->path = NULL;
                return r;
        }
        w->c = digest_new();
        return 0;
}

int store_blob_write(struct blob_writer *w, const void *data, size_t len, struct err *err)
{
        w->size += len;
        if (w->max && w->size > w->max)
                return err_set(err, -EFBIG, "blob larger than %llu bytes", (unsigned long long) w->max);
        digest_update(w->c, data, len);
        if (fs_write_all(w->fd, data, len) < 0)
                return err_sys(err, -errno, "cannot write a blob into %s/tmp", w->s->root);
        return 0;
}

int store_blob_restart(struct blob_writer *w, struct err *err)
{
        digest_free(w->c);
        w->c = digest_new();
        w->size = 0;
        if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
                return err_sys(err, -errno, "cannot truncate a blob in %s/tmp", w->s->root);
        return 0;
}

void store_blob_abort(struct blob_writer *w)
{
        if (w->path) {
                unlink(w->path);
                free(w->path);
        }
        if (w->fd >= 0)
                close(w->fd);
        if (w->c)
                digest_free(w->c);
        memset(w, 0, sizeof(*w));
        w->fd = -1;
}

int store_blob_commit(struct blob_writer *w, const char *expected, char ret[DIGEST_STR_MAX], struct err *err)
{
        char d[DIGEST_STR_MAX];
        int r = 0;
        digest_final(w->c, d);
        w->c = NULL;
        if (expected && strcmp(d, expected) != 0)
                r = err_set(err, -EBADMSG, "digest mismatch: expected %s, got %s", expected, d);
        if (r == 0 && fsync(w->fd) < 0)
                r = err_sys(err, -errno, "fsync");
        if (r == 0) {
                _cleanup_free_ char *rel = blob_rel(d);
                if (renameat(w->s->root_fd, w->path + strlen(w->s->root) + 1, w->s->root_fd, rel) < 0)
                        r = err_sys(err, -errno, "cannot store blob %s", d);
        }
        if (r == 0) {
                free(w->path);
                w->path = NULL;
                if (ret)
                        strcpy(ret, d);
        }
        store_blob_abort(w);
        return r;
}

int store_put_blob_fd(struct store *s, int fd, const char *expected, uint64_t max, char ret[DIGEST_STR_MAX],
                      uint64_t *ret_size, struct err *err)
{
        if (expected && !digest_valid(expected))
                return err_set(err, -EINVAL, "invalid digest '%s'", expected);
        struct blob_writer w;
        int r = store_blob_begin(s, &w, err);
        if (r < 0)
                return r;
        w.max = max;
        char buf[1 << 16];
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = err_sys(err, -errno, "cannot read the blob");
                        break;
                }
                if (n == 0 || (r = store_blob_write(&w, buf, (size_t) n, err)) < 0)
                        break;
        }
        uint64_t total = w.size;
        if (r < 0) {
                store_blob_abort(&w);
                return r;
        }
        if ((r = store_blob_commit(&w, expected, ret, err)) < 0)
                return r;
        if (ret_size)
                *ret_size = total;
        return 0;
}

int store_put_blob_mem(struct store *s, const void *data, size_t len, char ret[DIGEST_STR_MAX], struct err *err)
{
        char d[DIGEST_STR_MAX];
        digest_buf(data, len, d);
        _cleanup_close_ int dir = openat(s->root_fd, "blobs/sha256", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dir < 0)
                return err_sys(err, -errno, "cannot open %s/blobs/sha256", s->root);
        int r = fs_write_atomic(dir, digest_hex(d), data, len, 0600);
        if (r < 0)
                return err_sys(err, r, "cannot store blob %s", d);
        strcpy(ret, d);
        return 0;
}

bool store_has_blob(struct store *s, const char *digest)
{
        if (!digest_valid(digest))
                return false;
        _cleanup_free_ char *rel = blob_rel(digest);
        return faccessat(s->root_fd, rel, F_OK, 0) == 0;
}

int store_open_blob(struct store *s, const char *digest, struct err *err)
{
        if (!digest_valid(digest))
                return err_set(err, -EINVAL, "invalid digest '%s'", digest);
        _cleanup_free_ char *rel = blob_rel(digest);
        int fd = openat(s->root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_sys(err, -errno, "blob %s", digest);
        return fd;
}

int store_read_blob(struct store *s, const char *digest, size_t max, char **ret, size_t *ret_len, struct err *err)
{
        _cleanup_close_ int fd = store_open_blob(s, digest, err);
        if (fd < 0)
                return fd;
        int r = fs_read_fd(fd, max, ret, ret_len);
        if (r < 0)
                return err_sys(err, r, "blob %s", digest);
        return 0;
}

int store_remove_blob(struct store *s, const char *digest)
{
        if (!digest_valid(digest))
                return -EINVAL;
        _cleanup_free_ char *rel = blob_rel(digest);
        return unlinkat(s->root_fd, rel, 0) < 0 ? -errno : 0;
}
