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
        if (dst[strspn(dst, "/")] == '\0')
                return err_set(err, -EINVAL, "-v '%s': the container's root cannot be a mount target", vol);
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
        char **vols = NULL, **anon = NULL, **made = NULL;
        size_t n = strv_length(o->volumes);
        struct ctr_volume *cv = xcalloc(n + 1, sizeof(*cv));
        int r = 0;
        /* all of them checked before the first volume is made: a refused run leaves none */
        for (size_t i = 0; i < n && r == 0; i++) {
                if ((r = ctr_volume_parse(o->volumes[i], &cv[i], err)) < 0)
                        break;
                for (size_t k = 0; k < i && r == 0; k++)
                        if (strcmp(cv[k].dest, cv[i].dest) == 0)
                                r = err_set(err, -EINVAL, "-v '%s': %s is mounted twice", o->volumes[i], cv[i].dest);
                if (r == 0 && taken(NULL, o->tmpfs, cv[i].dest))
                        r = err_set(err, -EINVAL, "-v '%s': %s is a --tmpfs too", o->volumes[i], cv[i].dest);
                if (r == 0 && cv[i].source && !cv[i].is_volume)
                        r = ctr_volume_check(o->volumes[i], err);
        }
        /* the other containers' mounts, at paths not taken */
        char **from = NULL;
        for (char **p = o->volumes_from; p && *p && r == 0; p++)
                r = from_container(o->root, *p, &from, o->tmpfs, err);
        for (size_t i = 0; i < n && r == 0; i++) {
                if (!cv[i].source)
                        r = anonymous(o->root, cv[i].dest, cv[i].ro, &vols, &anon, err);
                else {
                        if (cv[i].is_volume) {
                                /* made on first use, as docker does */
                                struct volume_create_opts vo = { .name = cv[i].source, .reuse = true };
                                json_t *v = NULL;
                                struct err e = { 0 };
                                bool there = volume_inspect(o->root, cv[i].source, &v, &e) == 0;
                                json_decref(v);
                                v = NULL;
                                if ((r = volume_create(o->root, &vo, &v, err)) == 0 && !there)
                                        strv_push(&made, cv[i].source);
                                json_decref(v);
                        }
                        _cleanup_free_ char *e = entry(cv[i].source, cv[i].dest, cv[i].ro, cv[i].nocopy);
                        if (r == 0)
                                strv_push(&vols, e);
                }
        }
        for (char **f = from; f && *f && r == 0; f++) {
                struct ctr_volume fv;
                if (ctr_volume_parse(*f, &fv, err) == 0) {
                        if (!taken(vols, o->tmpfs, fv.dest))
                                strv_push(&vols, *f);
                        ctr_volume_free(&fv);
                }
        }
        const char *k;
        json_t *v;
        if (o->image_volumes && r == 0)
                json_object_foreach(json_object_get(imgcfg, "Volumes"), k, v)
                {
                        if (k[0] == '/' && !taken(vols, o->tmpfs, k) && (r = anonymous(o->root, k, false, &vols, &anon, err)) < 0)
                                break;
                }
        for (size_t i = 0; i < n; i++)
                ctr_volume_free(&cv[i]);
        free(cv);
        strv_freep(&from);
        if (r < 0) {
                for (char **a = anon; a && *a; a++) {
                        struct err e = { 0 };
                        volume_rm(o->root, *a, true, &e);
                }
                for (char **m = made; m && *m; m++) {
                        struct err e = { 0 };
                        volume_rm(o->root, *m, true, &e);
                }
                strv_freep(&made);
                strv_freep(&vols);
                strv_freep(&anon);
                return r;
        }
        strv_freep(&made);
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
