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

int store_put_blob_fd(struct store *s, int fd, const char *expected, uint64_t max, char ret[DIGEST_STR_MAX],
                      uint64_t *ret_size, struct err *err)
{
        if (expected && !digest_valid(expected))
                return err_set(err, -EINVAL, "invalid digest '%s'", expected);
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "tmp/blob.%d.XXXXXX", getpid());
        _cleanup_free_ char *path = xasprintf("%s/%s", s->root, tmp);
        _cleanup_close_ int out = mkostemp(path, O_CLOEXEC);
        if (out < 0)
                return err_sys(err, -errno, "cannot create a temporary blob in %s/tmp", s->root);
        struct digest_ctx *c = digest_new();
        char buf[1 << 16];
        uint64_t total = 0;
        int r = 0;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = err_sys(err, -errno, "cannot read the blob");
                        break;
                }
                if (n == 0)
                        break;
                total += (uint64_t) n;
                if (max && total > max) {
                        r = err_set(err, -EFBIG, "blob larger than %llu bytes", (unsigned long long) max);
                        break;
                }
                digest_update(c, buf, (size_t) n);
                if (fs_write_all(out, buf, (size_t) n) < 0) {
                        r = err_sys(err, -errno, "cannot write the blob");
                        break;
                }
        }
        char d[DIGEST_STR_MAX];
        digest_final(c, d);
        if (r == 0 && expected && strcmp(d, expected) != 0)
                r = err_set(err, -EBADMSG, "digest mismatch: expected %s, got %s", expected, d);
        if (r == 0 && fsync(out) < 0)
                r = err_sys(err, -errno, "fsync");
        if (r == 0) {
                _cleanup_free_ char *rel = blob_rel(d);
                if (renameat(s->root_fd, path + strlen(s->root) + 1, s->root_fd, rel) < 0)
                        r = err_sys(err, -errno, "cannot store blob %s", d);
        }
        if (r < 0) {
                unlink(path);
                return r;
        }
        strcpy(ret, d);
        if (ret_size)
                *ret_size = total;
        return 0;
}

int store_put_blob_mem(struct store *s, const void *data, size_t len, char ret[DIGEST_STR_MAX], struct err *err)
{
        struct digest_ctx *c = digest_new();
        digest_update(c, data, len);
        char d[DIGEST_STR_MAX];
        digest_final(c, d);
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
