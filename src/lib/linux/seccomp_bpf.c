/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_bpf.h"

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
