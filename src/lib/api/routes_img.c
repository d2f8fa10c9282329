/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: pull, push, load, save, import, prune, search. */
#include "internal.h"

const struct api_route api_routes_img[] = {
        { NULL },
};
