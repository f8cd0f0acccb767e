/* sse_load: the live stream's load client (`make bench`, tests/bench/stream.sh). It opens
 * N SSE streams through nginx (one libevent loop, plain HTTP/1.0 so nginx sends the stream
 * unchunked), publishes events the way runwatch-api does (pub.c: the same Lua script,
 * the same channel), and measures publish -> receive latency on every frame every client
 * gets. It also reads the resident memory of the processes it is given before and after
 * the streams are open, for the per-connection cost.
 *
 * With --run it is N viewers of that run's live log instead (tests/bench/livelog.sh): a
 * producer POSTs one event per request to the run through the API, with its send time in
 * the event's data, and each stream behaves as the dashboard does on run.event — "frame"
 * takes the events the frame carries and fetches only a truncated frame; "fetch" fetches
 * every batch over REST (GET …/events?after=, one request per viewer at a time, one more
 * queued), as the dashboard did before frames carried events. Latency is from the POST
 * being sent to the event's content reaching the viewer; the viewers' API requests are
 * counted, and the CPU of the processes given with --cpu-pid read over the publishing.
 *
 * usage: sse-load --url http://127.0.0.1:PORT --token rw_... --project ID --redis URL
 *                 [--clients N] [--rate EVENTS_PER_S] [--seconds S] [--hold S]
 *                 [--connect-rate PER_S] [--rss-pid PID]... [--pad BYTES] [--cpu-pid PID]...
 *        sse-load --url … --token rw_… --project ID --run UUID --write-token rw_…
 *                 [--viewer frame|fetch] [--drain S] [as above]
 * Prints "key value" lines; exits 1 when a stream failed, closed early or missed a frame
 * (with --run: an event). */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "log.h"
#include "pub.h"

#define LOAD_MAX_PIDS     16
#define LOAD_MAX_CPU_PIDS 64
/* The dashboard's page of new events (frontend EVENT_LOG_CAP). */
#define LOAD_FETCH_LIMIT 500
/* The producer's connections: each carries one POST at a time, so an event is timed from
 * when its request is sent, not from when it queued behind another. */
#define LOAD_PRODUCERS 16
#define LOAD_MAX_PAD   65536

enum conn_state {
    CONN_IDLE,
    CONN_CONNECTING, /* TCP + request sent, no response head yet */
    CONN_STREAMING,  /* 200 and the hub's hello seen */
    CONN_FAILED,
};

struct load;

struct producer {
    struct load *load;
    struct evhttp_connection *evcon;
    int64_t sent_ns; /* the POST in flight was sent at, 0 when idle */
};

struct conn {
    struct load *load;
    struct bufferevent *bev;
    enum conn_state state;
    int head_done;
    uint64_t frames;
    /* --run: this viewer's log (the newest event id it has) and its REST fetches */
    uint64_t last_id, events;
    struct evhttp_connection *api;
    int fetching, again; /* one fetch at a time, one more queued */
};

struct load {
    struct event_base *base;
    struct sockaddr_in addr;
    char host[64];
    int port;
    const char *token;
    const char *project;
    struct pub pub;
    int clients, rate, seconds, hold, connect_rate;
    pid_t rss_pids[LOAD_MAX_PIDS];
    int n_rss;
    long rss_before[LOAD_MAX_PIDS];
    pid_t cpu_pids[LOAD_MAX_CPU_PIDS];
    int n_cpu;
    long long cpu_before[LOAD_MAX_CPU_PIDS];

    int pad; /* bytes of filler in each published event */

    /* --run */
    const char *run, *write_token;
    int fetch_mode, drain;
    struct producer producers[LOAD_PRODUCERS];
    uint64_t posts_sent, posts_ok, posts_failed, post_inflight;
    int64_t post_rtt_ns; /* summed over the answered POSTs */
    uint64_t fetches, fetches_in_window, fetch_failed, truncated, frame_bytes;

