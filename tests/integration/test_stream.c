/* Live stream (GET /api/v1/stream) through nginx, as a browser sees it: HTTP/1.1,
 * chunked, the session cookie or a bearer token, auth_request in front of runwatch-sse.
 * Writes go through the REST API, so each test covers the whole path: COMMIT, the publish
 * script, Redis, the hub, nginx. The stack runs the hub with a 1 s keepalive and a ring
 * of 256 events (tests/integration/run.sh). The Redis restarts run last: each starts a new
 * epoch for everything after it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")
/* The ring size run.sh gives the hub. */
#define RING 256
/* RUNWATCH_SSE_STREAMS_PER_USER in run.sh. */
#define STREAMS_PER_USER 8

static struct ident adm, mem_a, mem_b, tok_a;
static struct {
    char slug[64];
    long long id;
} pa, pb;

/* ---- a raw SSE client ---- */

/* One stream over a plain socket: no library between the test and the bytes, so a test
 * can also stop reading altogether. Chunked bodies are decoded as they arrive. */
struct sse_conn {
    int fd;
    long status;
    int chunked, ended;
    char head[8192];
    char *raw; /* received, not yet decoded */
    size_t raw_len, raw_cap;
    char *body; /* decoded, not yet parsed into frames */
    size_t body_len, body_cap;
    size_t chunk_left; /* bytes of the current chunk still to decode */
    int chunk_crlf;    /* the CRLF after a chunk is still to skip */
    unsigned comments;
};

struct sse_frame {
    char id[80];
    char event[40];
    char *data; /* malloc'd, NULL when the frame had none */
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int buf_add(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 65536;
        while (c < *len + n + 1)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static void sse_close(struct sse_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->raw);
    free(c->body);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Moves what is complete in raw into body (de-chunking). */
static void sse_decode(struct sse_conn *c)
{
    size_t pos = 0;

    if (!c->chunked) {
        buf_add(&c->body, &c->body_len, &c->body_cap, c->raw, c->raw_len);
        c->raw_len = 0;
        return;
    }
    while (pos < c->raw_len && !c->ended) {
        if (c->chunk_crlf) {
            if (c->raw_len - pos < 2)
                break;
            pos += 2;
            c->chunk_crlf = 0;
        } else if (c->chunk_left) {
            size_t n = c->raw_len - pos < c->chunk_left ? c->raw_len - pos : c->chunk_left;
            buf_add(&c->body, &c->body_len, &c->body_cap, c->raw + pos, n);
            pos += n;
            c->chunk_left -= n;
            if (!c->chunk_left)
                c->chunk_crlf = 1;
        } else {
            char *eol = memmem(c->raw + pos, c->raw_len - pos, "\r\n", 2);
            if (!eol)
                break;
            c->chunk_left = strtoul(c->raw + pos, NULL, 16);
            pos = (size_t)(eol - c->raw) + 2;
            if (!c->chunk_left)
                c->ended = 1;
        }
    }
    memmove(c->raw, c->raw + pos, c->raw_len - pos);
    c->raw_len -= pos;
}

/* Reads what arrives within timeout_ms (at least one read when data is there). 0 when
 * something came, -1 at end of stream or on error, 1 on timeout. */
static int sse_fill(struct sse_conn *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    char buf[65536];
    ssize_t n;

    if (c->ended || c->fd < 0)
        return -1;
    if (poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms) != 1)
        return 1;
    n = read(c->fd, buf, sizeof(buf));
    if (n <= 0) {
        c->ended = 1;
        return -1;
    }
    if (buf_add(&c->raw, &c->raw_len, &c->raw_cap, buf, (size_t)n))
        return -1;
    if (c->status)
        sse_decode(c);
    return 0;
}

/* Connects to url ("http://127.0.0.1:PORT": nginx, or the hub itself as a local attacker
 * would) and sends the stream request. query may be NULL; extra is one more header line
 * or NULL; rcvbuf > 0 shrinks the socket's receive buffer (a slow client). Returns the
 * HTTP status (0 when no answer came). */
static long sse_open_at(struct sse_conn *c, const char *url, const struct ident *id,
                        const char *query, const char *last_event_id, const char *extra, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    char host[64] = "", req[4096];
    int port = 0, n;
    long long deadline = now_ms() + ITEST_WAIT_MS;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    if (!url || sscanf(url, "http://%63[^:]:%d", host, &port) != 2)
        return 0;
    a.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return 0;
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 0;
    n = snprintf(req, sizeof(req),
                 "GET /api/v1/stream%s%s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
                 "%s%s%s%s%s%s%s%s%s\r\n",
                 query ? "?" : "", query ? query : "", host, port,
                 id && id->kind == IDENT_SESSION ? "Cookie: rw_session=" : "",
                 id && id->kind == IDENT_SESSION ? id->secret : "",
                 id && id->kind == IDENT_SESSION ? "\r\n" : "",
                 id && id->kind == IDENT_TOKEN ? "Authorization: Bearer " : "",
                 id && id->kind == IDENT_TOKEN ? id->secret : "",
                 id && id->kind == IDENT_TOKEN ? "\r\n" : "",
                 last_event_id ? "Last-Event-ID: " : "", last_event_id ? last_event_id : "",
                 last_event_id ? "\r\n" : "");
    if (n <= 0 || (size_t)n >= sizeof(req))
        return 0;
    if (extra) {
        /* Before the blank line that ends the request. */
        n -= 2;
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n\r\n", extra);
    }
    if (write(c->fd, req, (size_t)n) != n)
        return 0;
    for (;;) {
        char *end = c->raw ? memmem(c->raw, c->raw_len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hl = (size_t)(end - c->raw) + 4;
            snprintf(c->head, sizeof(c->head), "%.*s", (int)hl, c->raw);
            memmove(c->raw, c->raw + hl, c->raw_len - hl);
            c->raw_len -= hl;
            sscanf(c->head, "HTTP/1.%*d %ld", &c->status);
            c->chunked = strcasestr(c->head, "transfer-encoding: chunked") != NULL;
            sse_decode(c);
            return c->status;
        }
        if (now_ms() > deadline || sse_fill(c, (int)(deadline - now_ms())) < 0)
            return 0;
    }
}

/* The stream request through nginx, as every client makes it. */
static long sse_open(struct sse_conn *c, const struct ident *id, const char *query,
                     const char *last_event_id, const char *extra, int rcvbuf)
{
    return sse_open_at(c, getenv("RUNWATCH_TEST_URL"), id, query, last_event_id, extra, rcvbuf);
}

/* The whole (short) body of a refused stream, for its JSON error. */
static json_object *sse_error_body(struct sse_conn *c)
{
    long long deadline = now_ms() + ITEST_WAIT_MS;
    const char *cl = strcasestr(c->head, "content-length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;

    while (!c->ended && now_ms() < deadline && (!cl || c->body_len < want))
        if (sse_fill(c, 200) < 0)
            break;
    return c->body ? json_tokener_parse(c->body) : NULL;
}

static void frame_free(struct sse_frame *f)
{
    free(f->data);
    memset(f, 0, sizeof(*f));
}

/* Parses the first complete frame out of body: 1 with an event frame, 0 when there is no
 * complete frame yet. Comment-only frames and the retry line are counted and skipped. */
static int sse_take(struct sse_conn *c, struct sse_frame *f)
{
    for (;;) {
        char *end = c->body ? memmem(c->body, c->body_len, "\n\n", 2) : NULL;
        size_t flen;
        int got = 0;

        if (!end)
            return 0;
        flen = (size_t)(end - c->body);
        memset(f, 0, sizeof(*f));
        for (char *line = c->body; line < end;) {
            char *eol = memchr(line, '\n', (size_t)(end - line));
            size_t ll = eol ? (size_t)(eol - line) : (size_t)(end - line);
            if (ll >= 1 && line[0] == ':') {
                c->comments++;
            } else if (ll >= 4 && strncmp(line, "id: ", 4) == 0) {
                snprintf(f->id, sizeof(f->id), "%.*s", (int)(ll - 4), line + 4);
                got = 1;
            } else if (ll >= 7 && strncmp(line, "event: ", 7) == 0) {
                snprintf(f->event, sizeof(f->event), "%.*s", (int)(ll - 7), line + 7);
                got = 1;
            } else if (ll >= 6 && strncmp(line, "data: ", 6) == 0) {
                free(f->data);
                f->data = strndup(line + 6, ll - 6);
                got = 1;
            }
            line += ll + 1;
        }
        memmove(c->body, c->body + flen + 2, c->body_len - flen - 2);
        c->body_len -= flen + 2;
        c->body[c->body_len] = '\0';
        if (got)
            return 1;
    }
}

/* The next event frame within timeout_ms: 1, 0 on timeout, -1 when the stream ended. */
static int sse_next(struct sse_conn *c, int timeout_ms, struct sse_frame *f)
{
    long long deadline = now_ms() + timeout_ms;

    for (;;) {
        int rc;
        if (sse_take(c, f))
            return 1;
        rc = sse_fill(c, (int)(deadline - now_ms()));
        if (rc < 0)
            return sse_take(c, f) ? 1 : -1;
        if (rc > 0 || now_ms() >= deadline)
            return 0;
    }
}

/* The seq of an "<epoch>-<seq>" id, the epoch into ep (may be NULL). */
static long long id_seq(const char *id, char *ep, size_t cap)
{
    const char *dash = strrchr(id, '-');
    if (!dash)
        return -1;
    if (ep)
        snprintf(ep, cap, "%.*s", (int)(dash - id), id);
    return atoll(dash + 1);
}

/* ---- REST helpers ---- */

static long create_run(const struct ident *who, const char *slug, const char *extra_json,
                       char id[40])
{
    char kind[64];
    struct itest_run run = {
        .project = slug, .kind = itest_unique("stream", kind, sizeof(kind)), .extra = extra_json};
    return itest_make_run(who, &run, id, id ? 40 : 0);
}

static long heartbeat(const struct ident *who, const char *run)
{
    struct http_resp r;
    char path[128];
    long st;

    snprintf(path, sizeof(path), "/api/v1/runs/%s/heartbeat", run);
    if (api_call(who, "POST", path, "{\"progress\":0.5}", &r) != 0)
        return -1;
    st = r.status;
    http_resp_free(&r);
    return st;
}

/* A counter of the hub's /metrics (the hub's own port; nginx does not expose it). */
static long long hub_metric(const char *name)
{
    const char *port = getenv("RUNWATCH_SSE_PORT");
    char url[128], cmd[256], line[256];
    long long v = -1;
    FILE *p;

    if (!port)
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%s/metrics", port);
    snprintf(cmd, sizeof(cmd), "curl -s -m 5 '%s'", url);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ' ')
            v = atoll(line + strlen(name) + 1);
    pclose(p);
    return v;
}

/* ---- fixture ---- */

static int stream_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (itest_instance_admin(&adm) || itest_make_project(&adm, "stream-a", pa.slug, 64, &pa.id) ||
        itest_make_project(&adm, "stream-b", pb.slug, 64, &pb.id) ||
        itest_new_member(&adm, "stream-a", "stream.test", pa.slug, "member", &mem_a) ||
        itest_new_member(&adm, "stream-b", "stream.test", pb.slug, "member", &mem_b) ||
        itest_new_token(&adm, pa.slug, "[\"read\"]", NULL, &tok_a) != 201)
        return 1;
    return 0;
}

