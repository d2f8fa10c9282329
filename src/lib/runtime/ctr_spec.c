/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a den container is made of: its image's layers and config, the
 * config.json its keeper starts from, the keeper request of each command */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "volume.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/idmap.h"
#include "lib/spec/spec.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"

/* docker's default capability set for root in a container */
static const int default_caps[] = { 0 /* CHOWN */,       1 /* DAC_OVERRIDE */, 3 /* FOWNER */, 4 /* FSETID */,
                                    5 /* KILL */,        6 /* SETGID */,       7 /* SETUID */, 8 /* SETPCAP */,
                                    10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */, 18 /* SYS_CHROOT */,
                                    27 /* MKNOD */,      29 /* AUDIT_WRITE */, 31 /* SETFCAP */ };

uint64_t ctr_default_caps(void)
{
        uint64_t caps = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                caps |= UINT64_C(1) << default_caps[i];
        return caps;
}

void ctr_image_free(struct image_info *ii)
{
        json_decref(ii->config);
        for (size_t i = 0; i < ii->n_lowers; i++)
                free(ii->lowers[i]);
        free(ii->lowers);
}

int ctr_image_load_digest(struct store *s, const char *manifest, struct image_info *ii, struct err *err)
{
        json_t *info = NULL;
        int r;
        const char *ref = manifest;
        memset(ii, 0, sizeof(*ii));
        snprintf(ii->manifest, sizeof(ii->manifest), "%s", manifest);
        if ((r = image_inspect(s, ii->manifest, &info, err)) < 0)
                return r;
        json_t *layers = json_object_get(json_object_get(info, "Manifest"), "layers");
        json_t *diffs = json_object_get(json_object_get(json_object_get(info, "Config"), "rootfs"), "diff_ids");
        json_t *cfg = json_object_get(json_object_get(info, "Config"), "config");
        ii->config = cfg ? json_incref(cfg) : json_object();
        size_t n = json_array_size(layers);
        ii->lowers = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                const char *d = json_string_value(json_object_get(json_array_get(layers, i), "digest"));
                const char *diff = json_string_value(json_array_get(diffs, i));
                if (!d || !digest_valid(d) || !diff || !digest_valid(diff)) {
                        json_decref(info);
                        return err_set(err, -EINVAL, "image '%s': layer %zu has no valid digest or diff id", ref, i);
                }
                if ((r = layer_ensure(s, d, diff, 0, err)) < 0) {
                        json_decref(info);
                        return r;
                }
                /* the manifest lists the base first; overlay wants the top first */
                ii->lowers[n - 1 - i] = xasprintf("%s/layers/%s/diff", s->root, digest_hex(diff));
        }
        ii->n_lowers = n;
        json_decref(info);
        return 0;
}

int ctr_image_load(struct store *s, const char *ref, struct image_info *ii, struct err *err)
{
        char manifest[DIGEST_STR_MAX];
        int r = image_resolve(s, ref, manifest, err);
        /* a manifest of the store that no name points at (a build's step) */
        if (r < 0 && digest_valid(ref) && store_has_blob(s, ref)) {
                err_clear(err);
                snprintf(manifest, sizeof(manifest), "%s", ref);
                r = 0;
        }
        if (r < 0)
                return r;
        r = ctr_image_load_digest(s, manifest, ii, err);
        return r < 0 ? err_wrap(err, "image '%s'", ref) : r;
}

