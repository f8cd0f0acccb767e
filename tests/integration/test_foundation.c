/* Foundation: the whole request path through nginx (routing, errors, limits), the
 * worker supervisor (restart, reload), and the libfcgi hazards the worker is built to
 * survive. Liveness, readiness and the PostgreSQL outage are the health suite's. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_request_log_line(void)
{
    struct http_resp r;
    char id[128], path[1024], line[4096], want[200];
    int found = 0;
    FILE *f;

    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/healthz?probe=log", &r), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(http_header(&r, "X-Request-Id", id, sizeof(id)));
    http_resp_free(&r);
    snprintf(want, sizeof(want), "\"request_id\":\"%s\"", id);
    /* The line is written after the answer: waited for, however busy the machine. */
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0;
         !found && itest_now_s() < deadline;) {
        f = fopen(var_path("log/api.log", path, sizeof(path)), "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        while (fgets(line, sizeof(line), f))
            if (strstr(line, want) && strstr(line, "\"method\":\"GET\"") &&
                strstr(line, "\"path\":\"/api/v1/healthz\"") && strstr(line, "\"status\":200") &&
                strstr(line, "\"duration_ms\":"))
                found = 1;
        fclose(f);
        if (!found)
            sleep_ms(50);
    }
    CU_ASSERT_TRUE(found);
}

static void test_not_found_json(void)
{
    struct http_resp r;
    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/no-such-thing", &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r), "not_found");
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/healthz/", &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);
}

static void test_method_not_allowed(void)
{
    struct http_resp r;
    char buf[64];
    CU_ASSERT_EQUAL_FATAL(http_do("DELETE", "/api/v1/healthz", NULL, 0, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 405);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r), "method_not_allowed");
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Allow", buf, sizeof(buf)));
    CU_ASSERT_STRING_EQUAL(buf, "GET");
    http_resp_free(&r);
}