static int stream_fini(void)
{
    return 0;
}

/* ---- tests ---- */

static void test_unauthenticated(void)
{
    struct sse_conn c;
    struct ident bogus = {.kind = IDENT_SESSION};
    json_object *e;

    CU_ASSERT_EQUAL(sse_open(&c, NULL, NULL, NULL, NULL, 0), 401);
    e = sse_error_body(&c);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.code")), "unauthenticated");
    json_object_put(e);
    sse_close(&c);
    /* A forged allowed-projects header changes nothing without a session. */
    snprintf(bogus.secret, sizeof(bogus.secret), "not-a-session");
    CU_ASSERT_EQUAL(sse_open(&c, &bogus, NULL, NULL, "X-Runwatch-Projects: [1,2,3]", 0), 401);
    e = sse_error_body(&c);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.code")), "unauthenticated");
    json_object_put(e);
    sse_close(&c);
}

static void test_bad_filters(void)
{
    static const struct {
        const char *query;
        long status;
        const char *code, *field;
    } cases[] = {
        {"types=run.updated,nope", 400, "invalid_field", "types"},
        {"types=", 400, "invalid_field", "types"},
        {"run=not-a-uuid", 400, "invalid_field", "run"},
        {"project=abc", 400, "invalid_field", "project"},
        {"project=0", 400, "invalid_field", "project"},
        {"project={b}", 404, "not_found", "project"},
        {"project={a},{b}", 404, "not_found", "project"},
    };
    char idb[32], ida[32], q[128];

    snprintf(ida, sizeof(ida), "%lld", pa.id);
    snprintf(idb, sizeof(idb), "%lld", pb.id);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct itest_subst subs[] = {{"{a}", ida}, {"{b}", idb}, {NULL, NULL}};
        struct sse_conn c;
        json_object *e;

        itest_expand(cases[i].query, subs, q, sizeof(q));
        CU_ASSERT_EQUAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), cases[i].status);
        e = sse_error_body(&c);
        if (strcmp(S(itest_jstr(e, "error.field")), cases[i].field) != 0)
            fprintf(stderr, "\n  ?%s: %ld %s", q, c.status, S(c.body));
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.code")), cases[i].code);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.field")), cases[i].field);
        json_object_put(e);
        sse_close(&c);
    }
}

/* A run created through the REST API reaches the stream: as a frame with id, event and the
 * published JSON as data. How long it took is printed, never asserted (a busy machine
 * delays it; docs/PERFORMANCE.md has the latency). */
static void test_live(void)
{
    struct sse_conn c;
    struct sse_frame f;
    char run[40], q[64];
    long long t0, dt;
    json_object *d;

    snprintf(q, sizeof(q), "project=%lld", pa.id);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_PTR_NOT_NULL(strcasestr(c.head, "content-type: text/event-stream"));
    CU_ASSERT_PTR_NOT_NULL(strcasestr(c.head, "cache-control: no-store"));
    CU_ASSERT_TRUE(c.chunked);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    t0 = now_ms();
    CU_ASSERT_EQUAL_FATAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
    dt = now_ms() - t0;
    fprintf(stderr, " [REST answer -> frame: %lld ms] ", dt);
    CU_ASSERT_STRING_EQUAL(f.event, "run.created");
    d = f.data ? json_tokener_parse(f.data) : NULL;
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(d, "run")), run);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(d, "data.id")), run);
    CU_ASSERT_EQUAL(itest_jint(d, "project"), pa.id);
    {
        char ep[64], want[128];
        long long seq = id_seq(f.id, ep, sizeof(ep));
        snprintf(want, sizeof(want), "%s-%lld", S(itest_jstr(d, "epoch")), itest_jint(d, "id"));
        CU_ASSERT_STRING_EQUAL(f.id, want);
        CU_ASSERT_TRUE(seq > 0);
    }
    json_object_put(d);
    frame_free(&f);
    sse_close(&c);

    /* A producer's token streams its project too. */
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &tok_a, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(heartbeat(&mem_a, run), 200);
    CU_ASSERT_EQUAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
    CU_ASSERT_STRING_EQUAL(f.event, "run.heartbeat");
    frame_free(&f);
    sse_close(&c);
}

/* Project B's events never reach a member of A only — not with a forged header, not by
 * asking for B. An instance admin sees every project. */
