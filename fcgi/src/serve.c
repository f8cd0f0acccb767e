/* serve: the worker loop. Descriptors are kept low by design: a worker is exec'd with
 * only stdio and the listening socket, then holds one PostgreSQL and one Redis socket,
 * so an accepted connection is always a small number. libfcgi 2.4.2 applies FD_CLR
 * (fortified: abort) to every descriptor it closes, so a descriptor at or above
 * FD_SETSIZE would kill the worker; the soft RLIMIT_NOFILE is capped at FD_SETSIZE so
 * accept() fails with EMFILE instead. Oversized FastCGI parameter records are refused
 * by Debian's CVE-2025-23016 fix in ReadParams (tested in tests/integration). */
#include "serve.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "arena.h"
#include "counters.h"
#include "db.h"
#include "log.h"
#include "pub.h"
#include "req.h"
#include "router.h"

static volatile sig_atomic_t serve_stop;

static void serve_on_term(int sig)
{
    (void)sig;
    serve_stop = 1;
    FCGX_ShutdownPending();
}

static void serve_cap_descriptors(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > FD_SETSIZE) {
        rl.rlim_cur = FD_SETSIZE;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot cap RLIMIT_NOFILE at %d: %s", FD_SETSIZE, strerror(errno));
    }
}

/* A request id goes into logs and a response header: accept only a safe token. */
static int serve_id_ok(const char *id)
{
    size_t n = 0;
    if (!id)
        return 0;
    for (; id[n]; n++) {
        char c = id[n];
        if (n >= 64 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                         (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return n > 0;
}

/* Reads the body into the arena, refusing more than cfg->max_body bytes. A refused
 * body is still drained (nginx caps it) so nginx sees our 413, not a broken pipe. */
static int serve_read_body(struct req *r, FCGX_Stream *in, const char *clen)
{
    size_t max = r->op.cfg->max_body;
    size_t want = 0, got = 0;
    char *buf;
    char sink[8192];

    if (clen && *clen) {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(clen, &end, 10);
        if (errno || *end || clen[0] == '-')
            return req_error(r, 400, "invalid_header", "Content-Length",
                             "malformed Content-Length");
        if (v > max) {
            while (FCGX_GetStr(sink, sizeof(sink), in) > 0)
                ;
            return req_error(r, 413, "body_too_large", NULL, "request body exceeds %zu bytes", max);
        }
        want = (size_t)v;
    }
    if (want == 0 && !(clen && *clen))
        want = max; /* no length given: read what comes, up to the limit */
    if (want == 0)
        return 0;
    buf = arena_alloc(r->op.arena, want + 1);
    if (!buf)
        return req_error(r, 500, "internal", NULL, "out of memory");
    while (got < want) {
        int n = FCGX_GetStr(buf + got, (int)(want - got), in);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == want && FCGX_GetStr(sink, 1, in) > 0) {
        while (FCGX_GetStr(sink, sizeof(sink), in) > 0)
            ;
        return req_error(r, 413, "body_too_large", NULL, "request body exceeds %zu bytes", max);
    }
    if (clen && *clen && got != want)
        return req_error(r, 400, "incomplete_body", NULL,
                         "request body shorter than Content-Length");
    buf[got] = '\0';
    r->body = buf;
    r->body_len = got;
    return 0;
}

/* libfcgi's FCGX_FPrintF has its own printf that rejects %zu and then fails the whole
 * stream, so the head is formatted with snprintf and written as bytes. */
static void serve_write(FCGX_Request *fr, struct req *r)
{
    char head[4096];
    size_t pos;
    int n;

    n = snprintf(head, sizeof(head),
                 "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                 "X-Request-Id: %s\r\n",
                 r->status, req_status_text(r->status), r->resp_type, r->resp_len, r->request_id);
    pos = n > 0 && (size_t)n < sizeof(head) ? (size_t)n : 0;
    for (size_t i = 0; i < r->n_resp_headers && pos; i++) {
        n = snprintf(head + pos, sizeof(head) - pos, "%s: %s\r\n", r->resp_headers[i].name,
                     r->resp_headers[i].value);
        if (n < 0 || (size_t)n >= sizeof(head) - pos)
            break; /* headers are ours and short; a truncated one is dropped, not split */
        pos += (size_t)n;
    }
    if (pos == 0 || pos + 2 >= sizeof(head)) {
        log_error("response head does not fit");
        return;
    }
    head[pos++] = '\r';
    head[pos++] = '\n';
    if (FCGX_PutStr(head, (int)pos, fr->out) < 0 ||
        (r->resp_len && FCGX_PutStr(r->resp_body, (int)r->resp_len, fr->out) < 0))
        log_warn("writing response failed: %s", strerror(FCGX_GetError(fr->out)));
}

struct serve_ctx {
    const struct config *cfg;
    struct arena arena;
    struct db db;
    struct pub pub;
    unsigned long served;
    unsigned long pub_seen[2]; /* pub.published and pub.dropped already counted */
};

static void serve_one(struct serve_ctx *w, FCGX_Request *fr)
{
    struct req r;
    const char *uri, *q, *id;
    int rc;

    req_init(&r, &w->arena);
    clock_gettime(CLOCK_MONOTONIC, &r.started);
    op_init(&r.op, &w->arena, w->cfg, &w->db, &w->pub);
    r.env = fr->envp;
    r.method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
    r.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
    r.op.origin = r.remote_addr;
    r.content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
    id = FCGX_GetParam("REQUEST_ID", fr->envp);
    if (!serve_id_ok(id))
        id = FCGX_GetParam("HTTP_X_REQUEST_ID", fr->envp);
    r.request_id =
        serve_id_ok(id) ? id : arena_sprintf(r.op.arena, "w%ld-%lu", (long)getpid(), w->served);
    uri = FCGX_GetParam("REQUEST_URI", fr->envp);
    if (!uri)
        uri = FCGX_GetParam("DOCUMENT_URI", fr->envp);

    if (!r.method || !uri || uri[0] != '/') {
        r.method = r.method ? r.method : "-";
        r.path = uri ? uri : "-";
        rc = req_error(&r, 400, "bad_request", NULL, "missing REQUEST_METHOD or REQUEST_URI");
    } else {
        q = strchr(uri, '?');
        r.path = q ? arena_strndup(r.op.arena, uri, (size_t)(q - uri)) : uri;
        r.query = q ? q + 1 : "";
        rc = serve_read_body(&r, fr->in, FCGX_GetParam("CONTENT_LENGTH", fr->envp));
        if (rc == 0)
            rc = req_parse_query(&r, r.query);
        if (rc == 0)
            rc = router_dispatch(routes, routes_count, &r, access_guard);
    }
    /* A failed handler may leave a transaction open; nothing half-written survives. */
    if (w->db.in_tx || rc != 0)
        db_rollback(&w->db);
    req_render(&r, rc);
    serve_write(fr, &r);

    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (double)(end.tv_sec - r.started.tv_sec) * 1e3 +
                (double)(end.tv_nsec - r.started.tv_nsec) / 1e6;
    log_request(r.request_id, r.method, r.path, r.status, ms, r.resp_len);
    /* By route pattern, never the raw path: ids in paths would make a series each. */
    counters_request(r.route, r.status, ms / 1e3);
    counters_add(COUNTERS_PUB_PUBLISHED, w->pub.published - w->pub_seen[0]);
    counters_add(COUNTERS_PUB_DROPPED, w->pub.dropped - w->pub_seen[1]);
    w->pub_seen[0] = w->pub.published;
    w->pub_seen[1] = w->pub.dropped;
    w->served++;
}

int serve_worker(const struct config *cfg, int listen_fd)
{
    struct serve_ctx w;
    struct config_redis_addr ra;
    FCGX_Request fr;
    struct sigaction sa;
    int rc = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = serve_on_term; /* no SA_RESTART: a blocked accept() must return */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    serve_cap_descriptors();
    counters_attach(routes, routes_count);

    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    arena_init(&w.arena, 16384);
    db_init(&w.db, cfg->database_url);
    config_parse_redis_url(cfg->redis_url, &ra);
    pub_init(&w.pub, &ra);

    if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("libfcgi initialisation failed");
        rc = 1;
        goto out;
    }
    log_info("worker ready");
    while (!serve_stop) {
        if (FCGX_Accept_r(&fr) < 0) {
            if (serve_stop)
                break;
            if (errno != EINTR) {
                log_warn("accept failed: %s", strerror(errno));
                usleep(100000); /* EMFILE and friends: do not spin */
            }
            continue;
        }
        serve_one(&w, &fr);
        FCGX_Finish_r(&fr);
        arena_reset(&w.arena);
    }
    log_info("worker stopping after %lu requests", w.served);
out:
    pub_fini(&w.pub);
    db_fini(&w.db);
    arena_fini(&w.arena);
    counters_detach();
    return rc;
}
