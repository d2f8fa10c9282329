/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: a client's message to the keeper, as it arrives on the keeper's
 * socket: one SOCK_SEQPACKET packet (header + JSON payload) with fds attached,
 * read by keeper_recv, then a RUN request decoded into the process the keeper
 * would start.  The input is the packet; how many fds ride along is taken from
 * its length (0 to KEEPER_MAX_FDS + 1, one more than the keeper takes). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/base/sock.h"
#include "lib/keeper/keeper.h"
#include "lib/keeper/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lowest_free_fd(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                abort();
        close(fd);
        return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > sizeof(struct keeper_hdr) + KEEPER_MAX_INLINE)
                return 0;
        int before = lowest_free_fd();
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        int attach[KEEPER_MAX_FDS + 1];
        size_t n_attach = size % (KEEPER_MAX_FDS + 2);
        for (size_t i = 0; i < n_attach; i++)
                attach[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (sock_send_fds(sv[0], data, size, attach, n_attach) < 0)
                abort();
        for (size_t i = 0; i < n_attach; i++)
                close(attach[i]);
        close(sv[0]);

        enum keeper_type t;
        json_t *req = NULL;
        int fds[KEEPER_MAX_FDS];
        size_t n = KEEPER_MAX_FDS;
        struct err e = { 0 };
        if (keeper_recv(sv[1], &t, &req, fds, &n, &e) == 0) {
                if (n > KEEPER_MAX_FDS)
                        abort();
                if (t == KEEPER_RUN) {
                        struct keeper_conf c = { .listen_fd = -1, .exit_fd = -1, .default_caps = 0x3fff };
                        struct spec_process p;
                        struct err e2 = { 0 };
                        keeper_request_process(req, &c, &p, &e2);
                        spec_process_free(&p);
                }
                for (size_t i = 0; i < n; i++)
                        close(fds[i]);
                json_decref(req);
        }
        close(sv[1]);
        /* every fd that came with the message is either handed out or closed */
        if (lowest_free_fd() != before)
                abort();
        return 0;
}
