/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den's containers on disk: records, ids, names and state */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/layer.h"
#include "events.h"
#include "secopt.h"
#include "state.h"

#define DOC_MAX (4u << 20)

char *record_random_id(void)
{
        unsigned char b[32];
        if (getrandom(b, sizeof(b), 0) != sizeof(b))
                abort();
        char *s = xmalloc(65);
        for (int i = 0; i < 32; i++)
                snprintf(s + 2 * i, 3, "%02x", b[i]);
        return s;
}

/* ---- container records ---- */

json_t *record_load(const char *root, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/container.json", root, id);
        struct err e = { 0 };
        return json_load_path(p, DOC_MAX, &e);
}

/* find a container by id, id prefix or name */
int record_find(const char *root, const char *what, char **ret_id, struct err *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/containers", root);
        DIR *d = opendir(dir);
        if (!d && errno != ENOENT)
                return err_sys(err, -errno, "cannot read the containers of the store '%s'", root);
        struct dirent *de;
        char *found = NULL;
        bool ambiguous = false;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                json_t *rec = record_load(root, de->d_name);
                const char *name = json_string_value(json_object_get(rec, "Name"));
                bool match = (name && strcmp(name, what) == 0) || strcmp(de->d_name, what) == 0 ||
                             (strlen(what) >= 4 && strncmp(de->d_name, what, strlen(what)) == 0);
                if (match) {
                        if (found && strcmp(found, de->d_name) != 0 && !(name && strcmp(name, what) == 0))
                                ambiguous = true;
                        if (!found || (name && strcmp(name, what) == 0)) {
                                free(found);
                                found = xstrdup(de->d_name);
                        }
                }
                json_decref(rec);
        }
        if (d)
                closedir(d);
        if (!found)
                return err_set(err, -ENOENT, "no such container: '%s'", what);
        if (ambiguous) {
                free(found);
                return err_set(err, -EINVAL, "'%s' names more than one container", what);
        }
        *ret_id = found;
        return 0;
}

bool record_name_taken(const char *root, const char *name)
{
        _cleanup_free_ char *id = NULL;
        struct err e = { 0 };
        if (record_find(root, name, &id, &e) < 0)
                return false;
        json_t *rec = record_load(root, id);
        bool taken = rec && json_string_value(json_object_get(rec, "Name")) &&
                     strcmp(json_string_value(json_object_get(rec, "Name")), name) == 0;
        json_decref(rec);
        return taken;
}

/* ---- keeper liveness ---- */

bool record_keeper_alive(const char *runroot, const char *id, pid_t *ret_pid)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/keeper.pid", runroot, id), *txt = NULL;
        if (fs_read_file(p, 128, &txt, NULL) < 0)
                return false;
        int pid = 0;
        unsigned long long start = 0;
        if (sscanf(txt, "%d %llu", &pid, &start) != 2)
                return false;
        if (ret_pid)
                *ret_pid = pid;
        return state_pid_alive(pid, start);
}

/* whether its keeper only serves a den cp or den export of the stopped container */
bool record_keeper_temporary(const char *runroot, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/keeper.pid", runroot, id), *txt = NULL;
        return fs_read_file(p, 128, &txt, NULL) >= 0 && strstr(txt, " temporary");
}

static int read_exit(const char *runroot, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/exit", runroot, id), *txt = NULL;
        if (fs_read_file(p, 64, &txt, NULL) < 0 || !*txt)
                return -1;
        return atoi(txt);
}

/* A container's state: running while its keeper lives; exited with the status
 * its keeper wrote; created when it never ran.  One that ran (its record names
 * the storage driver its first start used) whose keeper is gone without a status
 * was killed -- by den rm or stop interrupted after killing it, or from outside:
 * exited, 137, as SIGKILL gives. */
const char *record_state(json_t *rec, const char *runroot, const char *id, bool running, int *ret_code)
{
        int code = read_exit(runroot, id);
        if (code < 0 && !running && json_object_get(rec, "StorageDriver"))
                code = 137;
        *ret_code = code;
        return running ? "running" : code >= 0 ? "exited" : "created";
}

int record_target_open(const char *root, const char *runroot, const char *what, struct record_target *t, char **ret_rr,
                       struct err *err)
{
        int r = runtime_runroot_open(runroot, ret_rr, err);
        if (r < 0)
                return r;
        if ((r = record_find(root, what, &t->id, err)) < 0)
                return r;
        t->rundir = xasprintf("%s/containers/%s", *ret_rr, t->id);
        t->running = record_keeper_alive(*ret_rr, t->id, &t->keeper);
        return 0;
}

