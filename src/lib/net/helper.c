/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private networks through pasta or slirp4netns, port publishing, and the
 * small watcher that ends the helper with the container. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "net.h"

#define PASTA_DNS "169.254.1.1"
#define SLIRP_DNS "10.0.2.3"
#define SLIRP_HOST "10.0.2.2"

static int pidfd_open(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static char *find_program(const char *name)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
                char *p = xasprintf("%s/%s", dir, name);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

static bool have(const char *name)
{
        _cleanup_free_ char *p = find_program(name);
        return p != NULL;
}

const char *net_mode_name(enum net_mode m)
{
        static const char *const names[] = { "none", "host", "pasta", "slirp4netns" };
        return names[m];
}

bool net_mode_private(enum net_mode m)
{
        return m == NET_PASTA || m == NET_SLIRP;
}

void net_conf_free(struct net_conf *c)
{
        free(c->ports);
        memset(c, 0, sizeof(*c));
}

int net_port_parse(const char *spec, struct net_port *p, struct err *err)
{
        memset(p, 0, sizeof(*p));
        _cleanup_free_ char *s = xstrdup(spec);
        char *slash = strrchr(s, '/');
        if (slash) {
                if (strcmp(slash + 1, "udp") == 0)
                        p->udp = true;
                else if (strcmp(slash + 1, "tcp") != 0)
                        return err_set(err, -EINVAL, "-p '%s': the protocol is tcp or udp", spec);
                *slash = '\0';
        }
        /* [IP:]HOST:CTR, an IPv6 address in brackets; or CTR alone */
        char *ctr = strrchr(s, ':'), *host = NULL, *ip = NULL;
        if (ctr) {
                *ctr++ = '\0';
                host = s;
                char *c2 = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
                if (c2) {
                        ip = s[0] == '[' ? s + 1 : s;
                        *c2 = '\0';
                        host = c2 + (s[0] == '[' ? 2 : 1);
                }
        } else
                ctr = s;
        char *end;
        long cp = strtol(ctr, &end, 10), hp = host && *host ? strtol(host, &end, 10) : 0;
        if (*ctr == '\0' || cp < 1 || cp > 65535 || (host && *host && (*end || hp < 0 || hp > 65535)))
                return err_set(err, -EINVAL, "-p '%s': expected [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], ports 1-65535", spec);
        strtol(ctr, &end, 10);
        if (*end)
                return err_set(err, -EINVAL, "-p '%s': '%s' is not a port", spec, ctr);
        if (ip && *ip) {
                struct in6_addr a6;
                struct in_addr a4;
                if (inet_pton(AF_INET, ip, &a4) != 1 && inet_pton(AF_INET6, ip, &a6) != 1)
                        return err_set(err, -EINVAL, "-p '%s': '%s' is not an IP address", spec, ip);
                snprintf(p->ip, sizeof(p->ip), "%s", ip);
        }
        p->host = (uint16_t) hp;
        p->ctr = (uint16_t) cp;
        return 0;
}

char *net_port_str(const struct net_port *p)
{
        bool v6 = strchr(p->ip, ':') != NULL;
        return xasprintf("%s%s%s:%u->%u/%s", v6 ? "[" : "", *p->ip ? p->ip : "0.0.0.0", v6 ? "]" : "", p->host, p->ctr,
                         p->udp ? "udp" : "tcp");
}

int net_conf_parse(const char *network, bool allow_host_loopback, char *const *publish, struct net_conf *c,
                   struct err *err)
{
        memset(c, 0, sizeof(*c));
        c->allow_host_loopback = allow_host_loopback;
        bool want_private = publish && publish[0];
        _cleanup_free_ char *mode = xstrdup(network ? network : want_private ? "private" : "none");
        char *opts = strchr(mode, ':');
        if (opts)
                *opts++ = '\0';
        for (char *o = opts ? strtok(opts, ",") : NULL; o; o = strtok(NULL, ",")) {
                if (strcmp(o, "allow_host_loopback=true") == 0)
                        c->allow_host_loopback = true;
                else if (strcmp(o, "allow_host_loopback=false") == 0)
                        c->allow_host_loopback = false;
                else
                        return err_set(err, -EINVAL, "--network '%s': unknown option '%s' (allow_host_loopback=true|false)",
                                       network, o);
        }
        if (strcmp(mode, "none") == 0)
                c->mode = NET_NONE;
        else if (strcmp(mode, "host") == 0)
                c->mode = NET_HOST;
        else if (strcmp(mode, "pasta") == 0) {
                if (!have("pasta"))
                        return err_set(err, -ENOENT, "--network pasta: pasta is not installed (package passt)");
                if (geteuid() == 0)
                        return err_set(err, -EOPNOTSUPP,
                                       "--network pasta: this pasta cannot join a root container's namespaces; as root use slirp4netns (or private)");
                c->mode = NET_PASTA;
        } else if (strcmp(mode, "slirp4netns") == 0) {
                if (!have("slirp4netns"))
                        return err_set(err, -ENOENT, "--network slirp4netns: slirp4netns is not installed (package slirp4netns)");
                c->mode = NET_SLIRP;
        } else if (strcmp(mode, "private") == 0 || strcmp(mode, "bridge") == 0) {
                if (geteuid() != 0 && have("pasta"))
                        c->mode = NET_PASTA;
                else if (have("slirp4netns"))
                        c->mode = NET_SLIRP;
                else
                        return err_set(err, -ENOENT, "--network private: neither pasta (package passt) nor slirp4netns is installed%s",
                                       want_private && !network ? " (-p asks for a private network)" : "");
        } else
                return err_set(err, -EINVAL, "--network '%s': none, host, private, pasta or slirp4netns", network);
        if (c->allow_host_loopback && !net_mode_private(c->mode))
                return err_set(err, -EINVAL, "allow_host_loopback needs a private network (pasta, slirp4netns or private)");
        for (char *const *p = publish; p && *p; p++) {
                if (!net_mode_private(c->mode)) {
                        /* the mode named before net_conf_free() clears it */
                        int r = err_set(err, -EINVAL, "-p %s: publishing needs a private network, not --network %s", *p,
                                    net_mode_name(c->mode));
                        net_conf_free(c);
                        return r;
                }
                c->ports = xrealloc(c->ports, (c->n_ports + 1) * sizeof(*c->ports));
                if (net_port_parse(*p, &c->ports[c->n_ports], err) < 0) {
                        net_conf_free(c);
                        return err->code;
                }
                c->n_ports++;
        }
        return 0;
}

static int unprivileged_port_start(void)
{
        _cleanup_free_ char *txt = NULL;
        if (fs_read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", 64, &txt, NULL) < 0)
                return 1024;
        return atoi(txt);
}

/* bind the port as the helper will: in use, forbidden, or free (a port 0 gets one); keep: return the socket */
static int bind_port(struct net_port *p, bool keep, struct err *err)
{
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        socklen_t len;
        bool v6 = strchr(p->ip, ':') != NULL;
        if (v6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(p->host);
                inet_pton(AF_INET6, p->ip, &a->sin6_addr);
                len = sizeof(*a);
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *) &ss;
                a->sin_family = AF_INET;
                a->sin_port = htons(p->host);
                if (*p->ip)
                        inet_pton(AF_INET, p->ip, &a->sin_addr);
                len = sizeof(*a);
        }
        _cleanup_close_ int s = socket(v6 ? AF_INET6 : AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        int one = 1;
        if (s < 0)
                return err_sys(err, -errno, "socket");
        if (!p->udp)
                setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        _cleanup_free_ char *what = net_port_str(p);
        if (bind(s, (struct sockaddr *) &ss, len) < 0) {
                if (errno == EADDRINUSE)
                        return err_set(err, -EADDRINUSE, "-p %s: %s:%u/%s is in use", what, *p->ip ? p->ip : "0.0.0.0",
                                       p->host, p->udp ? "udp" : "tcp");
                if (errno == EACCES)
                        return err_set(err, -EACCES, "-p %s: ports below %d need root here (net.ipv4.ip_unprivileged_port_start)",
                                       what, unprivileged_port_start());
                if (errno == EADDRNOTAVAIL)
                        return err_set(err, -EADDRNOTAVAIL, "-p %s: %s is not an address of this host", what, p->ip);
                return err_sys(err, -errno, "-p %s", what);
        }
        if (p->host == 0) {
                getsockname(s, (struct sockaddr *) &ss, &len);
                p->host = ntohs(v6 ? ((struct sockaddr_in6 *) &ss)->sin6_port : ((struct sockaddr_in *) &ss)->sin_port);
        }
        return keep ? TAKE_FD(s) : 0;
}

static int udp_socket(const struct net_port *p, struct err *err)
{
        struct net_port copy = *p;
        return bind_port(&copy, true, err);
}

int net_ports_check(struct net_conf *c, struct err *err)
{
        int limit = unprivileged_port_start();
        for (size_t i = 0; i < c->n_ports; i++) {
                struct net_port *p = &c->ports[i];
                if (geteuid() != 0 && p->host && p->host < limit) {
                        _cleanup_free_ char *what = net_port_str(p);
                        return err_set(err, -EACCES, "-p %s: host ports below %d need root (net.ipv4.ip_unprivileged_port_start is %d)",
                                       what, limit, limit);
                }
                for (size_t k = 0; k < i; k++)
                        if (c->ports[k].host == p->host && c->ports[k].udp == p->udp && p->host &&
                            strcmp(c->ports[k].ip, p->ip) == 0)
                                return err_set(err, -EINVAL, "-p: host port %u/%s is given twice", p->host, p->udp ? "udp" : "tcp");
                int r = bind_port(p, false, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* the host's resolv.conf with its loopback name servers (a local resolver the
 * container cannot reach) replaced by fallback */
static char *resolv_from_host(const char *fallback)
{
        _cleanup_free_ char *host = NULL;
        if (fs_read_file("/etc/resolv.conf", 1 << 16, &host, NULL) < 0)
                host = xstrdup("");
        char *out = xstrdup("");
        bool any = false;
        for (char *line = strtok(host, "\n"); line; line = strtok(NULL, "\n")) {
                char ns[128];
                if (sscanf(line, " nameserver %127s", ns) == 1 &&
                    (strncmp(ns, "127.", 4) == 0 || strcmp(ns, "::1") == 0))
                        continue;
                any = any || sscanf(line, " nameserver %127s", ns) == 1;
                char *old = out;
                out = xasprintf("%s%s\n", old, line);
                free(old);
        }
        if (!any && fallback) {
                char *old = out;
                out = xasprintf("nameserver %s\n%s", fallback, old);
                free(old);
        }
        return out;
}

static bool host_dns_is_local(void)
{
        _cleanup_free_ char *r = resolv_from_host(NULL);
        return strstr(r, "nameserver") == NULL;
}

char *net_resolv_conf(const struct net_conf *c)
{
        switch (c->mode) {
        case NET_NONE:
                return xstrdup("# no network: --network none\n");
        case NET_HOST: {
                char *t = NULL;
                return fs_read_file("/etc/resolv.conf", 1 << 16, &t, NULL) < 0 ? xstrdup("") : t;
        }
        case NET_PASTA:
                return resolv_from_host(PASTA_DNS);
        case NET_SLIRP:
        default:
                return xstrdup("nameserver " SLIRP_DNS "\n");
        }
}

const char *net_host_address(const struct net_conf *c, char buf[64])
{
        if (!c->allow_host_loopback)
                return NULL;
        if (c->mode == NET_SLIRP)
                return SLIRP_HOST;
        /* pasta: the host's default gateway, which pasta maps to the host */
        FILE *f = fopen("/proc/net/route", "re");
        char line[256];
        unsigned dest, gw, flags;
        char ifname[32];
        const char *res = NULL;
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "%31s %x %x %x", ifname, &dest, &gw, &flags) == 4 && dest == 0 && gw) {
                        struct in_addr a = { .s_addr = gw };
                        inet_ntop(AF_INET, &a, buf, 64);
                        res = buf;
                        break;
                }
        if (f)
                fclose(f);
        return res;
}

/* ---- starting a helper ---- */

static char *last_lines(int dfd, const char *name)
{
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *txt = NULL;
        size_t len = 0;
        if (fd < 0 || fs_read_fd(fd, 1 << 16, &txt, &len) < 0 || len == 0)
                return xstrdup("no message");
        /* drop syslog noise, keep what is left, on one line */
        char *out = xstrdup("");
        for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
                if (strstr(line, "syslog") || !*line)
                        continue;
                char *old = out;
                out = xasprintf("%s%s%s", old, *old ? "; " : "", line);
                free(old);
        }
        return out;
}

static int wait_pidfd(int pidfd, int timeout_ms)
{
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        return poll(&p, 1, timeout_ms);
}

/* the helper's fds: 3 its ready pipe (or /dev/null), 4 the network namespace, 5 the user namespace */
struct ns_fds {
        int net, user; /* user: -1 without a user namespace of the container's own */
};

static pid_t spawn(char **argv, int dfd, int logfd, int ready_fd, const struct ns_fds *ns)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        /* its own session: a ^C at den's terminal is for the container, not for its network */
        setsid();
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        int keep[3] = { ready_fd >= 0 ? ready_fd : nul, ns->net, ns->user >= 0 ? ns->user : nul };
        /* up out of the way first, then down to 3, 4, 5 */
        for (int i = 0; i < 3; i++)
                if ((keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 10)) < 0)
                        _exit(127);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || fchdir(dfd) < 0)
                _exit(127);
        for (int i = 0; i < 3; i++)
                if (dup2(keep[i], 3 + i) < 0)
                        _exit(127);
        syscall(SYS_close_range, 6, ~0u, 0);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
}

