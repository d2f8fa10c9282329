/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "lib/base/macro.h"
#include "lib/spec/spec.h"
#include "seccomp_default.h"

/* clone flags that make namespaces: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC |
 * NEWUSER | NEWPID | NEWNET.  Without CAP_SYS_ADMIN, clone must have none. */
#define CLONE_NS_FLAGS 0x7E020000ULL
#define AF_VSOCK_ 40

/* One rule of the default profile.  It applies when the container holds cap
 * (or, with without_cap, does not), on the architectures named (docker's
 * names); then its syscalls are allowed, or fail with errno_ret. */
struct default_rule {
        const char *names;  /* space-separated */
        int errno_ret;      /* 0: allowed */
        int cap;            /* -1: whatever the capabilities */
        bool without_cap;
        const char *arches, *not_arches; /* NULL: any */
        const char *op;     /* a condition on one argument, NULL: none */
        unsigned index;
        uint64_t value;
};

#define ALLOW(n) { .names = (n), .cap = -1 }
#define WITH_CAP(c, n) { .names = (n), .cap = (c) }
#define PERSONALITY(v) { .names = "personality", .cap = -1, .op = "SCMP_CMP_EQ", .index = 0, .value = (v) }

/* the syscalls of docker's default profile (moby profiles/seccomp/default.json,
 * which podman's containers-common follows), grouped as there */
static const struct default_rule default_rules[] = {
        ALLOW("accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
              "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 "
              "clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 "
              "epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old "
              "eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate "
              "fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr "
              "flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate "
              "ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid "
              "getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp "
              "getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit "
              "get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid "
              "getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl "
              "io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit "
              "io_uring_enter io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset "
              "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek "
              "lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir "
              "mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open "
              "mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget "
              "msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open "
              "openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll "
              "ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 "
              "pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg "
              "recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir "
              "rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend "
              "rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr "
              "sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval "
              "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler "
              "sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 "
              "sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 "
              "setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid "
              "setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 "
              "setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn "
              "socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range "
              "syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime "
              "timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 "
              "timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink "
              "unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev"),
        /* ptrace is safe from kernel 4.8 on (seccomp is checked after the tracer's changes) */
        ALLOW("process_vm_readv process_vm_writev ptrace"),
        /* AF_VSOCK reaches the host's hypervisor sockets, outside any network namespace */
        { .names = "socket", .cap = -1, .op = "SCMP_CMP_NE", .index = 0, .value = AF_VSOCK_ },
        /* PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query */
        PERSONALITY(0), PERSONALITY(8), PERSONALITY(0x20000), PERSONALITY(0x20008), PERSONALITY(0xffffffff),
        { .names = "sync_file_range2 swapcontext", .cap = -1, .arches = "ppc64le" },
        { .names = "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls", .cap = -1,
          .arches = "arm arm64" },
        { .names = "arch_prctl", .cap = -1, .arches = "amd64 x32" },
        { .names = "modify_ldt", .cap = -1, .arches = "amd64 x32 x86" },
        { .names = "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", .cap = -1, .arches = "s390 s390x" },
        { .names = "riscv_flush_icache", .cap = -1, .arches = "riscv64" },
        WITH_CAP(2 /* CAP_DAC_READ_SEARCH */, "open_by_handle_at"),
        WITH_CAP(21 /* CAP_SYS_ADMIN */,
                 "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr "
                 "move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog "
                 "umount umount2 unshare"),
        { .names = "clone", .cap = 21, .without_cap = true, .not_arches = "s390 s390x", .op = "SCMP_CMP_MASKED_EQ",
          .index = 0, .value = CLONE_NS_FLAGS },
        /* s390 has flags second */
        { .names = "clone", .cap = 21, .without_cap = true, .arches = "s390 s390x", .op = "SCMP_CMP_MASKED_EQ",
          .index = 1, .value = CLONE_NS_FLAGS },
        /* its flags sit in memory a filter cannot read: ENOSYS makes libcs use clone */
        { .names = "clone3", .errno_ret = ENOSYS, .cap = 21, .without_cap = true },
        WITH_CAP(22 /* CAP_SYS_BOOT */, "reboot"),
        WITH_CAP(18 /* CAP_SYS_CHROOT */, "chroot"),
        WITH_CAP(16 /* CAP_SYS_MODULE */, "delete_module init_module finit_module"),
        WITH_CAP(20 /* CAP_SYS_PACCT */, "acct"),
        WITH_CAP(19 /* CAP_SYS_PTRACE */, "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"),
        WITH_CAP(17 /* CAP_SYS_RAWIO */, "iopl ioperm"),
        WITH_CAP(25 /* CAP_SYS_TIME */, "settimeofday stime clock_settime clock_settime64"),
        WITH_CAP(26 /* CAP_SYS_TTY_CONFIG */, "vhangup"),
        WITH_CAP(23 /* CAP_SYS_NICE */, "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"),
        WITH_CAP(34 /* CAP_SYSLOG */, "syslog"),
        WITH_CAP(39 /* CAP_BPF */, "bpf"),
        WITH_CAP(38 /* CAP_PERFMON */, "perf_event_open"),
};

