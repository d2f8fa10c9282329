/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Docker Engine API's routes: more container operations: top, stats, changes, export, pause, rename, restart, update, prune, archive. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/runtime/ctr.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/format.h"

/* the full id and state of a container; false (404 answered) when there is none */
static bool ctr_lookup(struct api_req *q, struct api_reply *ret, char **ret_id, char **ret_state)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        if (engine_inspect(q->root, q->runroot, q->params[0], &rec, &err) < 0) {
                if (-err.code == ENOENT)
                        api_error(ret, 404, "No such container: %s", q->params[0]);
                else
                        api_fail(ret, &err);
                return false;
        }
        *ret_id = xstrdup(json_string_value(json_object_get(rec, "Id")) ?: q->params[0]);
        if (ret_state)
                *ret_state = xstrdup(json_string_value(json_object_get(rec, "Status")) ?: "unknown");
        json_decref(rec);
        return true;
}

/* ---- archive (docker cp), export ---- */

static char *base64(const unsigned char *in, size_t n)
{
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned) in[i] << 16 | (i + 1 < n ? (unsigned) in[i + 1] << 8 : 0) |
                             (i + 2 < n ? in[i + 2] : 0);
                *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63];
                *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
                *o++ = i + 2 < n ? tab[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

/* st_mode as Go's os.FileMode, what docker's CLI decodes */
static unsigned long long go_mode(mode_t m)
{
        unsigned long long g = m & 0777;
        if (S_ISDIR(m))
                g |= 1ULL << 31;
        else if (S_ISLNK(m))
                g |= 1ULL << 27;
        else if (S_ISFIFO(m))
                g |= 1ULL << 25;
        else if (S_ISSOCK(m))
                g |= 1ULL << 24;
        else if (S_ISBLK(m))
                g |= 1ULL << 26;
        else if (S_ISCHR(m))
                g |= 1ULL << 26 | 1ULL << 21;
        if (m & S_ISUID)
                g |= 1ULL << 23;
        if (m & S_ISGID)
                g |= 1ULL << 22;
        if (m & S_ISVTX)
                g |= 1ULL << 20;
        return g;
}

static char *rfc3339_nano(const struct timespec *ts)
{
        struct tm tm;
        char b[64];
        gmtime_r(&ts->tv_sec, &tm);
        strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", b, ts->tv_nsec);
}

/* X-Docker-Container-Path-Stat: base64 of {name, size, mode, mtime, linkTarget} */
static char *path_stat_header(const char *path, const struct stat *st, const char *link)
{
        /* a symlink's target as a path of the container (docker cp -L asks for it next) */
        _cleanup_free_ char *dir = xstrdup(path), *joined = NULL, *clean = NULL, *target = NULL;
        if (link) {
                *strrchr(dir, '/') = '\0';
                joined = link[0] == '/' ? xstrdup(link) : xasprintf("%s/%s", dir, link);
                clean = path_clean_relative(joined);
                target = xasprintf("/%s", clean);
        }
        _cleanup_free_ char *p = xstrdup(path), *mtime = rfc3339_nano(&st->st_mtim);
        size_t l = strlen(p);
        while (l > 1 && p[l - 1] == '/')
                p[--l] = '\0';
        const char *name = strrchr(p, '/') && l > 1 ? strrchr(p, '/') + 1 : p;
        json_t *j = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", name, "size", (json_int_t) st->st_size, "mode",
                              (json_int_t) go_mode(st->st_mode), "mtime", mtime, "linkTarget", target ? target : "");
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        _cleanup_free_ char *b = base64((const unsigned char *) s, strlen(s));
        return xasprintf("X-Docker-Container-Path-Stat: %s", b);
}

