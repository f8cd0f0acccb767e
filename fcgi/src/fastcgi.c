/* fastcgi: records are read through one buffer a worker, so a small request is one
 * read(2); a large body goes straight from the socket into its arena buffer. Connections
 * are non-blocking: every wait is a poll with the request's deadline, so a peer that
 * stops halfway costs a worker FASTCGI_IO_TIMEOUT_MS at most, never forever. Records for
 * other request ids, management records and roles other than the responder's are
 * refused by closing the connection (nginx sends none of them). */
#include "fastcgi.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"

enum {
    FASTCGI_BEGIN_REQUEST = 1,
    FASTCGI_ABORT_REQUEST = 2,
    FASTCGI_END_REQUEST = 3,
    FASTCGI_PARAMS = 4,
    FASTCGI_STDIN = 5,
    FASTCGI_STDOUT = 6,
    FASTCGI_RESPONDER = 1,
    FASTCGI_KEEP_CONN = 1,
    FASTCGI_HEADER_LEN = 8,
    FASTCGI_MAX_CONTENT = 65535,
};

struct fastcgi_header {
    unsigned type, id;
    size_t content, padding;
};

void fastcgi_conn_init(struct fastcgi_conn *c, int fd)
{
    c->fd = fd;
    c->spill = NULL;
    c->spill_len = 0;
}

void fastcgi_conn_close(struct fastcgi_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->spill);
    c->spill = NULL;
    c->spill_len = 0;
}

static void fastcgi_deadline(struct timespec *d)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += FASTCGI_IO_TIMEOUT_MS / 1000;
    d->tv_nsec += (long)(FASTCGI_IO_TIMEOUT_MS % 1000) * 1000000L;
    if (d->tv_nsec >= 1000000000L) {
        d->tv_sec++;
        d->tv_nsec -= 1000000000L;
    }
}

/* Waits for `events` on fd until the deadline: 0 when ready, -1 on timeout or error. */
static int fastcgi_wait(int fd, short events, const struct timespec *deadline)
{
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
                  (deadline->tv_nsec - now.tv_nsec) / 1000000;
        if (ms <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)ms);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* read(2) of up to n bytes, waiting as needed: >0 bytes, 0 at end of stream, -1 error. */
static ssize_t fastcgi_recv(int fd, void *dst, size_t n, const struct timespec *deadline)
{
    for (;;) {
        ssize_t r = read(fd, dst, n);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || fastcgi_wait(fd, POLLIN, deadline) != 0)
            return -1;
    }
}

/* Makes at least `need` (<= 8) unread bytes available in the buffer. 1 when they are,
 * 0 at end of stream, -1 on error. */
static int fastcgi_fill(struct fastcgi_conn *c, struct fastcgi_in *in, size_t need,
                        const struct timespec *deadline)
{
    while (in->len - in->pos < need) {
        if (in->pos > 0) {
            memmove(in->buf, in->buf + in->pos, in->len - in->pos);
            in->len -= in->pos;
            in->pos = 0;
        }
        ssize_t r = fastcgi_recv(c->fd, in->buf + in->len, sizeof(in->buf) - in->len, deadline);
        if (r <= 0)
            return (int)r;
        in->len += (size_t)r;
    }
    return 1;
}

/* Takes n bytes of content into dst (NULL: drops them). Large runs bypass the buffer. */
static int fastcgi_take(struct fastcgi_conn *c, struct fastcgi_in *in, char *dst, size_t n,
                        const struct timespec *deadline)
{
    while (n > 0) {
        size_t have = in->len - in->pos;
        if (have > 0) {
            size_t k = have < n ? have : n;
            if (dst) {
                memcpy(dst, in->buf + in->pos, k);
                dst += k;
            }
            in->pos += k;
            n -= k;
            continue;
        }
        in->pos = in->len = 0;
        ssize_t r;
        if (dst && n >= sizeof(in->buf) / 2)
            r = fastcgi_recv(c->fd, dst, n, deadline); /* exactly what is missing: no copy */
        else
            r = fastcgi_recv(c->fd, in->buf, sizeof(in->buf), deadline);
        if (r <= 0)
            return -1;
        if (dst && n >= sizeof(in->buf) / 2) {
            dst += r;
            n -= (size_t)r;
        } else {
            in->len = (size_t)r;
        }
    }
    return 0;
}

