/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* Libraries only some commands need (libarchive, libcrypto) are opened on
 * first use: linked in, their start-up cost (libarchive drags in libxml2 and
 * ICU) made every `den exec` 2 ms slower.  DL(lib, fn)(args...) calls fn from
 * lib with fn's own prototype; check dl_available(lib) first. */
bool dl_available(const char *lib);
void *dl_sym(const char *lib, const char *name);

#define DL(lib, name)                                                                                  \
        (*({                                                                                       \
                static __typeof__(&name) _p;                                                       \
                if (!_p)                                                                           \
                        _p = (__typeof__(&name)) dl_sym(lib, #name);                               \
                _p;                                                                                \
        }))

#define LIBARCHIVE "libarchive.so.13"
#define LIBCRYPTO "libcrypto.so.3"
#define LIBCURL "libcurl.so.4"