    struct conn *conns;
    int next_to_open, pending, streaming, failed, closed_early;
    uint64_t published, publish_failed, received, keepalives;
    uint32_t *lat_us; /* one per received frame */
    size_t n_lat, cap_lat;
    int64_t t_all_open_ns, t_phase_end_ns;
    int phase; /* 0 connecting, 1 holding, 2 publishing, 3 draining */
    struct event *tick;
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* utime + stime of a process, in clock ticks; -1 when it is gone. */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After the command name's closing parenthesis: state is field 3, utime 14, stime 15. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static void raise_nofile(int want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur >= (rlim_t)want)
        return;
    rl.rlim_cur = (rlim_t)want;
    if (rl.rlim_max < rl.rlim_cur)
        rl.rlim_max = rl.rlim_cur; /* only root may; otherwise the next call takes the hard */
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        fprintf(stderr, "sse-load: open files limit %llu, fewer than %d wanted\n",
                (unsigned long long)rl.rlim_max, want);
    }
}

static void lat_add(struct load *l, int64_t ns)
{
    if (l->n_lat == l->cap_lat) {
        size_t cap = l->cap_lat ? 2 * l->cap_lat : 1 << 20;
        uint32_t *nb = realloc(l->lat_us, cap * sizeof(*nb));
        if (!nb)
            return;
        l->lat_us = nb;
        l->cap_lat = cap;
    }
    l->lat_us[l->n_lat++] =
        ns < 0 ? 0 : (uint32_t)(ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000);
}

static void viewer_fetch(struct load *l, struct conn *c);

/* The events of a run.event frame or a GET …/events answer, as PostgreSQL renders them
 * (`"id" : "17"`, data `{"t": 123}`), each timed. A frame's are all new (each frame comes
 * once); an answer's are those after the log's newest id, which is all of them unless a
 * frame brought some (the "fetch" viewer takes none from frames). */
static void take_events(struct load *l, struct conn *c, const char *p, size_t len)
{
    static const char id_key[] = "{\"id\" : \"", t_key[] = "{\"t\": ";
    const char *end = p + len;
    int64_t now = now_ns();

    while ((p = memmem(p, (size_t)(end - p), id_key, sizeof(id_key) - 1)) != NULL) {
        uint64_t id = strtoull(p + sizeof(id_key) - 1, NULL, 10);
        const char *next = memmem(p + 1, (size_t)(end - p - 1), id_key, sizeof(id_key) - 1);
        const char *t = memmem(p, (size_t)((next ? next : end) - p), t_key, sizeof(t_key) - 1);

        p += sizeof(id_key) - 1;
        if (id > c->last_id)
            c->last_id = id;
        c->events++;
        l->received++;
        if (t)
            lat_add(l, now - strtoll(t + sizeof(t_key) - 1, NULL, 10));
    }
}

/* A run.event for a viewer: the events from the frame, or a fetch. */
static void viewer_frame(struct load *l, struct conn *c, const char *f, size_t len)
{
    static const char carried[] = "\"truncated\":false,\"events\":[";
    const char *ev = memmem(f, len, carried, sizeof(carried) - 1);

    c->frames++;
    l->frame_bytes += len;
    if (!l->fetch_mode && ev) {
        take_events(l, c, ev, len - (size_t)(ev - f));
        return;
    }
    if (ev == NULL)
        l->truncated++;
    viewer_fetch(l, c);
}

/* One complete frame (without its blank line). */
static void on_frame(struct load *l, struct conn *c, const char *f, size_t len)
{
    const char *t;

    if (len >= 6 && memcmp(f, "retry:", 6) == 0) {
        if (c->state == CONN_CONNECTING) {
            c->state = CONN_STREAMING;
            l->pending--;
            l->streaming++;
        }
        return;
    }
    if (len >= 1 && f[0] == ':') {
        l->keepalives++;
        return;
    }
    if (len >= 13 && memcmp(f, "event: reset\n", 13) == 0) {
        fprintf(stderr, "sse-load: unexpected reset\n");
        return;
    }
    if (l->run) {
        if (memmem(f, len, "event: run.event\n", 17))
            viewer_frame(l, c, f, len);
        return;
    }
    t = memmem(f, len, "\"t\":", 4);
    if (!t)
        return;
    c->frames++;
    l->received++;
    l->frame_bytes += len;
    lat_add(l, now_ns() - strtoll(t + 4, NULL, 10));
}

