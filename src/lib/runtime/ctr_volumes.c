/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new container's mounts of volumes and host paths, as its record keeps them:
 * -v, --mount (the CLI turns it into -v's form), --volumes-from and the image's VOLUME
 * paths, resolved into "SOURCE:DEST[:OPTS]" (SOURCE a host path or a volume's name). */
#include <errno.h>
#include <string.h>

#include "lib/base/macro.h"
#include "ctr_internal.h"
#include "volume.h"

/* -v's options: ro, rw and nocopy are kept; SELinux labels and propagation are
 * accepted (docker's command lines carry them) and have no effect here */
static int opts_canon(const char *vol, const char *opts, bool *ro, bool *nocopy, struct err *err)
{
        static const char *const ignored[] = { "z", "Z", "private", "rprivate", "shared", "rshared", "slave", "rslave",
                                               "consistent", "cached", "delegated" };
        _cleanup_free_ char *copy = xstrdup(opts ? opts : "");
        char *save = NULL;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(ignored) && !known; i++)
                        known = strcmp(w, ignored[i]) == 0;
                if (strcmp(w, "ro") == 0 || strcmp(w, "rw") == 0)
                        *ro = w[1] == 'o', known = true;
                else if (strcmp(w, "nocopy") == 0)
                        *nocopy = known = true;
                if (!known)
                        return err_set(err, -EINVAL, "-v '%s': unknown option '%s' (ro, rw, nocopy)", vol, w);
        }
        return 0;
}

static char *entry(const char *src, const char *dst, bool ro, bool nocopy)
{
        return xasprintf("%s:%s%s%s%s", src, dst, ro || nocopy ? ":" : "", ro ? "ro" : "",
                         nocopy ? (ro ? ",nocopy" : "nocopy") : "");
}

int ctr_volume_parse(const char *vol, struct ctr_volume *ret, struct err *err)
{
        *ret = (struct ctr_volume) { 0 };
        _cleanup_free_ char *copy = xstrdup(vol);
        char *c1 = strchr(copy, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c1)
                *c1 = '\0';
        if (c2)
                *c2 = '\0';
        const char *src = c1 ? copy : NULL, *dst = c1 ? c1 + 1 : copy;
        if (dst[0] != '/')
                return err_set(err, -EINVAL, "-v '%s': the path in the container must be absolute", vol);
        if (src && src[0] != '/') {
                struct err e = { 0 };
                if (volume_name_check(src, &e) < 0)
                        return err_set(err, -EINVAL,
                                       "-v '%s': '%s' is neither an absolute host path nor a volume name "
                                       "([a-zA-Z0-9][a-zA-Z0-9_.-]+)", vol, src);
        }
        if (opts_canon(vol, c2 ? c2 + 1 : NULL, &ret->ro, &ret->nocopy, err) < 0)
                return -EINVAL;
        ret->source = src ? xstrdup(src) : NULL;
        ret->dest = xstrdup(dst);
        ret->is_volume = src && src[0] != '/';
        return 0;
}

void ctr_volume_free(struct ctr_volume *v)
{
        free(v->source);
        free(v->dest);
}

static bool taken(char **vols, char **tmpfs, const char *dst)
{
        for (char **v = vols; v && *v; v++) {
                const char *c = strchr(*v, ':');
                size_t n = c ? strcspn(c + 1, ":") : 0;
                if (c && strlen(dst) == n && strncmp(c + 1, dst, n) == 0)
                        return true;
        }
        for (char **t = tmpfs; t && *t; t++)
                if (strncmp(*t, dst, strlen(dst)) == 0 && ((*t)[strlen(dst)] == '\0' || (*t)[strlen(dst)] == ':'))
                        return true;
        return false;
}

static int anonymous(const char *root, const char *dst, bool ro, char ***vols, char ***anon, struct err *err)
{
        struct volume_create_opts vo = { .anonymous = true };
        json_t *v = NULL;
        if (volume_create(root, &vo, &v, err) < 0)
                return err->code;
        const char *name = json_string_value(json_object_get(v, "Name"));
        _cleanup_free_ char *e = entry(name, dst, ro, false);
        strv_push(vols, e);
        strv_push(anon, name);
        json_decref(v);
        return 0;
}