static int tun_usable(const char *helper, struct err *err)
{
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                return 0;
        }
        if (errno == ENOENT)
                return err_set(err, -ENOENT, "%s needs /dev/net/tun, which this host does not have (modprobe tun)", helper);
        return err_sys(err, -errno,
                       "%s needs /dev/net/tun, which you cannot open (ask root for `chmod 0666 /dev/net/tun`, or use --network none|host)",
                       helper);
}

/* pasta's -t list: the TCP ports (UDP goes through the watcher) */
static char *tcp_ports_spec(const struct net_conf *c)
{
        char *s = xstrdup("");
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct net_port *p = &c->ports[i];
                if (p->udp)
                        continue;
                char *old = s;
                s = xasprintf("%s%s%s%s%u:%u", old, *old ? "," : "", p->ip, *p->ip ? "/" : "", p->host, p->ctr);
                free(old);
        }
        if (!*s) {
                free(s);
                s = xstrdup("none");
        }
        return s;
}

static int start_pasta(const struct ns_fds *ns, const struct net_conf *c, int dfd, int logfd, pid_t *ret,
                       struct err *err)
{
        _cleanup_free_ char *prog = find_program("pasta"), *t = tcp_ports_spec(c);
        char *argv[24];
        int n = 0;
        argv[n++] = prog;
        argv[n++] = "--config-net";
        argv[n++] = "--quiet";
        argv[n++] = "--pid";
        argv[n++] = "pasta.pid";
        argv[n++] = "-t";
        argv[n++] = t;
        argv[n++] = "-u";
        argv[n++] = "none"; /* UDP goes through the watcher (pasta 2023-03 loses replies of translated ports) */
        argv[n++] = "-T";
        argv[n++] = "none";
        argv[n++] = "-U";
        argv[n++] = "none";
        if (!c->allow_host_loopback)
                argv[n++] = "--no-map-gw";
        if (host_dns_is_local()) {
                argv[n++] = "--dns-forward";
                argv[n++] = PASTA_DNS;
        }
        /* the namespaces as den opened them (the keeper may not be open to us once it runs) */
        argv[n++] = "--netns";
        argv[n++] = "/proc/self/fd/4";
        if (ns->user >= 0) {
                argv[n++] = "--userns";
                argv[n++] = "/proc/self/fd/5";
        }
        argv[n++] = "--no-netns-quit"; /* the watcher ends it */
        argv[n] = NULL;
        /* pasta configures the namespace, then goes to the background: its first process ending says done */
        pid_t p = spawn(argv, dfd, logfd, -1, ns);
        if (p < 0)
                return err_sys(err, -errno, "fork");
        int st;
        _cleanup_close_ int pfd = pidfd_open(p);
        if (pfd >= 0 && wait_pidfd(pfd, 10000) <= 0) {
                kill(p, SIGKILL);
                waitpid(p, NULL, 0);
                return err_set(err, -ETIMEDOUT, "pasta did not set up the network within 10 s");
        }
        if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                _cleanup_free_ char *msg = last_lines(dfd, "net.log");
                return err_set(err, -EIO, "pasta failed: %s", msg);
        }
        _cleanup_free_ char *txt = NULL;
        _cleanup_close_ int fd = openat(dfd, "pasta.pid", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fs_read_fd(fd, 64, &txt, NULL) < 0 || atoi(txt) <= 0)
                return err_set(err, -EIO, "pasta left no pid file");
        *ret = atoi(txt);
        return 0;
}

