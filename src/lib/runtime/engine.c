/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den's verbs on containers: each a thin caller of record.c, ctr.c and keeper_ctl.c */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctr.h"
#include "ctr_internal.h"
#include "engine.h"
#include "events.h"
#include "internal.h"
#include "name.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"

char *engine_default_root(void)
{
        const char *e = getenv("DEN_ROOT");
        if (e && *e)
                return xstrdup(e);
        if (geteuid() == 0)
                return xstrdup("/var/lib/den");
        const char *xdg = getenv("XDG_DATA_HOME");
        if (xdg && *xdg)
                return xasprintf("%s/den", xdg);
        const char *home = getenv("HOME");
        return xasprintf("%s/.local/share/den", home && *home ? home : "/tmp");
}

int engine_runroot(const char *given, char **ret, struct err *err)
{
        _cleanup_free_ char *rr = NULL;
        int r = runtime_runroot_open(given, &rr, err);
        if (r < 0)
                return r;
        *ret = runtime_dir_real(rr);
        return 0;
}

int engine_run(const struct engine_run_opts *o, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = ctr_new(o, true, true, &id, err);
        /* detached, the id once its command runs: a failure prints none */
        if (r >= 0 && o->detach) {
                printf("%s\n", id);
                fflush(stdout);
        }
        return r;
}

int engine_create_id(const struct engine_run_opts *o, char **ret_id, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = ctr_new(o, false, true, &id, err);
        if (r >= 0)
                *ret_id = TAKE_PTR(id);
        return r;
}

int engine_create(const struct engine_run_opts *o, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = engine_create_id(o, &id, err);
        if (r >= 0) {
                printf("%s\n", id);
                fflush(stdout);
        }
        return r;
}

int engine_session_begin(const struct engine_run_opts *o, struct err *err)
{
        struct engine_run_opts so;
        _cleanup_free_ char *id = NULL;
        ctr_session_opts(o, &so);
        int r = ctr_new(&so, true, true, &id, err);
        if (r >= 0) {
                json_t *rec = record_load(o->root, id);
                if (!o->quiet)
                        printf("%s\n", json_string_value(json_object_get(rec, "Name")));
                fflush(stdout);
                json_decref(rec);
        }
        return r;
}

int engine_exec(const struct engine_exec_opts *o, struct err *err)
{
        struct record_target t = { 0 };
        json_t *rec = NULL;
        int r = ctr_exec_open(o->root, o->runroot, o->container, &t, &rec, err);
        if (r < 0)
                return r;
        json_t *proc = json_object_get(rec, "Process");
        /* the image's environment and user are the container's defaults */
        json_t *base = json_pack("{s:O?}", "Env", json_object_get(proc, "env"));
        const char *user = o->user ? o->user : json_string_value(json_object_get(proc, "user"));
        json_t *req = ctr_process_request(base, o->cmd, o->env,
                                          o->workdir ? o->workdir : json_string_value(json_object_get(proc, "cwd")),
                                          user, "", false, o->tty);
        json_decref(base);
        int fds[3] = { 0, 1, 2 };
        _cleanup_close_ int nul = -1;
        if (o->detach) {
                nul = open("/dev/null", O_RDWR | O_CLOEXEC);
                fds[0] = fds[1] = fds[2] = nul;
        } else if (!o->interactive) {
                nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fds[0] = nul;
        }
        r = ctr_exec_request(&t, rec, o->container, o->network, req, fds, o->detach, true, err);
        json_decref(req);
        json_decref(rec);
        record_target_free(&t);
        return r;
}

/* seconds since the epoch, -1: no such file */
static json_int_t run_file_mtime(const char *runroot, const char *id, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/%s", runroot, id, name);
        struct stat st;
        return stat(p, &st) < 0 ? -1 : (json_int_t) st.st_mtime;
}

int engine_list(const char *root, const char *runroot, json_t **ret, struct err *err)
{
        _cleanup_free_ char *rr = NULL, *dir = xasprintf("%s/containers", root);
        int r = runtime_runroot_open(runroot, &rr, err);
        if (r < 0)
                return r;
        DIR *d = opendir(dir);
        /* another user's store is not an empty one */
        if (!d && errno != ENOENT)
                return err_sys(err, -errno, "cannot read the containers of the store '%s'", root);
        json_t *arr = json_array();
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                json_t *rec = record_load(root, de->d_name);
                if (!rec)
                        continue;
                int code;
                bool running = record_keeper_alive(rr, de->d_name, NULL) && !record_keeper_temporary(rr, de->d_name);
                const char *state = record_state(rec, rr, de->d_name, running, &code);
                events_ctr_died(root, rr, de->d_name, running ? -1 : code);
                json_object_set_new(rec, "Status", json_string(state));
                json_object_set_new(rec, "ExitCode", json_integer(code));
                /* when it last started and ended, for den ps's "Up 5 minutes" and
                 * "Exited (0) 2 minutes ago": the keeper writes these two files then */
                json_object_set_new(rec, "StartedAt", json_integer(run_file_mtime(rr, de->d_name, "keeper.pid")));
                json_object_set_new(rec, "FinishedAt", json_integer(run_file_mtime(rr, de->d_name, "exit")));
                json_array_append_new(arr, rec);
        }
        if (d)
                closedir(d);
        *ret = arr;
        return 0;
}