/* an unlinked file of the store for a tar made before it is sent (the lock is not held while it goes) */
static int tmp_file(const char *root)
{
        int fd = open(root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        _cleanup_free_ char *t = xasprintf("%s/.tar-XXXXXX", root);
        fd = mkostemp(t, O_CLOEXEC);
        if (fd >= 0)
                unlink(t);
        return fd;
}

static size_t file_body(void *cls, char *buf, size_t max)
{
        ssize_t n = read((int) (intptr_t) cls, buf, max);
        return n > 0 ? (size_t) n : 0;
}

static void file_free(void *cls)
{
        close((int) (intptr_t) cls);
}

/* answer the file fd (rewound) as a tar */
static int reply_file(struct api_reply *ret, int fd)
{
        if (lseek(fd, 0, SEEK_SET) < 0) {
                close(fd);
                return api_error(ret, 500, "cannot read the archive back: %m");
        }
        ret->status = 200;
        ret->content_type = "application/x-tar";
        ret->gen = file_body, ret->gen_cls = (void *) (intptr_t) fd, ret->gen_free = file_free;
        return 0;
}

static int archive_fail(struct api_req *q, struct api_reply *ret, const char *path, struct err *err)
{
        if (-err->code == ENOENT)
                return api_error(ret, 404, "Could not find the file %s in container %s", path, q->params[0]);
        if (-err->code == ENOTDIR || -err->code == EEXIST)
                return api_error(ret, 400, "%s", err->msg);
        return api_fail(ret, err);
}

static int api_archive_get(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        const char *path = api_query(q, "path");
        _cleanup_free_ char *id = NULL, *link = NULL;
        struct stat st;
        if (!path || !*path)
                return api_error(ret, 400, "path is required");
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        if (engine_archive_stat(q->root, q->runroot, id, path, &st, &link, &err) < 0)
                return archive_fail(q, ret, path, &err);
        ret->header = path_stat_header(path, &st, link);
        if (strcmp(q->method, "HEAD") == 0) {
                ret->status = 200;
                return 0;
        }
        int fd = tmp_file(q->root);
        if (fd < 0)
                return api_error(ret, 500, "cannot make a file for the archive in %s: %m", q->root);
        if (engine_archive_get(q->root, q->runroot, id, path, fd, &err) < 0) {
                close(fd);
                return archive_fail(q, ret, path, &err);
        }
        return reply_file(ret, fd);
}

static int api_archive_put(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        const char *path = api_query(q, "path");
        _cleanup_free_ char *id = NULL;
        if (!path || !*path)
                return api_error(ret, 400, "path is required");
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        if (q->body_fd < 0)
                return api_error(ret, 400, "a tar archive is required as the body");
        if (engine_archive_put(q->root, q->runroot, id, path, q->body_fd, &err) < 0)
                return archive_fail(q, ret, path, &err);
        ret->status = 200;
        return 0;
}

static int api_ctr_export(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        _cleanup_free_ char *id = NULL;
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        int fd = tmp_file(q->root);
        if (fd < 0)
                return api_error(ret, 500, "cannot make a file for the archive in %s: %m", q->root);
        if (engine_export(q->root, q->runroot, id, fd, &err) < 0) {
                close(fd);
                return api_fail(ret, &err);
        }
        return reply_file(ret, fd);
}

static int api_ctr_changes(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *ch = NULL;
        _cleanup_free_ char *id = NULL;
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        if (engine_changes(q->root, q->runroot, id, &ch, &err) < 0)
                return api_fail(ret, &err);
        return api_json(ret, 200, ch);
}

/* ---- processes: top, stats ---- */

/* /proc/PID/stat's fields after the name: state is field 3; utime 14, stime 15, starttime 22 */
static bool proc_stat(pid_t pid, pid_t *ppid, unsigned long long *utime, unsigned long long *stime,
                      unsigned long long *start)
{
        char p[64], buf[2048];
        snprintf(p, sizeof(p), "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        char *e = strrchr(buf, ')');
        int pp;
        return e && sscanf(e + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
                            &pp, utime, stime, start) == 4 &&
               (*ppid = pp, true);
}

/* a number from a "Key:   N" line of /proc/PID/status or /proc/meminfo */
static unsigned long long proc_field(const char *path, const char *key)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[256];
        size_t kl = strlen(key);
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, kl) == 0 && line[kl] == ':')
                        return strtoull(line + kl + 1, NULL, 10);
        return 0;
}