/* Reads a record header. 1, 0 at end of stream before any byte of it, -1 on error. */
static int fastcgi_header(struct fastcgi_conn *c, struct fastcgi_in *in, struct fastcgi_header *h,
                          const struct timespec *deadline, char *err, size_t errlen)
{
    int rc = fastcgi_fill(c, in, FASTCGI_HEADER_LEN, deadline);
    if (rc <= 0) {
        if (rc == 0 && in->len - in->pos == 0)
            return 0;
        snprintf(err, errlen, "%s",
                 rc == 0 ? "connection closed inside a record" : strerror(errno));
        return -1;
    }
    const unsigned char *p = (const unsigned char *)in->buf + in->pos;
    if (p[0] != 1) {
        snprintf(err, errlen, "FastCGI version %u", p[0]);
        return -1;
    }
    h->type = p[1];
    h->id = (unsigned)p[2] << 8 | p[3];
    h->content = (size_t)p[4] << 8 | p[5];
    h->padding = p[6];
    in->pos += FASTCGI_HEADER_LEN;
    return 1;
}

/* Anything but our request's PARAMS/STDIN (or a management record, skipped) breaks it. */
static int fastcgi_unexpected(const struct fastcgi_header *h, const struct fastcgi_req *q,
                              char *err, size_t errlen)
{
    if (h->type == FASTCGI_ABORT_REQUEST && h->id == q->id)
        snprintf(err, errlen, "request aborted by the web server");
    else
        snprintf(err, errlen, "unexpected record type %u for request %u", h->type, h->id);
    return -1;
}

/* One length of a name-value pair: 1 byte below 128, else 4 bytes with the top bit set. */
static int fastcgi_pair_len(const unsigned char *p, size_t len, size_t *o, size_t *out)
{
    if (*o >= len)
        return -1;
    if (p[*o] < 0x80) {
        *out = p[(*o)++];
        return 0;
    }
    if (len - *o < 4)
        return -1;
    *out = ((size_t)(p[*o] & 0x7f) << 24) | ((size_t)p[*o + 1] << 16) | ((size_t)p[*o + 2] << 8) |
           p[*o + 3];
    *o += 4;
    return 0;
}

int fastcgi_parse_params(struct arena *a, const unsigned char *p, size_t len, struct fastcgi_req *q)
{
    size_t o = 0, n = 0, bytes = 0;

    /* First pass: validate every pair and size the result. Lengths are checked against
     * what is left before they are added, so no claim can overflow or overrun. */
    while (o < len) {
        size_t nl, vl;
        if (fastcgi_pair_len(p, len, &o, &nl) || fastcgi_pair_len(p, len, &o, &vl) ||
            nl > len - o || vl > len - o - nl || nl == 0)
            return -1;
        o += nl + vl;
        bytes += nl + vl + 2;
        n++;
    }
    char **env = arena_alloc(a, (n + 1) * sizeof(char *));
    char *s = arena_alloc(a, bytes ? bytes : 1);
    if (!env || !s)
        return -1;
    o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl, vl;
        fastcgi_pair_len(p, len, &o, &nl);
        fastcgi_pair_len(p, len, &o, &vl);
        env[i] = s;
        memcpy(s, p + o, nl);
        s[nl] = '=';
        memcpy(s + nl + 1, p + o + nl, vl);
        s[nl + 1 + vl] = '\0';
        s += nl + vl + 2;
        o += nl + vl;
    }
    env[n] = NULL;
    q->env = env;
    q->n_env = n;
    return 0;
}

/* Bytes a previous request left on this connection go back into the buffer first. */
static void fastcgi_unspill(struct fastcgi_conn *c, struct fastcgi_in *in)
{
    in->pos = in->len = 0;
    if (c->spill) {
        memcpy(in->buf, c->spill, c->spill_len); /* it came from this buffer: it fits */
        in->len = c->spill_len;
        free(c->spill);
        c->spill = NULL;
        c->spill_len = 0;
    }
}

enum fastcgi_rc fastcgi_read_head(struct fastcgi_conn *c, struct fastcgi_in *in, struct arena *a,
                                  struct fastcgi_req *q, char *err, size_t errlen)
{
    struct timespec deadline;
    struct fastcgi_header h;
    unsigned char begin[8];
    unsigned char *params = NULL;
    size_t plen = 0, pcap = 0;
    int rc;

