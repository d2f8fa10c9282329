/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the documents of an image on its way into the store -- an OCI
 * layout's index.json, its image manifests and configs, and a docker-archive's
 * manifest.json -- through image_load (`den load`), then the store's own
 * readers of what was loaded (image_inspect, store_check).
 *
 * The input is up to 8 documents separated by a line "----".  The first is
 * index.json, or manifest.json when it starts with '['.  Document k >= 1 is a
 * file named "k" and the blob blobs/sha256/<its digest>; "@k" in an earlier
 * document stands for that digest's hex, so an index can name its manifest
 * and a manifest its config although the fuzzer cannot compute a sha256.
 * Every archive also holds layer.tar (an empty tar, EMPTY_TAR below) and its
 * blob, and config.json with one diff id: that layer's. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/store/gc.h"
#include "lib/store/image.h"
#include "lib/store/transfer.h"

#define EMPTY_TAR "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
#define MAX_DOCS 8
#define SEP "\n----\n"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* image_load prints "Loaded image: ..." for each name */
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 1) < 0)
                abort();
        close(null);
        return 0;
}

static void put(int dir, const char *name, const void *data, size_t len)
{
        if (fs_write_atomic(dir, name, data, len, 0644) < 0)
                abort();
}

/* doc with "@k" (k > self, k < n) replaced by the hex digest of doc k */
static char *substitute(const char *doc, size_t len, size_t self, size_t n, char hex[][65], size_t *ret_len)
{
        char *out = xmalloc(len * 33 + 1), *o = out;
        for (size_t i = 0; i < len; i++) {
                size_t k = i + 1 < len ? (size_t) (doc[i + 1] - '0') : 0;
                if (doc[i] == '@' && i + 1 < len && doc[i + 1] >= '1' && doc[i + 1] <= '9' && k > self && k < n) {
                        memcpy(o, hex[k], 64);
                        o += 64;
                        i++;
                } else
                        *o++ = doc[i];
        }
        *ret_len = (size_t) (o - out);
        return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *doc[MAX_DOCS];
        size_t len[MAX_DOCS], n = 0;
        const char *p = (const char *) data, *end = p + size;
        for (;;) {
                const char *s = n < MAX_DOCS - 1 ? memmem(p, (size_t) (end - p), SEP, strlen(SEP)) : NULL;
                doc[n] = p;
                len[n] = (size_t) ((s ? s : end) - p);
                n++;
                if (!s)
                        break;
                p = s + strlen(SEP);
        }
        char tmpl[] = "/dev/shm/den-fuzz-load.XXXXXX";
        if (!mkdtemp(tmpl))
                abort();
        _cleanup_free_ char *store_dir = xasprintf("%s/store", tmpl), *archive = xasprintf("%s/archive", tmpl),
                            *blobs = xasprintf("%s/blobs/sha256", archive);
        if (fs_mkdir_p(blobs, 0755) < 0)
                abort();
        int a = open(archive, O_RDONLY | O_DIRECTORY | O_CLOEXEC), b = openat(a, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (a < 0 || b < 0)
                abort();

        static const char zeros[1024];
        static const char config[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
                                     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" EMPTY_TAR "\"]}}";
        char d[DIGEST_STR_MAX];
        put(a, "layer.tar", zeros, sizeof(zeros));
        put(b, EMPTY_TAR, zeros, sizeof(zeros));
        put(a, "config.json", config, strlen(config));
        digest_buf(config, strlen(config), d);
        put(b, digest_hex(d), config, strlen(config));

        /* the last document first: each may name the digests of those after it */
        char hex[MAX_DOCS][65];
        char *txt[MAX_DOCS] = { 0 };
        size_t tl[MAX_DOCS];
        for (size_t k = n; k-- > 0;) {
                txt[k] = substitute(doc[k], len[k], k, n, hex, &tl[k]);
                digest_buf(txt[k], tl[k], d);
                snprintf(hex[k], sizeof(hex[k]), "%s", digest_hex(d));
                if (k == 0)
                        break;
                char name[4];
                snprintf(name, sizeof(name), "%zu", k);
                put(a, name, txt[k], tl[k]);
                put(b, hex[k], txt[k], tl[k]);
        }
        const char *first = txt[0];
        while (first < txt[0] + tl[0] && strchr(" \t\r\n", *first))
                first++;
        put(a, first < txt[0] + tl[0] && *first == '[' ? "manifest.json" : "index.json", txt[0], tl[0]);
        for (size_t k = 0; k < n; k++)
                free(txt[k]);
        close(b);
        close(a);

        struct store s;
        struct err e = { 0 };
        if (store_open(store_dir, &s, &e) < 0)
                abort();
        int r = image_load(&s, archive, &e);
        if (getenv("DEN_FUZZ_DEBUG"))
                fprintf(stderr, "image_load: %s\n", r < 0 ? e.msg : "loaded");
        if (r == 0) {
                /* what was loaded is read back the way den run and den system check read it */
                json_t *names = NULL, *v, *info = NULL, *report = NULL;
                const char *k;
                struct err e2 = { 0 };
                if (image_names_load(&s, &names, &e2) == 0)
                        json_object_foreach(names, k, v)
                        {
                                struct err e3 = { 0 };
                                if (json_string_value(v) && image_inspect(&s, json_string_value(v), &info, &e3) == 0)
                                        json_decref(info);
                        }
                json_decref(names);
                struct err e4 = { 0 };
                if (store_check(&s, false, &report, &e4) == 0)
                        json_decref(report);
        }
        store_close(&s);
        fs_rm_rf(tmpl);
        return 0;
}
