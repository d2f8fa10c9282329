/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: image references as a user or an archive gives them
 * ([HOST[:PORT]/]PATH[:TAG][@sha256:HEX]): reg_ref_parse, the name it makes,
 * and the store's own normalizer */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/registry/registry.h"
#include "lib/store/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* short names resolve to docker.io, not to what this machine's registries.conf says */
        setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = xmalloc(size + 1);
        memcpy(s, data, size);
        s[size] = '\0';
        struct reg_ref ref;
        struct err e = { 0 };
        if (reg_ref_parse(s, &ref, &e) == 0) {
                /* what a parsed reference promises: a host, a repository, a tag or a digest */
                if (!ref.host || !ref.repo || (!ref.tag && !ref.digest))
                        abort();
                _cleanup_free_ char *name = reg_ref_name(&ref), *again = NULL;
                struct err e2 = { 0 };
                /* the name goes into the store's table: it must normalize as it is */
                if (ref.tag && image_ref_normalize(name, &again, &e2) < 0)
                        abort();
                reg_ref_free(&ref);
        }
        _cleanup_free_ char *norm = NULL;
        struct err e3 = { 0 };
        image_ref_normalize(s, &norm, &e3);
        return 0;
}
