/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "internal.h"
#include "name.h"
#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/net/net.h"
#include "lib/keeper/keeper.h"
#include "lib/keeper/proto.h"
#include "lib/linux/idmap.h"
#include "lib/linux/mount.h"
#include "lib/linux/rootfs.h"
#include "lib/linux/sync.h"
#include "lib/storage/storage.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"
#include "lib/store/store.h"
#include "secopt.h"
#include "state.h"

#define DOC_MAX (4u << 20)

/* docker's default capability set for root in a container */
static const int default_caps[] = { 0 /* CHOWN */,       1 /* DAC_OVERRIDE */, 3 /* FOWNER */, 4 /* FSETID */,
                                    5 /* KILL */,        6 /* SETGID */,       7 /* SETUID */, 8 /* SETPCAP */,
                                    10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */, 18 /* SYS_CHROOT */,
                                    27 /* MKNOD */,      29 /* AUDIT_WRITE */, 31 /* SETFCAP */ };

static uint64_t default_cap_mask(void)
{
        uint64_t caps = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                caps |= UINT64_C(1) << default_caps[i];
        return caps;
}

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

/* den's run directory: --runroot or $DEN_RUNROOT, else /run/den (root),
 * $XDG_RUNTIME_DIR/den, /tmp/den-<uid>; opened once, checked on the fd and
 * named through it from then on (runtime_dir_pin): *ret is "/proc/self/fd/N" */
static int runroot_open(const char *given, char **ret, struct err *err)
{
        const char *e = getenv("DEN_RUNROOT"), *xdg = getenv("XDG_RUNTIME_DIR");
        const char *hint = "remove it or use --runroot";
        unsigned flags = FS_PRIVATE_CREATE;
        _cleanup_free_ char *p = NULL;
        struct stat st;
        if (given || (e && *e)) {
                p = xstrdup(given ? given : e);
                hint = "give --runroot a directory of your own";
        } else if (geteuid() == 0 && !runtime_in_userns())
                p = xstrdup("/run/den");
        else if (xdg && *xdg && stat(xdg, &st) == 0 && st.st_uid == geteuid())
                p = xasprintf("%s/den", xdg);
        else {
                /* a name in the shared /tmp: anyone may have made it first */
                p = xasprintf("/tmp/den-%u", geteuid());
                flags |= FS_PRIVATE_0700;
                hint = "set XDG_RUNTIME_DIR to a directory of yours or use --runroot";
        }
        int r = runtime_dir_pin(p, flags, hint, ret, err);
        return r < 0 ? err_wrap(err, "cannot use the run directory") : r;
}

int engine_runroot(const char *given, char **ret, struct err *err)
{
        _cleanup_free_ char *rr = NULL;
        int r = runroot_open(given, &rr, err);
        if (r < 0)
                return r;
        *ret = runtime_dir_real(rr);
        return 0;
}

static char *random_id(void)
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

static json_t *record_load(const char *root, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/container.json", root, id);
        struct err e = { 0 };
        return json_load_path(p, DOC_MAX, &e);
}

/* find a container by id, id prefix or name */
static int find_container(const char *root, const char *what, char **ret_id, struct err *err)
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

static bool name_taken(const char *root, const char *name)
{
        _cleanup_free_ char *id = NULL;
        struct err e = { 0 };
        if (find_container(root, name, &id, &e) < 0)
                return false;
        json_t *rec = record_load(root, id);
        bool taken = rec && json_string_value(json_object_get(rec, "Name")) &&
                     strcmp(json_string_value(json_object_get(rec, "Name")), name) == 0;
        json_decref(rec);
        return taken;
}

/* ---- keeper liveness ---- */

static bool keeper_alive(const char *runroot, const char *id, pid_t *ret_pid)
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
static bool keeper_temporary(const char *runroot, const char *id)
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
static const char *container_state(json_t *rec, const char *runroot, const char *id, bool running, int *ret_code)
{
        int code = read_exit(runroot, id);
        if (code < 0 && !running && json_object_get(rec, "StorageDriver"))
                code = 137;
        *ret_code = code;
        return running ? "running" : code >= 0 ? "exited" : "created";
}

/* ---- the keeper's side of the start ---- */

struct keeper_child {
        struct spec *spec;
        struct mount_op *ops;
        size_t n_ops;
        struct mount_env env;
        struct storage_root sroot;
        enum storage_driver driver;
        int sync_fd, listen_fd, exit_fd, devnull;
        int keeper_exe; /* den-keeper beside den, opened on the host, or -1 */
        bool temporary; /* serves den cp or export of a stopped container: dies with that den */
        bool new_userns;
        void *seccomp;  /* the commands' filter (lib/linux/seccomp_bpf.h), NULL: none */
        size_t seccomp_len;
};

