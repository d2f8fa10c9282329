/* SPDX-License-Identifier: GPL-2.0-or-later */
/* COPY, ADD and WORKDIR: layers written without a container (copy.h). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build_internal.h"
#include "copy.h"
#include "dockerfile.h"
#include "ignore.h"
#include "internal.h"
#include "lib/base/fs.h"
#include "lib/base/json.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "lib/registry/registry.h"
#include "lib/runtime/ctr.h"
#include "lib/store/image.h"
#include "lib/store/layer.h"
#include "lib/store/store.h"
#include "lib/store/tarw.h"
#include "view.h"


/* ---- COPY, ADD, WORKDIR: layers without a container ---- */


ssize_t build_stage_index(struct builder *b, const char *name, size_t before)
{
        for (size_t i = 0; i < before && i < b->plan.n_stages; i++)
                if (b->plan.stages[i].name && strcasecmp(b->plan.stages[i].name, name) == 0)
                        return (ssize_t) i;
        char *end;
        long n = strtol(name, &end, 10);
        if (*name && !*end && n >= 0 && (size_t) n < before)
                return n;
        return -1;
}


/* the root COPY --from reads: a stage (built first when needed) or an image */
static int from_view(struct builder *b, size_t cur, const char *from, const struct df_instr *in, struct view *v,
                     struct err *err)
{
        ssize_t j = build_stage_index(b, from, cur);
        if (j < 0) {
                for (size_t i = cur; i < b->plan.n_stages; i++)
                        if (b->plan.stages[i].name && strcasecmp(b->plan.stages[i].name, from) == 0)
                                return build_ferr(b, in, err, -EINVAL, "--from=%s names this stage or a later one", from);
        }
        if (j >= 0) {
                int r = build_stage_build(b, (size_t) j, err);
                return r < 0 ? r : build_state_view(b, &b->st[j], v, err);
        }
        struct state tmp = { 0 };
        int r = build_load_image_state(b, from, &tmp, err);
        if (r < 0) {
                build_state_free(&tmp);
                return err_wrap(err, "%s:%u: %s: --from=%s is neither a stage nor an image", b->o->dockerfile_name,
                                in->line, build_instr_name(in), from);
        }
        r = build_state_view(b, &tmp, v, err);
        build_state_free(&tmp);
        return r;
}

static char *join_workdir(struct state *st, const char *p)
{
        if (p[0] == '/')
                return xstrdup(p);
        const char *wd = json_string_value(json_object_get(build_cfg_config(st), "WorkingDir"));
        if (!wd || !*wd)
                wd = "/";
        size_t n = strlen(p);
        bool dir = n > 0 && p[n - 1] == '/';
        if (strcmp(p, ".") == 0 || strcmp(p, "./") == 0)
                dir = true;
        _cleanup_free_ char *j = xasprintf("%s/%s", wd, p), *c = path_clean_relative(j);
        return xasprintf("/%s%s", c, dir && *c ? "/" : "");
}

static int copy_make(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                     struct err *err)
{
        (void) st;
        int r = build_copy_tar(ud, out_fd, err);
        return r < 0 ? build_fail(b, in, err) : 0;
}

