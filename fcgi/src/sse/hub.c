/* hub: fan-out, replay and the life of each stream. The rules that keep a client from
 * silently missing an event:
 * - the hub knows the current epoch and the newest seq once a message arrived since the
 *   last (re)subscription; the ring holds a gap-free run of seqs ending at that newest;
 * - any break in continuity (new epoch, a seq that is not newest + 1, a Redis gap) sends
 *   every client `event: reset` and empties the ring; so does a `reset` message (a
 *   runwatch-api worker died between a COMMIT and its publish), which takes an id of its
 *   own, so a client that resumes from before it is reset too;
 * - a reconnecting client's Last-Event-ID is replayed from the ring when the ring holds
 *   everything after it, waits for the first message when the hub does not know yet
 *   (just started or resubscribed), and gets `reset` otherwise.
 * Memory per client is bounded: a client whose pending output stays above the buffer
 * limit for HUB_BEHIND_GRACE_MS, passes HUB_HARD_FACTOR times the limit, or stops
 * draining is disconnected (it reconnects and replays). The grace lets a healthy client
 * take a burst of large frames (a run with a big input) without being dropped; the hard
 * bound caps what a client can pin meanwhile. A replay is paced by the client's own
 * draining so it never has to pass the limit.
 * Who watches: each stream knows its identity (the user and session, or the token, that
 * auth_request found). A revocation names identities (HUB_REVOKED_CHANNEL) and ends
 * their streams at once; a table of open streams per user or token enforces
 * RUNWATCH_SSE_STREAMS_PER_USER. */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "ring.h"

/* Longest payload prefix a log line shows; events are small, a runaway one is not. */
#define HUB_LOG_PAYLOAD_MAX 256
/* After its last frame a stream that is ended gets this long to drain, then it is cut. */
#define HUB_END_DRAIN_S 10
/* Above the buffer limit this long without coming back under it: the client is behind. */
#define HUB_BEHIND_GRACE_MS 2000
/* Pending output past this many times the limit drops the client at once. */
#define HUB_HARD_FACTOR 4

/* What an identity's key is made of (hub_who_key): the kind in the low bits, so a token
 * and a user with the same id never share a key. */
enum hub_who_kind {
    HUB_WHO_TOKEN = 1,
    HUB_WHO_SESSION = 2,
    HUB_WHO_USER = 3,
};

/* The open streams of one user or token, for the cap. */
struct hub_who {
    struct hub_who *next; /* the bucket's chain */
    int64_t key;
    size_t n;
};

struct hub_client {
    struct hub_client *prev, *next;
    struct hub *hub;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct evbuffer *out;            /* the connection's output buffer (evhttp's) */
    struct evbuffer_cb_entry *watch; /* our callback on out: drain progress */
    int64_t *projects;               /* sorted; the projects this stream shows */
    size_t n_projects;
    uint32_t types; /* 0 = all */
    bool waiting;   /* Last-Event-ID given before the hub knew the epoch */
    char run[SSE_RUN_LEN + 1];
    char wait_epoch[SSE_EPOCH_MAX + 1];
    uint64_t after_seq; /* frames with seq <= this are not sent (already seen) */
    uint64_t cursor;    /* replaying: next seq to send from the ring; 0 = live */
    int64_t last_write_ms;
    int64_t busy_since_ms; /* output last went from empty to pending, or drained some */
    int64_t deadline_ms;   /* ended at this time (RUNWATCH_SSE_MAX_AGE_S), 0 = never */
    int64_t over_since_ms; /* pending output went above the limit, 0 = it is under */
    /* hub_who_key of the stream's token, session and user; 0 for none */
    int64_t who_token, who_session, who_user;
    struct hub_who *who; /* the user's (or the token's) entry of the cap table, or NULL */
    char ident[40];
};

struct hub {
    struct event_base *base; /* borrowed from main */
    struct sse_options opts;
    struct timespec started; /* CLOCK_MONOTONIC, immune to wall-clock steps */
    bool subscribed;
    bool gap_pending; /* a live subscription was lost: reset everyone once back */
    bool stopping;
    bool epoch_known;
    char epoch[SSE_EPOCH_MAX + 1];
    uint64_t last; /* newest seq of epoch */
    struct sse_ring ring;
    struct hub_client *clients;
    size_t n_clients;
    size_t replaying;
    struct evbuffer *scratch; /* evhttp_send_reply_chunk moves from an evbuffer */
    struct event *tick;       /* keepalive comments, slow and old clients */
    struct event *pump;       /* continues replays once clients drained */
    int tick_ms;
    unsigned seed;
    struct hub_who **who; /* open streams per user or token: who_mask + 1 chains */
    size_t who_mask;
    struct hub_stats st; /* counters only; the rest is filled by hub_stats_get */
};