int engine_kill(const char *root, const char *runroot, const char *container, int sig, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && !t.running)
                r = err_set(err, -ESRCH, "container '%s' is not running", container);
        if (r >= 0)
                r = keeper_ctl_signal(t.rundir, 0, sig, err);
        if (r >= 0)
                events_ctr(root, t.id, "kill", json_pack("{s:i}", "signal", sig));
        record_target_free(&t);
        return r;
}

int engine_stop(const char *root, const char *runroot, const char *container, int timeout, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running) {
                struct err e2 = { 0 };
                keeper_ctl_signal(t.rundir, 0, SIGTERM, &e2);
                if (!keeper_ctl_gone(t.keeper, timeout * 1000)) {
                        /* pid 1 of the container: SIGKILL from outside ends it and all within */
                        kill(t.keeper, SIGKILL);
                        keeper_ctl_gone(t.keeper, 5000);
                        /* the keeper had no chance to write the status: the main command was killed */
                        _cleanup_free_ char *ep = xasprintf("%s/exit", t.rundir);
                        _cleanup_free_ char *cur = NULL;
                        if (fs_read_file(ep, 64, &cur, NULL) < 0 || !*cur)
                                fs_write_file(ep, "137\n", 4);
                }
                net_detach_wait(t.rundir, 3000);
                events_ctr_check(root, rr, t.id);
                events_ctr(root, t.id, "stop", NULL);
        }
        record_target_free(&t);
        return r < 0 ? r : 0;
}

int engine_rm(const char *root, const char *runroot, const char *container, bool force, struct err *err)
{
        return ctr_remove_named(root, runroot, container, force, false, err);
}

int engine_rm_volumes(const char *root, const char *runroot, const char *container, bool force, bool volumes,
                      struct err *err)
{
        return ctr_remove_named(root, runroot, container, force, volumes, err);
}

int engine_wait(const char *root, const char *runroot, const char *container, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running) {
                keeper_ctl_gone(t.keeper, -1);
        }
        json_t *rec = r >= 0 ? record_load(root, t.id) : NULL;
        if (r >= 0) {
                record_state(rec, rr, t.id, false, &r);
                events_ctr_died(root, rr, t.id, r);
                if (r < 0)
                        r = err_set(err, -ESRCH, "container '%s' has not run", container);
        }
        json_decref(rec);
        record_target_free(&t);
        return r;
}

int engine_log_path(const char *root, const char *runroot, const char *container, char **ret, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        (void) runroot;
        int r = record_find(root, container, &id, err);
        if (r < 0)
                return r;
        *ret = xasprintf("%s/containers/%s/ctr.log", root, id);
        return 0;
}

bool engine_running(const char *root, const char *runroot, const char *container, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        bool running = record_target_open(root, runroot, container, &t, &rr, err) >= 0 && t.running;
        record_target_free(&t);
        return running;
}

int engine_start(const char *root, const char *runroot, const char *container, bool attach, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running)
                r = err_set(err, -EBUSY, "container '%s' is running already", container);
        if (r >= 0)
                r = ctr_start_record(root, rr, t.id, true, attach, NULL, NULL, err);
        record_target_free(&t);
        return r;
}

int engine_commit(const char *root, const char *container, const char *name, char ret[72], struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = record_find(root, container, &id, err);
        if (r < 0)
                return r;
        json_t *rec = record_load(root, id);
        const char *base = json_string_value(json_object_get(rec, "ImageDigest"));
        if (!base) {
                json_decref(rec);
                return err_set(err, -EIO, "container '%s': its record is damaged", container);
        }
        _cleanup_free_ char *upper = ctr_upper(root, id);
        if (!upper) {
                json_decref(rec);
                return err_set(err, -EOPNOTSUPP,
                               "den commit: container '%s' has a plain copy of its image (storage driver copy), not a layer of its changes",
                               container);
        }
        struct store s;
        if ((r = store_open(root, &s, err)) < 0) {
                json_decref(rec);
                return r;
        }
        _cleanup_free_ char *tmpl = xasprintf("%s/tmp/commit.%d.XXXXXX", root, getpid());
        int fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                r = err_sys(err, -errno, "cannot create a file in %s/tmp", root);
        else {
                unlink(tmpl);
                char man[DIGEST_STR_MAX];
                if ((r = layer_diff(upper, fd, err)) < 0)
                        err_wrap(err, "den commit %s", container);
                else if ((r = image_commit(&s, base, fd, name, "den commit", man, err)) == 0)
                        snprintf(ret, 72, "%s", man);
                close(fd);
        }
        store_close(&s);
        json_decref(rec);
        return r;
}