static char *proc_cmdline(pid_t pid)
{
        char p[64], buf[4096];
        snprintf(p, sizeof(p), "/proc/%d/cmdline", (int) pid);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0) {
                snprintf(p, sizeof(p), "/proc/%d/comm", (int) pid);
                _cleanup_close_ int c = open(p, O_RDONLY | O_CLOEXEC);
                n = c < 0 ? -1 : read(c, buf, sizeof(buf) - 1);
                if (n <= 0)
                        return xstrdup("?");
                buf[n - (buf[n - 1] == '\n')] = '\0';
                return xasprintf("[%s]", buf);
        }
        while (n > 0 && buf[n - 1] == '\0')
                n--;
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';
        buf[n] = '\0';
        return xstrdup(buf);
}

static int engine_error(struct api_reply *ret, const char *id, struct err *err)
{
        if (-err->code == ESRCH)
                return api_error(ret, 409, "Container %s is not running", id);
        return api_fail(ret, err);
}

/* ps's output on the host, stdout only; NULL when it cannot run or fails */
static char *run_ps(const char *args)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *copy = xstrdup(args);
        strv_push(&argv, "ps");
        for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                strv_push(&argv, w);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return NULL;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        pid_t pid;
        int r = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        char *out = NULL;
        size_t len = 0;
        if (r == 0 && fs_read_fd(p[0], 16 << 20, &out, &len) < 0)
                out = NULL;
        close(p[0]);
        int status = 0;
        if (r == 0 && (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                free(out);
                out = NULL;
        }
        return out;
}

/* dockerd's top: ps ps_args on the host, its lines of the container's pids; the last column
 * takes the rest of the line */
static int top_ps(struct api_reply *ret, const char *args, const pid_t *pids, size_t n)
{
        _cleanup_free_ char *out = run_ps(args);
        if (!out)
                return api_error(ret, 500, "ps %s failed (or there is no ps on the host)", args);
        json_t *titles = json_array(), *procs = json_array();
        long pid_col = -1;
        char *save = NULL;
        char *line = strtok_r(out, "\n", &save);
        for (char *s2 = NULL, *w = line ? strtok_r(line, " \t", &s2) : NULL; w; w = strtok_r(NULL, " \t", &s2)) {
                if (strcmp(w, "PID") == 0)
                        pid_col = (long) json_array_size(titles);
                json_array_append_new(titles, json_string(w));
        }
        size_t nt = json_array_size(titles);
        if (pid_col < 0) {
                json_decref(titles), json_decref(procs);
                return api_error(ret, 400, "Couldn't find PID field in ps output");
        }
        while ((line = strtok_r(NULL, "\n", &save))) {
                json_t *row = json_array();
                char *p = line;
                for (size_t i = 0; i < nt; i++) {
                        p += strspn(p, " \t");
                        size_t l = i + 1 == nt ? strlen(p) : strcspn(p, " \t");
                        json_array_append_new(row, json_stringn(p, l));
                        p += l;
                }
                long pid = strtol(json_string_value(json_array_get(row, (size_t) pid_col)) ?: "", NULL, 10);
                bool ours = false;
                for (size_t i = 0; i < n && !ours; i++)
                        ours = pids[i] == pid;
                if (ours)
                        json_array_append_new(procs, row);
                else
                        json_decref(row);
        }
        return api_json(ret, 200, json_pack("{s:o,s:o}", "Titles", titles, "Processes", procs));
}