static int slirp_api(int dfd, const char *req, struct err *err)
{
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        /* the socket is in the run directory, whose path may be long: reach it through our fd */
        snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/slirp.sock", dfd);
        if (s < 0 || connect(s, (struct sockaddr *) &a, sizeof(a)) < 0)
                return err_sys(err, -errno, "cannot reach slirp4netns's API socket");
        if (fs_write_all(s, req, strlen(req)) < 0)
                return err_sys(err, -errno, "slirp4netns API");
        shutdown(s, SHUT_WR);
        char buf[1024];
        ssize_t n = fs_read_all(s, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        if (n <= 0 || strstr(buf, "\"error\"")) {
                char *d = strstr(buf, "\"desc\"");
                return err_set(err, -EIO, "slirp4netns: %s", d ? d + 7 : n <= 0 ? "no answer" : buf);
        }
        return 0;
}

static int start_slirp(const struct ns_fds *ns, const struct net_conf *c, int dfd, int logfd, pid_t *ret,
                       struct err *err)
{
        _cleanup_free_ char *prog = find_program("slirp4netns");
        char *argv[16];
        int n = 0, pp[2];
        argv[n++] = prog;
        argv[n++] = "--configure";
        argv[n++] = "--mtu=65520";
        argv[n++] = "--ready-fd=3";
        argv[n++] = "--api-socket=slirp.sock";
        argv[n++] = "--enable-seccomp";
        if (!c->allow_host_loopback)
                argv[n++] = "--disable-host-loopback";
        argv[n++] = "--netns-type=path";
        if (ns->user >= 0)
                argv[n++] = "--userns-path=/proc/self/fd/5";
        argv[n++] = "/proc/self/fd/4";
        argv[n++] = "tap0";
        argv[n] = NULL;
        if (pipe2(pp, O_CLOEXEC) < 0)
                return err_sys(err, -errno, "pipe");
        pid_t p = spawn(argv, dfd, logfd, pp[1], ns);
        close(pp[1]);
        if (p < 0) {
                close(pp[0]);
                return err_sys(err, -errno, "fork");
        }
        struct pollfd pf = { .fd = pp[0], .events = POLLIN };
        char b = 0;
        int ok = poll(&pf, 1, 10000) == 1 && read(pp[0], &b, 1) == 1 && b == '1';
        close(pp[0]);
        if (!ok) {
                kill(p, SIGKILL);
                waitpid(p, NULL, 0);
                _cleanup_free_ char *msg = last_lines(dfd, "net.log");
                return err_set(err, -EIO, "slirp4netns failed: %s", msg);
        }
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct net_port *pt = &c->ports[i];
                if (pt->udp)
                        continue; /* through the watcher: slirp4netns drops UDP replies without host loopback */
                _cleanup_free_ char *req = xasprintf("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\",\"host_addr\":\"%s\","
                                                     "\"host_port\":%u,\"guest_port\":%u}}",
                                                     pt->udp ? "udp" : "tcp", *pt->ip ? pt->ip : "0.0.0.0", pt->host, pt->ctr);
                if (slirp_api(dfd, req, err) < 0) {
                        _cleanup_free_ char *what = net_port_str(pt);
                        kill(p, SIGKILL);
                        waitpid(p, NULL, 0);
                        return err_wrap(err, "-p %s", what);
                }
        }
        *ret = p;
        return 0;
}

