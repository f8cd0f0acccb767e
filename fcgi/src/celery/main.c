/* runwatch-celery: watches a Celery fleet through the events its workers already publish
 * (docs/ARCHITECTURE.md, "The Celery bridge"). PSUBSCRIBEs the celeryev channels of the
 * fleet's Redis broker, decodes kombu's envelopes (envelope.c), and posts what arrived in a
 * burst to POST /api/v1/celery/events, where one transaction applies it. When a task ends
 * it reads the result backend (celery-task-meta-<id>, the same Redis unless told otherwise)
 * for what events do not carry: the task's group and the children it applied. After a gap
 * (start, a lost broker connection, a failed post) it asks the API which tasks are still
 * open and reconciles them from the result backend.
 *
 * One thread, blocking calls: it does one thing at a time (read, post, read), and pub/sub
 * needs no acknowledgement, so an event loop would buy nothing. While a post is in flight
 * Redis buffers the messages for us; a bridge too slow for that long loses its subscription
 * (Redis' client output limit), reconnects and reconciles. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "celery/envelope.h"
#include "celery/tls.h"
#include "log.h"

struct opts {
    const char *broker;    /* redis://[:password@]host[:port][/db] */
    const char *backend;   /* the result backend's URL; "none": not read */
    const char *prefix;    /* the channel prefix; default "/{db}." (kombu's fanout_prefix) */
    const char *keyprefix; /* kombu's global_keyprefix, before channels and keys */
    const char *url;       /* runwatch's base URL */
    const char *token;     /* a project token that may write */
    const char *project;   /* the project's slug (a token's own when absent) */
    long flush_ms;         /* the longest an event waits before it is posted */
    long batch;            /* the most events in one post */
};

struct redis_url {
    char host[256];
    int port;
    int db;
    char password[512];
    struct celery_tls tls; /* rediss:// (tls.c) */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* redis://[[user]:password@]host[:port][/db], or rediss:// with the TLS options of its query
 * (tls.c: hiredis 0.14 has no SSL, so the bridge brings its own). */
static int parse_redis_url(const char *s, struct redis_url *u)
{
    const char *p, *at, *slash, *colon, *q = strchr(s, '?');
    char plain[2048];
    size_t n;

    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncmp(s, "rediss://", 9) == 0) {
        u->tls.on = u->tls.verify = u->tls.check_hostname = 1;
        if (q && celery_tls_query(q + 1, strlen(q + 1), &u->tls) != 0)
            return -1;
        s += 1; /* "rediss://" → "ediss://", read on as redis:// below */
    } else if (strncmp(s, "redis://", 8) != 0) {
        log_error("broker URL must start with redis:// or rediss://");
        return -1;
    }
    n = q ? (size_t)(q - s) : strlen(s);
    if (n + 1 >= sizeof(plain))
        return -1;
    memcpy(plain, "redis://", 8);
    memcpy(plain + 8, s + 8, n - 8);
    plain[n] = '\0';
    s = plain;
    p = s + 8;
    slash = strchr(p, '/');
    at = strrchr(p, '@');
    if (at && slash && at > slash)
        at = NULL;
    if (at) {
        const char *pc = memchr(p, ':', (size_t)(at - p));
        const char *pw = pc ? pc + 1 : p;
        n = (size_t)(at - pw);
        if (n >= sizeof(u->password))
            return -1;
        memcpy(u->password, pw, n);
        p = at + 1;
    }
    const char *end = slash ? slash : p + strlen(p);
    colon = memchr(p, ':', (size_t)(end - p));
    n = (size_t)((colon ? colon : end) - p);
    if (n == 0 || n >= sizeof(u->host))
        return -1;
    memcpy(u->host, p, n);
    if (colon)
        u->port = atoi(colon + 1);
    if (slash && slash[1])
        u->db = atoi(slash + 1);
    if (u->port <= 0 || u->port > 65535 || u->db < 0 || u->db > 10000)
        return -1;
    return 0;
}

/* A command to the broker or the result backend waits at most this long for its reply: a
 * Redis that accepts connections but never answers (stopped, or a network path that drops
 * without a reset) must not hold the bridge forever. */
#define REDIS_REPLY_TIMEOUT_S 5
/* After the result backend failed, it is not tried again for this long: a hung one then
 * costs one timeout in that time, not one a burst, and the events go on without its word. */
#define BACKEND_RETRY_S 30
/* A broker quiet this long is asked (PING, which a subscribed connection answers as a
 * message), so that its silence is known within REDIS_REPLY_TIMEOUT_S more: then the bridge
 * reconnects (and reconciles), and meanwhile its liveness clock stands still. */
