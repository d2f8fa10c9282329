/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The instructions that change only the config and history: ARG, ENV, LABEL,
 * EXPOSE, VOLUME, HEALTHCHECK, and how CMD/ENTRYPOINT and ONBUILD are written. */
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


/* ---- metadata instructions ---- */

/* KEY=VALUE pairs (ENV, LABEL, ARG), or the old "KEY VALUE" form of ENV and LABEL */
static int pairs(struct builder *b, struct state *st, const struct df_instr *in, bool legacy, json_t **ret,
                 struct err *err)
{
        _cleanup_strv_free_ char **raw = NULL;
        dockerfile_split_words(in->args ? in->args : "", b->plan.escape, &raw);
        json_t *out = json_array();
        int r = 0;
        if (raw[0] && !strchr(raw[0], '=') && in->kind != DF_ARG) {
                if (!legacy || !raw[1]) {
                        json_decref(out);
                        return build_ferr(b, in, err, -EINVAL, "'%s' needs a value: KEY=VALUE (or KEY VALUE)", raw[0]);
                }
                /* ENV KEY the rest of the line */
                const char *rest = in->args + strspn(in->args, " \t");
                rest += strcspn(rest, " \t");
                rest += strspn(rest, " \t");
                _cleanup_free_ char *k = NULL, *v = NULL;
                if ((r = build_expand(b, st, in, raw[0], &k, err)) < 0 || (r = build_expand(b, st, in, rest, &v, err)) < 0) {
                        json_decref(out);
                        return r;
                }
                json_array_append_new(out, json_pack("[s,s]", k, v));
                *ret = out;
                return 0;
        }
        for (size_t i = 0; raw[i]; i++) {
                char *eq = strchr(raw[i], '=');
                if (!eq && in->kind != DF_ARG) {
                        json_decref(out);
                        return build_ferr(b, in, err, -EINVAL, "'%s' is not KEY=VALUE", raw[i]);
                }
                _cleanup_free_ char *k = eq ? strndup(raw[i], (size_t) (eq - raw[i])) : xstrdup(raw[i]), *kx = NULL,
                                    *v = NULL;
                if ((r = build_expand(b, st, in, k, &kx, err)) < 0 || (eq && (r = build_expand(b, st, in, eq + 1, &v, err)) < 0)) {
                        json_decref(out);
                        return r;
                }
                if (!*kx) {
                        json_decref(out);
                        return build_ferr(b, in, err, -EINVAL, "an empty name in '%s'", raw[i]);
                }
                json_array_append_new(out, v ? json_pack("[s,s]", kx, v) : json_pack("[s,n]", kx));
        }
        *ret = out;
        return 0;
}

