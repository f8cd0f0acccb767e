/* The live hub (fcgi/src/sse): its replay ring, the SSE framing of published events, and
 * continuity — event ids, epochs, Last-Event-ID resume from the ring, `event: reset`
 * when the ring cannot bridge — plus keepalives and stream ages on a fake clock. The
 * hub runs in-process on a private event loop with real evhttp streams on loopback;
 * there is no Redis: the tests hand hub_on_message what the subscriber would. Waits
 * poll the loop until a frame arrives (generous deadline); nothing asserts on time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "jsonx.h"
#include "log.h"
#include "sse/event.h"
#include "sse/hub.h"
#include "sse/ring.h"
#include "suites.h"

#define EPOCH "ep1"
/* Real seconds a wait may take before it gives up: generous, never asserted on. */
#define WAIT_S 20

/* ---- the fake clock ---- */

static int64_t fake_ms = 1000000;

static int64_t fake_clock(void)
{
    return fake_ms;
}

/* ---- ring ---- */

/* An event of seq whose frame is "f<seq>" (malloc'd, as the ring expects). */
static struct sse_event ring_ev(uint64_t seq)
{
    struct sse_event ev = {.seq = seq, .project = 1};
    char f[32];
    int n = snprintf(f, sizeof(f), "f%llu", (unsigned long long)seq);

    ev.frame = strdup(f);
    ev.frame_len = (size_t)n;
    return ev;
}

static void test_ring_empty(void)
{
    struct sse_ring r;

    CU_ASSERT_EQUAL_FATAL(sse_ring_init(&r, 4, 1 << 20), 0);
    CU_ASSERT_EQUAL(sse_ring_first(&r), 0);
    CU_ASSERT_EQUAL(sse_ring_last(&r), 0);
    CU_ASSERT_PTR_NULL(sse_ring_get(&r, 0));
    CU_ASSERT_PTR_NULL(sse_ring_get(&r, 1));
    sse_ring_fini(&r);
}

static void test_ring_wraps(void)
{
    struct sse_ring r;
    size_t bytes = 0;

    CU_ASSERT_EQUAL_FATAL(sse_ring_init(&r, 4, 1 << 20), 0);
    for (uint64_t s = 1; s <= 3; s++) {
        struct sse_event ev = ring_ev(s);
        sse_ring_push(&r, &ev);
        /* The ring took the frame over. */
        CU_ASSERT_PTR_NULL(ev.frame);
    }
    CU_ASSERT_EQUAL(sse_ring_first(&r), 1);
    CU_ASSERT_EQUAL(sse_ring_last(&r), 3);
    CU_ASSERT_EQUAL(r.count, 3);
    /* Past capacity the oldest go: 10 pushed into 4 slots keep 7..10. */
    for (uint64_t s = 4; s <= 10; s++) {
        struct sse_event ev = ring_ev(s);
        sse_ring_push(&r, &ev);
    }
    CU_ASSERT_EQUAL(r.count, 4);
    CU_ASSERT_EQUAL(sse_ring_first(&r), 7);
    CU_ASSERT_EQUAL(sse_ring_last(&r), 10);
    CU_ASSERT_PTR_NULL(sse_ring_get(&r, 6));
    CU_ASSERT_PTR_NULL(sse_ring_get(&r, 11));
    for (uint64_t s = 7; s <= 10; s++) {
        const struct sse_event *e = sse_ring_get(&r, s);
        char want[32];
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(e->seq, s);
        snprintf(want, sizeof(want), "f%llu", (unsigned long long)s);
        CU_ASSERT_STRING_EQUAL(e->frame, want);
        bytes += e->frame_len;
    }
    /* The byte count follows what is held, not what was ever pushed. */
    CU_ASSERT_EQUAL(r.bytes, bytes);
    sse_ring_fini(&r);
}

/* The ring is bounded in bytes too: a few huge frames evict the oldest until the newest
 * fits, and the newest is kept even when it alone is past the bound. */
static void test_ring_bytes(void)
{
    struct sse_ring r;

    CU_ASSERT_EQUAL_FATAL(sse_ring_init(&r, 100, 10), 0);
    for (uint64_t s = 1; s <= 5; s++) { /* frames "f1".."f5": 2 bytes each */
        struct sse_event ev = ring_ev(s);
        sse_ring_push(&r, &ev);
    }
    CU_ASSERT_EQUAL(r.count, 5);
    CU_ASSERT_EQUAL(r.bytes, 10);
    {
        struct sse_event ev = ring_ev(6);
        sse_ring_push(&r, &ev);
    }
    CU_ASSERT_EQUAL(r.count, 5);
    CU_ASSERT_EQUAL(sse_ring_first(&r), 2);
    CU_ASSERT_TRUE(r.bytes <= 10);
    {
        struct sse_event ev = {.seq = 7, .project = 1};
        ev.frame = malloc(64);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ev.frame);
        memset(ev.frame, 'x', 63);
        ev.frame[63] = '\0';
        ev.frame_len = 63;
        sse_ring_push(&r, &ev);
    }
    /* Everything older went; the gap-free run is just the newest. */
    CU_ASSERT_EQUAL(r.count, 1);
    CU_ASSERT_EQUAL(sse_ring_first(&r), 7);
    CU_ASSERT_EQUAL(r.bytes, 63);
    {
        struct sse_event ev = ring_ev(8);
        sse_ring_push(&r, &ev);
    }
    CU_ASSERT_EQUAL(r.count, 1);
    CU_ASSERT_EQUAL(sse_ring_first(&r), 8);
    CU_ASSERT_EQUAL(r.bytes, 2);
    sse_ring_fini(&r);
}

/* A payload past frame_max becomes a stub: the same id, type, project and run, and
 * truncated, so a viewer knows to fetch; under the bound the payload is the data. */
