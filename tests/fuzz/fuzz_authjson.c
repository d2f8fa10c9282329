/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: auth.json / docker's config.json, as den reads credentials from
 * it for a registry.  The input's first line is the registry host asked for,
 * the rest the file (given as --authfile). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/registry/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nl = memchr(data, '\n', size);
        if (!nl || memchr(data, '\0', (size_t) (nl - data)))
                return 0;
        _cleanup_free_ char *host = xasprintf("%.*s", (int) (nl - data), (const char *) data);
        int fd = memfd_create("auth.json", MFD_CLOEXEC);
        size_t len = size - (size_t) (nl + 1 - data);
        if (fd < 0 || write(fd, nl + 1, len) != (ssize_t) len)
                abort();
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        struct reg_opts o;
        reg_opts_init(&o);
        o.authfile = path;
        char *user = NULL, *pass = NULL;
        if (reg_creds_lookup(host, &o, &user, &pass) == 1 && (!user || !pass))
                abort();
        free(user);
        free(pass);
        close(fd);
        return 0;
}
