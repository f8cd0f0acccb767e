/* conns: a worker's FastCGI connections from nginx, read and answered by libfcgi. nginx
 * keeps its connections open between requests (fastcgi_keep_conn) and sends the next
 * request on any of them, so a worker holds many: each has its own FCGX_Request, and one
 * epoll set holds them all with the shared listening socket. An idle worker serves
 * whichever connection has a request and accepts new ones itself, so a kept connection
 * never pins a worker the way libfcgi's own accept loop (FCGX_Accept_r on the listening
 * socket) would. Nothing here knows HTTP: a request goes to the serve callback. */
#ifndef RW_CONNS_H
#define RW_CONNS_H

#include <fcgiapp.h>

struct pollfd;

/* Connections a worker holds at most. A new one beyond them closes the one idle longest:
 * nginx reuses its most recently used connections first, so that one is the least likely
 * to carry a request. nginx holds its idle cache (keepalive 64 an nginx worker) plus the
 * requests in flight, spread over the workers. */
#define CONNS_MAX 64

/* Requests whose writes wait for one commit together, at most (the group commit,
 * serve.c). The cap bounds what the first of them waits for (the handlers of the others
 * and the statements of all), the arenas held meanwhile, and the statements a failed
 * group runs again one by one. 32 is half of CONNS_MAX: a worker rarely has more
 * requests ready at once (nginx spreads its connections over the workers), and the
 * commit's cost is already shared 32 ways. */
#define CONNS_BATCH_MAX 32

/* How a request is served (the serve callback's `mode`). */
enum conns_mode {
    CONNS_NOW,       /* answered before the callback returns */
    CONNS_MAY_DEFER, /* other requests were ready with it: its write may wait (flush) */
    CONNS_NESTED,    /* served while another one waits (conns_wait); answered at once */
};

/* Serves one request read by libfcgi: reads fr->in to its end and writes the answer to
 * fr->out, and returns 0; conns finishes the request. Under CONNS_MAY_DEFER it may
 * instead keep the request and return 1: its answer is written by the next flush. */
typedef int (*conns_serve_fn)(void *ctx, FCGX_Request *fr, enum conns_mode mode);
/* Answers every request kept since the last flush, in the order they were kept; conns
 * then finishes them. */
typedef void (*conns_flush_fn)(void *ctx);

struct conns_slot {
    FCGX_Request fr; /* fr.ipcFd < 0: the slot is free */
    /* The tick of its accept or its last request: an event fetched before it is stale (a
     * request of it was served meanwhile), and the oldest idle one is closed first. */
    unsigned long tick;
    int busy; /* its request is being served (a wait serves others meanwhile) */
};

struct conns {
    int listen_fd, ep;
    int accepting; /* the listening socket is in the epoll set */
    int n;         /* open connections */
    unsigned long tick;
    unsigned long served, evicted;
    conns_serve_fn serve;
    conns_flush_fn flush;
    void *ctx;
    struct conns_slot slot[CONNS_MAX];
    struct conns_slot *deferred[CONNS_BATCH_MAX]; /* kept requests, in order */
    int ndeferred;
};

/* Sets up (FCGX_Init included) and starts accepting on listen_fd, a non-blocking listening
 * socket shared with the other workers. flush may be NULL when serve never defers. 0, or
 * -1 with errno. */
int conns_init(struct conns *c, int listen_fd, conns_serve_fn serve, conns_flush_fn flush,
               void *ctx);
/* Closes every connection and the epoll set. */
void conns_fini(struct conns *c);
/* Starts or stops accepting new connections. */
void conns_listen(struct conns *c, int on);
/* Waits up to timeout_ms (-1: no limit) for connections and requests, accepts the new
 * connections and serves one request of each connection that has one. When several have
 * one, each is served with CONNS_MAY_DEFER and the kept ones are flushed together at
 * the end (or as soon as CONNS_BATCH_MAX are kept); a lone request is served as
 * CONNS_NOW. Returns how many events it handled, 0 when none came in time, -1 with errno
 * (EINTR: a signal). */
int conns_run(struct conns *c, int timeout_ms);
/* Answers the kept requests now (serve.c before a request starts waiting). */
void conns_flush(struct conns *c);
/* Like poll(2) on the one descriptor in pfd, for a request that waits: meanwhile serves
 * at most one request of another connection (CONNS_NESTED), and accepts. Returns 1 when pfd is
 * ready, 0 otherwise (after serving one, or when the time is up), -1 with errno. */
int conns_wait(struct conns *c, struct pollfd *pfd, int timeout_ms);

#endif