#define BROKER_PING_S 1.0

static redisContext *redis_open(const struct redis_url *u)
{
    struct timeval tv = {REDIS_REPLY_TIMEOUT_S, 0};
    redisContext *c = u->tls.on ? celery_tls_connect(&u->tls, u->host, u->port, (int)tv.tv_sec)
                                : redisConnectWithTimeout(u->host, u->port, tv);
    redisReply *r;

    if (!c || c->err) {
        if (!u->tls.on) /* tls.c said why */
            log_warn("redis connect failed: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    if (!u->tls.on) /* a socketpair has no TCP keepalive: tls.c sets it on its socket */
        redisEnableKeepAlive(c);
    /* The replies' deadline (the connect had its own); over TLS it bounds the wait on the
     * socketpair to tls.c's pump, which gives up on a silent server alike. */
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        log_warn("redis: setting the reply timeout failed");
        redisFree(c);
        return NULL;
    }
    if (u->password[0]) {
        r = redisCommand(c, "AUTH %s", u->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            log_warn("redis auth failed");
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    if (u->db) {
        /* Redis' SELECT, in lower case (commands are case-insensitive) so that it is not
         * mistaken for SQL text by make lint. */
        r = redisCommand(c, "select %d", u->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

/* ---- posting to runwatch */

struct buf {
    char *p;
    size_t n;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t k = size * nmemb;
    if (b->n + k > (1u << 24))
        return 0;
    char *q = realloc(b->p, b->n + k + 1);
    if (!q)
        return 0;
    memcpy(q + b->n, ptr, k);
    b->n += k;
    q[b->n] = '\0';
    b->p = q;
    return k;
}

struct poster {
    CURL *curl;
    struct curl_slist *headers;
    char url[1024];
};

static int poster_init(struct poster *ps, const struct opts *o)
{
    char auth[600];

    memset(ps, 0, sizeof(*ps));
    if (!(ps->curl = curl_easy_init()))
        return -1;
    snprintf(ps->url, sizeof(ps->url), "%s/api/v1/celery/events%s%s", o->url,
             o->project ? "?project=" : "", o->project ? o->project : "");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
    ps->headers = curl_slist_append(ps->headers, auth);
    ps->headers = curl_slist_append(ps->headers, "Content-Type: application/json");
    return 0;
}

static void poster_fini(struct poster *ps)
{
    curl_slist_free_all(ps->headers);
    if (ps->curl)
        curl_easy_cleanup(ps->curl);
}

/* Posts a burst; returns the answer (the caller frees it) or NULL after logging why.
 * *refused is set when runwatch answered 4xx: sending it again cannot help. */
static json_object *post_burst(struct poster *ps, json_object *payload, int *refused)
{
    struct buf b = {0};
    long status = 0;
    size_t len;
    const char *text = json_object_to_json_string_length(payload, JSON_C_TO_STRING_PLAIN, &len);
    json_object *ans = NULL;

    curl_easy_setopt(ps->curl, CURLOPT_URL, ps->url);
    curl_easy_setopt(ps->curl, CURLOPT_HTTPHEADER, ps->headers);
    curl_easy_setopt(ps->curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(ps->curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(ps->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(ps->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(ps->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(ps->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(ps->curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(ps->curl);
    curl_easy_getinfo(ps->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        log_warn("post failed: %s", curl_easy_strerror(rc));
    else if (status != 200) {
        log_warn("post answered %ld: %.300s", status, b.p ? b.p : "");
        *refused = status >= 400 && status < 500 && status != 408 && status != 429;
    } else
        ans = json_tokener_parse(b.p ? b.p : "");
    free(b.p);
    return ans;
}

/* ---- the result backend */

/* A naive UTC ISO time of Celery's meta (date_done) as epoch seconds, or -1. */
static double iso_epoch(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    double frac = 0;
    if (*rest == '.')
        frac = strtod(rest, NULL);
    return (double)timegm(&tm) + frac;
}

/* Why a meta is read: a task just ended, a task known open after a gap, or one found by
 * scanning the backend after a gap (celery_meta_event in sql/functions/85_celery.sql). */
enum meta_mode { META_ENDED, META_RECONCILE, META_DISCOVER };

/* A string field of the meta copied into the event when it is 1..max bytes. */
static void meta_str(json_object *m, const char *key, json_object *ev, const char *as, int max)
{
    json_object *v;
    if (json_object_object_get_ex(m, key, &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) >= 1 && json_object_get_string_len(v) <= max)
        json_object_object_add(ev, as, json_object_new_string(json_object_get_string(v)));
}

/* A JSON value of the meta (args, kwargs, a result) as its JSON text, cut to max bytes. */
static void meta_json(json_object *m, const char *key, json_object *ev, const char *as, size_t max)
{
    json_object *v;
    size_t n;
    if (!json_object_object_get_ex(m, key, &v) || !v)
        return;
    const char *t = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &n);
    json_object_object_add(ev, as, json_object_new_string_len(t, (int)(n > max ? max : n)));
}

/* The backend-meta event of a task from its celery-task-meta-<id> value (NULL: none). */
static json_object *meta_event(const char *id, const char *text, size_t len, enum meta_mode mode)
{
    int reconcile = mode == META_RECONCILE;
    json_object *ev = json_object_new_object(), *m = NULL, *v;
    struct json_tokener *tok = json_tokener_new_ex(16);

    json_object_object_add(ev, "type", json_object_new_string("backend-meta"));
    json_object_object_add(ev, "uuid", json_object_new_string(id));
    if (reconcile)
        json_object_object_add(ev, "reconcile", json_object_new_boolean(1));
    if (mode == META_DISCOVER)
        json_object_object_add(ev, "discover", json_object_new_boolean(1));
    if (tok && text) {
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        m = json_tokener_parse_ex(tok, text, (int)len);
    }
    if (tok)
        json_tokener_free(tok);
    if (!m || !json_object_is_type(m, json_type_object)) {
        json_object_object_add(ev, "status", json_object_new_string("UNKNOWN"));
        json_object_put(m);
        return ev;
    }
    if (json_object_object_get_ex(m, "status", &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) >= 1 && json_object_get_string_len(v) <= 64)
        json_object_object_add(ev, "status", json_object_new_string(json_object_get_string(v)));
    if (json_object_object_get_ex(m, "group_id", &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) >= 1 && json_object_get_string_len(v) <= 200)
        json_object_object_add(ev, "group_id", json_object_new_string(json_object_get_string(v)));
    if (json_object_object_get_ex(m, "parent_id", &v) && json_object_is_type(v, json_type_string) &&
        envelope_is_uuid(json_object_get_string(v)))
        json_object_object_add(ev, "parent_id", json_object_new_string(json_object_get_string(v)));
    if (json_object_object_get_ex(m, "date_done", &v) && json_object_is_type(v, json_type_string)) {
        double d = iso_epoch(json_object_get_string(v));
        if (d > 0)
            json_object_object_add(ev, "date_done", json_object_new_double(d));
    }
    /* children: result tuples ((id, parent), None) or, for a group, ((gid, parent), [...]). */
    if (json_object_object_get_ex(m, "children", &v) && json_object_is_type(v, json_type_array)) {
        json_object *kids = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(v) && i < 1000; i++) {
            json_object *c = json_object_array_get_idx(v, i), *head, *cid;
            if (json_object_is_type(c, json_type_array) &&
                (head = json_object_array_get_idx(c, 0)) &&
                json_object_is_type(head, json_type_array) &&
                (cid = json_object_array_get_idx(head, 0)) &&
                json_object_is_type(cid, json_type_string) &&
                envelope_is_uuid(json_object_get_string(cid)))
                json_object_array_add(kids, json_object_new_string(json_object_get_string(cid)));
        }
        json_object_object_add(ev, "children", kids);
    }
    /* A failure's result is {"exc_type", "exc_message": [...], "exc_module"}. */
    json_object *res = NULL, *et, *em;
    if (json_object_object_get_ex(m, "result", &res) &&
        json_object_is_type(res, json_type_object)) {
        if (json_object_object_get_ex(res, "exc_type", &et) &&
            json_object_is_type(et, json_type_string) && json_object_get_string_len(et) >= 1 &&
            json_object_get_string_len(et) <= 200)
            json_object_object_add(ev, "exc_type",
                                   json_object_new_string(json_object_get_string(et)));
        if (json_object_object_get_ex(res, "exc_message", &em)) {
            size_t n;
            const char *t = json_object_to_json_string_length(em, JSON_C_TO_STRING_PLAIN, &n);
            json_object_object_add(ev, "exc_message",
                                   json_object_new_string_len(t, (int)(n > 4096 ? 4096 : n)));
        }
    }
    if (json_object_object_get_ex(m, "traceback", &v) && json_object_is_type(v, json_type_string)) {
        const char *t = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        if (!memchr(t, '\0', n))
            json_object_object_add(ev, "traceback",
                                   json_object_new_string_len(t, (int)(n > 16384 ? 16384 : n)));
    }
    /* A task the database never saw: what the meta says of it. Only with Celery's
     * result_extended does the meta carry name, args, kwargs, worker and queue; without,
     * the run's kind stays celery.unknown. The result is the stored value's JSON text. */
    if (mode == META_DISCOVER) {
        meta_str(m, "name", ev, "name", 200);
        meta_str(m, "worker", ev, "hostname", 200);
        meta_str(m, "queue", ev, "queue", 200);
        meta_json(m, "args", ev, "args", 4096);
        meta_json(m, "kwargs", ev, "kwargs", 4096);
        if (json_object_object_get_ex(m, "retries", &v) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= 1000000)
            json_object_object_add(ev, "retries", json_object_new_int64(json_object_get_int64(v)));
        json_object *st = NULL;
        if (json_object_object_get_ex(m, "status", &st) &&
            strcmp(json_object_get_string(st), "SUCCESS") == 0)
            meta_json(m, "result", ev, "result", 16384);
    }
    json_object_put(m);
    return ev;
}

/* Appends the backend-meta events of ids (json strings) to out, pipelined. Returns -1 when
 * the backend connection failed (the caller reconnects). */
static int read_metas(redisContext *be, const char *keyprefix, json_object *ids, json_object *out,
                      enum meta_mode mode)
{
    size_t n = json_object_array_length(ids);
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(be, "GET %scelery-task-meta-%s", keyprefix,
                           json_object_get_string(json_object_array_get_idx(ids, i)));
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(be, (void **)&r) != REDIS_OK || !r)
            return -1;
        const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
        if (r->type == REDIS_REPLY_STRING)
            json_object_array_add(out, meta_event(id, r->str, r->len, mode));
        else if (mode == META_RECONCILE)
            json_object_array_add(out, meta_event(id, NULL, 0, mode));
        freeReplyObject(r);
    }
    return 0;
}

/* ---- the loop */

struct bridge {
    struct opts o;
    struct redis_url bu, beu;
    redisContext *sub, *be;
    struct poster ps;
    struct envelope_stats st;
    json_object *events; /* the burst being gathered */
    size_t bytes;        /* its payload's size, roughly */
    int need_reconcile;
    /* The backend scan after a gap (scan_step): SCAN's cursor, and the oldest date_done
     * worth importing. */
    int scanning;
    char scan_cursor[32];
    double scan_cutoff, started;
    double backend_retry_at; /* mono_s() before which the failed backend is not tried */
    double heard_at;         /* now_s() when the broker last answered (a message, a PING) */
    unsigned long posted, post_failures, reconciled, dropped, discovered;
};

static void stats_log(struct bridge *b)
{
    log_info("stats messages=%lu events=%lu posted=%lu post_failures=%lu dropped=%lu "
             "reconciled=%lu discovered=%lu too_big=%lu "
             "bad_json=%lu bad_base64=%lu bad_shape=%lu bad_event=%lu bad_fields=%lu ignored=%lu",
             b->st.messages, b->st.events, b->posted, b->post_failures, b->dropped, b->reconciled,
             b->discovered, b->st.too_big, b->st.bad_json, b->st.bad_base64, b->st.bad_shape,
             b->st.bad_event, b->st.bad_fields, b->st.ignored);
}

static void backend_drop(struct bridge *b);

static int backend_ready(struct bridge *b)
{
    if (b->be || !b->beu.host[0])
        return b->be ? 0 : -1;
    if (mono_s() < b->backend_retry_at)
        return -1;
    b->be = redis_open(&b->beu);
    if (!b->be)
        backend_drop(b);
    return b->be ? 0 : -1;
}

/* The backend failed (no connection, an error, no reply in time): forget the connection,
 * say so, and leave it alone for BACKEND_RETRY_S. Group ids, children and the gap's
 * reconciliation wait for it; the events themselves go on being posted. */
static void backend_drop(struct bridge *b)
{
    if (stopping) /* a call cut short by the stop signal: nothing to report */
        ;
    else if (b->be) {
        log_warn("result backend %s:%d failed (%s): its task metas are not read for %d s",
                 b->beu.host, b->beu.port, b->be->errstr[0] ? b->be->errstr : "an unexpected reply",
                 BACKEND_RETRY_S);
    } else {
        log_warn("result backend %s:%d unreachable: its task metas are not read for %d s",
                 b->beu.host, b->beu.port, BACKEND_RETRY_S);
    }
    if (b->be)
        redisFree(b->be);
    b->be = NULL;
    b->backend_retry_at = mono_s() + BACKEND_RETRY_S;
}

/* Posts one payload until it is taken (or the bridge stops). */
static json_object *post_until(struct bridge *b, json_object *payload)
{
    double wait = 0.5;
    json_object *ans;
    int refused = 0, tries = 0;

    while (!(ans = post_burst(&b->ps, payload, &refused))) {
        b->post_failures++;
        /* Refused (4xx), or failing on the server the same way ten times in a row: this
         * burst is dropped (counted) rather than blocking every later one. */
        if (refused || ++tries >= 10) {
            b->dropped += json_object_array_length(json_object_object_get(payload, "events"));
            b->need_reconcile = 1;
            return NULL;
        }
        /* Whatever arrives while runwatch is unreachable waits in Redis' buffer; a gap is
         * reconciled once the post goes through. */
        b->need_reconcile = 1;
        if (stopping)
            return NULL;
        usleep((useconds_t)(wait * 1e6));
        if (wait < 5)
            wait *= 2;
    }
    return ans;
}

/* After a gap: the open tasks runwatch knows, read from the result backend. */
static void reconcile(struct bridge *b, json_object *open)
{
    size_t n = json_object_array_length(open);
    for (size_t off = 0; off < n && !stopping; off += 500) {
        json_object *ids = json_object_new_array(), *evs = json_object_new_array();
        for (size_t i = off; i < n && i < off + 500; i++)
            json_object_array_add(ids, json_object_get(json_object_array_get_idx(open, i)));
        if (backend_ready(b) == 0 &&
            read_metas(b->be, b->o.keyprefix, ids, evs, META_RECONCILE) != 0)
            backend_drop(b);
        if (json_object_array_length(evs) > 0) {
            json_object *payload = json_object_new_object();
            json_object_object_add(payload, "events", json_object_get(evs));
            json_object_put(post_until(b, payload));
            json_object_put(payload);
            b->reconciled += json_object_array_length(evs);
        }
        json_object_put(ids);
        json_object_put(evs);
    }
}

/* How far back a scan after a gap looks: tasks whose date_done is later than the fleet was
 * last heard (the API's `since`) less this margin, which covers clock skew between the
 * workers and the bridge and events still in flight when the gap began. */
#define SCAN_MARGIN_S 60.0
/* Keys one SCAN step asks for: a pass is one SCAN and one pipelined GET of its keys, so
 * event reading waits for at most that between two bursts however big the backend is. */
#define SCAN_COUNT 1000

static void scan_begin(struct bridge *b, json_object *ans)
{
    json_object *since = NULL;
    double cutoff;

    if (!b->beu.host[0])
        return;
    /* A fleet never heard before: only what ended since this bridge started, not the
     * backend's whole history. */
    if (json_object_object_get_ex(ans, "since", &since) &&
        (json_object_is_type(since, json_type_double) || json_object_is_type(since, json_type_int)))
        cutoff = json_object_get_double(since) - SCAN_MARGIN_S;
    else
        cutoff = b->started - SCAN_MARGIN_S;
    /* A gap during a scan: start over, from the older of the two cutoffs. */
    b->scan_cutoff = b->scanning && b->scan_cutoff < cutoff ? b->scan_cutoff : cutoff;
    b->scanning = 1;
    snprintf(b->scan_cursor, sizeof(b->scan_cursor), "0");
}

/* One pass of the scan: SCAN ... COUNT 1000, GET the keys found, post the ended tasks with
 * a date_done after the cutoff as discover events (the API skips the ids it knows). */
static void scan_step(struct bridge *b)
{
    char pattern[600];
    size_t plen;
    redisReply *r;
    json_object *evs = json_object_new_array();

    snprintf(pattern, sizeof(pattern), "%scelery-task-meta-", b->o.keyprefix);
    plen = strlen(pattern);
    if (backend_ready(b) != 0)
        goto done;
    r = redisCommand(b->be, "SCAN %s MATCH %s* COUNT %d", b->scan_cursor, pattern, SCAN_COUNT);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        backend_drop(b);
        goto done;
    }
    snprintf(b->scan_cursor, sizeof(b->scan_cursor), "%s", r->element[0]->str);
    json_object *ids = json_object_new_array(), *metas = json_object_new_array();
    for (size_t i = 0; i < r->element[1]->elements; i++) {
        redisReply *k = r->element[1]->element[i];
        if (k->type == REDIS_REPLY_STRING && k->len > plen && envelope_is_uuid(k->str + plen))
            json_object_array_add(ids, json_object_new_string(k->str + plen));
    }
    freeReplyObject(r);
    if (read_metas(b->be, b->o.keyprefix, ids, metas, META_DISCOVER) != 0)
        backend_drop(b);
    for (size_t i = 0; i < json_object_array_length(metas); i++) {
        json_object *ev = json_object_array_get_idx(metas, i), *d = NULL, *st = NULL;
        const char *s;
        /* Only an end after the cutoff: a restart does not import old results again. */
        if (json_object_object_get_ex(ev, "date_done", &d) &&
            json_object_get_double(d) >= b->scan_cutoff &&
            json_object_object_get_ex(ev, "status", &st) && (s = json_object_get_string(st)) &&
            (strcmp(s, "SUCCESS") == 0 || strcmp(s, "FAILURE") == 0 || strcmp(s, "REVOKED") == 0))
            json_object_array_add(evs, json_object_get(ev));
    }
    json_object_put(ids);
    json_object_put(metas);
    if (strcmp(b->scan_cursor, "0") == 0) {
        b->scanning = 0;
        log_info("backend scan done: %lu tasks discovered so far", b->discovered);
    }
    for (size_t off = 0; off < json_object_array_length(evs) && !stopping; off += 500) {
        json_object *chunk = json_object_new_array(), *payload = json_object_new_object();
        for (size_t i = off; i < json_object_array_length(evs) && i < off + 500; i++)
            json_object_array_add(chunk, json_object_get(json_object_array_get_idx(evs, i)));
        json_object_object_add(payload, "events", chunk);
        json_object *ans = post_until(b, payload), *applied = NULL;
        if (ans && json_object_object_get_ex(ans, "applied", &applied))
            b->discovered += (unsigned long)json_object_get_int64(applied);
        json_object_put(ans);
        json_object_put(payload);
    }
done:
    json_object_put(evs);
}

/* caught_up: the burst is posted because flush_ms passed, not because it filled up. Only
 * then does it carry the clock liveness is judged by: a bridge behind its input cannot tell
 * a silent worker from a heartbeat still waiting in its own backlog. That clock is when the
 * broker was last heard (heard_at), not the time of the post: a broker gone silent must not
 * make its workers look silent. */
static void flush(struct bridge *b, int caught_up)
{
    json_object *payload = json_object_new_object(), *ended = json_object_new_array(), *ans;
    size_t n = json_object_array_length(b->events);
    int asked = b->need_reconcile;

    /* Tasks that ended: their group and children, from the result backend. */
    for (size_t i = 0; i < n; i++) {
        json_object *ev = json_object_array_get_idx(b->events, i), *t;
        if (json_object_object_get_ex(ev, "type", &t) &&
            (strcmp(json_object_get_string(t), "task-succeeded") == 0 ||
             strcmp(json_object_get_string(t), "task-failed") == 0))
            json_object_array_add(ended, json_object_new_string(envelope_task_id(ev)));
    }
    if (json_object_array_length(ended) > 0 && backend_ready(b) == 0 &&
        read_metas(b->be, b->o.keyprefix, ended, b->events, META_ENDED) != 0)
        backend_drop(b);
    json_object_object_add(payload, "events", b->events);
    if (caught_up)
        json_object_object_add(payload, "now", json_object_new_double(b->heard_at));
    if (asked)
        json_object_object_add(payload, "open", json_object_new_boolean(1));
    b->need_reconcile = 0;
    ans = post_until(b, payload);
    if (ans) {
        b->posted += n;
        json_object *open = NULL;
        if (asked && json_object_object_get_ex(ans, "open", &open) &&
            json_object_is_type(open, json_type_array))
            reconcile(b, open);
        if (asked)
            scan_begin(b, ans);
    }
    json_object_put(ans);
    json_object_put(payload);
    json_object_put(ended);
    b->events = json_object_new_array();
    b->bytes = 0;
}

static int subscribe(struct bridge *b)
{
    char pattern[600];
    redisReply *r;

    if (!(b->sub = redis_open(&b->bu)))
        return -1;
    if (b->o.prefix)
        snprintf(pattern, sizeof(pattern), "%s%sceleryev/*", b->o.keyprefix, b->o.prefix);
    else
        snprintf(pattern, sizeof(pattern), "%s/%d.celeryev/*", b->o.keyprefix, b->bu.db);
    r = redisCommand(b->sub, "PSUBSCRIBE %s", pattern);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject(r);
        redisFree(b->sub);
        b->sub = NULL;
        return -1;
    }
    freeReplyObject(r);
    log_info("subscribed to %s", pattern);
    /* What was published while we were not subscribed is lost: reconcile. */
    b->need_reconcile = 1;
    return 0;
}

static void on_message(struct bridge *b, redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "pmessage") != 0 ||
        r->element[3]->type != REDIS_REPLY_STRING)
        return;
    size_t before = json_object_array_length(b->events);
    envelope_decode(r->element[3]->str, r->element[3]->len, now_s(), b->events, &b->st);
    if (json_object_array_length(b->events) > before)
        b->bytes += r->element[3]->len;
}

/* Sends PING on the subscribed connection; -1 when it could not be written. */
static int broker_ping(struct bridge *b)
{
    int done = 0;
    if (redisAppendCommand(b->sub, "PING") != REDIS_OK)
        return -1;
    while (!done)
        if (redisBufferWrite(b->sub, &done) != REDIS_OK)
            return -1;
    return 0;
}

static void broker_drop(struct bridge *b, const char *why)
{
    log_warn("broker connection lost: %s", why);
    redisFree(b->sub);
    b->sub = NULL;
}

static int run(struct bridge *b)
{
    double last_flush = mono_s(), last_stats = mono_s(), backoff = 0.5;
    double last_heard = mono_s(), ping_at = 0;

    b->events = json_object_new_array();
    b->started = now_s();
    b->heard_at = b->started;
    while (!stopping) {
        if (!b->sub) {
            if (subscribe(b) != 0) {
                usleep((useconds_t)(backoff * 1e6));
                if (backoff < 5)
                    backoff *= 2;
                continue;
            }
            backoff = 0.5;
            last_heard = mono_s();
            b->heard_at = now_s();
            ping_at = 0;
        }
        redisReply *r = NULL;
        if (redisGetReplyFromReader(b->sub, (void **)&r) != REDIS_OK) {
            broker_drop(b, b->sub->errstr);
            continue;
        }
        if (r) {
            last_heard = mono_s();
            b->heard_at = now_s();
            ping_at = 0;
            on_message(b, r);
            freeReplyObject(r);
        } else {
            /* Until the next post is due: flush_ms with events waiting, else the tick. */
            int waiting = json_object_array_length(b->events) > 0 || b->need_reconcile;
            double left = (waiting ? b->o.flush_ms / 1000.0 : 1.0) - (mono_s() - last_flush);
            struct pollfd pf = {.fd = b->sub->fd, .events = POLLIN};
            if (!ping_at && BROKER_PING_S - (mono_s() - last_heard) < left)
                left = BROKER_PING_S - (mono_s() - last_heard);
            int rc = left > 0 ? poll(&pf, 1, (int)(left * 1000) + 1) : 0;
            if (rc > 0 && redisBufferRead(b->sub) != REDIS_OK) {
                broker_drop(b, b->sub->errstr);
                continue;
            }
        }
        double t = mono_s();
        if (!ping_at && t - last_heard >= BROKER_PING_S) {
            if (broker_ping(b) != 0) {
                broker_drop(b, b->sub->errstr);
                continue;
            }
            ping_at = t;
        } else if (ping_at && t - ping_at >= REDIS_REPLY_TIMEOUT_S) {
            /* The bridge may have been busy (a slow post, the backend): what the broker sent
             * meanwhile waits in the socket, the answer among it. Read before judging. */
            struct pollfd pf = {.fd = b->sub->fd, .events = POLLIN};
            if (poll(&pf, 1, 0) > 0) {
                if (redisBufferRead(b->sub) != REDIS_OK)
                    broker_drop(b, b->sub->errstr);
                continue;
            }
            char why[96];
            snprintf(why, sizeof(why), "no answer to PING in %d s: reconnecting",
                     REDIS_REPLY_TIMEOUT_S);
            broker_drop(b, why);
            continue;
        }
        size_t n = json_object_array_length(b->events);
        /* A burst is posted when full, or once flush_ms have passed; an empty one every
         * second carries the clock that liveness is judged by. */
        int full = (long)n >= b->o.batch || b->bytes > 512 * 1024;
        if (full || (t - last_flush >= b->o.flush_ms / 1000.0 && (n > 0 || b->need_reconcile)) ||
            t - last_flush >= 1.0) {
            flush(b, !full);
            if (b->scanning)
                scan_step(b);
            last_flush = mono_s();
        }
        if (t - last_stats >= 60) {
            stats_log(b);
            last_stats = t;
        }
    }
    if (json_object_array_length(b->events) > 0)
        flush(b, 0);
    stats_log(b);
    json_object_put(b->events);
    return 0;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: runwatch-celery [--broker URL] [--backend URL|none] [--prefix P] [--keyprefix K]\n"
        "                       [--url URL] [--token T] [--project SLUG] [--flush-ms N] [--batch "
        "N]\n"
        "Each option also reads RUNWATCH_CELERY_<NAME> (RUNWATCH_CELERY_TOKEN_FILE for a file).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"broker", required_argument, 0, 'b'},
                                             {"backend", required_argument, 0, 'B'},
                                             {"prefix", required_argument, 0, 'p'},
                                             {"keyprefix", required_argument, 0, 'k'},
                                             {"url", required_argument, 0, 'u'},
                                             {"token", required_argument, 0, 't'},
                                             {"project", required_argument, 0, 'P'},
                                             {"flush-ms", required_argument, 0, 'f'},
                                             {"batch", required_argument, 0, 'n'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    static struct bridge b;
    static char token_buf[512];
    enum log_level lvl = LOG_LEVEL_INFO;
    int c;

    log_level_parse(env_or("RUNWATCH_LOG_LEVEL", "info"), &lvl);
    log_init("celery", lvl);
    b.o.broker = env_or("RUNWATCH_CELERY_BROKER", NULL);
    b.o.backend = env_or("RUNWATCH_CELERY_BACKEND", NULL);
    b.o.prefix = env_or("RUNWATCH_CELERY_PREFIX", NULL);
    b.o.keyprefix = env_or("RUNWATCH_CELERY_KEYPREFIX", "");
    b.o.url = env_or("RUNWATCH_CELERY_URL", "http://127.0.0.1:8080");
    b.o.token = env_or("RUNWATCH_CELERY_TOKEN", NULL);
    b.o.project = env_or("RUNWATCH_CELERY_PROJECT", NULL);
    b.o.flush_ms = atol(env_or("RUNWATCH_CELERY_FLUSH_MS", "200"));
    b.o.batch = atol(env_or("RUNWATCH_CELERY_BATCH", "2000"));
    const char *token_file = env_or("RUNWATCH_CELERY_TOKEN_FILE", NULL);
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            b.o.broker = optarg;
            break;
        case 'B':
            b.o.backend = optarg;
            break;
        case 'p':
            b.o.prefix = optarg;
            break;
        case 'k':
            b.o.keyprefix = optarg;
            break;
        case 'u':
            b.o.url = optarg;
            break;
        case 't':
            b.o.token = optarg;
            break;
        case 'P':
            b.o.project = optarg;
            break;
        case 'f':
            b.o.flush_ms = atol(optarg);
            break;
        case 'n':
            b.o.batch = atol(optarg);
            break;
        default:
            usage();
            return c == 'h' ? 0 : 2;
        }
    }
    if (!b.o.token && token_file) {
        FILE *f = fopen(token_file, "r");
        if (f && fgets(token_buf, sizeof(token_buf), f)) {
            token_buf[strcspn(token_buf, "\r\n")] = '\0';
            b.o.token = token_buf;
        }
        if (f)
            fclose(f);
    }
    if (!b.o.broker || !b.o.token) {
        log_error(
            "a broker URL and a token are needed (RUNWATCH_CELERY_BROKER, RUNWATCH_CELERY_TOKEN)");
        usage();
        return 2;
    }
    if (b.o.flush_ms < 10 || b.o.flush_ms > 10000 || b.o.batch < 1 || b.o.batch > 5000) {
        log_error("flush-ms must be 10..10000 and batch 1..5000");
        return 2;
    }
    if (parse_redis_url(b.o.broker, &b.bu) != 0) {
        log_error("cannot parse the broker URL");
        return 2;
    }
    if (!b.o.backend)
        b.beu = b.bu;
    else if (strcmp(b.o.backend, "none") != 0 && parse_redis_url(b.o.backend, &b.beu) != 0) {
        log_error("cannot parse the backend URL");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (poster_init(&b.ps, &b.o) != 0)
        return 1;
    log_info("runwatch-celery started: broker %s:%d db %d%s, posting to %s", b.bu.host, b.bu.port,
             b.bu.db, b.bu.tls.on ? " (TLS)" : "", b.ps.url);
    int rc = run(&b);
    if (b.sub)
        redisFree(b.sub);
    backend_drop(&b);
    celery_tls_fini();
    poster_fini(&b.ps);
    curl_global_cleanup();
    return rc;
}