static int keeper_setup(struct keeper_child *c, struct err *err)
{
        int r;
        if ((r = sync_expect(c->sync_fd, SYNC_IDMAP_DONE, NULL, err)) < 0)
                return r;
        if (c->new_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return err_sys(err, -errno, "cannot become root in the container's user namespace");
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return err_sys(err, -errno, "cannot make / non-shared");
        /* the run directory's rootfs and files are mounted here, in our namespace */
        if ((r = runtime_dir_enter_mntns(err)) < 0)
                return r;
        _cleanup_close_ int target = open(c->spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (target < 0)
                return err_sys(err, -errno, "%s", c->spec->root_path);
        if ((r = storage_mount(&c->sroot, c->driver, target, c->spec->root_path, err)) < 0)
                return r;
        c->driver = (enum storage_driver) r;
        _cleanup_close_ int root_fd = rootfs_mount(c->spec, c->ops, c->n_ops, &c->env, err);
        if (root_fd < 0)
                return root_fd;
        if ((r = rootfs_pivot(root_fd, false, err)) < 0 || (r = rootfs_finish(c->spec, -1, err)) < 0)
                return r;
        if (c->env.new_netns)
                net_loopback_up();
        return 0;
}

static __attribute__((noreturn)) void keeper_child_main(struct keeper_child *c)
{
        struct err err = { 0 };
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (keeper_setup(c, &err) < 0) {
                sync_send_err(c->sync_fd, &err);
                _exit(1);
        }
        /* nothing inside may read the keeper's memory or reach its binary */
        prctl(PR_SET_DUMPABLE, 0);
        /* a keeper for one copy dies with its den, however den ends (den export | head:
         * SIGPIPE), or the stopped container would look running ever after */
        if (!c->temporary)
                prctl(PR_SET_PDEATHSIG, 0);
        struct keeper_conf kc = { .listen_fd = c->listen_fd, .exit_fd = c->exit_fd, .default_caps = default_cap_mask(),
                                  .setgroups = runtime_setgroups_allowed(0), .seccomp = c->seccomp,
                                  .seccomp_len = c->seccomp_len };
        /* den-keeper reads the filter from fd 6: a memfd, kept clear of 3-5 until then */
        int sc_fd = -1;
        if (c->keeper_exe >= 0 && c->seccomp) {
                _cleanup_close_ int m = memfd_create("seccomp", MFD_CLOEXEC);
                if (m < 0 || write(m, c->seccomp, c->seccomp_len) != (ssize_t) c->seccomp_len ||
                    lseek(m, 0, SEEK_SET) != 0 || (sc_fd = fcntl(m, F_DUPFD_CLOEXEC, 64)) < 0) {
                        err_sys(&err, -errno, "cannot hand the seccomp filter to the keeper");
                        sync_send_err(c->sync_fd, &err);
                        _exit(1);
                }
        }
        /* the driver used goes back: later starts of this container must use it too */
        sync_send(c->sync_fd, SYNC_READY, (int32_t) c->driver);
        /* the keeper holds no host stdio: a detached container must not keep
         * its starter's terminal or pipes open */
        dup2(c->devnull, 0);
        dup2(c->devnull, 1);
        dup2(c->devnull, 2);
        /* and no host fd but its socket and the exit file: whatever den held
         * (the store's directory, its lock) is closed, not just marked
         * close-on-exec.  They go to fixed numbers: 3 the socket, 4 the exit
         * file, 5 (close-on-exec) the small den-keeper program, if there is one */
        if (dup3(c->listen_fd, 3, 0) < 0 || dup3(c->exit_fd, 4, 0) < 0 ||
            (c->keeper_exe >= 0 ? dup3(c->keeper_exe, 5, O_CLOEXEC) : dup3(c->devnull, 5, O_CLOEXEC)) < 0 ||
            (sc_fd >= 0 && dup3(sc_fd, 6, 0) < 0))
                _exit(1);
        syscall(SYS_close_range, sc_fd >= 0 ? 7 : 6, ~0u, 0);
        kc.listen_fd = 3;
        kc.exit_fd = 4;
        if (c->keeper_exe >= 0) {
                /* opened before pivot_root: no path of the container is involved */
                char caps_hex[24], *argv[] = { "den-keeper", "3", "4", caps_hex, kc.setgroups ? "1" : "0",
                                               sc_fd >= 0 ? "6" : NULL, NULL };
                snprintf(caps_hex, sizeof(caps_hex), "%llx", (unsigned long long) kc.default_caps);
                syscall(SYS_execveat, 5, "", argv, (char *[]){ NULL }, AT_EMPTY_PATH);
        }
        close(5);
        keeper_main(&kc);
}

static int signal_main_pid(const char *rundir, int pid, int sig, struct err *err);

/* ---- den run ---- */

struct image_info {
        json_t *config; /* the image config's "config" object */
        char **lowers;  /* layer dirs, top-most first */
        size_t n_lowers;
        char manifest[DIGEST_STR_MAX];
};

static void image_info_free(struct image_info *ii)
{
        json_decref(ii->config);
        for (size_t i = 0; i < ii->n_lowers; i++)
                free(ii->lowers[i]);
        free(ii->lowers);
}

static int load_image_digest(struct store *s, const char *manifest, struct image_info *ii, struct err *err)
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

static int load_image(struct store *s, const char *ref, struct image_info *ii, struct err *err)
{
        char manifest[DIGEST_STR_MAX];
        int r = image_resolve(s, ref, manifest, err);
        if (r < 0)
                return r;
        r = load_image_digest(s, manifest, ii, err);
        return r < 0 ? err_wrap(err, "image '%s'", ref) : r;
}

/* the process of a command: image defaults, then what the user gave */
static json_t *process_request(json_t *imgcfg, char **cmd, char **env, const char *workdir, const char *user,
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

/* /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, written into
 * its run directory and bound over the image's: the container's name resolves,
 * and with the host's network so do the host's resolvers */
static int etc_files(const char *rundir, const char *host, const char *name, const struct net_conf *nc, json_t *mounts,
                     struct err *err)
{
        _cleanup_close_ int rd = open(rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        char buf[64];
        const char *hostaddr = net_host_address(nc, buf);
        _cleanup_free_ char *hostline = hostaddr ? xasprintf("%s\thost.containers.internal host.den.internal\n", hostaddr) : xstrdup("");
        _cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "127.0.1.1\t%s%s%s\n%s", host, name && strcmp(name, host) ? " " : "",
                                               name && strcmp(name, host) ? name : "", hostline),
                            *hostname = xasprintf("%s\n", host), *resolv = net_resolv_conf(nc);
        const char *files[][2] = { { "hosts", hosts }, { "hostname", hostname }, { "resolv.conf", resolv } };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (rd < 0 || fs_write_replace(rd, files[i][0], files[i][1], strlen(files[i][1]), 0644) < 0)
                        return err_sys(err, -errno, "cannot write %s/%s", rundir, files[i][0]);
                _cleanup_free_ char *src = xasprintf("%s/%s", rundir, files[i][0]), *dst = xasprintf("/etc/%s", files[i][0]);
                json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dst, "type", "bind",
                                                        "source", src, "options", "bind", "rw"));
        }
        return 0;
}

/* -v HOST:CTR[:ro|rw] as the user wrote it: its form, and a host path that is there
 * (said in their words, not as the config.json mount it becomes) */