    err[0] = '\0';
    memset(q, 0, sizeof(*q));
    q->body = "";
    fastcgi_unspill(c, in);
    if (in->len == 0) {
        ssize_t r;
        do
            r = read(c->fd, in->buf, sizeof(in->buf));
        while (r < 0 && errno == EINTR);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return FASTCGI_IDLE;
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return FASTCGI_CLOSED;
        if (r < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            return FASTCGI_BROKEN;
        }
        in->len = (size_t)r;
    }
    fastcgi_deadline(&deadline);
    rc = fastcgi_header(c, in, &h, &deadline, err, errlen);
    if (rc <= 0)
        return rc == 0 ? FASTCGI_CLOSED : FASTCGI_BROKEN;
    if (h.type != FASTCGI_BEGIN_REQUEST || h.id == 0 || h.content != sizeof(begin)) {
        snprintf(err, errlen, "expected BEGIN_REQUEST, got record type %u", h.type);
        return FASTCGI_BROKEN;
    }
    if (fastcgi_take(c, in, (char *)begin, sizeof(begin), &deadline) ||
        fastcgi_take(c, in, NULL, h.padding, &deadline)) {
        snprintf(err, errlen, "BEGIN_REQUEST cut short");
        return FASTCGI_BROKEN;
    }
    if (((unsigned)begin[0] << 8 | begin[1]) != FASTCGI_RESPONDER) {
        snprintf(err, errlen, "role %u is not the responder's", (unsigned)begin[0] << 8 | begin[1]);
        return FASTCGI_BROKEN;
    }
    q->id = h.id;
    q->keep = begin[2] & FASTCGI_KEEP_CONN;
    for (;;) {
        if (fastcgi_header(c, in, &h, &deadline, err, errlen) <= 0) {
            if (!*err)
                snprintf(err, errlen, "connection closed inside the parameters");
            return FASTCGI_BROKEN;
        }
        if (h.type != FASTCGI_PARAMS || h.id != q->id) {
            if (h.id == 0) { /* a management record: not ours to answer here */
                if (fastcgi_take(c, in, NULL, h.content + h.padding, &deadline))
                    return FASTCGI_BROKEN;
                continue;
            }
            fastcgi_unexpected(&h, q, err, errlen);
            return FASTCGI_BROKEN;
        }
        if (h.content == 0) {
            if (fastcgi_take(c, in, NULL, h.padding, &deadline)) {
                snprintf(err, errlen, "connection closed inside the parameters");
                return FASTCGI_BROKEN;
            }
            break;
        }
        if (plen + h.content > FASTCGI_MAX_PARAMS) {
            snprintf(err, errlen, "parameters larger than %d bytes", FASTCGI_MAX_PARAMS);
            return FASTCGI_BROKEN;
        }
        if (plen + h.content > pcap) {
            size_t ncap = pcap ? pcap : 4096;
            while (ncap < plen + h.content)
                ncap *= 2;
            unsigned char *np = arena_alloc(a, ncap);
            if (!np) {
                snprintf(err, errlen, "out of memory");
                return FASTCGI_BROKEN;
            }
            if (plen)
                memcpy(np, params, plen);
            params = np;
            pcap = ncap;
        }
        if (fastcgi_take(c, in, (char *)params + plen, h.content, &deadline) ||
            fastcgi_take(c, in, NULL, h.padding, &deadline)) {
            snprintf(err, errlen, "connection closed inside the parameters");
            return FASTCGI_BROKEN;
        }
        plen += h.content;
    }
    if (fastcgi_parse_params(a, params, plen, q) != 0) {
        snprintf(err, errlen, "malformed parameters");
        return FASTCGI_BROKEN;
    }
    return FASTCGI_OK;
}

