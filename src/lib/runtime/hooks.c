/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/fs.h"
#include "lib/base/log.h"
#include "lib/base/macro.h"
#include "hooks.h"

static int run_one(const struct spec_hook *h, const char *kind, size_t idx, const char *state, struct err *err)
{
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return err_sys(err, -errno, "hooks.%s[%zu]: pipe", kind, idx);
        pid_t pid = fork();
        if (pid < 0)
                return err_sys(err, -errno, "hooks.%s[%zu]: fork", kind, idx);
        if (pid == 0) {
                /* its own process group, so a timeout kills what it started too */
                setpgid(0, 0);
                dup2(in[0], 0);
                /* a hook's stdout goes where our stderr goes: callers read our stdout */
                dup2(2, 1);
                syscall(SYS_close_range, 3, ~0u, 0);
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                char *const def[] = { h->path, NULL };
                char *const noenv[] = { NULL };
                execve(h->path, h->args && h->args[0] ? h->args : def, h->env ? h->env : noenv);
                dprintf(2, "hook %s: %s\n", h->path, strerror(errno));
                _exit(127);
        }
        close(in[0]);
        /* the hook may not read its stdin: a full pipe must not block us */
        signal(SIGPIPE, SIG_IGN);
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        if (fs_write_all(in[1], state, strlen(state)) < 0) {
        }
        close(in[1]);

        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        int timeout_ms = h->timeout > 0 ? h->timeout * 1000 : -1;
        if (pfd >= 0) {
                struct pollfd p = { pfd, POLLIN, 0 };
                int n;
                do
                        n = poll(&p, 1, timeout_ms);
                while (n < 0 && errno == EINTR);
                close(pfd);
                if (n == 0) {
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return err_set(err, -ETIMEDOUT, "hooks.%s[%zu] '%s': timed out after %d s", kind, idx,
                                       h->path, h->timeout);
                }
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return err_sys(err, -errno, "hooks.%s[%zu]: waitpid", kind, idx);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
        if (WIFSIGNALED(st))
                return err_set(err, -EIO, "hooks.%s[%zu] '%s': killed by signal %d", kind, idx, h->path, WTERMSIG(st));
        return err_set(err, -EIO, "hooks.%s[%zu] '%s': exited with status %d", kind, idx, h->path, WEXITSTATUS(st));
}

int hooks_run(const struct spec_hook *hooks, size_t n, const char *kind, const char *state_json, struct err *err)
{
        for (size_t i = 0; i < n; i++) {
                int r = run_one(&hooks[i], kind, i, state_json, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

void hooks_run_warn(const struct spec_hook *hooks, size_t n, const char *kind, const char *state_json)
{
        for (size_t i = 0; i < n; i++) {
                struct err e = { 0 };
                if (run_one(&hooks[i], kind, i, state_json, &e) < 0)
                        log_warn("%s", e.msg);
        }
}
