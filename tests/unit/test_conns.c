/* The worker's FastCGI connections (fcgi/src/conns.c, libfcgi) over a real listening
 * socket, with a client writing records as nginx does: a kept connection carries request
 * after request and stays open, one without FCGI_KEEP_CONN is closed after its answer, a
 * connection the peer closes is freed, a 1 MiB body arrives whole, parameters claiming
 * 2 GiB are refused by closing that connection (not the worker), a request that waits
 * serves another connection's request meanwhile, requests ready together may be kept and
 * answered by one flush (the group commit's) while a lone one is served at once, and a
 * new connection beyond CONNS_MAX closes the one idle longest; a long answer's records. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conns.h"
#include "serve.h"
#include "suites.h"

struct fx {
    char dir[32], path[64];
    int lfd;
    struct conns *c;
    int pipe[2]; /* what a waiting request waits for */
    unsigned long nested_served;
    char order[64];                      /* the URIs' last letters, in the order answered */
    FCGX_Request *kept[CONNS_BATCH_MAX]; /* "/d…" requests kept for the flush */
    int nkept, flushes, last_group;
};

static struct fx fx;

static void fx_answer(FCGX_Request *fr, const char *uri, size_t len, unsigned long sum)
{
    char out[256];
    int n;
    if (uri && strlen(fx.order) + 1 < sizeof(fx.order))
        strncat(fx.order, uri + strlen(uri) - 1, 1);
    n = snprintf(out, sizeof(out), "Status: 200 OK\r\n\r\nuri=%s len=%zu sum=%lu", uri ? uri : "-",
                 len, sum);
    FCGX_PutStr(out, n, fr->out);
}

/* The flush: answers the kept requests in order. */
static void fx_flush(void *ctx)
{
    struct fx *f = ctx;
    f->flushes++;
    f->last_group = f->nkept;
    for (int i = 0; i < f->nkept; i++)
        fx_answer(f->kept[i], FCGX_GetParam("REQUEST_URI", f->kept[i]->envp), 0, 0);
    f->nkept = 0;
}

/* Echoes what it read: the URI, the body's length and byte sum. "/wait" waits on the pipe,
 * serving the others meanwhile, and writes the pipe itself once one was served. "/d…"
 * (no body) is kept for the flush when it may be. */
static int fx_serve(void *ctx, FCGX_Request *fr, enum conns_mode mode)
{
    struct fx *f = ctx;
    const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
    char buf[8192];
    size_t len = 0;
    unsigned long sum = 0;
    int n;

    while ((n = FCGX_GetStr(buf, sizeof(buf), fr->in)) > 0) {
        for (int i = 0; i < n; i++)
            sum += (unsigned char)buf[i];
        len += (size_t)n;
    }
    if (uri && strcmp(uri, "/wait") == 0) {
        struct pollfd p = {.fd = f->pipe[0], .events = POLLIN};
        unsigned long before = f->c->served;
        for (int i = 0; i < 100 && conns_wait(f->c, &p, 100) != 1; i++)
            if (f->c->served > before)
                CU_ASSERT_EQUAL(write(f->pipe[1], "x", 1), 1);
        CU_ASSERT_EQUAL(read(f->pipe[0], buf, 1), 1);
    }
    f->nested_served += mode == CONNS_NESTED;
    if (uri && strncmp(uri, "/d", 2) == 0 && mode == CONNS_MAY_DEFER) {
        f->kept[f->nkept++] = fr;
        return 1;
    }
    fx_answer(fr, uri, len, sum);
    return 0;
}

static int fx_setup(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memset(&fx, 0, sizeof(fx));
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/rw-conns-XXXXXX");
    if (!mkdtemp(fx.dir))
        return -1;
    snprintf(fx.path, sizeof(fx.path), "%s/s", fx.dir);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx.path);
    fx.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fx.lfd < 0 || bind(fx.lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
        listen(fx.lfd, 256) != 0 || pipe(fx.pipe) != 0)
        return -1;
    fx.c = calloc(1, sizeof(*fx.c));
    return fx.c && conns_init(fx.c, fx.lfd, fx_serve, fx_flush, &fx) == 0 ? 0 : -1;
}

