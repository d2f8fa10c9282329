/* SPDX-License-Identifier: GPL-2.0-or-later */
/* denprobe: a small static program for test root filesystems.  It prints what
 * it sees from inside a container, one "key=value" per line, so integration
 * tests stay short and exact (the idea of crun's tests/init). */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static void status_field(const char *key)
{
        char line[512];
        FILE *f = fopen("/proc/self/status", "r");
        size_t l = strlen(key);
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, l) == 0 && line[l] == ':') {
                        char *v = line + l + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        printf("%s=%s", key, v);
                }
        if (f)
                fclose(f);
}

static void cat(const char *path)
{
        char buf[4096];
        int fd = open(path, O_RDONLY);
        ssize_t n;
        if (fd < 0) {
                printf("error=%s: %s\n", path, strerror(errno));
                exit(1);
        }
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t) n, stdout);
        close(fd);
}

/* an IPv4 address, or a name from /etc/hosts (a static program has no NSS) */
static int addr_of(const char *name, struct in_addr *a)
{
        if (inet_pton(AF_INET, name, a) == 1)
                return 0;
        char line[512], ip[64];
        FILE *f = fopen("/etc/hosts", "r");
        while (f && fgets(line, sizeof(line), f)) {
                char *tok = strtok(line, " \t\n");
                if (!tok || tok[0] == '#')
                        continue;
                snprintf(ip, sizeof(ip), "%s", tok);
                while ((tok = strtok(NULL, " \t\n")))
                        if (strcmp(tok, name) == 0 && inet_pton(AF_INET, ip, a) == 1) {
                                fclose(f);
                                return 0;
                        }
        }
        if (f)
                fclose(f);
        return -1;
}

/* servers and a client for network tests */
static int net_cmd(const char *cmd, int argc, char **argv)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        if (strcmp(cmd, "tcp-serve") == 0 || strcmp(cmd, "udp-echo") == 0) {
                bool udp = cmd[0] == 'u';
                int s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;
                setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                sa.sin_port = htons((uint16_t) atoi(argv[2]));
                if (bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 || (!udp && listen(s, 16) < 0)) {
                        printf("error=bind: %s\n", strerror(errno));
                        return 1;
                }
                printf("listening\n");
                fflush(stdout);
                for (;;) {
                        char buf[2048];
                        if (udp) {
                                struct sockaddr_storage from;
                                socklen_t fl = sizeof(from);
                                ssize_t n = recvfrom(s, buf + 5, sizeof(buf) - 5, 0, (struct sockaddr *) &from, &fl);
                                memcpy(buf, "echo:", 5);
                                if (n >= 0 && sendto(s, buf, (size_t) n + 5, 0, (struct sockaddr *) &from, fl) < 0)
                                        printf("error=sendto: %s\n", strerror(errno));
                                printf("udp=%zd\n", n);
                                fflush(stdout);
                                continue;
                        }
                        int c = accept(s, NULL, NULL);
                        if (c < 0)
                                continue;
                        const char *text = argc > 3 ? argv[3] : "hello";
                        if (write(c, text, strlen(text)) < 0) {
                        }
                        close(c);
                }
        }
        /* connect HOST PORT: print what the server sends */
        if (addr_of(argv[2], &sa.sin_addr) < 0) {
                printf("error=cannot resolve %s\n", argv[2]);
                return 1;
        }
        sa.sin_port = htons((uint16_t) atoi(argv[3]));
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct timeval tv = { .tv_sec = 3 };
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                printf("error=connect: %s\n", strerror(errno));
                return 1;
        }
        char buf[2048];
        ssize_t n = read(s, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        printf("got=%s\n", buf);
        return 0;
}

