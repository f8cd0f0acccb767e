/* tls.c: TLS brokers (rediss://) for runwatch-celery. Debian's hiredis 0.14 has no SSL, but
 * it takes an already connected descriptor (redisConnectFd). So the bridge opens the TCP
 * connection and does the TLS handshake itself with OpenSSL (verifying the broker's
 * certificate and name unless the URL opts out, as redis-py and kombu name it:
 * ssl_cert_reqs=none), then hands hiredis one end of a socketpair and starts a thread that
 * shuttles bytes between the other end and the TLS connection. hiredis never knows: its
 * blocking calls, poll() on its fd and redisFree() work as on a plain socket.
 *
 * The pump is one thread per connection with non-blocking descriptors and one poll(): an
 * SSL object must not be read and written from two threads. It ends when hiredis closes
 * its end (redisFree: the socket reports POLLHUP; a close_notify is sent) or the broker
 * closes or breaks the connection (its end of the pair is closed, so hiredis sees EOF and
 * the bridge reconnects). Finished pumps are joined and freed at the next connect and at
 * exit (celery_tls_fini), so nothing is leaked. */
#include "celery/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"

/* ---- the URL's query */

/* Percent-decodes s[0..len) into out (a path may arrive as %2Fetc%2F...). */
static int unescape(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hex_digit(s[i + 1]), l = hex_digit(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int is_true(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "1") == 0 ||
           strcmp(v, "yes") == 0;
}

static int is_false(const char *v)
{
    return strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "0") == 0 ||
           strcmp(v, "no") == 0;
}

int celery_tls_query(const char *query, size_t len, struct celery_tls *t)
{
    const char *p = query, *end = query + len;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *item_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(item_end - p));
        char name[64], value[512];

        if (item_end == p) {
            p = item_end + 1;
            continue;
        }
        if (!eq || unescape(p, (size_t)(eq - p), name, sizeof(name)) != 0 ||
            unescape(eq + 1, (size_t)(item_end - eq - 1), value, sizeof(value)) != 0) {
            log_error("broker URL: cannot read the query item '%.*s'", (int)(item_end - p), p);
            return -1;
        }
        if (strcmp(name, "ssl_cert_reqs") == 0) {
            if (strcmp(value, "required") == 0 || strcmp(value, "CERT_REQUIRED") == 0 ||
                strcmp(value, "optional") == 0 || strcmp(value, "CERT_OPTIONAL") == 0)
                t->verify = 1; /* a server always shows a certificate: optional is required */
            else if (strcmp(value, "none") == 0 || strcmp(value, "CERT_NONE") == 0)
                t->verify = 0;
            else {
                log_error("broker URL: ssl_cert_reqs must be required, optional or none");
                return -1;
            }
        } else if (strcmp(name, "ssl_check_hostname") == 0) {
            if (!is_true(value) && !is_false(value)) {
                log_error("broker URL: ssl_check_hostname must be true or false");
                return -1;
            }
            t->check_hostname = is_true(value);
        } else if (strcmp(name, "ssl_ca_certs") == 0) {
            snprintf(t->ca_file, sizeof(t->ca_file), "%s", value);
        } else if (strcmp(name, "ssl_certfile") == 0) {
            snprintf(t->cert_file, sizeof(t->cert_file), "%s", value);
        } else if (strcmp(name, "ssl_keyfile") == 0) {
            snprintf(t->key_file, sizeof(t->key_file), "%s", value);
        } else {
            log_error("broker URL: unknown query item '%s' (known: ssl_cert_reqs, ssl_ca_certs, "
                      "ssl_certfile, ssl_keyfile, ssl_check_hostname)",
                      name);
            return -1;
        }
        p = item_end + 1;
    }
    if (!t->cert_file[0] != !t->key_file[0]) {
        log_error("broker URL: ssl_certfile and ssl_keyfile go together");
        return -1;
    }
    return 0;
}

