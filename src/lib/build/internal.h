/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* a growing string of the builder's parser and expansion, always NUL-terminated */
struct df_buf {
        char *s;
        size_t n, cap;
};

void df_buf_add(struct df_buf *b, const char *p, size_t n);