static int volume_check(const char *vol, struct err *err)
{
        _cleanup_free_ char *copy = xstrdup(vol);
        char *c1 = strchr(copy, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || copy[0] != '/' || c1[1] != '/' || (c2 && strcmp(c2 + 1, "ro") && strcmp(c2 + 1, "rw")))
                return err_set(err, -EINVAL, "-v '%s': expected /HOST/PATH:/CONTAINER/PATH[:ro|rw]", vol);
        *c1 = '\0';
        struct stat st;
        if (stat(copy, &st) < 0)
                return errno == ENOENT ? err_set(err, -ENOENT, "-v %s: %s does not exist", vol, copy)
                                       : err_sys(err, -errno, "-v %s: %s", vol, copy);
        return 0;
}

static json_t *container_spec(const struct engine_run_opts *o, const struct net_conf *nc, const char *id,
                              const char *rootfs, bool rootless, const char *rundir, struct err *err)
{
        json_t *j = spec_generate(rootless, geteuid(), getegid());
        json_t *lx = json_object_get(j, "linux"), *nss = json_object_get(lx, "namespaces");
        json_object_set_new(j, "root", json_pack("{s:s,s:b}", "path", rootfs, "readonly", o->read_only));
        json_object_set_new(j, "process", json_pack("{s:[s],s:s}", "args", "/", "cwd", "/"));
        _cleanup_free_ char *host = o->hostname ? xstrdup(o->hostname) : xasprintf("%.12s", id);
        json_object_set_new(j, "hostname", json_string(host));
        if (rootless) {
                struct spec_idmap um[2], gm[2];
                size_t nu = idmap_default(false, um), ng = idmap_default(true, gm);
                json_t *ju = json_array(), *jg = json_array();
                for (size_t i = 0; i < nu; i++)
                        json_array_append_new(ju, json_pack("{s:I,s:I,s:I}", "containerID", (json_int_t) um[i].container_id,
                                                            "hostID", (json_int_t) um[i].host_id, "size",
                                                            (json_int_t) um[i].size));
                for (size_t i = 0; i < ng; i++)
                        json_array_append_new(jg, json_pack("{s:I,s:I,s:I}", "containerID", (json_int_t) gm[i].container_id,
                                                            "hostID", (json_int_t) gm[i].host_id, "size",
                                                            (json_int_t) gm[i].size));
                json_object_set_new(lx, "uidMappings", ju);
                json_object_set_new(lx, "gidMappings", jg);
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
        for (char **vol = o->volumes; vol && *vol; vol++) {
                if (volume_check(*vol, err) < 0) {
                        json_decref(j);
                        return NULL;
                }
                _cleanup_free_ char *copy = xstrdup(*vol);
                char *c1 = strchr(copy, ':'), *c2 = strchr(c1 + 1, ':');
                *c1 = '\0';
                if (c2)
                        *c2 = '\0';
                bool ro = c2 && strcmp(c2 + 1, "ro") == 0;
                json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", c1 + 1, "type", "bind",
                                                        "source", copy, "options", "rbind", ro ? "ro" : "rw"));
        }
        for (char **t = o->tmpfs; t && *t; t++) {
                if ((*t)[0] != '/') {
                        json_decref(j);
                        err_set(err, -EINVAL, "--tmpfs '%s': not an absolute path", *t);
                        return NULL;
                }
                json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", *t, "type", "tmpfs",
                                                        "source", "tmpfs", "options", "nosuid", "nodev"));
        }
        _cleanup_free_ char *cname = o->name ? xstrdup(o->name) : xasprintf("den-%.12s", id);
        if (etc_files(rundir, host, cname, nc, mounts, err) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

/* den-keeper in den's own directory (build or install), opened here on the host */
static int keeper_exe_open(void)
{
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return -1;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (!slash || (size_t) (slash - self) + 12 >= sizeof(self))
                return -1;
        strcpy(slash + 1, "den-keeper");
        return open(self, O_PATH | O_CLOEXEC);
}

static int listen_at(const char *dir, int *ret, struct err *err)
{
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/keeper.sock", dfd);
        /* left by an earlier run of this container (its keeper is gone) */
        if (dfd >= 0)
                unlinkat(dfd, "keeper.sock", 0);
        int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (dfd < 0 || s < 0 || bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(s, 64) < 0) {
                int r = -errno;
                if (s >= 0)
                        close(s);
                return err_sys(err, r, "cannot create the keeper socket in %s", dir);
        }
        *ret = s;
        return 0;
}

struct started {
        pid_t keeper;
        char *id, *rundir, *cdir;
        enum storage_driver driver; /* asked for; the one used after the start */
        bool service;               /* no main command: cp/export of a stopped container */
};

static int start_keeper(const struct engine_run_opts *o, struct store *s, struct image_info *ii, const char *rr,
                        struct started *out, struct err *err)
{
        bool rootless = runtime_is_rootless(-1);
        struct spec spec = { 0 };
        struct mount_op *ops = NULL;
        size_t n_ops = 0;
        int r, listen_fd = -1, exit_fd = -1, devnull = -1, sp[2] = { -1, -1 }, c_keeper_exe = -1, ns_net = -1, ns_user = -1;
        pid_t pid = -1;
        _cleanup_free_ void *seccomp = NULL;
        size_t seccomp_len = 0;
        _cleanup_free_ char *pidtxt = NULL;
        _cleanup_close_ int rd = -1;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", out->rundir), *upper = xasprintf("%s/upper", out->cdir),
                            *work = xasprintf("%s/work", out->cdir), *exitp = xasprintf("%s/exit", out->rundir),
                            *copy = xasprintf("%s/copy", out->cdir);
        /* a container started again keeps its upper directory */
        if ((mkdir(rootfs, 0700) < 0 && errno != EEXIST) || (mkdir(upper, 0755) < 0 && errno != EEXIST) ||
            (mkdir(work, 0700) < 0 && errno != EEXIST))
                return err_sys(err, -errno, "cannot create the directories of container %s", out->id);
        struct net_conf nc;
        if ((r = net_conf_parse(o->network, o->allow_host_loopback, o->publish, &nc, err)) < 0)
                return r;
        json_t *sj = container_spec(o, &nc, out->id, rootfs, rootless, out->rundir, err);
        if (!sj) {
                net_conf_free(&nc);
                return err->code;
        }
        r = spec_parse(sj, out->cdir, &spec, err);
        json_decref(sj);
        if (r < 0)
                goto out;
        if ((r = mount_plan(&spec, &ops, &n_ops, err)) < 0)
                goto out;
        /* the filter of the commands, as the record says; a keeper that only
         * serves den cp or den export runs none */
        if (!out->service || o->session) {
                json_t *rec = record_load(o->root, out->id);
                r = secopt_filter(json_object_get(rec, "Options"), default_cap_mask(), rr, &seccomp, &seccomp_len, err);
                json_decref(rec);
                if (r < 0)
                        goto out;
        }
        if ((r = listen_at(out->rundir, &listen_fd, err)) < 0)
                goto out;
        /* a keeper started only to reach a stopped container's files (cp,
         * export) must not erase the status its last run left */
        exit_fd = open(exitp, O_WRONLY | O_CREAT | (out->service ? 0 : O_TRUNC) | O_CLOEXEC, 0600);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (exit_fd < 0 || devnull < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = err_sys(err, -errno, "cannot set up container %s", out->id);
                goto out;
        }
        struct keeper_child c = { .spec = &spec, .ops = ops, .n_ops = n_ops, .sync_fd = sp[1], .listen_fd = listen_fd,
                                  .exit_fd = exit_fd, .devnull = devnull, .new_userns = spec.ns[NS_USER].enabled,
                                  .keeper_exe = (c_keeper_exe = keeper_exe_open()), .seccomp = seccomp,
                                  .seccomp_len = seccomp_len, .temporary = out->service && !o->session };
        c.env = (struct mount_env){ .in_userns = rootless, .new_netns = spec.ns[NS_NET].enabled,
                                    .new_pidns = true, .new_ipcns = true, .new_cgroupns = true };
        c.sroot = (struct storage_root){ .lowers = ii->lowers, .n_lowers = ii->n_lowers, .upper = upper,
                                         .work = work, .copy = copy, .userxattr = rootless };
        c.driver = out->driver;
        uint64_t flags = 0;
        for (int t = 0; t < _NS_MAX; t++)
                if (spec.ns[t].enabled)
                        flags |= (uint64_t) spec_ns_clone_flags[t];
        pid = runtime_clone3(flags, NULL);
        if (pid < 0) {
                r = err_sys(err, -errno, "cannot create the keeper of container %s", out->id);
                goto out;
        }
        if (pid == 0) {
                close(sp[0]);
                keeper_child_main(&c);
        }
        close(sp[1]);
        sp[1] = -1;
        if (net_mode_private(nc.mode)) {
                /* now, while the child is still a dumpable copy of us */
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/ns/net", pid);
                ns_net = open(p, O_RDONLY | O_CLOEXEC);
                snprintf(p, sizeof(p), "/proc/%d/ns/user", pid);
                ns_user = spec.ns[NS_USER].enabled ? open(p, O_RDONLY | O_CLOEXEC) : -1;
                if (ns_net < 0 || (spec.ns[NS_USER].enabled && ns_user < 0)) {
                        r = err_sys(err, -errno, "cannot open the namespaces of container %s", out->id);
                        goto out;
                }
        }
        if (spec.ns[NS_USER].enabled) {
                bool sg;
                if ((r = idmap_write(pid, spec.uid_mappings, spec.n_uid_mappings, spec.gid_mappings,
                                     spec.n_gid_mappings, &sg, err)) < 0)
                        goto out;
        }
        sync_send(sp[0], SYNC_IDMAP_DONE, pid);
        int32_t used = 0;
        if ((r = sync_expect(sp[0], SYNC_READY, &used, err)) < 0)
                goto out;
        out->driver = (enum storage_driver) used;
        /* "temporary": a keeper for cp or export, which does not make the container running */
        pidtxt = xasprintf("%d %llu%s\n", pid, state_pid_starttime(pid), c.temporary ? " temporary" : "");
        rd = open(out->rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (rd < 0 || fs_write_replace(rd, "keeper.pid", pidtxt, strlen(pidtxt), 0600) < 0) {
                r = err_sys(err, -errno, "cannot record the keeper of %s", out->id);
                goto out;
        }
        /* the network helper, outside, before any command runs */
        if ((r = net_attach(pid, ns_user, ns_net, &nc, out->rundir, c_keeper_exe, err)) < 0)
                goto out;
        out->keeper = pid;
        pid = -1;
        r = 0;
out:
        net_conf_free(&nc);
        if (ns_net >= 0)
                close(ns_net);
        if (ns_user >= 0)
                close(ns_user);
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        for (int i = 0; i < 2; i++)
                if (sp[i] >= 0)
                        close(sp[i]);
        if (listen_fd >= 0)
                close(listen_fd);
        if (exit_fd >= 0)
                close(exit_fd);
        if (devnull >= 0)
                close(devnull);
        if (c_keeper_exe >= 0)
                close(c_keeper_exe);
        mount_plan_free(ops, n_ops);
        spec_free(&spec);
        return r;
}

/* send a RUN, wait for STARTED; returns the connected socket (and, with a
 * terminal, the pty master in *ret_master) */
static int send_run(const char *rundir, json_t *req, const int *fds, size_t n_fds, int *ret_master, struct err *err)
{
        _cleanup_free_ char *sock = xasprintf("%s/keeper.sock", rundir);
        int s = keeper_connect(sock, err);
        if (s < 0)
                return s;
        enum keeper_type t;
        json_t *rep = NULL;
        int r = keeper_send(s, KEEPER_RUN, req, fds, n_fds);
        if (r == -EMSGSIZE)
                err_set(err, r, "the command (its arguments and environment) is larger than a keeper takes (%u MiB)",
                        KEEPER_MAX_PAYLOAD >> 20);
        int got[KEEPER_MAX_FDS];
        size_t n_got = KEEPER_MAX_FDS;
        if (r < 0 || (r = keeper_recv(s, &t, &rep, got, &n_got, err)) < 0) {
                close(s);
                return err->code ? r : err_sys(err, r, "keeper");
        }
        if (ret_master)
                *ret_master = -1;
        for (size_t i = 0; i < n_got; i++) {
                if (ret_master && i == 0 && t == KEEPER_STARTED)
                        *ret_master = got[i];
                else
                        close(got[i]);
        }
        if (t != KEEPER_STARTED) {
                const char *m = json_string_value(json_object_get(rep, "error"));
                r = err_set(err, -EIO, "%s", m ? m : "the keeper refused the command");
                json_decref(rep);
                close(s);
                return r;
        }
        json_decref(rep);
        return s;
}

/* wait for EXITED on s, forwarding our signals to the command; with a
 * terminal (master >= 0) proxy it to our stdio in raw mode, resizes too */
static int wait_exited(int s, const char *rundir, int master, struct err *err)
{
        sigset_t mask, old;
        sigemptyset(&mask);
        int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
        for (size_t i = 0; i < ELEMENTSOF(fwd); i++)
                sigaddset(&mask, fwd[i]);
        sigprocmask(SIG_BLOCK, &mask, &old);
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        struct termios saved;
        bool raw = false, in_open = master >= 0, out_open = master >= 0;
        if (master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
                struct termios tt = saved;
                cfmakeraw(&tt);
                raw = tcsetattr(0, TCSANOW, &tt) == 0;
        }
        if (master >= 0) {
                struct winsize ws;
                if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                        ioctl(master, TIOCSWINSZ, &ws);
        }
        int status = -1;
        for (;;) {
                struct pollfd p[4] = { { s, POLLIN, 0 }, { sfd, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
                                       { out_open ? master : -1, POLLIN, 0 } };
                if (poll(p, 4, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH) {
                                        struct winsize ws;
                                        if (master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
                                                ioctl(master, TIOCSWINSZ, &ws);
                                        continue;
                                }
                                struct err e = { 0 };
                                signal_main_pid(rundir, 0, (int) si.ssi_signo, &e);
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        runtime_pump(0, master, &in_open);
                if (p[3].revents & (POLLIN | POLLHUP | POLLERR))
                        runtime_pump(master, 1, &out_open);
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        while (out_open) {
                                struct pollfd q = { master, POLLIN, 0 };
                                if (poll(&q, 1, 0) <= 0 || !(q.revents & POLLIN))
                                        break;
                                runtime_pump(master, 1, &out_open);
                        }
                        enum keeper_type t;
                        json_t *rep = NULL;
                        if (keeper_recv(s, &t, &rep, NULL, NULL, err) < 0)
                                break;
                        if (t == KEEPER_EXITED)
                                status = (int) json_integer_value(json_object_get(rep, "status"));
                        json_decref(rep);
                        break;
                }
        }
        if (raw)
                tcsetattr(0, TCSANOW, &saved);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (status < 0)
                return err->code ? err->code : err_set(err, -EIO, "lost the keeper before the command ended");
        err_clear(err);
        return status;
}

static int remove_container(struct store *s, const char *runroot, const char *id, struct err *err)
{
        _cleanup_free_ char *cdir = xasprintf("containers/%s", id), *rundir = xasprintf("%s/containers/%s", runroot, id);
        net_detach_wait(rundir, 3000);
        fs_rm_rf(rundir);
        /* rootless, the upper dir holds files of the sub-ids */
        return layer_remove_tree(s, cdir, err);
}

static json_t *strv_json(char **v)
{
        json_t *a = json_array();
        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static char **json_strv(json_t *a)
{
        char **v = xcalloc(json_array_size(a) + 1, sizeof(char *));
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) v[i] = xstrdup(json_string_value(e) ? json_string_value(e) : "");
        return v;
}

/* the record of a new container: everything `start` needs to run it again */
static int create_record(const struct engine_run_opts *o, struct image_info *ii, struct started *st, const char *rr,
                         json_t **ret_req, struct err *err)
{
        _cleanup_free_ char *name = o->name ? xstrdup(o->name) : xasprintf("den-%.12s", st->id), *created = now_rfc3339();
        json_t *req = process_request(ii->config, o->cmd, o->env, o->workdir, o->user, o->entrypoint, true, o->tty);
        if (json_array_size(json_object_get(req, "args")) == 0 && !o->session) {
                json_decref(req);
                return err_set(err, -EINVAL, "image '%s' has no command: give one after the image", o->image);
        }
        json_t *opts = json_pack("{s:o,s:o,s:s?,s:s?,s:b,s:b,s:b,s:o,s:b}", "Volumes", strv_json(o->volumes), "Tmpfs",
                                 strv_json(o->tmpfs), "Network", o->network, "Hostname", o->hostname, "ReadOnly",
                                 o->read_only, "Tty", o->tty, "AutoRemove", o->rm, "Publish", strv_json(o->publish),
                                 "AllowHostLoopback", o->allow_host_loopback);
        int r = secopt_record(o->security_opt, default_cap_mask(), rr, opts, err);
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

static void record_set_driver(const char *cdir, enum storage_driver d)
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

/* keeper up, main command sent; attached: wait and return its status */
static int start_main(const struct engine_run_opts *o, struct store *s, struct image_info *ii, const char *rr,
                      struct started *st, json_t *req, bool attach, struct err *err)
{
        int r, sock = -1, logfd = -1, master = -1;
        if (fs_mkdir_p(st->rundir, 0700) < 0)
                return err_sys(err, -errno, "cannot create %s", st->rundir);
        if ((r = start_keeper(o, s, ii, rr, st, err)) < 0)
                return r;
        record_set_driver(st->cdir, st->driver);
        int fds[3] = { 0, 1, 2 };
        /* stdin only with -i, as docker and podman do: a loop reading its own
         * input around `den run` must not have it eaten */
        _cleanup_close_ int in_nul = o->interactive ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in_nul >= 0)
                fds[0] = in_nul;
        if (!attach) {
                /* the keeper writes the output as JSON lines, capped */
                _cleanup_free_ char *lp = xasprintf("%s/ctr.log", st->cdir);
                logfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fds[0] = nul;
                fds[1] = logfd;
                if (!o->tty)
                        json_object_set_new(req, "log", json_true());
                sock = send_run(st->rundir, req, fds, o->tty ? 0 : 2, NULL, err);
                close(nul);
                close(logfd);
        } else
                sock = send_run(st->rundir, req, fds, o->tty ? 0 : 3, &master, err);
        if (sock < 0) {
                kill(st->keeper, SIGKILL);
                waitpid(st->keeper, NULL, 0);
                return sock;
        }
        if (!attach) {
                close(sock);
                return 0;
        }
        r = wait_exited(sock, st->rundir, master, err);
        waitpid(st->keeper, NULL, 0);
        net_detach_wait(st->rundir, 3000);
        if (master >= 0)
                close(master);
        close(sock);
        return r;
}

static void started_free(struct started *st)
{
        free(st->id);
        free(st->rundir);
        free(st->cdir);
}

static void started_paths(struct started *st, const char *root, const char *rr)
{
        st->cdir = xasprintf("%s/containers/%s", root, st->id);
        st->rundir = xasprintf("%s/containers/%s", rr, st->id);
}

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

static int run_or_create(const struct engine_run_opts *o, bool start, struct err *err)
{
        /* declared first: every goto below passes them */
        struct engine_run_opts ro;
        _cleanup_strv_free_ char **publish = NULL, **concrete = NULL;
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
        if ((r = runroot_open(o->runroot, &rr, err)) < 0)
                return r;
        if ((r = store_open(o->root, &s, err)) < 0)
                return r;
        if (o->name && name_taken(o->root, o->name)) {
                r = err_set(err, -EEXIST, "the name '%s' is in use by another container", o->name);
                goto out_store;
        }
        if ((r = store_lock(&s, false, err)) < 0)
                goto out_store;
        r = load_image(&s, o->image, &ii, err);
        store_unlock(&s);
        if (r < 0)
                goto out_store;
        /* the network: checked now (helper there, ports free and allowed), recorded resolved */
        ro = *o;
        publish = strv_copy(o->publish);
        if (o->publish_all) {
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(ii.config, "ExposedPorts"), k, v)
                {
                        _cleanup_free_ char *spec = xasprintf("0:%s", k);
                        strv_push(&publish, spec);
                }
        }
        struct net_conf nc;
        if ((r = net_conf_parse(o->network, o->allow_host_loopback, publish, &nc, err)) < 0)
                goto out;
        if ((r = net_ports_check(&nc, err)) < 0) {
                net_conf_free(&nc);
                goto out;
        }
        for (size_t i = 0; i < nc.n_ports; i++) {
                const struct net_port *p = &nc.ports[i];
                bool v6 = strchr(p->ip, ':') != NULL;
                _cleanup_free_ char *one = xasprintf("%s%s%s%s%u:%u/%s", v6 ? "[" : "", p->ip, v6 ? "]" : "", *p->ip ? ":" : "",
                                                     p->host, p->ctr, p->udp ? "udp" : "tcp");
                strv_push(&concrete, one);
        }
        if (start && o->detach && nc.mode == NET_NONE)
                exposed_notice(ii.config);
        ro.network = net_mode_name(nc.mode);
        ro.allow_host_loopback = nc.allow_host_loopback;
        ro.publish = concrete;
        net_conf_free(&nc);
        o = &ro;
        st.id = random_id();
        started_paths(&st, o->root, rr);
        const char *drv = o->storage_driver ? o->storage_driver : getenv("DEN_STORAGE_DRIVER");
        if (drv && *drv && storage_driver_parse(drv, &st.driver) < 0) {
                r = err_set(err, -EINVAL, "--storage-driver '%s': overlay, fuse-overlayfs, copy or auto", drv);
                goto out;
        }
        for (char **vol = o->volumes; vol && *vol; vol++)
                if ((r = volume_check(*vol, err)) < 0)
                        goto out;
        if ((r = create_record(o, &ii, &st, rr, &req, err)) < 0)
                goto out;
        if (o->session) {
                st.service = true;
                if ((r = fs_mkdir_p(st.rundir, 0700)) < 0)
                        r = err_sys(err, r, "cannot create %s", st.rundir);
                else if ((r = start_keeper(o, &s, &ii, rr, &st, err)) >= 0) {
                        record_set_driver(st.cdir, st.driver);
                        json_t *rec = record_load(o->root, st.id);
                        if (!o->quiet)
                                printf("%s\n", json_string_value(json_object_get(rec, "Name")));
                        fflush(stdout);
                        json_decref(rec);
                }
                goto out;
        }
        if (start)
                r = start_main(o, &s, &ii, rr, &st, req, !o->detach, err);
        /* detached, the id once its command runs: a failure prints none */
        if (r >= 0 && (!start || o->detach)) {
                printf("%s\n", st.id);
                fflush(stdout);
        }
out:
        if (st.id && (r < 0 || (start && !o->detach && o->rm))) {
                struct err e2 = { 0 };
                remove_container(&s, rr, st.id, &e2);
        }
        json_decref(req);
        started_free(&st);
        image_info_free(&ii);
out_store:
        store_close(&s);
        return r;
}

int engine_run(const struct engine_run_opts *o, struct err *err)
{
        return run_or_create(o, true, err);
}

int engine_create(const struct engine_run_opts *o, struct err *err)
{
        return run_or_create(o, false, err);
}

int engine_session_begin(const struct engine_run_opts *o, struct err *err)
{
        struct engine_run_opts so = *o;
        so.session = true;
        so.detach = true;
        /* the keeper stays where the session began: with host networking each
         * command may still choose none */
        if (!so.network)
                so.network = "host";
        return run_or_create(&so, true, err);
}

/* ---- the other verbs ---- */

struct target {
        char *id, *rundir;
        _Bool running;
        pid_t keeper;
};

static int target_open(const char *root, const char *runroot, const char *what, struct target *t, char **ret_rr,
                       struct err *err)
{
        int r = runroot_open(runroot, ret_rr, err);
        if (r < 0)
                return r;
        if ((r = find_container(root, what, &t->id, err)) < 0)
                return r;
        t->rundir = xasprintf("%s/containers/%s", *ret_rr, t->id);
        t->running = keeper_alive(*ret_rr, t->id, &t->keeper);
        return 0;
}

static void target_free(struct target *t)
{
        free(t->id);
        free(t->rundir);
}

int engine_exec(const struct engine_exec_opts *o, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(o->root, o->runroot, o->container, &t, &rr, err);
        if (r < 0)
                goto out;
        if (!t.running) {
                r = err_set(err, -EINVAL, "container '%s' is not running", o->container);
                goto out;
        }
        json_t *rec = record_load(o->root, t.id);
        json_t *proc = json_object_get(rec, "Process");
        /* the image's environment and user are the container's defaults */
        json_t *base = json_pack("{s:O?}", "Env", json_object_get(proc, "env"));
        const char *user = o->user ? o->user : json_string_value(json_object_get(proc, "user"));
        json_t *req = process_request(base, o->cmd, o->env, o->workdir ? o->workdir : json_string_value(json_object_get(proc, "cwd")),
                                      user, "", false, o->tty);
        json_decref(base);
        const char *began = json_string_value(json_object_get(json_object_get(rec, "Options"), "Network"));
        if (o->network) {
                /* a command runs in the container's network, or in none (a namespace of its own) */
                struct net_conf want;
                if ((r = net_conf_parse(o->network, false, NULL, &want, err)) >= 0) {
                        if (want.mode == NET_NONE)
                                json_object_set_new(req, "network", json_string("none"));
                        else if (!began || strcmp(began, net_mode_name(want.mode)) != 0)
                                r = err_set(err, -EINVAL,
                                            "--network %s: '%s' has the network %s; a command can have that one or none",
                                            o->network, o->container, began ? began : "none");
                        net_conf_free(&want);
                }
        }
        json_decref(rec);
        if (r < 0) {
                json_decref(req);
                goto out;
        }
        int fds[3] = { 0, 1, 2 }, nul = -1;
        if (o->detach) {
                nul = open("/dev/null", O_RDWR | O_CLOEXEC);
                fds[0] = fds[1] = fds[2] = nul;
        } else if (!o->interactive) {
                nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fds[0] = nul;
        }
        int master = -1;
        int s = send_run(t.rundir, req, fds, o->tty ? 0 : 3, &master, err);
        json_decref(req);
        if (nul >= 0)
                close(nul);
        if (s < 0) {
                r = s;
                goto out;
        }
        r = o->detach ? 0 : wait_exited(s, t.rundir, master, err);
        if (master >= 0)
                close(master);
        close(s);
out:
        target_free(&t);
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
        int r = runroot_open(runroot, &rr, err);
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
                bool running = keeper_alive(rr, de->d_name, NULL) && !keeper_temporary(rr, de->d_name);
                const char *state = container_state(rec, rr, de->d_name, running, &code);
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

static int signal_main_pid(const char *rundir, int pid, int sig, struct err *err)
{
        _cleanup_free_ char *sock = xasprintf("%s/keeper.sock", rundir);
        int s = keeper_connect(sock, err);
        if (s < 0)
                return s;
        json_t *q = json_pack("{s:i,s:i}", "pid", pid, "signal", sig), *rep = NULL;
        enum keeper_type t;
        int r = keeper_send(s, KEEPER_SIGNAL, q, NULL, 0);
        json_decref(q);
        if (r >= 0 && (r = keeper_recv(s, &t, &rep, NULL, NULL, err)) >= 0 && t == KEEPER_ERROR)
                r = err_set(err, -ESRCH, "%s", json_string_value(json_object_get(rep, "error")));
        json_decref(rep);
        close(s);
        return r;
}

int engine_kill(const char *root, const char *runroot, const char *container, int sig, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && !t.running)
                r = err_set(err, -ESRCH, "container '%s' is not running", container);
        if (r >= 0)
                r = signal_main_pid(t.rundir, 0, sig, err);
        target_free(&t);
        return r;
}

static bool wait_keeper_gone(pid_t pid, int timeout_ms)
{
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return true;
        struct pollfd p = { pfd, POLLIN, 0 };
        int n = poll(&p, 1, timeout_ms);
        close(pfd);
        return n > 0;
}

int engine_stop(const char *root, const char *runroot, const char *container, int timeout, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running) {
                struct err e2 = { 0 };
                signal_main_pid(t.rundir, 0, SIGTERM, &e2);
                if (!wait_keeper_gone(t.keeper, timeout * 1000)) {
                        /* pid 1 of the container: SIGKILL from outside ends it and all within */
                        kill(t.keeper, SIGKILL);
                        wait_keeper_gone(t.keeper, 5000);
                        /* the keeper had no chance to write the status: the main command was killed */
                        _cleanup_free_ char *ep = xasprintf("%s/exit", t.rundir);
                        _cleanup_free_ char *cur = NULL;
                        if (fs_read_file(ep, 64, &cur, NULL) < 0 || !*cur)
                                fs_write_file(ep, "137\n", 4);
                }
                net_detach_wait(t.rundir, 3000);
        }
        target_free(&t);
        return r < 0 ? r : 0;
}

int engine_rm(const char *root, const char *runroot, const char *container, bool force, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running) {
                if (!force)
                        r = err_set(err, -EBUSY, "container '%s' is running: stop it first, or rm -f", container);
                else {
                        kill(t.keeper, SIGKILL);
                        wait_keeper_gone(t.keeper, 5000);
                }
        }
        if (r >= 0) {
                struct store s;
                if ((r = store_open(root, &s, err)) >= 0) {
                        r = remove_container(&s, rr, t.id, err);
                        store_close(&s);
                }
        }
        target_free(&t);
        return r;
}

int engine_wait(const char *root, const char *runroot, const char *container, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running) {
                wait_keeper_gone(t.keeper, -1);
        }
        json_t *rec = r >= 0 ? record_load(root, t.id) : NULL;
        if (r >= 0) {
                container_state(rec, rr, t.id, false, &r);
                if (r < 0)
                        r = err_set(err, -ESRCH, "container '%s' has not run", container);
        }
        json_decref(rec);
        target_free(&t);
        return r;
}