/* the host's architecture: libseccomp's name, docker's names for it (as in
 * includes.arches), the architectures its processes may also use */
#if defined(__x86_64__) && defined(__ILP32__)
#define NATIVE "SCMP_ARCH_X32", "x32 ", ""
#elif defined(__x86_64__)
#define NATIVE "SCMP_ARCH_X86_64", "amd64 x86_64 ", "SCMP_ARCH_X86 SCMP_ARCH_X32"
#elif defined(__i386__)
#define NATIVE "SCMP_ARCH_X86", "386 x86 ", ""
#elif defined(__aarch64__)
#define NATIVE "SCMP_ARCH_AARCH64", "arm64 aarch64 ", "SCMP_ARCH_ARM"
#elif defined(__arm__)
#define NATIVE "SCMP_ARCH_ARM", "arm ", ""
#elif defined(__s390x__)
#define NATIVE "SCMP_ARCH_S390X", "s390x ", "SCMP_ARCH_S390"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE "SCMP_ARCH_PPC64LE", "ppc64le ", ""
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE "SCMP_ARCH_RISCV64", "riscv64 ", ""
#else
#define NATIVE "", "", ""
#endif

static const struct {
        const char *scmp, *docker, *sub;
} native = { NATIVE };

/* word is one of the space-separated words of list */
static bool in_words(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, ' ');
                size_t l = e ? (size_t) (e - p) : strlen(p);
                if (l == n && strncmp(p, word, n) == 0)
                        return true;
                p = e ? e + 1 : NULL;
        }
        return false;
}

static json_t *words_json(const char *list)
{
        json_t *a = json_array();
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, ' ');
                size_t l = e ? (size_t) (e - p) : strlen(p);
                if (l)
                        json_array_append_new(a, json_stringn(p, l));
                p = e ? e + 1 : NULL;
        }
        return a;
}