static void test_body_too_large(void)
{
    const char *const hdr[] = {"Content-Type: application/json", NULL};
    size_t n = 1536 * 1024; /* over the API's 1 MiB, under nginx's 2 MiB */
    char *big = malloc(3 * 1024 * 1024);
    struct http_resp r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', 3 * 1024 * 1024);
    CU_ASSERT_EQUAL(http_do("POST", "/api/v1/healthz", big, n, hdr, &r), 0);
    CU_ASSERT_EQUAL(r.status, 413);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r), "body_too_large");
    http_resp_free(&r);

    /* Past nginx's own limit the answer is nginx's, in the same JSON shape. */
    CU_ASSERT_EQUAL(http_do("POST", "/api/v1/healthz", big, 3 * 1024 * 1024, hdr, &r), 0);
    CU_ASSERT_EQUAL(r.status, 413);
    CU_ASSERT_PTR_NOT_NULL(http_error_code(&r));
    http_resp_free(&r);
    free(big);

    CU_ASSERT_EQUAL(http_get("/api/v1/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
}

static void test_oversized_header_via_nginx(void)
{
    size_t n = 100 * 1024;
    char *h = malloc(n + 32);
    const char *hdr[] = {h, NULL};
    struct http_resp r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memcpy(h, "X-Big: ", 7);
    memset(h + 7, 'b', n);
    h[7 + n] = '\0';
    CU_ASSERT_EQUAL(http_do("GET", "/api/v1/healthz", NULL, 0, hdr, &r), 0);
    CU_ASSERT_TRUE(r.status == 400 || r.status == 431 || r.status == 494);
    CU_ASSERT_PTR_NOT_NULL(http_error_code(&r));
    http_resp_free(&r);
    free(h);
    CU_ASSERT_EQUAL(http_get("/api/v1/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
}

static void test_malformed_json(void)
{
    const char *const hdr[] = {"Content-Type: application/json", "X-Runwatch-CSRF: 1", NULL};
    const char *const text[] = {"Content-Type: text/plain", "X-Runwatch-CSRF: 1", NULL};
    const char *bad[] = {"{\"email\":", "{'email':'a'}", "[1,2]", "{\"a\":NaN}", ""};
    struct http_resp r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(
            http_do("POST", "/api/v1/auth/login", bad[i], strlen(bad[i]), hdr, &r), 0);
        CU_ASSERT_EQUAL(r.status, 400);
        CU_ASSERT_STRING_EQUAL(http_error_code(&r), "invalid_json");
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL_FATAL(http_do("POST", "/api/v1/auth/login", "{}", 2, text, &r), 0);
    CU_ASSERT_EQUAL(r.status, 415);
    http_resp_free(&r);
}

static void test_malformed_query(void)
{
    struct http_resp r;
    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/healthz?a=%zz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r), "invalid_query");
    http_resp_free(&r);
}

/* ---- FastCGI-level hazards, straight at the api socket ---- */

static int fcgi_connect(void)
{
    char path[1024];
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    const char *sock = getenv("RUNWATCH_API_SOCKET");

    if (!sock)
        sock = var_path("run/api.sock", path, sizeof(path));
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int fcgi_record(int fd, int type, const void *body, size_t len)
{
    unsigned char h[8] = {
        1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8), (unsigned char)(len & 0xff), 0, 0};
    if (write(fd, h, 8) != 8)
        return -1;
    if (len && write(fd, body, len) != (ssize_t)len)
        return -1;
    return 0;
}

static size_t fcgi_pair(unsigned char *out, const char *name, uint32_t nlen_claim,
                        const char *value, size_t vlen)
{
    size_t o = 0;
    uint32_t nl = nlen_claim;
    out[o++] = (unsigned char)(0x80 | (nl >> 24));
    out[o++] = (unsigned char)(nl >> 16);
    out[o++] = (unsigned char)(nl >> 8);
    out[o++] = (unsigned char)nl;
    out[o++] = (unsigned char)(0x80 | (vlen >> 24));
    out[o++] = (unsigned char)(vlen >> 16);
    out[o++] = (unsigned char)(vlen >> 8);
    out[o++] = (unsigned char)vlen;
    memcpy(out + o, name, strlen(name));
    o += strlen(name);
    memcpy(out + o, value, vlen);
    return o + vlen;
}

/* Reads the whole response of a FastCGI request; returns bytes read or -1. */
static ssize_t fcgi_read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    /* Generous: a bound for a hung worker, never a speed check (ASan on a busy box once
     * took more than 5 s to answer the 60 KB parameter set after the bogus ones). */
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got - 1);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= cap - 1)
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