int engine_ports(const char *root, const char *container, char ***ret, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = record_find(root, container, &id, err);
        if (r < 0)
                return r;
        json_t *rec = record_load(root, id), *v;
        size_t i;
        char **out = NULL;
        json_array_foreach(json_object_get(json_object_get(rec, "Options"), "Publish"), i, v)
        {
                struct net_port p;
                struct err e = { 0 };
                if (net_port_parse(json_string_value(v), &p, &e) < 0)
                        continue;
                bool v6 = strchr(p.ip, ':') != NULL;
                _cleanup_free_ char *line = xasprintf("%u/%s -> %s%s%s:%u", p.ctr, p.udp ? "udp" : "tcp", v6 ? "[" : "",
                                                      *p.ip ? p.ip : "0.0.0.0", v6 ? "]" : "", p.host);
                strv_push(&out, line);
        }
        json_decref(rec);
        *ret = out;
        return 0;
}

int engine_rename(const char *root, const char *container, const char *name, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = name_check_container(name, err);
        if (r < 0 || (r = record_find(root, container, &id, err)) < 0)
                return r;
        if (record_name_taken(root, name))
                return err_set(err, -EEXIST, "the name '%s' is in use by another container", name);
        json_t *rec = record_load(root, id);
        if (!rec)
                return err_set(err, -EIO, "container '%s': its record is damaged", container);
        _cleanup_free_ char *old = xstrdup(json_string_value(json_object_get(rec, "Name")) ?: "");
        json_object_set_new(rec, "Name", json_string(name));
        _cleanup_free_ char *txt = json_dumps(rec, JSON_INDENT(1)), *dir = xasprintf("%s/containers/%s", root, id);
        json_decref(rec);
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0 || fs_write_atomic(dfd, "container.json", txt, strlen(txt), 0600) < 0)
                return err_sys(err, -errno, "cannot rename container '%s'", container);
        events_ctr(root, id, "rename", json_pack("{s:s}", "oldName", old));
        return 0;
}

int engine_target_rundir(const char *root, const char *runroot, const char *container, char **ret, pid_t *ret_temp,
                         struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        *ret_temp = -1;
        /* a stopped container gets a keeper of its own for the time of the copy */
        if (r >= 0 && !t.running)
                r = ctr_start_record(root, rr, t.id, false, false, NULL, ret_temp, err);
        if (r >= 0)
                *ret = TAKE_PTR(t.rundir);
        record_target_free(&t);
        return r;
}

void engine_target_release(pid_t temp)
{
        if (temp <= 0)
                return;
        kill(temp, SIGKILL);
        waitpid(temp, NULL, 0);
}

int engine_inspect(const char *root, const char *runroot, const char *container, json_t **ret, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0) {
                json_t *rec = record_load(root, t.id);
                if (!rec)
                        r = err_set(err, -EIO, "container '%s': its record is damaged", container);
                else {
                        int code;
                        bool running = t.running && !record_keeper_temporary(rr, t.id);
                        json_object_set_new(rec, "Status", json_string(record_state(rec, rr, t.id, running, &code)));
                        json_object_set_new(rec, "ExitCode", json_integer(code));
                        events_ctr_died(root, rr, t.id, running ? -1 : code);
                        /* where docker's inspect has them, for -f '{{.State.Status}}' */
                        json_object_set_new(rec, "State", json_pack("{s:s,s:i,s:b}", "Status",
                                                                     json_string_value(json_object_get(rec, "Status")),
                                                                     "ExitCode", code, "Running", running));
                        if (running)
                                json_object_set_new(rec, "KeeperPid", json_integer(t.keeper));
                        json_object_set_new(rec, "StartedAt", json_integer(run_file_mtime(rr, t.id, "keeper.pid")));
                        json_object_set_new(rec, "FinishedAt", json_integer(run_file_mtime(rr, t.id, "exit")));
                        *ret = rec;
                }
        }
        record_target_free(&t);
        return r;
}
