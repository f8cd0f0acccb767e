/* The FastCGI responder (fcgi/src/fastcgi.c) over a socket pair: what nginx sends is
 * read whole (parameters split over records, a body over several, a body larger than
 * what is kept), malformed or hostile records break the connection instead of the
 * worker, two requests sent at once are read one after the other, and an answer is
 * records of at most 64 KB ending with END_REQUEST. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "fastcgi.h"
#include "suites.h"

struct fx {
    int peer; /* nginx's end, blocking */
    struct fastcgi_conn c;
    struct fastcgi_in in;
    struct arena a;
};

static void fx_open(struct fx *f)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    fastcgi_conn_init(&f->c, sv[0]);
    f->peer = sv[1];
    f->in.pos = f->in.len = 0;
    arena_init(&f->a, 4096);
}

/* As serve.c does: a request is read once its connection is readable. */
static void fx_ready(struct fx *f)
{
    struct pollfd p = {.fd = f->c.fd, .events = POLLIN};
    if (!f->c.spill) /* bytes already read are not the socket's to announce */
        CU_ASSERT_EQUAL(poll(&p, 1, 5000), 1);
}

static void fx_close(struct fx *f)
{
    fastcgi_conn_close(&f->c);
    if (f->peer >= 0)
        close(f->peer);
    arena_fini(&f->a);
}

/* Appends a record to buf at *o. */
static void rec(unsigned char *buf, size_t *o, int type, unsigned id, const void *body, size_t len)
{
    unsigned char h[8] = {1,
                          (unsigned char)type,
                          (unsigned char)(id >> 8),
                          (unsigned char)id,
                          (unsigned char)(len >> 8),
                          (unsigned char)len,
                          3,
                          0}; /* 3 bytes pad */
    memcpy(buf + *o, h, 8);
    *o += 8;
    if (len)
        memcpy(buf + *o, body, len);
    *o += len;
    memset(buf + *o, 0xee, 3);
    *o += 3;
}

/* A name-value pair with 1-byte or 4-byte lengths. */
static size_t pair(unsigned char *out, const char *name, const char *value)
{
    size_t o = 0, nl = strlen(name), vl = strlen(value);
    size_t lens[2] = {nl, vl};
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
    memcpy(out + o, name, nl);
    memcpy(out + o + nl, value, vl);
    return o + nl + vl;
}

/* A whole request: BEGIN (keep), its params in two records, its body in `parts` records. */
static size_t request(unsigned char *buf, unsigned id, int keep, const char *uri, const char *body,
                      int parts)
{
    unsigned char begin[8] = {0, 1, (unsigned char)keep, 0, 0, 0, 0, 0}, p[1024];
    size_t o = 0, pl = 0, bl = strlen(body);
    char clen[24];

    snprintf(clen, sizeof(clen), "%zu", bl);
    pl += pair(p + pl, "REQUEST_METHOD", "POST");
    pl += pair(p + pl, "REQUEST_URI", uri);
    pl += pair(p + pl, "CONTENT_LENGTH", clen);
    rec(buf, &o, 1, id, begin, 8);
    rec(buf, &o, 4, id, p, pl / 2);
    rec(buf, &o, 4, id, p + pl / 2, pl - pl / 2);
    rec(buf, &o, 4, id, NULL, 0);
    for (int i = 0; i < parts; i++) {
        size_t from = bl * (size_t)i / (size_t)parts, to = bl * (size_t)(i + 1) / (size_t)parts;
        if (to > from)
            rec(buf, &o, 5, id, body + from, to - from);
    }
    rec(buf, &o, 5, id, NULL, 0);
    return o;
}