static void test_fcgi_oversized_params(void)
{
    static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}; /* responder, no keep-conn */
    unsigned char rec[256];
    pid_t before[64], after[64];
    int nb = api_worker_pids(before, 64), na, fd;
    size_t len;
    struct http_resp r;

    CU_ASSERT_TRUE_FATAL(nb > 0);
    /* A name claiming 2 GiB (the CVE-2025-23016 shape), then the stream ends. */
    for (int i = 0; i < nb + 1; i++) {
        fd = fcgi_connect();
        CU_ASSERT_TRUE_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(fcgi_record(fd, 1, begin, 8), 0);
        len = fcgi_pair(rec, "X", 0x7ffffff0u, "v", 1);
        fcgi_record(fd, 4, rec, len);
        fcgi_record(fd, 4, NULL, 0);
        close(fd);
    }
    /* A legitimate but large parameter set (60 KB value) is served normally. */
    {
        static char big[70000];
        char resp[8192];
        size_t o = 0, vlen = 60000;
        unsigned char *pbuf = malloc(vlen + 512);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pbuf);
        memset(big, 'v', vlen);
        o += fcgi_pair(pbuf + o, "REQUEST_METHOD", 14, "GET", 3);
        o += fcgi_pair(pbuf + o, "REQUEST_URI", 11, "/api/v1/healthz", 15);
        o += fcgi_pair(pbuf + o, "HTTP_X_BIG", 10, big, vlen);
        fd = fcgi_connect();
        CU_ASSERT_TRUE_FATAL(fd >= 0);
        fcgi_record(fd, 1, begin, 8);
        for (size_t off = 0; off < o; off += 65535)
            fcgi_record(fd, 4, pbuf + off, o - off > 65535 ? 65535 : o - off);
        fcgi_record(fd, 4, NULL, 0);
        fcgi_record(fd, 5, NULL, 0); /* empty stdin */
        ssize_t got = fcgi_read_all(fd, resp, sizeof(resp));
        CU_ASSERT_TRUE(got > 0);
        /* FastCGI record headers hold NUL bytes: search the bytes, not a C string. */
        CU_ASSERT_PTR_NOT_NULL(got > 0 ? memmem(resp, (size_t)got, "Status: 200", 11) : NULL);
        close(fd);
        free(pbuf);
    }
    sleep_ms(300);
    CU_ASSERT_EQUAL(http_get("/api/v1/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
    /* No worker died: the same processes are there. */
    na = api_worker_pids(after, 64);
    CU_ASSERT_EQUAL(na, nb);
    for (int i = 0; i < nb; i++) {
        int seen = 0;
        for (int j = 0; j < na; j++)
            seen |= before[i] == after[j];
        CU_ASSERT_TRUE(seen);
    }
}

/* Sends one FastCGI request on fd: BEGIN_REQUEST (keep_conn asks the worker to leave the
 * connection open after the answer), the given params as NAME, VALUE pairs, the body. */
static int fcgi_send(int fd, int keep_conn, const char *const *params, const char *body)
{
    unsigned char begin[8] = {0, 1, (unsigned char)(keep_conn ? 1 : 0), 0, 0, 0, 0, 0};
    unsigned char buf[4096];
    size_t o = 0, blen = body ? strlen(body) : 0;

    for (size_t i = 0; params[i]; i += 2)
        o += fcgi_pair(buf + o, params[i], (uint32_t)strlen(params[i]), params[i + 1],
                       strlen(params[i + 1]));
    if (fcgi_record(fd, 1, begin, 8) || fcgi_record(fd, 4, buf, o) || fcgi_record(fd, 4, NULL, 0))
        return -1;
    if (blen && fcgi_record(fd, 5, body, blen))
        return -1;
    return fcgi_record(fd, 5, NULL, 0);
}

/* Reads one answer up to its END_REQUEST record within timeout_ms: its STDOUT (NUL-ended)
 * into out, or -1 (nothing in time, or the connection ended). */
static int fcgi_answer(int fd, char *out, size_t cap, int timeout_ms)
{
    unsigned char h[8];
    size_t o = 0;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        size_t got = 0, len, pad;
        while (got < 8) {
            ssize_t n = read(fd, h + got, 8 - got);
            if (n <= 0)
                return -1;
            got += (size_t)n;
        }
        len = (size_t)h[4] << 8 | h[5];
        pad = h[6];
        for (size_t left = len + pad; left > 0;) {
            char tmp[4096];
            ssize_t n = read(fd, tmp, left < sizeof(tmp) ? left : sizeof(tmp));
            if (n <= 0)
                return -1;
            for (ssize_t i = 0; i < n; i++) {
                size_t at = len + pad - left + (size_t)i;
                if (h[1] == 6 && at < len && o + 1 < cap)
                    out[o++] = tmp[i];
            }
            left -= (size_t)n;
        }
        if (h[1] == 3) { /* END_REQUEST */
            out[o] = '\0';
            return 0;
        }
    }
}

/* nginx sends a request on whichever connection it keeps, so a worker that waits
 * (POST /runs/wait) must keep answering its other connections. Connections opened one
 * after another while the workers are idle mostly go to one worker, and the wait is sent
 * on the first of them: the others' requests are answered while the wait still waits. */