static void on_fetched(struct evhttp_request *req, void *arg)
{
    struct conn *c = arg;
    struct load *l = c->load;

    c->fetching = 0;
    if (!req || evhttp_request_get_response_code(req) != 200) {
        l->fetch_failed++;
    } else {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        const char *body = (const char *)evbuffer_pullup(in, (ssize_t)n);
        if (body)
            take_events(l, c, body, n);
    }
    if (c->again) {
        c->again = 0;
        viewer_fetch(l, c);
    }
}

/* What the dashboard's EventFetcher does: one GET …/events?after= at a time per viewer; a
 * frame meanwhile queues one more. */
static void viewer_fetch(struct load *l, struct conn *c)
{
    char uri[192];
    struct evhttp_request *req;
    struct evkeyvalq *h;
    char auth[160];

    if (c->fetching) {
        c->again = 1;
        return;
    }
    if (!c->api) {
        c->api = evhttp_connection_base_new(l->base, NULL, l->host, (unsigned short)l->port);
        if (!c->api) {
            l->fetch_failed++;
            return;
        }
        evhttp_connection_set_timeout(c->api, 60);
    }
    req = evhttp_request_new(on_fetched, c);
    if (!req) {
        l->fetch_failed++;
        return;
    }
    h = evhttp_request_get_output_headers(req);
    snprintf(auth, sizeof(auth), "Bearer %s", l->token);
    evhttp_add_header(h, "Host", l->host);
    evhttp_add_header(h, "Authorization", auth);
    snprintf(uri, sizeof(uri), "/api/v1/runs/%s/events?after=%llu&limit=%d", l->run,
             (unsigned long long)c->last_id, LOAD_FETCH_LIMIT);
    if (evhttp_make_request(c->api, req, EVHTTP_REQ_GET, uri) != 0) {
        l->fetch_failed++;
        return;
    }
    c->fetching = 1;
    l->fetches++;
    if (l->phase == 2)
        l->fetches_in_window++;
}

static void on_posted(struct evhttp_request *req, void *arg)
{
    struct producer *p = arg;
    struct load *l = p->load;

    l->post_inflight--;
    l->post_rtt_ns += now_ns() - p->sent_ns;
    p->sent_ns = 0;
    if (req && evhttp_request_get_response_code(req) == 201)
        l->posts_ok++;
    else
        l->posts_failed++;
}

/* The producer: one event per POST, its send time in the data, on an idle connection of
 * the pool. 0 when every connection is busy (the event waits for the next tick). */
static int post_one(struct load *l)
{
    char uri[128], body[160], auth[160], len[16];
    struct producer *p = NULL;
    struct evhttp_request *req;
    struct evkeyvalq *h;
    int n;

    for (int i = 0; i < LOAD_PRODUCERS && !p; i++)
        if (!l->producers[i].sent_ns)
            p = &l->producers[i];
    if (!p)
        return 0;
    req = evhttp_request_new(on_posted, p);
    if (!req) {
        l->posts_failed++;
        return 1;
    }
    h = evhttp_request_get_output_headers(req);
    snprintf(auth, sizeof(auth), "Bearer %s", l->write_token);
    n = snprintf(body, sizeof(body),
                 "{\"message\":\"bench line %llu of a busy run\",\"data\":{\"t\":%lld}}",
                 (unsigned long long)l->posts_sent, (long long)now_ns());
    snprintf(len, sizeof(len), "%d", n);
    evhttp_add_header(h, "Host", l->host);
    evhttp_add_header(h, "Authorization", auth);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Content-Length", len);
    evbuffer_add(evhttp_request_get_output_buffer(req), body, (size_t)n);
    snprintf(uri, sizeof(uri), "/api/v1/runs/%s/events", l->run);
    p->sent_ns = now_ns();
    if (evhttp_make_request(p->evcon, req, EVHTTP_REQ_POST, uri) != 0) {
        p->sent_ns = 0;
        l->posts_failed++;
        return 1;
    }
    l->posts_sent++;
    l->post_inflight++;
    return 1;
}

