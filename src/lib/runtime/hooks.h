/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"
#include "lib/spec/spec.h"

/* Run hooks in order, each with the container state on stdin, as the
 * runtime spec says; a hook past its timeout is killed.  kind names them in
 * errors. */
int hooks_run(const struct spec_hook *hooks, size_t n, const char *kind, const char *state_json, struct err *err);
/* poststart and poststop: a failure is a warning, and the remaining hooks and
 * the lifecycle go on (runtime-spec) */
void hooks_run_warn(const struct spec_hook *hooks, size_t n, const char *kind, const char *state_json);
