/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/json.h"

/* The keeper's wire protocol, version 2.
 *
 * Transport: a SOCK_SEQPACKET unix socket, <runroot>/containers/<id>/keeper.sock
 * (0600 in a 0700 directory; the keeper also checks SO_PEERCRED).  One message
 * per packet:
 *
 *     struct keeper_hdr  (magic "DENK", version, type, payload length, flags)
 *     payload            a JSON object of hdr.len bytes, when at most KEEPER_MAX_INLINE
 *     SCM_RIGHTS         the fds the message hands over (stdio of a command),
 *                        then, with KEEPER_F_MEMFD, the payload's memfd
 *
 * A payload over KEEPER_MAX_INLINE (an image's Env of a megabyte) does not fit a
 * packet the socket's buffer takes: it travels as a memfd sealed against writing,
 * growing and shrinking, sent last in SCM_RIGHTS, of exactly hdr.len bytes; the
 * packet then carries the header alone.  A receiver reads only such a memfd (no
 * pipe or file that could block it) and refuses payloads over KEEPER_MAX_PAYLOAD.
 * Version 1 (up to 0.1: no flags, payloads inline up to 128 KiB) is refused.
 *
 * Client -> keeper
 *   KEEPER_RUN     {"args":[..],"env":[..],"cwd":"/","user":"NAME[:GROUP]"|{"uid":..,"gid":..},
 *                   "terminal":false,"main":false,"log":false,"network":"none"|absent,"home":false}
 *                  + fds 0,1,2 for the command (with "log": stdin and the log file);
 *                  "network":"none" gives the command a network namespace of its own;
 *                  "home":true adds HOME (from the container's /etc/passwd, else /) to an
 *                  env without it
 *                  (with "tty": true, no fds: the keeper makes a pty in the
 *                   container's devpts and hands its master back in STARTED)
 *   KEEPER_SIGNAL  {"pid":N|0 (0: the main command),"signal":15}
 *   KEEPER_WAIT    {}   wait for the main command (reply EXITED)
 *   KEEPER_OPEN    {"path":"/abs","how":"stat"|"read"|"write"|"mkdir"}  open a path
 *                  resolved inside the container's root (openat2 RESOLVE_IN_ROOT);
 *                  STARTED carries the fd (den cp copies through it)
 * Keeper -> client
 *   KEEPER_STARTED {"pid":N}  (pid as seen inside) [+ the pty master]
 *   KEEPER_EXITED  {"status":S}  S as a shell gives it: code, or 128+signal
 *   KEEPER_ERROR   {"error":"message"}
 *
 * Any other magic or version is refused and the connection closed. */

#define KEEPER_MAGIC 0x4b4e4544u /* "DENK" little-endian */
#define KEEPER_VERSION 2
#define KEEPER_MAX_INLINE (64u << 10)   /* bytes of payload in the packet itself */
#define KEEPER_MAX_PAYLOAD (64u << 20)  /* bytes of payload at all (through a memfd) */
#define KEEPER_MAX_FDS 3                /* fds a message hands over, the memfd not counted */
#define KEEPER_F_MEMFD 0x1u             /* hdr.flags: the payload is in the last fd */

enum keeper_type {
        KEEPER_RUN = 1,
        KEEPER_SIGNAL,
        KEEPER_WAIT,
        KEEPER_OPEN,
        KEEPER_STARTED = 100,
        KEEPER_EXITED,
        KEEPER_ERROR,
};

struct keeper_hdr {
        uint32_t magic;
        uint16_t version;
        uint16_t type;
        uint32_t len;   /* bytes of JSON payload */
        uint32_t flags; /* KEEPER_F_*; others are refused */
};

/* 0, or a negative errno: -EMSGSIZE over KEEPER_MAX_PAYLOAD, -EPIPE when the peer is gone */
int keeper_send(int sock, enum keeper_type type, json_t *payload, const int *fds, size_t n_fds);
/* receives one message; *ret_payload is a new reference; fds are O_CLOEXEC */
int keeper_recv(int sock, enum keeper_type *ret_type, json_t **ret_payload, int *fds, size_t *n_fds,
                struct err *err);