static void cpu_snapshot(struct load *l, int after)
{
    for (int i = 0; i < l->n_cpu; i++) {
        long long t = cpu_ticks(l->cpu_pids[i]);
        if (!after)
            l->cpu_before[i] = t;
        else if (t >= 0 && l->cpu_before[i] >= 0)
            printf("cpu_ms.%d %lld\n", (int)l->cpu_pids[i],
                   (t - l->cpu_before[i]) * 1000 / sysconf(_SC_CLK_TCK));
    }
}

static void conn_fail(struct load *l, struct conn *c, const char *why)
{
    if (c->state == CONN_CONNECTING)
        l->pending--;
    if (c->state == CONN_STREAMING) {
        l->streaming--;
        l->closed_early++;
    }
    if (c->state != CONN_FAILED) {
        l->failed++;
        if (l->failed <= 5)
            fprintf(stderr, "sse-load: stream %ld: %s\n", (long)(c - l->conns), why);
    }
    c->state = CONN_FAILED;
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct load *l = c->load;
    struct evbuffer *in = bufferevent_get_input(bev);

    if (!c->head_done) {
        struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        char line[64] = "";
        int status = 0;

        if (p.pos < 0)
            return;
        evbuffer_copyout(in, line,
                         sizeof(line) - 1 < (size_t)p.pos ? sizeof(line) - 1 : (size_t)p.pos);
        if (sscanf(line, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
            char why[96];
            snprintf(why, sizeof(why), "status %d", status);
            conn_fail(l, c, why);
            return;
        }
        evbuffer_drain(in, (size_t)p.pos + 4);
        c->head_done = 1;
    }
    for (;;) {
        struct evbuffer_ptr p = evbuffer_search(in, "\n\n", 2, NULL);
        unsigned char *f;

        if (p.pos < 0)
            return;
        f = evbuffer_pullup(in, p.pos + 2);
        if (!f)
            return;
        on_frame(l, c, (const char *)f, (size_t)p.pos);
        evbuffer_drain(in, (size_t)p.pos + 2);
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    struct load *l = c->load;
    char req[1024];
    int n;

    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        n = snprintf(req, sizeof(req),
                     "GET /api/v1/stream?project=%s HTTP/1.0\r\nHost: %s:%d\r\n"
                     "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n",
                     l->project, l->host, l->port, l->token);
        bufferevent_write(bev, req, (size_t)n);
        return;
    }
    conn_fail(l, c, what & BEV_EVENT_EOF ? "closed" : "error");
}

static void open_one(struct load *l, struct conn *c)
{
    c->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        conn_fail(l, c, "out of memory");
        return;
    }
    c->state = CONN_CONNECTING;
    l->pending++;
    bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
    bufferevent_enable(c->bev, EV_READ);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&l->addr, sizeof(l->addr)) != 0)
        conn_fail(l, c, "connect failed");
}

static void publish_one(struct load *l)
{
    char data[96 + LOAD_MAX_PAD];
    int n = snprintf(data, 96, "{\"t\":%lld,\"k\":%llu", (long long)now_ns(),
                     (unsigned long long)l->published);

    /* --pad: filler, so a frame is as big as a run.event carrying events. */
    if (l->pad) {
        n += snprintf(data + n, 8, ",\"p\":\"");
        memset(data + n, 'x', (size_t)l->pad);
        n += l->pad;
        data[n++] = '"';
    }
    snprintf(data + n, 2, "}");
    if (pub_event(&l->pub, l->project, "run.metrics", NULL, data) == 0)
        l->published++;
    else
        l->publish_failed++;
}