static void test_frame_cap(void)
{
    char msg[9000], why[64];
    struct sse_event ev;
    int n = snprintf(msg, sizeof(msg),
                     "{\"id\":9,\"epoch\":\"ep1\",\"project\":4,\"type\":\"run.updated\","
                     "\"run\":\"0a1b2c3d-0000-4000-8000-00000000000f\",\"data\":{\"p\":\"");
    memset(msg + n, 'a', 8000);
    snprintf(msg + n + 8000, sizeof(msg) - (size_t)n - 8000, "\"}}");

    CU_ASSERT_EQUAL_FATAL(sse_event_parse(msg, strlen(msg), 4096, &ev, why, sizeof(why)), 0);
    CU_ASSERT_TRUE(ev.truncated);
    CU_ASSERT_EQUAL(ev.seq, 9);
    CU_ASSERT_STRING_EQUAL(ev.frame, "id: ep1-9\nevent: run.updated\ndata: "
                                     "{\"id\":9,\"epoch\":\"ep1\",\"project\":4,\"type\":"
                                     "\"run.updated\",\"run\":\"0a1b2c3d-0000-4000-8000-"
                                     "00000000000f\",\"truncated\":true}\n\n");
    sse_event_fini(&ev);
    CU_ASSERT_EQUAL_FATAL(sse_event_parse(msg, strlen(msg), 16384, &ev, why, sizeof(why)), 0);
    CU_ASSERT_FALSE(ev.truncated);
    CU_ASSERT_TRUE(ev.frame_len > 8000);
    sse_event_fini(&ev);
}

static void test_ring_clear(void)
{
    struct sse_ring r;

    CU_ASSERT_EQUAL_FATAL(sse_ring_init(&r, 3, 1 << 20), 0);
    for (uint64_t s = 1; s <= 5; s++) {
        struct sse_event ev = ring_ev(s);
        sse_ring_push(&r, &ev);
    }
    sse_ring_clear(&r);
    CU_ASSERT_EQUAL(r.count, 0);
    CU_ASSERT_EQUAL(r.bytes, 0);
    CU_ASSERT_EQUAL(sse_ring_last(&r), 0);
    CU_ASSERT_PTR_NULL(sse_ring_get(&r, 5));
    /* After a break the ring starts again at any seq (a new epoch starts at 1). */
    {
        struct sse_event ev = ring_ev(1);
        sse_ring_push(&r, &ev);
    }
    CU_ASSERT_EQUAL(sse_ring_first(&r), 1);
    CU_ASSERT_PTR_NOT_NULL(sse_ring_get(&r, 1));
    sse_ring_fini(&r);
}

/* ---- framing ---- */

