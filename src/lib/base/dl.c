/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"

static void *handle(const char *lib)
{
        static struct {
                const char *lib;
                void *h;
        } cache[4];
        for (int i = 0; i < 4; i++) {
                if (cache[i].lib && strcmp(cache[i].lib, lib) == 0)
                        return cache[i].h;
                if (!cache[i].lib) {
                        cache[i].lib = lib;
                        cache[i].h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
                        return cache[i].h;
                }
        }
        return dlopen(lib, RTLD_NOW | RTLD_LOCAL);
}

bool dl_available(const char *lib)
{
        return handle(lib) != NULL;
}

void *dl_sym(const char *lib, const char *name)
{
        void *h = handle(lib);
        void *p = h ? dlsym(h, name) : NULL;
        if (!p) {
                /* a missing symbol of a library we were built against: nothing sane is left to do */
                fprintf(stderr, "den: %s: cannot load %s: %s\n", lib, name, dlerror());
                abort();
        }
        return p;
}