static int from_container(const char *root, const char *spec, char ***vols, char **tmpfs, struct err *err)
{
        _cleanup_free_ char *what = xstrdup(spec), *id = NULL;
        char *mode = strrchr(what, ':');
        if (mode) {
                if (strcmp(mode + 1, "ro") && strcmp(mode + 1, "rw"))
                        return err_set(err, -EINVAL, "--volumes-from '%s': CONTAINER[:ro|rw]", spec);
                *mode++ = '\0';
        }
        if (record_find(root, what, &id, err) < 0)
                return err_wrap(err, "--volumes-from");
        json_t *rec = record_load(root, id);
        size_t i;
        json_t *v;
        int r = 0;
        json_array_foreach(json_object_get(json_object_get(rec, "Options"), "Volumes"), i, v)
        {
                struct ctr_volume cv;
                if (ctr_volume_parse(json_string_value(v) ?: "", &cv, err) < 0) {
                        r = -EINVAL;
                        break;
                }
                if (!taken(*vols, tmpfs, cv.dest)) {
                        _cleanup_free_ char *e = entry(cv.source, cv.dest, mode ? mode[1] == 'o' : cv.ro, cv.nocopy);
                        strv_push(vols, e);
                }
                ctr_volume_free(&cv);
        }
        json_decref(rec);
        return r;
}

int ctr_volumes_resolve(const struct engine_run_opts *o, json_t *imgcfg, char ***ret_vols, char ***ret_anon,
                        struct err *err)
{
        char **vols = NULL, **anon = NULL;
        int r = 0;
        for (char **p = o->volumes; p && *p && r == 0; p++) {
                struct ctr_volume cv;
                if ((r = ctr_volume_parse(*p, &cv, err)) < 0)
                        break;
                if (taken(vols, o->tmpfs, cv.dest))
                        r = err_set(err, -EINVAL, "-v '%s': %s is mounted twice", *p, cv.dest);
                else if (!cv.source)
                        r = anonymous(o->root, cv.dest, cv.ro, &vols, &anon, err);
                else if (!cv.is_volume)
                        r = ctr_volume_check(*p, err);
                else {
                        /* made on first use, as docker does */
                        struct volume_create_opts vo = { .name = cv.source, .reuse = true };
                        json_t *v = NULL;
                        r = volume_create(o->root, &vo, &v, err);
                        json_decref(v);
                }
                if (r == 0 && cv.source) {
                        _cleanup_free_ char *e = entry(cv.source, cv.dest, cv.ro, cv.nocopy);
                        strv_push(&vols, e);
                }
                ctr_volume_free(&cv);
        }
        for (char **p = o->volumes_from; p && *p && r == 0; p++)
                r = from_container(o->root, *p, &vols, o->tmpfs, err);
        const char *k;
        json_t *v;
        if (o->image_volumes && r == 0)
                json_object_foreach(json_object_get(imgcfg, "Volumes"), k, v)
                {
                        if (k[0] == '/' && !taken(vols, o->tmpfs, k) && (r = anonymous(o->root, k, false, &vols, &anon, err)) < 0)
                                break;
                }
        if (r < 0) {
                for (char **a = anon; a && *a; a++) {
                        struct err e = { 0 };
                        volume_rm(o->root, *a, true, &e);
                }
                strv_freep(&vols);
                strv_freep(&anon);
                return r;
        }
        *ret_vols = vols, *ret_anon = anon;
        return 0;
}

void ctr_volumes_remove_anonymous(const char *root, json_t *rec)
{
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(json_object_get(rec, "Options"), "AnonVolumes"), i, v)
        {
                struct err e = { 0 };
                /* one another container still has (--volumes-from) stays */
                volume_rm(root, json_string_value(v) ?: "", true, &e);
        }
}
