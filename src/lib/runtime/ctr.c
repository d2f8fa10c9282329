/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Making a den container and running commands in it: den run, create and
 * session begin, and the interface of ctr.h for the builder and the API */
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "ctr.h"
#include "ctr_internal.h"
#include "volume.h"
#include "events.h"
#include "internal.h"
#include "name.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"

/* The network is none unless asked for: said once, on stderr, where it matters --
 * an image that declares EXPOSE run detached without -p or --network */
static void exposed_notice(json_t *imgcfg)
{
        json_t *ports = json_object_get(imgcfg, "ExposedPorts");
        if (!json_object_size(ports))
                return;
        _cleanup_free_ char *list = xstrdup("");
        const char *k;
        json_t *v;
        json_object_foreach(ports, k, v)
        {
                _cleanup_free_ char *old = list;
                list = xasprintf("%s%s%s", old, *old ? " " : "", k);
        }
        fprintf(stderr, "den: notice: the network is none (loopback only): the image's EXPOSE %s is not reachable; "
                        "-p HOST_PORT:CTR_PORT or -P publishes it\n", list);
}

/* the network: checked now (helper there, ports free and allowed), recorded
 * resolved in *ro, a copy of o (its publish list *ret_concrete, to free) */
static int net_resolve(const struct engine_run_opts *o, json_t *imgcfg, bool notice, struct engine_run_opts *ro,
                       char ***ret_concrete, struct err *err)
{
        _cleanup_strv_free_ char **publish = strv_copy(o->publish);
        char **concrete = NULL;
        struct net_conf nc;
        int r;
        if (o->publish_all) {
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(imgcfg, "ExposedPorts"), k, v)
                {
                        _cleanup_free_ char *spec = xasprintf("0:%s", k);
                        strv_push(&publish, spec);
                }
        }
        if ((r = net_conf_parse(o->network, o->allow_host_loopback, publish, &nc, err)) < 0)
                return r;
        if ((r = net_ports_check(&nc, err)) < 0) {
                net_conf_free(&nc);
                return r;
        }
        for (size_t i = 0; i < nc.n_ports; i++) {
                const struct net_port *p = &nc.ports[i];
                bool v6 = strchr(p->ip, ':') != NULL;
                _cleanup_free_ char *one = xasprintf("%s%s%s%s%u:%u/%s", v6 ? "[" : "", p->ip, v6 ? "]" : "", *p->ip ? ":" : "",
                                                     p->host, p->ctr, p->udp ? "udp" : "tcp");
                strv_push(&concrete, one);
        }
        if (notice && nc.mode == NET_NONE)
                exposed_notice(imgcfg);
        *ro = *o;
        ro->network = net_mode_name(nc.mode);
        ro->allow_host_loopback = nc.allow_host_loopback;
        ro->publish = concrete;
        *ret_concrete = concrete;
        net_conf_free(&nc);
        return 0;
}

/* den run -d --rm, den start of an --rm container: removed (with its anonymous volumes)
 * once its keeper ends, by a small process of den's that waits for that and nothing else
 * (docker's daemon does it; den has none).  Only from a single-threaded command line. */
static void autoremove_later(const char *root, const char *rr, const char *id, pid_t keeper)
{
        int pidfd = keeper > 0 ? (int) syscall(SYS_pidfd_open, keeper, 0) : -1;
        if (pidfd < 0)
                return;
        pid_t p = fork();
        if (p != 0) {
                close(pidfd);
                if (p > 0)
                        waitpid(p, NULL, 0);
                return;
        }
        /* the grandchild waits: no zombie for the caller, nothing of its terminal */
        if (fork() != 0)
                _exit(0);
        setsid();
        /* nothing of den's held: not the store's lock, not a caller's pipe */
        if (pidfd > 3)
                close_range(3, (unsigned) pidfd - 1, 0);
        close_range((unsigned) pidfd + 1, ~0U, 0);
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
                dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
                close(nul);
        }
        struct pollfd pf = { .fd = pidfd, .events = POLLIN };
        while (poll(&pf, 1, -1) < 0 && errno == EINTR)
                ;
        struct store s;
        struct err e = { 0 };
        if (store_open(root, &s, &e) >= 0) {
                record_remove(&s, rr, id, true, &e);
                store_close(&s);
        }
        _exit(0);
}

