/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"

/* Names a user gives a container or a session (--name, den rename): docker's
 * rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most NAME_MAX_CONTAINER bytes (podman's
 * bound).  Such a name is one path component that is neither "." nor "..", never
 * an option, and one word of /etc/hosts. */
#define NAME_MAX_CONTAINER 253
int name_check_container(const char *name, struct err *err);

/* --hostname: RFC 1123 labels ([a-zA-Z0-9], '-' inside, 63 bytes at most) joined
 * by dots, at most NAME_MAX_HOSTNAME bytes (the kernel's limit for sethostname) */
#define NAME_MAX_HOSTNAME 64
int name_check_hostname(const char *name, struct err *err);
