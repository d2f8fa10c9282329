/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "den.h"
#include "lib/base/macro.h"
#include "lib/store/gc.h"

static int prune(struct den_global *g)
{
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        unsigned n = 0;
        r = store_prune(&s, &n, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        printf("removed %u unreferenced blobs, layers and leftovers\n", n);
        return 0;
}

int den_cmd_image(struct den_global *g, int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "prune") == 0)
                return prune(g);
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("usage: den image prune\n");
                return 0;
        }
        return den_usage("image", "expects 'prune'");
}

int den_cmd_system(struct den_global *g, int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "prune") == 0)
                return prune(g);
        bool check = argc >= 2 && strcmp(argv[1], "check") == 0;
        bool repair = check && argc == 3 && strcmp(argv[2], "--repair") == 0;
        if (!check || argc > 3 || (argc == 3 && !repair)) {
                if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                        printf("usage: den system check [--repair] | den system prune\n");
                        return 0;
                }
                return den_usage("system", "expects 'check [--repair]' or 'prune'");
        }
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        json_t *rep = NULL;
        r = store_check(&s, repair, &rep, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        size_t i;
        json_t *e;
        json_t *problems = json_object_get(rep, "problems"), *repaired = json_object_get(rep, "repaired");
        json_array_foreach(problems, i, e) printf("problem: %s\n", json_string_value(e));
        json_array_foreach(repaired, i, e) printf("repaired: %s\n", json_string_value(e));
        bool clean = json_array_size(problems) == 0;
        printf("%s\n", clean ? "store is clean" : repair ? "store repaired" : "store has problems (den system check --repair)");
        json_decref(rep);
        return clean || repair ? 0 : 1;
}