int ctr_new(const struct engine_run_opts *o, bool start, bool notice, char **ret_id, struct err *err)
{
        /* declared first: every goto below passes them */
        struct engine_run_opts ro = *o;
        char **resolved = NULL;
        _cleanup_strv_free_ char **concrete = NULL;
        struct store s;
        struct image_info ii = { 0 };
        struct started st = { 0 };
        _cleanup_free_ char *rr = NULL;
        json_t *req = NULL;
        int r;
        /* both end up in /etc/hosts and the name in paths and command lines */
        if ((o->name && name_check_container(o->name, err) < 0) ||
            (o->hostname && name_check_hostname(o->hostname, err) < 0))
                return err->code;
        if ((r = runtime_runroot_open(o->runroot, &rr, err)) < 0)
                return r;
        if ((r = store_open(o->root, &s, err)) < 0)
                return r;
        if (o->name && record_name_taken(o->root, o->name)) {
                r = err_set(err, -EEXIST, "the name '%s' is in use by another container", o->name);
                goto out_store;
        }
        if ((r = store_lock(&s, false, err)) < 0)
                goto out_store;
        r = ctr_image_load(&s, o->image, &ii, err);
        store_unlock(&s);
        if (r < 0)
                goto out_store;
        if ((r = net_resolve(o, ii.config, notice && start && o->detach, &ro, &concrete, err)) < 0)
                goto out;
        o = &ro;
        st.id = record_random_id();
        keeper_ctl_paths(&st, o->root, rr);
        const char *drv = o->storage_driver ? o->storage_driver : getenv("DEN_STORAGE_DRIVER");
        if (drv && *drv && storage_driver_parse(drv, &st.driver) < 0) {
                r = err_set(err, -EINVAL, "--storage-driver '%s': overlay, fuse-overlayfs, copy or auto", drv);
                goto out;
        }
        for (char **t = o->tmpfs; t && *t; t++)
                if ((r = ctr_tmpfs_check(*t, err)) < 0)
                        goto out;
        if ((r = volume_hold(o->root, err)) < 0)
                goto out;
        if ((r = ctr_volumes_resolve(o, ii.config, &resolved, &ro.anon_volumes, err)) < 0) {
                volume_release();
                goto out;
        }
        ro.volumes = resolved;
        r = record_create(o, &ii, &st, rr, &req, err);
        volume_release();
        if (r < 0)
                goto out;
        events_ctr(o->root, st.id, "create", NULL);
        if (o->session) {
                st.service = true;
                if ((r = fs_mkdir_p(st.rundir, 0700)) < 0)
                        r = err_sys(err, r, "cannot create %s", st.rundir);
                else if ((r = keeper_ctl_start(o, &s, &ii, rr, &st, err)) >= 0)
                        record_set_driver(st.cdir, st.driver);
                goto out;
        }
        if (start)
                r = keeper_ctl_start_main(o, &s, &ii, rr, &st, req, !o->detach, NULL, err);
        if (start && r >= 0 && o->detach && o->rm)
                autoremove_later(o->root, rr, st.id, st.keeper);
out:
        if (st.id && (r < 0 || (start && !o->detach && o->rm))) {
                struct err e2 = { 0 };
                record_remove(&s, rr, st.id, true, &e2);
        }
        /* made for a container that never got its record */
        for (char **a = r < 0 ? ro.anon_volumes : NULL; a && *a; a++) {
                struct err e2 = { 0 };
                volume_rm(o->root, *a, true, &e2);
        }
        strv_freep(&resolved);
        strv_freep(&ro.anon_volumes);
        if (r >= 0)
                *ret_id = xstrdup(st.id);
        json_decref(req);
        keeper_ctl_free(&st);
        ctr_image_free(&ii);
out_store:
        store_close(&s);
        return r;
}

void ctr_session_opts(const struct engine_run_opts *o, struct engine_run_opts *ret)
{
        *ret = *o;
        ret->session = true;
        ret->detach = true;
        /* the keeper stays where the session began: with host networking each
         * command may still choose none */
        if (!ret->network)
                ret->network = "host";
}