static void test_isolation(void)
{
    struct sse_conn plain, forged, admin;
    struct sse_frame f;
    char rb[40], ra[40], hdr[64];
    int seen_b = 0, seen_a = 0, admin_b = 0, admin_a = 0;

    snprintf(hdr, sizeof(hdr), "X-Runwatch-Projects: [%lld,%lld]", pa.id, pb.id);
    CU_ASSERT_EQUAL_FATAL(sse_open(&plain, &mem_a, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(sse_open(&forged, &mem_a, NULL, NULL, hdr, 0), 200);
    CU_ASSERT_EQUAL_FATAL(sse_open(&admin, &adm, NULL, NULL, NULL, 0), 200);
    /* B's run first: if it were delivered, it would come before A's. */
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_b, pb.slug, NULL, rb), 201);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, ra), 201);
    for (struct sse_conn *c = &plain; c; c = c == &plain ? &forged : NULL) {
        for (;;) {
            int rc = sse_next(c, ITEST_WAIT_MS, &f);
            if (rc != 1)
                break;
            if (f.data && strstr(f.data, rb))
                seen_b++;
            if (f.data && strstr(f.data, ra)) {
                seen_a++;
                frame_free(&f);
                break;
            }
            frame_free(&f);
        }
    }
    CU_ASSERT_EQUAL(seen_b, 0);
    CU_ASSERT_EQUAL(seen_a, 2);
    while (!(admin_a && admin_b) && sse_next(&admin, ITEST_WAIT_MS, &f) == 1) {
        admin_b |= f.data && strstr(f.data, rb);
        admin_a |= f.data && strstr(f.data, ra);
        frame_free(&f);
    }
    CU_ASSERT_TRUE(admin_a && admin_b);
    sse_close(&plain);
    sse_close(&forged);
    sse_close(&admin);
}

/* ?run= and ?types= are applied by the hub. */
static void test_filters(void)
{
    struct sse_conn c;
    struct sse_frame f;
    char r1[40], r2[40], q[160];
    struct http_resp r;
    char path[128];

    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, r1), 201);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, r2), 201);
    snprintf(q, sizeof(q), "run=%s&types=run.updated", r1);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL(heartbeat(&mem_a, r1), 200);
    snprintf(path, sizeof(path), "/api/v1/runs/%s", r2);
    CU_ASSERT_EQUAL(api_call(&mem_a, "PATCH", path, "{\"status\":\"running\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/runs/%s", r1);
    CU_ASSERT_EQUAL(api_call(&mem_a, "PATCH", path, "{\"status\":\"running\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
    CU_ASSERT_STRING_EQUAL(f.event, "run.updated");
    CU_ASSERT_PTR_NOT_NULL(f.data && strstr(f.data, r1));
    CU_ASSERT_PTR_NULL(f.data ? strstr(f.data, r2) : NULL);
    frame_free(&f);
    sse_close(&c);
}

/* Reads frames until one about run arrives; returns its id in id (and 1), 0 on timeout. */
static int wait_for_run(struct sse_conn *c, const char *run, char *id, size_t cap)
{
    struct sse_frame f;
    while (sse_next(c, ITEST_WAIT_MS, &f) == 1) {
        int hit = f.data && strstr(f.data, run);
        if (hit)
            snprintf(id, cap, "%s", f.id);
        frame_free(&f);
        if (hit)
            return 1;
    }
    return 0;
}

/* A client that reconnects with Last-Event-ID gets exactly what it missed, in order, then
 * live events; an id the hub cannot bridge gets `event: reset`. */
static void test_replay(void)
{
    struct sse_conn c;
    struct sse_frame f;
    char run[40], last[80], q[160], ep[64];
    long long seq, prev;
    int got = 0, order_ok = 1;

    snprintf(q, sizeof(q), "project=%lld", pa.id);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    CU_ASSERT_EQUAL_FATAL(wait_for_run(&c, run, last, sizeof(last)), 1);
    sse_close(&c);

    /* Missed while away: 5 heartbeats, and a run of project B (not to be replayed). */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(heartbeat(&mem_a, run), 200);
    CU_ASSERT_EQUAL(create_run(&mem_b, pb.slug, NULL, NULL), 201);

    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, last, NULL, 0), 200);
    prev = id_seq(last, ep, sizeof(ep));
    while (got < 5 && sse_next(&c, ITEST_WAIT_MS, &f) == 1) {
        char e2[64];
        seq = id_seq(f.id, e2, sizeof(e2));
        if (strcmp(f.event, "run.heartbeat") != 0 || seq <= prev || strcmp(e2, ep) != 0 ||
            !f.data || !strstr(f.data, run)) {
            fprintf(stderr, "\n  unexpected replay frame %s %s", f.id, f.event);
            order_ok = 0;
        }
        prev = seq;
        got++;
        frame_free(&f);
    }
    CU_ASSERT_EQUAL(got, 5);
    CU_ASSERT_TRUE(order_ok);
    /* Then live. */
    CU_ASSERT_EQUAL(heartbeat(&mem_a, run), 200);
    CU_ASSERT_EQUAL_FATAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
    CU_ASSERT_STRING_EQUAL(f.event, "run.heartbeat");
    CU_ASSERT_TRUE(id_seq(f.id, NULL, 0) > prev);
    snprintf(last, sizeof(last), "%s", f.id);
    frame_free(&f);
    sse_close(&c);

    /* Up to date: nothing to replay, no reset; the same id in the query works too. */
    snprintf(q, sizeof(q), "project=%lld&last_event_id=%s", pa.id, last);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL(heartbeat(&mem_a, run), 200);
    CU_ASSERT_EQUAL_FATAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
    CU_ASSERT_STRING_EQUAL(f.event, "run.heartbeat");
    CU_ASSERT_EQUAL(id_seq(f.id, NULL, 0), id_seq(last, NULL, 0) + 1);
    frame_free(&f);
    sse_close(&c);

    /* Another epoch, or not an id at all: reset. */
    static const char *const bad[] = {"zzzz1234-5", "garbage", "abc-0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, NULL, bad[i], NULL, 0), 200);
        CU_ASSERT_EQUAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
        CU_ASSERT_STRING_EQUAL(f.event, "reset");
        frame_free(&f);
        sse_close(&c);
    }

    /* Older than the ring: more than RING events since. */
    for (int i = 0; i < RING + 5; i++)
        if (heartbeat(&mem_a, run) != 200) {
            CU_FAIL("heartbeat failed");
            break;
        }
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL(sse_next(&c, ITEST_WAIT_MS, &f), 1);
    CU_ASSERT_STRING_EQUAL(f.event, "reset");
    CU_ASSERT_PTR_NOT_NULL(f.data && strstr(f.data, "too_old"));
    frame_free(&f);
    sse_close(&c);
}

/* ---- run.event frames carry the batch ---- */

/* POSTs body to the run's events; the answer's first_id into first (may be NULL). */
static long post_events(const char *run, const char *body, char *first, size_t cap)
{
    struct http_resp r;
    char path[128];
    long st;

    snprintf(path, sizeof(path), "/api/v1/runs/%s/events", run);
    if (api_call(&mem_a, "POST", path, body, &r) != 0)
        return -1;
    st = r.status;
    if (first && r.status == 201)
        snprintf(first, cap, "%s", S(http_json_string(&r, "first_id")));
    http_resp_free(&r);
    return st;
}

/* The text between after and the last occurrence of until in s, malloc'd; NULL when absent. */
static char *between(const char *s, const char *after, const char *until)
{
    const char *a = s ? strstr(s, after) : NULL, *b = NULL;

    if (!a)
        return NULL;
    a += strlen(after);
    for (const char *p = strstr(a, until); p; p = strstr(p + 1, until))
        b = p;
    return b ? strndup(a, (size_t)(b - a)) : NULL;
}

/* The next run.event frame's data, parsed, and the raw text of its events array (inside
 * the brackets) into *events when it has one. NULL on timeout. */
static json_object *next_batch(struct sse_conn *c, char **events)
{
    struct sse_frame f;
    json_object *d = NULL;

    *events = NULL;
    while (!d && sse_next(c, ITEST_WAIT_MS, &f) == 1) {
        if (strcmp(f.event, "run.event") == 0 && f.data) {
            d = json_tokener_parse(f.data);
            *events = between(f.data, "\"events\":[", "]}}");
        }
        frame_free(&f);
    }
    return d;
}