static void test_fcgi_wait_serves_others(void)
{
    enum { N = 8 };
    const char *const hz[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", "/api/v1/healthz", NULL};
    struct ident adm, tok;
    char slug[64], run[40], auth[300], body[128], clen[16], out[8192];
    long long pid;
    int fds[N], pending;

    CU_ASSERT_EQUAL_FATAL(itest_instance_admin(&adm), 0);
    CU_ASSERT_EQUAL_FATAL(itest_make_project(&adm, "fcgi-wait", slug, sizeof(slug), &pid), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, slug, "[\"read\",\"write\"]", NULL, &tok), 201);
    struct itest_run spec = {.project = NULL, .status = "queued"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&tok, &spec, run, sizeof(run)), 201);
    for (int i = 0; i < N; i++) {
        fds[i] = fcgi_connect();
        CU_ASSERT_TRUE_FATAL(fds[i] >= 0);
        CU_ASSERT_EQUAL_FATAL(fcgi_send(fds[i], 1, hz, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(fcgi_answer(fds[i], out, sizeof(out), ITEST_WAIT_MS), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 200"));
    }
    snprintf(auth, sizeof(auth), "Bearer %s", tok.secret);
    /* The longest wait there is: the others must be answered while it waits, however long
     * they take on a busy machine; the run's cancel ends it after. */
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"timeout_s\":30}", run);
    snprintf(clen, sizeof(clen), "%zu", strlen(body));
    const char *const wait[] = {"REQUEST_METHOD",
                                "POST",
                                "REQUEST_URI",
                                "/api/v1/runs/wait",
                                "CONTENT_TYPE",
                                "application/json",
                                "CONTENT_LENGTH",
                                clen,
                                "HTTP_AUTHORIZATION",
                                auth,
                                NULL};
    CU_ASSERT_EQUAL_FATAL(fcgi_send(fds[0], 1, wait, body), 0);
    sleep_ms(300); /* the wait is under way */
    for (int i = 1; i < N; i++) {
        CU_ASSERT_EQUAL(fcgi_send(fds[i], 1, hz, NULL), 0);
        CU_ASSERT_EQUAL(fcgi_answer(fds[i], out, sizeof(out), ITEST_WAIT_MS), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 200"));
    }
    /* Every other connection was answered while the wait has not answered yet. */
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    pending = poll(&p, 1, 0) == 0;
    CU_ASSERT_TRUE(pending);
    /* The run ends: the wait answers done, at once. */
    CU_ASSERT_EQUAL(itest_statusf(&tok, "POST", NULL, "/api/v1/runs/%s/cancel", run), 200);
    CU_ASSERT_EQUAL(fcgi_answer(fds[0], out, sizeof(out), ITEST_WAIT_MS), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 200"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"done\":true"));
    for (int i = 0; i < N; i++)
        close(fds[i]);
}

/* Connections nginx closes are closed here too: once nginx's kept connections have timed
 * out (keepalive_timeout 2s in the template), a worker holds stdio, the listening socket,
 * its epoll set, PostgreSQL and Redis, and nothing else. */
/* How many descriptors pid holds, and the highest (-1 each when /proc cannot say). */
static void worker_fds(pid_t pid, int *fds, int *maxfd)
{
    char path[128];
    struct dirent *de;
    DIR *d;

    *fds = 0;
    *maxfd = -1;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    if (!(d = opendir(path))) {
        *fds = -1;
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        (*fds)++;
        if (atoi(de->d_name) > *maxfd)
            *maxfd = atoi(de->d_name);
    }
    closedir(d);
}

static void test_worker_descriptors_low(void)
{
    pid_t pids[64];
    int n = api_worker_pids(pids, 64);
    struct http_resp r;

    CU_ASSERT_TRUE_FATAL(n > 0);
    /* Make every worker open its PostgreSQL and Redis connections first. */
    for (int i = 0; i < 4 * n; i++) {
        http_get("/api/v1/readyz", &r);
        http_resp_free(&r);
    }
    /* Until each worker has closed what nginx let go (its timer fires late on a busy
     * machine, so waited for, not slept), or ITEST_WAIT_MS. */
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0; itest_now_s() < deadline;
         sleep_ms(200)) {
        int over = 0;
        for (int i = 0; i < n; i++) {
            int fds, maxfd;
            worker_fds(pids[i], &fds, &maxfd);
            over += fds > 8 || maxfd >= 16;
        }
        if (!over)
            break;
    }
    for (int i = 0; i < n; i++) {
        char path[128], line[256];
        int fds, maxfd;
        long soft = -1;
        FILE *f;
        worker_fds(pids[i], &fds, &maxfd);
        CU_ASSERT_TRUE_FATAL(fds >= 0);
        CU_ASSERT_TRUE(fds <= 8);
        CU_ASSERT_TRUE(maxfd < 16);
        /* libfcgi's FD_CLR aborts at FD_SETSIZE: the soft limit keeps accept() below. */
        snprintf(path, sizeof(path), "/proc/%d/limits", (int)pids[i]);
        f = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "Max open files", 14) == 0)
                soft = strtol(line + 14, NULL, 10);
        fclose(f);
        CU_ASSERT_TRUE(soft > 0 && soft <= 1024);
    }
}