static void test_frame_exact(void)
{
    static const char msg[] = "{\"id\":7,\"epoch\":\"ep1\",\"project\":3,\"type\":\"run.updated\","
                              "\"run\":\"0a1b2c3d-0000-4000-8000-00000000000f\"}";
    struct sse_event ev;
    char why[64];

    CU_ASSERT_EQUAL_FATAL(sse_event_parse(msg, strlen(msg), 0, &ev, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(ev.seq, 7);
    CU_ASSERT_EQUAL(ev.project, 3);
    CU_ASSERT_STRING_EQUAL(ev.epoch, "ep1");
    CU_ASSERT_STRING_EQUAL(ev.run, "0a1b2c3d-0000-4000-8000-00000000000f");
    CU_ASSERT_EQUAL(ev.type_bit, sse_type_bit("run.updated", 11));
    /* One id, one event name, the message itself as the one data line, a blank line. */
    CU_ASSERT_STRING_EQUAL(ev.frame, "id: ep1-7\nevent: run.updated\ndata: "
                                     "{\"id\":7,\"epoch\":\"ep1\",\"project\":3,\"type\":"
                                     "\"run.updated\",\"run\":\"0a1b2c3d-0000-4000-8000-"
                                     "00000000000f\"}\n\n");
    CU_ASSERT_EQUAL(ev.frame_len, strlen(ev.frame));
    sse_event_fini(&ev);
    CU_ASSERT_PTR_NULL(ev.frame);
}

static void test_frame_one_data_line(void)
{
    /* A message with line breaks (pretty-printed) would end the data field early: it is
     * re-serialised to one line. */
    static const char msg[] = "{\n  \"id\": 2,\n  \"epoch\": \"ep1\",\n  \"project\": 1,\n"
                              "  \"type\": \"run.event\",\n  \"data\": {\"m\": \"a\\nb\"}\n}";
    struct sse_event ev;
    char why[64];
    int lines = 0;

    CU_ASSERT_EQUAL_FATAL(sse_event_parse(msg, strlen(msg), 0, &ev, why, sizeof(why)), 0);
    for (const char *p = ev.frame; *p; p++)
        lines += *p == '\n';
    /* id, event, data, and the blank line. */
    CU_ASSERT_EQUAL(lines, 4);
    CU_ASSERT_PTR_NULL(strchr(ev.frame, '\r'));
    CU_ASSERT_PTR_NOT_NULL(strstr(ev.frame, "\ndata: {\"id\":2,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ev.frame, "\"m\":\"a\\nb\""));
    CU_ASSERT_EQUAL(ev.frame_len, strlen(ev.frame));
    sse_event_fini(&ev);
}

static void test_frame_large(void)
{
    /* A large event (a run with a big input) stays one frame, byte for byte. */
    size_t n = 256 * 1024, len;
    char *msg = malloc(n + 200), why[64];
    struct sse_event ev;

    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    len = (size_t)snprintf(msg, 200,
                           "{\"id\":1,\"epoch\":\"ep1\",\"project\":1,\"type\":"
                           "\"run.created\",\"input\":\"");
    memset(msg + len, 'x', n);
    len += n;
    len += (size_t)snprintf(msg + len, 8, "\"}");
    CU_ASSERT_EQUAL_FATAL(sse_event_parse(msg, len, 0, &ev, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(ev.frame_len, strlen("id: ep1-1\nevent: run.created\ndata: ") + len + 2);
    CU_ASSERT_EQUAL(ev.frame_len, strlen(ev.frame));
    CU_ASSERT_EQUAL(memcmp(ev.frame + ev.frame_len - len - 2, msg, len), 0);
    CU_ASSERT_STRING_EQUAL(ev.frame + ev.frame_len - 2, "\n\n");
    sse_event_fini(&ev);
    free(msg);
}

static void test_frame_deep(void)
{
    /* A run.event frame holds an event's data a few levels deeper than the client sent it,
     * and the API accepts data nested up to JSONX_MAX_DEPTH: the hub must not refuse that
     * (a refused message costs every client a reset). */
    enum { DEPTH = JSONX_MAX_DEPTH };
    char msg[512 + 8 * DEPTH], why[64];
    size_t len = (size_t)snprintf(msg, 256,
                                  "{\"id\":1,\"epoch\":\"ep1\",\"project\":1,\"type\":"
                                  "\"run.event\",\"data\":{\"events\":[{\"data\":");
    struct sse_event ev;

    for (int i = 0; i < DEPTH; i++)
        len += (size_t)snprintf(msg + len, 8, "{\"a\":");
    len += (size_t)snprintf(msg + len, 4, "1");
    for (int i = 0; i < DEPTH; i++)
        msg[len++] = '}';
    len += (size_t)snprintf(msg + len, 8, "}]}}");
    CU_ASSERT_EQUAL_FATAL(sse_event_parse(msg, len, 0, &ev, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(memcmp(ev.frame + ev.frame_len - len - 2, msg, len), 0);
    sse_event_fini(&ev);
}

static void test_frame_refused(void)
{
    static const struct {
        const char *msg, *why;
    } bad[] = {
        {"not json", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {"{\"epoch\":\"e\",\"project\":1,\"type\":\"run.created\"}", "no positive integer id"},
        {"{\"id\":0,\"epoch\":\"e\",\"project\":1,\"type\":\"run.created\"}",
         "no positive integer id"},
        {"{\"id\":1,\"project\":1,\"type\":\"run.created\"}", "no epoch"},
        {"{\"id\":1,\"epoch\":\"e-1\",\"project\":1,\"type\":\"run.created\"}", "bad epoch"},
        {"{\"id\":1,\"epoch\":\"e\",\"type\":\"run.created\"}", "no integer project"},
        {"{\"id\":1,\"epoch\":\"e\",\"project\":1}", "no type"},
        /* The type becomes the `event:` line: a line break would forge fields. */
        {"{\"id\":1,\"epoch\":\"e\",\"project\":1,\"type\":\"run.x\\ndata: forged\"}", "bad type"},
        {"{\"id\":1,\"epoch\":\"e\",\"project\":1,\"type\":\"run.created\",\"run\":\"nope\"}",
         "bad run"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sse_event ev;
        char why[64] = "";
        int rc = sse_event_parse(bad[i].msg, strlen(bad[i].msg), 0, &ev, why, sizeof(why));
        if (rc == 0 || strcmp(why, bad[i].why) != 0)
            fprintf(stderr, "\n  %s: rc %d, why \"%s\"", bad[i].msg, rc, why);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_STRING_EQUAL(why, bad[i].why);
        CU_ASSERT_PTR_NULL(ev.frame);
    }
}

/* The common road (jsonx_read) and json-c's tree give the same event, frame and reason for
 * each message: a claimed run as runwatch-api publishes it, and the shapes the common road
 * hands to the tree (a repeated key, trailing whitespace, a line break, nesting past
 * jsonx's depth, an id past 18 digits, a NUL in a string, bad UTF-8) or refuses. */
static void test_frame_roads_agree(void)
{
    static const char *const msgs[] = {
        "{\"id\":41,\"epoch\":\"ep1\",\"project\":7,\"type\":\"run.updated\",\"run\":"
        "\"2403d628-c5f1-4a25-9cea-4c8df4080385\",\"data\":{\"id\" : \"2403d628-c5f1-4a25-"
        "9cea-4c8df4080385\", \"project\" : \"bench-claims\", \"status\" : \"running\", "
        "\"priority\" : 2, \"input\" : {\"rows\": 310, \"lr\": 0.001, \"e\": 1e-3}, \"tags\" : "
        "[\"claim\", \"\\u00e9t\\u00e9\"], \"attempt\" : {\"seq\": 1, \"worker_id\": 3}, "
        "\"ended_at\" : null, \"cancel_requested\" : false}}",
        "{\"id\":2,\"epoch\":\"ep1\",\"project\":-3,\"type\":\"run.future\",\"run\":null}",
        "{\"id\":3,\"epoch\":\"ep1\",\"project\":1,\"type\":\"reset\"}",
        "  {\"id\":4,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"}",
        "{\"id\":5,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"} ",
        "{\"id\":6,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\",\"id\":7}",
        "{\"id\":8,\"epoch\":\"ep1\",\"project\":1,\n\"type\":\"run.created\"}",
        "{\"id\":1234567890123456789,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"}",
        "{\"id\":123456789012345678,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"}",
        "{\"id\":9,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.\\u0000x\"}",
        "{\"id\":10,\"epoch\":\"ep\\u0000\",\"project\":1,\"type\":\"run.created\"}",
        "{\"id\":11,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\",\"d\":\"\xff\"}",
        "{\"id\":12.0,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"}",
        "{\"id\":-0,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"}",
        "{\"id\":13,\"epoch\":\"ep1\",\"project\":1e2,\"type\":\"run.created\"}",
        "{\"id\":14,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\",\"run\":"
        "\"2403D628-c5f1-4a25-9cea-4c8df4080385\"}",
        "[{\"id\":15}]",
        "{\"id\":16,\"epoch\":\"ep1\",\"project\":1,\"type\":\"run.created\"",
    };
    char deep[600];
    size_t n = (size_t)snprintf(deep, sizeof(deep),
                                "{\"id\":17,\"epoch\":\"ep1\",\"project\":1,\"type\":\"x\",\"d\":");
    for (int i = 0; i < JSONX_MAX_DEPTH + 2; i++)
        deep[n++] = '[';
    for (int i = 0; i < JSONX_MAX_DEPTH + 2; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';

    for (size_t i = 0; i <= sizeof(msgs) / sizeof(msgs[0]); i++) {
        const char *m = i < sizeof(msgs) / sizeof(msgs[0]) ? msgs[i] : deep;
        for (size_t cap = 0; cap <= 256; cap += 256) {
            struct sse_event a, b;
            char wa[64] = "", wb[64] = "";
            int ra = sse_event_parse(m, strlen(m), cap, &a, wa, sizeof(wa));
            int rb = sse_event_parse_tree(m, strlen(m), cap, &b, wb, sizeof(wb));
            CU_ASSERT_EQUAL(ra, rb);
            CU_ASSERT_STRING_EQUAL(wa, wb);
            if (ra == 0 && rb == 0) {
                CU_ASSERT_EQUAL(a.seq, b.seq);
                CU_ASSERT_EQUAL(a.project, b.project);
                CU_ASSERT_EQUAL(a.type_bit, b.type_bit);
                CU_ASSERT_STRING_EQUAL(a.epoch, b.epoch);
                CU_ASSERT_STRING_EQUAL(a.run, b.run);
                CU_ASSERT_EQUAL(a.truncated, b.truncated);
                CU_ASSERT_EQUAL(a.reset, b.reset);
                CU_ASSERT_EQUAL_FATAL(a.frame_len, b.frame_len);
                CU_ASSERT_EQUAL(memcmp(a.frame, b.frame, a.frame_len), 0);
                sse_event_fini(&a);
                sse_event_fini(&b);
            }
        }
    }
    /* The claimed run's message is taken whole, byte for byte. */
    {
        struct sse_event ev;
        char why[64];
        CU_ASSERT_EQUAL_FATAL(sse_event_parse(msgs[0], strlen(msgs[0]), 0, &ev, why, sizeof(why)),
                              0);
        CU_ASSERT_EQUAL(ev.seq, 41);
        CU_ASSERT_EQUAL(ev.project, 7);
        CU_ASSERT_STRING_EQUAL(ev.run, "2403d628-c5f1-4a25-9cea-4c8df4080385");
        CU_ASSERT_EQUAL(
            memcmp(ev.frame + ev.frame_len - strlen(msgs[0]) - 2, msgs[0], strlen(msgs[0])), 0);
        sse_event_fini(&ev);
    }
}

static void test_frame_types_and_ids(void)
{
    static const char other[] = "{\"id\":1,\"epoch\":\"e\",\"project\":1,\"type\":\"run.future\"}";
    char epoch[SSE_EPOCH_MAX + 1], bad[80], long_epoch[SSE_EPOCH_MAX + 8];
    struct sse_event ev;
    uint32_t mask = 0;
    uint64_t seq = 0;

    /* An unknown type (a newer runwatch-api) passes under the shared bit. */
    CU_ASSERT_EQUAL_FATAL(sse_event_parse(other, strlen(other), 0, &ev, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(ev.type_bit, 1u << SSE_TYPE_OTHER);
    sse_event_fini(&ev);
    CU_ASSERT_EQUAL(sse_types_parse("run.created,worker.updated", &mask, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(mask, sse_type_bit("run.created", 11) | sse_type_bit("worker.updated", 14));
    /* A worker's log lines (POST /workers/{id}/events) have a type of their own. */
    CU_ASSERT_EQUAL(sse_types_parse("worker.event", &mask, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(mask, sse_type_bit("worker.event", 12));
    CU_ASSERT_NOT_EQUAL(mask, 0);
    CU_ASSERT_EQUAL(sse_types_parse("run.created,run.future", &mask, bad, sizeof(bad)), -1);
    CU_ASSERT_STRING_EQUAL(bad, "run.future");

    /* Ids are "<epoch>-<seq>": alphanumeric epoch, positive decimal seq, nothing else. */
    CU_ASSERT_EQUAL(sse_id_parse("ep1-42", epoch, &seq), 0);
    CU_ASSERT_STRING_EQUAL(epoch, "ep1");
    CU_ASSERT_EQUAL(seq, 42);
    CU_ASSERT_EQUAL(sse_id_parse("ep1-0", epoch, &seq), -1);
    CU_ASSERT_EQUAL(sse_id_parse("ep1--1", epoch, &seq), -1);
    CU_ASSERT_EQUAL(sse_id_parse("ep1-4x", epoch, &seq), -1);
    CU_ASSERT_EQUAL(sse_id_parse("-4", epoch, &seq), -1);
    CU_ASSERT_EQUAL(sse_id_parse("e_p-4", epoch, &seq), -1);
    CU_ASSERT_EQUAL(sse_id_parse("42", epoch, &seq), -1);
    CU_ASSERT_EQUAL(sse_id_parse("ep1-99999999999999999999999", epoch, &seq), -1);
    memset(long_epoch, 'a', SSE_EPOCH_MAX + 1);
    snprintf(long_epoch + SSE_EPOCH_MAX + 1, 7, "-1");
    CU_ASSERT_EQUAL(sse_id_parse(long_epoch, epoch, &seq), -1);
}

/* ---- the hub on a private loop ---- */

struct fx {
    struct event_base *base;
    struct evhttp *http;
    struct hub *hub;
    int port;
};

/* A stream client on a plain socket: raw bytes as they came, and the body with the
 * chunked transfer encoding taken off. */
struct client {
    int fd;
    char *raw, *body;
    size_t rlen, rcap, blen, bcap;
    size_t parsed; /* raw bytes consumed by the de-chunker */
    int headers_done, ended, eof;
};

/* The HTTP side's job in miniature: every stream may see projects 1 and 2. */
static void fx_on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    struct hub_stream_req sr = {0};
    int st;

    sr.projects = malloc(2 * sizeof(*sr.projects));
    if (!sr.projects) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    sr.projects[0] = 1;
    sr.projects[1] = 2;
    sr.n_projects = 2;
    sr.last_event_id = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    sr.identity = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Runwatch-Identity");
    st = hub_stream_open(f->hub, req, &sr);
    if (st != 0)
        evhttp_send_error(req, st, NULL);
}

/* RUNWATCH_SSE_STREAMS_PER_USER of the next fx_open (0: no cap). */
static size_t fx_per_user;

static int fx_open(struct fx *f, size_t ring, int keepalive_ms, int max_age_s)
{
    struct sse_options o = {
        .per_user = fx_per_user,
        .ring = ring,
        .ring_bytes = 64 << 20,
        .keepalive_ms = keepalive_ms,
        .client_buffer = 1 << 20,
        .stall_ms = 3600000,
        .max_clients = 16,
        .max_age_s = max_age_s,
        .retry_ms = 3000,
    };
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);

    memset(f, 0, sizeof(*f));
    hub_clock_ms = fake_clock;
    log_min_level = LOG_LEVEL_ERROR;
    if (!(f->base = event_base_new()) || !(f->http = evhttp_new(f->base)) ||
        !(f->hub = hub_new(f->base, &o)))
        return -1;
    evhttp_set_gencb(f->http, fx_on_request, f);
    if (!(bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0)) ||
        getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    f->port = ntohs(sa.sin_port);
    return 0;
}

/* A fixture whose hub is already subscribed to Redis, as most tests want it. */
static int fx_open_live(struct fx *f, size_t ring, int keepalive_ms, int max_age_s)
{
    if (fx_open(f, ring, keepalive_ms, max_age_s))
        return -1;
    hub_on_subscribed(f->hub);
    return 0;
}

static void fx_close(struct fx *f)
{
    /* evhttp first: its close callbacks free the hub's side of each stream. */
    if (f->http)
        evhttp_free(f->http);
    if (f->hub)
        hub_free(f->hub);
    if (f->base)
        event_base_free(f->base);
    memset(f, 0, sizeof(*f));
}

/* The message the API would publish: seq in epoch, about project, of type. */
static void fx_publish(struct fx *f, const char *epoch, uint64_t seq, int project, const char *type)
{
    char msg[256];
    int n =
        snprintf(msg, sizeof(msg), "{\"id\":%llu,\"epoch\":\"%s\",\"project\":%d,\"type\":\"%s\"}",
                 (unsigned long long)seq, epoch, project, type);
    hub_on_message(f->hub, msg, (size_t)n);
}

/* The frame the hub sends for fx_publish's message. */
static const char *frame_of(char *buf, size_t cap, const char *epoch, uint64_t seq, int project,
                            const char *type)
{
    snprintf(buf, cap,
             "id: %s-%llu\nevent: %s\ndata: {\"id\":%llu,\"epoch\":\"%s\",\"project\":%d,"
             "\"type\":\"%s\"}\n\n",
             epoch, (unsigned long long)seq, type, (unsigned long long)seq, epoch, project, type);
    return buf;
}

static int client_grow(char **p, size_t *cap, size_t need)
{
    size_t ncap = *cap ? *cap : 4096;
    char *n;

    while (ncap < need)
        ncap *= 2;
    if (ncap == *cap)
        return 0;
    if (!(n = realloc(*p, ncap)))
        return -1;
    *p = n;
    *cap = ncap;
    return 0;
}

/* Takes complete chunks off raw into body; the terminal chunk marks the stream ended. */
static void client_dechunk(struct client *c)
{
    if (!c->headers_done) {
        char *end = c->rlen ? memmem(c->raw, c->rlen, "\r\n\r\n", 4) : NULL;
        if (!end)
            return;
        c->headers_done = 1;
        c->parsed = (size_t)(end - c->raw) + 4;
    }
    while (!c->ended) {
        char *p = c->raw + c->parsed, *eol;
        size_t avail = c->rlen - c->parsed, size, hlen;

        if (!(eol = memmem(p, avail, "\r\n", 2)))
            return;
        size = strtoul(p, NULL, 16);
        hlen = (size_t)(eol - p) + 2;
        if (avail < hlen + size + 2)
            return;
        if (size == 0) {
            c->ended = 1;
            return;
        }
        memcpy(c->body + c->blen, p + hlen, size);
        c->blen += size;
        c->body[c->blen] = '\0';
        c->parsed += hlen + size + 2;
    }
}

static void client_read(struct client *c)
{
    for (;;) {
        ssize_t n;
        if (client_grow(&c->raw, &c->rcap, c->rlen + 65536) != 0)
            return;
        n = read(c->fd, c->raw + c->rlen, c->rcap - c->rlen);
        if (n > 0) {
            c->rlen += (size_t)n;
            continue;
        }
        if (n == 0)
            c->eof = 1;
        break;
    }
    /* The body never outgrows the raw bytes. */
    if (client_grow(&c->body, &c->bcap, c->rcap + 1) == 0)
        client_dechunk(c);
}

/* A stream as nginx passes it for who (X-Runwatch-Identity; NULL for none). */
static int client_open_as(struct fx *f, struct client *c, const char *last_id, const char *who)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char req[384];
    int n;

    memset(c, 0, sizeof(*c));
    sa.sin_port = htons((uint16_t)f->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return -1;
    n = snprintf(req, sizeof(req), "GET /stream HTTP/1.1\r\nHost: hub\r\n%s%s%s%s%s%s\r\n",
                 last_id ? "Last-Event-ID: " : "", last_id ? last_id : "", last_id ? "\r\n" : "",
                 who ? "X-Runwatch-Identity: " : "", who ? who : "", who ? "\r\n" : "");
    if (write(c->fd, req, (size_t)n) != n)
        return -1;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->body = calloc(1, 1);
    return c->body ? 0 : -1;
}

static int client_open(struct fx *f, struct client *c, const char *last_id)
{
    return client_open_as(f, c, last_id, NULL);
}

static void client_close(struct client *c)
{
    if (c->fd > 0)
        close(c->fd);
    free(c->raw);
    free(c->body);
    memset(c, 0, sizeof(*c));
}

/* Runs the loop until the client's body holds want (NULL: until the stream ended).
 * 1 when it came, 0 at the deadline. */
static int client_wait(struct fx *f, struct client *c, const char *want)
{
    time_t until = time(NULL) + WAIT_S;

    while (time(NULL) < until) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        client_read(c);
        if (want ? strstr(c->body, want) != NULL : (c->ended || c->eof))
            return 1;
        usleep(1000);
    }
    fprintf(stderr, "\n  waited for %s; body so far: %.400s", want ? want : "the end", c->body);
    return 0;
}

/* The body after the hello ("retry: …\n: runwatch\n\n"), which every stream starts with. */
static const char *after_hello(const struct client *c)
{
    static const char hello[] = "retry: 3000\n: runwatch\n\n";
    return strncmp(c->body, hello, sizeof(hello) - 1) == 0 ? c->body + sizeof(hello) - 1 : "(none)";
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

#define RESET(reason) "event: reset\ndata: {\"reason\":\"" reason "\"}\n\n"

/* ---- continuity ---- */

static void test_hub_live(void)
{
    struct fx f;
    struct client c;
    char want[1100], other[512], fr[512];
    struct hub_stats st;

    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, NULL), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    CU_ASSERT_STRING_EQUAL(c.body, "retry: 3000\n: runwatch\n\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(c.raw, "Content-Type: text/event-stream"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.raw, "X-Accel-Buffering: no"));

    /* Project 3 is not this client's; project 1 and an unknown type are. */
    fx_publish(&f, EPOCH, 1, 3, "run.created");
    fx_publish(&f, EPOCH, 2, 1, "run.created");
    fx_publish(&f, EPOCH, 3, 2, "run.future");
    frame_of(fr, sizeof(fr), EPOCH, 3, 2, "run.future");
    CU_ASSERT_FATAL(client_wait(&f, &c, fr));
    snprintf(want, sizeof(want), "%s%s", frame_of(other, sizeof(other), EPOCH, 2, 1, "run.created"),
             fr);
    CU_ASSERT_STRING_EQUAL(after_hello(&c), want);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.last_seq, 3);
    CU_ASSERT_STRING_EQUAL(st.epoch, EPOCH);
    CU_ASSERT_EQUAL(st.ring_events, 3);
    CU_ASSERT_EQUAL(st.frames, 2);
    CU_ASSERT_EQUAL(st.clients, 1);
    client_close(&c);
    fx_close(&f);
}

static void test_hub_resume(void)
{
    struct fx f;
    struct client c;
    char want[2048], fr[512];
    struct hub_stats st;

    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    for (uint64_t s = 1; s <= 5; s++)
        fx_publish(&f, EPOCH, s, s == 4 ? 3 : 1, "run.updated");
    /* Seen up to 2: the ring replays 3 and 5 (4 is another project's), then live 6. */
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, EPOCH "-2"), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, "id: ep1-5\n"));
    fx_publish(&f, EPOCH, 6, 2, "run.updated");
    CU_ASSERT_FATAL(client_wait(&f, &c, "id: ep1-6\n"));
    want[0] = '\0';
    for (uint64_t s = 3; s <= 6; s++) {
        if (s == 4)
            continue;
        strncat(want, frame_of(fr, sizeof(fr), EPOCH, s, s == 6 ? 2 : 1, "run.updated"),
                sizeof(want) - strlen(want) - 1);
    }
    CU_ASSERT_STRING_EQUAL(after_hello(&c), want);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.replayed, 2);
    CU_ASSERT_EQUAL(st.replaying, 0);
    CU_ASSERT_EQUAL(st.resets, 0);
    client_close(&c);
    fx_close(&f);
}

/* Opens a stream with last_id on f and waits until it starts with want (after the hello). */
static void expect_start(struct fx *f, const char *last_id, const char *want)
{
    struct client c;

    CU_ASSERT_EQUAL_FATAL(client_open(f, &c, last_id), 0);
    CU_ASSERT(client_wait(f, &c, want));
    if (strncmp(after_hello(&c), want, strlen(want)) != 0)
        fprintf(stderr, "\n  %s: expected %s, got %.300s", last_id, want, c.body);
    CU_ASSERT_EQUAL(strncmp(after_hello(&c), want, strlen(want)), 0);
    client_close(&c);
}

static void test_hub_resume_refused(void)
{
    struct fx f;
    struct client up, ahead;
    char fr[512];

    /* A ring of 4 after 10 events holds 7..10. */
    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 4, 15000, 0), 0);
    for (uint64_t s = 1; s <= 10; s++)
        fx_publish(&f, EPOCH, s, 1, "run.updated");
    /* 8..10 are there after 7: a replay; after 6 too (the ring's first is 7, the
     * boundary); after 5, 6 is gone: reset. */
    expect_start(&f, EPOCH "-7", "id: ep1-8\n");
    expect_start(&f, EPOCH "-6", "id: ep1-7\n");
    expect_start(&f, EPOCH "-5", RESET("too_old"));
    expect_start(&f, "ep0-9", RESET("epoch"));
    expect_start(&f, "garbage", RESET("unknown_id"));
    /* Further ahead than a ring's worth: nobody sent that id. */
    expect_start(&f, EPOCH "-15", RESET("unknown_id"));

    /* Up to date, and a little ahead (another hub saw more): both wait for what is new to
     * them, the second one without 11 and 12, which it saw. */
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &up, EPOCH "-10"), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &ahead, EPOCH "-12"), 0);
    CU_ASSERT_FATAL(client_wait(&f, &up, ": runwatch\n\n"));
    CU_ASSERT_FATAL(client_wait(&f, &ahead, ": runwatch\n\n"));
    for (uint64_t s = 11; s <= 13; s++)
        fx_publish(&f, EPOCH, s, 1, "run.updated");
    CU_ASSERT(client_wait(&f, &up, "id: ep1-13\n"));
    CU_ASSERT(client_wait(&f, &ahead, "id: ep1-13\n"));
    CU_ASSERT_EQUAL(count_of(up.body, "id: "), 3);
    CU_ASSERT_STRING_EQUAL(after_hello(&ahead),
                           frame_of(fr, sizeof(fr), EPOCH, 13, 1, "run.updated"));
    client_close(&up);
    client_close(&ahead);
    fx_close(&f);
}