/* the process of a command: image defaults, then what the user gave */
json_t *ctr_process_request(json_t *imgcfg, char **cmd, char **env, const char *workdir, const char *user,
                            const char *entrypoint, bool main, bool tty)
{
        json_t *args = json_array(), *e = json_array();
        size_t i;
        json_t *v;
        if (entrypoint) {
                if (*entrypoint)
                        json_array_append_new(args, json_string(entrypoint));
        } else
                json_array_foreach(json_object_get(imgcfg, "Entrypoint"), i, v) json_array_append(args, v);
        if (cmd && cmd[0])
                for (char **c = cmd; *c; c++)
                        json_array_append_new(args, json_string(*c));
        else if (main)
                json_array_foreach(json_object_get(imgcfg, "Cmd"), i, v) json_array_append(args, v);
        json_array_foreach(json_object_get(imgcfg, "Env"), i, v) json_array_append(e, v);
        for (char **x = env; x && *x; x++)
                json_array_append_new(e, json_string(*x));
        if (json_array_size(e) == 0 || !getenv("PATH"))
                json_array_insert_new(e, 0, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        const char *wd = workdir ? workdir : json_string_value(json_object_get(imgcfg, "WorkingDir"));
        const char *u = user ? user : json_string_value(json_object_get(imgcfg, "User"));
        if (tty)
                json_array_append_new(e, json_string("TERM=xterm"));
        return json_pack("{s:o,s:o,s:s,s:s,s:b,s:b}", "args", args, "env", e, "cwd", wd && *wd ? wd : "/", "user",
                         u && *u ? u : "0", "main", main, "terminal", tty);
}

/* -v HOST:CTR[:ro|rw] as the user wrote it: its form, and a host path that is there
 * (said in their words, not as the config.json mount it becomes) */
int ctr_volume_check(const char *vol, struct err *err)
{
        struct ctr_volume cv;
        if (ctr_volume_parse(vol, &cv, err) < 0)
                return -EINVAL;
        int r = 0;
        struct stat st;
        if (!cv.source)
                r = err_set(err, -EINVAL, "-v '%s': an anonymous volume has no source", vol);
        else if (!cv.is_volume && stat(cv.source, &st) < 0)
                r = errno == ENOENT ? err_set(err, -ENOENT, "-v %s: %s does not exist", vol, cv.source)
                                    : err_sys(err, -errno, "-v %s: %s", vol, cv.source);
        ctr_volume_free(&cv);
        return r;
}

int ctr_tmpfs_check(const char *t, struct err *err)
{
        static const char *const flags[] = { "ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev" };
        static const char *const data[] = { "size=", "mode=", "uid=", "gid=", "nr_inodes=", "nr_blocks=" };
        const char *c = strchr(t, ':');
        if (t[0] != '/')
                return err_set(err, -EINVAL, "--tmpfs '%s': not an absolute path", t);
        if (t[strspn(t, "/")] == '\0' || t[strspn(t, "/")] == ':')
                return err_set(err, -EINVAL, "--tmpfs '%s': the container's root cannot be a mount target", t);
        _cleanup_free_ char *opts = xstrdup(c ? c + 1 : "");
        char *save = NULL;
        for (char *w = strtok_r(opts, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(flags) && !ok; i++)
                        ok = strcmp(w, flags[i]) == 0;
                for (size_t i = 0; i < ELEMENTSOF(data) && !ok; i++)
                        ok = strncmp(w, data[i], strlen(data[i])) == 0 && w[strlen(data[i])] &&
                             !strpbrk(w, " \t\n");
                if (!ok)
                        return err_set(err, -EINVAL,
                                       "--tmpfs '%s': unknown option '%s' (size=, mode=, uid=, gid=, nr_inodes=, "
                                       "ro, noexec, nosuid, nodev and their opposites)", t, w);
        }
        return 0;
}

static json_t *idmap_json(const struct spec_idmap *m, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_pack("{s:I,s:I,s:I}", "containerID", (json_int_t) m[i].container_id,
                                                   "hostID", (json_int_t) m[i].host_id, "size", (json_int_t) m[i].size));
        return a;
}

static char *spec_hostname(const struct engine_run_opts *o, const char *id)
{
        return o->hostname ? xstrdup(o->hostname) : xasprintf("%.12s", id);
}

/* the files of etc_write(), bound over the image's */
static const char *const etc_names[] = { "hosts", "hostname", "resolv.conf" };

/* /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, written into
 * its run directory and bound over the image's: the container's name resolves,
 * and with the host's network so do the host's resolvers */
