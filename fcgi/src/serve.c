/* serve: the worker loop. The worker's FastCGI connections are conns.c's (libfcgi, one
 * epoll set, nginx's kept connections served whichever has a request); this file turns a
 * request into a response and runs the loop. Only nginx closes a kept connection (its
 * keepalive_timeout and keepalive_time): a close from this side could cross a request
 * nginx is sending, which nginx cannot retry for a POST. So a stopping worker stops
 * accepting and serves its connections until nginx has closed them all, or
 * SERVE_DRAIN_MS have passed. A request that waits (POST /runs/wait) keeps serving the
 * worker's other connections while it waits (serve_wait_poll).
 * Group commit: when several requests are ready at once, a handler whose write may join
 * a group (group_write: a lone event, a claim) stops at that write; the writes of the ready
 * requests then go as one transaction in one round trip, and each request is completed
 * and answered only after its COMMIT (serve_flush). A lone request runs as it always did.
 * Descriptors are kept low by design: a worker is exec'd with only stdio and the
 * listening socket, then holds its epoll set, one PostgreSQL and one Redis socket and at
 * most CONNS_MAX connections. libfcgi 2.4.2 applies FD_CLR (fortified: abort) to every
 * descriptor it closes, so a descriptor at or above FD_SETSIZE would kill the worker; the
 * soft RLIMIT_NOFILE is capped at FD_SETSIZE so accept() fails with EMFILE instead.
 * Oversized FastCGI parameter records are refused by Debian's CVE-2025-23016 fix in
 * ReadParams (tested in tests/integration). */
#include "serve.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "arena.h"
#include "conns.h"
#include "counters.h"
#include "db.h"
#include "group.h"
#include "jsonx.h"
#include "log.h"
#include "pub.h"
#include "req.h"
#include "router.h"

/* After SIGTERM: how long kept connections are served while nginx closes them; below
 * the master's grace (master.c), after which it kills. */
#define SERVE_DRAIN_MS 8000

static volatile sig_atomic_t serve_stop;