static void test_hub_breaks(void)
{
    struct fx f;
    struct client c;
    char want[2048], fr[512];
    struct hub_stats st;

    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, NULL), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    fx_publish(&f, EPOCH, 1, 1, "run.created");
    fx_publish(&f, EPOCH, 2, 1, "run.created");
    /* 3 never came: continuity is lost, the client refetches, then goes on live. */
    fx_publish(&f, EPOCH, 4, 1, "run.created");
    /* Redis lost its counter: a new epoch. */
    fx_publish(&f, "ep2", 1, 1, "run.created");
    CU_ASSERT_FATAL(client_wait(&f, &c, "id: ep2-1\n"));
    want[0] = '\0';
    strncat(want, frame_of(fr, sizeof(fr), EPOCH, 1, 1, "run.created"), sizeof(want) - 1);
    strncat(want, frame_of(fr, sizeof(fr), EPOCH, 2, 1, "run.created"),
            sizeof(want) - strlen(want) - 1);
    strncat(want, RESET("gap"), sizeof(want) - strlen(want) - 1);
    strncat(want, frame_of(fr, sizeof(fr), EPOCH, 4, 1, "run.created"),
            sizeof(want) - strlen(want) - 1);
    strncat(want, RESET("epoch"), sizeof(want) - strlen(want) - 1);
    strncat(want, frame_of(fr, sizeof(fr), "ep2", 1, 1, "run.created"),
            sizeof(want) - strlen(want) - 1);
    CU_ASSERT_STRING_EQUAL(after_hello(&c), want);
    /* The ring holds only what follows the last break. */
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.ring_events, 1);
    CU_ASSERT_STRING_EQUAL(st.epoch, "ep2");
    CU_ASSERT_EQUAL(st.resets, 2);
    /* So an id from before the break cannot be replayed. */
    expect_start(&f, EPOCH "-2", RESET("epoch"));
    client_close(&c);
    fx_close(&f);
}

