/* Edge suite: what nginx itself answers. Every error a client can provoke from nginx (or
 * from the hub behind it) is the API's JSON error shape with Content-Type application/json,
 * sent over a plain socket where curl cannot write the request (TRACE, a broken request
 * line, an unknown Transfer-Encoding, HTTP/2.0 on the HTTP/1 listener…). Every kind of
 * response (static index, asset, API JSON, API error, nginx error, the live stream,
 * /metrics) carries the security headers. Source maps are a JSON 404. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "itest.h"

static struct ident adm, token;
static const struct ident anon = {.kind = IDENT_ANON};

static int edge_init(void)
{
    char slug[64];
    long long pid;
    if (itest_instance_admin(&adm) != 0 ||
        itest_make_project(&adm, "edge", slug, sizeof(slug), &pid) != 0)
        return 1;
    return itest_new_token(&adm, slug, "[\"read\",\"write\"]", NULL, &token) == 201 ? 0 : 1;
}

/* ---- one request over a plain socket ---- */

struct raw_resp {
    int status;
    char head[16384]; /* the status line and headers, NUL-terminated */
    char *body;       /* malloc'd, NUL-terminated */
    size_t body_len;
};

static void raw_free(struct raw_resp *r)
{
    free(r->body);
    r->body = NULL;
}

static int raw_connect(void)
{
    const char *url = getenv("RUNWATCH_TEST_URL");
    char host[128];
    int port, fd;
    struct sockaddr_in sa;

    if (!url || sscanf(url, "http://%127[^:]:%d", host, &port) != 2)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The value of a header in a raw head, copied into buf (first occurrence), or NULL. */
static const char *raw_header(const struct raw_resp *r, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1, *end = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(buf, cap, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
            return buf;
        }
    }
    return NULL;
}

static int raw_header_count(const struct raw_resp *r, const char *name)
{
    size_t n = strlen(name);
    int count = 0;
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            count++;
    return count;
}

/* Sends req (len bytes) on a new connection; its descriptor, or -1. A send the server cut
 * short (it answered before the body was in) is not an error: the answer is what counts. */
