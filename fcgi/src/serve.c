/* serve: the worker loop. One epoll set holds the shared listening socket (EPOLLEXCLUSIVE,
 * so a new connection wakes one idle worker, not all) and every FastCGI connection this
 * worker has accepted. nginx keeps its connections open between requests
 * (fastcgi_keep_conn, nginx/runwatch.conf.in) and sends the next request on any of them,
 * so an idle worker serves whichever of its connections has a request, and accepts new
 * ones: a kept connection never pins a worker the way libfcgi's accept loop did.
 * Only nginx closes a kept connection (its keepalive_timeout and keepalive_time): a
 * close from this side could cross a request nginx is sending, which nginx cannot retry
 * for a POST. So a stopping worker stops accepting and serves its connections until
 * nginx has closed them all, or SERVE_DRAIN_MS have passed.
 * A request that waits (POST /runs/wait) keeps serving the worker's other connections
 * while it waits (serve_wait_poll), so no request sent to this worker waits behind it. */
#include "serve.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "arena.h"
#include "counters.h"
#include "db.h"
#include "fastcgi.h"
#include "log.h"
#include "pub.h"
#include "req.h"
#include "router.h"

/* Connections a worker holds at most; beyond it the worker stops accepting until one
 * closes (nginx holds its keepalive cache plus the requests in flight). */
#define SERVE_MAX_CONNS 512
/* After SIGTERM: how long kept connections are served while nginx closes them; below
 * the master's grace (master.c), after which it kills. */
#define SERVE_DRAIN_MS 8000

static volatile sig_atomic_t serve_stop;

static void serve_on_term(int sig)
{
    (void)sig;
    serve_stop = 1;
}

struct serve_conn {
    struct fastcgi_conn fc;
    struct serve_conn *prev, *next;
    int busy; /* its request is being served (a wait serves others meanwhile) */
};

struct serve_ctx {
    const struct config *cfg;
    int listen_fd, ep;
    int accepting; /* the listening socket is in the epoll set */
    struct arena arena;
    struct arena nested; /* a request served while another one waits */
    struct db db;
    struct pub pub;
    struct fastcgi_in in;
    struct serve_conn *conns; /* every open connection */
    int nconns;
    /* Closed connections, freed at the top of the loop: events already fetched may still
     * name them (a request served during a wait can close one). */
    struct serve_conn *dead;
    long pid;
    unsigned long served;
    unsigned long pub_seen[2]; /* pub.published and pub.dropped already counted */
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

/* Reads the body into the arena, refusing more than cfg->max_body bytes. A refused body
 * is still read to its end (nginx caps it), so the connection stays in step and nginx
 * sees our 413. Returns 0, or -1 with the error set; *broken when the connection failed. */
static int serve_read_body(struct req *r, struct serve_ctx *w, struct serve_conn *sc,
                           struct fastcgi_req *q, const char *clen, int *broken)
{
    size_t max = r->op.cfg->max_body, want = 0;
    int has_len = clen && *clen, bad = 0;
    char err[160];