/* A worker died between a COMMIT and its publish: its master publishes a `reset` message
 * (it takes an id). Every stream, whatever its projects, gets `event: reset` (lost), the
 * message itself is no frame, and a resume from before it is told it missed something. */
static void test_hub_lost_publish(void)
{
    struct fx f;
    struct client c;
    char want[2048], fr[512], fr2[512];
    struct hub_stats st;

    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, NULL), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    fx_publish(&f, EPOCH, 1, 1, "run.created");
    fx_publish(&f, EPOCH, 2, 0, "reset");
    CU_ASSERT_FATAL(client_wait(&f, &c, RESET("lost")));
    fx_publish(&f, EPOCH, 3, 1, "run.updated");
    frame_of(fr2, sizeof(fr2), EPOCH, 3, 1, "run.updated");
    CU_ASSERT_FATAL(client_wait(&f, &c, fr2));
    snprintf(want, sizeof(want), "%s%s%s", frame_of(fr, sizeof(fr), EPOCH, 1, 1, "run.created"),
             RESET("lost"), fr2);
    CU_ASSERT_STRING_EQUAL(after_hello(&c), want);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.resets, 1);
    CU_ASSERT_EQUAL(st.ring_events, 1);
    /* Seen up to 1: the reset at 2 is not in the ring, so it cannot be replayed past. */
    expect_start(&f, EPOCH "-1", RESET("too_old"));
    client_close(&c);
    fx_close(&f);
}