static int api_ctr_top(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        _cleanup_free_ char *id = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n;
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        if (engine_pids(q->root, q->runroot, id, &pids, &n, &err) < 0)
                return engine_error(ret, q->params[0], &err);
        const char *args = api_query(q, "ps_args");
        if (args && *args && strcmp(args, "-ef") != 0)
                return top_ps(ret, args, pids, n);
        /* ps -ef's columns, read from /proc (no ps needed) */
        long tck = sysconf(_SC_CLK_TCK);
        double uptime = 0;
        _cleanup_fclose_ FILE *u = fopen("/proc/uptime", "re");
        if (!u || fscanf(u, "%lf", &uptime) != 1)
                uptime = 0;
        time_t boot = time(NULL) - (time_t) uptime;
        json_t *procs = json_array();
        for (size_t i = 0; i < n; i++) {
                pid_t ppid;
                unsigned long long ut, st, start;
                if (!proc_stat(pids[i], &ppid, &ut, &st, &start))
                        continue;
                char p[64], uid[32], stime[16], cpu[32];
                snprintf(p, sizeof(p), "/proc/%d/status", (int) pids[i]);
                unsigned long long uid_n = proc_field(p, "Uid");
                struct passwd pw, *pwp = NULL;
                char pwbuf[1024];
                if (getpwuid_r((uid_t) uid_n, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp)
                        snprintf(uid, sizeof(uid), "%s", pw.pw_name);
                else
                        snprintf(uid, sizeof(uid), "%llu", uid_n);
                time_t started = boot + (time_t) (start / (unsigned long long) tck);
                struct tm tm;
                localtime_r(&started, &tm);
                strftime(stime, sizeof(stime), "%H:%M", &tm);
                unsigned long long secs = (ut + st) / (unsigned long long) tck;
                snprintf(cpu, sizeof(cpu), "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
                _cleanup_free_ char *cmd = proc_cmdline(pids[i]);
                char spid[16], sppid[16];
                snprintf(spid, sizeof(spid), "%d", (int) pids[i]);
                snprintf(sppid, sizeof(sppid), "%d", (int) ppid);
                json_array_append_new(procs, json_pack("[s,s,s,s,s,s,s,s]", uid, spid, sppid, "0", stime, "?", cpu, cmd));
        }
        return api_json(ret, 200,
                        json_pack("{s:[s,s,s,s,s,s,s,s],s:o}", "Titles", "UID", "PID", "PPID", "C", "STIME", "TTY",
                                  "TIME", "CMD", "Processes", procs));
}

struct sample {
        unsigned long long cpu_ns, system_ns, rss, procs;
        struct timespec at;
};

/* the processes' CPU time and memory from /proc (den's containers have no cgroup of their own) */
static void sample_take(const pid_t *pids, size_t n, struct sample *s)
{
        long tck = sysconf(_SC_CLK_TCK);
        unsigned long long ns_per_tick = 1000000000ULL / (unsigned long long) (tck > 0 ? tck : 100);
        memset(s, 0, sizeof(*s));
        clock_gettime(CLOCK_REALTIME, &s->at);
        for (size_t i = 0; i < n; i++) {
                pid_t ppid;
                unsigned long long ut, st, start;
                char p[64];
                if (!proc_stat(pids[i], &ppid, &ut, &st, &start))
                        continue;
                snprintf(p, sizeof(p), "/proc/%d/status", (int) pids[i]);
                s->cpu_ns += (ut + st) * ns_per_tick;
                s->rss += proc_field(p, "VmRSS") * 1024;
                s->procs++;
        }
        _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
        unsigned long long v[8] = { 0 };
        if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                        &v[6], &v[7]) == 8)
                for (int i = 0; i < 8; i++)
                        s->system_ns += v[i] * ns_per_tick;
}

static json_t *cpu_json(const struct sample *s)
{
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        return json_pack("{s:{s:I,s:I,s:I},s:I,s:I,s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage",
                         (json_int_t) s->cpu_ns, "usage_in_kernelmode", (json_int_t) 0, "usage_in_usermode",
                         (json_int_t) 0, "system_cpu_usage", (json_int_t) s->system_ns, "online_cpus",
                         (json_int_t) (cpus > 0 ? cpus : 1), "throttling_data", "periods", 0, "throttled_periods", 0,
                         "throttled_time", 0);
}