static void test_request_whole(void)
{
    struct fx f;
    struct fastcgi_req q;
    unsigned char buf[4096];
    char err[160];
    size_t n;

    fx_open(&f);
    n = request(buf, 7, 1, "/api/v1/runs?x=1", "{\"kind\":\"train\"}", 3);
    CU_ASSERT_EQUAL_FATAL(write(f.peer, buf, n), (ssize_t)n);
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_EQUAL(q.id, 7);
    CU_ASSERT_EQUAL(q.keep, 1);
    CU_ASSERT_EQUAL(q.n_env, 3);
    CU_ASSERT_STRING_EQUAL(fastcgi_param(&q, "REQUEST_METHOD"), "POST");
    CU_ASSERT_STRING_EQUAL(fastcgi_param(&q, "REQUEST_URI"), "/api/v1/runs?x=1");
    CU_ASSERT_STRING_EQUAL(fastcgi_param(&q, "CONTENT_LENGTH"), "16");
    CU_ASSERT_PTR_NULL(fastcgi_param(&q, "REQUEST"));
    CU_ASSERT_STRING_EQUAL(q.env[0], "REQUEST_METHOD=POST");
    CU_ASSERT_PTR_NULL(q.env[3]);
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_body(&f.c, &f.in, &f.a, 1024, 16, &q, err, sizeof(err)),
                          FASTCGI_OK);
    CU_ASSERT_EQUAL(q.body_len, 16);
    CU_ASSERT_EQUAL(q.stdin_len, 16);
    CU_ASSERT_STRING_EQUAL(q.body, "{\"kind\":\"train\"}");
    /* Nothing more: the connection is idle, not closed. */
    CU_ASSERT_EQUAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_IDLE);
    close(f.peer);
    f.peer = -1;
    CU_ASSERT_EQUAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_CLOSED);
    fx_close(&f);
}

/* A body past what is kept is counted and dropped, so the caller can answer 413 and the
 * connection stays in step; a large body arrives whole. */