/* GET …/events from first_id on, as the raw text of its items (inside the brackets). */
static char *rest_batch(const char *run, const char *first_id, int limit)
{
    struct http_resp r;
    char path[192];
    char *items = NULL;

    snprintf(path, sizeof(path), "/api/v1/runs/%s/events?after=%lld&limit=%d", run,
             atoll(first_id) - 1, limit);
    if (api_call(&mem_a, "GET", path, NULL, &r) == 0 && r.status == 200)
        items = between(r.body, "{\"items\":[", "],\"next_cursor\"");
    http_resp_free(&r);
    return items;
}

/* A batch within the budget arrives with its events, byte for byte what GET …/events
 * returns for them (the defaulted ts and the redacted data included); a viewer needs no
 * request. */
static void test_event_frame_carries_batch(void)
{
    static const char body[] =
        "{\"events\":[{\"message\":\"first line\\nsecond, \\u00e9t\\u00e9 \\\"quoted\\\"\","
        "\"data\":{\"password\":\"hunter2\",\"step\":3,\"nested\":{\"z\":[1,2.50,{\"a\":null}]}}},"
        "{\"ts\":\"2026-01-02T03:04:05.678+02:00\",\"kind\":\"metric\",\"level\":\"warning\"},"
        "{\"level\":\"error\",\"message\":\"\"}]}";
    struct sse_conn c;
    char run[40], q[128], first[32] = "";
    char *events = NULL, *rest = NULL;
    json_object *d;

    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    snprintf(q, sizeof(q), "run=%s&types=run.event", run);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(post_events(run, body, first, sizeof(first)), 201);
    d = next_batch(&c, &events);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(itest_jint(d, "data.count"), 3);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(d, "data.first_id")), first);
    CU_ASSERT_TRUE(json_object_get_boolean(itest_jget(d, "data.truncated")) == 0 &&
                   itest_jget(d, "data.truncated") != NULL);
    CU_ASSERT_EQUAL(json_object_array_length(itest_jget(d, "data.events")), 3);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(d, "data.events.0.data.password")), "[redacted]");
    rest = rest_batch(run, first, 10);
    CU_ASSERT_PTR_NOT_NULL(rest);
    CU_ASSERT_PTR_NOT_NULL(events);
    if (rest && events && strcmp(rest, events) != 0)
        fprintf(stderr, "\n  frame: [%s]\n  REST:  [%s]", events, rest);
    CU_ASSERT_STRING_EQUAL(S(events), S(rest));
    free(events);
    free(rest);
    json_object_put(d);
    sse_close(&c);
}

/* Past EVENTS_LIVE_MAX_BYTES (32768) of event JSON the frame carries the ids and
 * truncated, no events: a batch of many events (which the statement does not even
 * render), a few big ones (rendered, then found too big), and one byte either side of the
 * bound. */
static void test_event_frame_truncated(void)
{
    enum { BOUND = 32768 };
    size_t cap = 600 * 64 + 80000;
    char *body = malloc(cap), *events = NULL;
    struct sse_conn c;
    char run[40], q[128], first[32] = "";
    json_object *d;
    size_t n, probe_len = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    snprintf(q, sizeof(q), "run=%s&types=run.event", run);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);

    /* 600 small events: about 110 KB rendered. */
    n = (size_t)snprintf(body, cap, "{\"events\":[");
    for (int i = 0; i < 600; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"message\":\"line %d\"}", i ? "," : "", i);
    snprintf(body + n, cap - n, "]}");
    CU_ASSERT_EQUAL_FATAL(post_events(run, body, first, sizeof(first)), 201);
    d = next_batch(&c, &events);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(itest_jint(d, "data.count"), 600);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(d, "data.first_id")), first);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(d, "data.last_id"));
    CU_ASSERT_TRUE(json_object_get_boolean(itest_jget(d, "data.truncated")));
    CU_ASSERT_PTR_NULL(itest_jget(d, "data.events"));
    CU_ASSERT_PTR_NULL(events);
    json_object_put(d);

    /* 4 events of 10,000 characters: few, but past the bound. */
    n = (size_t)snprintf(body, cap, "{\"events\":[");
    for (int i = 0; i < 4; i++) {
        n += (size_t)snprintf(body + n, cap - n, "%s{\"message\":\"", i ? "," : "");
        memset(body + n, 'y', 10000);
        n += 10000;
        n += (size_t)snprintf(body + n, cap - n, "\"}");
    }
    snprintf(body + n, cap - n, "]}");
    CU_ASSERT_EQUAL_FATAL(post_events(run, body, NULL, 0), 201);
    d = next_batch(&c, &events);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(itest_jint(d, "data.count"), 4);
    CU_ASSERT_TRUE(json_object_get_boolean(itest_jget(d, "data.truncated")));
    CU_ASSERT_PTR_NULL(itest_jget(d, "data.events"));
    free(events);
    json_object_put(d);

    /* The bound itself: a probe gives one event's rendered size with a one-character
     * message (a fixed ts, so its length does not vary), then messages that make the array
     * exactly BOUND bytes, and one byte more. The ids must keep their number of digits. */
    for (int tries = 0; tries < 3 && !probe_len; tries++) {
        CU_ASSERT_EQUAL_FATAL(post_events(run,
                                          "{\"ts\":\"2026-01-01T00:00:00Z\",\"message\":\"x\"}",
                                          first, sizeof(first)),
                              201);
        d = next_batch(&c, &events);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_PTR_NOT_NULL_FATAL(events);
        if (strspn(first, "9") != strlen(first)) /* the next id has as many digits */
            probe_len = strlen(events);
        free(events);
        json_object_put(d);
    }
    CU_ASSERT_TRUE_FATAL(probe_len > 0);
    for (int over = 0; over <= 1; over++) {
        size_t msg = 1 + (BOUND - 2 - probe_len) + (size_t)over;
        n = (size_t)snprintf(body, cap, "{\"ts\":\"2026-01-01T00:00:00Z\",\"message\":\"");
        memset(body + n, 'x', msg);
        n += msg;
        snprintf(body + n, cap - n, "\"}");
        CU_ASSERT_EQUAL_FATAL(post_events(run, body, NULL, 0), 201);
        d = next_batch(&c, &events);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL(json_object_get_boolean(itest_jget(d, "data.truncated")), over);
        if (over) {
            CU_ASSERT_PTR_NULL(events);
        } else {
            CU_ASSERT_EQUAL(events ? strlen(events) + 2 : 0, BOUND);
        }
        free(events);
        json_object_put(d);
    }
    sse_close(&c);
    free(body);
}

struct writer {
    char run[40];
    int n;
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++)
        if (heartbeat(&mem_a, w->run) != 200)
            w->failures++;
    return NULL;
}

/* Writers on several API workers at once: an unfiltered stream (an instance admin sees
 * every event) receives ids that go up by exactly one each time. */
static void test_order_concurrent(void)
{
    enum { WRITERS = 6, EACH = 60 };
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    struct sse_conn c;
    struct sse_frame f;
    long long prev = -1;
    int mine = 0, skipped = 0, frames = 0, failures = 0;
    char ep0[64] = "";

    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &adm, NULL, NULL, NULL, 0), 200);
    for (int i = 0; i < WRITERS; i++) {
        w[i].n = EACH;
        w[i].failures = 0;
        CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, w[i].run), 201);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    while (mine < WRITERS * EACH) {
        char ep[64];
        long long seq;
        if (sse_next(&c, ITEST_WAIT_MS, &f) != 1)
            break;
        seq = id_seq(f.id, ep, sizeof(ep));
        if (prev >= 0 && (seq != prev + 1 || strcmp(ep, ep0) != 0)) {
            fprintf(stderr, "\n  id %s after %s-%lld", f.id, ep0, prev);
            skipped++;
        }
        prev = seq;
        snprintf(ep0, sizeof(ep0), "%s", ep);
        frames++;
        if (strcmp(f.event, "run.heartbeat") == 0)
            for (int i = 0; i < WRITERS; i++)
                if (f.data && strstr(f.data, w[i].run))
                    mine++;
        frame_free(&f);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(mine, WRITERS * EACH);
    CU_ASSERT_EQUAL(skipped, 0);
    fprintf(stderr, " [%d frames in order] ", frames);
    sse_close(&c);
}