static int fx_teardown(void)
{
    conns_fini(fx.c);
    free(fx.c);
    close(fx.lfd);
    close(fx.pipe[0]);
    close(fx.pipe[1]);
    unlink(fx.path);
    rmdir(fx.dir);
    return 0;
}

static int fx_connect(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx.path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Runs the loop until the number of open connections is `n` (a bounded number of rounds). */
static void fx_run_until(int n)
{
    for (int i = 0; i < 50 && fx.c->n != n; i++)
        conns_run(fx.c, 100);
    CU_ASSERT_EQUAL(fx.c->n, n);
}

/* Runs one round that serves what is there. */
static void fx_run(void)
{
    unsigned long before = fx.c->served;
    for (int i = 0; i < 50 && fx.c->served == before; i++)
        conns_run(fx.c, 100);
}

/* Appends a record, padded to 8 bytes as nginx pads. */
static void rec(unsigned char *buf, size_t *o, int type, unsigned id, const void *body, size_t len)
{
    unsigned char pad = (unsigned char)((8 - len % 8) % 8);
    unsigned char h[8] = {1,
                          (unsigned char)type,
                          (unsigned char)(id >> 8),
                          (unsigned char)id,
                          (unsigned char)(len >> 8),
                          (unsigned char)len,
                          pad,
                          0};
    memcpy(buf + *o, h, 8);
    *o += 8;
    if (len)
        memcpy(buf + *o, body, len);
    *o += len;
    memset(buf + *o, 0, pad);
    *o += pad;
}

static size_t pair(unsigned char *out, const char *name, uint32_t nl, const char *value,
                   uint32_t vl)
{
    size_t o = 0;
    uint32_t lens[2] = {nl, vl};
    for (int i = 0; i < 2; i++) {
        if (lens[i] < 128) {
            out[o++] = (unsigned char)lens[i];
        } else {
            out[o++] = (unsigned char)(0x80 | (lens[i] >> 24));
            out[o++] = (unsigned char)(lens[i] >> 16);
            out[o++] = (unsigned char)(lens[i] >> 8);
            out[o++] = (unsigned char)lens[i];
        }
    }
    if (nl < 4096)
        memcpy(out + o, name, nl), o += nl;
    if (vl < 4096)
        memcpy(out + o, value, vl), o += vl;
    return o;
}

/* A whole request into buf (which holds it): BEGIN, params in two records, the body in
 * records of at most 65535 bytes, the empty STDIN record. */
static size_t request(unsigned char *buf, int keep, const char *uri, const char *body, size_t bl)
{
    unsigned char begin[8] = {0, 1, (unsigned char)keep, 0, 0, 0, 0, 0}, p[512];
    size_t o = 0, pl = 0;
    char clen[24];

    snprintf(clen, sizeof(clen), "%zu", bl);
    pl += pair(p + pl, "REQUEST_METHOD", 14, "POST", 4);
    pl += pair(p + pl, "REQUEST_URI", 11, uri, (uint32_t)strlen(uri));
    pl += pair(p + pl, "CONTENT_LENGTH", 14, clen, (uint32_t)strlen(clen));
    rec(buf, &o, 1, 1, begin, 8);
    rec(buf, &o, 4, 1, p, pl / 2);
    rec(buf, &o, 4, 1, p + pl / 2, pl - pl / 2);
    rec(buf, &o, 4, 1, NULL, 0);
    for (size_t off = 0; off < bl; off += 65535)
        rec(buf, &o, 5, 1, body + off, bl - off > 65535 ? 65535 : bl - off);
    rec(buf, &o, 5, 1, NULL, 0);
    return o;
}

static int send_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_req(int fd, int keep, const char *uri, const char *body)
{
    unsigned char buf[4096];
    return send_all(fd, buf, request(buf, keep, uri, body, strlen(body)));
}

static int read_full(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One answer up to END_REQUEST: its STDOUT in out. -1 if the connection ended first. */
static int answer(int fd, char *out, size_t cap)
{
    size_t o = 0;
    for (;;) {
        unsigned char h[8], body[65536 + 256];
        if (read_full(fd, h, 8) != 0)
            return -1;
        size_t len = (size_t)h[4] << 8 | h[5], pad = h[6];
        if (read_full(fd, body, len + pad) != 0)
            return -1;
        if (h[1] == 6 && o + len < cap) {
            memcpy(out + o, body, len);
            o += len;
        }
        if (h[1] == 3) {
            out[o] = '\0';
            return 0;
        }
    }
}

static int at_eof(int fd)
{
    char b;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 2000) == 1 && read(fd, &b, 1) == 0;
}

static void test_keep_conn(void)
{
    char out[1024];
    int fd = fx_connect();
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    fx_run_until(1);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(send_req(fd, 1, "/one", "hello"), 0);
        fx_run();
        CU_ASSERT_EQUAL_FATAL(answer(fd, out, sizeof(out)), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/one len=5 sum=532"));
        CU_ASSERT_EQUAL(fx.c->n, 1); /* still open */
    }
    /* nginx closes an idle kept connection: the slot is freed. */
    close(fd);
    fx_run_until(0);
}

static void test_no_keep(void)
{
    char out[1024];
    int fd = fx_connect();
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(send_req(fd, 0, "/two", ""), 0);
    fx_run_until(1);
    fx_run();
    CU_ASSERT_EQUAL_FATAL(answer(fd, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/two len=0"));
    CU_ASSERT_TRUE(at_eof(fd));
    CU_ASSERT_EQUAL(fx.c->n, 0);
    close(fd);
}

/* The body limit (1 MiB) arrives whole through libfcgi's reads; a writer process sends
 * it while the loop reads, as nginx does. */
static void test_large_body(void)
{
    size_t bl = 1024 * 1024;
    char *body = malloc(bl), out[1024], want[128];
    unsigned char *buf = malloc(bl + bl / 65535 * 16 + 4096);
    unsigned long sum = 0;
    int fd = fx_connect();
    pid_t pid;

    CU_ASSERT_TRUE_FATAL(fd >= 0 && body && buf);
    for (size_t i = 0; i < bl; i++)
        sum += (unsigned char)(body[i] = (char)('a' + i % 26));
    size_t n = request(buf, 1, "/big", body, bl);
    pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0)
        _exit(send_all(fd, buf, n) == 0 ? 0 : 1);
    fx_run_until(1);
    fx_run();
    CU_ASSERT_EQUAL(answer(fd, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "uri=/big len=%zu sum=%lu", bl, sum);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    int st;
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
    fx_run_until(0);
    free(body);
    free(buf);
}

/* A name claiming 2 GiB (the CVE-2025-23016 shape): libfcgi refuses the parameters and
 * closes that connection; the others are served on. */
static void test_refused_params(void)
{
    unsigned char begin[8] = {0, 1, 1, 0, 0, 0, 0, 0}, p[64], buf[256];
    char out[1024];
    size_t o = 0;
    int bad = fx_connect(), good = fx_connect();

    CU_ASSERT_TRUE_FATAL(bad >= 0 && good >= 0);
    fx_run_until(2);
    size_t pl = pair(p, "X", 0x7ffffff0u, "v", 1);
    memcpy(p + pl, "Xv", 2);
    rec(buf, &o, 1, 1, begin, 8);
    rec(buf, &o, 4, 1, p, pl + 2);
    rec(buf, &o, 4, 1, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(send_all(bad, buf, o), 0);
    fx_run_until(1);
    CU_ASSERT_TRUE(at_eof(bad));
    CU_ASSERT_EQUAL_FATAL(send_req(good, 1, "/ok", "x"), 0);
    fx_run();
    CU_ASSERT_EQUAL(answer(good, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/ok"));
    close(bad);
    close(good);
    fx_run_until(0);
}

/* A request that waits serves another connection's request meanwhile (nested), which is
 * answered first; the wait is answered after, and both connections stay open. */
static void test_wait_serves_other(void)
{
    char out[1024];
    int a = fx_connect(), b = fx_connect();

    CU_ASSERT_TRUE_FATAL(a >= 0 && b >= 0);
    fx_run_until(2);
    fx.order[0] = '\0';
    fx.nested_served = 0;
    CU_ASSERT_EQUAL_FATAL(send_req(a, 1, "/wait", ""), 0);
    CU_ASSERT_EQUAL_FATAL(send_req(b, 1, "/b", "1"), 0);
    fx_run();
    for (int i = 0; i < 10 && strlen(fx.order) < 2; i++)
        conns_run(fx.c, 100);
    CU_ASSERT_STRING_EQUAL(fx.order, "bt");
    CU_ASSERT_EQUAL(fx.nested_served, 1);
    CU_ASSERT_EQUAL(answer(b, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/b len=1"));
    CU_ASSERT_EQUAL(answer(a, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/wait"));
    CU_ASSERT_EQUAL(fx.c->n, 2);
    /* A readiness fetched before the nested request was served does not block the loop:
     * nothing is pending now and a round returns. */
    CU_ASSERT_EQUAL(conns_run(fx.c, 50), 0);
    close(a);
    close(b);
    fx_run_until(0);
}

/* Requests ready together are served with CONNS_MAY_DEFER: the ones kept are answered
 * by one flush after the others, in the order they were kept; a lone request is served
 * at once (CONNS_NOW), never kept. */
static void test_group_flush(void)
{
    char out[1024];
    int a = fx_connect(), b = fx_connect(), c = fx_connect();

    CU_ASSERT_TRUE_FATAL(a >= 0 && b >= 0 && c >= 0);
    fx_run_until(3);
    fx.order[0] = '\0';
    fx.flushes = 0;
    CU_ASSERT_EQUAL_FATAL(send_req(a, 1, "/d1", ""), 0);
    CU_ASSERT_EQUAL_FATAL(send_req(b, 1, "/d2", ""), 0);
    CU_ASSERT_EQUAL_FATAL(send_req(c, 1, "/x", ""), 0);
    for (int i = 0; i < 10 && strlen(fx.order) < 3; i++)
        conns_run(fx.c, 100);
    CU_ASSERT_EQUAL(fx.flushes, 1);
    CU_ASSERT_EQUAL(fx.last_group, 2);
    /* The kept ones keep their relative order; the other was answered while they waited. */
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.order, "x"));
    CU_ASSERT_TRUE(strchr(fx.order, '1') < strchr(fx.order, '2'));
    CU_ASSERT_EQUAL(answer(a, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/d1"));
    CU_ASSERT_EQUAL(answer(b, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/d2"));
    CU_ASSERT_EQUAL(answer(c, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/x"));
    /* Alone, a deferrable request is served at once: no flush. */
    CU_ASSERT_EQUAL_FATAL(send_req(a, 1, "/d3", ""), 0);
    fx_run();
    CU_ASSERT_EQUAL(fx.flushes, 1);
    CU_ASSERT_EQUAL(answer(a, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/d3"));
    /* The connections stay open and serve on. */
    CU_ASSERT_EQUAL(fx.c->n, 3);
    CU_ASSERT_EQUAL_FATAL(send_req(b, 1, "/y", "2"), 0);
    fx_run();
    CU_ASSERT_EQUAL(answer(b, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/y len=1"));
    close(a);
    close(b);
    close(c);
    fx_run_until(0);
}

/* CONNS_MAX kept connections, each used once in turn; one more closes the first. The
 * first's peer ends its side as it sees the close, as nginx does with an idle one (here
 * in advance, in one process). */
static void test_evict_idle(void)
{
    int fds[CONNS_MAX + 1];
    char out[1024];
    unsigned long ev = fx.c->evicted;

    for (int i = 0; i < CONNS_MAX; i++) {
        fds[i] = fx_connect();
        CU_ASSERT_TRUE_FATAL(fds[i] >= 0);
        fx_run_until(i + 1);
        CU_ASSERT_EQUAL_FATAL(send_req(fds[i], 1, "/e", ""), 0);
        fx_run();
        CU_ASSERT_EQUAL_FATAL(answer(fds[i], out, sizeof(out)), 0);
    }
    fds[CONNS_MAX] = fx_connect();
    CU_ASSERT_TRUE_FATAL(fds[CONNS_MAX] >= 0);
    shutdown(fds[0], SHUT_WR);
    conns_run(fx.c, 1000);
    CU_ASSERT_EQUAL(fx.c->evicted, ev + 1);
    CU_ASSERT_EQUAL(fx.c->n, CONNS_MAX);
    CU_ASSERT_TRUE(at_eof(fds[0]));
    CU_ASSERT_EQUAL_FATAL(send_req(fds[CONNS_MAX], 1, "/new", ""), 0);
    fx_run();
    CU_ASSERT_EQUAL(answer(fds[CONNS_MAX], out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "uri=/new"));
    for (int i = 0; i <= CONNS_MAX; i++)
        close(fds[i]);
    fx_run_until(0);
}

/* serve_put_records (serve.c): a head and a body of every size around a record's bound come
 * back whole from the records written, each a FCGI_STDOUT record of the request (content up
 * to 65535 bytes, in order), in as few records as the bound allows. A file takes the place of
 * nginx's socket (writev is the same on both). */
static void test_put_records(void)
{
    static const size_t sizes[] = {0, 1, 65535 - 100, 65535 - 99, 65535, 200000, 17u << 20};
    const char head[100] = "Status: 200 OK\r\n";
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t blen = sizes[i], total = sizeof(head) + blen, got = 0, nrec = 0;
        char *body = malloc(blen + 1), *back = malloc(total);
        unsigned char *file = malloc(total + 8 * (total / 65535 + 1));
        CU_ASSERT_FATAL(body && back && file);
        for (size_t k = 0; k < blen; k++)
            body[k] = (char)('a' + k % 23);
        FILE *f = tmpfile();
        CU_ASSERT_FATAL(f != NULL);
        CU_ASSERT_EQUAL(serve_put_records(fileno(f), 0x1234, head, sizeof(head), body, blen), 0);
        off_t end = lseek(fileno(f), 0, SEEK_END);
        CU_ASSERT_FATAL(end > 0 && (size_t)end <= total + 8 * (total / 65535 + 1));
        long flen = (long)end;
        CU_ASSERT_EQUAL_FATAL(pread(fileno(f), file, (size_t)end & SIZE_MAX >> 1, 0), flen);
        for (long at = 0; at < flen; nrec++) {
            unsigned char *h = file + at;
            size_t n = (size_t)h[4] << 8 | h[5];
            CU_ASSERT_FATAL(at + 8 + (long)n + h[6] <= flen);
            CU_ASSERT(h[0] == 1 && h[1] == 6 && h[2] == 0x12 && h[3] == 0x34 && n > 0);
            memcpy(back + got, h + 8, n);
            got += n;
            at += 8 + (long)n + h[6];
        }
        CU_ASSERT_EQUAL(got, total);
        CU_ASSERT_EQUAL(nrec, (total + 65534) / 65535);
        CU_ASSERT(memcmp(back, head, sizeof(head)) == 0 &&
                  memcmp(back + sizeof(head), body, blen) == 0);
        fclose(f);
        free(body);
        free(back);
        free(file);
    }
}

int suite_conns_register(void)
{
    CU_pSuite s = CU_add_suite("conns", fx_setup, fx_teardown);
    return !s ||
           !CU_add_test(s, "a kept connection carries request after request", test_keep_conn) ||
           !CU_add_test(s, "without FCGI_KEEP_CONN it closes", test_no_keep) ||
           !CU_add_test(s, "a 1 MiB body arrives whole", test_large_body) ||
           !CU_add_test(s, "2 GiB parameters close that connection", test_refused_params) ||
           !CU_add_test(s, "a waiting request serves another", test_wait_serves_other) ||
           !CU_add_test(s, "requests ready together are flushed as a group", test_group_flush) ||
           !CU_add_test(s, "one more than CONNS_MAX closes the idlest", test_evict_idle) ||
           !CU_add_test(s, "a long answer leaves as whole records", test_put_records);
}