/* docker's StatsJSON, as much as its CLI shows */
static json_t *stats_json(const char *id, const char *name, const struct sample *now, const struct sample *pre)
{
        _cleanup_free_ char *read = rfc3339_nano(&now->at);
        _cleanup_free_ char *preread = pre ? rfc3339_nano(&pre->at) : xstrdup("0001-01-01T00:00:00Z");
        struct sample zero = { 0 };
        unsigned long long limit = proc_field("/proc/meminfo", "MemTotal") * 1024;
        return json_pack("{s:s,s:s,s:{s:I},s:{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n},s:i,s:{},s:o,s:o,s:{s:I,s:I,s:I,s:{}},"
                         "s:s,s:s}",
                         "read", read, "preread", preread, "pids_stats", "current", (json_int_t) now->procs,
                         "blkio_stats", "io_service_bytes_recursive", "io_serviced_recursive",
                         "io_queue_recursive", "io_service_time_recursive", "io_wait_time_recursive",
                         "io_merged_recursive", "io_time_recursive", "sectors_recursive", "num_procs", 0,
                         "storage_stats", "cpu_stats", cpu_json(now), "precpu_stats", cpu_json(pre ? pre : &zero),
                         "memory_stats", "usage", (json_int_t) now->rss, "max_usage", (json_int_t) now->rss, "limit",
                         (json_int_t) limit, "stats", "name", name, "id", id);
}

struct stats_stream {
        char *root, *runroot, *id, *name;
};

static void stats_stream_free(struct stats_stream *s)
{
        free(s->root), free(s->runroot), free(s->id), free(s->name);
        free(s);
}

/* the pids of the container, under the service's lock (they come from its record); none once it ended */
static size_t stats_pids(struct stats_stream *s, pid_t **pids)
{
        struct err err = { 0 };
        size_t n = 0;
        api_serial(true);
        if (engine_pids(s->root, s->runroot, s->id, pids, &n, &err) < 0)
                *pids = NULL, n = 0;
        api_serial(false);
        return n;
}

static void stats_loop(void *arg, int fd)
{
        struct stats_stream *s = arg;
        struct sample pre, now;
        bool have_pre = false;
        for (;;) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = stats_pids(s, &pids);
                sample_take(pids, n, &now);
                json_t *j = stats_json(s->id, s->name, &now, have_pre ? &pre : NULL);
                int r = api_stream_json(fd, j);
                json_decref(j);
                if (r < 0)
                        break;
                pre = now, have_pre = true;
                sleep(1);
        }
        stats_stream_free(s);
}

static int api_ctr_stats(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *rec = NULL;
        api_serial(true);
        int r = engine_inspect(q->root, q->runroot, q->params[0], &rec, &err);
        api_serial(false);
        if (r < 0)
                return -err.code == ENOENT ? api_error(ret, 404, "No such container: %s", q->params[0])
                                           : api_fail(ret, &err);
        struct stats_stream *s = xcalloc(1, sizeof(*s));
        s->root = xstrdup(q->root), s->runroot = q->runroot ? xstrdup(q->runroot) : NULL;
        s->id = xstrdup(json_string_value(json_object_get(rec, "Id")) ?: q->params[0]);
        s->name = xasprintf("/%s", json_string_value(json_object_get(rec, "Name")) ?: "");
        json_decref(rec);
        const char *stream = api_query(q, "stream");
        if (!stream || api_query_bool(q, "stream"))
                return api_stream(ret, 200, NULL, stats_loop, s);
        /* one answer; unless one-shot, with a first sample a moment before it for the CPU's share */
        struct sample pre, now;
        _cleanup_free_ pid_t *p1 = NULL, *p2 = NULL;
        size_t n1 = 0, n2;
        bool one_shot = api_query_bool(q, "one-shot");
        if (!one_shot) {
                n1 = stats_pids(s, &p1);
                sample_take(p1, n1, &pre);
                usleep(500 * 1000);
        }
        n2 = stats_pids(s, &p2);
        sample_take(p2, n2, &now);
        json_t *j = stats_json(s->id, s->name, &now, one_shot ? NULL : &pre);
        stats_stream_free(s);
        return api_json(ret, 200, j);
}

/* ---- pause, rename, restart, update, prune ---- */