/* Idle streams hear a comment every keepalive interval (1 s in the test stack). */
static void test_keepalive(void)
{
    struct sse_conn c;
    long long deadline = now_ms() + ITEST_WAIT_MS;
    unsigned start;

    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_b, NULL, NULL, "X-Test: keepalive", 0), 200);
    /* The hello frame carries one comment; wait for two more. */
    start = c.comments;
    while (now_ms() < deadline) {
        struct sse_frame f;
        if (sse_next(&c, 200, &f) == 1)
            frame_free(&f);
        if (c.comments >= start + 3)
            break;
    }
    CU_ASSERT_TRUE(c.comments >= start + 3);
    sse_close(&c);
}

/* A run's input field of n bytes of x (`"input":{"blob":"xx…"}`), for create_run; malloc'd. */
static char *blob_input(size_t n)
{
    char *input = malloc(n + 64);
    if (input) {
        memcpy(input, "\"input\":{\"blob\":\"", 17);
        memset(input + 17, 'x', n);
        snprintf(input + 17 + n, 8, "\"}");
    }
    return input;
}

/* A client that stops reading is disconnected (and counted) once its backlog passes the
 * hub's per-client buffer, while a client that reads gets every event. Big events (runs
 * with a 100 KB input, under RUNWATCH_SSE_FRAME_MAX) fill the kernel's buffers quickly. */
static void test_slow_client(void)
{
    struct sse_conn slow, fast;
    struct sse_frame f;
    char q[64], run[40];
    char *input = blob_input(100 * 1024);
    long long slow0 = hub_metric("runwatch_sse_slow_disconnects_total"), slow1 = slow0;
    long long prev = -1;
    int created = 0, received = 0, skipped = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(input);
    CU_ASSERT_TRUE_FATAL(slow0 >= 0);
    snprintf(q, sizeof(q), "project=%lld&types=run.created", pa.id);
    CU_ASSERT_EQUAL_FATAL(sse_open(&slow, &mem_a, q, NULL, NULL, 4096), 200);
    CU_ASSERT_EQUAL_FATAL(sse_open(&fast, &mem_a, q, NULL, NULL, 0), 200);
    for (int i = 0; i < 600 && slow1 == slow0; i++) {
        if (create_run(&mem_a, pa.slug, input, run) != 201)
            break;
        created++;
        /* The fast client reads until it has this run's frame, as a browser keeps up. */
        while (received < created && sse_next(&fast, ITEST_WAIT_MS, &f) == 1) {
            long long seq = id_seq(f.id, NULL, 0);
            if (prev >= 0 && seq != prev + 1)
                skipped++;
            prev = seq;
            received++;
            frame_free(&f);
        }
        if (i % 10 == 9)
            slow1 = hub_metric("runwatch_sse_slow_disconnects_total");
    }
    while (received < created && sse_next(&fast, ITEST_WAIT_MS, &f) == 1) {
        received++;
        frame_free(&f);
    }
    fprintf(stderr, " [slow client dropped after %d events of 100 KB] ", created);
    CU_ASSERT_TRUE(slow1 > slow0);
    CU_ASSERT_EQUAL(received, created);
    CU_ASSERT_EQUAL(skipped, 0);
    /* The fast one is still connected and live. */
    CU_ASSERT_EQUAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    CU_ASSERT_EQUAL(wait_for_run(&fast, run, q, sizeof(q)), 1);
    sse_close(&slow);
    sse_close(&fast);
    free(input);
}

/* A message past RUNWATCH_SSE_FRAME_MAX (128 KiB: a run created with a 200 KB input)
 * reaches viewers as a stub with its id, type, project and run and "truncated": true,
 * and the stream goes on gap-free. */
static void test_truncated_frame(void)
{
    struct sse_conn c;
    struct sse_frame f;
    char q[64], run[40], run2[40];
    char *input = blob_input(200 * 1024);
    long long t0 = hub_metric("runwatch_sse_events_truncated_total"), seq = -1;
    int got = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(input);
    CU_ASSERT_TRUE_FATAL(t0 >= 0);
    snprintf(q, sizeof(q), "project=%lld&types=run.created", pa.id);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, q, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, input, run), 201);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run2), 201);
    while (got < 2 && sse_next(&c, ITEST_WAIT_MS, &f) == 1) {
        long long s2 = id_seq(f.id, NULL, 0);
        if (f.data && strstr(f.data, run)) {
            CU_ASSERT_PTR_NOT_NULL(strstr(f.data, "\"truncated\":true"));
            CU_ASSERT_PTR_NULL(strstr(f.data, "xxxx"));
            CU_ASSERT_TRUE(strlen(f.data) < 1024);
            seq = s2;
            got++;
        } else if (f.data && strstr(f.data, run2)) {
            /* The next one is whole, and follows without a gap. */
            CU_ASSERT_PTR_NULL(strstr(f.data, "\"truncated\""));
            CU_ASSERT_EQUAL(s2, seq + 1);
            got++;
        }
        frame_free(&f);
    }
    CU_ASSERT_EQUAL(got, 2);
    CU_ASSERT_TRUE(hub_metric("runwatch_sse_events_truncated_total") > t0);
    sse_close(&c);
    free(input);
}

/* ---- identities that change while their streams are open ---- */

/* Reads frames until the stream ends or deadline_ms pass: 1 when it ended. The reason of
 * an `event: revoked` frame seen on the way goes to why ("" when none came). */
static int wait_ended(struct sse_conn *c, int deadline_ms, char *why, size_t cap)
{
    long long deadline = now_ms() + deadline_ms;
    struct sse_frame f;

    why[0] = '\0';
    while (now_ms() < deadline) {
        int rc = sse_next(c, (int)(deadline - now_ms()), &f);
        if (rc < 0)
            return 1;
        if (rc == 1 && strcmp(f.event, "revoked") == 0) {
            json_object *d = f.data ? json_tokener_parse(f.data) : NULL;
            snprintf(why, cap, "%s", S(itest_jstr(d, "reason")));
            json_object_put(d);
        }
        frame_free(&f);
    }
    return 0;
}

/* A write to project A reaches c (which must watch A): the stream is still live. */
static int still_live(struct sse_conn *c)
{
    struct sse_frame f;
    char run[40];
    long long deadline = now_ms() + ITEST_WAIT_MS;
    int seen = 0;

    if (create_run(&adm, pa.slug, NULL, run) != 201)
        return 0;
    while (!seen && now_ms() < deadline && sse_next(c, 1000, &f) >= 0) {
        seen = f.data && strstr(f.data, run) != NULL;
        frame_free(&f);
    }
    return seen;
}

static long send_req(const struct ident *who, const char *method, const char *path,
                     const char *body)
{
    struct http_resp r;
    long st;

    if (api_call(who, method, path, body, &r) != 0)
        return -1;
    st = r.status;
    http_resp_free(&r);
    return st;
}

/* A revoked token's open streams end within seconds (they used to run on for up to
 * RUNWATCH_SSE_MAX_AGE_S, 15 minutes), with `event: revoked` first; another identity's
 * stream carries on. */