enum fastcgi_rc fastcgi_read_body(struct fastcgi_conn *c, struct fastcgi_in *in, struct arena *a,
                                  size_t keep, size_t expect, struct fastcgi_req *q, char *err,
                                  size_t errlen)
{
    struct timespec deadline;
    struct fastcgi_header h;
    char *buf = NULL;
    size_t cap = 0;

    err[0] = '\0';
    if (q->stdin_done)
        return FASTCGI_OK;
    fastcgi_deadline(&deadline);
    for (;;) {
        if (fastcgi_header(c, in, &h, &deadline, err, errlen) <= 0) {
            if (!*err)
                snprintf(err, errlen, "connection closed inside the body");
            return FASTCGI_BROKEN;
        }
        if (h.type != FASTCGI_STDIN || h.id != q->id) {
            if (h.id == 0) {
                if (fastcgi_take(c, in, NULL, h.content + h.padding, &deadline))
                    return FASTCGI_BROKEN;
                continue;
            }
            fastcgi_unexpected(&h, q, err, errlen);
            return FASTCGI_BROKEN;
        }
        if (h.content == 0) {
            if (fastcgi_take(c, in, NULL, h.padding, &deadline)) {
                snprintf(err, errlen, "connection closed inside the body");
                return FASTCGI_BROKEN;
            }
            break;
        }
        /* What is kept of this record; the rest of it is counted and dropped. */
        size_t room = q->body_len < keep ? keep - q->body_len : 0;
        size_t k = h.content < room ? h.content : room;
        if (k > 0 && q->body_len + k > cap) {
            /* The size the head announced, at once; growth (doubling) only without one. */
            size_t ncap = cap ? cap * 2 : (expect ? expect : 8192);
            while (ncap < q->body_len + k)
                ncap *= 2;
            if (ncap > keep)
                ncap = keep;
            char *nb = arena_alloc(a, ncap + 1);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                return FASTCGI_BROKEN;
            }
            if (q->body_len)
                memcpy(nb, buf, q->body_len);
            buf = nb;
            cap = ncap;
        }
        if ((k && fastcgi_take(c, in, buf + q->body_len, k, &deadline)) ||
            fastcgi_take(c, in, NULL, h.content - k + h.padding, &deadline)) {
            snprintf(err, errlen, "connection closed inside the body");
            return FASTCGI_BROKEN;
        }
        q->body_len += k;
        q->stdin_len += h.content;
    }
    if (buf) {
        buf[q->body_len] = '\0';
        q->body = buf;
    }
    q->stdin_done = 1;
    /* nginx sends nothing more before our answer; anything that came is the next request's. */
    if (in->pos < in->len) {
        c->spill = malloc(in->len - in->pos);
        if (!c->spill) {
            snprintf(err, errlen, "out of memory");
            return FASTCGI_BROKEN;
        }
        memcpy(c->spill, in->buf + in->pos, in->len - in->pos);
        c->spill_len = in->len - in->pos;
    }
    in->pos = in->len = 0;
    return FASTCGI_OK;
}

static void fastcgi_put_header(unsigned char *h, unsigned type, unsigned id, size_t content)
{
    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(content >> 8);
    h[5] = (unsigned char)content;
    h[6] = 0; /* no padding: it is optional, and nginx reads records of any length */
    h[7] = 0;
}

/* Writes every iovec, waiting for room as needed; advances the array as it goes. */
static int fastcgi_writev(int fd, struct iovec *iov, int n, const struct timespec *deadline)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                fastcgi_wait(fd, POLLOUT, deadline) != 0)
                return -1;
            continue;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int fastcgi_respond(struct fastcgi_conn *c, const struct fastcgi_req *q, const char *head,
                    size_t head_len, const char *body, size_t body_len)
{
    /* Up to 32 records a writev: 2 MiB of body; a larger answer takes more calls. */
    enum { BATCH = 32 };
    unsigned char hdrs[BATCH + 1][FASTCGI_HEADER_LEN];
    unsigned char tail[24];
    struct iovec iov[2 * BATCH + 1];
    struct timespec deadline;
    const char *parts[2] = {head, body};
    size_t lens[2] = {head_len, body_len};
    int part = 0;
    size_t off = 0;

    fastcgi_deadline(&deadline);
    /* The empty STDOUT record, then END_REQUEST: application status 0, request complete. */
    fastcgi_put_header(tail, FASTCGI_STDOUT, q->id, 0);
    fastcgi_put_header(tail + 8, FASTCGI_END_REQUEST, q->id, 8);
    memset(tail + 16, 0, 8);
    for (;;) {
        int n = 0, r = 0;
        while (r < BATCH && part < 2) {
            if (off >= lens[part]) {
                part++;
                off = 0;
                continue;
            }
            size_t k = lens[part] - off;
            if (k > FASTCGI_MAX_CONTENT)
                k = FASTCGI_MAX_CONTENT;
            fastcgi_put_header(hdrs[r], FASTCGI_STDOUT, q->id, k);
            iov[n].iov_base = hdrs[r];
            iov[n++].iov_len = FASTCGI_HEADER_LEN;
            iov[n].iov_base = (char *)parts[part] + off;
            iov[n++].iov_len = k;
            off += k;
            r++;
        }
        int last = part >= 2;
        if (last) {
            iov[n].iov_base = tail;
            iov[n++].iov_len = sizeof(tail);
        }
        if (fastcgi_writev(c->fd, iov, n, &deadline) != 0)
            return -1;
        if (last)
            return 0;
    }
}

const char *fastcgi_param(const struct fastcgi_req *q, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < q->n_env; i++)
        if (strncmp(q->env[i], name, n) == 0 && q->env[i][n] == '=')
            return q->env[i] + n + 1;
    return NULL;
}
