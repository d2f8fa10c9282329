/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <string.h>

#include "name.h"

static bool alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int name_check_container(const char *name, struct err *err)
{
        size_t n = strlen(name);
        if (n == 0)
                return err_set(err, -EINVAL, "a container name cannot be empty");
        if (n > NAME_MAX_CONTAINER)
                return err_set(err, -EINVAL, "container name '%.40s...': longer than %d characters", name,
                               NAME_MAX_CONTAINER);
        for (size_t i = 0; i < n; i++)
                if (!alnum(name[i]) && (i == 0 || !strchr("_.-", name[i])))
                        return err_set(err, -EINVAL,
                                       "invalid container name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed",
                                       name);
        return 0;
}

int name_check_hostname(const char *name, struct err *err)
{
        size_t n = strlen(name), label = 0;
        bool ok = n > 0 && n <= NAME_MAX_HOSTNAME;
        for (size_t i = 0; ok && i <= n; i++) {
                char c = name[i];
                if (c == '.' || c == '\0') {
                        /* a label: not empty, no '-' at either end */
                        ok = label > 0 && label <= 63 && name[i - 1] != '-';
                        label = 0;
                } else {
                        ok = alnum(c) || (c == '-' && label > 0);
                        label++;
                }
        }
        if (!ok)
                return err_set(err, -EINVAL,
                               "invalid hostname '%s': dot-separated labels of letters, digits and '-' "
                               "(not first or last), at most %d characters", name, NAME_MAX_HOSTNAME);
        return 0;
}