static void test_revoke_token_ends_stream(void)
{
    struct ident t;
    struct sse_conn ct, cm;
    char path[256], why[32];

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, pa.slug, "[\"read\"]", NULL, &t), 201);
    CU_ASSERT_EQUAL_FATAL(sse_open(&ct, &t, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(sse_open(&cm, &mem_a, NULL, NULL, NULL, 0), 200);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens/%lld", pa.slug, t.token_id);
    CU_ASSERT_EQUAL_FATAL(send_req(&adm, "DELETE", path, NULL), 204);
    CU_ASSERT_TRUE(wait_ended(&ct, ITEST_WAIT_MS, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "token");
    CU_ASSERT_TRUE(still_live(&cm));
    sse_close(&ct);
    sse_close(&cm);
    /* And it cannot come back. */
    CU_ASSERT_EQUAL(sse_open(&ct, &t, NULL, NULL, NULL, 0), 401);
    sse_close(&ct);
}

/* Logging out ends that session's streams; the same user's other session keeps its own. */
static void test_logout_ends_stream(void)
{
    struct ident u, other;
    struct sse_conn c1, c2;
    char why[32];

    CU_ASSERT_EQUAL_FATAL(itest_new_member(&adm, "logout", "stream.test", pa.slug, "viewer", &u),
                          0);
    other = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&other), 200);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c1, &u, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c2, &other, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(send_req(&u, "POST", "/api/v1/auth/logout", NULL), 204);
    CU_ASSERT_TRUE(wait_ended(&c1, ITEST_WAIT_MS, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "session");
    CU_ASSERT_TRUE(still_live(&c2));
    sse_close(&c1);
    sse_close(&c2);
    CU_ASSERT_EQUAL(sse_open(&c1, &u, NULL, NULL, NULL, 0), 401);
    sse_close(&c1);
}

/* Removed from a project: the stream ends, and the next one no longer shows that project. */
static void test_member_removed_ends_stream(void)
{
    struct ident u;
    struct sse_conn c;
    char path[256], q[64], why[32];

    CU_ASSERT_EQUAL_FATAL(itest_new_member(&adm, "removed", "stream.test", pa.slug, "member", &u),
                          0);
    snprintf(q, sizeof(q), "project=%lld", pa.id);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &u, q, NULL, NULL, 0), 200);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%lld", pa.slug, u.user_id);
    CU_ASSERT_EQUAL_FATAL(send_req(&adm, "DELETE", path, NULL), 204);
    CU_ASSERT_TRUE(wait_ended(&c, ITEST_WAIT_MS, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "user");
    sse_close(&c);
    CU_ASSERT_EQUAL(sse_open(&c, &u, q, NULL, NULL, 0), 404);
    sse_close(&c);
}

/* A role change in a project ends the member's streams too (they reconnect at once). */
static void test_role_change_ends_stream(void)
{
    struct ident u;
    struct sse_conn c;
    char path[256], why[32];

    CU_ASSERT_EQUAL_FATAL(itest_new_member(&adm, "role", "stream.test", pa.slug, "member", &u), 0);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &u, NULL, NULL, NULL, 0), 200);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%lld", pa.slug, u.user_id);
    CU_ASSERT_EQUAL_FATAL(send_req(&adm, "PATCH", path, "{\"role\":\"viewer\"}"), 200);
    CU_ASSERT_TRUE(wait_ended(&c, ITEST_WAIT_MS, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "user");
    sse_close(&c);
    CU_ASSERT_EQUAL(sse_open(&c, &u, NULL, NULL, NULL, 0), 200);
    sse_close(&c);
}

/* A disabled user's streams end; a new one is refused. */
static void test_user_disabled_ends_stream(void)
{
    struct ident u;
    struct sse_conn c;
    char path[128], why[32];

    CU_ASSERT_EQUAL_FATAL(itest_new_member(&adm, "disabled", "stream.test", pa.slug, "viewer", &u),
                          0);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &u, NULL, NULL, NULL, 0), 200);
    snprintf(path, sizeof(path), "/api/v1/users/%lld", u.user_id);
    CU_ASSERT_EQUAL_FATAL(send_req(&adm, "PATCH", path, "{\"disabled\":true}"), 200);
    CU_ASSERT_TRUE(wait_ended(&c, ITEST_WAIT_MS, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "user");
    sse_close(&c);
    CU_ASSERT_EQUAL(sse_open(&c, &u, NULL, NULL, NULL, 0), 401);
    sse_close(&c);
}

/* One token (or user) holds at most RUNWATCH_SSE_STREAMS_PER_USER streams (run.sh sets
 * STREAMS_PER_USER): the next is a JSON 429; another identity is not affected, and a
 * closed stream frees its place. */
static void test_streams_per_user(void)
{
    struct ident t;
    struct sse_conn c[STREAMS_PER_USER + 1], other;
    json_object *e;
    long long deadline;
    long st = 0;

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, pa.slug, "[\"read\"]", NULL, &t), 201);
    for (int i = 0; i < STREAMS_PER_USER; i++)
        CU_ASSERT_EQUAL_FATAL(sse_open(&c[i], &t, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL(sse_open(&c[STREAMS_PER_USER], &t, NULL, NULL, NULL, 0), 429);
    e = sse_error_body(&c[STREAMS_PER_USER]);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.code")), "too_many_streams");
    CU_ASSERT_PTR_NOT_NULL(strcasestr(c[STREAMS_PER_USER].head, "application/json"));
    json_object_put(e);
    sse_close(&c[STREAMS_PER_USER]);
    CU_ASSERT_EQUAL(sse_open(&other, &mem_a, NULL, NULL, NULL, 0), 200);
    sse_close(&other);
    /* The hub learns of the close when the connection drops: poll. */
    sse_close(&c[0]);
    deadline = now_ms() + ITEST_WAIT_MS;
    while (st != 200 && now_ms() < deadline) {
        st = sse_open(&c[0], &t, NULL, NULL, NULL, 0);
        if (st != 200) {
            sse_close(&c[0]);
            usleep(100000);
        }
    }
    CU_ASSERT_EQUAL(st, 200);
    for (int i = 0; i < STREAMS_PER_USER; i++)
        sse_close(&c[i]);
}

/* ---- who the hub and Redis believe (a local attacker's view) ---- */

/* A local process reaches the hub's port past nginx and forges X-Runwatch-Projects: the hub
 * refuses it (JSON 403) without the per-stack key nginx adds, and a wrong key is no better.
 * Nothing of project B arrives on such a connection. */
static void test_hub_direct_forged(void)
{
    const char *port = getenv("RUNWATCH_SSE_PORT");
    char url[64], hdr[160], rb[40];
    struct sse_conn c;
    struct sse_frame f;
    json_object *e;

    CU_ASSERT_PTR_NOT_NULL_FATAL(port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%s", port);
    snprintf(hdr, sizeof(hdr), "X-Runwatch-Projects: [%lld]", pb.id);
    CU_ASSERT_EQUAL(sse_open_at(&c, url, NULL, NULL, NULL, hdr, 0), 403);
    e = sse_error_body(&c);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.code")), "forbidden");
    json_object_put(e);
    /* Whatever came on it, no frame of B's run written now. */
    CU_ASSERT_EQUAL(create_run(&mem_b, pb.slug, NULL, rb), 201);
    while (sse_next(&c, 1000, &f) == 1) {
        CU_ASSERT_PTR_NULL(f.data ? strstr(f.data, rb) : NULL);
        frame_free(&f);
    }
    CU_ASSERT_PTR_NULL(c.body ? strstr(c.body, rb) : NULL);
    sse_close(&c);

    snprintf(hdr, sizeof(hdr),
             "X-Runwatch-Hub-Key: 0000000000000000000000000000000000000000000000000000000000000000"
             "\r\nX-Runwatch-Projects: [%lld]",
             pb.id);
    CU_ASSERT_EQUAL(sse_open_at(&c, url, NULL, NULL, NULL, hdr, 0), 403);
    sse_close(&c);
    /* Through nginx the same stream is fine (the key nginx adds is the right one). */
    CU_ASSERT_EQUAL(sse_open(&c, &mem_b, NULL, NULL, NULL, 0), 200);
    sse_close(&c);
}

/* Redis refuses a connection without the password (NOAUTH): a local process can neither
 * listen to every project's events nor publish one into a project's stream. */
static void test_redis_noauth(void)
{
    char msg[512], marker[64], run[40];
    const char *publish[3] = {"PUBLISH", "runwatch:events", msg};
    const char *subscribe[2] = {"SUBSCRIBE", "runwatch:events"};
    const char *ping[1] = {"PING"};
    struct sse_conn c;
    struct sse_frame f;
    char *reply;
    int forged = 0, real = 0;

    reply = itest_redis_anon(1, ping);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
    CU_ASSERT_EQUAL(strncmp(reply, "-NOAUTH", 7), 0);
    free(reply);
    reply = itest_redis_anon(2, subscribe);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
    CU_ASSERT_EQUAL(strncmp(reply, "-NOAUTH", 7), 0);
    free(reply);

    itest_unique("forged", marker, sizeof(marker));
    snprintf(msg, sizeof(msg),
             "{\"id\":999999999,\"epoch\":\"forged\",\"project\":%lld,\"type\":\"run.updated\","
             "\"run\":null,\"data\":{\"marker\":\"%s\"}}",
             pa.id, marker);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, NULL, NULL, NULL, 0), 200);
    reply = itest_redis_anon(3, publish);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
    CU_ASSERT_EQUAL(strncmp(reply, "-NOAUTH", 7), 0);
    free(reply);
    /* A real write after it: had the forged message gone through, it would come first. */
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    while (!real && sse_next(&c, ITEST_WAIT_MS, &f) == 1) {
        forged |= f.data && strstr(f.data, marker) != NULL;
        real = f.data && strstr(f.data, run) != NULL;
        frame_free(&f);
    }
    CU_ASSERT_TRUE(real);
    CU_ASSERT_FALSE(forged);
    sse_close(&c);
}

