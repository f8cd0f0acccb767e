/* fastcgi: the responder side of the FastCGI protocol on one connection from nginx. A
 * request is read whole (BEGIN_REQUEST, PARAMS, STDIN up to its empty record) into the
 * request's arena; the answer leaves in one writev (STDOUT records, the empty one and
 * END_REQUEST). nginx never multiplexes a connection and sends the next request only
 * after END_REQUEST, so a connection is a sequence of requests; when nginx keeps it
 * (FCGI_KEEP_CONN), it stays open for the next one and serve.c polls it with the others.
 * Nothing here knows HTTP or the request context. */
#ifndef RW_FASTCGI_H
#define RW_FASTCGI_H

#include <stddef.h>

struct arena;

/* The parameters of one request may take this much (nginx's request line and headers
 * are capped far below: 4 buffers of 16 KB in the template). More closes the connection. */
#define FASTCGI_MAX_PARAMS (256 * 1024)
/* How long a request may take to arrive once its first byte has, and an answer to leave. */
#define FASTCGI_IO_TIMEOUT_MS 30000

/* Reading: one buffer a worker, shared by its connections (one request is read at a
 * time). Bytes past the end of a request, which nginx never sends, are kept on their
 * connection for its next request. */
struct fastcgi_in {
    char buf[16384];
    size_t pos, len;
};

struct fastcgi_conn {
    int fd;
    char *spill; /* malloc'd bytes read past the last request, or NULL */
    size_t spill_len;
};

struct fastcgi_req {
    unsigned id;  /* the request id nginx chose */
    int keep;     /* FCGI_KEEP_CONN: the connection stays open after the answer */
    char **env;   /* NAME=value, NULL-terminated, in the arena */
    size_t n_env; /* entries in env */
    /* STDIN: the first `body_len` bytes kept (NUL-terminated, in the arena; "" when none
     * were kept), and how many came in all, so a caller can tell "more than it kept". */
    char *body;
    size_t body_len;
    size_t stdin_len;
    int stdin_done; /* the empty STDIN record has been read */
};

/* Results of the reads: a request (part), nothing yet (the connection is idle), nothing
 * ever (the peer closed the connection between requests, as nginx does with an idle one),
 * or a broken connection. */
enum fastcgi_rc {
    FASTCGI_BROKEN = -1,
    FASTCGI_CLOSED = 0,
    FASTCGI_OK = 1,
    FASTCGI_IDLE = 2,
};

void fastcgi_conn_init(struct fastcgi_conn *c, int fd);
/* Closes the descriptor and frees what the connection holds. */
void fastcgi_conn_close(struct fastcgi_conn *c);

/* Reads a request's head: BEGIN_REQUEST and every PARAMS record. FASTCGI_IDLE when no byte
 * is there yet (a readiness already used): the first byte is never waited for; once it
 * came, the rest may take up to FASTCGI_IO_TIMEOUT_MS. On FASTCGI_BROKEN `err` says why. */
enum fastcgi_rc fastcgi_read_head(struct fastcgi_conn *c, struct fastcgi_in *in, struct arena *a,
                                  struct fastcgi_req *q, char *err, size_t errlen);
/* Reads STDIN to its end, keeping its first `keep` bytes in the arena and counting the rest;
 * `expect` (0: unknown) is the length the head announced, allocated at once. Once the head
 * is read the body must be read (with keep 0 to drop it) before answering: the connection
 * carries the next request right after. FASTCGI_OK or FASTCGI_BROKEN. */
enum fastcgi_rc fastcgi_read_body(struct fastcgi_conn *c, struct fastcgi_in *in, struct arena *a,
                                  size_t keep, size_t expect, struct fastcgi_req *q, char *err,
                                  size_t errlen);
/* Sends head and body as the request's STDOUT, then ends the request. 0, or -1 with errno. */
int fastcgi_respond(struct fastcgi_conn *c, const struct fastcgi_req *q, const char *head,
                    size_t head_len, const char *body, size_t body_len);

/* A parameter's value, or NULL. */
const char *fastcgi_param(const struct fastcgi_req *q, const char *name);

/* Parses the name-value pairs of a PARAMS stream (p[0..len)) into q->env in the arena.
 * -1 on a malformed or truncated pair. Exposed for the unit tests. */
int fastcgi_parse_params(struct arena *a, const unsigned char *p, size_t len,
                         struct fastcgi_req *q);

#endif
