/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

/* The watcher of a private network.  A container's helper (pasta,
 * slirp4netns) lives on the host and would outlive the container: this ends
 * it when the keeper ends.  It also carries published UDP ports: the helpers
 * lose the replies (slirp4netns without host loopback, pasta when the port
 * numbers differ), so each datagram that reaches a host socket goes on from a
 * socket inside the container's network namespace to 127.0.0.1:PORT there,
 * one such socket per client, and the answers come back the same way. */

#define MAX_FLOWS 256
#define FLOW_IDLE_S 60

struct flow {
        int inner;             /* in the container's namespace, connected to 127.0.0.1:port */
        size_t port_idx;
        struct sockaddr_storage peer;
        socklen_t peer_len;
        time_t last;
};

static time_t now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static void flow_close(struct flow *f)
{
        if (f->inner >= 0)
                close(f->inner);
        f->inner = -1;
}

static struct flow *flow_for(struct flow *flows, size_t port_idx, const struct sockaddr_storage *peer, socklen_t len,
                             uint16_t port)
{
        struct flow *free_slot = NULL, *oldest = NULL;
        for (size_t i = 0; i < MAX_FLOWS; i++) {
                struct flow *f = &flows[i];
                if (f->inner < 0) {
                        free_slot = free_slot ? free_slot : f;
                        continue;
                }
                if (f->port_idx == port_idx && f->peer_len == len && memcmp(&f->peer, peer, len) == 0)
                        return f;
                if (!oldest || f->last < oldest->last)
                        oldest = f;
        }
        struct flow *f = free_slot ? free_slot : oldest;
        flow_close(f);
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s < 0 || connect(s, (struct sockaddr *) &to, sizeof(to)) < 0) {
                if (s >= 0)
                        close(s);
                return NULL;
        }
        f->inner = s;
        f->port_idx = port_idx;
        f->peer = *peer;
        f->peer_len = len;
        return f;
}

void net_watch_main(int keeper_pidfd, int helper_pidfd, int userns_fd, int netns_fd, size_t n, const int *udp_fds,
                    const uint16_t *udp_ports)
{
        static struct flow flows[MAX_FLOWS];
        struct pollfd p[2 + 16 + MAX_FLOWS];
        size_t idx[MAX_FLOWS];
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        if (n > 16)
                n = 16;
        for (size_t i = 0; i < MAX_FLOWS; i++)
                flows[i].inner = -1;
        /* into the container's network namespace: the host sockets stay on the host */
        if (n && ((userns_fd >= 0 && setns(userns_fd, CLONE_NEWUSER) < 0) || setns(netns_fd, CLONE_NEWNET) < 0))
                n = 0;
        if (userns_fd >= 0)
                close(userns_fd);
        if (netns_fd >= 0)
                close(netns_fd);
        for (;;) {
                size_t np = 0;
                p[np++] = (struct pollfd){ .fd = keeper_pidfd, .events = POLLIN };
                p[np++] = (struct pollfd){ .fd = helper_pidfd, .events = POLLIN };
                for (size_t i = 0; i < n; i++)
                        p[np++] = (struct pollfd){ .fd = udp_fds[i], .events = POLLIN };
                size_t nf = 0;
                time_t t = now_s();
                for (size_t i = 0; i < MAX_FLOWS; i++) {
                        if (flows[i].inner < 0)
                                continue;
                        if (t - flows[i].last > FLOW_IDLE_S) {
                                flow_close(&flows[i]);
                                continue;
                        }
                        idx[nf++] = i;
                        p[np++] = (struct pollfd){ .fd = flows[i].inner, .events = POLLIN };
                }
                if (poll(p, np, n ? 10000 : -1) < 0)
                        continue;
                if (p[1].revents)
                        _exit(0); /* the helper ended by itself */
                if (p[0].revents)
                        break;
                char buf[65536];
                for (size_t i = 0; i < n; i++) {
                        if (!p[2 + i].revents)
                                continue;
                        struct sockaddr_storage peer;
                        socklen_t len = sizeof(peer);
                        ssize_t k = recvfrom(udp_fds[i], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &peer, &len);
                        struct flow *f = k >= 0 ? flow_for(flows, i, &peer, len, udp_ports[i]) : NULL;
                        if (f) {
                                f->last = now_s();
                                if (send(f->inner, buf, (size_t) k, MSG_DONTWAIT) < 0) {
                                        /* nothing listens yet, or a full queue: datagrams may be lost */
                                }
                        }
                }
                for (size_t j = 0; j < nf; j++) {
                        if (!p[2 + n + j].revents)
                                continue;
                        struct flow *f = &flows[idx[j]];
                        ssize_t k = recv(f->inner, buf, sizeof(buf), MSG_DONTWAIT);
                        if (k >= 0) {
                                f->last = now_s();
                                sendto(udp_fds[f->port_idx], buf, (size_t) k, MSG_DONTWAIT, (struct sockaddr *) &f->peer,
                                       f->peer_len);
                        } else if (errno != EAGAIN && errno != EINTR)
                                flow_close(f); /* e.g. ECONNREFUSED: nothing listens there now */
                }
        }
        syscall(SYS_pidfd_send_signal, helper_pidfd, SIGTERM, NULL, 0);
        struct pollfd h = { .fd = helper_pidfd, .events = POLLIN };
        if (poll(&h, 1, 2000) <= 0)
                syscall(SYS_pidfd_send_signal, helper_pidfd, SIGKILL, NULL, 0);
        _exit(0);
}