static void test_body_limits(void)
{
    struct fx f;
    struct fastcgi_req q;
    static unsigned char buf[300000];
    static char big[200001];
    char err[160];
    size_t n;

    fx_open(&f);
    memset(big, 'x', sizeof(big) - 1);
    n = request(buf, 1, 1, "/a", big, 7);
    n += request(buf + n, 2, 0, "/b", "tail", 1);
    /* The peer writes while we read: more than a socket buffer holds. */
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        for (size_t o = 0; o < n;) {
            ssize_t w = write(f.peer, buf + o, n - o);
            if (w <= 0)
                _exit(1);
            o += (size_t)w;
        }
        _exit(0);
    }
    fx_ready(&f);
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_body(&f.c, &f.in, &f.a, 1000, 0, &q, err, sizeof(err)),
                          FASTCGI_OK);
    CU_ASSERT_EQUAL(q.body_len, 1000);
    CU_ASSERT_EQUAL(q.stdin_len, 200000);
    CU_ASSERT_EQUAL(strlen(q.body), 1000);
    arena_reset(&f.a);
    /* The next request follows, whatever the first left in the buffer. */
    fx_ready(&f);
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_EQUAL(q.id, 2);
    CU_ASSERT_EQUAL(q.keep, 0);
    CU_ASSERT_STRING_EQUAL(fastcgi_param(&q, "REQUEST_URI"), "/b");
    CU_ASSERT_EQUAL(fastcgi_read_body(&f.c, &f.in, &f.a, 100, 4, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_STRING_EQUAL(q.body, "tail");
    int st;
    waitpid(pid, &st, 0);
    fx_close(&f);

    /* The whole of a large body, read straight into its buffer. */
    fx_open(&f);
    n = request(buf, 3, 1, "/c", big, 4);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        for (size_t o = 0; o < n;) {
            ssize_t w = write(f.peer, buf + o, n - o);
            if (w <= 0)
                _exit(1);
            o += (size_t)w;
        }
        _exit(0);
    }
    fx_ready(&f);
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_EQUAL_FATAL(
        fastcgi_read_body(&f.c, &f.in, &f.a, 1 << 20, 200000, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_EQUAL(q.body_len, 200000);
    CU_ASSERT_EQUAL(memcmp(q.body, big, 200000), 0);
    waitpid(pid, &st, 0);
    fx_close(&f);
}

/* Each of these closes the connection (FASTCGI_BROKEN) and nothing else. */
static void test_hostile(void)
{
    unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}, p[64], buf[1024];
    struct fastcgi_req q;
    char err[160];
    struct fx f;
    size_t o, pl;

    /* A name claiming 2 GiB in a record of a few bytes (CVE-2025-23016's shape). */
    fx_open(&f);
    o = 0;
    pl = 0;
    p[pl++] = 0xff;
    p[pl++] = 0xff;
    p[pl++] = 0xff;
    p[pl++] = 0xf0;
    p[pl++] = 1;
    memcpy(p + pl, "Xv", 2);
    pl += 2;
    rec(buf, &o, 1, 1, begin, 8);
    rec(buf, &o, 4, 1, p, pl);
    rec(buf, &o, 4, 1, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(write(f.peer, buf, o), (ssize_t)o);
    CU_ASSERT_EQUAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_BROKEN);
    fx_close(&f);

    /* Another role, another version, a record for another request, an abort. */
    const int cases = 4;
    for (int k = 0; k < cases; k++) {
        unsigned char b2[8] = {0, (unsigned char)(k == 0 ? 2 : 1), 0, 0, 0, 0, 0, 0};
        fx_open(&f);
        o = 0;
        rec(buf, &o, 1, 1, b2, 8);
        if (k >= 1) {
            pl = pair(p, "A", "b");
            rec(buf, &o, 4, k == 2 ? 9 : 1, p, pl);
            if (k == 3)
                rec(buf, &o, 2, 1, NULL, 0);
            else
                rec(buf, &o, 4, 1, NULL, 0);
        }
        if (k == 1)
            buf[8 + 8 + 3] = 2; /* the version of the record after BEGIN_REQUEST */
        CU_ASSERT_EQUAL_FATAL(write(f.peer, buf, o), (ssize_t)o);
        close(f.peer);
        f.peer = -1;
        CU_ASSERT_EQUAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_BROKEN);
        fx_close(&f);
    }

    /* Parameters beyond FASTCGI_MAX_PARAMS. */
    fx_open(&f);
    o = 0;
    rec(buf, &o, 1, 1, begin, 8);
    CU_ASSERT_EQUAL_FATAL(write(f.peer, buf, o), (ssize_t)o);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        static unsigned char chunk[65535 + 16];
        unsigned char h[8] = {1, 4, 0, 1, 0xff, 0xff, 0, 0};
        memcpy(chunk, h, 8);
        memset(chunk + 8, 'p', 65535);
        for (int i = 0; i < 5; i++)
            if (write(f.peer, chunk, 8 + 65535) < 0)
                _exit(0);
        _exit(0);
    }
    fx_ready(&f);
    CU_ASSERT_EQUAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_BROKEN);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than"));
    fx_close(&f);
    int st;
    waitpid(pid, &st, 0);

    /* The stream ends inside the body. */
    fx_open(&f);
    o = 0;
    rec(buf, &o, 1, 1, begin, 8);
    pl = pair(p, "CONTENT_LENGTH", "10");
    rec(buf, &o, 4, 1, p, pl);
    rec(buf, &o, 4, 1, NULL, 0);
    rec(buf, &o, 5, 1, "abc", 3);
    CU_ASSERT_EQUAL_FATAL(write(f.peer, buf, o), (ssize_t)o);
    close(f.peer);
    f.peer = -1;
    CU_ASSERT_EQUAL_FATAL(fastcgi_read_head(&f.c, &f.in, &f.a, &q, err, sizeof(err)), FASTCGI_OK);
    CU_ASSERT_EQUAL(fastcgi_read_body(&f.c, &f.in, &f.a, 100, 10, &q, err, sizeof(err)),
                    FASTCGI_BROKEN);
    fx_close(&f);
}