static int raw_send(const char *req, size_t len)
{
    size_t sent = 0;
    int fd = raw_connect();

    if (fd < 0) {
        fprintf(stderr, "\n  cannot connect for %.60s…: %s", req, strerror(errno));
        return -1;
    }
    while (sent < len) {
        ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    return fd;
}

/* Reads one response on fd, then closes it: its head, and a body of Content-Length bytes
 * or up to the end of the connection. head_only stops after the head of a 200 (the live
 * stream, which never ends); any other answer is read whole.
 * Returns 0 when a response arrived. */
static int raw_recv(int fd, int head_only, struct raw_resp *out)
{
    size_t cap = 1 << 16, got = 0;
    size_t body_at = 0; /* where the body starts (an offset: buf may move), 0 before the head */
    char *buf = malloc(cap + 1), cl[32];
    long want = -1;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (fd < 0 || !buf)
        goto out;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t n;
        /* The head is all there is: a stream is only looked at, a 204 or 304 has no body.
         * A stream refused (not 200) is read to its end, so that the answer checked is
         * this one: asking again could reach the API on a connection nginx kept. */
        if (body_at &&
            ((head_only && out->status == 200) || out->status == 204 || out->status == 304))
            break;
        if (body_at && want >= 0 && got - body_at >= (size_t)want)
            break;
        if (poll(&pfd, 1, 60000) <= 0) /* a generous deadline: only a hang trips it */
            break;
        if (got == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        n = recv(fd, buf + got, cap - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        const char *end;
        if (!body_at && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            body_at = (size_t)(end - buf) + 4;
            snprintf(out->head, sizeof(out->head), "%.*s", (int)(end - buf), buf);
            if (sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
                out->status = 0;
            if (raw_header(out, "Content-Length", cl, sizeof(cl)))
                want = atol(cl);
        }
    }
    if (!body_at || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        fprintf(stderr, "\n  no response (%zu bytes: %.80s)", got, got ? buf : "");
        goto out;
    }
    out->body_len = got - body_at;
    out->body = malloc(out->body_len + 1);
    if (!out->body)
        goto out;
    memcpy(out->body, buf + body_at, out->body_len);
    out->body[out->body_len] = '\0';
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

static int raw_do(const char *req, size_t len, int head_only, struct raw_resp *out)
{
    return raw_recv(raw_send(req, len), head_only, out);
}

static int raw_str(const char *req, struct raw_resp *out)
{
    return raw_do(req, strlen(req), 0, out);
}

/* ---- what every response must carry ---- */

/* The security headers (nginx/security_headers.conf), each once; no HSTS over plain HTTP. */
static int has_security_headers(const struct raw_resp *r, const char *what)
{
    char v[1024];
    int ok = 1;

#define EDGE_NEED(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "\n  %s: ", what);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            ok = 0;                                                                                \
        }                                                                                          \
    } while (0)
    EDGE_NEED(raw_header(r, "Content-Security-Policy", v, sizeof(v)) &&
                  strstr(v, "frame-ancestors 'none'") && strstr(v, "script-src 'self'") &&
                  strstr(v, "object-src 'none'") && !strstr(v, "unsafe-eval"),
              "Content-Security-Policy missing or weak");
    EDGE_NEED(raw_header(r, "X-Frame-Options", v, sizeof(v)) && strcasecmp(v, "DENY") == 0,
              "X-Frame-Options is not DENY");
    EDGE_NEED(raw_header(r, "X-Content-Type-Options", v, sizeof(v)) && strcmp(v, "nosniff") == 0,
              "X-Content-Type-Options is not nosniff");
    EDGE_NEED(raw_header_count(r, "X-Content-Type-Options") == 1, "X-Content-Type-Options %d times",
              raw_header_count(r, "X-Content-Type-Options"));
    EDGE_NEED(raw_header_count(r, "Content-Security-Policy") == 1,
              "Content-Security-Policy %d times", raw_header_count(r, "Content-Security-Policy"));
    EDGE_NEED(raw_header(r, "Referrer-Policy", v, sizeof(v)) != NULL, "no Referrer-Policy");
    EDGE_NEED(raw_header(r, "Strict-Transport-Security", v, sizeof(v)) == NULL,
              "HSTS over plain HTTP");
#undef EDGE_NEED
    return ok;
}

/* The response is status, Content-Type application/json, and the error shape
 * {"error":{"code":"…","message":"…"}}. */
static int is_json_error(const struct raw_resp *r, int status, const char *what)
{
    char ct[256];
    json_object *root = NULL, *e, *code, *msg;
    int ok = 1;

    if (r->status != status) {
        fprintf(stderr, "\n  %s: status %d, want %d", what, r->status, status);
        ok = 0;
    }
    if (!raw_header(r, "Content-Type", ct, sizeof(ct)) ||
        strncmp(ct, "application/json", 16) != 0) {
        fprintf(stderr, "\n  %s: Content-Type %s", what,
                raw_header(r, "Content-Type", ct, sizeof(ct)) ? ct : "(none)");
        ok = 0;
    }
    if (r->body)
        root = json_tokener_parse(r->body);
    if (!root || !json_object_object_get_ex(root, "error", &e) ||
        !json_object_object_get_ex(e, "code", &code) ||
        !json_object_is_type(code, json_type_string) ||
        !json_object_object_get_ex(e, "message", &msg) ||
        !json_object_is_type(msg, json_type_string) || !*json_object_get_string(code)) {
        fprintf(stderr, "\n  %s: not the JSON error shape: %.200s", what,
                r->body ? r->body : "(no body)");
        ok = 0;
    }
    json_object_put(root);
    return ok;
}

static void expect_json_error(const char *what, const char *req, size_t len, int status)
{
    struct raw_resp r;
    CU_ASSERT_EQUAL_FATAL(raw_do(req, len, 0, &r), 0);
    CU_ASSERT_TRUE(is_json_error(&r, status, what));
    CU_ASSERT_TRUE(has_security_headers(&r, what));
    raw_free(&r);
}

#define EXPECT(what, req, status) expect_json_error(what, req, sizeof(req) - 1, status)

/* ---- the tests ---- */

/* Errors raised while nginx reads the request, before (or instead of) any location. */
static void test_protocol_errors(void)
{
    char *big;
    size_t n = 20000;

    EXPECT("TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
    EXPECT("unknown Transfer-Encoding",
           "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    EXPECT("garbage request line", "GARBAGE\r\n\r\n", 400);
    EXPECT("lowercase method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    EXPECT("HTTP/2.0 on the HTTP/1 listener", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    EXPECT("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400);
    EXPECT("space in a header name", "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400);
    EXPECT("malformed Content-Length",
           "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400);
    EXPECT("Content-Length and chunked",
           "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           400);
    EXPECT("chunked in HTTP/1.0",
           "POST /api/v1/auth/login HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    EXPECT("CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    EXPECT("a body over nginx's limit for the API",
           "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n", 413);

    size_t cap = n + 512;
    big = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    /* A request line, then a header, each longer than a large header buffer (16k). */
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', n);
    snprintf(big + 5 + n, cap - 5 - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_json_error("URI too long", big, strlen(big), 414);
    snprintf(big, 64, "GET / HTTP/1.1\r\nHost: x\r\nX-A: ");
    size_t at = strlen(big);
    memset(big + at, 'a', n);
    snprintf(big + at + n, cap - at - n, "\r\n\r\n");
    expect_json_error("header too large", big, strlen(big), 400);
    free(big);
}

/* Errors of the static files and of nginx's own locations. */
static void test_static_errors(void)
{
    EXPECT("POST to a static file",
           "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 405);
    EXPECT("OPTIONS on a static file", "OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
    EXPECT("a missing asset", "GET /assets/nope-123.js HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    EXPECT("the assets directory", "GET /assets/ HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    EXPECT("If-Match that does not match",
           "GET /assets/app-edge.js HTTP/1.1\r\nHost: x\r\nIf-Match: \"nope\"\r\n\r\n", 412);
    EXPECT("POST to the OpenAPI document",
           "POST /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405);
    EXPECT("an internal location from outside", "GET /_errors/internal HTTP/1.1\r\nHost: x\r\n\r\n",
           404);
    EXPECT("/metrics from a client without credentials", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
           401);
}

/* nginx serves no byte ranges (max_ranges 0): a range it cannot satisfy would be an
 * error answered after the location's headers were already set. The whole file comes. */
static void test_no_ranges(void)
{
    struct raw_resp r;
    char v[64];
    CU_ASSERT_EQUAL_FATAL(
        raw_str("GET /assets/app-edge.js HTTP/1.1\r\nHost: x\r\nRange: bytes=999999-\r\n\r\n", &r),
        0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NULL(raw_header(&r, "Content-Range", v, sizeof(v)));
    CU_ASSERT_TRUE(has_security_headers(&r, "a range request"));
    raw_free(&r);
}

/* No source map is served, even one left in the static directory (run.sh puts one
 * there; a production build has none: vite.config.ts, frontend/scripts/bundle-size.mjs). */
static void test_source_maps(void)
{
    EXPECT("a source map under /assets/", "GET /assets/app-edge.js.map HTTP/1.1\r\nHost: x\r\n\r\n",
           404);
    EXPECT("a source map at the root", "GET /app-edge.js.map HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    /* The script itself is served. */
    struct raw_resp r;
    CU_ASSERT_EQUAL_FATAL(raw_str("GET /assets/app-edge.js HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    raw_free(&r);
}

/* The live stream is a GET without a body: the hub's HTTP library answered anything else
 * in HTML (413 for a body), so nginx refuses it first. Signed in, so the request would
 * otherwise reach the hub. */
static void test_stream_errors(void)
{
    char req[1024];

    EXPECT("POST to the stream, anonymous",
           "POST /api/v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 405);
    snprintf(req, sizeof(req),
             "POST /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 5\r\n\r\nhello",
             token.secret);
    expect_json_error("POST with a body to the stream", req, strlen(req), 405);
    snprintf(req, sizeof(req),
             "DELETE /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             token.secret);
    expect_json_error("DELETE on the stream", req, strlen(req), 405);
    snprintf(req, sizeof(req),
             "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 5\r\n\r\nhello",
             token.secret);
    expect_json_error("GET with a body to the stream", req, strlen(req), 413);
    snprintf(req, sizeof(req),
             "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
             token.secret);
    expect_json_error("GET with a chunked body to the stream", req, strlen(req), 413);
    snprintf(req, sizeof(req),
             "POST /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 3000000\r\n\r\n",
             token.secret);
    expect_json_error("a body over the stream's limit", req, strlen(req), 413);
}

/* A throttled login with a body larger than the error location's own limit: the 429 is
 * JSON, not a second, HTML 413 from the internal redirect to the error page. */
/* More than run.sh's RUNWATCH_LOGIN_BURST (40) cheap requests in one round. */
#define EDGE_THROTTLE_ROUND 60

static void test_throttled_large_login(void)
{
    const size_t body_len = 1500000; /* under /api/'s 2m, over the 1m default */
    static const char small[] = "GET /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n\r\n";
    char head[256];
    struct raw_resp r;
    int tripped = 0, big_429 = 0, html = 0;
    double deadline = itest_now_s() + 120;
    int n = snprintf(head, sizeof(head),
                     "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     body_len);
    char *big = malloc((size_t)n + body_len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memcpy(big, head, (size_t)n);
    memset(big + n, ' ', body_len);
    /* Each round sends more cheap requests than the burst allows, all before reading any
     * answer, so nginx counts them at once whatever the API's speed (the throttle acts
     * before the API); then the large one. It may still be read before the others: then
     * another round. Every answer, throttled or not, must be JSON. */
    while (!big_429 && itest_now_s() < deadline) {
        int fds[EDGE_THROTTLE_ROUND];
        for (int i = 0; i < EDGE_THROTTLE_ROUND; i++)
            fds[i] = raw_send(small, sizeof(small) - 1);
        if (raw_do(big, (size_t)n + body_len, 0, &r) == 0) {
            if (r.status == 429) {
                big_429 = 1;
                CU_ASSERT_TRUE(is_json_error(&r, 429, "throttled login with a large body"));
                CU_ASSERT_TRUE(has_security_headers(&r, "throttled login with a large body"));
            } else if (!is_json_error(&r, r.status, "large login body")) {
                html = 1;
            }
            raw_free(&r);
        }
        for (int i = 0; i < EDGE_THROTTLE_ROUND; i++) {
            if (raw_recv(fds[i], 0, &r) == 0) {
                tripped |= r.status == 429;
                if (!is_json_error(&r, r.status, "a cheap login request"))
                    html = 1;
            }
            raw_free(&r);
        }
    }
    free(big);
    CU_ASSERT_TRUE(tripped);
    CU_ASSERT_TRUE(big_429);
    CU_ASSERT_FALSE(html);
    /* Leave the bucket empty for the suites after this one. */
    deadline = itest_now_s() + 60;
    while (itest_now_s() < deadline && raw_str(small, &r) == 0) {
        int throttled = r.status == 429;
        raw_free(&r);
        if (!throttled)
            break;
        itest_sleep_ms(500);
    }
}

/* The API (or the hub's authorisation) down: nginx's 502 is the JSON 503. The API's
 * socket is moved aside, so nginx cannot connect; the API itself keeps running. */
static void test_upstream_down(void)
{
    char sock[600], aside[640], req[1024];
    const char *s = getenv("RUNWATCH_API_SOCKET");
    struct raw_resp r;
    int api_503 = 0, stream_503 = 0;
    double deadline;

    if (s && *s)
        snprintf(sock, sizeof(sock), "%s", s);
    else
        var_path("run/api.sock", sock, sizeof(sock));
    snprintf(aside, sizeof(aside), "%s.aside", sock);
    CU_ASSERT_EQUAL_FATAL(rename(sock, aside), 0);
    snprintf(req, sizeof(req),
             "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             token.secret);
    /* nginx may still hold kept connections to the API (upstream keepalive, 2 s): poll. */
    deadline = itest_now_s() + 60;
    while ((!api_503 || !stream_503) && itest_now_s() < deadline) {
        if (!api_503 && raw_str("GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0) {
            if (r.status != 200) {
                api_503 = 1;
                CU_ASSERT_TRUE(is_json_error(&r, 503, "the API down"));
                CU_ASSERT_TRUE(has_security_headers(&r, "the API down"));
            }
            raw_free(&r);
        }
        if (!stream_503 && raw_do(req, strlen(req), 1, &r) == 0) {
            if (r.status != 200) {
                stream_503 = 1;
                CU_ASSERT_TRUE(is_json_error(&r, 503, "the stream's authorisation down"));
                CU_ASSERT_TRUE(has_security_headers(&r, "the stream's authorisation down"));
            }
            raw_free(&r);
        }
        if (!api_503 || !stream_503)
            itest_sleep_ms(200);
    }
    CU_ASSERT_EQUAL(rename(aside, sock), 0);
    CU_ASSERT_TRUE(api_503);
    CU_ASSERT_TRUE(stream_503);
    CU_ASSERT_EQUAL(itest_status_settles(&anon, "/api/v1/healthz", 200), 200);
}

/* Every kind of successful response carries the security headers too. */
static void test_security_headers(void)
{
    char req[1024], tok[256], path[600];
    struct raw_resp r;
    FILE *f;

    static const struct {
        const char *what, *req;
        int status;
    } plain[] = {
        {"the static index", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"an app route (index.html)", "GET /p/some/runs HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"an asset", "GET /assets/app-edge.js HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"API JSON", "GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"API error", "GET /api/v1/no-such-route HTTP/1.1\r\nHost: x\r\n\r\n", 404},
        {"the OpenAPI document", "GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"the stream's health", "GET /api/v1/stream/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"nginx's own health", "GET /nginx-healthz HTTP/1.1\r\nHost: x\r\n\r\n", 204},
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(raw_str(plain[i].req, &r), 0);
        if (r.status != plain[i].status)
            fprintf(stderr, "\n  %s: status %d", plain[i].what, r.status);
        CU_ASSERT_EQUAL(r.status, plain[i].status);
        CU_ASSERT_TRUE(has_security_headers(&r, plain[i].what));
        raw_free(&r);
    }
    /* The live stream: only its head is read. */
    snprintf(req, sizeof(req),
             "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             token.secret);
    CU_ASSERT_EQUAL_FATAL(raw_do(req, strlen(req), 1, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(has_security_headers(&r, "the live stream"));
    raw_free(&r);
    /* /metrics with the metrics token. */
    f = fopen(var_path("metrics.token", path, sizeof(path)), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL(fgets(tok, sizeof(tok), f));
    fclose(f);
    tok[strcspn(tok, "\r\n")] = '\0';
    snprintf(req, sizeof(req),
             "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok);
    CU_ASSERT_EQUAL_FATAL(raw_str(req, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(has_security_headers(&r, "/metrics"));
    raw_free(&r);
}

int suite_edge_register(void)
{
    CU_pSuite s = CU_add_suite("edge", edge_init, NULL);
    if (!s)
        return -1;
    return !CU_add_test(s, "protocol errors are JSON", test_protocol_errors) ||
                   !CU_add_test(s, "static and location errors are JSON", test_static_errors) ||
                   !CU_add_test(s, "no byte ranges, so no 416", test_no_ranges) ||
                   !CU_add_test(s, "no source maps", test_source_maps) ||
                   !CU_add_test(s, "the stream refuses methods and bodies in JSON",
                                test_stream_errors) ||
                   !CU_add_test(s, "a throttled login with a large body is a JSON 429",
                                test_throttled_large_login) ||
                   !CU_add_test(s, "the API down is a JSON 503", test_upstream_down) ||
                   !CU_add_test(s, "security headers on every kind of response",
                                test_security_headers)
               ? -1
               : 0;
}
