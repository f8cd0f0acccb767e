/* conns: a worker's FastCGI connections, each with its own libfcgi request (conns.h).
 * How libfcgi 2.4.2 is used (its fcgiapp.c, read for this):
 * - FCGX_Accept_r reads the next request from fr.ipcFd when it is open instead of
 *   accepting, so the worker accepts itself and hands the descriptor to a free slot.
 *   Every request gets -1 as its listening socket: when libfcgi gives up a connection
 *   inside FCGX_Accept_r (the peer closed it, a protocol error, parameters refused by
 *   Debian's CVE-2025-23016 fix) it closes it and would accept anew; on -1 that fails at
 *   once and FCGX_Accept_r returns < 0 with fr.ipcFd -1.
 * - FCGX_Accept_r first finishes the request before, closing the connection unless
 *   fr.keepConnection is set: a fresh slot sets it so its new descriptor survives.
 * - FCGX_Finish_r keeps the connection when nginx set FCGI_KEEP_CONN and nothing failed;
 *   it does not read what is left of the request's input, so the serve callback does.
 * - Reads and writes block. A readable connection holds a request nginx sends at once,
 *   but a readiness fetched before the request was served (during a wait) is stale and
 *   would block on the next one: slot ticks tell.
 * - A kept request (the group commit) stays busy and unfinished until the flush that
 *   answers it; its connection is not read meanwhile, as nginx sends nothing more on it.
 * - A descriptor libfcgi closes leaves the epoll set by itself (nothing else refers to
 *   it: accepted close-on-exec, and workers do not fork). libfcgi closes with FD_CLR,
 *   which aborts for a descriptor at or above FD_SETSIZE: serve.c caps RLIMIT_NOFILE. */
#include "conns.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define CONNS_LISTEN 0
#define CONNS_EXTRA  UINT64_MAX

static void conns_slot_reset(struct conns_slot *s)
{
    FCGX_InitRequest(&s->fr, -1, 0);
    s->busy = 0;
}

int conns_init(struct conns *c, int listen_fd, conns_serve_fn serve, conns_flush_fn flush,
               void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->ep = -1;
    c->listen_fd = listen_fd;
    c->serve = serve;
    c->flush = flush;
    c->ctx = ctx;
    for (int i = 0; i < CONNS_MAX; i++)
        conns_slot_reset(&c->slot[i]);
    if (FCGX_Init() != 0) {
        errno = EINVAL;
        return -1;
    }
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    if (c->ep < 0)
        return -1;
    conns_listen(c, 1);
    return 0;
}

/* Closes a slot's connection through libfcgi (lingering close: nginx sees the end first). */
static void conns_close(struct conns *c, struct conns_slot *s)
{
    if (s->fr.ipcFd < 0)
        return;
    FCGX_Free(&s->fr, 1);
    conns_slot_reset(s);
    c->n--;
}

void conns_fini(struct conns *c)
{
    for (int i = 0; i < CONNS_MAX; i++)
        conns_close(c, &c->slot[i]);
    if (c->ep >= 0)
        close(c->ep);
    c->ep = -1;
}

void conns_listen(struct conns *c, int on)
{
    /* EPOLLEXCLUSIVE: a new connection wakes one idle worker, not every one. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = CONNS_LISTEN};
    if (on == c->accepting)
        return;
    if (epoll_ctl(c->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->listen_fd, on ? &ev : NULL) != 0)
        log_warn("epoll on the listening socket: %s", strerror(errno));
    else
        c->accepting = on;
}

/* A free slot, or the one idle longest closed to free it; NULL when every one is busy. */
static struct conns_slot *conns_free_slot(struct conns *c)
{
    struct conns_slot *old = NULL;
    for (int i = 0; i < CONNS_MAX; i++) {
        struct conns_slot *s = &c->slot[i];
        if (s->fr.ipcFd < 0)
            return s;
        if (!s->busy && (!old || s->tick < old->tick))
            old = s;
    }
    if (old) {
        conns_close(c, old);
        c->evicted++;
    }
    return old;
}

static void conns_accept(struct conns *c)
{
    /* The listening socket is non-blocking: another worker may have taken it. The new
     * descriptor blocks, as libfcgi's reads and writes expect. */
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR) {
            log_warn("accept failed: %s", strerror(errno));
            usleep(100000); /* EMFILE and friends: do not spin */
        }
        return;
    }
    struct conns_slot *s = conns_free_slot(c);
    if (!s) {
        close(fd);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(s - c->slot) + 1};
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_warn("epoll on a connection: %s", strerror(errno));
        close(fd);
        return;
    }
    s->fr.ipcFd = fd;
    s->fr.keepConnection = 1; /* FCGX_Accept_r's finish of "the request before" keeps it */
    s->tick = c->tick;
    c->n++;
}

