/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/base/sock.h"
#include "console.h"

int console_open(int m, int *ret_slave, struct err *err)
{
        int unlock = 0;
        if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
                return err_sys(err, -errno, "cannot unlock the pty");
        int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (s < 0)
                return err_sys(err, -errno, "cannot open the pty peer");
        *ret_slave = s;
        return 0;
}

int console_resize(int fd, unsigned rows, unsigned cols)
{
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
        return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int console_send(const char *socket_path, int master, struct err *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "--console-socket '%s': path too long", socket_path);
        strcpy(sa.sun_path, socket_path);
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return err_sys(err, -errno, "--console-socket '%s'", socket_path);
        /* runc sends the pty's name as the payload, the master as the fd */
        int r = sock_send_fds(s, "/dev/ptmx", 9, &master, 1);
        if (r < 0)
                return err_sys(err, r, "cannot send the console to '%s'", socket_path);
        return 0;
}

int console_set_stdio(int slave, struct err *err)
{
        if (setsid() < 0 && errno != EPERM)
                return err_sys(err, -errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return err_sys(err, -errno, "cannot make the pty the controlling terminal");
        for (int i = 0; i < 3; i++)
                if (dup3(slave, i, 0) < 0)
                        return err_sys(err, -errno, "dup3");
        return 0;
}
