/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/linux/seccomp.h"
#include "lib/linux/seccomp_bpf.h"
#include "lib/linux/seccomp_default.h"
#include "secopt.h"

#define PROFILE_MAX (1u << 20)

/* the value of the last seccomp= option, NULL if none */
static const char *seccomp_opt(json_t *record_opts)
{
        const char *v = NULL;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(record_opts, "SecurityOpt"), i, e)
        {
                const char *s = json_string_value(e);
                if (s && strncmp(s, "seccomp=", 8) == 0)
                        v = s + 8;
        }
        return v;
}

int secopt_record(char **opts, uint64_t caps, const char *runroot, json_t *record_opts, struct err *err)
{
        json_t *given = json_array(), *profile = NULL;
        json_object_set_new(record_opts, "SecurityOpt", given);
        for (char **o = opts; o && *o; o++) {
                /* docker's older spelling: seccomp:FILE */
                bool colon = strncmp(*o, "seccomp:", 8) == 0;
                if (strncmp(*o, "seccomp=", 8) != 0 && !colon)
                        return err_set(err, -EINVAL, "--security-opt '%s': den knows seccomp=unconfined and seccomp=FILE",
                                       *o);
                _cleanup_free_ char *norm = xasprintf("seccomp=%s", *o + 8);
                json_array_append_new(given, json_string(norm));
                json_decref(profile);
                profile = NULL;
                if (strcmp(*o + 8, "unconfined") == 0)
                        continue;
                if (!(*o)[8])
                        return err_set(err, -EINVAL, "--security-opt '%s': expects unconfined or a profile file", *o);
                struct err e = { 0 };
                profile = json_load_path(*o + 8, PROFILE_MAX, &e);
                if (!profile)
                        return err_set(err, e.code ? e.code : -EINVAL, "--security-opt seccomp='%s': %s", *o + 8, e.msg);
        }
        if (profile)
                json_object_set_new(record_opts, "SeccompProfile", profile);
        /* compiled now: a bad profile is refused before anything exists, and
         * the start finds it cached */
        _cleanup_free_ void *blob = NULL;
        size_t len;
        return secopt_filter(record_opts, caps, runroot, &blob, &len, err);
}

/* FNV-1a: a cache key, not a defence (the cache is in the user's own run directory) */
static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        return h;
}

static int compile(json_t *oci, const char *where, void **ret, size_t *ret_len, struct err *err)
{
        struct seccomp_filter *f = NULL;
        int r = seccomp_filter_build(oci, &f, err);
        if (r >= 0)
                r = seccomp_filter_export(f, ret, ret_len, err);
        seccomp_filter_free(f);
        return r < 0 ? err_wrap(err, "%s", where) : r;
}

int secopt_filter(json_t *record_opts, uint64_t caps, const char *runroot, void **ret, size_t *ret_len,
                  struct err *err)
{
        const char *opt = seccomp_opt(record_opts);
        json_t *file = json_object_get(record_opts, "SeccompProfile"), *oci = NULL;
        int r;
        if (opt && strcmp(opt, "unconfined") == 0) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        _cleanup_free_ char *where = opt ? xasprintf("--security-opt seccomp='%s'", opt) : xstrdup("the default seccomp profile");
        if (opt && !file)
                return err_set(err, -EIO, "%s: the profile is missing from the container's record", where);
        /* the key: what the filter is made of, not the filter (building the
         * default's JSON alone would cost half a millisecond a start) */
        const struct scmp_version *v = seccomp_version();
        struct utsname u;
        if (uname(&u) < 0)
                u.release[0] = '\0';
        _cleanup_free_ char *text = opt ? json_dumps(file, JSON_COMPACT | JSON_SORT_KEYS) : NULL,
                            *ver = xasprintf("%s/tree/%u.%u.%u/%s/%llx/%s/%llx", DEN_VERSION, v->major, v->minor, v->micro, u.release,
                                             (unsigned long long) caps, opt ? "file" : "default",
                                             (unsigned long long) (opt ? 0 : seccomp_default_digest()));
        uint64_t key = fnv1a(fnv1a(0xcbf29ce484222325ULL, ver), text ? text : "");
        _cleanup_free_ char *dir = xasprintf("%s/seccomp", runroot), *name = xasprintf("%016llx.bpf", (unsigned long long) key);
        if (seccomp_blob_cache_load(dir, name, ret, ret_len) == 0)
                return 0;
        if (opt) {
                if ((r = seccomp_profile_resolve(file, caps, "profile", &oci, err)) < 0)
                        return err_wrap(err, "%s", where);
        } else
                oci = seccomp_default_profile(caps);
        r = compile(oci, where, ret, ret_len, err);
        json_decref(oci);
        if (r < 0)
                return r;
        seccomp_blob_cache_store(dir, name, *ret, *ret_len);
        return 0;
}
