/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den-keeper: the keeper as a small static program, so an idle container
 * costs little memory.  den's container setup runs it with execveat() on an
 * fd opened before pivot_root (no path inside the container is involved);
 * its first act is to become non-dumpable again, before any command of the
 * container exists.  Usage (by den only):
 *   den-keeper LISTEN_FD EXIT_FD CAPS_HEX SETGROUPS(0|1) [SECCOMP_FD]
 *     (SECCOMP_FD: the commands' filter, read and closed at once: lib/linux/seccomp_bpf.h)
 *   den-keeper --netwatch KEEPER_PIDFD HELPER_PIDFD USERNS_FD NETNS_FD [UDP_FD:PORT]...
 *     (lib/net: ends a network helper with its container, carries published UDP ports) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/keeper/keeper.h"
#include "lib/linux/seccomp_bpf.h"
#include "lib/net/net.h"

/* The kernel maps a file's pages around each fault ("fault-around", 64 KiB):
 * a program that touches a little of its code ends up with most of it
 * resident.  When the keeper goes idle it drops the read-only mappings of
 * itself; what the idle loop needs comes back from the page cache. */
static void trim_resident(void)
{
        FILE *f = fopen("/proc/self/maps", "re");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
                unsigned long lo, hi;
                char perms[8];
                if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[1] == 'w' || !strstr(line, "den-keeper"))
                        continue;
                madvise((void *) lo, hi - lo, MADV_DONTNEED);
        }
        if (f)
                fclose(f);
}

int main(int argc, char **argv)
{
        prctl(PR_SET_DUMPABLE, 0);
        if (argc >= 6 && strcmp(argv[1], "--netwatch") == 0) {
                int fds[16];
                uint16_t ports[16];
                size_t n = 0;
                for (int i = 6; i < argc && n < 16; i++, n++) {
                        fds[n] = atoi(argv[i]);
                        ports[n] = (uint16_t) atoi(strchr(argv[i], ':') ? strchr(argv[i], ':') + 1 : "0");
                }
                net_watch_main(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), n, fds, ports);
        }
        if (argc != 5 && argc != 6) {
                fprintf(stderr, "den-keeper: started by den, not by hand\n");
                return 2;
        }
        struct keeper_conf c = {
                .idle = trim_resident,
                .listen_fd = atoi(argv[1]),
                .exit_fd = atoi(argv[2]),
                .default_caps = strtoull(argv[3], NULL, 16),
                .setgroups = strcmp(argv[4], "1") == 0,
        };
        if (argc == 6) {
                char *blob = NULL;
                size_t len = 0;
                int fd = atoi(argv[5]);
                if (fs_read_fd(fd, SECCOMP_BLOB_MAX, &blob, &len) < 0 || seccomp_blob_check(blob, len) < 0) {
                        fprintf(stderr, "den-keeper: no seccomp filter on fd %d\n", fd);
                        return 2;
                }
                close(fd);
                c.seccomp = blob;
                c.seccomp_len = len;
        }
        keeper_main(&c);
}
