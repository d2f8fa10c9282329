/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* den's default seccomp profile and docker-format profiles.
 *
 * The default is one table (seccomp_default.c) with the syscalls of docker's and
 * podman's default profile: everything else fails with EPERM; some syscalls are
 * allowed only when the container holds a capability (mount, unshare, setns with
 * CAP_SYS_ADMIN; ptrace... with CAP_SYS_PTRACE), clone only without namespace
 * flags, clone3 fails with ENOSYS (so libcs fall back to clone, whose flags a
 * filter can see), personality only with the harmless values, sockets of every
 * family but AF_VSOCK.
 *
 * Both come out as an OCI linux.seccomp object for seccomp_filter_build(),
 * resolved for the host's architecture and the capabilities caps (a bit per
 * CAP_* number) the container's processes may hold. */

/* the default profile, in docker's format (includes/excludes, archMap): what
 * `den run --security-opt seccomp=FILE` accepts, so it can serve as a start */
json_t *seccomp_default_docker(void);
/* the default profile for caps, as an OCI linux.seccomp object */
json_t *seccomp_default_profile(uint64_t caps);
/* a digest of the table and the host's architecture (FNV-1a, for cache keys):
 * it changes when the default does, and costs microseconds, not a build */
uint64_t seccomp_default_digest(void);

/* A profile in docker's format (or OCI's, a subset) -> an OCI linux.seccomp
 * object for caps.  Read: defaultAction, defaultErrnoRet, architectures or
 * archMap, flags, syscalls[] with names (or name), action, errnoRet, args,
 * includes/excludes {caps, arches, minKernel}.  A rule whose conditions do not
 * hold here is left out.  where names the profile in errors. */
int seccomp_profile_resolve(json_t *profile, uint64_t caps, const char *where, json_t **ret, struct err *err);
