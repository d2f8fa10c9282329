/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "lib/base/err.h"

/* Typed messages between the runtime and the container's init over a
 * SOCK_SEQPACKET socketpair.  Anything but the expected type is -EPROTO; a
 * SYNC_ERROR carries the child's struct err, so the user sees its message. */
enum sync_type {
        SYNC_ERROR = 1,
        SYNC_IDMAP_DONE,     /* parent: uid/gid maps written, cgroup joined */
        SYNC_HOOKS_RUNTIME,  /* child: mounts done, run createRuntime hooks now */
        SYNC_HOOKS_DONE,     /* parent: they ran */
        SYNC_READY,          /* child: all set up, waiting for start; value = pid seen inside */
        SYNC_EXEC_PID,       /* exec child: the pid of the process started */
};

struct sync_msg {
        uint32_t type;
        int32_t value;
        struct err err;
};

int sync_send(int fd, enum sync_type type, int32_t value);
int sync_send_err(int fd, const struct err *e);
/* receive one message; -EPIPE when the peer died without a word */
int sync_expect(int fd, enum sync_type type, int32_t *ret_value, struct err *err);