/* ---- connecting */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until fd is ready for ev, or the deadline passes: 0 ready, -1 timed out. */
static int wait_fd(int fd, short ev, double deadline)
{
    for (;;) {
        double left = deadline - mono();
        if (left <= 0)
            return -1;
        struct pollfd pf = {.fd = fd, .events = ev};
        int rc = poll(&pf, 1, (int)(left * 1000) + 1);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* A non-blocking TCP connection to host:port, or -1 after logging. */
static int tcp_connect(const char *host, int port, double deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    char service[16];
    int fd = -1, one = 1;

    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        log_warn("TLS broker %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
            int err = 0;
            socklen_t len = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            errno = err;
        }
        log_warn("TLS broker %s:%d: connect: %s", host, port, strerror(errno ? errno : ETIMEDOUT));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        /* What redisEnableKeepAlive does for a plain connection: a dead broker is noticed. */
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

static int is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The last OpenSSL error as text (or "" when the queue is empty). */
static const char *ssl_err(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

/* ---- the pump */

struct pump {
    int plain; /* our end of the socketpair; hiredis has the other */
    int tcp;
    SSL_CTX *ctx;
    SSL *ssl;
    pthread_t thread;
    atomic_int done;
    struct pump *next;
    char out[16384]; /* from hiredis, to be written to the broker */
    size_t out_len, out_off;
    char in[16384]; /* from the broker, to be written to hiredis */
    size_t in_len, in_off;
};

static pthread_mutex_t pumps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pump *pumps;

static void pump_free(struct pump *p)
{
    if (p->ssl)
        SSL_free(p->ssl);
    if (p->ctx)
        SSL_CTX_free(p->ctx);
    if (p->tcp >= 0)
        close(p->tcp);
    if (p->plain >= 0)
        close(p->plain);
    free(p);
}

/* One SSL call's wish, as poll events on the TCP socket; -1: the connection is over. */
static int ssl_wants(SSL *ssl, int rc, short *ev)
{
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *ev |= POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *ev |= POLLOUT;
        return 0;
    default:
        return -1;
    }
}

static void *pump_run(void *arg)
{
    struct pump *p = arg;
    const char *why = "the bridge closed it";
    int closed_by_us = 0;

    for (;;) {
        short tcp_ev, plain_ev;
        int progress;
        do {
            progress = 0;
            tcp_ev = 0;
            plain_ev = 0;
            /* hiredis → broker */
            if (p->out_len == 0) {
                ssize_t n = read(p->plain, p->out, sizeof(p->out));
                if (n > 0) {
                    p->out_len = (size_t)n;
                    p->out_off = 0;
                    progress = 1;
                } else if (n == 0) {
                    closed_by_us = 1;
                    goto end;
                } else if (errno == EAGAIN || errno == EINTR) {
                    plain_ev |= POLLIN;
                } else {
                    closed_by_us = 1;
                    goto end;
                }
            }
            if (p->out_len > 0) {
                int rc = SSL_write(p->ssl, p->out + p->out_off, (int)(p->out_len - p->out_off));
                if (rc > 0) {
                    p->out_off += (size_t)rc;
                    if (p->out_off == p->out_len)
                        p->out_len = 0;
                    progress = 1;
                } else if (ssl_wants(p->ssl, rc, &tcp_ev) != 0) {
                    why = "writing to the broker failed";
                    goto end;
                }
            }
            /* broker → hiredis */
            if (p->in_len == 0) {
                int rc = SSL_read(p->ssl, p->in, (int)sizeof(p->in));
                if (rc > 0) {
                    p->in_len = (size_t)rc;
                    p->in_off = 0;
                    progress = 1;
                } else if (ssl_wants(p->ssl, rc, &tcp_ev) != 0) {
                    why = SSL_get_error(p->ssl, rc) == SSL_ERROR_ZERO_RETURN
                              ? "the broker closed it"
                              : "the broker's connection broke";
                    goto end;
                }
            }
            if (p->in_len > 0) {
                ssize_t n = write(p->plain, p->in + p->in_off, p->in_len - p->in_off);
                if (n > 0) {
                    p->in_off += (size_t)n;
                    if (p->in_off == p->in_len)
                        p->in_len = 0;
                    progress = 1;
                } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    plain_ev |= POLLOUT;
                } else {
                    closed_by_us = 1;
                    goto end;
                }
            }
        } while (progress);
        /* The plain end is always watched: POLLHUP says hiredis closed its end even while
         * nothing is wanted from it. The TCP socket only when OpenSSL waits for it. */
        struct pollfd pf[2] = {{.fd = p->plain, .events = plain_ev},
                               {.fd = tcp_ev ? p->tcp : -1, .events = tcp_ev}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR) {
            why = "poll failed";
            goto end;
        }
        if ((pf[0].revents & (POLLHUP | POLLERR)) && !(pf[0].revents & POLLIN)) {
            closed_by_us = 1;
            goto end;
        }
    }
end:
    if (closed_by_us) {
        /* Best effort, without waiting: the broker is told this was no truncation. */
        SSL_shutdown(p->ssl);
    } else {
        log_warn("TLS connection to the broker ended: %s", why);
    }
    ERR_clear_error();
    /* hiredis sees EOF (or already closed its end); the rest is freed when joined. */
    close(p->plain);
    p->plain = -1;
    close(p->tcp);
    p->tcp = -1;
    atomic_store(&p->done, 1);
    return NULL;
}

/* Joins and frees the pumps that ended (all of them with wait_all). */
static void reap(int wait_all)
{
    pthread_mutex_lock(&pumps_lock);
    struct pump **pp = &pumps;
    while (*pp) {
        struct pump *p = *pp;
        if (wait_all || atomic_load(&p->done)) {
            *pp = p->next;
            pthread_join(p->thread, NULL);
            pump_free(p);
        } else {
            pp = &p->next;
        }
    }
    pthread_mutex_unlock(&pumps_lock);
}

void celery_tls_fini(void)
{
    reap(1);
}

static SSL_CTX *make_ctx(const struct celery_tls *t, const char *host, int port)
{
    char err[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx) {
        log_error("TLS broker %s:%d: %s", host, port, ssl_err(err, sizeof(err)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (t->verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = t->ca_file[0] ? SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL)
                               : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            log_error("TLS broker %s:%d: cannot load the CA file %s: %s", host, port,
                      t->ca_file[0] ? t->ca_file : "(system default)", ssl_err(err, sizeof(err)));
            goto fail;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (t->cert_file[0] && (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1 ||
                            SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1 ||
                            SSL_CTX_check_private_key(ctx) != 1)) {
        log_error("TLS broker %s:%d: cannot use the client certificate %s / key %s: %s", host, port,
                  t->cert_file, t->key_file, ssl_err(err, sizeof(err)));
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

redisContext *celery_tls_connect(const struct celery_tls *t, const char *host, int port,
                                 int timeout_s)
{
    double deadline = mono() + timeout_s;
    char err[256];
    int sv[2] = {-1, -1};
    struct pump *p;
    redisContext *c;

    reap(0);
    if (!(p = calloc(1, sizeof(*p))))
        return NULL;
    p->plain = p->tcp = -1;
    if (!(p->ctx = make_ctx(t, host, port)))
        goto fail;
    if ((p->tcp = tcp_connect(host, port, deadline)) < 0)
        goto fail;
    if (!(p->ssl = SSL_new(p->ctx)) || SSL_set_fd(p->ssl, p->tcp) != 1) {
        log_error("TLS broker %s:%d: %s", host, port, ssl_err(err, sizeof(err)));
        goto fail;
    }
    SSL_set_mode(p->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* SNI for a name (never for an address, RFC 6066); the name or address checked against
     * the certificate unless the URL says ssl_check_hostname=false. */
    if (!is_ip_literal(host))
        SSL_set_tlsext_host_name(p->ssl, host);
    if (t->verify && t->check_hostname) {
        int ok = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->ssl), host)
                                     : SSL_set1_host(p->ssl, host);
        if (ok != 1) {
            log_error("TLS broker %s:%d: cannot set the name to verify", host, port);
            goto fail;
        }
    }
    for (;;) {
        int rc = SSL_connect(p->ssl);
        if (rc == 1)
            break;
        short ev = 0;
        if (ssl_wants(p->ssl, rc, &ev) != 0) {
            long vr = SSL_get_verify_result(p->ssl);
            if (vr != X509_V_OK)
                log_error("TLS broker %s:%d: the broker's certificate was refused: %s (set "
                          "ssl_ca_certs to the CA that signed it, or ssl_cert_reqs=none to "
                          "skip verification)",
                          host, port, X509_verify_cert_error_string(vr));
            else
                log_error("TLS broker %s:%d: handshake failed: %s", host, port,
                          ssl_err(err, sizeof(err)));
            ERR_clear_error();
            goto fail;
        }
        if (wait_fd(p->tcp, ev, deadline) != 0) {
            log_error("TLS broker %s:%d: handshake timed out", host, port);
            goto fail;
        }
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        log_error("socketpair: %s", strerror(errno));
        goto fail;
    }
    /* hiredis' end stays blocking (it uses blocking calls); ours is non-blocking. */
    if (fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK) != 0)
        goto fail;
    if (!(c = redisConnectFd(sv[0]))) {
        log_error("redisConnectFd: out of memory");
        goto fail;
    }
    sv[0] = -1; /* hiredis' now: redisFree closes it */
    p->plain = sv[1];
    sv[1] = -1;
    log_info("TLS connection to %s:%d (%s, %s)", host, port, SSL_get_version(p->ssl),
             t->verify ? "certificate verified" : "certificate NOT verified: ssl_cert_reqs=none");
    /* The pump takes no signals (it inherits this mask): SIGTERM goes to the main thread,
     * whose blocking calls it interrupts, as without TLS. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int started = pthread_create(&p->thread, NULL, pump_run, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != 0) {
        log_error("cannot start the TLS pump thread");
        redisFree(c);
        goto fail;
    }
    pthread_mutex_lock(&pumps_lock);
    p->next = pumps;
    pumps = p;
    pthread_mutex_unlock(&pumps_lock);
    return c;
fail:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    pump_free(p);
    return NULL;
}