int engine_log_path(const char *root, const char *runroot, const char *container, char **ret, struct err *err)
{
        _cleanup_free_ char *id = NULL;
        (void) runroot;
        int r = find_container(root, container, &id, err);
        if (r < 0)
                return r;
        *ret = xasprintf("%s/containers/%s/ctr.log", root, id);
        return 0;
}

bool engine_running(const char *root, const char *runroot, const char *container, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        bool running = target_open(root, runroot, container, &t, &rr, err) >= 0 && t.running;
        target_free(&t);
        return running;
}

/* Bring up the keeper of a stopped container from its record; with main, run
 * its command (attached or not), without, leave the keeper alone for den cp
 * and den export (*ret_keeper is its pid). */
static int start_from_record(const char *root, const char *rr, const char *id, bool main, bool attach,
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
        vols = json_strv(json_object_get(opts, "Volumes"));
        tmpfs = json_strv(json_object_get(opts, "Tmpfs"));
        _cleanup_strv_free_ char **publish = main ? json_strv(json_object_get(opts, "Publish")) : NULL;
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
                        r = load_image_digest(&s, digest, &ii, err);
                        store_unlock(&s);
                }
                if (r >= 0) {
                        struct started st = { .id = xstrdup(id), .service = !main };
                        started_paths(&st, root, rr);
                        const char *dn = json_string_value(json_object_get(rec, "StorageDriver"));
                        if (dn)
                                storage_driver_parse(dn, &st.driver);
                        if (main) {
                                json_t *req = json_deep_copy(json_object_get(rec, "Process"));
                                r = start_main(&o, &s, &ii, rr, &st, req, attach, err);
                                json_decref(req);
                                if (r >= 0 && attach && o.rm) {
                                        struct err e2 = { 0 };
                                        remove_container(&s, rr, st.id, &e2);
                                }
                        } else if ((r = fs_mkdir_p(st.rundir, 0700)) < 0)
                                r = err_sys(err, r, "cannot create %s", st.rundir);
                        else if ((r = start_keeper(&o, &s, &ii, rr, &st, err)) >= 0)
                                *ret_keeper = st.keeper;
                        started_free(&st);
                }
                store_close(&s);
        }
        json_decref(rec);
        image_info_free(&ii);
        return r;
}