static int64_t hub_clock_monotonic_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t (*hub_clock_ms)(void) = hub_clock_monotonic_ms;

static int64_t hub_now_ms(void)
{
    return hub_clock_ms();
}

/* ---- who watches ---- */

static int64_t hub_who_key(enum hub_who_kind kind, int64_t id)
{
    return id * 4 + (int64_t)kind;
}

/* Reads "user:5 session:12" or "token:7" (nginx's X-Runwatch-Identity) into c. Anything
 * else leaves c with no identity: no cap applies and only "*" ends it. */
static void hub_who_parse(struct hub_client *c, const char *s)
{
    while (s && *s) {
        static const struct {
            const char *prefix;
            enum hub_who_kind kind;
        } kinds[] = {
            {"token:", HUB_WHO_TOKEN}, {"session:", HUB_WHO_SESSION}, {"user:", HUB_WHO_USER}};
        char *end;
        long long id;

        while (*s == ' ')
            s++;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
            size_t n = strlen(kinds[i].prefix);

            if (strncmp(s, kinds[i].prefix, n) != 0)
                continue;
            id = strtoll(s + n, &end, 10);
            if (end == s + n || id <= 0 || id > INT64_MAX / 8 || (*end && *end != ' '))
                break;
            if (kinds[i].kind == HUB_WHO_TOKEN)
                c->who_token = hub_who_key(HUB_WHO_TOKEN, id);
            else if (kinds[i].kind == HUB_WHO_SESSION)
                c->who_session = hub_who_key(HUB_WHO_SESSION, id);
            else
                c->who_user = hub_who_key(HUB_WHO_USER, id);
            break;
        }
        s = strchr(s, ' ');
    }
}

static struct hub_who **hub_who_slot(struct hub *hub, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;
    struct hub_who **p = &hub->who[(h >> 32) & hub->who_mask];

    while (*p && (*p)->key != key)
        p = &(*p)->next;
    return p;
}

/* Counts c against its user's (or token's) cap: 0, or -1 when it is reached (or out of
 * memory). A stream of no known identity is not counted. */
static int hub_who_claim(struct hub *hub, struct hub_client *c)
{
    int64_t key = c->who_user ? c->who_user : c->who_token;
    struct hub_who **p, *w;

    if (!key || !hub->who)
        return 0;
    p = hub_who_slot(hub, key);
    w = *p;
    if (w && hub->opts.per_user && w->n >= hub->opts.per_user)
        return -1;
    if (!w) {
        if (!(w = calloc(1, sizeof(*w))))
            return -1;
        w->key = key;
        *p = w;
    }
    w->n++;
    c->who = w;
    return 0;
}

static void hub_who_release(struct hub *hub, struct hub_client *c)
{
    struct hub_who **p;

    if (!c->who)
        return;
    if (--c->who->n == 0) {
        p = hub_who_slot(hub, c->who->key);
        *p = c->who->next;
        free(c->who);
    }
    c->who = NULL;
}

/* ---- one client ---- */

static void hub_client_unlink(struct hub *hub, struct hub_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    hub->n_clients--;
    if (c->cursor) {
        c->cursor = 0;
        hub->replaying--;
    }
    if (c->watch) {
        evbuffer_remove_cb_entry(c->out, c->watch);
        c->watch = NULL;
    }
    hub_who_release(hub, c);
}

static void hub_client_free(struct hub_client *c)
{
    free(c->projects);
    free(c);
}

/* evhttp closes the connection: the peer went away, a write failed, or we dropped it. */
static void hub_on_close(struct evhttp_connection *evcon, void *arg)
{
    struct hub_client *c = arg;
    struct evhttp_request *req = c->req;

    (void)evcon;
    hub_client_unlink(c->hub, c);
    log_debug("stream closed (%s, %zu left)", c->ident, c->hub->n_clients);
    /* On EOF evhttp detaches a streaming request from its connection and leaves it to us;
     * send_reply_end on a detached request frees it. A request still attached (we called
     * evhttp_connection_free) is freed with the connection. */
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_send_reply_end(req);
    hub_client_free(c);
}

