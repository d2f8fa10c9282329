/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/base/err.h"
#include "lib/base/json.h"

/* linux.seccomp -> a libseccomp filter.  Built (and so checked) early; loaded
 * last, right before execve.  Unknown syscall names are skipped, as runc does,
 * since profiles list syscalls newer than the host's libseccomp. */
struct seccomp_filter;

int seccomp_filter_build(json_t *cfg, struct seccomp_filter **ret, struct err *err);
/* the same, compiled to BPF once per profile, den, libseccomp and kernel: kept in
 * cache_dir/<sha256>.bpf (made 0700 when missing) and read from there next time.
 * Profiles with a listener are built every time; cache_dir NULL: no cache. */
int seccomp_filter_build_cached(json_t *cfg, const char *cache_dir, struct seccomp_filter **ret, struct err *err);
/* load; with a listenerPath, ret_notify_fd gets the notification fd */
int seccomp_filter_load(struct seccomp_filter *f, int *ret_notify_fd, struct err *err);
/* the filter as BPF, for the keeper to install (seccomp_bpf.h); NOTIFY refused */
int seccomp_filter_export(struct seccomp_filter *f, void **ret, size_t *ret_len, struct err *err);
void seccomp_filter_free(struct seccomp_filter *f);
const char *seccomp_listener_path(struct seccomp_filter *f);
const char *seccomp_listener_metadata(struct seccomp_filter *f);
/* for `features`: names of the actions, operators and architectures den knows */
json_t *seccomp_features(void);