static int etc_write(const struct engine_run_opts *o, const struct net_conf *nc, const char *id, const char *rundir,
                     struct err *err)
{
        _cleanup_close_ int rd = open(rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *host = spec_hostname(o, id),
                            *name = o->name ? xstrdup(o->name) : xasprintf("den-%.12s", id);
        char buf[64];
        const char *hostaddr = net_host_address(nc, buf);
        _cleanup_free_ char *hostline = hostaddr ? xasprintf("%s\thost.containers.internal host.den.internal\n", hostaddr) : xstrdup("");
        _cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "127.0.1.1\t%s%s%s\n%s", host, strcmp(name, host) ? " " : "",
                                               strcmp(name, host) ? name : "", hostline),
                            *hostname = xasprintf("%s\n", host), *resolv = net_resolv_conf(nc);
        const char *texts[] = { hosts, hostname, resolv };
        for (size_t i = 0; i < ELEMENTSOF(etc_names); i++)
                if (rd < 0 || fs_write_replace(rd, etc_names[i], texts[i], strlen(texts[i]), 0644) < 0)
                        return err_sys(err, -errno, "cannot write %s/%s", rundir, etc_names[i]);
        return 0;
}

json_t *ctr_spec_build(const struct engine_run_opts *o, const struct net_conf *nc, const char *id, const char *rootfs,
                       bool rootless, const char *rundir, struct err *err)
{
        json_t *j = spec_generate(rootless, geteuid(), getegid());
        json_t *lx = json_object_get(j, "linux"), *nss = json_object_get(lx, "namespaces");
        json_object_set_new(j, "root", json_pack("{s:s,s:b}", "path", rootfs, "readonly", o->read_only));
        json_object_set_new(j, "process", json_pack("{s:[s],s:s}", "args", "/", "cwd", "/"));
        _cleanup_free_ char *host = spec_hostname(o, id);
        json_object_set_new(j, "hostname", json_string(host));
        if (rootless) {
                struct spec_idmap um[2], gm[2];
                size_t nu = idmap_default(false, um), ng = idmap_default(true, gm);
                json_object_set_new(lx, "uidMappings", idmap_json(um, nu));
                json_object_set_new(lx, "gidMappings", idmap_json(gm, ng));
        }
        json_object_del(lx, "resources");
        size_t i;
        json_t *v;
        json_array_foreach(nss, i, v) if (strcmp(json_string_value(json_object_get(v, "type")), "network") == 0)
        {
                json_array_remove(nss, i);
                break;
        }
        if (nc->mode != NET_HOST)
                json_array_append_new(nss, json_pack("{s:s}", "type", "network"));
        json_t *mounts = json_object_get(j, "mounts");
        if (nc->mode != NET_HOST && rootless) {
                /* a network namespace of our own lets sysfs be mounted fresh */
                json_array_foreach(mounts, i, v) if (strcmp(json_string_value(json_object_get(v, "destination")), "/sys") == 0)
                        json_array_set_new(mounts, i, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", "/sys", "type",
                                                                "sysfs", "source", "sysfs", "options", "nosuid", "noexec",
                                                                "nodev", "ro"));
        }
        /* SOURCE:DEST[:OPTS]: binds (a volume's directory by now, see ctr_spec_make) */
        for (char **vol = o->volumes; vol && *vol; vol++) {
                _cleanup_free_ char *copy = xstrdup(*vol);
                char *c1 = strchr(copy, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c1) {
                        json_decref(j);
                        err_set(err, -EINVAL, "-v '%s': expected /HOST/PATH:/CONTAINER/PATH[:ro|rw]", *vol);
                        return NULL;
                }
                *c1 = '\0';
                if (c2)
                        *c2 = '\0';
                bool ro = false, copyup = false;
                char *save = NULL;
                for (char *w = c2 ? strtok_r(c2 + 1, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
                        ro = ro || strcmp(w, "ro") == 0;
                        copyup = copyup || strcmp(w, "x-den.copyup") == 0;
                }
                json_t *m = json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", c1 + 1, "type", "bind", "source", copy,
                                      "options", "rbind", ro ? "ro" : "rw");
                if (copyup)
                        json_array_append_new(json_object_get(m, "options"), json_string("x-den.copyup"));
                json_array_append_new(mounts, m);
        }
        /* DIR[:OPTS] (ctr_tmpfs_check()ed) */
        for (char **t = o->tmpfs; t && *t; t++) {
                if ((*t)[0] != '/') {
                        json_decref(j);
                        err_set(err, -EINVAL, "--tmpfs '%s': not an absolute path", *t);
                        return NULL;
                }
                _cleanup_free_ char *dir = xstrdup(*t);
                char *c = strchr(dir, ':'), *save = NULL;
                if (c)
                        *c++ = '\0';
                json_t *m = json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dir, "type", "tmpfs", "source", "tmpfs",
                                      "options", "nosuid", "nodev");
                for (char *w = c ? strtok_r(c, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save))
                        json_array_append_new(json_object_get(m, "options"), json_string(w));
                json_array_append_new(mounts, m);
        }
        for (size_t k = 0; k < ELEMENTSOF(etc_names); k++) {
                _cleanup_free_ char *src = xasprintf("%s/%s", rundir, etc_names[k]), *dst = xasprintf("/etc/%s", etc_names[k]);
                json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dst, "type", "bind",
                                                        "source", src, "options", "bind", "rw"));
        }
        return j;
}