/* Drain progress of the client's output, which evhttp writes to the socket. */
static void hub_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct hub_client *c = arg;

    (void)buf;
    if (!info->n_deleted)
        return;
    c->busy_since_ms = hub_now_ms();
    if (c->cursor)
        event_active(c->hub->pump, EV_TIMEOUT, 0);
}

static size_t hub_client_pending(const struct hub_client *c)
{
    return evbuffer_get_length(c->out);
}

static int hub_client_write(struct hub *hub, struct hub_client *c, const char *data, size_t len)
{
    int rc = 0;

    if (hub_client_pending(c) == 0)
        c->busy_since_ms = hub_now_ms();
    if (evbuffer_add(hub->scratch, data, len) != 0)
        rc = -1;
    else
        evhttp_send_reply_chunk(c->req, hub->scratch);
    /* What the chunk did not take (it cannot, on a connection being torn down) must not
     * reach the next client. */
    evbuffer_drain(hub->scratch, evbuffer_get_length(hub->scratch));
    c->last_write_ms = hub_now_ms();
    return rc;
}

/* Disconnects a client that fell behind: it reconnects and replays what the ring holds. */
static void hub_client_drop(struct hub *hub, struct hub_client *c, const char *why)
{
    hub->st.slow++;
    log_info("disconnecting a slow client (%s, %s, %zu bytes pending)", c->ident, why,
             hub_client_pending(c));
    /* Runs hub_on_close, which unlinks and frees c. */
    evhttp_connection_free(c->evcon);
}

/* Drops c if it fell behind (see the file's note); true when it did (c is gone). */
static bool hub_client_behind(struct hub *hub, struct hub_client *c, int64_t now)
{
    size_t pending = hub_client_pending(c);

    if (pending > HUB_HARD_FACTOR * hub->opts.client_buffer) {
        hub_client_drop(hub, c, "buffer full");
        return true;
    }
    if (pending <= hub->opts.client_buffer) {
        c->over_since_ms = 0;
    } else if (!c->over_since_ms) {
        c->over_since_ms = now;
    } else if (now - c->over_since_ms >= HUB_BEHIND_GRACE_MS) {
        hub_client_drop(hub, c, "behind");
        return true;
    }
    if (pending > 0 && now - c->busy_since_ms >= hub->opts.stall_ms) {
        hub_client_drop(hub, c, "not reading");
        return true;
    }
    return false;
}

/* Ends a stream cleanly (the last chunk, then the connection closes). */
static void hub_client_end(struct hub *hub, struct hub_client *c)
{
    struct evhttp_request *req = c->req;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
    struct timeval drain = {HUB_END_DRAIN_S, 0};

    hub_client_unlink(hub, c);
    evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    /* A peer that never drains must not keep the connection after we are done with it. */
    bufferevent_set_timeouts(bev, NULL, &drain);
    hub_client_free(c);
    evhttp_send_reply_end(req);
}

static void hub_client_reset(struct hub *hub, struct hub_client *c, const char *reason)
{
    char frame[96];
    int n = snprintf(frame, sizeof(frame), "event: reset\ndata: {\"reason\":\"%s\"}\n\n", reason);

    if (c->cursor) {
        c->cursor = 0;
        hub->replaying--;
    }
    c->waiting = false;
    c->after_seq = 0;
    hub->st.resets++;
    log_debug("reset (%s, %s)", c->ident, reason);
    if (n > 0 && (size_t)n < sizeof(frame))
        hub_client_write(hub, c, frame, (size_t)n);
}

static bool hub_client_matches(const struct hub_client *c, const struct sse_event *e)
{
    size_t lo = 0, hi = c->n_projects;

    if (c->types && !(c->types & e->type_bit))
        return false;
    if (c->run[0] && strcmp(c->run, e->run) != 0)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->projects[mid] == e->project)
            return true;
        if (c->projects[mid] < e->project)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Sends from the ring while the client drains, up to half its buffer at a time; the
 * client goes live once it reaches the newest event. */