int net_attach(pid_t target, int userns_fd, int netns_fd, const struct net_conf *c, const char *rundir, int keeper_exe,
               struct err *err)
{
        const struct ns_fds ns = { .net = netns_fd, .user = userns_fd };
        if (!net_mode_private(c->mode))
                return 0;
        const char *helper = net_mode_name(c->mode);
        int r = tun_usable(helper, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = open(rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int logfd = dfd < 0 ? -1 : openat(dfd, "net.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (logfd < 0)
                return err_sys(err, -errno, "cannot write %s/net.log", rundir);
        /* the keeper's pidfd before anything: it is our child, its pid cannot be reused yet */
        _cleanup_close_ int kfd = pidfd_open(target);
        if (kfd < 0)
                return err_sys(err, -errno, "pidfd_open");
        pid_t hp = -1;
        r = c->mode == NET_PASTA ? start_pasta(&ns, c, dfd, logfd, &hp, err) : start_slirp(&ns, c, dfd, logfd, &hp, err);
        if (r < 0)
                return r;
        _cleanup_close_ int hfd = pidfd_open(hp);
        if (hfd < 0) {
                kill(hp, SIGKILL);
                return err_sys(err, -errno, "%s ended at once: %s", helper, last_lines(dfd, "net.log"));
        }
        /* published UDP ports: bound here, carried by the watcher from inside the namespace */
        int udp[16], n_udp = 0, ufd = -1, nfd = -1;
        uint16_t uport[16];
        for (size_t i = 0; i < c->n_ports && n_udp < 16; i++)
                if (c->ports[i].udp) {
                        if ((udp[n_udp] = udp_socket(&c->ports[i], err)) < 0) {
                                r = udp[n_udp];
                                goto fail;
                        }
                        uport[n_udp++] = c->ports[i].ctr;
                }
        if (n_udp && ((nfd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 3)) < 0 ||
                      (userns_fd >= 0 && (ufd = fcntl(userns_fd, F_DUPFD_CLOEXEC, 3)) < 0))) {
                r = err_sys(err, -errno, "dup");
                goto fail;
        }
        /* the watcher: small (den-keeper when there is one), in its own session, holding its pidfds and sockets */
        pid_t w = fork();
        if (w < 0) {
                r = err_sys(err, -errno, "fork");
                goto fail;
        }
        if (w == 0) {
                setsid();
                int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
                /* first above every one of them (a long-lived den serve holds high fds: from a fixed
                 * base, a copy could land on a source not yet copied), then down to 3.. */
                int base = 20, fds[4 + 16 + 1];
                size_t nf = 0;
                fds[nf++] = kfd;
                fds[nf++] = hfd;
                fds[nf++] = ufd >= 0 ? ufd : nul;
                fds[nf++] = nfd >= 0 ? nfd : nul;
                for (int i = 0; i < n_udp; i++)
                        fds[nf++] = udp[i];
                fds[nf++] = keeper_exe >= 0 ? keeper_exe : nul;
                for (size_t i = 0; i < nf; i++)
                        if (fds[i] >= base)
                                base = fds[i] + 1;
                for (size_t i = 0; i < nf; i++)
                        if (fds[i] < 0 || dup3(fds[i], base + (int) i, 0) < 0)
                                _exit(1);
                for (size_t i = 0; i < nf; i++)
                        if (dup3(base + (int) i, 3 + (int) i, i == nf - 1 ? O_CLOEXEC : 0) < 0)
                                _exit(1);
                if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
                        _exit(1);
                syscall(SYS_close_range, 3 + nf, ~0u, 0);
                int exe = 3 + (int) nf - 1;
                char a[16][24];
                char *argv[6 + 16 + 1] = { "den-keeper", "--netwatch", "3", "4", ufd >= 0 ? "5" : "-1", nfd >= 0 ? "6" : "-1" };
                int fdv[16];
                for (int i = 0; i < n_udp; i++) {
                        fdv[i] = 7 + i;
                        snprintf(a[i], sizeof(a[i]), "%d:%u", 7 + i, uport[i]);
                        argv[6 + i] = a[i];
                }
                argv[6 + n_udp] = NULL;
                if (keeper_exe >= 0)
                        syscall(SYS_execveat, exe, "", argv, (char *[]){ NULL }, AT_EMPTY_PATH);
                close(exe);
                net_watch_main(3, 4, ufd >= 0 ? 5 : -1, nfd >= 0 ? 6 : -1, (size_t) n_udp, fdv, uport);
        }
        for (int i = 0; i < n_udp; i++)
                close(udp[i]);
        if (ufd >= 0)
                close(ufd);
        if (nfd >= 0)
                close(nfd);
        char wtxt[32];
        snprintf(wtxt, sizeof(wtxt), "%d\n", w);
        fs_write_replace(dfd, "net.pid", wtxt, strlen(wtxt), 0600);
        return 0;
fail:
        for (int i = 0; i < n_udp; i++)
                close(udp[i]);
        if (ufd >= 0)
                close(ufd);
        if (nfd >= 0)
                close(nfd);
        syscall(SYS_pidfd_send_signal, hfd, SIGKILL, NULL, 0);
        return r;
}

void net_detach_wait(const char *rundir, int timeout_ms)
{
        _cleanup_free_ char *p = xasprintf("%s/net.pid", rundir), *txt = NULL;
        if (fs_read_file(p, 64, &txt, NULL) < 0 || atoi(txt) <= 0)
                return;
        _cleanup_close_ int fd = pidfd_open(atoi(txt));
        if (fd >= 0)
                wait_pidfd(fd, timeout_ms);
}
