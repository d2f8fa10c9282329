/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "den.h"
#include "lib/base/macro.h"
#include "lib/store/gc.h"
#include "lib/store/image.h"
#include "lib/base/fs.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/idmap.h"
#include "lib/runtime/engine.h"
#include "lib/runtime/volume.h"
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

static int prune(struct den_global *g)
{
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        unsigned n = 0;
        r = store_prune(&s, &n, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        printf("removed %u unreferenced blobs, layers and leftovers\n", n);
        return 0;
}

int den_cmd_image(struct den_global *g, int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "prune") == 0)
                return prune(g);
        if (argc >= 2 && strcmp(argv[1], "history") == 0)
                return den_image_history(g, argc - 1, argv + 1);
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("usage: den image prune | den image history IMAGE\n");
                return 0;
        }
        return den_usage("image", "expects 'prune' or 'history IMAGE'");
}

static int df(struct den_global *g)
{
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        json_t *names = NULL, *containers = NULL;
        if (image_names_load(&s, &names, &err) < 0 || engine_list(g->root, g->runroot, &containers, &err) < 0) {
                store_close(&s);
                json_decref(names);
                return den_fail(err.msg);
        }
        uint64_t blobs = fs_disk_usage(s.root_fd, "blobs"), layers = fs_disk_usage(s.root_fd, "layers");
        uint64_t ctr = 0;
        size_t i, running = 0;
        json_t *e;
        json_array_foreach(containers, i, e)
        {
                _cleanup_free_ char *rel = xasprintf("containers/%s", json_string_value(json_object_get(e, "Id")));
                ctr += fs_disk_usage(s.root_fd, rel);
                running += strcmp(json_string_value(json_object_get(e, "Status")), "running") == 0;
        }
        printf("%-14s %8s %8s %14s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE");
        printf("%-14s %8zu %8s %13.1fM  (blobs %.1fM, unpacked layers %.1fM)\n", "Images", json_object_size(names), "-",
               (double) (blobs + layers) / 1048576, (double) blobs / 1048576, (double) layers / 1048576);
        printf("%-14s %8zu %8zu %13.1fM\n", "Containers", json_array_size(containers), running, (double) ctr / 1048576);
        json_t *vols = NULL;
        size_t used = 0;
        uint64_t vbytes = 0;
        if (volume_list(g->root, &vols, &err) == 0)
                json_array_foreach(vols, i, e)
                {
                        const char *vn = json_string_value(json_object_get(e, "Name"));
                        _cleanup_strv_free_ char **users = volume_users(g->root, vn);
                        int64_t sz = volume_size(g->root, vn);
                        used += users[0] != NULL;
                        vbytes += sz > 0 ? (uint64_t) sz : 0;
                }
        printf("%-14s %8zu %8zu %13.1fM\n", "Local Volumes", json_array_size(vols), used, (double) vbytes / 1048576);
        json_decref(vols);
        json_decref(names);
        json_decref(containers);
        store_close(&s);
        return 0;
}

static int info(struct den_global *g)
{
        struct utsname u;
        uname(&u);
        struct spec_idmap um[2], gm[2];
        size_t nu = idmap_default(false, um), ng = idmap_default(true, gm);
        const char *drv = g->storage_driver ? g->storage_driver : getenv("DEN_STORAGE_DRIVER");
        printf("den version:      %s\n", DEN_VERSION);
        printf("kernel:           %s %s\n", u.sysname, u.release);
        printf("rootless:         %s\n", geteuid() == 0 ? "no (root)" : "yes");
        printf("store (--root):   %s\n", g->root);
        if (geteuid() != 0) {
                printf("uid map:          0 -> %u", um[0].host_id);
                if (nu > 1)
                        printf(", 1..%u -> %u.. (sub-ids)", um[1].size, um[1].host_id);
                else
                        printf(" only (no sub-ids in /etc/subuid: one id inside)");
                printf("\ngid map:          0 -> %u%s\n", gm[0].host_id, ng > 1 ? " + sub-ids" : " only");
        }
        printf("storage driver:   %s\n", drv && *drv ? drv : "auto (overlay, then fuse-overlayfs, then copy)");
        printf("fuse-overlayfs:   %s\n", access("/usr/bin/fuse-overlayfs", X_OK) == 0
                                                ? (access("/dev/fuse", R_OK | W_OK) == 0 ? "installed" : "installed, /dev/fuse not usable")
                                                : "not installed");
        printf("cgroups:          %s\n", cgroup_mode_name(cgroup_detect()));
        printf("networks:         none (default), host\n");
        return 0;
}

int den_cmd_system(struct den_global *g, int argc, char **argv)
{
        /* podman's name for it */
        if (argc >= 2 && strcmp(argv[1], "service") == 0)
                return den_cmd_serve(g, argc - 1, argv + 1);
        if (argc == 2 && strcmp(argv[1], "df") == 0)
                return df(g);
        if (argc == 2 && strcmp(argv[1], "info") == 0)
                return info(g);
        if (argc >= 2 && strcmp(argv[1], "prune") == 0) {
                /* -f: docker's "no question" (den asks none) */
                bool volumes = false;
                for (int i = 2; i < argc; i++) {
                        if (strcmp(argv[i], "--volumes") == 0)
                                volumes = true;
                        else if (strcmp(argv[i], "-f") && strcmp(argv[i], "--force"))
                                return den_usage("system", "prune takes --volumes and -f, not '%s'", argv[i]);
                }
                int r = prune(g);
                return r || !volumes ? r : den_volume_prune(g, false);
        }
        bool check = argc >= 2 && strcmp(argv[1], "check") == 0;
        bool repair = check && argc == 3 && strcmp(argv[2], "--repair") == 0;
        if (!check || argc > 3 || (argc == 3 && !repair)) {
                if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                        printf("usage: den system check [--repair] | den system prune [--volumes] [-f] | den system df | den system info | den system service\n");
                        return 0;
                }
                return den_usage("system", "expects check [--repair], prune, df or info");
        }
        struct store s;
        int r = den_open_store(g, &s);
        if (r >= 0)
                return r;
        struct err err = { 0 };
        json_t *rep = NULL;
        r = store_check(&s, repair, &rep, &err);
        store_close(&s);
        if (r < 0)
                return den_fail(err.msg);
        size_t i;
        json_t *e;
        json_t *problems = json_object_get(rep, "problems"), *repaired = json_object_get(rep, "repaired");
        json_array_foreach(problems, i, e) printf("problem: %s\n", json_string_value(e));
        json_array_foreach(repaired, i, e) printf("%s%s\n", strncmp(json_string_value(e), "swept", 5) ? "repaired: " : "",
                                                  json_string_value(e));
        bool clean = json_array_size(problems) == 0;
        printf("%s\n", clean ? "store is clean" : repair ? "store repaired" : "store has problems (den system check --repair)");
        json_decref(rep);
        return clean || repair ? 0 : 1;
}
