/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdarg.h>

/* A caller-owned error: fixed size, so it can cross a fork (sent over the sync
 * socket byte for byte) and needs nothing freed.  The first message set wins,
 * so the innermost, most precise one survives. */
struct err {
        int code;
        char msg[512];
};

int err_set(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* like err_set, and appends ": strerror(-code)" */
int err_sys(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* prefix the message already in err with more context: "ctx: old" */
int err_wrap(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);