    if (has_len) {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(clen, &end, 10);
        if (errno || *end || clen[0] == '-')
            bad = 1;
        else if (v > max)
            bad = 2;
        else
            want = (size_t)v;
    }
    /* Without a length, what comes is read up to the limit. */
    if (fastcgi_read_body(&sc->fc, &w->in, r->op.arena,
                          bad       ? 0
                          : has_len ? want
                                    : max,
                          bad ? 0 : want, q, err, sizeof(err)) != FASTCGI_OK) {
        log_warn("reading the request body: %s", err);
        *broken = 1;
        return req_error(r, 400, "incomplete_body", NULL,
                         "request body shorter than Content-Length");
    }
    if (bad == 1)
        return req_error(r, 400, "invalid_header", "Content-Length", "malformed Content-Length");
    if (bad == 2 || q->stdin_len > (has_len ? want : max))
        return req_error(r, 413, "body_too_large", NULL, "request body exceeds %zu bytes", max);
    if (has_len && q->stdin_len != want)
        return req_error(r, 400, "incomplete_body", NULL,
                         "request body shorter than Content-Length");
    r->body = q->body;
    r->body_len = q->body_len;
    return 0;
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
                 r->status, req_status_text(r->status), r->resp_type, r->resp_len, r->request_id);
    pos = n > 0 && (size_t)n < cap ? (size_t)n : 0;
    for (size_t i = 0; i < r->n_resp_headers && pos; i++) {
        n = snprintf(head + pos, cap - pos, "%s: %s\r\n", r->resp_headers[i].name,
                     r->resp_headers[i].value);
        if (n < 0 || (size_t)n >= cap - pos)
            break; /* headers are ours and short; a truncated one is dropped, not split */
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

/* Serves one request of a connection whose head is read. Returns 1 when the connection
 * stays open for another request. */
static int serve_request(struct serve_ctx *w, struct serve_conn *sc, struct fastcgi_req *q,
                         struct arena *a, int nested)
{
    struct req r;
    const char *uri, *qs, *id;
    int rc, broken = 0;
    char err[160];

    req_init(&r, a);
    clock_gettime(CLOCK_MONOTONIC, &r.started);
    op_init(&r.op, a, w->cfg, &w->db, &w->pub);
    if (!nested) { /* a wait in this request serves the worker's other connections */
        r.op.wait_poll = serve_wait_poll;
        r.op.wait_ctx = w;
    }
    r.env = q->env;
    r.method = fastcgi_param(q, "REQUEST_METHOD");
    r.remote_addr = fastcgi_param(q, "REMOTE_ADDR");
    r.op.origin = r.remote_addr;
    r.content_type = fastcgi_param(q, "CONTENT_TYPE");
    id = fastcgi_param(q, "REQUEST_ID");
    if (!serve_id_ok(id))
        id = fastcgi_param(q, "HTTP_X_REQUEST_ID");
    r.request_id = serve_id_ok(id) ? id : arena_sprintf(a, "w%ld-%lu", w->pid, w->served);
    uri = fastcgi_param(q, "REQUEST_URI");
    if (!uri)
        uri = fastcgi_param(q, "DOCUMENT_URI");

    if (!r.method || !uri || uri[0] != '/') {
        r.method = r.method ? r.method : "-";
        r.path = uri ? uri : "-";
        rc = req_error(&r, 400, "bad_request", NULL, "missing REQUEST_METHOD or REQUEST_URI");
    } else {
        qs = strchr(uri, '?');
        r.path = qs ? arena_strndup(a, uri, (size_t)(qs - uri)) : uri;
        r.query = qs ? qs + 1 : "";
        rc = serve_read_body(&r, w, sc, q, fastcgi_param(q, "CONTENT_LENGTH"), &broken);
        if (rc == 0)
            rc = req_parse_query(&r, r.query);
        if (rc == 0)
            rc = router_dispatch(routes, routes_count, &r, access_guard);
    }
    /* The connection carries the next request right after this one's body. */
    if (!broken && !q->stdin_done &&
        fastcgi_read_body(&sc->fc, &w->in, a, 0, 0, q, err, sizeof(err)) != FASTCGI_OK) {
        log_warn("reading the request body: %s", err);
        broken = 1;
    }
    /* A failed handler may leave a transaction open; nothing half-written survives. */
    if (w->db.in_tx || rc != 0)
        db_rollback(&w->db);
    req_render(&r, rc);
    if (!broken) {
        char head[4096];
        size_t hlen = serve_head(&r, head, sizeof(head));
        if (hlen == 0 || fastcgi_respond(&sc->fc, q, head, hlen, r.resp_body, r.resp_len) != 0) {
            if (hlen)
                log_warn("writing response failed: %s", strerror(errno));
            broken = 1;
        }
    }

    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (double)(end.tv_sec - r.started.tv_sec) * 1e3 +
                (double)(end.tv_nsec - r.started.tv_nsec) / 1e6;
    log_request(r.request_id, r.method, r.path, r.status, ms, r.resp_len);
    /* By route pattern, never the raw path: ids in paths would make a series each. */
    counters_request(r.route, r.status, ms / 1e3);
    serve_count_pub(w);
    w->served++;
    return !broken && q->keep;
}

static void serve_close(struct serve_ctx *w, struct serve_conn *sc)
{
    epoll_ctl(w->ep, EPOLL_CTL_DEL, sc->fc.fd, NULL);
    fastcgi_conn_close(&sc->fc);
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        w->conns = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    sc->prev = NULL;
    sc->next = w->dead;
    w->dead = sc;
    w->nconns--;
}

static void serve_free_dead(struct serve_ctx *w)
{
    while (w->dead) {
        struct serve_conn *sc = w->dead;
        w->dead = sc->next;
        free(sc);
    }
}

/* One request of a ready connection; closes the connection when it is done with. */
static void serve_conn(struct serve_ctx *w, struct serve_conn *sc, struct arena *a, int nested)
{
    struct fastcgi_req q;
    char err[160];
    int keep = 0;

    if (sc->fc.fd < 0 || sc->busy)
        return;
    /* A request that came with the last one's bytes is served now: epoll will not tell. */
    do {
        keep = 0;
        switch (fastcgi_read_head(&sc->fc, &w->in, a, &q, err, sizeof(err))) {
        case FASTCGI_OK:
            sc->busy = 1;
            keep = serve_request(w, sc, &q, a, nested);
            sc->busy = 0;
            break;
        case FASTCGI_IDLE: /* its request was served during a wait */
            keep = 1;
            break;
        case FASTCGI_CLOSED: /* nginx closed an idle connection */
            break;
        case FASTCGI_BROKEN:
            log_warn("fastcgi: %s", err);
            break;
        }
        arena_reset(a);
    } while (keep && sc->fc.spill);
    if (!keep)
        serve_close(w, sc);
}

static void serve_listen(struct serve_ctx *w, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (on == w->accepting)
        return;
    if (epoll_ctl(w->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w->listen_fd, on ? &ev : NULL) != 0)
        log_warn("epoll on the listening socket: %s", strerror(errno));
    else
        w->accepting = on;
}

static void serve_accept(struct serve_ctx *w)
{
    int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        /* Another worker took it (EAGAIN), or nginx gave up; EMFILE: stop for a moment. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR) {
            log_warn("accept failed: %s", strerror(errno));
            usleep(100000);
        }
        return;
    }
    struct serve_conn *sc = calloc(1, sizeof(*sc));
    struct epoll_event ev = {.events = EPOLLIN};
    if (!sc) {
        close(fd);
        return;
    }
    fastcgi_conn_init(&sc->fc, fd);
    ev.data.ptr = sc;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_warn("epoll on a connection: %s", strerror(errno));
        fastcgi_conn_close(&sc->fc);
        free(sc);
        return;
    }
    sc->next = w->conns;
    if (w->conns)
        w->conns->prev = sc;
    w->conns = sc;
    if (++w->nconns >= SERVE_MAX_CONNS)
        serve_listen(w, 0);
}

/* While a request waits for PostgreSQL (db_notify_wait), requests on the worker's other
 * connections are served, one per call, on a second arena. Waits among them are refused
 * (db_wait_begin: one wait a connection). Returns like poll(2) on pfd; 0 after serving,
 * so the caller reads what PostgreSQL sent meanwhile before calling again. */
static int serve_wait_poll(void *ctx, struct pollfd *pfd, int timeout_ms)
{
    struct serve_ctx *w = ctx;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w}, got[16];
    int n;

    pfd->revents = 0;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, pfd->fd, &ev) != 0)
        return poll(pfd, 1, timeout_ms);
    n = epoll_wait(w->ep, got, 16, timeout_ms);
    epoll_ctl(w->ep, EPOLL_CTL_DEL, pfd->fd, NULL);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++)
        if (got[i].data.ptr == w) {
            pfd->revents = (short)(got[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP));
            return 1; /* PostgreSQL first: the wait may be over */
        }
    for (int i = 0; i < n; i++) {
        struct serve_conn *sc = got[i].data.ptr;
        if (!sc) {
            serve_accept(w);
        } else if (!sc->busy && sc->fc.fd >= 0) {
            serve_conn(w, sc, &w->nested, 1);
            break; /* one request a call: PostgreSQL is looked at between two */
        }
    }
    return 0;
}