static void on_term(int sig)
{
        printf("signal=%d\n", sig);
        fflush(stdout);
        _exit(42);
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : "ids";
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (strcmp(cmd, "ids") == 0) {
                gid_t g[64];
                int n = getgroups(64, g);
                printf("uid=%u\ngid=%u\neuid=%u\negid=%u\ngroups=", getuid(), getgid(), geteuid(), getegid());
                for (int i = 0; i < n; i++)
                        printf("%s%u", i ? "," : "", g[i]);
                printf("\npid=%d\nppid=%d\n", getpid(), getppid());
        } else if (strcmp(cmd, "caps") == 0) {
                status_field("CapInh");
                status_field("CapPrm");
                status_field("CapEff");
                status_field("CapBnd");
                status_field("CapAmb");
                status_field("NoNewPrivs");
                status_field("Seccomp");
        } else if (strcmp(cmd, "cwd") == 0) {
                char b[4096];
                printf("cwd=%s\n", getcwd(b, sizeof(b)) ? b : strerror(errno));
        } else if (strcmp(cmd, "hostname") == 0) {
                struct utsname u;
                uname(&u);
                printf("hostname=%s\ndomainname=%s\n", u.nodename, u.domainname);
        } else if (strcmp(cmd, "rlimits") == 0) {
                static const struct { const char *n; int r; } rl[] = {
                        { "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC }, { "CORE", RLIMIT_CORE },
                        { "STACK", RLIMIT_STACK }, { "AS", RLIMIT_AS }, { "MEMLOCK", RLIMIT_MEMLOCK } };
                for (size_t i = 0; i < sizeof(rl) / sizeof(rl[0]); i++) {
                        struct rlimit l;
                        getrlimit(rl[i].r, &l);
                        printf("%s=%lld:%lld\n", rl[i].n, (long long) (l.rlim_cur == RLIM_INFINITY ? -1 : (long long) l.rlim_cur),
                               (long long) (l.rlim_max == RLIM_INFINITY ? -1 : (long long) l.rlim_max));
                }
        } else if (strcmp(cmd, "fds") == 0) {
                DIR *d = opendir("/proc/self/fd");
                struct dirent *de;
                int self = d ? dirfd(d) : -1;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.' || atoi(de->d_name) == self)
                                continue;
                        char p[300], l[4096];
                        snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
                        ssize_t n = readlink(p, l, sizeof(l) - 1);
                        l[n > 0 ? n : 0] = '\0';
                        printf("fd%s=%s\n", de->d_name, l);
                }
        } else if (strcmp(cmd, "ns") == 0) {
                static const char *ns[] = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup" };
                for (size_t i = 0; i < 7; i++) {
                        char p[64], l[128];
                        snprintf(p, sizeof(p), "/proc/self/ns/%s", ns[i]);
                        ssize_t n = readlink(p, l, sizeof(l) - 1);
                        l[n > 0 ? n : 0] = '\0';
                        printf("%s=%s\n", ns[i], l);
                }
        } else if (strcmp(cmd, "mounts") == 0) {
                cat("/proc/self/mountinfo");
        } else if (strcmp(cmd, "env") == 0) {
                for (char **e = environ; *e; e++)
                        printf("%s\n", *e);
        } else if (strcmp(cmd, "cat") == 0 && argc > 2) {
                cat(argv[2]);
        } else if (strcmp(cmd, "write") == 0 && argc > 3) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd < 0 || write(fd, argv[3], strlen(argv[3])) < 0) {
                        printf("error=%s\n", strerror(errno));
                        return 1;
                }
                printf("written=%s\n", argv[2]);
        } else if (strcmp(cmd, "ls") == 0 && argc > 2) {
                DIR *d = opendir(argv[2]);
                struct dirent *de;
                if (!d) {
                        printf("error=%s\n", strerror(errno));
                        return 1;
                }
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                printf("%s\n", de->d_name);
        } else if (strcmp(cmd, "stat") == 0 && argc > 2) {
                struct stat st;
                if (lstat(argv[2], &st) < 0) {
                        printf("error=%s\n", strerror(errno));
                        return 1;
                }
                printf("mode=%o\nuid=%u\ngid=%u\nrdev=%u:%u\n", st.st_mode, st.st_uid, st.st_gid,
                       major(st.st_rdev), minor(st.st_rdev));
        } else if (strcmp(cmd, "exit") == 0 && argc > 2) {
                return atoi(argv[2]);
        } else if (strcmp(cmd, "sleep") == 0 && argc > 2) {
                signal(SIGTERM, on_term);
                sleep((unsigned) atoi(argv[2]));
        } else if (strcmp(cmd, "umask") == 0) {
                mode_t m = umask(0);
                printf("umask=%04o\n", m);
        } else if (strcmp(cmd, "oom") == 0) {
                cat("/proc/self/oom_score_adj");
        } else if (strcmp(cmd, "alloc") == 0 && argc > 2) {
                /* touch MB megabytes, one at a time (a memory limit's OOM kill) */
                long mb = atol(argv[2]);
                for (long i = 0; i < mb; i++) {
                        char *m = malloc(1 << 20);
                        if (!m)
                                return printf("alloc=failed at %ld\n", i), 1;
                        memset(m, 1, 1 << 20);
                }
                printf("alloc=%ld\n", mb);
        } else if (strcmp(cmd, "fork") == 0 && argc > 2) {
                /* fork N children that wait; report how many the pids limit let through */
                int n = atoi(argv[2]), ok = 0, e = 0;
                for (int i = 0; i < n; i++) {
                        pid_t c = fork();
                        if (c == 0) {
                                pause();
                                _exit(0);
                        }
                        if (c < 0) {
                                e = errno;
                                break;
                        }
                        ok++;
                }
                printf("forked=%d\nerrno=%d\n", ok, e);
                fflush(stdout);
                kill(0, SIGKILL);
        } else if (strcmp(cmd, "personality") == 0) {
                printf("personality=%d\n", personality(0xffffffff));
        } else if (strcmp(cmd, "mempolicy") == 0) {
                /* get_mempolicy(2): the mode comes back with its MPOL_F_* flags */
                int mode = -1;
                unsigned long nodes[1024 / (8 * sizeof(long))] = { 0 };
                if (syscall(SYS_get_mempolicy, &mode, nodes, 1024 + 1, NULL, 0UL) < 0)
                        printf("errno=%d\n", errno);
                printf("mode=%d\nflags=0x%x\nnodes=0x%lx\n", mode & 0xff, mode & ~0xff, nodes[0]);
        } else if (strcmp(cmd, "sched") == 0) {
                printf("policy=%d\n", sched_getscheduler(0));
                printf("ioprio=%ld\n", syscall(SYS_ioprio_get, 1, 0));
        } else if (strcmp(cmd, "tty") == 0) {
                printf("isatty=%d\n", isatty(0));
                char *n = ttyname(0);
                printf("ttyname=%s\n", n ? n : "");
        } else if (strcmp(cmd, "try") == 0 && argc > 2) {
                /* a syscall a policy may refuse: prints its errno */
                long r = -1;
                if (strcmp(argv[2], "mkdir") == 0)
                        r = mkdir(argc > 3 ? argv[3] : "/tmp/x", 0755);
                else if (strcmp(argv[2], "getcwd") == 0) {
                        char b[256];
                        r = getcwd(b, sizeof(b)) ? 0 : -1;
                } else if (strcmp(argv[2], "mount") == 0)
                        r = mount("none", "/mnt", "tmpfs", 0, NULL);
                else if (strcmp(argv[2], "chown") == 0)
                        r = chown(argc > 3 ? argv[3] : "/", 1, 1);
                printf("result=%ld\nerrno=%d\n", r, r < 0 ? errno : 0);
        } else if (strcmp(cmd, "syscall") == 0 && argc > 2) {
                /* a raw syscall by name (a few) or number, arguments as numbers:
                 * what a seccomp filter answers, with no libc wrapper in between */
                static const struct {
                        const char *name;
                        long nr;
                } known[] = { { "unshare", SYS_unshare }, { "clone3", SYS_clone3 }, { "keyctl", SYS_keyctl },
                              { "add_key", SYS_add_key }, { "personality", SYS_personality },
                              { "setns", SYS_setns }, { "getpid", SYS_getpid }, { "socket", SYS_socket } };
                long nr = -1, a[6] = { 0 };
                for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        if (strcmp(argv[2], known[i].name) == 0)
                                nr = known[i].nr;
                if (nr < 0)
                        nr = strtol(argv[2], NULL, 0);
                for (int i = 3; i < argc && i < 9; i++)
                        a[i - 3] = (long) strtoul(argv[i], NULL, 0);
                errno = 0;
                long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
                printf("result=%ld\nerrno=%d\n", r, r < 0 ? errno : 0);
        } else if (strcmp(cmd, "exe") == 0 && argc > 2) {
                /* try to reach another process's binary, as CVE-2019-5736 did */
                char p[64], l[4096];
                snprintf(p, sizeof(p), "/proc/%s/exe", argv[2]);
                ssize_t n = readlink(p, l, sizeof(l) - 1);
                printf("readlink=%s\n", n < 0 ? strerror(errno) : "ok");
                int fd = open(p, O_RDONLY);
                printf("open=%s\n", fd < 0 ? strerror(errno) : "ok");
                fd = open(p, O_WRONLY);
                printf("write=%s\n", fd < 0 ? strerror(errno) : "ok");
        } else if (strcmp(cmd, "true") == 0) {
                return 0;
        } else if ((strcmp(cmd, "tcp-serve") == 0 || strcmp(cmd, "udp-echo") == 0) && argc > 2) {
                return net_cmd(cmd, argc, argv);
        } else if (strcmp(cmd, "connect") == 0 && argc > 3) {
                return net_cmd(cmd, argc, argv);
        } else {
                fprintf(stderr, "denprobe: unknown command '%s'\n", cmd);
                return 2;
        }
        return 0;
}
