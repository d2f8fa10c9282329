/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: more container operations: top, stats, changes, export, pause, rename, restart, update, prune, archive. */
#include "internal.h"

const struct api_route api_routes_ops[] = {
        { NULL },
};
