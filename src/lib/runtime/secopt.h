/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* --security-opt of den run, den create and den session begin: the seccomp
 * profile of a container's commands.  Without one, den's default profile
 * (lib/linux/seccomp_default.h); `seccomp=unconfined`: none; `seccomp=FILE`: a
 * profile in docker's or OCI's format.
 *
 * The choice lives in the container's record (Options.SecurityOpt as given, and
 * Options.SeccompProfile: the file's content, so den start does not read the
 * file again). */

/* check opts and write the choice into the record's Options; a bad option or
 * profile fails here, naming it */
int secopt_record(char **opts, uint64_t caps, const char *runroot, json_t *record_opts, struct err *err);

/* the container's filter as a blob for the keeper (seccomp_bpf.h), *ret NULL
 * when unconfined.  Compiled once per profile, capabilities and libseccomp:
 * kept in <runroot>/seccomp/<key>.bpf after that. */
int secopt_filter(json_t *record_opts, uint64_t caps, const char *runroot, void **ret, size_t *ret_len,
                  struct err *err);
