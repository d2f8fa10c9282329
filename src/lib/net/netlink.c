/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.netDevices: one RTM_NEWLINK per device, by hand (no libnl): the
 * device's index, IFLA_NET_NS_FD and, to rename it, IFLA_IFNAME.  The kernel
 * moves the device first (do_setlink) and renames it in its new namespace,
 * as `ip link set DEV netns N name NEW` does. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "net.h"

struct link_req {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
        char attrs[64];
};

static void add_attr(struct link_req *q, unsigned short type, const void *data, size_t len)
{
        struct rtattr *a = (struct rtattr *) ((char *) q + NLMSG_ALIGN(q->nh.nlmsg_len));
        a->rta_type = type;
        a->rta_len = (unsigned short) RTA_LENGTH(len);
        memcpy(RTA_DATA(a), data, len);
        q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int net_link_move(const char *ifname, int netns_fd, const char *new_name, struct err *err)
{
        unsigned idx = if_nametoindex(ifname);
        if (idx == 0)
                return err_set(err, -ENODEV, "linux.netDevices: the host has no interface '%s'", ifname);
        _cleanup_close_ int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (s < 0)
                return err_sys(err, -errno, "linux.netDevices: netlink socket");
        struct link_req q = { 0 };
        q.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
        q.nh.nlmsg_type = RTM_NEWLINK;
        q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        q.nh.nlmsg_seq = 1;
        q.ifi.ifi_family = AF_UNSPEC;
        q.ifi.ifi_index = (int) idx;
        uint32_t fd = (uint32_t) netns_fd;
        add_attr(&q, IFLA_NET_NS_FD, &fd, sizeof(fd));
        if (new_name && strcmp(new_name, ifname) != 0)
                add_attr(&q, IFLA_IFNAME, new_name, strlen(new_name) + 1);
        struct sockaddr_nl to = { .nl_family = AF_NETLINK };
        if (sendto(s, &q, q.nh.nlmsg_len, 0, (struct sockaddr *) &to, sizeof(to)) < 0)
                return err_sys(err, -errno, "linux.netDevices.%s: netlink send", ifname);
        char buf[4096];
        for (;;) {
                ssize_t n = recv(s, buf, sizeof(buf), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_sys(err, -errno, "linux.netDevices.%s: netlink receive", ifname);
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != 1 || h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                                return err_set(err, -EPROTO, "linux.netDevices.%s: short netlink reply", ifname);
                        int e = ((struct nlmsgerr *) NLMSG_DATA(h))->error;
                        if (e < 0)
                                return err_sys(err, e, "linux.netDevices.%s: cannot move it into the container%s%s",
                                               ifname, new_name ? " as " : "", new_name ? new_name : "");
                        return 0;
                }
        }
}
