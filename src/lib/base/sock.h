/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Send/receive up to n_fds fds with a small payload over a unix socket (SCM_RIGHTS). */
int sock_send_fds(int sock, const void *data, size_t len, const int *fds, size_t n_fds);
/* received fds are O_CLOEXEC; returns bytes of payload */
int sock_recv_fds(int sock, void *data, size_t len, int *fds, size_t *n_fds);
