/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <sys/socket.h>

#include "sync.h"

int sync_send(int fd, enum sync_type type, int32_t value)
{
        struct sync_msg m = { .type = type, .value = value };
        ssize_t n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
        return n == (ssize_t) sizeof(m) ? 0 : -errno;
}

int sync_send_err(int fd, const struct err *e)
{
        struct sync_msg m = { .type = SYNC_ERROR, .value = e->code };
        m.err = *e;
        ssize_t n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
        return n == (ssize_t) sizeof(m) ? 0 : -errno;
}

int sync_expect(int fd, enum sync_type type, int32_t *ret_value, struct err *err)
{
        struct sync_msg m;
        ssize_t n;
        do
                n = recv(fd, &m, sizeof(m), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_sys(err, -errno, "sync with the container process");
        if (n == 0)
                return err_set(err, -EPIPE, "the container process exited during setup");
        if (n != (ssize_t) sizeof(m))
                return err_set(err, -EPROTO, "sync with the container process: short message");
        if (m.type == SYNC_ERROR) {
                m.err.msg[sizeof(m.err.msg) - 1] = '\0';
                return err_set(err, m.err.code < 0 ? m.err.code : -EIO, "%s", m.err.msg);
        }
        if (m.type != type)
                return err_set(err, -EPROTO, "sync with the container process: expected message %d, got %u",
                               type, m.type);
        if (ret_value)
                *ret_value = m.value;
        return 0;
}