static void test_hub_waits_for_first(void)
{
    struct fx f;
    struct client cont, missed;
    char fr[512], want[1024];

    /* Just (re)started: the hub knows no epoch, so the first event decides. */
    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &cont, EPOCH "-5"), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &missed, EPOCH "-4"), 0);
    CU_ASSERT_FATAL(client_wait(&f, &cont, ": runwatch\n\n"));
    CU_ASSERT_FATAL(client_wait(&f, &missed, ": runwatch\n\n"));
    fx_publish(&f, EPOCH, 6, 1, "run.updated");
    frame_of(fr, sizeof(fr), EPOCH, 6, 1, "run.updated");
    CU_ASSERT(client_wait(&f, &cont, fr));
    CU_ASSERT(client_wait(&f, &missed, fr));
    /* 6 follows 5: it continues. After 4, 5 was missed: reset, then 6. */
    CU_ASSERT_STRING_EQUAL(after_hello(&cont), fr);
    snprintf(want, sizeof(want), "%s%s", RESET("missed"), fr);
    CU_ASSERT_STRING_EQUAL(after_hello(&missed), want);
    client_close(&cont);
    client_close(&missed);
    fx_close(&f);
}

static void test_hub_redis_gap(void)
{
    struct fx f;
    struct client c;
    struct hub_stats st;

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, 16, 15000, 0), 0);
    /* Losing a link that never subscribed is no gap. */
    hub_on_link_lost(f.hub);
    hub_on_subscribed(f.hub);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, NULL), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    fx_publish(&f, EPOCH, 1, 1, "run.created");
    CU_ASSERT_FATAL(client_wait(&f, &c, "id: ep1-1\n"));
    hub_on_link_lost(f.hub);
    hub_on_link_lost(f.hub);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_FALSE(st.subscribed);
    CU_ASSERT_EQUAL(st.gaps, 1);
    /* Back: whatever was published meanwhile is lost to the hub, so everyone resets; a
     * revocation may have been lost too, so every stream then ends (the browser
     * reconnects through auth_request). */
    hub_on_subscribed(f.hub);
    CU_ASSERT_FATAL(client_wait(&f, &c, RESET("redis")));
    CU_ASSERT(client_wait(&f, &c, NULL));
    CU_ASSERT_TRUE(c.ended);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_TRUE(st.subscribed);
    CU_ASSERT_EQUAL(st.reconnects, 1);
    CU_ASSERT_EQUAL(st.ring_events, 0);
    CU_ASSERT_EQUAL(st.last_seq, 0);
    CU_ASSERT_EQUAL(st.clients, 0);
    client_close(&c);
    /* The reconnect: the next event starts a known epoch again, whatever its seq, and
     * tells it what it missed. */
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, "ep1-1"), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    fx_publish(&f, EPOCH, 9, 1, "run.created");
    CU_ASSERT(client_wait(&f, &c, "id: ep1-9\n"));
    CU_ASSERT_EQUAL(count_of(c.body, "event: reset"), 1);
    client_close(&c);
    fx_close(&f);
}

