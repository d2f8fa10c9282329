/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: config.json parsing, mount options and seccomp profiles from arbitrary JSON */
#include <stdint.h>
#include <stdlib.h>

#include "lib/linux/mount.h"
#include "lib/linux/seccomp.h"
#include "lib/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *j = json_loadb((const char *) data, size, 0, NULL);
        if (!j)
                return 0;
        struct spec s;
        struct err e = { 0 };
        if (spec_parse(j, "/bundle", &s, &e) == 0) {
                for (size_t i = 0; i < s.n_mounts; i++) {
                        struct mount_opts o;
                        struct err e2 = { 0 };
                        if (mount_opts_parse(s.mounts[i].options, &o, &e2) == 0)
                                mount_opts_free(&o);
                }
                if (s.seccomp) {
                        struct seccomp_filter *f = NULL;
                        struct err e3 = { 0 };
                        if (seccomp_filter_build(s.seccomp, &f, &e3) == 0)
                                seccomp_filter_free(f);
                }
        }
        spec_free(&s);
        json_decref(j);
        return 0;
}
