/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"

/* pulls open libraries from several threads at once, and fork (to unpack in
 * a user namespace) while they do: a child must not inherit the lock taken */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void lock_take(void)
{
        pthread_mutex_lock(&lock);
}

static void lock_give(void)
{
        pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void dl_atfork(void)
{
        pthread_atfork(lock_take, lock_give, lock_give);
}

static void *handle(const char *lib)
{
        static struct {
                const char *lib;
                void *h;
        } cache[4];
        void *h = NULL;
        pthread_mutex_lock(&lock);
        for (int i = 0; i < 4; i++) {
                if (cache[i].lib && strcmp(cache[i].lib, lib) == 0) {
                        h = cache[i].h;
                        break;
                }
                if (!cache[i].lib) {
                        cache[i].lib = lib;
                        h = cache[i].h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
                        break;
                }
        }
        if (!h && cache[3].lib && strcmp(cache[3].lib, lib) != 0)
                h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        pthread_mutex_unlock(&lock);
        return h;
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