json_t *seccomp_default_docker(void)
{
        json_t *rules = json_array();
        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++) {
                const struct default_rule *d = &default_rules[i];
                json_t *r = json_pack("{s:o,s:s}", "names", words_json(d->names), "action",
                                      d->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW");
                json_t *inc = json_object(), *exc = json_object();
                if (d->errno_ret)
                        json_object_set_new(r, "errnoRet", json_integer(d->errno_ret));
                if (d->op)
                        json_object_set_new(r, "args", json_pack("[{s:I,s:I,s:s}]", "index", (json_int_t) d->index,
                                                                 "value", (json_int_t) d->value, "op", d->op));
                if (d->cap >= 0)
                        json_object_set_new(d->without_cap ? exc : inc, "caps",
                                            json_pack("[s]", spec_cap_name(d->cap)));
                if (d->arches)
                        json_object_set_new(inc, "arches", words_json(d->arches));
                if (d->not_arches)
                        json_object_set_new(exc, "arches", words_json(d->not_arches));
                json_object_set_new(r, "includes", inc);
                json_object_set_new(r, "excludes", exc);
                json_array_append_new(rules, r);
        }
        json_t *archmap = json_pack("[{s:s,s:[s,s]},{s:s,s:[s]},{s:s,s:[s]}]", "architecture", "SCMP_ARCH_X86_64",
                                    "subArchitectures", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "architecture",
                                    "SCMP_ARCH_AARCH64", "subArchitectures", "SCMP_ARCH_ARM", "architecture",
                                    "SCMP_ARCH_S390X", "subArchitectures", "SCMP_ARCH_S390");
        return json_pack("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM, "archMap",
                         archmap, "syscalls", rules);
}

json_t *seccomp_default_profile(uint64_t caps)
{
        json_t *d = seccomp_default_docker(), *ret = NULL;
        struct err e = { 0 };
        /* the table is ours: it cannot fail to resolve */
        if (seccomp_profile_resolve(d, caps, "the default seccomp profile", &ret, &e) < 0)
                abort();
        json_decref(d);
        return ret;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
        for (const unsigned char *s = p; n--; s++)
                h = (h ^ *s) * 0x100000001b3ULL;
        return h;
}

uint64_t seccomp_default_digest(void)
{
        static uint64_t d;
        if (d)
                return d;
        uint64_t h = fnv1a(0xcbf29ce484222325ULL, native.scmp, strlen(native.scmp));
        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++) {
                const struct default_rule *r = &default_rules[i];
                const char *strs[] = { r->names, r->arches ? r->arches : "", r->not_arches ? r->not_arches : "",
                                       r->op ? r->op : "" };
                for (size_t k = 0; k < ELEMENTSOF(strs); k++)
                        h = fnv1a(h, strs[k], strlen(strs[k]) + 1);
                int64_t nums[] = { r->errno_ret, r->cap, r->without_cap, r->index, (int64_t) r->value };
                h = fnv1a(h, nums, sizeof(nums));
        }
        return d = h;
}

/* "6.1.0-18-amd64" >= "5.11" */
static bool kernel_at_least(const char *want)
{
        static int major = -1, minor;
        int wmaj = 0, wmin = 0;
        if (major < 0) {
                struct utsname u;
                if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
                        major = minor = 0;
        }
        if (sscanf(want, "%d.%d", &wmaj, &wmin) < 1)
                return false;
        return major > wmaj || (major == wmaj && minor >= wmin);
}

/* every cap named in a (a JSON array of names) is in caps; any: one of them is */
static int caps_held(json_t *a, uint64_t caps, bool any, const char *where, struct err *err)
{
        size_t i;
        json_t *v;
        bool all = true, one = false;
        json_array_foreach(a, i, v)
        {
                int c = json_is_string(v) ? spec_cap_from_name(json_string_value(v)) : -EINVAL;
                if (c < 0)
                        return err_set(err, -EINVAL, "%s.caps[%zu]: unknown capability", where, i);
                bool held = c < 64 && (caps & (UINT64_C(1) << c));
                all &= held;
                one |= held;
        }
        return any ? one : all;
}

static bool native_in(json_t *a)
{
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
                char w[32];
                snprintf(w, sizeof(w), "%s", json_string_value(v) ? json_string_value(v) : "");
                if (*w && in_words(native.docker, w))
                        return true;
        }
        return false;
}