/* A member of 10,000 projects (made in SQL for speed) gets the events of the last one: the
 * project list crosses auth/check's head, nginx's auth_request and the hub whole. It was
 * once cut at 4 KiB, which left such a user a silently empty stream. */
static void test_many_projects(void)
{
    char tag[48], sql[1024], out[256], last[96], run[40];
    struct ident u;
    struct sse_conn c;
    struct sse_frame f;
    int got = 0;

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&adm, "bulk", "stream.test", &u), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&u), 200);
    itest_unique("bulk", tag, sizeof(tag));
    snprintf(sql, sizeof(sql),
             "WITH p AS (INSERT INTO projects (slug, name) SELECT '%s-' || g, '%s ' || g "
             "FROM generate_series(1, 10000) g RETURNING id) "
             "INSERT INTO project_members (project_id, user_id, role) "
             "SELECT p.id, u.id, 'member' FROM p, users u WHERE u.email = '%s'",
             tag, tag, u.email);
    CU_ASSERT_EQUAL_FATAL(itest_psql_admin(sql, out, sizeof(out)), 0);
    snprintf(last, sizeof(last), "%s-10000", tag);

    CU_ASSERT_EQUAL(sse_open(&c, &u, NULL, NULL, NULL, 0), 200);
    if (c.status == 200) {
        CU_ASSERT_EQUAL(create_run(&u, last, NULL, run), 201);
        while (!got && sse_next(&c, ITEST_WAIT_MS, &f) == 1) {
            got = f.data && strstr(f.data, run) != NULL;
            frame_free(&f);
        }
    } else {
        fprintf(stderr, "\n  stream of a member of 10,000 projects: %ld %s", c.status, S(c.body));
    }
    CU_ASSERT_TRUE(got);
    sse_close(&c);
    /* The other suites' instance admin lists every project: leave them as they were. */
    snprintf(sql, sizeof(sql), "DELETE FROM projects WHERE slug LIKE '%s-%%'", tag);
    CU_ASSERT_EQUAL(itest_psql_admin(sql, out, sizeof(out)), 0);
}

/* The stack's setting NAME as `runwatch-api config --shell` prints it (what the stack
 * rendered into nginx's config), or -1. */
static long stack_setting(const char *name)
{
    const char *bin = getenv("RUNWATCH_BIN_DIR");
    char cmd[1200], line[512];
    size_t n = strlen(name);
    long v = -1;
    FILE *p;

    if (!bin)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s/runwatch-api' config --shell", bin);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, name, n) == 0 && line[n] == '=')
            v = strtol(line + n + 2, NULL, 10); /* NAME='value' */
    pclose(p);
    return v;
}

/* Waits (ITEST_WAIT_MS at most) until the hub holds `want` streams: nginx has let go of the ones
 * closed before, so its per-address count is theirs no more. */
static int hub_clients_are(long long want)
{
    long long deadline = now_ms() + ITEST_WAIT_MS;

    while (hub_metric("runwatch_sse_clients") != want && now_ms() < deadline)
        usleep(50000);
    return hub_metric("runwatch_sse_clients") == want;
}

/* One address holds at most RUNWATCH_STREAM_CONN_LIMIT streams: the next one is a JSON 429,
 * and once one closes, another opens. Spread over users, so a per-user cap of the hub is
 * never what answers. */
static void test_conn_limit(void)
{
    enum { PER_USER = 8 };
    long limit = stack_setting("RUNWATCH_STREAM_CONN_LIMIT");
    struct sse_conn *cs;
    struct ident *users;
    size_t n_users;
    long opened = 0;
    json_object *e;
    struct sse_conn extra;

    size_t n_streams = limit > 0 && limit <= 1000 ? (size_t)limit : 0;

    CU_ASSERT_TRUE_FATAL(n_streams > 0);
    n_users = (n_streams + PER_USER) / PER_USER;
    cs = calloc(n_streams, sizeof(*cs));
    users = calloc(n_users, sizeof(*users));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(users);
    for (size_t i = 0; i < n_users; i++)
        CU_ASSERT_EQUAL_FATAL(
            itest_new_member(&adm, "conns", "stream.test", pa.slug, "viewer", &users[i]), 0);
    CU_ASSERT_TRUE_FATAL(hub_clients_are(0));
    for (long i = 0; i < limit; i++) {
        long st = sse_open(&cs[i], &users[i / PER_USER], NULL, NULL, NULL, 0);
        opened += st == 200;
        if (st != 200)
            fprintf(stderr, "\n  stream %ld of %ld: %ld %s", i + 1, limit, st, S(cs[i].body));
    }
    CU_ASSERT_EQUAL(opened, limit);
    CU_ASSERT_EQUAL(sse_open(&extra, &users[n_users - 1], NULL, NULL, NULL, 0), 429);
    e = sse_error_body(&extra);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(e, "error.code")), "throttled");
    CU_ASSERT_PTR_NOT_NULL(strcasestr(extra.head, "content-type: application/json"));
    json_object_put(e);
    sse_close(&extra);
    /* The REST API of the same address is not counted with the streams. */
    {
        struct http_resp r;
        CU_ASSERT_EQUAL(api_call(&users[0], "GET", "/api/v1/auth/me", NULL, &r), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        http_resp_free(&r);
    }
    sse_close(&cs[0]);
    CU_ASSERT_TRUE(hub_clients_are(limit - 1));
    CU_ASSERT_EQUAL(sse_open(&extra, &users[0], NULL, NULL, NULL, 0), 200);
    sse_close(&extra);
    for (long i = 0; i < limit; i++)
        sse_close(&cs[i]);
    free(cs);
    free(users);
}

static int redis_pid(void)
{
    char path[1024];
    int pid = -1;
    FILE *f = fopen(var_path("run/redis.pid", path, sizeof(path)), "r");
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return pid;
}

/* Publishing runs the script by its SHA-1. When Redis forgets it (SCRIPT FLUSH), a worker's
 * next publish is refused (NOSCRIPT, no id taken) and sent again with the script before
 * anything else: every write still reaches the stream, in the order written. */
static void test_script_flushed(void)
{
    struct sse_conn c;
    struct sse_frame f;
    char runs[8][40], cmd[256];
    const char *port = getenv("RUNWATCH_REDIS_PORT");
    int seen = 0, in_order = 1;
    long long prev = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(port);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, "types=run.created", NULL, NULL, 0), 200);
    {
        /* redis-cli takes the stack's password from the environment, not its arguments. */
        char pw[256];
        setenv("REDISCLI_AUTH", itest_redis_password(pw, sizeof(pw)), 1);
        snprintf(cmd, sizeof(cmd), "redis-cli --no-auth-warning -p %s SCRIPT FLUSH 2>&1", port);
        {
            FILE *p = popen(cmd, "r");
            char line[256] = "";
            CU_ASSERT_PTR_NOT_NULL_FATAL(p);
            if (!fgets(line, sizeof(line), p))
                line[0] = '\0';
            CU_ASSERT_EQUAL(pclose(p), 0);
            CU_ASSERT_EQUAL(strncmp(line, "OK", 2), 0);
        }
        unsetenv("REDISCLI_AUTH");
    }
    /* More writes than workers, so every worker meets the flushed cache. */
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, runs[i]), 201);
    while (seen < 8 && sse_next(&c, ITEST_WAIT_MS, &f) == 1) {
        if (f.data && strstr(f.data, runs[seen])) {
            long long seq = id_seq(f.id, NULL, 0);
            in_order &= seq > prev;
            prev = seq;
            seen++;
        } else if (f.data) {
            for (int i = seen + 1; i < 8; i++)
                in_order &= !strstr(f.data, runs[i]);
        }
        frame_free(&f);
    }
    CU_ASSERT_EQUAL(seen, 8);
    CU_ASSERT_TRUE(in_order);
    sse_close(&c);
}

