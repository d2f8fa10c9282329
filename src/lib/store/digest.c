/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "lib/base/dl.h"
#include "lib/base/macro.h"

struct digest_ctx {
        EVP_MD_CTX *md;
};

struct digest_ctx *digest_new(void)
{
        struct digest_ctx *c = xcalloc(1, sizeof(*c));
        c->md = DL(LIBCRYPTO, EVP_MD_CTX_new)();
        if (!c->md || DL(LIBCRYPTO, EVP_DigestInit_ex)(c->md, DL(LIBCRYPTO, EVP_sha256)(), NULL) != 1)
                abort();
        return c;
}

void digest_update(struct digest_ctx *c, const void *data, size_t len)
{
        DL(LIBCRYPTO, EVP_DigestUpdate)(c->md, data, len);
}

void digest_final(struct digest_ctx *c, char out[DIGEST_STR_MAX])
{
        unsigned char h[32];
        unsigned n = 0;
        DL(LIBCRYPTO, EVP_DigestFinal_ex)(c->md, h, &n);
        strcpy(out, "sha256:");
        for (unsigned i = 0; i < n; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
        digest_free(c);
}

void digest_buf(const void *data, size_t len, char out[DIGEST_STR_MAX])
{
        struct digest_ctx *c = digest_new();
        digest_update(c, data, len);
        digest_final(c, out);
}

void digest_free(struct digest_ctx *c)
{
        if (!c)
                return;
        DL(LIBCRYPTO, EVP_MD_CTX_free)(c->md);
        free(c);
}

bool digest_valid(const char *d)
{
        if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
                return false;
        for (const char *p = d + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

const char *digest_hex(const char *d)
{
        return d + 7;
}