/* whether a docker rule's includes and excludes hold here */
static int rule_applies(json_t *rule, uint64_t caps, const char *where, struct err *err)
{
        json_t *inc = NULL, *exc = NULL;
        const char *min_kernel = NULL;
        char w[256];
        int r;
        if ((r = json_get_obj(rule, where, "includes", &inc, err)) < 0 ||
            (r = json_get_obj(rule, where, "excludes", &exc, err)) < 0)
                return r;
        snprintf(w, sizeof(w), "%s.includes", where);
        if (inc) {
                json_t *a = json_object_get(inc, "arches"), *c = json_object_get(inc, "caps");
                if ((r = json_get_str(inc, w, "minKernel", &min_kernel, err)) < 0)
                        return r;
                if (json_array_size(a) && !native_in(a))
                        return 0;
                if (json_array_size(c) && (r = caps_held(c, caps, false, w, err)) <= 0)
                        return r;
                if (min_kernel && *min_kernel && !kernel_at_least(min_kernel))
                        return 0;
        }
        snprintf(w, sizeof(w), "%s.excludes", where);
        if (exc) {
                json_t *a = json_object_get(exc, "arches"), *c = json_object_get(exc, "caps");
                if (json_array_size(a) && native_in(a))
                        return 0;
                if (json_array_size(c) && (r = caps_held(c, caps, true, w, err)) != 0)
                        return r < 0 ? r : 0;
        }
        return 1;
}

/* architectures: given, else the native one and its companions from archMap */
static json_t *resolve_arches(json_t *profile)
{
        json_t *given = json_object_get(profile, "architectures");
        if (json_array_size(given))
                return json_copy(given);
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(profile, "archMap"), i, m)
        {
                const char *a = json_string_value(json_object_get(m, "architecture"));
                if (!a || strcmp(a, native.scmp) != 0)
                        continue;
                json_array_append_new(out, json_string(a));
                size_t k;
                json_t *s;
                json_array_foreach(json_object_get(m, "subArchitectures"), k, s) json_array_append(out, s);
        }
        return out;
}

int seccomp_profile_resolve(json_t *profile, uint64_t caps, const char *where, json_t **ret, struct err *err)
{
        json_t *syscalls = NULL, *rule;
        size_t i;
        int r;
        if (!json_is_object(profile))
                return err_set(err, -EINVAL, "%s: not a JSON object", where);
        if (json_object_get(profile, "listenerPath"))
                return err_set(err, -EINVAL, "%s.listenerPath: den has no seccomp listener to offer", where);
        if ((r = json_get_arr(profile, where, "syscalls", &syscalls, err)) < 0)
                return r;
        json_t *out = json_object(), *rules = json_array();
        static const char *const copied[] = { "defaultAction", "defaultErrnoRet", "flags" };
        for (size_t k = 0; k < ELEMENTSOF(copied); k++)
                if (json_object_get(profile, copied[k]))
                        json_object_set(out, copied[k], json_object_get(profile, copied[k]));
        json_object_set_new(out, "architectures", resolve_arches(profile));
        json_object_set_new(out, "syscalls", rules);
        json_array_foreach(syscalls, i, rule)
        {
                char w[160];
                snprintf(w, sizeof(w), "%s.syscalls[%zu]", where, i);
                if (!json_is_object(rule)) {
                        r = err_set(err, -EINVAL, "%s: must be an object", w);
                        goto fail;
                }
                if ((r = rule_applies(rule, caps, w, err)) < 0)
                        goto fail;
                if (r == 0)
                        continue;
                json_t *o = json_object();
                const char *keys[] = { "names", "action", "errnoRet", "args" };
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        json_t *v = json_object_get(rule, keys[k]);
                        if (v && !json_is_null(v))
                                json_object_set(o, keys[k], v);
                }
                /* docker's older profiles name one syscall per rule */
                json_t *one = json_object_get(rule, "name");
                if (!json_object_get(o, "names") && json_is_string(one))
                        json_object_set_new(o, "names", json_pack("[O]", one));
                json_array_append_new(rules, o);
        }
        *ret = out;
        return 0;
fail:
        json_decref(out);
        return r;
}