json_t *ctr_spec_make(const struct engine_run_opts *o, const struct net_conf *nc, const char *id, const char *rootfs,
                      bool rootless, const char *rundir, struct err *err)
{
        /* volumes become what they are on the host: their directory (or a bound one), a tmpfs */
        _cleanup_strv_free_ char **vols = NULL, **tmpfs = strv_copy(o->tmpfs);
        for (char **vol = o->volumes; vol && *vol; vol++) {
                struct ctr_volume cv;
                struct volume_mount vm = { 0 };
                if (ctr_volume_check(*vol, err) < 0 || ctr_volume_parse(*vol, &cv, err) < 0)
                        return NULL;
                int r = cv.is_volume ? volume_mount_of(o->root, cv.source, &vm, err) : 0;
                _cleanup_free_ char *e = NULL;
                if (r < 0)
                        err_wrap(err, "-v %s", *vol);
                else if (!cv.is_volume)
                        e = xstrdup(*vol);
                else if (vm.source)
                        e = xasprintf("%s:%s:%s%s", vm.source, cv.dest, cv.ro ? "ro" : "rw",
                                      vm.copy_up && !cv.nocopy ? ",x-den.copyup" : "");
                else {
                        _cleanup_free_ char *t = xasprintf("%s:%s%s%s%s", cv.dest, cv.ro ? "ro" : "rw",
                                                           vm.copy_up && !cv.nocopy ? ",tmpcopyup" : "",
                                                           vm.tmpfs_data ? "," : "", vm.tmpfs_data ? vm.tmpfs_data : "");
                        strv_push(&tmpfs, t);
                }
                if (e)
                        strv_push(&vols, e);
                ctr_volume_free(&cv);
                volume_mount_free(&vm);
                if (r < 0)
                        return NULL;
        }
        struct engine_run_opts o2 = *o;
        o2.volumes = vols, o2.tmpfs = tmpfs;
        json_t *j = ctr_spec_build(&o2, nc, id, rootfs, rootless, rundir, err);
        if (j && etc_write(o, nc, id, rundir, err) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

char **ctr_spec_targets(json_t *spec)
{
        char **out = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(spec, "mounts"), i, v)
        {
                const char *d = json_string_value(json_object_get(v, "destination"));
                if (d)
                        strv_push(&out, d);
        }
        json_array_foreach(json_object_get(json_object_get(spec, "linux"), "maskedPaths"), i, v)
        {
                if (json_string_value(v))
                        strv_push(&out, json_string_value(v));
        }
        return out ? out : xcalloc(1, sizeof(char *));
}
