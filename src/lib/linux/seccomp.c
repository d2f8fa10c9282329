/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <openssl/evp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "seccomp.h"
#include "seccomp_bpf.h"

struct seccomp_filter {
        scmp_filter_ctx ctx;
        bool notify;
        uint32_t kflags; /* SECCOMP_FILTER_FLAG_* of the flags asked for */
        char *listener_path, *listener_metadata;
        void *blob; /* the compiled filter (seccomp_bpf.h) when it came from the cache: ctx is NULL */
        size_t blob_len;
};

static const struct {
        const char *name;
        uint32_t act;
        bool takes_errno;
} actions[] = {
        { "SCMP_ACT_KILL", SCMP_ACT_KILL, false },
        { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
        { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
        { "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
        { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true },
        { "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true },
        { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
        { "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
        { "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false },
};

static const struct {
        const char *name;
        enum scmp_compare op;
} operators[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const char *const arches[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",  "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

static const struct {
        const char *name;
        enum scmp_filter_attr attr;
        uint32_t kflag;
} flags[] = {
        { "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC },
        { "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG },
        { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW },
};

static int parse_action(json_t *o, const char *where, const char *key, const char *errno_key, uint32_t *ret,
                        struct err *err)
{
        const char *name = NULL;
        int64_t ret_errno = -1;
        int r;
        if ((r = json_get_str(o, where, key, &name, err)) < 0 ||
            (r = json_get_int(o, where, errno_key, 0, 4095, &ret_errno, err)) < 0)
                return r;
        if (!name)
                return err_set(err, -EINVAL, "%s.%s: required", where, key);
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                if (strcmp(name, actions[i].name) != 0)
                        continue;
                if (actions[i].takes_errno) {
                        uint32_t v = ret_errno >= 0 ? (uint32_t) ret_errno : (actions[i].act == SCMP_ACT_ERRNO(0) ? EPERM : 0);
                        *ret = actions[i].act == SCMP_ACT_ERRNO(0) ? SCMP_ACT_ERRNO(v) : SCMP_ACT_TRACE(v);
                } else
                        *ret = actions[i].act;
                return 0;
        }
        return err_set(err, -EINVAL, "%s.%s: unknown action '%s'", where, key, name);
}

static int parse_args(json_t *args, const char *where, struct scmp_arg_cmp *cmp, unsigned *ret_n, struct err *err)
{
        size_t i;
        json_t *a;
        if (json_array_size(args) > 6)
                return err_set(err, -EINVAL, "%s.args: more than 6 conditions", where);
        json_array_foreach(args, i, a)
        {
                char w[160];
                int64_t index = -1;
                uint64_t value = 0, value2 = 0;
                const char *op = NULL;
                int r;
                snprintf(w, sizeof(w), "%s.args[%zu]", where, i);
                if (!json_is_object(a))
                        return err_set(err, -EINVAL, "%s: must be an object", w);
                if ((r = json_get_int(a, w, "index", 0, 5, &index, err)) < 0 ||
                    (r = json_get_u64(a, w, "value", &value, err)) < 0 ||
                    (r = json_get_u64(a, w, "valueTwo", &value2, err)) < 0 ||
                    (r = json_get_str(a, w, "op", &op, err)) < 0)
                        return r;
                if (index < 0 || !op)
                        return err_set(err, -EINVAL, "%s: index and op are required", w);
                size_t k;
                for (k = 0; k < ELEMENTSOF(operators); k++)
                        if (strcmp(op, operators[k].name) == 0)
                                break;
                if (k == ELEMENTSOF(operators))
                        return err_set(err, -EINVAL, "%s.op: unknown operator '%s'", w, op);
                cmp[i] = (struct scmp_arg_cmp){ (unsigned) index, operators[k].op, value, value2 };
        }
        *ret_n = (unsigned) json_array_size(args);
        return 0;
}

static int add_rule(struct seccomp_filter *f, json_t *rule, size_t idx, uint32_t def, struct err *err)
{
        char w[64];
        char **names = NULL;
        json_t *args = NULL;
        uint32_t act;
        int r;
        snprintf(w, sizeof(w), "linux.seccomp.syscalls[%zu]", idx);
        if (!json_is_object(rule))
                return err_set(err, -EINVAL, "%s: must be an object", w);
        if ((r = json_get_strv(rule, w, "names", &names, err)) < 0)
                return r;
        _cleanup_strv_free_ char **nv = names;
        if ((r = parse_action(rule, w, "action", "errnoRet", &act, err)) < 0 ||
            (r = json_get_arr(rule, w, "args", &args, err)) < 0)
                return r;
        if (!nv || !nv[0])
                return err_set(err, -EINVAL, "%s.names: required", w);
        struct scmp_arg_cmp cmp[6];
        unsigned n_cmp = 0;
        if (args && (r = parse_args(args, w, cmp, &n_cmp, err)) < 0)
                return r;
        if (act == SCMP_ACT_NOTIFY)
                f->notify = true;
        if (act == def)
                return 0; /* libseccomp refuses rules equal to the default */
        for (size_t i = 0; nv[i]; i++) {
                int nr = seccomp_syscall_resolve_name(nv[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                /* conditions on one argument index are ANDed by libseccomp only
                 * when distinct; equal indexes (e.g. two masks) become
                 * separate rules, which is how runc reads them too */
                bool same_index = false;
                for (unsigned a = 0; a < n_cmp; a++)
                        for (unsigned b = a + 1; b < n_cmp; b++)
                                same_index |= cmp[a].arg == cmp[b].arg;
                if (same_index) {
                        for (unsigned a = 0; a < n_cmp; a++)
                                if ((r = seccomp_rule_add_array(f->ctx, act, nr, 1, &cmp[a])) < 0)
                                        break;
                } else
                        r = seccomp_rule_add_array(f->ctx, act, nr, n_cmp, cmp);
                if (r < 0)
                        return err_sys(err, r, "%s: cannot add a rule for '%s'", w, nv[i]);
        }
        return 0;
}

int seccomp_filter_build(json_t *cfg, struct seccomp_filter **ret, struct err *err)
{
        const char *where = "linux.seccomp";
        uint32_t def;
        json_t *archs = NULL, *syscalls = NULL, *e;
        char **fl = NULL;
        const char *lp = NULL, *lm = NULL;
        size_t i;
        int r;

        if ((r = parse_action(cfg, where, "defaultAction", "defaultErrnoRet", &def, err)) < 0 ||
            (r = json_get_arr(cfg, where, "architectures", &archs, err)) < 0 ||
            (r = json_get_arr(cfg, where, "syscalls", &syscalls, err)) < 0 ||
            (r = json_get_strv(cfg, where, "flags", &fl, err)) < 0 ||
            (r = json_get_str(cfg, where, "listenerPath", &lp, err)) < 0 ||
            (r = json_get_str(cfg, where, "listenerMetadata", &lm, err)) < 0)
                return r;
        _cleanup_strv_free_ char **flv = fl;
        struct seccomp_filter *f = xcalloc(1, sizeof(*f));
        f->ctx = seccomp_init(def);
        if (!f->ctx) {
                free(f);
                return err_set(err, -EINVAL, "%s.defaultAction: refused by libseccomp", where);
        }
        f->notify = def == SCMP_ACT_NOTIFY;
        /* libseccomp sets no_new_privs on load by default: the config's
         * process.noNewPrivileges decides it, so the caller sets it itself and,
         * when false, loads the filter while it still holds CAP_SYS_ADMIN.
         * A binary tree by syscall number: attaching a filter makes the kernel
         * (>= 5.11) run it for every syscall number to build its cache of
         * always-allowed ones, which costs 2.5 ms a command for docker's
         * default as a list, 0.5 ms as a tree (libseccomp >= 2.5) */
        if ((r = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0) {
                r = err_sys(err, r, "%s: cannot leave no_new_privs to process.noNewPrivileges", where);
                goto fail;
        }
        (void) seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        json_array_foreach(archs, i, e)
        {
                const char *a = json_string_value(e);
                size_t k;
                for (k = 0; a && k < ELEMENTSOF(arches); k++)
                        if (strcmp(a, arches[k]) == 0)
                                break;
                if (!a || k == ELEMENTSOF(arches)) {
                        r = err_set(err, -EINVAL, "%s.architectures[%zu]: unknown architecture '%s'", where, i,
                                    a ? a : "");
                        goto fail;
                }
                _cleanup_free_ char *lower = xstrdup(a + 10);
                for (char *p = lower; *p; p++)
                        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                uint32_t token = seccomp_arch_resolve_name(lower);
                if (token == 0)
                        continue; /* libseccomp too old for it */
                r = seccomp_arch_add(f->ctx, token);
                if (r < 0 && r != -EEXIST) {
                        r = err_sys(err, r, "%s.architectures[%zu]: '%s'", where, i, a);
                        goto fail;
                }
        }
        for (size_t k = 0; flv && flv[k]; k++) {
                size_t j;
                for (j = 0; j < ELEMENTSOF(flags); j++)
                        if (strcmp(flv[k], flags[j].name) == 0)
                                break;
                if (j == ELEMENTSOF(flags)) {
                        r = err_set(err, -EINVAL, "%s.flags[%zu]: unknown flag '%s'", where, k, flv[k]);
                        goto fail;
                }
                f->kflags |= flags[j].kflag;
                if ((r = seccomp_attr_set(f->ctx, flags[j].attr, 1)) < 0) {
                        r = err_sys(err, r, "%s.flags[%zu]: '%s'", where, k, flv[k]);
                        goto fail;
                }
        }
        json_array_foreach(syscalls, i, e)
        {
                if ((r = add_rule(f, e, i, def, err)) < 0)
                        goto fail;
        }
        if (f->notify && (!lp || !*lp)) {
                r = err_set(err, -EINVAL, "%s.listenerPath: required with SCMP_ACT_NOTIFY", where);
                goto fail;
        }
        f->listener_path = lp && *lp ? xstrdup(lp) : NULL;
        f->listener_metadata = lm ? xstrdup(lm) : NULL;
        *ret = f;
        return 0;
fail:
        seccomp_filter_free(f);
        return r;
}

int seccomp_filter_load(struct seccomp_filter *f, int *ret_notify_fd, struct err *err)
{
        if (f->blob)
                return seccomp_blob_install(f->blob, f->blob_len, err);
        int r = seccomp_load(f->ctx);
        if (r < 0)
                return err_sys(err, r, "cannot load the seccomp filter");
        if (f->notify && ret_notify_fd) {
                r = seccomp_notify_fd(f->ctx);
                if (r < 0)
                        return err_sys(err, r, "cannot get the seccomp notification fd");
                *ret_notify_fd = r;
        }
        return 0;
}

int seccomp_filter_export(struct seccomp_filter *f, void **ret, size_t *ret_len, struct err *err)
{
        if (f->notify)
                return err_set(err, -EINVAL, "SCMP_ACT_NOTIFY needs a listener, which only den-runtime offers");
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return err_sys(err, -errno, "cannot export the seccomp filter");
        /* a binary tree (seccomp_filter_build) */
        int r = seccomp_export_bpf(f->ctx, fd);
        if (r < 0)
                return err_sys(err, r, "cannot export the seccomp filter");
        off_t n = lseek(fd, 0, SEEK_END);
        struct seccomp_blob_header h = { .flags = f->kflags };
        memcpy(h.magic, SECCOMP_BLOB_MAGIC, sizeof(h.magic));
        size_t len = sizeof(h) + (size_t) (n > 0 ? n : 0);
        if (n <= 0 || len > SECCOMP_BLOB_MAX)
                return err_set(err, -E2BIG, "the seccomp filter is too large for the kernel (%lld bytes)", (long long) n);
        char *b = xmalloc(len);
        memcpy(b, &h, sizeof(h));
        if (pread(fd, b + sizeof(h), (size_t) n, 0) != n) {
                free(b);
                return err_sys(err, -EIO, "cannot export the seccomp filter");
        }
        *ret = b;
        *ret_len = len;
        return 0;
}

void seccomp_filter_free(struct seccomp_filter *f)
{
        if (!f)
                return;
        seccomp_release(f->ctx);
        free(f->blob);
        free(f->listener_path);
        free(f->listener_metadata);
        free(f);
}

const char *seccomp_listener_path(struct seccomp_filter *f)
{
        return f ? f->listener_path : NULL;
}

const char *seccomp_listener_metadata(struct seccomp_filter *f)
{
        return f ? f->listener_metadata : NULL;
}

json_t *seccomp_features(void)
{
        json_t *acts = json_array(), *ops = json_array(), *ar = json_array(), *fl = json_array();
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                json_array_append_new(acts, json_string(actions[i].name));
        for (size_t i = 0; i < ELEMENTSOF(operators); i++)
                json_array_append_new(ops, json_string(operators[i].name));
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                json_array_append_new(ar, json_string(arches[i]));
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                json_array_append_new(fl, json_string(flags[i].name));
        return json_pack("{s:b,s:o,s:o,s:o,s:o,s:o}", "enabled", 1, "actions", acts, "operators", ops,
                         "archs", ar, "knownFlags", json_copy(fl), "supportedFlags", fl);
}

/* The cache key: SHA-256 (not a weaker hash: callers that share a state directory, such as
 * the pods of a node, must not be able to make their profile's key another's) of what the
 * filter is made of: the profile, den, libseccomp, and the kernel it probed. */
static bool cache_key(json_t *cfg, char out[2 * EVP_MAX_MD_SIZE + 8])
{
        const struct scmp_version *v = seccomp_version();
        struct utsname u;
        if (uname(&u) < 0)
                u.release[0] = '\0';
        _cleanup_free_ char *text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *all = xasprintf("%s/%u.%u.%u/%s\n%s", DEN_VERSION, v->major, v->minor, v->micro, u.release,
                                             text ? text : "");
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        /* libcrypto opened on first use (lib/base/dl.h): about 1 ms, once per create */
        if (DL(LIBCRYPTO, EVP_Digest)(all, strlen(all), md, &n, DL(LIBCRYPTO, EVP_sha256)(), NULL) != 1 || n < 32)
                return false;
        for (unsigned i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", md[i]);
        strcpy(out + 2 * n, ".bpf");
        return true;
}

int seccomp_filter_build_cached(json_t *cfg, const char *cache_dir, struct seccomp_filter **ret, struct err *err)
{
        _cleanup_free_ char *text = cache_dir ? json_dumps(cfg, JSON_COMPACT) : NULL;
        /* a listener needs libseccomp's context for its fd */
        if (!text || strstr(text, "SCMP_ACT_NOTIFY") || json_object_get(cfg, "listenerPath"))
                return seccomp_filter_build(cfg, ret, err);
        char name[2 * EVP_MAX_MD_SIZE + 8];
        if (!cache_key(cfg, name))
                return seccomp_filter_build(cfg, ret, err);
        void *b;
        size_t n;
        if (seccomp_blob_cache_load(cache_dir, name, &b, &n) == 0) {
                struct seccomp_filter *f = xcalloc(1, sizeof(*f));
                f->blob = b;
                f->blob_len = n;
                *ret = f;
                return 0;
        }
        struct seccomp_filter *f;
        int r = seccomp_filter_build(cfg, &f, err);
        if (r < 0)
                return r;
        /* compiled here rather than by seccomp_load in the child; a cache that
         * cannot be kept costs only the next compile */
        struct err e = { 0 };
        void *blob;
        if (seccomp_filter_export(f, &blob, &n, &e) == 0) {
                seccomp_blob_cache_store(cache_dir, name, blob, n);
                f->blob = blob;
                f->blob_len = n;
        }
        *ret = f;
        return 0;
}