void record_target_free(struct record_target *t)
{
        free(t->id);
        free(t->rundir);
}

int record_remove(struct store *s, const char *runroot, const char *id, bool volumes, struct err *err)
{
        _cleanup_free_ char *cdir = xasprintf("containers/%s", id), *rundir = xasprintf("%s/containers/%s", runroot, id);
        json_t *rec = volumes ? record_load(s->root, id) : NULL;
        net_detach_wait(rundir, 3000);
        events_ctr_check(s->root, runroot, id);
        events_ctr(s->root, id, "destroy", NULL);
        fs_rm_rf(rundir);
        /* rootless, the upper dir holds files of the sub-ids */
        int r = layer_remove_tree(s, cdir, err);
        /* once the record is gone: the volumes' users are counted from the records */
        if (r >= 0 && rec)
                ctr_volumes_remove_anonymous(s->root, rec);
        json_decref(rec);
        return r;
}

json_t *record_strv_json(char **v)
{
        json_t *a = json_array();
        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

char **record_json_strv(json_t *a)
{
        char **v = xcalloc(json_array_size(a) + 1, sizeof(char *));
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) v[i] = xstrdup(json_string_value(e) ? json_string_value(e) : "");
        return v;
}

int record_create(const struct engine_run_opts *o, struct image_info *ii, struct started *st, const char *rr,
                  json_t **ret_req, struct err *err)
{
        _cleanup_free_ char *name = o->name ? xstrdup(o->name) : xasprintf("den-%.12s", st->id), *created = now_rfc3339();
        json_t *req = ctr_process_request(ii->config, o->cmd, o->env, o->workdir, o->user, o->entrypoint, true, o->tty);
        if (json_array_size(json_object_get(req, "args")) == 0 && !o->session) {
                json_decref(req);
                return err_set(err, -EINVAL, "image '%s' has no command: give one after the image", o->image);
        }
        json_t *opts = json_pack("{s:o,s:o,s:s?,s:s?,s:b,s:b,s:b,s:o,s:b,s:b,s:b}", "Volumes", record_strv_json(o->volumes),
                                 "Tmpfs", record_strv_json(o->tmpfs), "Network", o->network, "Hostname", o->hostname,
                                 "ReadOnly", o->read_only, "Tty", o->tty, "AutoRemove", o->rm, "Publish",
                                 record_strv_json(o->publish), "AllowHostLoopback", o->allow_host_loopback,
                                 "Interactive", o->interactive, "StdinOnce", o->stdin_once);
        if (o->labels)
                json_object_set_new(opts, "Labels", json_deep_copy(o->labels));
        if (o->anon_volumes)
                json_object_set_new(opts, "AnonVolumes", record_strv_json(o->anon_volumes));
        int r = secopt_record(o->security_opt, ctr_default_caps(), rr, opts, err);
        if (r < 0 || fs_mkdir_p(st->cdir, 0700) < 0) {
                json_decref(req);
                json_decref(opts);
                return r < 0 ? r : err_sys(err, -errno, "cannot create container %s", st->id);
        }
        json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:o,s:b}", "Id", st->id, "Name", name, "Image", o->image,
                                "ImageDigest", ii->manifest, "Created", created, "Process", req, "Options", opts,
                                "Session", o->session);
        _cleanup_free_ char *rtxt = json_dumps(rec, JSON_INDENT(1));
        json_decref(rec);
        _cleanup_close_ int cd = open(st->cdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (cd < 0 || fs_write_replace(cd, "container.json", rtxt, strlen(rtxt), 0600) < 0) {
                json_decref(req);
                return err_sys(err, -errno, "cannot record container %s", st->id);
        }
        *ret_req = req;
        return 0;
}

void record_set_driver(const char *cdir, enum storage_driver d)
{
        _cleanup_free_ char *p = xasprintf("%s/container.json", cdir);
        struct err e = { 0 };
        json_t *rec = json_load_path(p, DOC_MAX, &e);
        if (!rec)
                return;
        const char *cur = json_string_value(json_object_get(rec, "StorageDriver"));
        if (!cur || strcmp(cur, storage_driver_name(d)) != 0) {
                json_object_set_new(rec, "StorageDriver", json_string(storage_driver_name(d)));
                _cleanup_free_ char *txt = json_dumps(rec, JSON_INDENT(1));
                _cleanup_close_ int dfd = open(cdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (dfd >= 0)
                        fs_write_replace(dfd, "container.json", txt, strlen(txt), 0600);
        }
        json_decref(rec);
}

