/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"

/* master: a freshly opened ptmx; unlock it and open its peer */
int console_open(int master, int *ret_slave, struct err *err);
int console_resize(int fd, unsigned rows, unsigned cols);
/* Send the master over the unix socket at socket_path, as runc does. */
int console_send(const char *socket_path, int master, struct err *err);
/* Make fd the controlling terminal and stdio of the calling process. */
int console_set_stdio(int slave, struct err *err);
