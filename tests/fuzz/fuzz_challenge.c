/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: a registry's WWW-Authenticate challenge
 * (`Bearer realm="..",service="..",scope=".."`), as reg_request reads it off a 401 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/registry/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* a header value as libcurl hands it: no NUL inside */
        if (memchr(data, '\0', size))
                return 0;
        _cleanup_free_ char *h = xmalloc(size + 1), *scheme = NULL;
        memcpy(h, data, size);
        h[size] = '\0';
        _cleanup_strv_free_ char **kv = reg_challenge_parse(h, &scheme);
        if (!scheme)
                abort();
        size_t n = 0;
        for (char **p = kv; p && *p; p++)
                n++;
        if (n % 2)
                abort(); /* keys and values come in pairs */
        return 0;
}