/* Every 10 ms: open more streams, publish on schedule, move between phases. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct load *l = arg;
    int64_t now = now_ns();

    (void)fd;
    (void)what;
    if (l->phase == 0) {
        int budget = l->connect_rate / 100 > 0 ? l->connect_rate / 100 : 1;
        while (budget-- > 0 && l->next_to_open < l->clients && l->pending < 256)
            open_one(l, &l->conns[l->next_to_open++]);
        if (l->next_to_open == l->clients && l->pending == 0) {
            l->t_all_open_ns = now;
            fprintf(stderr, "sse-load: %d streams open, %d failed; holding %d s\n", l->streaming,
                    l->failed, l->hold);
            l->phase = 1;
            l->t_phase_end_ns = now + (int64_t)l->hold * 1000000000;
        }
    } else if (l->phase == 1 && now >= l->t_phase_end_ns) {
        for (int i = 0; i < l->n_rss; i++)
            printf("rss_after_kb.%d %ld\n", (int)l->rss_pids[i], rss_kb(l->rss_pids[i]));
        l->phase = 2;
        l->t_phase_end_ns = now + (int64_t)l->seconds * 1000000000;
        l->t_all_open_ns = now; /* publishing starts now */
        cpu_snapshot(l, 0);
    } else if (l->phase == 2) {
        /* Catch up to the schedule: events due since publishing started. */
        uint64_t due = (uint64_t)((now - l->t_all_open_ns) / 1000 * l->rate / 1000000);
        if (l->run) {
            while (l->posts_sent + l->posts_failed < due && now < l->t_phase_end_ns)
                if (!post_one(l))
                    break;
        } else {
            while (l->published + l->publish_failed < due && now < l->t_phase_end_ns)
                publish_one(l);
        }
        if (now >= l->t_phase_end_ns) {
            cpu_snapshot(l, 1);
            l->phase = 3;
            l->t_phase_end_ns = now + (int64_t)l->drain * 1000000000;
        }
    } else if (l->phase == 3) {
        uint64_t want = l->run ? l->posts_ok : l->published;
        if ((l->received >= want * (uint64_t)l->streaming && !l->post_inflight) ||
            now >= l->t_phase_end_ns)
            event_base_loopexit(l->base, NULL);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const struct load *l, double p)
{
    size_t i;
    if (!l->n_lat)
        return 0;
    i = (size_t)(p * (double)(l->n_lat - 1) + 0.5);
    return l->lat_us[i] / 1000.0;
}