static void serve_loop(struct serve_ctx *w)
{
    struct epoll_event got[64];
    struct timespec drain_end = {0, 0};

    for (;;) {
        int timeout = -1;
        serve_free_dead(w);
        if (serve_stop) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (drain_end.tv_sec == 0) {
                serve_listen(w, 0);
                drain_end = now;
                drain_end.tv_sec += SERVE_DRAIN_MS / 1000;
                log_info("worker stopping: serving %d kept connections until nginx closes them",
                         w->nconns);
            }
            if (w->nconns == 0)
                break;
            long left = (drain_end.tv_sec - now.tv_sec) * 1000 +
                        (drain_end.tv_nsec - now.tv_nsec) / 1000000;
            if (left <= 0) {
                log_warn("closing %d connections nginx kept open past %d ms", w->nconns,
                         SERVE_DRAIN_MS);
                break;
            }
            timeout = (int)left;
        } else if (!w->accepting && w->nconns < SERVE_MAX_CONNS) {
            serve_listen(w, 1);
        }
        /* The last publish's reply is read when there is nothing else to do. */
        int n = epoll_wait(w->ep, got, 64, pub_pending(&w->pub) ? 0 : timeout);
        if (n == 0 && pub_pending(&w->pub)) {
            pub_flush(&w->pub);
            serve_count_pub(w);
            continue;
        }
        if (n < 0) {
            if (errno != EINTR) {
                log_error("epoll_wait: %s", strerror(errno));
                usleep(100000);
            }
            continue;
        }
        /* Accept first: a connection's request may come in the same round. A connection
         * closed by one request is not touched after: events name live ones only. */
        for (int i = 0; i < n; i++)
            if (!got[i].data.ptr && !serve_stop)
                serve_accept(w);
        for (int i = 0; i < n; i++) {
            struct serve_conn *sc = got[i].data.ptr;
            if (sc)
                serve_conn(w, sc, &w->arena, 0);
        }
    }
}

int serve_worker(const struct config *cfg, int listen_fd)
{
    struct serve_ctx w;
    struct config_redis_addr ra;
    struct sigaction sa;
    int rc = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = serve_on_term; /* no SA_RESTART: a blocked epoll_wait must return */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    counters_attach(routes, routes_count);

    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.listen_fd = listen_fd;
    w.pid = (long)getpid();
    arena_init(&w.arena, 16384);
    arena_init(&w.nested, 16384);
    db_init(&w.db, cfg->database_url);
    config_parse_redis_url(cfg->redis_url, &ra);
    pub_init(&w.pub, &ra);

    w.ep = epoll_create1(EPOLL_CLOEXEC);
    if (w.ep < 0) {
        log_error("epoll_create1: %s", strerror(errno));
        rc = 1;
        goto out;
    }
    log_info("worker ready");
    serve_loop(&w);
    log_info("worker stopping after %lu requests", w.served);
out:
    while (w.conns)
        serve_close(&w, w.conns);
    serve_free_dead(&w);
    if (w.ep >= 0)
        close(w.ep);
    pub_fini(&w.pub);
    db_fini(&w.db);
    arena_fini(&w.nested);
    arena_fini(&w.arena);
    counters_detach();
    return rc;
}
