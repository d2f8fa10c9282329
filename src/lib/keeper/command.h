/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"
#include "lib/base/json.h"

/* USER[:GROUP] of a request, looked up in the container's /etc/passwd and
 * /etc/group (the caller is inside its root): *ret is {"uid","gid","additionalGids"}.
 * Those files are read only as regular files of at most 4 MiB, never waiting. */
int command_resolve_user(const char *spec, json_t **ret, struct err *err);

/* in the command's child: a network namespace of its own (loopback up), and a
 * mount namespace whose /sys is a read-only sysfs of it */
int command_own_netns(struct err *err);