static void test_worker_restart(void)
{
    pid_t pids[64], after[64];
    int n = api_worker_pids(pids, 64), m = 0, ok = 0;
    struct http_resp r;

    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(kill(pids[0], SIGKILL), 0);
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0; itest_now_s() < deadline;) {
        sleep_ms(100);
        m = api_worker_pids(after, 64);
        int still = 0;
        for (int j = 0; j < m; j++)
            still |= after[j] == pids[0];
        if (m == n && !still)
            break;
    }
    CU_ASSERT_EQUAL(m, n);
    for (int i = 0; i < 20; i++) {
        http_get("/api/v1/healthz", &r);
        ok += r.status == 200;
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(ok, 20);
}

static void test_graceful_reload(void)
{
    pid_t before[64], after[64];
    int n = api_worker_pids(before, 64), m = 0, bad = 0, overlap = 1;
    struct http_resp r;

    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL_FATAL(kill(api_master_pid(), SIGHUP), 0);
    /* Requests keep succeeding while every worker is replaced. An old worker leaves once
     * nginx has closed the connections it kept (keepalive_time 2s in the template). */
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0; itest_now_s() < deadline;) {
        http_get("/api/v1/healthz", &r);
        bad += r.status != 200;
        http_resp_free(&r);
        m = api_worker_pids(after, 64);
        overlap = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                overlap |= before[i] == after[j];
        if (!overlap && m == n)
            break;
        sleep_ms(20);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_FALSE(overlap);
    CU_ASSERT_EQUAL(m, n);
}

static void test_sse_hub_health(void)
{
    struct http_resp r;
    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/stream/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "redis"), "subscribed");
    http_resp_free(&r);
}

static void test_openapi_served(void)
{
    struct http_resp r;
    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/openapi.json", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(r.json);
    CU_ASSERT_PTR_NOT_NULL(http_json_string(&r, "openapi"));
    http_resp_free(&r);
}

/* nginx throttles the login location per address (RUNWATCH_LOGIN_RATE/BURST, set low
 * enough by run.sh to trip here), answering 429 in the API's error shape. nginx counts
 * a request when it arrives, before the API sees it, so the flood must not wait on the
 * API: a real login costs a password hash, and on a busy machine senders that wait for
 * hashes may never arrive faster than the rate. Each sender makes one real (refused)
 * login, then floods with malformed bodies, which the API refuses before any hash:
 * the same location and limit, at a rate far above any configured one on any machine. */