static void hub_client_pump(struct hub *hub, struct hub_client *c)
{
    while (c->cursor && hub_client_pending(c) < hub->opts.client_buffer / 2) {
        const struct sse_event *e;

        if (c->cursor > hub->last) {
            c->cursor = 0;
            hub->replaying--;
            log_debug("replay done (%s)", c->ident);
            break;
        }
        e = sse_ring_get(&hub->ring, c->cursor);
        if (!e) {
            /* The ring moved past the client while it drained: it cannot catch up. */
            hub_client_reset(hub, c, "too_old");
            break;
        }
        c->cursor++;
        if (!hub_client_matches(c, e))
            continue;
        hub_client_write(hub, c, e->frame, e->frame_len);
        hub->st.frames++;
        hub->st.replayed++;
    }
}

/* One live event for one client. */
static void hub_client_deliver(struct hub *hub, struct hub_client *c, const struct sse_event *e)
{
    if (c->waiting) {
        /* The first event since the hub (re)subscribed: it continues the client's id or
         * the client missed something. */
        c->waiting = false;
        if (strcmp(c->wait_epoch, e->epoch) != 0 || e->seq > c->after_seq + 1)
            hub_client_reset(hub, c, "missed");
    }
    if (c->cursor || e->seq <= c->after_seq || !hub_client_matches(c, e))
        return;
    if (hub_client_behind(hub, c, hub_now_ms()))
        return;
    hub_client_write(hub, c, e->frame, e->frame_len);
    hub->st.frames++;
}

/* ---- the hub ---- */

static void hub_reset_all(struct hub *hub, const char *reason)
{
    size_t n = 0;

    for (struct hub_client *c = hub->clients; c; c = c->next, n++)
        hub_client_reset(hub, c, reason);
    sse_ring_clear(&hub->ring);
    hub->epoch_known = false;
    hub->epoch[0] = '\0';
    hub->last = 0;
    log_info("sent reset to %zu clients (%s)", n, reason);
}

/* Ends every stream (their last frames drain first). */
static size_t hub_end_all(struct hub *hub)
{
    size_t n = 0;

    while (hub->clients) {
        hub_client_end(hub, hub->clients);
        n++;
    }
    return n;
}

static void hub_on_pump(evutil_socket_t fd, short what, void *arg)
{
    struct hub *hub = arg;
    struct hub_client *c, *next;

    (void)fd;
    (void)what;
    for (c = hub->clients; c && hub->replaying; c = next) {
        next = c->next;
        if (c->cursor)
            hub_client_pump(hub, c);
    }
}

static void hub_on_tick(evutil_socket_t fd, short what, void *arg)
{
    static const char comment[] = ": keepalive\n\n";
    struct hub *hub = arg;
    int64_t now = hub_now_ms();
    struct hub_client *c, *next;

    (void)fd;
    (void)what;
    for (c = hub->clients; c; c = next) {
        next = c->next;
        if (hub_client_behind(hub, c, now))
            continue;
        if (c->deadline_ms && now >= c->deadline_ms) {
            log_debug("ending a stream at its maximum age (%s)", c->ident);
            hub_client_end(hub, c);
        } else if (now - c->last_write_ms >= hub->opts.keepalive_ms - hub->tick_ms) {
            hub_client_write(hub, c, comment, sizeof(comment) - 1);
            hub->st.comments++;
        }
    }
}

struct hub *hub_new(struct event_base *base, const struct sse_options *opts)
{
    struct hub *hub = calloc(1, sizeof(*hub));
    struct timeval tv;

    if (!hub)
        return NULL;
    hub->base = base;
    hub->opts = *opts;
    clock_gettime(CLOCK_MONOTONIC, &hub->started);
    hub->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    /* Five ticks per keepalive interval: an idle stream hears from us at least every
     * interval, and a stalled one is noticed within a fifth of it. */
    hub->tick_ms = opts->keepalive_ms / 5 > 20 ? opts->keepalive_ms / 5 : 20;
    tv.tv_sec = hub->tick_ms / 1000;
    tv.tv_usec = (hub->tick_ms % 1000) * 1000;
    /* About a chain per four streams at the client limit, 1024 at least. */
    hub->who_mask = 1023;
    while (hub->who_mask < opts->max_clients / 4 && hub->who_mask < (1u << 20) - 1)
        hub->who_mask = hub->who_mask * 2 + 1;
    if (!(hub->who = calloc(hub->who_mask + 1, sizeof(*hub->who))) ||
        sse_ring_init(&hub->ring, opts->ring, opts->ring_bytes) != 0 ||
        !(hub->scratch = evbuffer_new()) ||
        !(hub->tick = event_new(base, -1, EV_PERSIST, hub_on_tick, hub)) ||
        !(hub->pump = event_new(base, -1, 0, hub_on_pump, hub)) || event_add(hub->tick, &tv) != 0)
        goto fail;
    return hub;

fail:
    hub_free(hub);
    return NULL;
}

