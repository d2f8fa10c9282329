/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/err.h"
#include "lib/spec/spec.h"

/* The keeper: pid 1 of a container, holding its namespaces.  It starts every
 * command -- the first too -- on request over its socket (proto.h), reaps,
 * forwards signals and reports exit statuses.  It never execs a host binary:
 * it runs in the container's root after pivot_root, non-dumpable, with no host
 * fd but its listening socket and the exit-status file. */
struct keeper_conf {
        int listen_fd;
        int exit_fd;            /* host file the main command's status is written to */
        bool session;           /* outlive the main command (den session) */
        bool setgroups;         /* setgroups(2) allowed in the user namespace */
        uint64_t default_caps;  /* capabilities of commands run as uid 0 */
        const void *seccomp;    /* filter of every command (lib/linux/seccomp_bpf.h), NULL: none */
        size_t seccomp_len;
        void (*idle)(void);     /* called after a second with nothing to do */
};

__attribute__((noreturn)) void keeper_main(const struct keeper_conf *c);

/* client side: connect to a keeper socket path */
int keeper_connect(const char *path, struct err *err);

/* the decoder a KEEPER_RUN request goes through before anything is started:
 * user names looked up in /etc/passwd and /etc/group, then the process as in
 * config.json, with c's capabilities (the keeper's own, exposed for tests/fuzz).
 * req is changed (a user name becomes ids); ret is freed with spec_process_free
 * either way */
int keeper_request_process(json_t *req, const struct keeper_conf *c, struct spec_process *ret, struct err *err);
