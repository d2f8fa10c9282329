/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: layer archives, unpacked into a scratch directory that must stay
 * the only place written */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/store/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char dir[] = "/tmp/den-fuzz-unpack.XXXXXX";
        if (!mkdtemp(dir))
                return 0;
        int in = memfd_create("layer", MFD_CLOEXEC);
        if (in < 0 || write(in, data, size) != (ssize_t) size || lseek(in, 0, SEEK_SET) < 0)
                abort();
        int dest = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct unpack_opts o = { .layer = "fuzz", .max_bytes = 1 << 20, .opaque_xattr = "user.overlay.opaque" };
        struct err e = { 0 };
        layer_unpack(in, dest, &o, NULL, &e);
        close(dest);
        close(in);
        fs_rm_rf(dir);
        return 0;
}