int ctr_start_record(const char *root, const char *rr, const char *id, bool main, bool attach, struct ctr_io *io,
                     pid_t *ret_keeper, struct err *err)
{
        struct store s;
        struct image_info ii = { 0 };
        _cleanup_strv_free_ char **vols = NULL, **tmpfs = NULL;
        int r;
        json_t *rec = record_load(root, id);
        json_t *opts = json_object_get(rec, "Options");
        const char *digest = json_string_value(json_object_get(rec, "ImageDigest"));
        if (!rec || !digest) {
                json_decref(rec);
                return err_set(err, -EIO, "container '%.12s': its record is damaged", id);
        }
        vols = record_json_strv(json_object_get(opts, "Volumes"));
        tmpfs = record_json_strv(json_object_get(opts, "Tmpfs"));
        _cleanup_strv_free_ char **publish = main ? record_json_strv(json_object_get(opts, "Publish")) : NULL;
        struct engine_run_opts o = {
                .root = root, .runroot = rr, .image = digest, .volumes = vols, .tmpfs = tmpfs,
                .name = json_string_value(json_object_get(rec, "Name")),
                /* a keeper that only serves den cp gets no network */
                .network = main ? json_string_value(json_object_get(opts, "Network")) : "none", .publish = publish,
                .allow_host_loopback = main && json_is_true(json_object_get(opts, "AllowHostLoopback")),
                .hostname = json_string_value(json_object_get(opts, "Hostname")),
                .read_only = json_is_true(json_object_get(opts, "ReadOnly")),
                .tty = json_is_true(json_object_get(opts, "Tty")),
                .rm = json_is_true(json_object_get(opts, "AutoRemove")), .detach = !attach,
        };
        if ((r = store_open(root, &s, err)) >= 0) {
                /* by digest: the image may have lost its name since */
                if ((r = store_lock(&s, false, err)) >= 0) {
                        r = ctr_image_load_digest(&s, digest, &ii, err);
                        store_unlock(&s);
                }
                if (r >= 0) {
                        struct started st = { .id = xstrdup(id), .service = !main };
                        keeper_ctl_paths(&st, root, rr);
                        const char *dn = json_string_value(json_object_get(rec, "StorageDriver"));
                        if (dn)
                                storage_driver_parse(dn, &st.driver);
                        if (main) {
                                json_t *req = json_deep_copy(json_object_get(rec, "Process"));
                                r = keeper_ctl_start_main(&o, &s, &ii, rr, &st, req, attach, io, err);
                                if (r >= 0 && ret_keeper)
                                        *ret_keeper = st.keeper;
                                json_decref(req);
                                if (r >= 0 && attach && o.rm) {
                                        struct err e2 = { 0 };
                                        record_remove(&s, rr, st.id, true, &e2);
                                } else if (r >= 0 && o.rm && !io && !ret_keeper)
                                        /* den start (den serve, which asks for the keeper, reaps its own) */
                                        autoremove_later(root, rr, st.id, st.keeper);
                        } else if ((r = fs_mkdir_p(st.rundir, 0700)) < 0)
                                r = err_sys(err, r, "cannot create %s", st.rundir);
                        else if ((r = keeper_ctl_start(&o, &s, &ii, rr, &st, err)) >= 0)
                                *ret_keeper = st.keeper;
                        keeper_ctl_free(&st);
                }
                store_close(&s);
        }
        json_decref(rec);
        ctr_image_free(&ii);
        return r;
}

int ctr_exec_open(const char *root, const char *runroot, const char *what, struct record_target *t, json_t **ret_rec,
                  struct err *err)
{
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, what, t, &rr, err);
        if (r >= 0 && !t->running)
                r = err_set(err, -EINVAL, "container '%s' is not running", what);
        if (r < 0) {
                record_target_free(t);
                return r;
        }
        *ret_rec = record_load(root, t->id);
        return 0;
}

