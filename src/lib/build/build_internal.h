/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the executor's files share: a stage's state, the builder, and the
 * functions one part calls in another (build.c: state, cache, stages, the build;
 * build_meta.c: ARG ENV LABEL EXPOSE VOLUME HEALTHCHECK...; build_run.c: RUN;
 * build_files.c: COPY ADD WORKDIR). */
#include <signal.h>
#include <stdarg.h>

#include "build.h"
#include "copy.h"
#include "dockerfile.h"
#include "ignore.h"
#include "lib/base/json.h"
#include "lib/store/store.h"
#include "view.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CONFIG_MAX (8u << 20)
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define RUN_TAIL 4096 /* the last bytes of a RUN's output kept for its error */

/* the state of a stage after a step: its image config (architecture, os,
 * config, rootfs.diff_ids, history) and its layers' descriptors */
struct state {
        json_t *cfg;
        json_t *layers;
        char key[DIGEST_STR_MAX]; /* the cache chain: a digest of every step so far */
        json_t *args;             /* ARG scope: name -> string, or null when declared without value */
        bool cmd_set;             /* CMD given in this stage: a later ENTRYPOINT keeps it */
        bool built, building;
};

struct builder {
        const struct build_opts *o;
        struct store s;
        struct df_plan plan;
        struct ignore *ign;
        struct state *st;        /* one per stage */
        json_t *bargs;           /* --build-arg: name -> value */
        json_t *used;            /* the build args some ARG consumed */
        json_t *global;          /* the ARGs before the first FROM, with the build args applied */
        json_t *global_declared; /* their names */
        json_t *secrets;         /* id -> host path (a private copy for env= ones) */
        char platform[64];
        char *tmpdir;            /* <runroot>/build-<pid>: secrets copied for RUNs */
        int cache_fd;            /* <root>/build-cache */
        size_t stage_total;
        bool step_cached;        /* the last metadata step was in the cache */
        char *pending;           /* the step's line, printed when it starts work or ends (CACHED on it) */
};

typedef int (*make_fn)(struct builder *b, struct state *st, const struct df_instr *in, void *ud, int out_fd,
                       struct err *err);

json_t *build_cfg_config(struct state *st);
void build_chain(struct state *st, const char *what, const char *extra);
const char *build_env_get(struct state *st, const char *name);
void build_env_set(struct state *st, const char *name, const char *value);
int build_expand(struct builder *b, struct state *st, const struct df_instr *in, const char *w, char **ret, struct err *err);
int build_expand_words(struct builder *b, struct state *st, const struct df_instr *in, char ***ret, struct err *err);
int build_fail(struct builder *b, const struct df_instr *in, struct err *err);
int build_ferr(struct builder *b, const struct df_instr *in, struct err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
const char *build_instr_name(const struct df_instr *in);
int build_interrupted(struct err *err);
void build_intr_set_ctr(const char *id);
int build_layer_step(struct builder *b, struct state *st, const struct df_instr *in, const char *created_by, const char *extra, make_fn make, void *ud, bool *ret_cached, struct err *err);
int build_load_image_state(struct builder *b, const char *ref, struct state *st, struct err *err);
void build_meta_step(struct builder *b, struct state *st, const char *created_by);
int build_stage_build(struct builder *b, size_t idx, struct err *err);
const char *build_stage_lookup(const char *name, void *ud);
void build_state_free(struct state *st);
int build_state_view(struct builder *b, struct state *st, struct view *v, struct err *err);
int build_state_write(struct builder *b, struct state *st, char ret_config[DIGEST_STR_MAX], char ret[DIGEST_STR_MAX], struct err *err);
json_t *build_command_form(struct state *st, const struct df_instr *in);
int build_do_arg(struct builder *b, struct state *st, const struct df_instr *in, struct err *err);
int build_do_env_label(struct builder *b, struct state *st, const struct df_instr *in, struct err *err);
int build_do_expose(struct builder *b, struct state *st, const struct df_instr *in, struct err *err);
int build_do_healthcheck(struct builder *b, struct state *st, const struct df_instr *in, struct err *err);
int build_do_volume(struct builder *b, struct state *st, const struct df_instr *in, struct err *err);
char *build_instr_text(const struct df_instr *in);
bool build_is_predefined_arg(const char *n);
char *build_json_text(json_t *j);
void build_platform_args(struct builder *b, json_t *into);
int build_do_run(struct builder *b, struct state *st, const struct df_instr *in, bool *ret_cached, struct err *err);
const char *build_mopt(json_t *m, const char *k1, const char *k2);
json_t *build_mount_opts(const char *spec);
int build_do_copy(struct builder *b, size_t idx, struct state *st, const struct df_instr *in, bool *ret_cached, struct err *err);
int build_do_workdir(struct builder *b, struct state *st, const struct df_instr *in, bool *ret_cached, struct err *err);
ssize_t build_stage_index(struct builder *b, const char *name, size_t before);
