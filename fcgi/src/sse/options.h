/* options: the hub's own settings (RUNWATCH_SSE_*), read once at start next to the shared
 * config. Every bound the hub keeps — ring size, per-client buffer, client count — is here,
 * so an operator can see in one place what the hub may hold in memory. */
#ifndef RW_SSE_OPTIONS_H
#define RW_SSE_OPTIONS_H

#include <stddef.h>

struct sse_options {
    size_t ring;          /* events kept for Last-Event-ID replay */
    size_t ring_bytes;    /* and at most this many frame bytes of them */
    size_t frame_max;     /* a published payload past this becomes a truncated stub */
    int keepalive_ms;     /* a comment on a connection idle this long */
    size_t client_buffer; /* pending output above this for 2 s (or 4x it) marks a client slow */
    int stall_ms;         /* pending output that does not move for this long: slow too */
    size_t max_clients;   /* streams held at once; more get 503 */
    int max_age_s;        /* a stream is ended after about this long (0 = never) */
    int retry_ms;         /* the browser's reconnect delay, sent as `retry:` */
    size_t per_user;      /* streams one user or token may hold at once (0 = no cap); 429 past */
};

/* Fills opts from the environment; on a bad value returns -1 with a message naming the
 * variable in err. */
int sse_options_load(struct sse_options *opts, char *err, size_t errlen);

#endif