/* a command runs in the container's network, or in none (a namespace of its own) */
static int exec_network(json_t *rec, const char *what, const char *network, json_t *req, struct err *err)
{
        const char *began = json_string_value(json_object_get(json_object_get(rec, "Options"), "Network"));
        struct net_conf want;
        int r = network ? net_conf_parse(network, false, NULL, &want, err) : 0;
        if (!network || r < 0)
                return r;
        if (want.mode == NET_NONE)
                json_object_set_new(req, "network", json_string("none"));
        else if (!began || strcmp(began, net_mode_name(want.mode)) != 0)
                r = err_set(err, -EINVAL, "--network %s: '%s' has the network %s; a command can have that one or none",
                            network, what, began ? began : "none");
        net_conf_free(&want);
        return r;
}

int ctr_exec_request(const struct record_target *t, json_t *rec, const char *what, const char *network, json_t *req,
                     const int fds[3], bool detach, bool forward, struct err *err)
{
        bool tty = json_is_true(json_object_get(req, "terminal"));
        int master = -1, r = exec_network(rec, what, network, req, err);
        if (r < 0)
                return r;
        int s = keeper_ctl_run(t->rundir, req, fds, tty ? 0 : 3, &master, err);
        if (s < 0)
                return s;
        r = detach ? 0 : keeper_ctl_wait(s, t->rundir, master, forward, err);
        if (master >= 0)
                close(master);
        close(s);
        return r;
}

int ctr_make(const struct engine_run_opts *o, char **ret_id, struct err *err)
{
        struct engine_run_opts so;
        ctr_session_opts(o, &so);
        return ctr_new(&so, true, false, ret_id, err);
}

static json_t *cmd_request(const struct ctr_cmd *c, bool tty, unsigned rows, unsigned cols)
{
        json_t *req = json_pack("{s:o,s:o,s:s,s:s,s:b,s:b,s:b}", "args", record_strv_json(c->argv), "env",
                                record_strv_json(c->env), "cwd", c->workdir ? c->workdir : "/", "user",
                                c->user ? c->user : "0", "main", false, "terminal", tty, "home", true);
        if (tty && rows && cols)
                json_object_set_new(req, "consoleSize", json_pack("{s:I,s:I}", "height", (json_int_t) rows, "width",
                                                                  (json_int_t) cols));
        return req;
}