int engine_start(const char *root, const char *runroot, const char *container, bool attach, struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0 && t.running)
                r = err_set(err, -EBUSY, "container '%s' is running already", container);
        if (r >= 0)
                r = start_from_record(root, rr, t.id, true, attach, NULL, err);
        target_free(&t);
        return r;
}

int engine_commit(const char *root, const char *container, const char *name, char ret[72], struct err *err)
{
        _cleanup_free_ char *id = NULL;
        int r = find_container(root, container, &id, err);
        if (r < 0)
                return r;
        json_t *rec = record_load(root, id);
        const char *base = json_string_value(json_object_get(rec, "ImageDigest"));
        const char *drv = json_string_value(json_object_get(rec, "StorageDriver"));
        if (!base) {
                json_decref(rec);
                return err_set(err, -EIO, "container '%s': its record is damaged", container);
        }
        if (drv && strcmp(drv, "copy") == 0) {
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
        _cleanup_free_ char *upper = xasprintf("%s/containers/%s/upper", root, id),
                            *tmpl = xasprintf("%s/tmp/commit.%d.XXXXXX", root, getpid());
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
        int r = find_container(root, container, &id, err);
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
        if (r < 0 || (r = find_container(root, container, &id, err)) < 0)
                return r;
        if (name_taken(root, name))
                return err_set(err, -EEXIST, "the name '%s' is in use by another container", name);
        json_t *rec = record_load(root, id);
        if (!rec)
                return err_set(err, -EIO, "container '%s': its record is damaged", container);
        json_object_set_new(rec, "Name", json_string(name));
        _cleanup_free_ char *txt = json_dumps(rec, JSON_INDENT(1)), *dir = xasprintf("%s/containers/%s", root, id);
        json_decref(rec);
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0 || fs_write_atomic(dfd, "container.json", txt, strlen(txt), 0600) < 0)
                return err_sys(err, -errno, "cannot rename container '%s'", container);
        return 0;
}