/* Runs the loop until the hub's timer has fired at least n times more (each pass of
 * EVLOOP_ONCE waits for an event; the tick is the only one without a client). */
static void run_ticks(struct fx *f, struct client *c, int n)
{
    for (int i = 0; i < n; i++) {
        event_base_loop(f->base, EVLOOP_ONCE);
        client_read(c);
    }
}

static void test_hub_keepalive(void)
{
    struct fx f;
    struct client c;
    struct hub_stats st;

    /* Keepalive 100 ms: a tick every 20 ms of real time, decisions on the fake clock. */
    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 100, 0), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, NULL), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    /* The clock stands still: however many ticks pass, the stream is not idle. */
    run_ticks(&f, &c, 10);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.comments, 0);
    /* Idle for a keepalive interval: one comment, then quiet again until the next. */
    fake_ms += 100;
    CU_ASSERT_FATAL(client_wait(&f, &c, ": keepalive\n\n"));
    run_ticks(&f, &c, 10);
    CU_ASSERT_STRING_EQUAL(after_hello(&c), ": keepalive\n\n");
    /* A frame counts as traffic: no comment for an interval after it. */
    fake_ms += 50;
    fx_publish(&f, EPOCH, 1, 1, "run.created");
    CU_ASSERT_FATAL(client_wait(&f, &c, "id: ep1-1\n"));
    fake_ms += 60;
    run_ticks(&f, &c, 10);
    CU_ASSERT_EQUAL(count_of(c.body, ": keepalive"), 1);
    fake_ms += 40;
    CU_ASSERT(client_wait(&f, &c, "\"}\n\n: keepalive\n\n"));
    CU_ASSERT_EQUAL(count_of(c.body, ": keepalive"), 2);
    client_close(&c);
    fx_close(&f);
}

static void test_hub_max_age(void)
{
    struct fx f;
    struct client c;
    struct hub_stats st;

    /* Streams end after about a second (±10%) of the fake clock; the short keepalive
     * only makes the hub's timer tick often. */
    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 100, 1), 0);
    CU_ASSERT_EQUAL_FATAL(client_open(&f, &c, NULL), 0);
    CU_ASSERT_FATAL(client_wait(&f, &c, ": runwatch\n\n"));
    fake_ms += 850;
    run_ticks(&f, &c, 5);
    CU_ASSERT_FALSE(c.ended);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.clients, 1);
    fake_ms += 300;
    /* Ended cleanly: the last chunk, not a cut connection. */
    CU_ASSERT(client_wait(&f, &c, NULL));
    CU_ASSERT_TRUE(c.ended);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.clients, 0);
    client_close(&c);
    fx_close(&f);
}

#define REVOKED(reason) "event: revoked\ndata: {\"reason\":\"" reason "\"}\n\n"

/* A revocation ends exactly the streams of the identities it names, each with
 * `event: revoked` and its reason; others carry on. */