/* Finishes the answered request of slot s; a connection that ended is freed. */
static void conns_finish(struct conns *c, struct conns_slot *s)
{
    FCGX_Finish_r(&s->fr);
    c->served++;
    s->busy = 0;
    s->tick = c->tick;
    if (s->fr.ipcFd < 0) { /* no FCGI_KEEP_CONN, or the answer could not be written */
        conns_slot_reset(s);
        c->n--;
    }
}

void conns_flush(struct conns *c)
{
    int n = c->ndeferred;
    if (n == 0)
        return;
    c->flush(c->ctx);
    c->ndeferred = 0;
    for (int i = 0; i < n; i++)
        conns_finish(c, c->deferred[i]);
}

/* Reads and serves one request of slot s: answered and finished now, or kept (busy,
 * unfinished) for the next flush. */
static void conns_serve(struct conns *c, struct conns_slot *s, enum conns_mode mode)
{
    s->busy = 1;
    if (FCGX_Accept_r(&s->fr) < 0) {
        /* libfcgi closed it: nginx closed an idle connection, or it was broken. */
        if (s->fr.ipcFd >= 0)
            FCGX_Free(&s->fr, 1);
        conns_slot_reset(s);
        c->n--;
        return;
    }
    if (c->serve(c->ctx, &s->fr, mode) == 1 && mode == CONNS_MAY_DEFER && c->flush) {
        c->deferred[c->ndeferred++] = s;
        if (c->ndeferred == CONNS_BATCH_MAX)
            conns_flush(c);
        return;
    }
    conns_finish(c, s);
}

/* The slot an event names if its readiness still holds, or NULL. */
static struct conns_slot *conns_ready(struct conns *c, uint64_t data, unsigned long fetched)
{
    struct conns_slot *s;
    if (data == CONNS_LISTEN || data == CONNS_EXTRA || data > CONNS_MAX)
        return NULL;
    s = &c->slot[data - 1];
    if (s->fr.ipcFd < 0 || s->busy || s->tick >= fetched)
        return NULL;
    return s;
}

int conns_run(struct conns *c, int timeout_ms)
{
    struct epoll_event got[64];
    int n = epoll_wait(c->ep, got, 64, timeout_ms);
    if (n <= 0)
        return n;
    unsigned long fetched = ++c->tick;
    int ready = 0;
    for (int i = 0; i < n; i++)
        if (got[i].data.u64 == CONNS_LISTEN && c->accepting)
            conns_accept(c);
        else if (conns_ready(c, got[i].data.u64, fetched))
            ready++;
    /* Only what is readable now is grouped: a lone request never waits for company. */
    enum conns_mode mode = ready > 1 && c->flush ? CONNS_MAY_DEFER : CONNS_NOW;
    for (int i = 0; i < n; i++) {
        struct conns_slot *s = conns_ready(c, got[i].data.u64, fetched);
        if (s)
            conns_serve(c, s, mode);
    }
    conns_flush(c);
    return n;
}

int conns_wait(struct conns *c, struct pollfd *pfd, int timeout_ms)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CONNS_EXTRA}, got[16];
    int n;

    pfd->revents = 0;
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, pfd->fd, &ev) != 0)
        return poll(pfd, 1, timeout_ms);
    n = epoll_wait(c->ep, got, 16, timeout_ms);
    epoll_ctl(c->ep, EPOLL_CTL_DEL, pfd->fd, NULL);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    unsigned long fetched = ++c->tick;
    for (int i = 0; i < n; i++)
        if (got[i].data.u64 == CONNS_EXTRA) {
            pfd->revents = (short)(got[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP));
            return 1; /* the waiter first: its wait may be over */
        }
    for (int i = 0; i < n; i++)
        if (got[i].data.u64 == CONNS_LISTEN && c->accepting)
            conns_accept(c);
    for (int i = 0; i < n; i++) {
        struct conns_slot *s = conns_ready(c, got[i].data.u64, fetched);
        if (s) {
            conns_serve(c, s, CONNS_NESTED);
            break; /* one request a call: the waiter is looked at between two */
        }
    }
    return 0;
}