int engine_target_rundir(const char *root, const char *runroot, const char *container, char **ret, pid_t *ret_temp,
                         struct err *err)
{
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        *ret_temp = -1;
        /* a stopped container gets a keeper of its own for the time of the copy */
        if (r >= 0 && !t.running)
                r = start_from_record(root, rr, t.id, false, false, ret_temp, err);
        if (r >= 0)
                *ret = TAKE_PTR(t.rundir);
        target_free(&t);
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
        struct target t = { 0 };
        _cleanup_free_ char *rr = NULL;
        int r = target_open(root, runroot, container, &t, &rr, err);
        if (r >= 0) {
                json_t *rec = record_load(root, t.id);
                if (!rec)
                        r = err_set(err, -EIO, "container '%s': its record is damaged", container);
                else {
                        int code;
                        bool running = t.running && !keeper_temporary(rr, t.id);
                        json_object_set_new(rec, "Status", json_string(container_state(rec, rr, t.id, running, &code)));
                        json_object_set_new(rec, "ExitCode", json_integer(code));
                        /* where docker's inspect has them, for -f '{{.State.Status}}' */
                        json_object_set_new(rec, "State", json_pack("{s:s,s:i,s:b}", "Status",
                                                                     json_string_value(json_object_get(rec, "Status")),
                                                                     "ExitCode", code, "Running", running));
                        if (running)
                                json_object_set_new(rec, "KeeperPid", json_integer(t.keeper));
                        *ret = rec;
                }
        }
        target_free(&t);
        return r;
}