struct login_flood {
    int throttled, refused, bad_shape;
};
static int login_flood_stop;
static pthread_barrier_t login_flood_go;

static void *login_flood_one(void *arg)
{
    const char *const hdr[] = {"Content-Type: application/json", "X-Runwatch-CSRF: 1", NULL};
    const char *real = "{\"email\":\"nobody@runwatch.test\",\"password\":\"wrong-password\"}";
    const char *cheap = "{";
    struct login_flood *f = arg;
    struct http_resp r;
    char buf[16];

    pthread_barrier_wait(&login_flood_go);
    for (int i = 0; i < 500 && !__atomic_load_n(&login_flood_stop, __ATOMIC_RELAXED); i++) {
        const char *body = i == 0 ? real : cheap;
        if (http_do("POST", "/api/v1/auth/login", body, strlen(body), hdr, &r) != 0)
            continue;
        if (r.status == 429) {
            f->throttled++;
            f->bad_shape += !http_error_code(&r) || strcmp(http_error_code(&r), "throttled") != 0 ||
                            !http_header(&r, "Retry-After", buf, sizeof(buf));
            __atomic_store_n(&login_flood_stop, 1, __ATOMIC_RELAXED);
        } else {
            f->refused += r.status == 401;
        }
        http_resp_free(&r);
    }
    return NULL;
}

static void test_login_throttled(void)
{
    const char *const hdr[] = {"Content-Type: application/json", "X-Runwatch-CSRF: 1", NULL};
    const char *body = "{\"email\":\"nobody@runwatch.test\",\"password\":\"wrong-password\"}";
    struct login_flood f[8] = {{0}};
    pthread_t t[8];
    struct http_resp r;
    int throttled = 0, refused = 0;

    login_flood_stop = 0;
    CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&login_flood_go, NULL, 8), 0);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, login_flood_one, &f[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        throttled += f[i].throttled;
        refused += f[i].refused;
        CU_ASSERT_EQUAL(f[i].bad_shape, 0);
    }
    pthread_barrier_destroy(&login_flood_go);
    CU_ASSERT_TRUE(throttled);
    CU_ASSERT_TRUE(refused > 0);
    /* Leave the bucket refilled for whatever runs next. */
    for (int i = 0; i < 50; i++) {
        http_do("POST", "/api/v1/auth/login", body, strlen(body), hdr, &r);
        int st = (int)r.status;
        http_resp_free(&r);
        if (st != 429)
            break;
        sleep_ms(100);
    }
    sleep_ms(2500);
}

int suite_foundation_register(void)
{
    CU_pSuite s = CU_add_suite("foundation", NULL, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "one JSON log line per request", test_request_log_line) ||
           !CU_add_test(s, "404 is JSON", test_not_found_json) ||
           !CU_add_test(s, "405 with Allow", test_method_not_allowed) ||
           !CU_add_test(s, "413 for an oversized body", test_body_too_large) ||
           !CU_add_test(s, "oversized header refused by nginx", test_oversized_header_via_nginx) ||
           !CU_add_test(s, "400 for a malformed query", test_malformed_query) ||
           !CU_add_test(s, "400 for malformed JSON, 415 for another type", test_malformed_json) ||
           !CU_add_test(s, "oversized FastCGI params", test_fcgi_oversized_params) ||
           !CU_add_test(s, "a waiting worker answers its other connections",
                        test_fcgi_wait_serves_others) ||
           !CU_add_test(s, "closed connections leave no descriptor", test_worker_descriptors_low) ||
           !CU_add_test(s, "dead worker is restarted", test_worker_restart) ||
           !CU_add_test(s, "SIGHUP reload drops nothing", test_graceful_reload) ||
           !CU_add_test(s, "sse hub health through nginx", test_sse_hub_health) ||
           !CU_add_test(s, "openapi document served", test_openapi_served) ||
           !CU_add_test(s, "login is throttled by nginx", test_login_throttled);
}