bool build_is_predefined_arg(const char *n)
{
        static const char *const p[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                         "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL };
        for (size_t i = 0; p[i]; i++)
                if (strcmp(p[i], n) == 0)
                        return true;
        return false;
}

void build_platform_args(struct builder *b, json_t *into)
{
        char os[32] = "linux", arch[32] = "", variant[32] = "";
        sscanf(b->platform, "%31[^/]/%31[^/]/%31s", os, arch, variant);
        const char *names[] = { "TARGET", "BUILD" };
        for (size_t i = 0; i < 2; i++) {
                char k[32];
                snprintf(k, sizeof(k), "%sPLATFORM", names[i]);
                json_object_set_new(into, k, json_string(b->platform));
                snprintf(k, sizeof(k), "%sOS", names[i]);
                json_object_set_new(into, k, json_string(os));
                snprintf(k, sizeof(k), "%sARCH", names[i]);
                json_object_set_new(into, k, json_string(arch));
                snprintf(k, sizeof(k), "%sVARIANT", names[i]);
                json_object_set_new(into, k, json_string(variant));
        }
}

int build_do_arg(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        json_t *ps = NULL;
        int r = pairs(b, st, in, false, &ps, err);
        if (r < 0)
                return r;
        size_t i;
        json_t *p;
        json_array_foreach(ps, i, p)
        {
                const char *k = json_string_value(json_array_get(p, 0));
                json_t *dflt = json_array_get(p, 1);
                json_t *given = json_object_get(b->bargs, k);
                json_t *val = given ? given : json_is_string(dflt) ? dflt : NULL;
                /* a stage's ARG NAME without a default takes the global one */
                if (!val)
                        val = json_object_get(b->global, k);
                if (given)
                        json_object_set_new(b->used, k, json_true());
                json_object_set(st->args, k, val ? val : json_null());
                _cleanup_free_ char *w = xasprintf("ARG %s=%s", k, json_string_value(val) ?: "");
                build_chain(st, w, NULL);
        }
        json_decref(ps);
        return 0;
}

int build_do_env_label(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        json_t *ps = NULL;
        int r = pairs(b, st, in, true, &ps, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *hist = xstrdup(in->kind == DF_ENV ? "ENV" : "LABEL");
        json_t *labels = NULL;
        if (in->kind == DF_LABEL) {
                labels = json_object_get(build_cfg_config(st), "Labels");
                if (!json_is_object(labels)) {
                        labels = json_object();
                        json_object_set_new(build_cfg_config(st), "Labels", labels);
                }
        }
        size_t i;
        json_t *p;
        json_array_foreach(ps, i, p)
        {
                const char *k = json_string_value(json_array_get(p, 0)), *v = json_string_value(json_array_get(p, 1));
                if (in->kind == DF_ENV)
                        build_env_set(st, k, v);
                else
                        json_object_set_new(labels, k, json_string(v));
                char *h = xasprintf("%s %s=%s", hist, k, v);
                free(hist);
                hist = h;
        }
        json_decref(ps);
        build_meta_step(b, st, hist);
        return 0;
}

/* CMD, ENTRYPOINT: JSON as given, a shell form through the stage's SHELL */
json_t *build_command_form(struct state *st, const struct df_instr *in)
{
        json_t *a = json_array();
        if (in->json) {
                for (size_t i = 0; in->argv[i]; i++)
                        json_array_append_new(a, json_string(in->argv[i]));
                return a;
        }
        json_t *sh = json_object_get(build_cfg_config(st), "Shell");
        if (json_is_array(sh) && json_array_size(sh) > 0)
                json_array_extend(a, sh);
        else
                json_array_extend(a, json_pack("[s,s]", "/bin/sh", "-c"));
        json_array_append_new(a, json_string(in->args));
        return a;
}

char *build_json_text(json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int parse_duration(const char *s, json_int_t *ret)
{
        /* Go's time.ParseDuration for the units HEALTHCHECK uses */
        double total = 0;
        const char *p = s;
        if (!*p)
                return -EINVAL;
        while (*p) {
                char *end;
                double v = strtod(p, &end);
                if (end == p)
                        return -EINVAL;
                p = end;
                double mult;
                if (strncmp(p, "ns", 2) == 0)
                        mult = 1, p += 2;
                else if (strncmp(p, "us", 2) == 0 || strncmp(p, "µs", 3) == 0)
                        mult = 1e3, p += (*p == 'u' ? 2 : 3);
                else if (strncmp(p, "ms", 2) == 0)
                        mult = 1e6, p += 2;
                else if (*p == 's')
                        mult = 1e9, p++;
                else if (*p == 'm')
                        mult = 60e9, p++;
                else if (*p == 'h')
                        mult = 3600e9, p++;
                else
                        return -EINVAL;
                total += v * mult;
        }
        *ret = (json_int_t) total;
        return 0;
}

int build_do_healthcheck(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        json_t *hc;
        if (in->none) {
                hc = json_pack("{s:[s]}", "Test", "NONE");
        } else {
                const struct df_instr *c = in->sub;
                json_t *test = json_array();
                json_array_append_new(test, json_string(c->json ? "CMD" : "CMD-SHELL"));
                if (c->json)
                        for (size_t i = 0; c->argv[i]; i++)
                                json_array_append_new(test, json_string(c->argv[i]));
                else
                        json_array_append_new(test, json_string(c->args));
                hc = json_pack("{s:o}", "Test", test);
                static const struct {
                        const char *flag, *key;
                } durs[] = { { "interval", "Interval" },
                             { "timeout", "Timeout" },
                             { "start-period", "StartPeriod" },
                             { "start-interval", "StartInterval" } };
                for (size_t i = 0; i < in->n_flags; i++) {
                        const struct df_flag *f = &in->flags[i];
                        size_t k;
                        for (k = 0; k < ELEMENTSOF(durs); k++)
                                if (strcmp(f->name, durs[k].flag) == 0)
                                        break;
                        json_int_t v;
                        if (k < ELEMENTSOF(durs)) {
                                if (!f->value || parse_duration(f->value, &v) < 0 || v < 0) {
                                        json_decref(hc);
                                        return build_ferr(b, in, err, -EINVAL, "--%s '%s': not a duration (30s, 1m30s)",
                                                    f->name, f->value ? f->value : "");
                                }
                                if (v > 0)
                                        json_object_set_new(hc, durs[k].key, json_integer(v));
                        } else if (strcmp(f->name, "retries") == 0) {
                                char *end;
                                long n = f->value ? strtol(f->value, &end, 10) : -1;
                                if (!f->value || *end || n < 0) {
                                        json_decref(hc);
                                        return build_ferr(b, in, err, -EINVAL, "--retries '%s': not a number",
                                                    f->value ? f->value : "");
                                }
                                if (n > 0)
                                        json_object_set_new(hc, "Retries", json_integer(n));
                        } else {
                                json_decref(hc);
                                return build_ferr(b, in, err, -EINVAL, "unknown flag --%s", f->name);
                        }
                }
        }
        _cleanup_free_ char *t = build_json_text(json_object_get(hc, "Test"));
        json_object_set_new(build_cfg_config(st), "Healthcheck", hc);
        _cleanup_free_ char *h = xasprintf("HEALTHCHECK %s", t);
        build_meta_step(b, st, h);
        return 0;
}

/* the text of an instruction as a trigger line (ONBUILD) */
char *build_instr_text(const struct df_instr *in)
{
        struct df_buf t = { 0 };
        const char *n = df_kind_name(in->kind);
        df_buf_add(&t, n, strlen(n));
        for (size_t i = 0; i < in->n_flags; i++) {
                _cleanup_free_ char *f = in->flags[i].value ? xasprintf(" --%s=%s", in->flags[i].name, in->flags[i].value)
                                                           : xasprintf(" --%s", in->flags[i].name);
                df_buf_add(&t, f, strlen(f));
        }
        if (in->sub) {
                _cleanup_free_ char *s = build_instr_text(in->sub);
                df_buf_add(&t, " ", 1);
                df_buf_add(&t, s, strlen(s));
        } else if (in->none) {
                df_buf_add(&t, " NONE", 5);
        } else if (in->json) {
                json_t *a = json_array();
                for (size_t i = 0; in->argv[i]; i++)
                        json_array_append_new(a, json_string(in->argv[i]));
                _cleanup_free_ char *s = build_json_text(a);
                json_decref(a);
                df_buf_add(&t, " ", 1);
                df_buf_add(&t, s, strlen(s));
        } else if (in->args) {
                df_buf_add(&t, " ", 1);
                df_buf_add(&t, in->args, strlen(in->args));
        }
        return t.s;
}

int build_do_expose(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_free_ char **w = NULL;
        int r = build_expand_words(b, st, in, &w, err);
        if (r < 0)
                return r;
        json_t *ports = json_object_get(build_cfg_config(st), "ExposedPorts");
        if (!json_is_object(ports)) {
                ports = json_object();
                json_object_set_new(build_cfg_config(st), "ExposedPorts", ports);
        }
        _cleanup_free_ char *hist = xstrdup("EXPOSE");
        for (size_t i = 0; w[i]; i++) {
                char proto[8] = "tcp";
                unsigned lo, hi;
                char *slash = strchr(w[i], '/');
                if (slash) {
                        if (strcasecmp(slash + 1, "tcp") && strcasecmp(slash + 1, "udp") && strcasecmp(slash + 1, "sctp"))
                                return build_ferr(b, in, err, -EINVAL, "'%s': the protocol is tcp, udp or sctp", w[i]);
                        snprintf(proto, sizeof(proto), "%s", slash + 1);
                        for (char *p = proto; *p; p++)
                                *p = (char) tolower((unsigned char) *p);
                        *slash = '\0';
                }
                int n = sscanf(w[i], "%u-%u", &lo, &hi);
                char tail;
                if (n < 1 || (n == 1 && sscanf(w[i], "%u%c", &lo, &tail) != 1) || lo == 0 || lo > 65535 ||
                    (n == 2 && (hi < lo || hi > 65535)))
                        return build_ferr(b, in, err, -EINVAL, "'%s' is not a port (80, 80/udp, 8000-8010)", w[i]);
                if (n == 1)
                        hi = lo;
                for (unsigned p = lo; p <= hi; p++) {
                        char k[32];
                        snprintf(k, sizeof(k), "%u/%s", p, proto);
                        json_object_set_new(ports, k, json_object());
                        char *h = xasprintf("%s %s", hist, k);
                        free(hist);
                        hist = h;
                }
        }
        build_meta_step(b, st, hist);
        return 0;
}

int build_do_volume(struct builder *b, struct state *st, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_free_ char **w = NULL;
        int r = build_expand_words(b, st, in, &w, err);
        if (r < 0)
                return r;
        json_t *vols = json_object_get(build_cfg_config(st), "Volumes");
        if (!json_is_object(vols)) {
                vols = json_object();
                json_object_set_new(build_cfg_config(st), "Volumes", vols);
        }
        json_t *a = json_array();
        for (size_t i = 0; w[i]; i++) {
                if (!*w[i]) {
                        json_decref(a);
                        return build_ferr(b, in, err, -EINVAL, "a volume cannot be an empty path");
                }
                json_object_set_new(vols, w[i], json_object());
                json_array_append_new(a, json_string(w[i]));
        }
        _cleanup_free_ char *t = build_json_text(a);
        json_decref(a);
        _cleanup_free_ char *h = xasprintf("VOLUME %s", t);
        build_meta_step(b, st, h);
        return 0;
}

