/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signal.h"

int signal_parse(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);
        if (*s && !*end)
                return n > 0 && n < NSIG ? (int) n : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int i = 1; i < NSIG; i++) {
                const char *name = sigabbrev_np(i);
                if (name && strcasecmp(s, name) == 0)
                        return i;
        }
        if (strncasecmp(s, "RTMIN+", 6) == 0) {
                n = strtol(s + 6, &end, 10);
                if (!*end && SIGRTMIN + n <= SIGRTMAX)
                        return SIGRTMIN + (int) n;
        }
        return -EINVAL;
}
