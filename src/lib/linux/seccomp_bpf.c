/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_bpf.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

int seccomp_blob_check(const void *blob, size_t len)
{
        const size_t h = sizeof(struct seccomp_blob_header);
        if (!blob || len <= h || len > SECCOMP_BLOB_MAX || (len - h) % sizeof(struct sock_filter) != 0 ||
            memcmp(blob, SECCOMP_BLOB_MAGIC, 4) != 0)
                return -EINVAL;
        return 0;
}

int seccomp_blob_install(const void *blob, size_t len, struct err *err)
{
        if (seccomp_blob_check(blob, len) < 0)
                return err_set(err, -EINVAL, "the seccomp filter handed to the keeper is damaged");
        struct seccomp_blob_header h;
        memcpy(&h, blob, sizeof(h));
        struct sock_fprog prog = {
                .len = (unsigned short) ((len - sizeof(h)) / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *) ((const char *) blob + sizeof(h)),
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, h.flags, &prog) < 0)
                return err_sys(err, -errno, "cannot install the seccomp filter");
        return 0;
}

int seccomp_blob_cache_load(const char *dir, const char *name, void **ret, size_t *ret_len)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char *b = NULL;
        size_t n = 0;
        if (fd < 0 || fs_read_fd(fd, SECCOMP_BLOB_MAX, &b, &n) < 0 || seccomp_blob_check(b, n) < 0) {
                free(b);
                return -ENOENT;
        }
        *ret = b;
        *ret_len = n;
        return 0;
}

void seccomp_blob_cache_store(const char *dir, const char *name, const void *blob, size_t len)
{
        _cleanup_close_ int dfd = -1;
        if (fs_mkdir_p(dir, 0700) == 0 && (dfd = open(dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
                (void) fs_write_replace(dfd, name, blob, len, 0600);
}
