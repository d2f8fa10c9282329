/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_file = -1;
static bool log_json;
static enum log_level log_max = LOG_LVL_WARNING;
static const char *log_prog = "den";

int log_setup(const char *path, bool json, enum log_level level, const char *prog)
{
        log_json = json;
        log_max = level;
        if (prog)
                log_prog = prog;
        if (path) {
                int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (fd < 0)
                        return -errno;
                log_file = fd;
        }
        return 0;
}

int log_fd(void)
{
        return log_file;
}

int log_level_parse(const char *s, enum log_level *ret)
{
        static const char *names[] = { "error", "warning", "info", "debug" };
        for (int i = 0; i < 4; i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = i;
                        return 0;
                }
        if (strcmp(s, "warn") == 0) {
                *ret = LOG_LVL_WARNING;
                return 0;
        }
        if (strcmp(s, "fatal") == 0 || strcmp(s, "panic") == 0) {
                *ret = LOG_LVL_ERROR;
                return 0;
        }
        return -EINVAL;
}

static void json_escape(char *out, size_t n, const char *in)
{
        size_t o = 0;
        for (; *in && o + 7 < n; in++) {
                unsigned char c = *in;
                if (c == '"' || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = c;
                } else if (c < 0x20) {
                        o += snprintf(out + o, n - o, "\\u%04x", c);
                } else
                        out[o++] = c;
        }
        out[o] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        static const char *names[] = { "error", "warning", "info", "debug" };
        char msg[1024], line[2400];
        va_list ap;

        if (level > log_max)
                return;
        int saved = errno;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_file >= 0) {
                int n;
                if (log_json) {
                        char esc[2100], ts[64];
                        struct timespec t;
                        struct tm tm;
                        clock_gettime(CLOCK_REALTIME, &t);
                        gmtime_r(&t.tv_sec, &tm);
                        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
                        json_escape(esc, sizeof(esc), msg);
                        n = snprintf(line, sizeof(line),
                                     "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%09ldZ\"}\n",
                                     names[level], esc, ts, t.tv_nsec);
                } else
                        n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_prog, names[level], msg);
                if (n > 0 && write(log_file, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1) < 0) {
                }
        }
        /* errors and warnings always reach stderr too: callers such as podman show it */
        if (log_file < 0 || level <= LOG_LVL_WARNING) {
                int n = level == LOG_LVL_ERROR ? snprintf(line, sizeof(line), "%s: %s\n", log_prog, msg)
                                               : snprintf(line, sizeof(line), "%s: %s: %s\n", log_prog,
                                                          names[level], msg);
                if (n > 0 && write(2, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1) < 0) {
                }
        }
        errno = saved;
}

int log_usage(int code, const char *cmd, const char *fmt, va_list ap)
{
        char m[512];
        vsnprintf(m, sizeof(m), fmt, ap);
        log_error("%s: %s (see '%s %s --help')", cmd, m, log_prog, cmd);
        return code;
}