static int api_ctr_pause(struct api_req *q, struct api_reply *ret)
{
        _cleanup_free_ char *id = NULL, *st = NULL;
        bool pause = strstr(q->path, "/unpause") == NULL;
        if (!ctr_lookup(q, ret, &id, &st))
                return 0;
        if (strcmp(st, "running") != 0)
                return api_error(ret, 409, "Container %s is not running", q->params[0]);
        if (!pause)
                return api_error(ret, 409, "Container %s is not paused", q->params[0]);
        /* a freezer needs a cgroup: den's keeper makes none (rootless, it could not) */
        return api_error(ret, 501,
                         "cannot pause container %s: den runs its containers without a cgroup of their own, "
                         "so there is no freezer to stop them with",
                         q->params[0]);
}

static int api_ctr_rename(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        const char *name = api_query(q, "name");
        _cleanup_free_ char *id = NULL;
        if (!name || !*name)
                return api_error(ret, 400, "a name is required (?name=)");
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        if (engine_rename(q->root, id, name[0] == '/' ? name + 1 : name, &err) < 0) {
                if (-err.code == EEXIST)
                        return api_error(ret, 409,
                                         "Conflict. The container name \"/%s\" is already in use. You have to remove (or rename) that container to be able to reuse that name.",
                                         name[0] == '/' ? name + 1 : name);
                return api_fail(ret, &err);
        }
        ret->status = 204;
        return 0;
}

static int api_ctr_restart(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        const char *t = api_query(q, "t");
        int timeout = t && *t ? atoi(t) : 10;
        _cleanup_free_ char *id = NULL, *st = NULL;
        api_serial(true);
        bool found = ctr_lookup(q, ret, &id, &st);
        api_serial(false);
        if (!found)
                return 0;
        /* stopped without the lock (it takes up to t seconds), as the stop route does */
        if (strcmp(st, "running") == 0 &&
            engine_stop(q->root, q->runroot, id, timeout < 0 ? 0 : timeout, &err) < 0)
                return api_fail(ret, &err);
        /* the start route: its keeper reaped (and removed when AutoRemove) by the service */
        api_serial(true);
        api_ctr_start(q, ret);
        api_serial(false);
        if (ret->status == 304)
                ret->status = 204;
        return 0;
}

static int api_ctr_update(struct api_req *q, struct api_reply *ret)
{
        _cleanup_free_ char *id = NULL, *bad = NULL;
        json_error_t je;
        if (!ctr_lookup(q, ret, &id, NULL))
                return 0;
        json_t *b = q->body_len ? json_loads(q->body, 0, &je) : json_object(), *v;
        const char *k;
        if (!json_is_object(b)) {
                json_decref(b);
                return api_error(ret, 400, "the body must be a JSON object");
        }
        /* nothing is updatable without a cgroup: only what leaves it as it is passes */
        json_object_foreach(b, k, v)
        {
                const char *pol = json_string_value(json_object_get(v, "Name"));
                bool same = json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
                            (json_is_string(v) && !*json_string_value(v)) ||
                            (json_is_array(v) && json_array_size(v) == 0) ||
                            (strcmp(k, "RestartPolicy") == 0 && (!pol || !*pol || strcmp(pol, "no") == 0) &&
                             json_integer_value(json_object_get(v, "MaximumRetryCount")) == 0) ||
                            (strcmp(k, "MemorySwappiness") == 0 && json_integer_value(v) == -1);
                if (same)
                        continue;
                char *n = xasprintf("%s%s%s", bad ? bad : "", bad ? ", " : "", k);
                free(bad);
                bad = n;
        }
        json_decref(b);
        if (bad)
                return api_error(ret, 400,
                                 "den cannot update %s: its containers have no cgroup of their own to set limits on",
                                 bad);
        return api_json(ret, 200, json_pack("{s:[]}", "Warnings"));
}