static void serve_on_term(int sig)
{
    (void)sig;
    serve_stop = 1;
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

struct serve_ctx {
    const struct config *cfg;
    struct arena arena;
    struct arena nested; /* a request served while another one waits */
    struct db db;
    struct pub pub;
    struct conns conns;
    long pid;
    unsigned long served;
    unsigned long pub_seen[2];     /* pub.published and pub.dropped already counted */
    struct serve_pending *pending; /* CONNS_BATCH_MAX of them */
    int npending;
};

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

/* Reads the body into the arena, refusing more than cfg->max_body bytes (otlp_max_bytes on
 * the OTLP paths). A refused
 * body is still drained (nginx caps it) so nginx sees our 413, not a broken pipe. */
static int serve_read_body(struct req *r, FCGX_Stream *in, const char *clen)
{
    size_t max = r->otlp     ? r->op.cfg->otlp_max_bytes
                 : r->upload ? r->op.cfg->artifact_max_bytes
                             : r->op.cfg->max_body;
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

/* Room for serve_head: the fixed part and every header, so none is ever cut. */
static size_t serve_head_size(const struct req *r)
{
    size_t n = 512 + strlen(r->resp_type) + strlen(r->request_id);

    for (size_t i = 0; i < r->n_resp_headers; i++)
        n += strlen(r->resp_headers[i].name) + strlen(r->resp_headers[i].value) + 4;
    return n;
}

/* The response head; the body follows it as is. Returns its length, 0 if it cannot fit. */
static size_t serve_head(const struct req *r, char *head, size_t cap)
{
    size_t pos;
    int n;

    n = snprintf(head, cap,
                 "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                 "X-Request-Id: %s\r\n",
                 r->status, req_status_text(r->status), r->resp_type,
                 r->resp_more ? r->resp_total : r->resp_len, r->request_id);
    pos = n > 0 && (size_t)n < cap ? (size_t)n : 0;
    for (size_t i = 0; i < r->n_resp_headers && pos; i++) {
        n = snprintf(head + pos, cap - pos, "%s: %s\r\n", r->resp_headers[i].name,
                     r->resp_headers[i].value);
        if (n < 0 || (size_t)n >= cap - pos) {
            /* serve_head_size made room for all: a header that did not fit is a bug, and
             * is never dropped in silence (auth/check's project list once was). */
            pos = 0;
            break;
        }
        pos += (size_t)n;
    }
    if (pos == 0 || pos + 2 >= cap) {
        log_error("response head does not fit");
        return 0;
    }
    head[pos++] = '\r';
    head[pos++] = '\n';
    return pos;
}

static int serve_wait_poll(void *ctx, struct pollfd *pfd, int timeout_ms);

/* Publishes are counted when their replies are read (pub.c), after the request or later. */
static void serve_count_pub(struct serve_ctx *w)
{
    counters_add(COUNTERS_PUB_PUBLISHED, w->pub.published - w->pub_seen[0]);
    counters_add(COUNTERS_PUB_DROPPED, w->pub.dropped - w->pub_seen[1]);
    w->pub_seen[0] = w->pub.published;
    w->pub_seen[1] = w->pub.dropped;
}

/* Reads the replies of the publishes in flight (pub.c sends them without waiting), so
 * Redis has run each before its request's answer leaves: a producer's next write, sent
 * after the answer and perhaps served by another worker on its own Redis connection,
 * is published after it (Redis serves ready connections in no fixed order, so writing
 * first is not enough). A group's publishes still go out together and are settled
 * together, one round trip a group. */
static void serve_settle(struct serve_ctx *w)
{
    if (pub_pending(&w->pub)) {
        pub_flush(&w->pub);
        serve_count_pub(w);
    }
}

/* Writes n bytes: lengths stay size_t, and libfcgi's int count is fed in pieces. */
static int serve_put(FCGX_Stream *out, const char *p, size_t n)
{
    while (n > 0) {
        int k = n > (1u << 30) ? 1 << 30 : (int)n;
        if (FCGX_PutStr(p, k, out) < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Records a writev carries at most: 3 iovecs each (header, the head's part, the body's). */
#define SERVE_RECS_PER_WRITE 256

int serve_put_records(int fd, int request_id, const char *a, size_t alen, const char *b,
                      size_t blen)
{
    unsigned char hdr[SERVE_RECS_PER_WRITE][8];
    struct iovec iov[3 * SERVE_RECS_PER_WRITE];
    size_t off = 0, total = alen + blen;

    while (off < total) {
        int niov = 0;
        for (int k = 0; k < SERVE_RECS_PER_WRITE && off < total; k++) {
            size_t n = total - off > SERVE_RECORD_MAX ? SERVE_RECORD_MAX : total - off;
            unsigned char *h = hdr[k];
            h[0] = 1; /* FCGI_VERSION_1 */
            h[1] = 6; /* FCGI_STDOUT */
            h[2] = (unsigned char)(request_id >> 8);
            h[3] = (unsigned char)request_id;
            h[4] = (unsigned char)(n >> 8);
            h[5] = (unsigned char)n;
            h[6] = 0; /* no padding */
            h[7] = 0;
            iov[niov++] = (struct iovec){h, 8};
            if (off < alen) {
                size_t m = alen - off < n ? alen - off : n;
                iov[niov++] = (struct iovec){(char *)a + off, m};
                off += m;
                n -= m;
            }
            if (n) {
                iov[niov++] = (struct iovec){(char *)b + (off - alen), n};
                off += n;
            }
        }
        /* A blocking socket: writev returns short only when a signal interrupts it. */
        for (struct iovec *v = iov; niov > 0;) {
            ssize_t w = writev(fd, v, niov);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            while (niov > 0 && (size_t)w >= v->iov_len) {
                w -= (ssize_t)v->iov_len;
                v++;
                niov--;
            }
            if (niov > 0) {
                v->iov_base = (char *)v->iov_base + w;
                v->iov_len -= (size_t)w;
            }
        }
    }
    return 0;
}

/* The head and body on fr's stdout. libfcgi's stream sends a record per 8 KB (a page of 100
 * runs was eleven writes, and as many wake-ups of nginx): a response that does not fit its
 * buffer goes as whole records in one writev instead, before anything of it is buffered
 * there; libfcgi then writes only the end of the stream and of the request. A failed write
 * marks the stream as libfcgi would, so the connection is closed. */
static int serve_write(FCGX_Request *fr, const char *head, size_t hlen, const char *body,
                       size_t blen)
{
    if (hlen + blen <= SERVE_STREAM_BUF)
        return FCGX_PutStr(head, (int)hlen, fr->out) < 0 || serve_put(fr->out, body, blen) < 0 ? -1
                                                                                               : 0;
    if (serve_put_records(fr->ipcFd, fr->requestId, head, hlen, body, blen) < 0) {
        if (!fr->out->FCGI_errno)
            fr->out->FCGI_errno = errno ? errno : EIO;
        fr->out->isClosed = 1;
        return -1;
    }
    return 0;
}

/* A streamed body (req.h, resp_more): one slice at a time, each from a scratch arena that is
 * reset once the slice is on its way, so a 16 MiB download holds one slice, not the whole.
 * A slice that cannot be made closes the connection: the head promised resp_total bytes,
 * so nginx sees a short answer (and drops it) rather than a wrong one. */
static void serve_stream(struct req *r, FCGX_Request *fr)
{
    struct arena scratch;
    size_t off = 0;

    arena_init(&scratch, 16384);
    /* The head goes first (it sits in libfcgi's buffer); then each slice as whole records
     * in one writev, as serve_write sends a large body. */
    if (FCGX_FFlush(fr->out) < 0)
        off = r->resp_total + 1;
    while (off < r->resp_total) {
        const char *chunk = NULL;
        size_t len = 0;
        if (r->resp_more(r, &scratch, off, &chunk, &len) != 0 || len == 0 ||
            len > r->resp_total - off ||
            serve_put_records(fr->ipcFd, fr->requestId, chunk, len, NULL, 0) < 0) {
            log_warn("streamed body ended at %zu of %zu bytes", off, r->resp_total);
            fr->out->isClosed = 1;
            if (!fr->out->FCGI_errno)
                fr->out->FCGI_errno = EIO;
            break;
        }
        off += len;
        r->resp_len = off; /* the access log's byte count */
        arena_reset(&scratch);
    }
    if (off > r->resp_total) {
        log_warn("streamed body: the head could not be sent");
        fr->out->isClosed = 1;
    }
    arena_fini(&scratch);
}

/* A request whose write waits for the group's commit (serve_flush): its own arena and
 * context live here until it is answered. */
struct serve_pending {
    struct req r;
    struct arena arena; /* set up on first use */
    int arena_ready;
    FCGX_Request *fr;
};

/* Answers r on fr->out (rc: the handler's) and ends it: log, counters, arena reset. */
static void serve_answer(struct serve_ctx *w, struct req *r, FCGX_Request *fr, int rc)
{
    /* A failed handler may leave a transaction open; nothing half-written survives. */
    if (w->db.in_tx || rc != 0)
        db_rollback(&w->db);
    /* Identities this request's commits changed: their open streams end before it
     * answers, so a revoke that returned holds on the stream as on every request. */
    {
        const char *who = db_revoked_take(&w->db);
        if (who)
            pub_revoked(&w->pub, who);
    }
    req_render(r, rc);
    {
        /* Most heads fit the stack buffer; a long header (the project ids of
         * auth/check for a member of thousands of projects) gets one from the arena. */
        char small[4096], *head = small;
        size_t need = serve_head_size(r), cap = sizeof(small), hlen;

        if (need > cap && (head = arena_alloc(r->op.arena, need)) != NULL)
            cap = need;
        if (!head) {
            head = small;
            log_error("out of memory for a response head of %zu bytes", need);
        }
        hlen = serve_head(r, head, cap);
        /* An answer past the stream's buffer is written now, not at the finish. */
        if (hlen + r->resp_len > SERVE_STREAM_BUF)
            serve_settle(w);
        /* libfcgi's FCGX_FPrintF has its own printf that rejects %zu and then fails the
         * whole stream, so the head is formatted with snprintf and written as bytes. */
        if (hlen && serve_write(fr, head, hlen, r->resp_body, r->resp_len) < 0)
            log_warn("writing response failed: %s", strerror(FCGX_GetError(fr->out)));
        else if (hlen && r->resp_more)
            serve_stream(r, fr);
    }

    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (double)(end.tv_sec - r->started.tv_sec) * 1e3 +
                (double)(end.tv_nsec - r->started.tv_nsec) / 1e6;
    log_request(r->request_id, r->method, r->path, r->status, ms, r->resp_len);
    /* By route pattern, never the raw path: ids in paths would make a series each. */
    counters_request(r->route, r->status, ms / 1e3);
    serve_count_pub(w);
    /* Its publish, if any, is with Redis now (pub.c writes it at once); its reply is read
     * before the answer is finished (serve_settle). */
    if (r->write_marked)
        counters_write_end();
    w->served++;
    arena_reset(r->op.arena);
}

/* conns' serve callback: one request, answered on fr->out, or (CONNS_MAY_DEFER, a
 * handler that hands its write to the group: REQ_DEFERRED, group.h) kept for serve_flush. */
static int serve_one(void *ctx, FCGX_Request *fr, enum conns_mode mode)
{
    struct serve_ctx *w = ctx;
    struct serve_pending *p = mode == CONNS_MAY_DEFER ? &w->pending[w->npending] : NULL;
    struct req local;
    struct req *r = &local;
    struct arena *a = mode == CONNS_NESTED ? &w->nested : &w->arena;
    const char *uri, *q, *id;
    char sink[8192];
    int rc;

    if (p) {
        r = &p->r;
        if (!p->arena_ready)
            arena_init(&p->arena, 16384);
        p->arena_ready = 1;
        a = &p->arena;
    }
    req_init(r, a);
    clock_gettime(CLOCK_MONOTONIC, &r->started);
    op_init(&r->op, a, w->cfg, &w->db, &w->pub);
    if (mode != CONNS_NESTED) { /* a wait in this request serves the worker's other connections */
        r->op.wait_poll = serve_wait_poll;
        r->op.wait_ctx = w;
    }
    r->may_defer = p != NULL;
    r->env = fr->envp;
    r->method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
    /* Anything but a read may commit and publish: counted until answered (counters.h). */
    if (r->method && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        r->write_marked = 1;
        counters_write_begin();
    }
    r->remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
    r->op.origin = r->remote_addr;
    r->content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
    id = FCGX_GetParam("REQUEST_ID", fr->envp);
    if (!serve_id_ok(id))
        id = FCGX_GetParam("HTTP_X_REQUEST_ID", fr->envp);
    r->request_id = serve_id_ok(id) ? id : arena_sprintf(a, "w%ld-%lu", w->pid, w->served);
    uri = FCGX_GetParam("REQUEST_URI", fr->envp);
    if (!uri)
        uri = FCGX_GetParam("DOCUMENT_URI", fr->envp);

    if (!r->method || !uri || uri[0] != '/') {
        r->method = r->method ? r->method : "-";
        r->path = uri ? uri : "-";
        rc = req_error(r, 400, "bad_request", NULL, "missing REQUEST_METHOD or REQUEST_URI");
    } else {
        q = strchr(uri, '?');
        r->path = q ? arena_strndup(a, uri, (size_t)(q - uri)) : uri;
        r->query = q ? q + 1 : "";
        r->otlp = strncmp(r->path, REQ_OTLP_PREFIX, sizeof(REQ_OTLP_PREFIX) - 1) == 0;
        r->agl = strncmp(r->path, REQ_AGL_PREFIX, sizeof(REQ_AGL_PREFIX) - 1) == 0;
        r->upload = req_is_upload(r->path);
        rc = serve_read_body(r, fr->in, FCGX_GetParam("CONTENT_LENGTH", fr->envp));
        if (rc == 0)
            rc = req_parse_query(r, r->query);
        if (rc == 0)
            rc = router_dispatch(routes, routes_count, r, access_guard);
    }
    /* A kept connection carries the next request right after this one's input, and
     * FCGX_Finish_r leaves what was not read: whatever a refusal left is read now. */
    while (FCGX_GetStr(sink, sizeof(sink), fr->in) > 0)
        ;
    if (rc == REQ_DEFERRED && p && r->write.then) {
        p->fr = fr;
        w->npending++;
        return 1;
    }
    if (rc == REQ_DEFERRED) /* never without may_defer and a write: a bug, not an answer */
        rc = req_error(r, 500, "internal", NULL, "internal error");
    serve_answer(w, r, fr, rc);
    serve_settle(w); /* conns finishes (sends) the answer when this returns */
    return 0;
}

/* conns' flush callback: the kept requests' writes, in the order they came. Several go
 * as one transaction in one round trip (db_batch), like writes merged into one statement
 * (the claims of one queue: group_merge); each request is completed (its publish, its
 * answer) only after that COMMIT, in the requests' order, so a run's events are published
 * in id order. When the group fails, nothing of it counts: each write runs again alone,
 * as its own statement, autocommitted, and each request gets its own outcome. A lone one
 * runs as it would have without company. */
_Static_assert(CONNS_BATCH_MAX <= DB_BATCH_MAX, "a group must fit in one db_batch");

static void serve_flush(void *ctx)
{
    struct serve_ctx *w = ctx;
    struct db_batch_item items[CONNS_BATCH_MAX];
    struct req *reqs[CONNS_BATCH_MAX];
    int item_of[CONNS_BATCH_MAX];
    int n = w->npending, outcome = DB_BATCH_FAILED;

    if (n > 1) {
        for (int i = 0; i < n; i++)
            reqs[i] = &w->pending[i].r;
        int nitems = group_merge(reqs, n, item_of, items);
        outcome = db_batch(&w->db, items, nitems);
        if (outcome == DB_BATCH_COMMITTED) {
            counters_add(COUNTERS_WRITE_BATCHES, 1);
            counters_add(COUNTERS_WRITE_BATCHED, (uint64_t)n);
            counters_add(COUNTERS_WRITE_MERGED, (uint64_t)(n - nitems));
        } else {
            counters_add(COUNTERS_WRITE_BATCH_FALLBACKS, 1);
        }
    }
    for (int i = 0; i < n; i++) {
        struct req *r = &w->pending[i].r;
        int rc;
        if (outcome == DB_BATCH_COMMITTED) {
            rc = items[item_of[i]].res ? r->write.then(r, items[item_of[i]].res) : -1;
            /* A merged result that could not be kept: its owner has the error. */
            if (rc < 0 && r->op.err.kind == OP_OK)
                op_fail(&r->op, OP_INTERNAL, "internal", NULL, "out of memory");
        } else if (outcome == DB_BATCH_LOST) {
            /* db_batch said why in each item's op; the other requests of a merged item
             * were in it too. */
            rc = -1;
            if (r->op.err.kind == OP_OK) {
                op_fail(&r->op, OP_UNAVAILABLE, "unavailable", NULL, "database unavailable");
                r->op.err.retry_after = 1;
            }
        } else {
            rc = group_run_now(r);
        }
        serve_answer(w, r, w->pending[i].fr, rc);
    }
    w->npending = 0;
    serve_settle(w); /* conns finishes (sends) the group's answers when this returns */
}

/* While a request waits for PostgreSQL (db_notify_wait), requests on the worker's other
 * connections are served, one per call, on a second arena (conns_wait). Waits among them
 * are refused (db_wait_begin: one wait a connection). */
static int serve_wait_poll(void *ctx, struct pollfd *pfd, int timeout_ms)
{
    struct serve_ctx *w = ctx;
    /* Requests kept for the group commit are not held up by a wait. */
    conns_flush(&w->conns);
    return conns_wait(&w->conns, pfd, timeout_ms);
}

static void serve_loop(struct serve_ctx *w)
{
    struct timespec drain_end = {0, 0};

    for (;;) {
        int timeout = -1;
        if (serve_stop) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (drain_end.tv_sec == 0) {
                conns_listen(&w->conns, 0);
                drain_end = now;
                drain_end.tv_sec += SERVE_DRAIN_MS / 1000;
                log_info("worker stopping: serving %d kept connections until nginx closes them",
                         w->conns.n);
            }
            if (w->conns.n == 0)
                break;
            long left = (drain_end.tv_sec - now.tv_sec) * 1000 +
                        (drain_end.tv_nsec - now.tv_nsec) / 1000000;
            if (left <= 0) {
                log_warn("closing %d connections nginx kept open past %d ms", w->conns.n,
                         SERVE_DRAIN_MS);
                break;
            }
            timeout = (int)left;
        }
        /* The last publish's reply is read when there is nothing else to do. */
        int n = conns_run(&w->conns, pub_pending(&w->pub) ? 0 : timeout);
        if (n == 0 && pub_pending(&w->pub)) {
            pub_flush(&w->pub);
            serve_count_pub(w);
        } else if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            usleep(100000);
        }
    }
}

int serve_worker(const struct config *cfg, int listen_fd)
{
    struct serve_ctx *w;
    struct config_redis_addr ra;
    struct sigaction sa;
    int rc = 0;

    memset(&sa, 0, sizeof(sa));
    /* SA_RESTART: libfcgi's blocking reads and writes of a request are not cut short;
     * epoll_wait returns on the signal regardless. */
    sa.sa_handler = serve_on_term;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    serve_cap_descriptors();
    counters_attach(routes, routes_count);
    jsonx_malloc_tune(); /* before any request: the protobuf path parses no JSON */

    w = calloc(1, sizeof(*w)); /* the connection slots make it large for a stack */
    if (w && !(w->pending = calloc(CONNS_BATCH_MAX, sizeof(*w->pending)))) {
        free(w);
        w = NULL;
    }
    if (!w) {
        log_error("out of memory");
        counters_detach();
        return 1;
    }
    w->cfg = cfg;
    w->pid = (long)getpid();
    arena_init(&w->arena, 16384);
    arena_init(&w->nested, 16384);
    db_init(&w->db, cfg->database_url);
    /* Every connection LISTENs for identity changes, cache or not: the worker that
     * commits one learns of it with its COMMIT and tells the live hub (serve_answer). */
    w->db.ident_listen = 1;
    config_redis_addr(cfg, &ra);
    pub_init(&w->pub, &ra);
    if (cfg->test_fault_publish[0]) {
        log_warn("RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH is set: a test stack, not for use");
        w->pub.fault_marker = cfg->test_fault_publish;
    }

    if (conns_init(&w->conns, listen_fd, serve_one, serve_flush, w) != 0) {
        log_error("cannot set up the FastCGI connections: %s", strerror(errno));
        rc = 1;
        goto out;
    }
    log_info("worker ready");
    serve_loop(w);
    log_info("worker stopping after %lu requests", w->served);
out:
    conns_fini(&w->conns);
    for (int i = 0; i < CONNS_BATCH_MAX; i++)
        if (w->pending[i].arena_ready)
            arena_fini(&w->pending[i].arena);
    free(w->pending);
    pub_fini(&w->pub);
    db_fini(&w->db);
    arena_fini(&w->nested);
    arena_fini(&w->arena);
    free(w);
    counters_detach();
    return rc;
}
