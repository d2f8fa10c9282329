/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: build, events, system df, volumes, networks. */
#include "internal.h"

const struct api_route api_routes_sys[] = {
        { NULL },
};
