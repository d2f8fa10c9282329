/* SPDX-License-Identifier: GPL-2.0-or-later */
/* the keeper's wire protocol (lib/keeper/proto.h) and the names den accepts */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/keeper/proto.h"
#include "lib/runtime/name.h"

/* a RUN request whose env holds `bytes` bytes, sent with one fd; what arrives is the same */
static void roundtrip(size_t bytes)
{
        int sp[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        char *big = xmalloc(bytes + 1);
        memset(big, 'v', bytes);
        memcpy(big, "V=", 2);
        big[bytes] = '\0';
        json_t *req = json_pack("{s:[s],s:[s]}", "args", "/bin/true", "env", big);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_int_equal(keeper_send(sp[0], KEEPER_RUN, req, &devnull, 1), 0);
        enum keeper_type t;
        json_t *got = NULL;
        int fds[KEEPER_MAX_FDS];
        size_t n = KEEPER_MAX_FDS;
        struct err err = { 0 };
        assert_int_equal(keeper_recv(sp[1], &t, &got, fds, &n, &err), 0);
        assert_int_equal(t, KEEPER_RUN);
        assert_int_equal(n, 1); /* the memfd is not the caller's */
        assert_true(json_equal(req, got));
        close(fds[0]);
        json_decref(req);
        json_decref(got);
        free(big);
        close(devnull);
        close(sp[0]);
        close(sp[1]);
}

static void test_proto_small_and_big(void **state)
{
        roundtrip(10);
        roundtrip(KEEPER_MAX_INLINE - 100);
        roundtrip(KEEPER_MAX_INLINE + 1);
        roundtrip(1u << 20);
        roundtrip(8u << 20);
}

static void send_raw(int sock, const struct keeper_hdr *h, const void *payload, size_t len, int fd)
{
        char buf[sizeof(*h) + 64];
        memcpy(buf, h, sizeof(*h));
        if (len)
                memcpy(buf + sizeof(*h), payload, len);
        struct iovec iov = { buf, sizeof(*h) + len };
        union {
                char b[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = { 0 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                m.msg_control = u.b;
                m.msg_controllen = sizeof(u.b);
                struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        assert_true(sendmsg(sock, &m, 0) >= 0);
}

static int recv_code(int sock)
{
        enum keeper_type t;
        json_t *got = NULL;
        struct err err = { 0 };
        int r = keeper_recv(sock, &t, &got, NULL, NULL, &err);
        json_decref(got);
        return r;
}

/* what a receiver refuses: a payload in something else than a sealed memfd of
 * the size announced, a size past the bound, an unknown flag or version */
static void test_proto_refuses(void **state)
{
        int sp[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        struct keeper_hdr h = { KEEPER_MAGIC, KEEPER_VERSION, KEEPER_RUN, 2, KEEPER_F_MEMFD };
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        send_raw(sp[0], &h, NULL, 0, p[0]); /* a pipe: would block */
        assert_int_equal(recv_code(sp[1]), -EPROTO);
        int m = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        assert_int_equal(write(m, "{}", 2), 2);
        send_raw(sp[0], &h, NULL, 0, m); /* not sealed */
        assert_int_equal(recv_code(sp[1]), -EPROTO);
        assert_int_equal(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
        send_raw(sp[0], &h, NULL, 0, m);
        assert_int_equal(recv_code(sp[1]), 0);
        h.len = 3; /* not its size */
        send_raw(sp[0], &h, NULL, 0, m);
        assert_int_equal(recv_code(sp[1]), -EPROTO);
        h.len = KEEPER_MAX_PAYLOAD + 1;
        send_raw(sp[0], &h, NULL, 0, m);
        assert_int_equal(recv_code(sp[1]), -EMSGSIZE);
        h = (struct keeper_hdr){ KEEPER_MAGIC, KEEPER_VERSION, KEEPER_RUN, 2, 0x2 };
        send_raw(sp[0], &h, "{}", 2, -1);
        assert_int_equal(recv_code(sp[1]), -EPROTO);
        h = (struct keeper_hdr){ KEEPER_MAGIC, 1, KEEPER_RUN, 2, 0 };
        send_raw(sp[0], &h, "{}", 2, -1);
        assert_int_equal(recv_code(sp[1]), -EPROTO);
        h.version = KEEPER_VERSION;
        send_raw(sp[0], &h, "{}", 2, -1);
        assert_int_equal(recv_code(sp[1]), 0);
        /* a sender refuses what a receiver would */
        char *huge = xmalloc(KEEPER_MAX_PAYLOAD + 2);
        memset(huge, 'x', KEEPER_MAX_PAYLOAD + 1);
        huge[KEEPER_MAX_PAYLOAD + 1] = '\0';
        json_t *j = json_pack("{s:s}", "x", huge);
        assert_int_equal(keeper_send(sp[0], KEEPER_RUN, j, NULL, 0), -EMSGSIZE);
        json_decref(j);
        free(huge);
        close(m);
        close(p[0]);
        close(p[1]);
        close(sp[0]);
        close(sp[1]);
}

static void test_container_names(void **state)
{
        static const char *good[] = { "a", "web-1", "A.b_c-d", "0", "x..y", "den-0123456789ab" };
        static const char *bad[] = { "", "..", ".", "-x", "_x", ".x", "a/b", "../../x", "a b", "a\nb", "a:b", "é" };
        struct err err = { 0 };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_int_equal(name_check_container(good[i], &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err_clear(&err);
                assert_int_equal(name_check_container(bad[i], &err), -EINVAL);
        }
        char longest[NAME_MAX_CONTAINER + 2];
        memset(longest, 'a', sizeof(longest));
        longest[NAME_MAX_CONTAINER] = '\0';
        assert_int_equal(name_check_container(longest, &err), 0);
        longest[NAME_MAX_CONTAINER] = 'a';
        longest[NAME_MAX_CONTAINER + 1] = '\0';
        assert_int_equal(name_check_container(longest, &err), -EINVAL);
}

static void test_hostnames(void **state)
{
        static const char *good[] = { "box", "a.b.c", "web-1.example", "0", "A1" };
        static const char *bad[] = { "", ".", "a.", ".a", "a..b", "-a", "a-", "a_b", "a b", "a\n1.2.3.4 x", "a/b" };
        struct err err = { 0 };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_int_equal(name_check_hostname(good[i], &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err_clear(&err);
                assert_int_equal(name_check_hostname(bad[i], &err), -EINVAL);
        }
        char h[NAME_MAX_HOSTNAME + 2];
        memset(h, 'a', sizeof(h));
        h[62] = '.'; /* labels of 62 and 1 */
        h[NAME_MAX_HOSTNAME] = '\0';
        assert_int_equal(name_check_hostname(h, &err), 0);
        h[NAME_MAX_HOSTNAME] = 'a';
        h[NAME_MAX_HOSTNAME + 1] = '\0';
        assert_int_equal(name_check_hostname(h, &err), -EINVAL);
        memset(h, 'a', 64);
        h[64] = '\0'; /* one label of 64 */
        assert_int_equal(name_check_hostname(h, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_proto_small_and_big),
                cmocka_unit_test(test_proto_refuses),
                cmocka_unit_test(test_container_names),
                cmocka_unit_test(test_hostnames),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
