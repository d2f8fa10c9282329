/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The Dockerfile parser (issue 13): text -> a plan of stages and instructions,
 * pure (no files, no network), by the rules of BuildKit's dockerfile frontend:
 * parser directives (syntax, escape) only at the top, comments, continuations
 * with the escape character (also across comment and empty lines), case-
 * insensitive instruction names, JSON (exec) form when the arguments are a valid
 * JSON array of strings and shell form otherwise, heredocs for RUN, COPY and ADD,
 * ONBUILD's nested instruction, HEALTHCHECK NONE / CMD.  Variables are not
 * expanded here: the executor calls dockerfile_expand with its own ARG/ENV
 * scope on the instructions df_kind_expands names. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/err.h"

#define DF_MAX_SIZE (4u << 20)       /* a Dockerfile over 4 MiB is refused */
#define DF_MAX_LINE (1u << 20)       /* so is a logical line over 1 MiB */
#define DF_MAX_INSTRUCTIONS 10000    /* and more than this many instructions */
#define DF_MAX_EXPANDED (1u << 20)   /* an expanded word is bounded too */

enum df_kind {
        DF_FROM, DF_RUN, DF_CMD, DF_LABEL, DF_MAINTAINER, DF_EXPOSE, DF_ENV, DF_ADD, DF_COPY,
        DF_ENTRYPOINT, DF_VOLUME, DF_USER, DF_WORKDIR, DF_ARG, DF_ONBUILD, DF_STOPSIGNAL,
        DF_HEALTHCHECK, DF_SHELL,
        DF_KIND_MAX,
};

struct df_flag {
        char *name;  /* without the leading "--" */
        char *value; /* NULL for a bare flag (--link) */
};

struct df_heredoc {
        char *name;      /* the delimiter, unquoted */
        bool expand;     /* false when the delimiter was quoted: <<"EOF" or <<'EOF' */
        bool strip_tabs; /* <<-EOF: leading tabs are already stripped from body */
        char *body;      /* every line up to the delimiter, each ending in '\n' */
};

struct df_instr {
        enum df_kind kind;
        unsigned line; /* where the instruction starts */
        struct df_flag *flags;
        size_t n_flags;
        /* the arguments after the flags: json -> argv (NULL-terminated), else shell
         * form -> args (the text as written, continuations joined) */
        bool json;
        char **argv;
        char *args;
        struct df_heredoc *heredocs;
        size_t n_heredocs;
        struct df_instr *sub; /* ONBUILD's instruction, HEALTHCHECK's CMD */
        bool none;            /* HEALTHCHECK NONE */
};

struct df_stage {
        char *image;    /* FROM's image, not expanded */
        char *name;     /* AS name, or NULL */
        char *platform; /* --platform, or NULL */
        unsigned line;
        struct df_instr *instrs; /* after FROM, FROM itself is instrs[0] */
        size_t n_instrs;
};

struct df_plan {
        char *syntax; /* # syntax=..., reported so the caller can say it is ignored */
        char escape;  /* '\\' or '`' */
        struct df_instr *global_args; /* ARGs before the first FROM */
        size_t n_global_args;
        struct df_stage *stages;
        size_t n_stages;
};

/* errors read "Dockerfile:LINE: INSTRUCTION: message" */
int dockerfile_parse(const char *text, size_t len, struct df_plan *plan, struct err *err);
void dockerfile_plan_free(struct df_plan *plan);

const char *df_kind_name(enum df_kind k);
/* the instructions the builder expands variables in (ADD COPY ENV EXPOSE FROM
 * LABEL STOPSIGNAL USER VOLUME WORKDIR, and ONBUILD's instruction when it runs);
 * RUN, CMD, ENTRYPOINT and SHELL are left to the shell in the container */
bool df_kind_expands(enum df_kind k);
const char *df_flag_get(const struct df_instr *in, const char *name);

/* NULL when the variable is not set (distinct from set to "") */
typedef const char *(*df_lookup_fn)(const char *name, void *userdata);
/* BuildKit's ProcessWord: $V, ${V}, ${V:-w}, ${V-w}, ${V:+w}, ${V+w}, ${V:?msg},
 * ${V?msg} (the forms without ':' are a superset of the lexer's), ${V#pat}, ${V##pat},
 * ${V%pat}, ${V%%pat} (glob patterns, shortest or longest match removed); $1, $$, $- and
 * the other special parameters are names, unset in a build (so "$$" gives "");
 * the escape character escapes the next character; single quotes keep
 * their content literally, double quotes expand and keep spaces; the quotes are
 * removed.  *ret is a new string. */
int dockerfile_expand(const char *word, char escape, df_lookup_fn lookup, void *userdata, char **ret,
                      struct err *err);
/* text split into words at whitespace outside quotes (quotes and escapes kept, for
 * dockerfile_expand); never fails */
int dockerfile_split_words(const char *text, char escape, char ***ret);
/* text split into words, each expanded (ProcessWords: COPY's sources, EXPOSE, VOLUME...) */
int dockerfile_expand_words(const char *text, char escape, df_lookup_fn lookup, void *userdata, char ***ret,
                            struct err *err);
/* a heredoc's body (COPY <<EOF when the delimiter is not quoted): variables
 * expanded, quotes and everything else kept as written; "\$" is a '$' */
int dockerfile_expand_heredoc(const char *body, char escape, df_lookup_fn lookup, void *userdata, char **ret,
                              struct err *err);
