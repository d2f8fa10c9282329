/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/err.h"

/* Bring up lo in the calling process's network namespace (a fresh one has it down). */
void net_loopback_up(void);

/* Move the host interface ifname into the network namespace netns_fd,
 * renamed to new_name unless NULL (linux.netDevices); -ENODEV naming it when
 * the host has no such interface. */
int net_link_move(const char *ifname, int netns_fd, const char *new_name, struct err *err);

/* A container's network:
 *   none         a namespace of its own with loopback only (den run's default)
 *   host         the host's
 *   pasta        a namespace of its own, connected by pasta (package passt)
 *   slirp4netns  the same through slirp4netns
 *   private      pasta when it can, else slirp4netns (pasta 2023-03 cannot join a root
 *                container's namespaces: as root, slirp4netns)
 * The helper runs on the host side, outside the container; a watcher ends it
 * when the container's keeper ends. */
enum net_mode { NET_NONE, NET_HOST, NET_PASTA, NET_SLIRP };

struct net_port {
        char ip[64];       /* host address to bind, "" for all */
        uint16_t host, ctr;
        bool udp;
};

struct net_conf {
        enum net_mode mode;
        bool allow_host_loopback; /* the host's 127.0.0.1 reachable as host.containers.internal */
        struct net_port *ports;
        size_t n_ports;
};

/* --network MODE[:allow_host_loopback=true] and -p specs; a port asks for a
 * private network when none is named.  Errors name the flag and the value. */
int net_conf_parse(const char *network, bool allow_host_loopback, char *const *publish, struct net_conf *ret,
                   struct err *err);
void net_conf_free(struct net_conf *c);
const char *net_mode_name(enum net_mode m);
bool net_mode_private(enum net_mode m);
/* -p [IP:]HOST:CTR[/tcp|/udp] (HOST may be empty or 0: a free port is chosen) */
int net_port_parse(const char *spec, struct net_port *ret, struct err *err);
/* "0.0.0.0:8080->80/tcp" */
char *net_port_str(const struct net_port *p);
/* ports below the unprivileged limit, ports in use: before anything starts */
int net_ports_check(struct net_conf *c, struct err *err);

/* what /etc/resolv.conf and /etc/hosts say inside */
char *net_resolv_conf(const struct net_conf *c);
/* the address the host answers on from inside (host.containers.internal), or NULL */
const char *net_host_address(const struct net_conf *c, char buf[64]);

/* Attach the helper to the network namespace netns_fd (joining userns_fd first,
 * unless -1) of the container whose keeper is pid, wait until the namespace is
 * configured, publish the ports, and leave a watcher that ends the helper when
 * pid ends.  The namespaces come as fds opened when the keeper was cloned: a
 * keeper that is not dumpable any more keeps its /proc/PID/ns from its owner.  rundir gets net.log
 * (the helper's messages) and net.pid (the watcher).  keeper_exe: an fd of
 * den-keeper (it runs the watcher small), or -1 for a fork of this program. */
int net_attach(pid_t pid, int userns_fd, int netns_fd, const struct net_conf *c, const char *rundir, int keeper_exe,
               struct err *err);
/* wait up to timeout_ms for the helper of rundir to be gone */
void net_detach_wait(const char *rundir, int timeout_ms);

/* the watcher's loop: until keeper_pidfd's process ends, then end helper_pidfd's;
 * meanwhile it carries the published UDP ports (host sockets udp_fds, to
 * 127.0.0.1:udp_ports inside the namespaces given by userns_fd (or -1) and netns_fd) */
__attribute__((noreturn)) void net_watch_main(int keeper_pidfd, int helper_pidfd, int userns_fd, int netns_fd, size_t n,
                                              const int *udp_fds, const uint16_t *udp_ports);