static void test_hub_revoked(void)
{
    struct fx f;
    struct client s12, s13, tok, other;
    struct hub_stats st;
    char fr[256];

    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &s12, NULL, "user:5 session:12"), 0);
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &s13, NULL, "user:5 session:13"), 0);
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &tok, NULL, "token:5"), 0);
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &other, NULL, "user:50 session:120"), 0);
    CU_ASSERT_FATAL(client_wait(&f, &s12, ": runwatch\n\n"));
    CU_ASSERT_FATAL(client_wait(&f, &s13, ": runwatch\n\n"));
    CU_ASSERT_FATAL(client_wait(&f, &tok, ": runwatch\n\n"));
    CU_ASSERT_FATAL(client_wait(&f, &other, ": runwatch\n\n"));

    /* A logout: that session only (not user 12, not token 12). */
    hub_on_revoked(f.hub, "session:12", 10);
    CU_ASSERT(client_wait(&f, &s12, NULL));
    CU_ASSERT_TRUE(s12.ended);
    CU_ASSERT_STRING_EQUAL(after_hello(&s12), REVOKED("session"));
    /* A user disabled: every session of it, though the token of the same number stays. */
    hub_on_revoked(f.hub, "session:13 user:5", 17);
    CU_ASSERT(client_wait(&f, &s13, NULL));
    CU_ASSERT_STRING_EQUAL(after_hello(&s13), REVOKED("user"));
    fx_publish(&f, EPOCH, 1, 1, "run.created");
    frame_of(fr, sizeof(fr), EPOCH, 1, 1, "run.created");
    CU_ASSERT(client_wait(&f, &tok, fr));
    CU_ASSERT_FALSE(tok.ended);
    /* A token revoked; junk in the list is ignored. */
    hub_on_revoked(f.hub, "nonsense token:5 user:x", 23);
    CU_ASSERT(client_wait(&f, &tok, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(tok.body, REVOKED("token")));
    CU_ASSERT(client_wait(&f, &other, fr));
    CU_ASSERT_FALSE(other.ended);
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.revoked, 3);
    CU_ASSERT_EQUAL(st.clients, 1);
    /* "*": everyone. */
    hub_on_revoked(f.hub, "*", 1);
    CU_ASSERT(client_wait(&f, &other, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(other.body, REVOKED("all")));
    client_close(&s12);
    client_close(&s13);
    client_close(&tok);
    client_close(&other);
    fx_close(&f);
}

/* A user (any of its sessions) or a token holds at most per_user streams: the next is 429
 * until one closes. Streams of no known identity are not counted. */
static void test_hub_per_user_cap(void)
{
    struct fx f;
    struct client a, b, c, t, anon[3];
    struct hub_stats st;

    fx_per_user = 2;
    CU_ASSERT_EQUAL_FATAL(fx_open_live(&f, 16, 15000, 0), 0);
    fx_per_user = 0;
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &a, NULL, "user:5 session:1"), 0);
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &b, NULL, "user:5 session:2"), 0);
    CU_ASSERT_FATAL(client_wait(&f, &a, ": runwatch\n\n"));
    CU_ASSERT_FATAL(client_wait(&f, &b, ": runwatch\n\n"));
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &c, NULL, "user:5 session:1"), 0);
    CU_ASSERT(client_wait(&f, &c, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.raw, " 429 "));
    client_close(&c);
    /* A token numbered like the user is another identity. */
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &t, NULL, "token:5"), 0);
    CU_ASSERT(client_wait(&f, &t, ": runwatch\n\n"));
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(client_open(&f, &anon[i], NULL), 0);
        CU_ASSERT(client_wait(&f, &anon[i], ": runwatch\n\n"));
    }
    hub_stats_get(f.hub, &st);
    CU_ASSERT_EQUAL(st.capped, 1);
    CU_ASSERT_EQUAL(st.clients, 6);
    /* One closes: its place is free again once the hub sees the close. */
    client_close(&a);
    for (time_t until = time(NULL) + WAIT_S; st.clients != 5 && time(NULL) < until;) {
        event_base_loop(f.base, EVLOOP_NONBLOCK);
        hub_stats_get(f.hub, &st);
        usleep(1000);
    }
    CU_ASSERT_EQUAL(st.clients, 5);
    CU_ASSERT_EQUAL_FATAL(client_open_as(&f, &c, NULL, "user:5 session:3"), 0);
    CU_ASSERT(client_wait(&f, &c, ": runwatch\n\n"));
    client_close(&b);
    client_close(&c);
    client_close(&t);
    for (int i = 0; i < 3; i++)
        client_close(&anon[i]);
    fx_close(&f);
}

int suite_hub_register(void)
{
    static const struct test_case ring[] = {
        {"empty ring", test_ring_empty},
        {"push past capacity keeps the newest", test_ring_wraps},
        {"clear, then start again", test_ring_clear},
        {"bounded in bytes too", test_ring_bytes},
        {NULL, NULL},
    };
    static const struct test_case framing[] = {
        {"one frame: id, event, data, blank line", test_frame_exact},
        {"line breaks never reach the data line", test_frame_one_data_line},
        {"a large event stays one frame", test_frame_large},
        {"a payload past the frame cap becomes a stub", test_frame_cap},
        {"a client's JSON nested as deep as the API takes passes", test_frame_deep},
        {"messages the hub refuses", test_frame_refused},
        {"types and the id grammar", test_frame_types_and_ids},
        {"jsonx_read and json-c's tree give the same frames and reasons", test_frame_roads_agree},
        {NULL, NULL},
    };
    static const struct test_case continuity[] = {
        {"hello, then live frames of the client's projects", test_hub_live},
        {"Last-Event-ID replays from the ring, then live", test_hub_resume},
        {"ids the ring cannot bridge get a reset", test_hub_resume_refused},
        {"a gap or a new epoch resets every client", test_hub_breaks},
        {"a lost publish (a reset message) resets every client", test_hub_lost_publish},
        {"before the first event, it decides", test_hub_waits_for_first},
        {"a redis gap resets every client once", test_hub_redis_gap},
        {"keepalive comments on the fake clock", test_hub_keepalive},
        {"streams end at their maximum age", test_hub_max_age},
        {"a revocation ends its identity's streams", test_hub_revoked},
        {"streams per user or token are capped", test_hub_per_user_cap},
        {NULL, NULL},
    };
    return test_add_suite("hub ring", ring) || test_add_suite("hub framing", framing) ||
           test_add_suite("hub continuity", continuity);
}
