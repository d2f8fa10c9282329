/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The event log of a store (events.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "events.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

static long long now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void events_log(const char *root, const char *type, const char *action, const char *id, json_t *attrs,
                long long time_ns)
{
        if (!root) {
                json_decref(attrs);
                return;
        }
        long long t = time_ns > 0 ? time_ns : now_ns();
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:o},s:s,s:I,s:I}", "Type", type, "Action", action, "status",
                              action, "id", id ? id : "", "Actor", "ID", id ? id : "", "Attributes",
                              attrs ? attrs : json_object(), "scope", "local", "time", (json_int_t) (t / 1000000000LL),
                              "timeNano", (json_int_t) t);
        if (!j)
                return;
        _cleanup_free_ char *line = json_dump_str(j, false);
        json_decref(j);
        if (!line)
                return;
        _cleanup_free_ char *path = xasprintf("%s/events", root), *old = xasprintf("%s/events.1", root);
        struct stat st;
        /* two writers may both rotate: the second renames a file of a few lines, lost to readers */
        if (stat(path, &st) == 0 && st.st_size > (off_t) EVENTS_MAX)
                rename(path, old);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        size_t n = strlen(line);
        line[n] = '\n'; /* json_dump_str's NUL: the line is written whole, in one write */
        if (write(fd, line, n + 1) < 0)
                return;
}

void events_ctr(const char *root, const char *id, const char *action, json_t *extra)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/container.json", root, id);
        struct err e = { 0 };
        json_t *rec = json_load_path(p, 4u << 20, &e);
        json_t *attrs = json_pack("{s:s,s:s}", "name", json_string_value(json_object_get(rec, "Name")) ?: "", "image",
                                  json_string_value(json_object_get(rec, "Image")) ?: "");
        json_decref(rec);
        const char *k;
        json_t *v;
        /* docker's attributes are strings */
        json_object_foreach(extra, k, v)
        {
                if (json_is_integer(v))
                        json_object_set_new(attrs, k, json_sprintf("%lld", (long long) json_integer_value(v)));
                else
                        json_object_set(attrs, k, v);
        }
        json_decref(extra);
        events_log(root, "container", action, id, attrs, 0);
}

void events_img(const char *root, const char *action, const char *id, const char *name)
{
        events_log(root, "image", action, id, json_pack("{s:s}", "name", name ? name : id), 0);
}

static char *died_path(const char *runroot, const char *id)
{
        return xasprintf("%s/containers/%s/exit.event", runroot, id);
}

void events_ctr_died(const char *root, const char *runroot, const char *id, int code)
{
        if (!runroot || code < 0)
                return;
        _cleanup_free_ char *mark = died_path(runroot, id), *dir = xasprintf("%s/containers/%s", runroot, id);
        /* the run directory locked while its mark is made and the die logged: one who
         * finds the mark made finds the die logged (stop logs its stop after it) */
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
                return;
        /* created once per run: whoever sees the end first logs it */
        _cleanup_close_ int fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        events_ctr(root, id, "die", json_pack("{s:i}", "exitCode", code));
}

void events_ctr_started(const char *runroot, const char *id)
{
        _cleanup_free_ char *mark = died_path(runroot, id);
        unlink(mark);
}

void events_ctr_check(const char *root, const char *runroot, const char *id)
{
        if (!runroot || record_keeper_alive(runroot, id, NULL))
                return;
        json_t *rec = record_load(root, id);
        int code = -1;
        if (rec)
                record_state(rec, runroot, id, false, &code);
        json_decref(rec);
        events_ctr_died(root, runroot, id, code);
}

void events_img_untagged(const char *root, const char *manifest, const char *name)
{
        events_img(root, "untag", manifest, name);
        _cleanup_free_ char *p = xasprintf("%s/names.json", root);
        struct err e = { 0 };
        json_t *names = json_load_path(p, 64u << 20, &e), *v;
        const char *k;
        bool named = false;
        json_object_foreach(names, k, v) named |= strcmp(json_string_value(v) ?: "", manifest) == 0;
        json_decref(names);
        if (!named)
                events_img(root, "delete", manifest, name);
}