void hub_free(struct hub *hub)
{
    if (!hub)
        return;
    /* Streams still open belong to evhttp, which main frees first (its close callbacks
     * free our side); anything left here only loses its bookkeeping, without touching
     * libevent objects that may be gone. */
    while (hub->clients) {
        struct hub_client *c = hub->clients;

        hub->clients = c->next;
        hub_client_free(c);
    }
    for (size_t i = 0; hub->who && i <= hub->who_mask; i++)
        while (hub->who[i]) {
            struct hub_who *w = hub->who[i];

            hub->who[i] = w->next;
            free(w);
        }
    free(hub->who);
    if (hub->tick)
        event_free(hub->tick);
    if (hub->pump)
        event_free(hub->pump);
    if (hub->scratch)
        evbuffer_free(hub->scratch);
    sse_ring_fini(&hub->ring);
    free(hub);
}

void hub_on_subscribed(struct hub *hub)
{
    hub->subscribed = true;
    if (!hub->gap_pending) {
        log_info("subscribed to %s", HUB_CHANNEL);
        return;
    }
    /* What was published while we were away is lost to us: every client refetches. The
     * refetch happens after this point, and everything after it reaches them live. */
    hub->gap_pending = false;
    hub->st.reconnects++;
    log_info("subscribed to %s again after a gap (gaps=%llu)", HUB_CHANNEL,
             (unsigned long long)hub->st.gaps);
    hub_reset_all(hub, "redis");
    /* A revocation published during the gap is lost too: every stream ends after its
     * reset, and the browsers reconnect through auth_request, which refuses the revoked
     * and recomputes the projects of the rest. Cheaper than re-checking every stream
     * periodically, and a gap is rare. */
    hub_end_all(hub);
}

void hub_on_link_lost(struct hub *hub)
{
    if (!hub->subscribed)
        return;
    hub->subscribed = false;
    hub->st.gaps++;
    hub->gap_pending = true;
    log_warn("lost the subscription to %s; messages published until it is back are lost",
             HUB_CHANNEL);
}