static void usage(void)
{
    fprintf(stderr, "usage: sse-load --url http://HOST:PORT --token TOKEN --project ID --redis URL "
                    "[--clients N] [--rate N] [--seconds S] [--hold S] [--connect-rate N] "
                    "[--rss-pid PID]... [--pad BYTES] [--cpu-pid PID]... [--run UUID --write-token "
                    "TOKEN [--viewer frame|fetch] [--drain S]]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"token", required_argument, NULL, 't'},
        {"project", required_argument, NULL, 'p'},
        {"redis", required_argument, NULL, 'r'},
        {"clients", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'e'},
        {"seconds", required_argument, NULL, 's'},
        {"hold", required_argument, NULL, 'h'},
        {"connect-rate", required_argument, NULL, 'C'},
        {"rss-pid", required_argument, NULL, 'P'},
        {"run", required_argument, NULL, 'R'},
        {"write-token", required_argument, NULL, 'W'},
        {"viewer", required_argument, NULL, 'V'},
        {"drain", required_argument, NULL, 'D'},
        {"cpu-pid", required_argument, NULL, 'U'},
        {"pad", required_argument, NULL, 'A'},
        {NULL, 0, NULL, 0},
    };
    struct load l = {
        .clients = 100, .rate = 10, .seconds = 5, .hold = 1, .connect_rate = 2000, .drain = 2};
    struct config_redis_addr ra;
    const char *url = NULL, *redis = NULL;
    struct timeval tick = {0, 10000};
    uint64_t expected;
    int opt, rc = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            url = optarg;
            break;
        case 't':
            l.token = optarg;
            break;
        case 'p':
            l.project = optarg;
            break;
        case 'r':
            redis = optarg;
            break;
        case 'c':
            l.clients = atoi(optarg);
            break;
        case 'e':
            l.rate = atoi(optarg);
            break;
        case 's':
            l.seconds = atoi(optarg);
            break;
        case 'h':
            l.hold = atoi(optarg);
            break;
        case 'C':
            l.connect_rate = atoi(optarg);
            break;
        case 'P':
            if (l.n_rss < LOAD_MAX_PIDS)
                l.rss_pids[l.n_rss++] = (pid_t)atoi(optarg);
            break;
        case 'R':
            l.run = optarg;
            break;
        case 'W':
            l.write_token = optarg;
            break;
        case 'V':
            if (strcmp(optarg, "frame") != 0 && strcmp(optarg, "fetch") != 0)
                usage();
            l.fetch_mode = strcmp(optarg, "fetch") == 0;
            break;
        case 'D':
            l.drain = atoi(optarg);
            break;
        case 'A':
            l.pad = atoi(optarg);
            break;
        case 'U':
            if (l.n_cpu < LOAD_MAX_CPU_PIDS)
                l.cpu_pids[l.n_cpu++] = (pid_t)atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!url || !l.token || !l.project || !redis || l.clients <= 0 || l.rate < 0 ||
        (l.run && !l.write_token) || l.drain < 0 || l.pad < 0 || l.pad > LOAD_MAX_PAD ||
        sscanf(url, "http://%63[^:]:%d", l.host, &l.port) != 2 ||
        config_parse_redis_url(redis, &ra) != 0)
        usage();
    log_init("sse-load", LOG_LEVEL_WARN);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(l.clients + 64);
    l.addr.sin_family = AF_INET;
    l.addr.sin_port = htons((unsigned short)l.port);
    if (inet_pton(AF_INET, l.host, &l.addr.sin_addr) != 1)
        usage();
    {
        /* The stack's Redis wants its password: from RUNWATCH_REDIS_PASSWORD_FILE, or the
         * stack's own file under RUNWATCH_VAR_DIR (never a command-line argument). */
        const char *pwf = getenv("RUNWATCH_REDIS_PASSWORD_FILE"), *var = getenv("RUNWATCH_VAR_DIR");
        char path[600], err[256];

        if (!pwf || !*pwf) {
            snprintf(path, sizeof(path), "%s/run/redis.password", var && *var ? var : "var");
            pwf = path;
        }
        if (config_read_secret(pwf, 1, "RUNWATCH_REDIS_PASSWORD_FILE", ra.password,
                               sizeof(ra.password), err, sizeof(err)) != 0) {
            fprintf(stderr, "sse-load: %s\n", err);
            return 2;
        }
    }
    pub_init(&l.pub, &ra);
    l.conns = calloc((size_t)l.clients, sizeof(*l.conns));
    l.base = event_base_new();
    if (!l.conns || !l.base)
        return 2;
    for (int i = 0; l.run && i < LOAD_PRODUCERS; i++) {
        l.producers[i].load = &l;
        l.producers[i].evcon =
            evhttp_connection_base_new(l.base, NULL, l.host, (unsigned short)l.port);
        if (!l.producers[i].evcon)
            return 2;
        evhttp_connection_set_timeout(l.producers[i].evcon, 60);
    }
    for (int i = 0; i < l.clients; i++)
        l.conns[i].load = &l;
    for (int i = 0; i < l.n_rss; i++) {
        l.rss_before[i] = rss_kb(l.rss_pids[i]);
        printf("rss_before_kb.%d %ld\n", (int)l.rss_pids[i], l.rss_before[i]);
    }
    l.tick = event_new(l.base, -1, EV_PERSIST, on_tick, &l);
    event_add(l.tick, &tick);
    event_base_dispatch(l.base);

    qsort(l.lat_us, l.n_lat, sizeof(*l.lat_us), cmp_u32);
    printf("clients %d\nstreaming %d\nfailed %d\nclosed_early %d\n", l.clients, l.streaming,
           l.failed, l.closed_early);
    if (l.run) {
        uint64_t frames = 0;
        for (int i = 0; i < l.clients; i++)
            frames += l.conns[i].frames;
        expected = l.posts_ok * (uint64_t)l.clients;
        printf("viewer %s\nposted %llu\npost_failed %llu\nevents_expected %llu\n"
               "events_received %llu\nframes_received %llu\nframe_bytes_avg %.0f\n"
               "frames_truncated %llu\nfetches %llu\nfetch_failed %llu\n",
               l.fetch_mode ? "fetch" : "frame", (unsigned long long)l.posts_ok,
               (unsigned long long)l.posts_failed, (unsigned long long)expected,
               (unsigned long long)l.received, (unsigned long long)frames,
               frames ? (double)l.frame_bytes / (double)frames : 0.0,
               (unsigned long long)l.truncated, (unsigned long long)l.fetches,
               (unsigned long long)l.fetch_failed);
        /* Requests the viewers made while the producer ran: what they cost the API. */
        printf("fetches_per_s %.1f\n", l.seconds ? (double)l.fetches_in_window / l.seconds : 0.0);
        printf("posts_per_s %.1f\npost_ms_mean %.3f\n",
               l.seconds ? (double)l.posts_ok / l.seconds : 0.0,
               l.posts_ok ? (double)l.post_rtt_ns / (double)(l.posts_ok + l.posts_failed) / 1e6
                          : 0.0);
        printf("events_per_s %.0f\n", l.seconds ? (double)l.received / l.seconds : 0.0);
        /* A fetch after the log's newest id misses a batch that committed after a newer
         * one (the producer's POSTs run in parallel): the "fetch" viewer loses those. */
        printf("events_missed %llu\n",
               (unsigned long long)(expected > l.received ? expected - l.received : 0));
        if (l.posts_failed || l.fetch_failed || l.post_inflight ||
            (!l.fetch_mode && l.received != expected))
            rc = 1;
    } else {
        expected = l.published * (uint64_t)l.clients;
        printf("published %llu\npublish_failed %llu\nframes_expected %llu\nframes_received "
               "%llu\n",
               (unsigned long long)l.published, (unsigned long long)l.publish_failed,
               (unsigned long long)expected, (unsigned long long)l.received);
        printf("frames_per_s %.0f\nframe_bytes_avg %.0f\n",
               l.seconds ? (double)l.received / l.seconds : 0.0,
               l.received ? (double)l.frame_bytes / (double)l.received : 0.0);
    }
    printf("latency_p50_ms %.3f\nlatency_p90_ms %.3f\nlatency_p99_ms %.3f\nlatency_max_ms %.3f\n",
           pct_ms(&l, 0.50), pct_ms(&l, 0.90), pct_ms(&l, 0.99), pct_ms(&l, 1.0));
    printf("keepalives %llu\n", (unsigned long long)l.keepalives);
    if (l.failed || l.closed_early || (!l.run && l.received != expected) || l.publish_failed)
        rc = 1;
    for (int i = 0; i < l.clients; i++) {
        if (l.conns[i].bev)
            bufferevent_free(l.conns[i].bev);
        if (l.conns[i].api)
            evhttp_connection_free(l.conns[i].api);
    }
    for (int i = 0; i < LOAD_PRODUCERS; i++)
        if (l.producers[i].evcon)
            evhttp_connection_free(l.producers[i].evcon);
    event_free(l.tick);
    event_base_free(l.base);
    pub_fini(&l.pub);
    free(l.conns);
    free(l.lat_us);
    return rc;
}
