/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: exec and interactive attach (stdin, tty, resize). */
#include "internal.h"

const struct api_route api_routes_exec[] = {
        { NULL },
};