static int hub_cmp_key(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static bool hub_key_in(const int64_t *keys, size_t n, int64_t key)
{
    return key && bsearch(&key, keys, n, sizeof(*keys), hub_cmp_key) != NULL;
}

void hub_on_revoked(struct hub *hub, const char *payload, size_t len)
{
    static const char frame[] = "event: revoked\ndata: {\"reason\":\"%s\"}\n\n";
    struct hub_client *c, *next;
    int64_t *keys = NULL;
    size_t n = 0, ended = 0;
    bool all = false;
    char *text = malloc(len + 1), *p, *end;

    /* At most one key a two bytes ("t:" is the shortest that could parse). */
    keys = malloc((len / 2 + 1) * sizeof(*keys));
    if (!text || !keys) {
        all = true; /* cannot tell whom it names: end everyone rather than no one */
        goto apply;
    }
    memcpy(text, payload, len);
    text[len] = '\0';
    for (p = text; *p; p = end) {
        struct hub_client probe = {0};

        while (*p == ' ')
            p++;
        end = p + strcspn(p, " ");
        if (end == p)
            break;
        if (end - p == 1 && *p == '*') {
            all = true;
            continue;
        }
        if (*end)
            *end++ = '\0';
        hub_who_parse(&probe, p);
        if (probe.who_token)
            keys[n++] = probe.who_token;
        else if (probe.who_session)
            keys[n++] = probe.who_session;
        else if (probe.who_user)
            keys[n++] = probe.who_user;
        else
            log_warn("revocation names \"%s\", which is no identity: ignored", p);
    }
    qsort(keys, n, sizeof(*keys), hub_cmp_key);
apply:
    for (c = hub->clients; c; c = next) {
        /* The widest change first: a disabled user's sessions end with it. */
        const char *why = all                                   ? "all"
                          : hub_key_in(keys, n, c->who_token)   ? "token"
                          : hub_key_in(keys, n, c->who_user)    ? "user"
                          : hub_key_in(keys, n, c->who_session) ? "session"
                                                                : NULL;
        char buf[sizeof(frame) + 16];
        int k;

        next = c->next;
        if (!why)
            continue;
        k = snprintf(buf, sizeof(buf), frame, why);
        if (k > 0 && (size_t)k < sizeof(buf))
            hub_client_write(hub, c, buf, (size_t)k);
        log_info("ending a stream (%s): its %s changed", c->ident, why);
        hub->st.revoked++;
        hub_client_end(hub, c);
        ended++;
    }
    log_debug("revocation of %.*s: %zu streams ended", (int)(len < 256 ? len : 256), payload,
              ended);
    free(keys);
    free(text);
}

void hub_on_message(struct hub *hub, const char *payload, size_t len)
{
    struct sse_event ev;
    const struct sse_event *e;
    struct hub_client *c, *next;
    char why[64];

    hub->st.messages++;
    if (sse_event_parse(payload, len, hub->opts.frame_max, &ev, why, sizeof(why)) != 0) {
        /* Logged every time up to 10, then every 1000th: a misbehaving publisher must not
         * flood the log. */
        if (++hub->st.invalid <= 10 || hub->st.invalid % 1000 == 0)
            log_warn("dropping a malformed message (%s, %llu so far): %.*s", why,
                     (unsigned long long)hub->st.invalid,
                     (int)(len < HUB_LOG_PAYLOAD_MAX ? len : HUB_LOG_PAYLOAD_MAX), payload);
        return;
    }
    log_debug("event %s-%llu (%zu bytes)", ev.epoch, (unsigned long long)ev.seq, len);
    if (ev.reset) {
        /* A change may have been committed and never published: everyone refetches. The
         * ring starts over after it, so a resume from before it is answered `missed`. */
        log_warn("runwatch-api lost a publish (%.*s)",
                 (int)(len < HUB_LOG_PAYLOAD_MAX ? len : HUB_LOG_PAYLOAD_MAX), payload);
        hub_reset_all(hub, "lost");
        sse_event_fini(&ev);
        return;
    }
    if (ev.truncated && ++hub->st.truncated <= 10)
        log_warn("event %s-%llu of %zu bytes is past RUNWATCH_SSE_FRAME_MAX: sent truncated",
                 ev.epoch, (unsigned long long)ev.seq, len);
    if (hub->epoch_known && strcmp(ev.epoch, hub->epoch) != 0) {
        log_warn("event ids moved from epoch %s to %s (redis lost its counter)", hub->epoch,
                 ev.epoch);
        hub_reset_all(hub, "epoch");
    } else if (hub->epoch_known && ev.seq != hub->last + 1) {
        log_warn("event id %llu follows %llu: continuity lost", (unsigned long long)ev.seq,
                 (unsigned long long)hub->last);
        hub_reset_all(hub, "gap");
    }
    if (!hub->epoch_known) {
        memcpy(hub->epoch, ev.epoch, sizeof(hub->epoch));
        hub->epoch_known = true;
    }
    hub->last = ev.seq;
    sse_ring_push(&hub->ring, &ev);
    e = sse_ring_get(&hub->ring, hub->last);
    for (c = hub->clients; c; c = next) {
        next = c->next;
        hub_client_deliver(hub, c, e);
    }
}

/* Where a client with Last-Event-ID id starts. */
static void hub_client_resume(struct hub *hub, struct hub_client *c, const char *id)
{
    char epoch[SSE_EPOCH_MAX + 1];
    uint64_t seq;

    if (sse_id_parse(id, epoch, &seq) != 0) {
        hub_client_reset(hub, c, "unknown_id");
    } else if (!hub->epoch_known) {
        /* Decided by the first event to arrive (hub_client_deliver). */
        c->waiting = true;
        memcpy(c->wait_epoch, epoch, sizeof(c->wait_epoch));
        c->after_seq = seq;
    } else if (strcmp(epoch, hub->epoch) != 0) {
        hub_client_reset(hub, c, "epoch");
    } else if (seq >= hub->last) {
        /* Up to date, or ahead of this hub (another hub saw more): wait for it. An id far
         * ahead was never sent by anyone. */
        if (seq - hub->last > hub->ring.cap)
            hub_client_reset(hub, c, "unknown_id");
        else
            c->after_seq = seq;
    } else if (sse_ring_get(&hub->ring, seq + 1)) {
        c->after_seq = seq;
        c->cursor = seq + 1;
        hub->replaying++;
        hub_client_pump(hub, c);
    } else {
        hub_client_reset(hub, c, "too_old");
    }
}

int hub_stream_open(struct hub *hub, struct evhttp_request *req, struct hub_stream_req *sr)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    struct hub_client *c = NULL;
    struct bufferevent *bev;
    char hello[64];
    int n;
    int64_t now = hub_now_ms();

    if (hub->stopping || hub->n_clients >= hub->opts.max_clients || !evcon) {
        hub->st.refused++;
        if (!hub->stopping && evcon)
            log_warn("refusing a stream: %zu clients is the limit (RUNWATCH_SSE_MAX_CLIENTS)",
                     hub->opts.max_clients);
        free(sr->projects);
        return 503;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        free(sr->projects);
        return 503;
    }
    c->hub = hub;
    c->req = req;
    c->evcon = evcon;
    c->projects = sr->projects;
    c->n_projects = sr->n_projects;
    sr->projects = NULL;
    c->types = sr->types;
    memcpy(c->run, sr->run, sizeof(c->run));
    snprintf(c->ident, sizeof(c->ident), "%s", sr->identity ? sr->identity : "anonymous");
    hub_who_parse(c, sr->identity);
    if (hub_who_claim(hub, c) != 0) {
        hub->st.capped++;
        log_info("refusing a stream (%s): %zu streams is its cap (RUNWATCH_SSE_STREAMS_PER_USER)",
                 c->ident, hub->opts.per_user);
        hub_client_free(c);
        return 429;
    }
    bev = evhttp_connection_get_bufferevent(evcon);
    c->out = bufferevent_get_output(bev);
    c->watch = evbuffer_add_cb(c->out, hub_on_output, c);
    if (!c->watch) {
        hub_who_release(hub, c);
        hub_client_free(c);
        return 503;
    }
    if (hub->opts.max_age_s > 0) {
        /* ±10% so streams opened together (after a deploy) do not all end together. */
        int64_t age = (int64_t)hub->opts.max_age_s * 1000;
        c->deadline_ms = now + age - age / 10 + (int64_t)(rand_r(&hub->seed) % (age / 5 + 1));
    }
    c->last_write_ms = now;
    c->busy_since_ms = now;

    evhttp_add_header(headers, "Content-Type", "text/event-stream");
    evhttp_add_header(headers, "Cache-Control", "no-store");
    /* nginx must not buffer the stream whatever its location says. */
    evhttp_add_header(headers, "X-Accel-Buffering", "no");
    /* A stream is the connection's last request: when it ends, the connection closes. */
    evhttp_add_header(headers, "Connection", "close");
    evhttp_send_reply_start(req, HTTP_OK, "OK");
    /* evhttp's timeouts are for requests; a stream is idle by nature, and the tick finds
     * clients that stop draining. */
    bufferevent_set_timeouts(bev, NULL, NULL);
    evhttp_connection_set_closecb(evcon, hub_on_close, c);
    c->next = hub->clients;
    if (hub->clients)
        hub->clients->prev = c;
    hub->clients = c;
    hub->n_clients++;
    hub->st.streams++;
    log_debug("stream opened (%s, %zu projects, %zu clients)", c->ident, c->n_projects,
              hub->n_clients);

    n = snprintf(hello, sizeof(hello), "retry: %d\n: runwatch\n\n", hub->opts.retry_ms);
    if (n > 0 && (size_t)n < sizeof(hello))
        hub_client_write(hub, c, hello, (size_t)n);
    if (sr->last_event_id && *sr->last_event_id)
        hub_client_resume(hub, c, sr->last_event_id);
    return 0;
}

size_t hub_shutdown(struct hub *hub)
{
    hub->stopping = true;
    return hub_end_all(hub);
}

void hub_stats_get(const struct hub *hub, struct hub_stats *out)
{
    struct timespec now;

    *out = hub->st;
    clock_gettime(CLOCK_MONOTONIC, &now);
    out->subscribed = hub->subscribed;
    out->clients = hub->n_clients;
    out->replaying = hub->replaying;
    out->ring_events = hub->ring.count;
    out->ring_bytes = hub->ring.bytes;
    out->last_seq = hub->epoch_known ? hub->last : 0;
    memcpy(out->epoch, hub->epoch, sizeof(out->epoch));
    out->uptime_s =
        now.tv_sec > hub->started.tv_sec ? (uint64_t)(now.tv_sec - hub->started.tv_sec) : 0;
}