int build_do_copy(struct builder *b, size_t idx, struct state *st, const struct df_instr *in, bool *ret_cached,
                   struct err *err)
{
        bool add = in->kind == DF_ADD;
        const char *from = NULL, *chown = NULL, *chmod = NULL;
        for (size_t i = 0; i < in->n_flags; i++) {
                const struct df_flag *f = &in->flags[i];
                if (strcmp(f->name, "from") == 0 && !add)
                        from = f->value;
                else if (strcmp(f->name, "chown") == 0)
                        chown = f->value;
                else if (strcmp(f->name, "chmod") == 0)
                        chmod = f->value;
                else if (strcmp(f->name, "link") == 0 || (add && strcmp(f->name, "keep-git-dir") == 0))
                        ;
                else
                        return build_ferr(b, in, err, -EINVAL, "unknown flag --%s (%s takes %s--chown, --chmod, --link)",
                                    f->name, build_instr_name(in), add ? "" : "--from, ");
                if (!f->value && strcmp(f->name, "link") != 0)
                        return build_ferr(b, in, err, -EINVAL, "--%s needs a value", f->name);
        }
        _cleanup_strv_free_ char **w = NULL;
        int r = build_expand_words(b, st, in, &w, err);
        if (r < 0)
                return r;
        size_t n = strv_length(w);
        if (n < 2)
                return build_ferr(b, in, err, -EINVAL, "requires at least two arguments (source and destination)");
        _cleanup_free_ char *dest = join_workdir(st, w[n - 1]);
        free(w[n - 1]);
        w[n - 1] = NULL;
        struct build_copy c = {
                .context_fd = b->o->context_fd, .ign = b->ign, .srcs = w, .dest = dest, .uid = 0, .gid = 0,
                .chmod = -1, .add = add, .network = b->o->network && strcmp(b->o->network, "none") != 0,
                .epoch = b->o->epoch,
        };
        _cleanup_free_ char *fx = NULL, *ux = NULL, *text = NULL, *cb = NULL, *extra = NULL, *hbody = NULL;
        if (n == 2 && strncmp(w[0], "<<", 2) == 0 && in->n_heredocs > 0) {
                c.heredoc_name = in->heredocs[0].name;
                c.heredoc_body = in->heredocs[0].body;
                if (in->heredocs[0].expand) {
                        if ((r = dockerfile_expand_heredoc(in->heredocs[0].body, b->plan.escape, build_stage_lookup, st,
                                                           &hbody, err)) < 0)
                                return build_fail(b, in, err);
                        c.heredoc_body = hbody;
                }
                c.srcs = NULL;
        }
        struct view base = { 0 }, fromv = { 0 };
        bool have_from = false;
        if ((r = build_state_view(b, st, &base, err)) < 0)
                return build_fail(b, in, err);
        c.base = &base;
        if (from) {
                if ((r = build_expand(b, st, in, from, &fx, err)) < 0)
                        goto out;
                if ((r = from_view(b, idx, fx, in, &fromv, err)) < 0)
                        goto out;
                have_from = true;
                c.from = &fromv;
        }
        if (chown) {
                if ((r = build_expand(b, st, in, chown, &ux, err)) < 0)
                        goto out;
                if ((r = view_resolve_user(&base, ux, &c.uid, &c.gid, err)) < 0) {
                        r = build_fail(b, in, err);
                        goto out;
                }
                /* a number alone is UID:UID (BuildKit); a name alone gets its primary group */
                if (ux[strspn(ux, "0123456789")] == '\0')
                        c.gid = (gid_t) c.uid;
        }
        if (chmod) {
                char *end;
                long m = strtol(chmod, &end, 8);
                if (*end || m < 0 || m > 07777) {
                        r = build_ferr(b, in, err, -EINVAL, "--chmod=%s: an octal mode (0755) is needed", chmod);
                        goto out;
                }
                c.chmod = (int) m;
        }
        /* the key: the content and attributes of what would be copied, not their times */
        char kd[DIGEST_STR_MAX];
        if ((r = build_copy_key(&c, kd, err)) < 0) {
                r = build_fail(b, in, err);
                goto out;
        }
        text = build_instr_text(in);
        cb = xasprintf("%s # buildkit", text);
        extra = xasprintf("%s %s %s", kd, fx ? fx : "", dest);
        r = build_layer_step(b, st, in, cb, extra, copy_make, &c, ret_cached, err);
out:
        view_close(&base);
        if (have_from)
                view_close(&fromv);
        return r;
}

/* WORKDIR: the directory made in a layer when the base lacks it */
static int workdir_make(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                        struct err *err)
{
        const char *dir = ud;
        struct view v;
        int r = build_state_view(b, st, &v, err);
        if (r < 0)
                return build_fail(b, in, err);
        struct build_copy c = {
                .context_fd = -1, .dest = dir, .base = &v, .chmod = -1, .epoch = b->o->epoch,
                .mkdir_only = true,
        };
        r = build_copy_tar(&c, out_fd, err);
        view_close(&v);
        return r < 0 ? build_fail(b, in, err) : 0;
}

int build_do_workdir(struct builder *b, struct state *st, const struct df_instr *in, bool *ret_cached,
                      struct err *err)
{
        _cleanup_free_ char *x = NULL;
        int r = build_expand(b, st, in, in->args, &x, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *wd = join_workdir(st, x);
        size_t n = strlen(wd);
        if (n > 1 && wd[n - 1] == '/')
                wd[n - 1] = '\0';
        json_object_set_new(build_cfg_config(st), "WorkingDir", json_string(wd));
        _cleanup_free_ char *h = xasprintf("WORKDIR %s", wd);
        struct view v;
        struct stat sb;
        struct err e2 = { 0 };
        bool exists = false;
        if (build_state_view(b, st, &v, &e2) == 0) {
                exists = view_stat(&v, wd, true, &sb, &e2) == 0;
                view_close(&v);
        }
        if (exists) {
                build_meta_step(b, st, h);
                return 0;
        }
        _cleanup_free_ char *cb = xasprintf("%s # buildkit", h);
        return build_layer_step(b, st, in, cb, NULL, workdir_make, wd, ret_cached, err);
}