static void test_params_parse(void)
{
    struct arena a;
    struct fastcgi_req q;
    unsigned char p[600];
    char longv[300];
    size_t n = 0;

    arena_init(&a, 1024);
    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    n += pair(p + n, "EMPTY", "");
    n += pair(p + n, "LONG", longv);
    memset(&q, 0, sizeof(q));
    CU_ASSERT_EQUAL_FATAL(fastcgi_parse_params(&a, p, n, &q), 0);
    CU_ASSERT_EQUAL(q.n_env, 2);
    CU_ASSERT_STRING_EQUAL(fastcgi_param(&q, "EMPTY"), "");
    CU_ASSERT_STRING_EQUAL(fastcgi_param(&q, "LONG"), longv);
    /* Truncated anywhere: refused, never read past the end. */
    for (size_t cut = 1; cut < n; cut++) {
        memset(&q, 0, sizeof(q));
        if (cut == 2 + 5 + 0) /* the first pair alone is a whole stream */
            continue;
        CU_ASSERT_EQUAL(fastcgi_parse_params(&a, p, cut, &q), -1);
    }
    /* A name of length 0 is refused. */
    unsigned char z[4] = {0, 1, 'x', 0};
    CU_ASSERT_EQUAL(fastcgi_parse_params(&a, z, 3, &q), -1);
    memset(&q, 0, sizeof(q));
    CU_ASSERT_EQUAL(fastcgi_parse_params(&a, p, 0, &q), 0);
    CU_ASSERT_EQUAL(q.n_env, 0);
    arena_fini(&a);
}

/* An answer: STDOUT records of at most 65535 bytes carrying head then body, the empty
 * STDOUT, END_REQUEST with the request's id. */
static void test_respond(void)
{
    struct fx f;
    struct fastcgi_req q = {.id = 513};
    static char body[150000], got[160000];
    const char head[] = "Status: 200 OK\r\n\r\n";
    size_t o = 0, records = 0;
    int ended = 0, empty_stdout = 0;

    fx_open(&f);
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 26);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(fastcgi_respond(&f.c, &q, head, strlen(head), body, sizeof(body)) ? 1 : 0);
    while (!ended) {
        unsigned char h[8];
        size_t k = 0;
        while (k < 8) {
            ssize_t r = read(f.peer, h + k, 8 - k);
            CU_ASSERT_FATAL(r > 0);
            k += (size_t)r;
        }
        CU_ASSERT_EQUAL(h[0], 1);
        CU_ASSERT_EQUAL((h[2] << 8) | h[3], 513);
        size_t len = (size_t)h[4] << 8 | h[5];
        char tmp[65536 + 256];
        for (k = 0; k < len + h[6];) {
            ssize_t r = read(f.peer, tmp + k, len + h[6] - k);
            CU_ASSERT_FATAL(r > 0);
            k += (size_t)r;
        }
        records++;
        if (h[1] == 6 && len == 0)
            empty_stdout = 1;
        else if (h[1] == 6) {
            CU_ASSERT_FATAL(o + len <= sizeof(got));
            memcpy(got + o, tmp, len);
            o += len;
        } else if (h[1] == 3) {
            CU_ASSERT_EQUAL(len, 8);
            CU_ASSERT_EQUAL(tmp[4], 0); /* FCGI_REQUEST_COMPLETE */
            ended = 1;
        }
    }
    CU_ASSERT_TRUE(empty_stdout);
    CU_ASSERT_EQUAL(o, strlen(head) + sizeof(body));
    CU_ASSERT_EQUAL(memcmp(got, head, strlen(head)), 0);
    CU_ASSERT_EQUAL(memcmp(got + strlen(head), body, sizeof(body)), 0);
    CU_ASSERT_TRUE(records >= 5); /* head, 3 body records, empty stdout, end */
    int st;
    waitpid(pid, &st, 0);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fx_close(&f);
}

int suite_fastcgi_register(void)
{
    static const struct test_case cases[] = {
        {"a request read whole", test_request_whole},
        {"bodies past the limit, large bodies, two requests at once", test_body_limits},
        {"hostile records break the connection only", test_hostile},
        {"parameter pairs", test_params_parse},
        {"an answer in records", test_respond},
        {NULL, NULL},
    };
    return test_add_suite("fastcgi", cases);
}
