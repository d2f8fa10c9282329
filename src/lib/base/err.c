/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "err.h"

static int err_vset(struct err *err, int code, int with_errno, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));
static int err_vset(struct err *err, int code, int with_errno, const char *fmt, va_list ap)
{
        if (code >= 0)
                code = -EINVAL;
        if (!err)
                return code;
        if (err->code != 0)
                return code;
        err->code = code;
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (with_errno && n >= 0 && (size_t) n < sizeof(err->msg))
                snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(-code));
        return code;
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = err_vset(err, code, 0, fmt, ap);
        va_end(ap);
        return r;
}

int err_sys(struct err *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = err_vset(err, code, 1, fmt, ap);
        va_end(ap);
        return r;
}

int err_wrap(struct err *err, const char *fmt, ...)
{
        char prefix[256], old[sizeof(err->msg)];
        va_list ap;

        if (!err || err->code == 0)
                return err ? err->code : -EINVAL;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        size_t pl = strnlen(prefix, sizeof(prefix));
        memcpy(err->msg, prefix, pl);
        size_t rest = sizeof(err->msg) - pl;
        if (rest > 3) {
                memcpy(err->msg + pl, ": ", 2);
                size_t ol = strnlen(old, rest - 3);
                memcpy(err->msg + pl + 2, old, ol);
                err->msg[pl + 2 + ol] = '\0';
        } else
                err->msg[sizeof(err->msg) - 1] = '\0';
        return err->code;
}

void err_clear(struct err *err)
{
        err->code = 0;
        err->msg[0] = '\0';
}
