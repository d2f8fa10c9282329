/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* "TERM", "SIGTERM", "15", "RTMIN+3" -> the signal number, or -EINVAL */
int signal_parse(const char *s);
