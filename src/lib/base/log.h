/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* path NULL: stderr only.  json: one {"level","msg","time"} object per line, as runc
 * writes it (containerd's shim reads the last error from this file). */
int log_setup(const char *path, bool json, enum log_level level, const char *prog);
int log_level_parse(const char *s, enum log_level *ret);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
/* the fd of the log file, or -1: a forked child keeps it until exec */
int log_fd(void);

/* A bad command line: "CMD: what (see 'PROG CMD --help')".  Returns code. */
int log_usage(int code, const char *cmd, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