/* prune's until: a time (seconds since the epoch or RFC 3339) or a Go duration ago ("24h", "1h30m"); -1: invalid */
static time_t until_of(const char *v)
{
        char *end;
        double secs = strtod(v, &end);
        if (end != v && !*end)
                return (time_t) secs;
        time_t t = format_parse_time(v);
        if (t >= 0)
                return t;
        double ago = 0;
        for (const char *p = v; *p;) {
                double n = strtod(p, &end);
                if (end == p)
                        return -1;
                if (strncmp(end, "ms", 2) == 0)
                        ago += n / 1000, end += 2;
                else if (*end == 'h' || *end == 'm' || *end == 's')
                        ago += n * (*end == 'h' ? 3600 : *end == 'm' ? 60 : 1), end++;
                else
                        return -1;
                p = end;
        }
        return time(NULL) - (time_t) ago;
}

/* prune's filters: until (created before), label and label! (den's containers have no labels:
 * a label matches none, label! all); NULL (400 answered) for others */
static bool prune_filters(struct api_req *q, struct api_reply *ret, time_t *until, bool *none)
{
        const char *s = api_query(q, "filters"), *k;
        json_error_t je;
        json_t *f = s && *s ? json_loads(s, 0, &je) : json_object(), *v;
        bool ok = json_is_object(f);
        *until = -1, *none = false;
        json_object_foreach(f, k, v)
        {
                const char *first = json_is_array(v) ? json_string_value(json_array_get(v, 0))
                                                     : json_object_iter_key(json_object_iter(v));
                if (!first)
                        continue;
                if (strcmp(k, "until") == 0 && (*until = until_of(first)) < 0) {
                        api_error(ret, 400, "invalid until filter: %s", first);
                        json_decref(f);
                        return false;
                }
                if (strcmp(k, "label") == 0)
                        *none = true;
                else if (strcmp(k, "until") != 0 && strcmp(k, "label!") != 0) {
                        api_error(ret, 400, "invalid filter '%s'", k);
                        json_decref(f);
                        return false;
                }
        }
        json_decref(f);
        if (!ok)
                api_error(ret, 400, "invalid filters: %s", s);
        return ok;
}

static int api_ctr_prune(struct api_req *q, struct api_reply *ret)
{
        struct err err = { 0 };
        json_t *list = NULL, *c, *gone;
        unsigned long long space = 0;
        size_t i;
        time_t until;
        bool none;
        if (!prune_filters(q, ret, &until, &none))
                return 0;
        if (engine_list(q->root, q->runroot, &list, &err) < 0)
                return api_fail(ret, &err);
        gone = json_array();
        json_array_foreach(list, i, c)
        {
                const char *id = json_string_value(json_object_get(c, "Id"));
                const char *st = json_string_value(json_object_get(c, "Status")) ?: "";
                json_t *cr = json_object_get(c, "Created");
                time_t created = json_is_integer(cr) ? (time_t) json_integer_value(cr)
                                                     : format_parse_time(json_string_value(cr));
                if (!id || strcmp(st, "running") == 0 || none || (until >= 0 && created >= until))
                        continue;
                unsigned long long size = engine_size_rw(q->root, id);
                err_clear(&err);
                if (engine_rm(q->root, q->runroot, id, false, &err) < 0)
                        continue;
                space += size;
                json_array_append_new(gone, json_string(id));
        }
        json_decref(list);
        return api_json(ret, 200,
                        json_pack("{s:o,s:I}", "ContainersDeleted", gone, "SpaceReclaimed", (json_int_t) space));
}

const struct api_route api_routes_ops[] = {
        { "GET", "/containers/{id}/archive", api_archive_get, true },
        { "PUT", "/containers/{id}/archive", api_archive_put, true, true },
        { "GET", "/containers/{id}/export", api_ctr_export, true },
        { "GET", "/containers/{id}/changes", api_ctr_changes, true },
        { "GET", "/containers/{id}/top", api_ctr_top, true },
        { "GET", "/containers/{id}/stats", api_ctr_stats, false },
        { "POST", "/containers/{id}/pause", api_ctr_pause, true },
        { "POST", "/containers/{id}/unpause", api_ctr_pause, true },
        { "POST", "/containers/{id}/rename", api_ctr_rename, true },
        { "POST", "/containers/{id}/restart", api_ctr_restart, false },
        { "POST", "/containers/{id}/update", api_ctr_update, true },
        { "POST", "/containers/prune", api_ctr_prune, true },
        { NULL },
};