/* Stops Redis (pid) and waits until the stack has it running again: 0 when done. */
static int redis_restart(int pid)
{
    long long deadline = now_ms() + ITEST_WAIT_MS;
    int now;

    if (kill(pid, SIGTERM) != 0)
        return -1;
    while (kill(pid, 0) == 0 && now_ms() < deadline)
        usleep(50000);
    if (kill(pid, 0) == 0)
        return -1;
    /* The stack's supervisor starts it again (after 0.5 s, the first step of its backoff),
     * from the same recipe: starting one here as well would race it for the port and the
     * config file. 60 s is for a busy machine. */
    deadline = now_ms() + 60000;
    while (((now = redis_pid()) <= 0 || now == pid || kill(now, 0) != 0) && now_ms() < deadline)
        usleep(100000);
    return now > 0 && now != pid && kill(now, 0) == 0 ? 0 : -1;
}

/* Redis restarts (without persistence: the id counter starts over in a new epoch): the
 * stream gets `event: reset` and ends; reopened, it carries live events under the new
 * epoch. */
static void test_redis_restart(void)
{
    struct sse_conn c;
    struct sse_frame f;
    char run[40], id1[80], ep1[64], ep2[64];
    int pid = redis_pid(), reset = 0, live = 0, ended = 0;
    long long deadline;

    CU_ASSERT_TRUE_FATAL(pid > 0);
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, NULL, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    CU_ASSERT_EQUAL_FATAL(wait_for_run(&c, run, id1, sizeof(id1)), 1);
    id_seq(id1, ep1, sizeof(ep1));

    CU_ASSERT_EQUAL_FATAL(redis_restart(pid), 0);

    /* The hub resubscribes (backoff up to 5 s), tells the client, and ends the stream: a
     * revocation published during the gap would be lost to it, so every client passes
     * auth_request again. */
    deadline = now_ms() + ITEST_WAIT_MS;
    while (!reset && now_ms() < deadline && sse_next(&c, 1000, &f) >= 0) {
        reset = strcmp(f.event, "reset") == 0;
        frame_free(&f);
    }
    CU_ASSERT_TRUE_FATAL(reset);
    deadline = now_ms() + ITEST_WAIT_MS;
    while (!ended && now_ms() < deadline) {
        ended = sse_next(&c, 1000, &f) < 0;
        frame_free(&f);
    }
    CU_ASSERT_TRUE(ended);
    sse_close(&c);
    /* The browser reconnects with its last id, and the stream carries on. */
    CU_ASSERT_EQUAL_FATAL(sse_open(&c, &mem_a, NULL, id1, NULL, 0), 200);
    /* Writes publish again once the API's connection is back (it retries after 1 s). */
    deadline = now_ms() + ITEST_WAIT_MS;
    while (!live && now_ms() < deadline) {
        char r2[40];
        CU_ASSERT_EQUAL(create_run(&mem_a, pa.slug, NULL, r2), 201);
        while (!live && sse_next(&c, 1000, &f) == 1) {
            live = f.data && strstr(f.data, r2);
            if (live)
                id_seq(f.id, ep2, sizeof(ep2));
            frame_free(&f);
        }
    }
    CU_ASSERT_TRUE(live);
    if (live)
        CU_ASSERT_STRING_NOT_EQUAL(ep1, ep2);
    sse_close(&c);
}

/* After a Redis restart each worker's publishing connection is stale until used: a
 * revocation that finds it so is sent again on a new one, not lost (nothing else would
 * tell the hub later). No write comes between the restart and the revocations. */
static void test_revoke_after_redis_restart(void)
{
    enum { N = 6 }; /* twice the stack's workers (run.sh) */
    struct ident t[N];
    struct sse_conn c[N];
    char path[256], why[32], run[40];
    long long deadline;

    /* Every worker publishes once, so each holds a connection to the Redis to come down. */
    for (int i = 0; i < 3 * N; i++)
        CU_ASSERT_EQUAL(create_run(&mem_a, pa.slug, NULL, run), 201);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, pa.slug, "[\"read\"]", NULL, &t[i]), 201);
    CU_ASSERT_EQUAL_FATAL(redis_restart(redis_pid()), 0);
    deadline = now_ms() + ITEST_WAIT_MS;
    while (hub_metric("runwatch_sse_redis_subscribed") != 1 && now_ms() < deadline)
        usleep(100000);
    CU_ASSERT_EQUAL_FATAL(hub_metric("runwatch_sse_redis_subscribed"), 1);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL_FATAL(sse_open(&c[i], &t[i], NULL, NULL, NULL, 0), 200);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens/%lld", pa.slug, t[i].token_id);
        CU_ASSERT_EQUAL(send_req(&adm, "DELETE", path, NULL), 204);
    }
    for (int i = 0; i < N; i++) {
        CU_ASSERT_TRUE(wait_ended(&c[i], ITEST_WAIT_MS, why, sizeof(why)));
        CU_ASSERT_STRING_EQUAL(why, "token");
        sse_close(&c[i]);
    }
}

int suite_stream_register(void)
{
    CU_pSuite s = CU_add_suite("stream", stream_init, stream_fini);
    if (!s)
        return 1;
    return !CU_add_test(s, "no session: 401 in JSON", test_unauthenticated) ||
           !CU_add_test(s, "bad filters name the field", test_bad_filters) ||
           !CU_add_test(s, "a REST write reaches the stream", test_live) ||
           !CU_add_test(s, "a member of A never sees B", test_isolation) ||
           !CU_add_test(s, "run and type filters", test_filters) ||
           !CU_add_test(s, "Last-Event-ID replay and reset", test_replay) ||
           !CU_add_test(s, "run.event carries its batch as GET returns it",
                        test_event_frame_carries_batch) ||
           !CU_add_test(s, "a batch past the bound: ids and truncated",
                        test_event_frame_truncated) ||
           !CU_add_test(s, "ids in order across concurrent writers", test_order_concurrent) ||
           !CU_add_test(s, "keepalive comments", test_keepalive) ||
           !CU_add_test(s, "a client that stops reading is dropped", test_slow_client) ||
           !CU_add_test(s, "a message past the frame cap arrives truncated",
                        test_truncated_frame) ||
           !CU_add_test(s, "a revoked token's stream ends", test_revoke_token_ends_stream) ||
           !CU_add_test(s, "logout ends that session's stream", test_logout_ends_stream) ||
           !CU_add_test(s, "removal from the project ends the stream",
                        test_member_removed_ends_stream) ||
           !CU_add_test(s, "a role change ends the stream", test_role_change_ends_stream) ||
           !CU_add_test(s, "a disabled user's stream ends", test_user_disabled_ends_stream) ||
           !CU_add_test(s, "streams per user or token are capped", test_streams_per_user) ||
           !CU_add_test(s, "straight to the hub, a forged project list gets a 403",
                        test_hub_direct_forged) ||
           !CU_add_test(s, "redis without its password: NOAUTH, nothing injected",
                        test_redis_noauth) ||
           !CU_add_test(s, "a member of 10,000 projects gets the last one's events",
                        test_many_projects) ||
           !CU_add_test(s, "one address past its stream limit gets a JSON 429", test_conn_limit) ||
           !CU_add_test(s, "redis forgets the script: nothing lost", test_script_flushed) ||
           !CU_add_test(s, "redis restart: reset, end, then live", test_redis_restart) ||
           !CU_add_test(s, "a revocation after a redis restart still ends the stream",
                        test_revoke_after_redis_restart);
}
