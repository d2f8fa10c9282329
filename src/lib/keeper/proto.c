/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/base/sock.h"
#include "proto.h"

int keeper_send(int sock, enum keeper_type type, json_t *payload, const int *fds, size_t n_fds)
{
        _cleanup_free_ char *txt = payload ? json_dumps(payload, JSON_COMPACT) : xstrdup("{}");
        size_t len = strlen(txt);
        if (len > KEEPER_MAX_PAYLOAD)
                return -EMSGSIZE;
        _cleanup_free_ char *buf = xmalloc(sizeof(struct keeper_hdr) + len);
        struct keeper_hdr h = { KEEPER_MAGIC, KEEPER_VERSION, (uint16_t) type, (uint32_t) len };
        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), txt, len);
        int r = sock_send_fds(sock, buf, sizeof(h) + len, fds, n_fds);
        return r < 0 ? r : 0;
}

int keeper_recv(int sock, enum keeper_type *ret_type, json_t **ret_payload, int *fds, size_t *n_fds,
                struct err *err)
{
        _cleanup_free_ char *buf = xmalloc(sizeof(struct keeper_hdr) + KEEPER_MAX_PAYLOAD + 1);
        size_t nf = n_fds ? *n_fds : 0;
        int tmp[KEEPER_MAX_FDS];
        int n = sock_recv_fds(sock, buf, sizeof(struct keeper_hdr) + KEEPER_MAX_PAYLOAD, n_fds ? fds : tmp,
                              n_fds ? &nf : &nf);
        if (!n_fds)
                for (size_t i = 0; i < nf; i++)
                        close(tmp[i]);
        if (n < 0)
                return err_sys(err, n, "keeper socket");
        if (n == 0)
                return err_set(err, -ECONNRESET, "the keeper closed the connection");
        struct keeper_hdr h;
        if ((size_t) n < sizeof(h))
                goto bad;
        memcpy(&h, buf, sizeof(h));
        if (h.magic != KEEPER_MAGIC || h.version != KEEPER_VERSION || h.len != (size_t) n - sizeof(h))
                goto bad;
        json_t *j = json_loadb(buf + sizeof(h), h.len, 0, NULL);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                goto bad;
        }
        *ret_type = h.type;
        *ret_payload = j;
        if (n_fds)
                *n_fds = nf;
        return 0;
bad:
        for (size_t i = 0; n_fds && i < nf; i++)
                close(fds[i]);
        return err_set(err, -EPROTO, "keeper protocol: a malformed message");
}
