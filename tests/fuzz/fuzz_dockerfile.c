/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: a Dockerfile as a user or a build context gives it:
 * dockerfile_parse, then dockerfile_expand on every shell-form argument and
 * heredoc body, with both escape characters */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/macro.h"
#include "lib/build/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *userdata)
{
        (void) userdata;
        if (name[0] == 'A')
                return "value with 'quotes' and $dollars";
        if (name[0] == 'E')
                return "";
        return NULL;
}

static void expand(const char *s, char esc)
{
        _cleanup_free_ char *out = NULL;
        struct err e = { 0 };
        if (s && dockerfile_expand(s, esc, lookup, NULL, &out, &e) == 0 && !out)
                abort();
}

static void check(const struct df_instr *in, char esc)
{
        if (in->kind >= DF_KIND_MAX || (in->json ? !in->argv || in->args : !in->args && !in->sub && !in->none))
                abort();
        expand(in->args, esc);
        for (size_t i = 0; in->argv && in->argv[i]; i++)
                expand(in->argv[i], esc);
        for (size_t i = 0; i < in->n_heredocs; i++) {
                if (!in->heredocs[i].body)
                        abort();
                expand(in->heredocs[i].body, esc);
        }
        for (size_t i = 0; i < in->n_flags; i++)
                expand(in->flags[i].value, esc);
        if (in->sub)
                check(in->sub, esc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct df_plan plan;
        struct err e = { 0 };
        if (dockerfile_parse((const char *) data, size, &plan, &e) < 0) {
                if (strncmp(e.msg, "Dockerfile:", 11) != 0)
                        abort();
                return 0;
        }
        if (plan.n_stages == 0)
                abort();
        for (size_t i = 0; i < plan.n_global_args; i++)
                check(&plan.global_args[i], plan.escape);
        for (size_t s = 0; s < plan.n_stages; s++) {
                if (!plan.stages[s].image || plan.stages[s].n_instrs == 0 || plan.stages[s].instrs[0].kind != DF_FROM)
                        abort();
                for (size_t i = 0; i < plan.stages[s].n_instrs; i++)
                        check(&plan.stages[s].instrs[i], plan.escape);
        }
        dockerfile_plan_free(&plan);
        return 0;
}
