/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/base/sock.h"
#include "proto.h"

/* a payload too big for one packet: a sealed memfd, so what the receiver reads
 * is a file in memory that nobody can change, grow or shrink under it */
static int payload_memfd(const char *txt, size_t len)
{
        int fd = memfd_create("den-keeper-payload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        ssize_t n = fs_write_all(fd, txt, len);
        if (n < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
                int r = n < 0 ? (int) n : -errno;
                close(fd);
                return r;
        }
        return fd;
}

int keeper_send(int sock, enum keeper_type type, json_t *payload, const int *fds, size_t n_fds)
{
        _cleanup_free_ char *txt = payload ? json_dumps(payload, JSON_COMPACT) : xstrdup("{}");
        size_t len = strlen(txt);
        if (len > KEEPER_MAX_PAYLOAD)
                return -EMSGSIZE;
        if (n_fds > KEEPER_MAX_FDS)
                return -EINVAL;
        struct keeper_hdr h = { KEEPER_MAGIC, KEEPER_VERSION, (uint16_t) type, (uint32_t) len, 0 };
        int all[KEEPER_MAX_FDS + 1];
        _cleanup_close_ int mfd = -1;
        if (len > KEEPER_MAX_INLINE) {
                if ((mfd = payload_memfd(txt, len)) < 0)
                        return mfd;
                h.flags |= KEEPER_F_MEMFD;
                if (n_fds)
                        memcpy(all, fds, n_fds * sizeof(int));
                all[n_fds++] = mfd;
                fds = all;
        }
        size_t inl = h.flags & KEEPER_F_MEMFD ? 0 : len;
        _cleanup_free_ char *buf = xmalloc(sizeof(h) + inl);
        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), txt, inl);
        int r = sock_send_fds(sock, buf, sizeof(h) + inl, fds, n_fds);
        return r < 0 ? r : 0;
}

/* the payload of a KEEPER_F_MEMFD message: only a sealed memfd of exactly the
 * announced size is read (a pipe or a file on a slow mount would block us) */
static char *payload_read(int fd, size_t len)
{
        struct stat st;
        int seals = fcntl(fd, F_GET_SEALS);
        int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
        if (seals < 0 || (seals & need) != need || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            (uint64_t) st.st_size != len)
                return NULL;
        char *buf = xmalloc(len + 1);
        size_t got = 0;
        while (got < len) {
                ssize_t n = pread(fd, buf + got, len - got, (off_t) got);
                if (n <= 0) {
                        free(buf);
                        return NULL;
                }
                got += (size_t) n;
        }
        return buf;
}

int keeper_recv(int sock, enum keeper_type *ret_type, json_t **ret_payload, int *fds, size_t *n_fds,
                struct err *err)
{
        _cleanup_free_ char *buf = xmalloc(sizeof(struct keeper_hdr) + KEEPER_MAX_INLINE + 1), *big = NULL;
        int got[KEEPER_MAX_FDS + 1];
        size_t nf = ELEMENTSOF(got), want = n_fds ? *n_fds : 0;
        int n = sock_recv_fds(sock, buf, sizeof(struct keeper_hdr) + KEEPER_MAX_INLINE, got, &nf);
        const char *text;
        json_t *j = NULL;
        struct keeper_hdr h;
        if (n < 0) {
                err_sys(err, n, "keeper socket");
                goto fail;
        }
        if (n == 0) {
                err_set(err, -ECONNRESET, "the keeper closed the connection");
                goto fail;
        }
        if ((size_t) n < sizeof(h))
                goto bad;
        memcpy(&h, buf, sizeof(h));
        if (h.magic != KEEPER_MAGIC || h.version != KEEPER_VERSION || (h.flags & ~KEEPER_F_MEMFD))
                goto bad;
        if (h.flags & KEEPER_F_MEMFD) {
                if ((size_t) n != sizeof(h) || nf == 0)
                        goto bad;
                if (h.len > KEEPER_MAX_PAYLOAD) {
                        err_set(err, -EMSGSIZE, "keeper protocol: a message of %u bytes (at most %u)", h.len,
                                KEEPER_MAX_PAYLOAD);
                        goto fail;
                }
                _cleanup_close_ int mfd = got[--nf];
                if (!(big = payload_read(mfd, h.len)))
                        goto bad;
                text = big;
        } else {
                if (h.len != (size_t) n - sizeof(h))
                        goto bad;
                text = buf + sizeof(h);
        }
        /* fds past what the caller takes are not its to keep */
        while (nf > want)
                close(got[--nf]);
        j = json_loadb(text, h.len, 0, NULL);
        if (!j || !json_is_object(j))
                goto bad;
        *ret_type = h.type;
        *ret_payload = j;
        if (n_fds) {
                memcpy(fds, got, nf * sizeof(int));
                *n_fds = nf;
        }
        return 0;
bad:
        err_set(err, -EPROTO, "keeper protocol: a malformed message");
fail:
        json_decref(j);
        for (size_t i = 0; i < nf; i++)
                close(got[i]);
        return err->code;
}