/* c's fds with /dev/null for the ones not given; *nul: that open file, to close */
static int cmd_fds(const struct ctr_cmd *c, int fds[3], int *nul, struct err *err)
{
        for (int i = 0; i < 3; i++) {
                if (c->fds[i] < 0 && *nul < 0 && (*nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
                        return err_sys(err, -errno, "cannot open /dev/null");
                fds[i] = c->fds[i] >= 0 ? c->fds[i] : *nul;
        }
        return 0;
}

int ctr_exec(const char *root, const char *runroot, const char *id, const struct ctr_cmd *c, int *ret_status,
             struct err *err)
{
        if (!c->argv || !c->argv[0])
                return err_set(err, -EINVAL, "container '%.12s': no command to run", id);
        struct record_target t = { 0 };
        json_t *rec = NULL;
        int r = ctr_exec_open(root, runroot, id, &t, &rec, err);
        if (r < 0)
                return r;
        json_t *req = cmd_request(c, false, 0, 0);
        _cleanup_close_ int nul = -1;
        int fds[3];
        r = cmd_fds(c, fds, &nul, err);
        if (r >= 0)
                r = ctr_exec_request(&t, rec, id, c->network, req, fds, false, false, err);
        if (r >= 0) {
                *ret_status = r;
                r = 0;
        }
        json_decref(req);
        json_decref(rec);
        record_target_free(&t);
        return r;
}

int ctr_spawn(const char *root, const char *runroot, const char *id, const struct ctr_cmd *c, bool tty,
              unsigned rows, unsigned cols, struct ctr_proc *ret, struct err *err)
{
        *ret = (struct ctr_proc){ .sock = -1, .master = -1 };
        if (!c->argv || !c->argv[0])
                return err_set(err, -EINVAL, "container '%.12s': no command to run", id);
        struct record_target t = { 0 };
        json_t *rec = NULL;
        int r = ctr_exec_open(root, runroot, id, &t, &rec, err);
        if (r < 0)
                return r;
        json_t *req = cmd_request(c, tty, rows, cols);
        _cleanup_close_ int nul = -1;
        int fds[3];
        if ((r = cmd_fds(c, fds, &nul, err)) >= 0 && (r = exec_network(rec, id, c->network, req, err)) >= 0 &&
            (r = keeper_ctl_run(t.rundir, req, fds, tty ? 0 : 3, &ret->master, err)) >= 0) {
                ret->sock = r;
                ret->rundir = xstrdup(t.rundir);
                r = 0;
        }
        json_decref(req);
        json_decref(rec);
        record_target_free(&t);
        return r;
}

int ctr_proc_wait(struct ctr_proc *p, int *ret_status, struct err *err)
{
        int r = keeper_ctl_wait(p->sock, p->rundir, -1, false, err);
        close(p->sock);
        p->sock = -1;
        free(p->rundir);
        p->rundir = NULL;
        if (r < 0)
                return r;
        *ret_status = r;
        return 0;
}

int ctr_start_io(const char *root, const char *runroot, const char *id, struct ctr_io *io, pid_t *ret_keeper,
                 struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, id, &t, &rr, err);
        if (r >= 0 && t.running)
                r = err_set(err, -EBUSY, "container '%s' is running already", id);
        if (r >= 0)
                r = ctr_start_record(root, rr, t.id, true, false, io, ret_keeper, err);
        record_target_free(&t);
        return r;
}

int ctr_halt(const char *root, const char *runroot, const char *id, struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = record_target_open(root, runroot, id, &t, &rr, err);
        if (r >= 0 && t.running) {
                /* pid 1 of the container: SIGKILL ends it and all its commands */
                keeper_ctl_kill(t.keeper, 5000);
                net_detach_wait(t.rundir, 3000);
                events_ctr_check(root, rr, t.id);
        }
        record_target_free(&t);
        return r < 0 ? r : 0;
}

char *ctr_upper(const char *root, const char *id)
{
        json_t *rec = record_load(root, id);
        const char *drv = json_string_value(json_object_get(rec, "StorageDriver"));
        /* a plain copy of the image holds no layer of the changes */
        bool copy = drv && strcmp(drv, "copy") == 0;
        json_decref(rec);
        return copy ? NULL : xasprintf("%s/containers/%s/upper", root, id);
}

int ctr_mount_targets(const char *root, const char *id, char ***ret, struct err *err)
{
        json_t *rec = record_load(root, id), *opts = json_object_get(rec, "Options");
        if (!rec)
                return err_set(err, -ENOENT, "no such container: '%s'", id);
        _cleanup_strv_free_ char **vols = record_json_strv(json_object_get(opts, "Volumes")),
                                 **tmpfs = record_json_strv(json_object_get(opts, "Tmpfs"));
        const char *network = json_string_value(json_object_get(opts, "Network"));
        /* as a start builds it; its destinations do not depend on the network helper */
        struct engine_run_opts o = { .volumes = vols, .tmpfs = tmpfs };
        struct net_conf nc = { .mode = network && strcmp(network, "host") == 0 ? NET_HOST : NET_NONE };
        json_t *spec = ctr_spec_build(&o, &nc, id, "/", runtime_is_rootless(-1), "/", err);
        json_decref(rec);
        if (!spec)
                return err->code;
        *ret = ctr_spec_targets(spec);
        json_decref(spec);
        return 0;
}

int ctr_remove_named(const char *root, const char *runroot, const char *what, bool force, bool volumes,
                     struct err *err)
{
        struct record_target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        struct store s;
        int r = record_target_open(root, runroot, what, &t, &rr, err);
        if (r >= 0 && t.running && !force)
                r = err_set(err, -EBUSY, "container '%s' is running: stop it first, or rm -f", what);
        else if (r >= 0 && t.running)
                keeper_ctl_kill(t.keeper, 5000);
        if (r >= 0 && (r = store_open(root, &s, err)) >= 0) {
                r = record_remove(&s, rr, t.id, volumes, err);
                store_close(&s);
        }
        record_target_free(&t);
        return r;
}

int ctr_remove(const char *root, const char *runroot, const char *id, struct err *err)
{
        return ctr_remove_named(root, runroot, id, true, true, err);
}
