/* sim: the simulated fleet, one thread per worker plus a submitter.
 * - A worker registers, claims from its queue, and walks each run through its steps:
 *   events, metric points and a heartbeat per step (the heartbeat's answer tells it of a
 *   cancel). Each attempt's fate is drawn when it starts: succeed, fail (retrying in
 *   place as a new attempt, or back to the queue for any worker, when the error is
 *   worth retrying) or crash silently, leaving the lease to lapse.
 * - The submitter enqueues single runs and parent/child groups (sweeps, pipelines) at
 *   the asked rate while the backlog allows, cancels a few, and closes each group's
 *   parent once its children have ended.
 * - On stop, workers stop without finishing what they hold: the server marks those runs
 *   interrupted, as it would for a real worker taken down. Open parents are cancelled.
 * A failed request never stops a thread: it backs off and carries on, because a real
 * producer rides out a restart of the server. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"

#define SIM_MAX_GROUPS    16
#define SIM_MAX_CANCELS   64
#define SIM_WORKER_BEAT_S 5.0
#define SIM_MAX_ATTEMPTS  3

struct sim_worker {
    struct sim *sim;
    int index;
    int gpu;   /* a GPU node (train, eval, rollout on "gpu") or a CPU node ("cpu") */
    int every; /* the only worker: both queues, every kind */
    char name[96];
    long long id;
    struct http h;
    uint64_t rng;
    double last_beat;
    pthread_t th;
    int started;
};

struct sim_group {
    char parent[40];
    int children;
    double next_check;
};

struct sim_cancel {
    char id[40];
    double at;
};

struct sim_submitter {
    struct sim *sim;
    struct http h;
    uint64_t rng;
    long created;
    long long started_at;
    struct sim_group groups[SIM_MAX_GROUPS];
    int ngroups;
    struct sim_cancel cancels[SIM_MAX_CANCELS];
    int ncancels;
    pthread_t th;
    int started;
};

static double sim_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sim_stopping(const struct sim *sim)
{
    return atomic_load(&sim->stop) != 0;
}

/* Sleeps, waking early for a stop; returns nonzero when stopping. */
static int sim_sleep(struct sim *sim, int ms)
{
    while (ms > 0 && !sim_stopping(sim)) {
        int slice = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return sim_stopping(sim);
}

static void sim_count(struct sim *sim, enum fleet_counter c, long by)
{
    atomic_fetch_add(&sim->st->n[c], by);
}

/* Never below zero: claims of runs queued before this fleet started do not count. */
static void sim_backlog(struct sim *sim, long by)
{
    long cur = atomic_load(&sim->st->backlog);
    while (!atomic_compare_exchange_weak(&sim->st->backlog, &cur, cur + by < 0 ? 0 : cur + by))
        ;
}

static int sim_ok(long st)
{
    return st >= 200 && st < 300;
}

/* After an answer that says the server is away or failing: a short pause before the next
 * try, so a restarting server is not hammered. */
static void sim_backoff(struct sim *sim, long st)
{
    if (st < 0 || st >= 500)
        sim_sleep(sim, 1000);
}

static const char *jget_str(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static long long jget_int(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void copy_id(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ---------------------------------------------------------------- workers */

static json_object *worker_kinds(const struct sim_worker *w)
{
    json_object *k = json_object_new_array();
    for (int i = 0; i < CATALOG__KINDS; i++) {
        int gpu_kind = i != CATALOG_ETL, cpu_kind = i == CATALOG_ETL || i == CATALOG_EVAL;
        if (w->every || (w->gpu ? gpu_kind : cpu_kind))
            json_object_array_add(k, json_object_new_string(catalog_kind_names[i]));
    }
    return k;
}

static int worker_register(struct sim_worker *w)
{
    char host[160];
    json_object *b = json_object_new_object(), *labels = json_object_new_object(), *out;
    int rc = -1;

    snprintf(host, sizeof(host), "%s.cluster.internal", w->name);
    json_object_object_add(b, "name", json_object_new_string(w->name));
    json_object_object_add(b, "host", json_object_new_string(host));
    json_object_object_add(b, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(labels, "zone",
                           json_object_new_string(w->index % 2 ? "us-east-1b" : "us-east-1a"));
    json_object_object_add(labels, "accelerator",
                           json_object_new_string(w->gpu || w->every ? "A100-80GB" : "none"));
    json_object_object_add(labels, "simulated", json_object_new_string("true"));
    json_object_object_add(b, "labels", labels);
    json_object_object_add(b, "kinds", worker_kinds(w));
    while (!sim_stopping(w->sim)) {
        long st = http_call(&w->h, "POST", "/api/v1/workers", b, NULL, &out);
        if (sim_ok(st) && jget_int(out, "id") > 0) {
            w->id = jget_int(out, "id");
            w->last_beat = sim_now();
            json_object_put(out);
            rc = 0;
            break;
        }
        json_object_put(out);
        if (st >= 400 && st < 500) {
            fprintf(stderr, "fleet: %s: registering answered %ld; this worker gives up\n", w->name,
                    st);
            atomic_store(&w->sim->fatal, 1);
            break;
        }
        sim_sleep(w->sim, 1000);
    }
    json_object_put(b);
    return rc;
}

/* The worker's own heartbeat, at most every few seconds; a worker the server has marked
 * stopped registers again (a new session on the same row). */
static void worker_beat(struct sim_worker *w, int busy)
{
    char path[128];
    double now = sim_now();

    if (now - w->last_beat < SIM_WORKER_BEAT_S)
        return;
    w->last_beat = now;
    json_object *b = json_object_new_object();
    json_object_object_add(b, "status", json_object_new_string(busy ? "busy" : "idle"));
    json_object_object_add(b, "resources", catalog_resources(&w->rng, w->gpu || w->every, busy));
    snprintf(path, sizeof(path), "/api/v1/workers/%lld/heartbeat", w->id);
    long st = http_call(&w->h, "POST", path, b, NULL, NULL);
    json_object_put(b);
    if (st == 409)
        worker_register(w);
}

/* A call on one of the run's resources: /api/v1/runs/{run}{suffix}. */
static long worker_post(struct sim_worker *w, const char *method, const char *run,
                        const char *suffix, json_object *body, json_object **out)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/runs/%s%s", run, suffix);
    return http_call(&w->h, method, path, body, NULL, out);
}

/* Posts one event (an object) or a batch ({"events": [...]}) of n, counting them once
 * stored. */
static long worker_post_events(struct sim_worker *w, const char *run, json_object *body, long n)
{
    long st = worker_post(w, "POST", run, "/events", body, NULL);
    if (sim_ok(st))
        sim_count(w->sim, FLEET_EVENTS, n);
    return st;
}

/* Sends a step's events: a lone event alone half the time, otherwise as a batch. */
static long worker_events(struct sim_worker *w, const char *run, json_object *events)
{
    size_t n = json_object_array_length(events);
    json_object *b;
    long st;

    if (n == 0)
        return 201;
    if (n == 1 && catalog_unit(&w->rng) < 0.5) {
        b = json_object_get(json_object_array_get_idx(events, 0));
    } else {
        b = json_object_new_object();
        json_object_object_add(b, "events", json_object_get(events));
    }
    st = worker_post_events(w, run, b, (long)n);
    json_object_put(b);
    return st;
}

/* Until the server has a metrics endpoint, a 404 there means "not supported": the fleet
 * says so once and carries on without metrics. */
static long worker_metrics(struct sim_worker *w, const char *run, json_object *points)
{
    if (atomic_load(&w->sim->st->metrics_unsupported))
        return 201;
    json_object *b = json_object_new_object();
    size_t n = json_object_array_length(points);
    json_object_object_add(b, "metrics", json_object_get(points));
    long st = worker_post(w, "POST", run, "/metrics", b, NULL);
    json_object_put(b);
    if (sim_ok(st)) {
        sim_count(w->sim, FLEET_METRIC_POINTS, (long)n);
    } else if (st == 404) {
        if (atomic_exchange(&w->sim->st->metrics_unsupported, 1) == 0)
            fprintf(stderr, "fleet: this server has no metrics endpoint (404); going on without "
                            "metrics\n");
        return 201;
    }
    return st;
}

enum step_end {
    STEP_GO_ON,
    STEP_CANCELLED, /* reported cancelled on request */
    STEP_LOST,      /* the run is no longer ours: ended elsewhere, or the server failed */
};

/* One step of a run: events, metrics, the run's heartbeat (which may ask to cancel). */
static enum step_end worker_step(struct sim_worker *w, const char *run, int kind, int seq,
                                 uint64_t seed, int step, int steps, int stage)
{
    json_object *ev = catalog_events(&w->rng, kind, step, steps), *out = NULL;
    long st;

    if (step == 1) {
        char msg[160];
        json_object *e = json_object_new_object();
        snprintf(msg, sizeof(msg), "attempt %d started on %s", seq, w->name);
        json_object_object_add(e, "kind", json_object_new_string("stage"));
        json_object_object_add(e, "message", json_object_new_string(msg));
        json_object_array_add(ev, e);
    }
    st = worker_events(w, run, ev);
    json_object_put(ev);
    if (!sim_ok(st))
        goto lost;
    json_object *pts = catalog_metrics(&w->rng, kind, seed, step, steps);
    if (stage)
        catalog_pipeline_metrics(pts, &w->rng, kind, step);
    st = worker_metrics(w, run, pts);
    json_object_put(pts);
    if (!sim_ok(st))
        goto lost;
    json_object *hb = json_object_new_object();
    json_object_object_add(hb, "progress", json_object_new_double((double)step / steps));
    /* Naming the attempt: a beat after the run moved on (our lease lapsed and another
     * claim took it) is refused with 409 instead of renewing someone else's lease. */
    json_object_object_add(hb, "attempt", json_object_new_int(seq));
    st = worker_post(w, "POST", run, "/heartbeat", hb, &out);
    json_object_put(hb);
    if (!sim_ok(st))
        goto lost;
    json_object *cr;
    int cancel =
        json_object_object_get_ex(out, "cancel_requested", &cr) && json_object_get_boolean(cr);
    const char *status = jget_str(out, "status");
    int running = status && strcmp(status, "running") == 0;
    json_object_put(out);
    out = NULL;
    if (!running)
        goto lost; /* its lease lapsed and someone else has it, or it ended */
    if (cancel) {
        json_object *b = json_object_new_object(), *e = json_object_new_object();
        json_object_object_add(e, "level", json_object_new_string("warning"));
        json_object_object_add(e, "message", json_object_new_string("cancel requested; stopping"));
        worker_post_events(w, run, e, 1);
        json_object_put(e);
        json_object_object_add(b, "status", json_object_new_string("cancelled"));
        st = worker_post(w, "PATCH", run, "", b, NULL);
        json_object_put(b);
        if (sim_ok(st))
            sim_count(w->sim, FLEET_RUNS_CANCELLED, 1);
        return STEP_CANCELLED;
    }
    worker_beat(w, 1);
    return STEP_GO_ON;
lost:
    json_object_put(out);
    sim_backoff(w->sim, st);
    return STEP_LOST;
}

/* Ends a failed attempt. Returns the new attempt's number when the worker retries in
 * place, 0 when the run is done with here (failed, sent back to the queue, cancelled). */
static int worker_fail(struct sim_worker *w, const char *run, int kind, int seq)
{
    char path[256], msg[600];
    int retryable = 0, next = 0;
    json_object *err = catalog_error(&w->rng, kind, &retryable), *out = NULL;
    int retry = retryable && seq < SIM_MAX_ATTEMPTS && catalog_unit(&w->rng) < 0.8;
    json_object *e = json_object_new_object(), *b = json_object_new_object();

    snprintf(msg, sizeof(msg), "%s: %s", jget_str(err, "type"), jget_str(err, "message"));
    json_object_object_add(e, "level", json_object_new_string("error"));
    json_object_object_add(e, "message", json_object_new_string(msg));
    worker_post_events(w, run, e, 1);
    json_object_put(e);

    json_object_object_add(b, "status", json_object_new_string("failed"));
    json_object_object_add(b, "retry", json_object_new_boolean(retry));
    json_object_object_add(b, "error", err);
    snprintf(path, sizeof(path), "/api/v1/runs/%s/attempts/%d", run, seq);
    long st = http_call(&w->h, "PATCH", path, b, NULL, &out);
    json_object_put(b);
    const char *status = sim_ok(st) ? jget_str(out, "status") : NULL;
    if (!status) {
        sim_backoff(w->sim, st);
    } else if (strcmp(status, "failed") == 0) {
        sim_count(w->sim, FLEET_RUNS_FAILED, 1);
    } else if (strcmp(status, "cancelled") == 0) {
        sim_count(w->sim, FLEET_RUNS_CANCELLED, 1); /* a cancel asked for wins over a retry */
    } else if (strcmp(status, "retrying") == 0) {
        sim_count(w->sim, FLEET_RUNS_RETRIED, 1);
        json_object_put(out);
        out = NULL;
        if (catalog_unit(&w->rng) < 0.5) {
            /* Back to the queue: any worker may take the next attempt. */
            b = json_object_new_object();
            json_object_object_add(b, "status", json_object_new_string("queued"));
            st = worker_post(w, "PATCH", run, "", b, NULL);
            json_object_put(b);
            if (sim_ok(st))
                sim_backlog(w->sim, 1);
        } else {
            /* Retry here at once, as a new attempt holding a new lease. */
            b = json_object_new_object();
            json_object_object_add(b, "worker_id", json_object_new_int64(w->id));
            json_object_object_add(b, "lease_s", json_object_new_int(w->sim->o->lease_s));
            st = worker_post(w, "POST", run, "/attempts", b, &out);
            json_object_put(b);
            json_object *la;
            if (sim_ok(st) && json_object_object_get_ex(out, "latest_attempt", &la))
                next = (int)jget_int(la, "seq");
        }
    }
    json_object_put(out);
    return next;
}

static void worker_succeed(struct sim_worker *w, const char *run, int kind)
{
    json_object *b = catalog_result(&w->rng, kind), *e = json_object_new_object();

    json_object_object_add(e, "kind", json_object_new_string("stage"));
    json_object_object_add(e, "message", json_object_new_string("finished"));
    worker_post_events(w, run, e, 1);
    json_object_put(e);
    json_object_object_add(b, "status", json_object_new_string("succeeded"));
    long st = worker_post(w, "PATCH", run, "", b, NULL);
    json_object_put(b);
    if (sim_ok(st))
        sim_count(w->sim, FLEET_RUNS_SUCCEEDED, 1);
    else
        sim_backoff(w->sim, st);
}

/* Works a claimed run through its attempts until it ends here or the fleet stops. */
static void worker_run(struct sim_worker *w, json_object *claimed)
{
    const struct fleet_opts *o = w->sim->o;
    char run[40];
    json_object *la = NULL;
    int kind = catalog_kind_of(jget_str(claimed, "kind"));
    int seq =
        json_object_object_get_ex(claimed, "latest_attempt", &la) ? (int)jget_int(la, "seq") : 0;

    copy_id(run, sizeof(run), jget_str(claimed, "id"));
    if (kind < 0 || seq < 1 || !run[0])
        return; /* not one of ours: its lease will lapse */
    /* A pipeline's stage (tagged so by the submitter) reports the pipeline/ metrics. */
    int stage = 0;
    json_object *tags;
    if (json_object_object_get_ex(claimed, "tags", &tags) &&
        json_object_is_type(tags, json_type_array))
        for (size_t i = 0; i < json_object_array_length(tags); i++)
            stage |=
                strcmp(json_object_get_string(json_object_array_get_idx(tags, i)), "pipeline") == 0;
    while (seq > 0) {
        int lo, hi;
        catalog_steps(kind, &lo, &hi);
        int steps = catalog_range(&w->rng, lo, hi);
        if (o->max_steps > 0 && steps > o->max_steps)
            steps = o->max_steps;
        int fail_at = catalog_unit(&w->rng) < o->fail_rate ? catalog_range(&w->rng, 1, steps) : 0;
        int crash_at =
            !fail_at && catalog_unit(&w->rng) < 0.01 ? catalog_range(&w->rng, 1, steps) : 0;
        uint64_t seed = catalog_rand(&w->rng);
        int step;
        for (step = 1; step <= steps; step++) {
            if ((o->step_ms > 0 && sim_sleep(w->sim, o->step_ms)) || sim_stopping(w->sim)) {
                sim_count(w->sim, FLEET_RUNS_INTERRUPTED, 1);
                return;
            }
            if (step == crash_at) {
                sim_count(w->sim, FLEET_RUNS_ABANDONED, 1);
                return;
            }
            enum step_end end = worker_step(w, run, kind, seq, seed, step, steps, stage);
            if (end == STEP_LOST)
                sim_count(w->sim, FLEET_RUNS_ABANDONED, 1);
            if (end != STEP_GO_ON)
                return;
            if (step == fail_at)
                break;
        }
        if (!fail_at) {
            worker_succeed(w, run, kind);
            return;
        }
        seq = worker_fail(w, run, kind, seq);
    }
}

/* Claims from the worker's queues in turn: 200 with a run, 204 when all are empty. */
static long worker_claim(struct sim_worker *w, json_object **run)
{
    static const char *const gpu_q[] = {"gpu", NULL}, *const cpu_q[] = {"cpu", NULL},
                             *const all_q[] = {"gpu", "cpu", NULL};
    const char *const *qs = w->every ? all_q : w->gpu ? gpu_q : cpu_q;
    char path[128];
    long st = 204;

    *run = NULL;
    for (int i = 0; qs[i] && !sim_stopping(w->sim); i++) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "worker_id", json_object_new_int64(w->id));
        json_object_object_add(b, "lease_s", json_object_new_int(w->sim->o->lease_s));
        json_object_object_add(b, "kinds", worker_kinds(w));
        snprintf(path, sizeof(path), "/api/v1/queues/%s/claim", qs[i]);
        st = http_call(&w->h, "POST", path, b, NULL, run);
        json_object_put(b);
        if (st == 200 && *run)
            return 200;
        json_object_put(*run);
        *run = NULL;
        if (st == 409) /* the server stopped this worker (an operator did): start again */
            worker_register(w);
        if (st != 204)
            return st;
    }
    return st;
}

static void *worker_main(void *arg)
{
    struct sim_worker *w = arg;
    struct sim *sim = w->sim;

    if (worker_register(w) == 0) {
        sim_count(sim, FLEET_WORKERS, 1);
        while (!sim_stopping(sim)) {
            json_object *run;
            worker_beat(w, 0);
            long st = worker_claim(w, &run);
            if (run) {
                sim_count(sim, FLEET_RUNS_CLAIMED, 1);
                sim_backlog(sim, -1);
                worker_run(w, run);
                json_object_put(run);
                continue;
            }
            if (st < 0 || st >= 500)
                sim_backoff(sim, st);
            else
                sim_sleep(sim, sim->o->poll_ms);
        }
        /* Runs still held are left to the server: it marks them interrupted. */
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/workers/%lld/stop", w->id);
        http_call(&w->h, "POST", path, NULL, NULL, NULL);
    }
    atomic_fetch_sub(&sim->live, 1);
    return NULL;
}

/* ---------------------------------------------------------------- submitter */

/* Creates a run; *id gets its id. A few creates are sent twice with the same
 * Idempotency-Key, as a producer does after a timeout: the second answer is the same run. */
static long submit_run(struct sim_submitter *s, json_object *body, char *id, size_t cap)
{
    char key[128];
    json_object *out = NULL;
    long st;

    snprintf(key, sizeof(key), "Idempotency-Key: fleet-%lld-%d-%ld", s->started_at, (int)getpid(),
             ++s->created);
    st = http_call(&s->h, "POST", "/api/v1/runs", body, key, &out);
    if (sim_ok(st) && catalog_unit(&s->rng) < 0.02) {
        json_object_put(out);
        st = http_call(&s->h, "POST", "/api/v1/runs", body, key, &out);
    }
    copy_id(id, cap, sim_ok(st) ? jget_str(out, "id") : NULL);
    if (sim_ok(st) && id[0]) {
        const char *status = jget_str(out, "status");
        sim_count(s->sim, FLEET_RUNS_CREATED, 1);
        if (status && strcmp(status, "queued") == 0)
            sim_backlog(s->sim, 1);
    } else {
        id[0] = '\0';
        sim_backoff(s->sim, st);
    }
    json_object_put(out);
    return st;
}

static void submit_cancel_later(struct sim_submitter *s, const char *id)
{
    const struct fleet_opts *o = s->sim->o;
    if (s->ncancels == SIM_MAX_CANCELS || catalog_unit(&s->rng) >= o->cancel_rate)
        return;
    struct sim_cancel *c = &s->cancels[s->ncancels++];
    copy_id(c->id, sizeof(c->id), id);
    c->at = sim_now() + 0.5 + catalog_unit(&s->rng) * (1 + 20.0 * o->step_ms / 1000.0);
}

static int submit_pick_kind(struct sim_submitter *s)
{
    double u = catalog_unit(&s->rng);
    return u < 0.35   ? CATALOG_TRAIN
           : u < 0.6  ? CATALOG_EVAL
           : u < 0.85 ? CATALOG_ETL
                      : CATALOG_ROLLOUT;
}

static void submit_single(struct sim_submitter *s)
{
    char id[40];
    json_object *b = catalog_run_body(&s->rng, submit_pick_kind(s));
    submit_run(s, b, id, sizeof(id));
    json_object_put(b);
    if (id[0])
        submit_cancel_later(s, id);
}

/* A parent run an orchestrator holds (created running, never queued) and its children:
 * a hyper-parameter sweep of training runs, or an ETL → train → eval pipeline. */
static void submit_group(struct sim_submitter *s)
{
    int sweep = catalog_unit(&s->rng) < 0.7;
    int n = sweep ? catalog_range(&s->rng, 3, 5) : 3;
    char group[40], name[160], pid[40], cid[40], path[128];
    json_object *p = json_object_new_object(), *tags = json_object_new_array();
    json_object *params = json_object_new_object();

    snprintf(group, sizeof(group), "%s-%08llx", sweep ? "sweep" : "pipeline",
             (unsigned long long)(catalog_rand(&s->rng) & 0xffffffffu));
    snprintf(name, sizeof(name), sweep ? "lr sweep %s (%d trials)" : "nightly pipeline %s",
             group + (sweep ? 6 : 9), n);
    json_object_object_add(p, "kind", json_object_new_string(sweep ? "sweep" : "pipeline"));
    json_object_object_add(p, "name", json_object_new_string(name));
    json_object_object_add(p, "queue", json_object_new_string("orchestrator"));
    json_object_object_add(p, "status", json_object_new_string("running"));
    json_object_object_add(p, "group_id", json_object_new_string(group));
    json_object_array_add(tags, json_object_new_string(sweep ? "sweep" : "pipeline"));
    json_object_object_add(p, "tags", tags);
    json_object_object_add(params, "children", json_object_new_int(n));
    json_object_object_add(p, "params", params);
    submit_run(s, p, pid, sizeof(pid));
    json_object_put(p);
    if (!pid[0])
        return;
    sim_count(s->sim, FLEET_GROUPS, 1);
    int made = 0;
    for (int i = 0; i < n && !sim_stopping(s->sim); i++) {
        int kind = sweep ? CATALOG_TRAIN : (int[]){CATALOG_ETL, CATALOG_TRAIN, CATALOG_EVAL}[i];
        json_object *c = catalog_run_body(&s->rng, kind), *ct;
        json_object_object_add(c, "parent_id", json_object_new_string(pid));
        json_object_object_add(c, "group_id", json_object_new_string(group));
        /* A pipeline's stages wait for the one before (run_deps: the graph's stage DAG). */
        if (!sweep && i > 0 && cid[0]) {
            json_object *deps = json_object_new_array();
            json_object_array_add(deps, json_object_new_string(cid));
            json_object_object_add(c, "depends_on", deps);
        }
        if (json_object_object_get_ex(c, "tags", &ct))
            json_object_array_add(ct, json_object_new_string(sweep ? "sweep" : "pipeline"));
        submit_run(s, c, cid, sizeof(cid));
        json_object_put(c);
        made += cid[0] != '\0';
    }
    json_object *e = json_object_new_object();
    snprintf(name, sizeof(name), "launched %d child runs", made);
    json_object_object_add(e, "kind", json_object_new_string("stage"));
    json_object_object_add(e, "message", json_object_new_string(name));
    snprintf(path, sizeof(path), "/api/v1/runs/%s/events", pid);
    if (sim_ok(http_call(&s->h, "POST", path, e, NULL, NULL)))
        sim_count(s->sim, FLEET_EVENTS, 1);
    json_object_put(e);
    struct sim_group *g = &s->groups[s->ngroups++];
    copy_id(g->parent, sizeof(g->parent), pid);
    g->children = made;
    g->next_check = sim_now() + 1;
}

/* A parent ends once every child has: failed if any child failed. Until then it beats,
 * with the share of ended children as its progress. Returns 1 when the group is closed. */
static int submit_check_group(struct sim_submitter *s, struct sim_group *g)
{
    char path[160];
    json_object *out = NULL, *items;
    int ended = 0, failed = 0, closed = 0;

    snprintf(path, sizeof(path), "/api/v1/runs?parent=%s&limit=100", g->parent);
    long st = http_call(&s->h, "GET", path, NULL, NULL, &out);
    if (!sim_ok(st) || !json_object_object_get_ex(out, "items", &items)) {
        json_object_put(out);
        sim_backoff(s->sim, st);
        return 0;
    }
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        const char *status = jget_str(json_object_array_get_idx(items, i), "status");
        if (!status)
            continue;
        failed += strcmp(status, "failed") == 0;
        ended += strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
                 strcmp(status, "cancelled") == 0;
    }
    json_object_put(out);
    json_object *b = json_object_new_object();
    if (ended >= g->children) {
        json_object *sum = json_object_new_object();
        json_object_object_add(sum, "children", json_object_new_int(g->children));
        json_object_object_add(sum, "failed_children", json_object_new_int(failed));
        json_object_object_add(b, "summary", sum);
        json_object_object_add(b, "status",
                               json_object_new_string(failed ? "failed" : "succeeded"));
        if (failed) {
            char msg[96];
            json_object *err = json_object_new_object();
            snprintf(msg, sizeof(msg), "%d of %d child runs failed", failed, g->children);
            json_object_object_add(err, "type", json_object_new_string("ChildRunFailed"));
            json_object_object_add(err, "message", json_object_new_string(msg));
            json_object_object_add(b, "error", err);
        }
        snprintf(path, sizeof(path), "/api/v1/runs/%s", g->parent);
        st = http_call(&s->h, "PATCH", path, b, NULL, NULL);
        if (sim_ok(st)) {
            sim_count(s->sim, failed ? FLEET_RUNS_FAILED : FLEET_RUNS_SUCCEEDED, 1);
            closed = 1;
        } else if (st == 409 || st == 404) {
            closed = 1; /* someone else ended it (a cancel from the dashboard) */
        }
    } else {
        json_object_object_add(
            b, "progress", json_object_new_double(g->children ? (double)ended / g->children : 1));
        snprintf(path, sizeof(path), "/api/v1/runs/%s/heartbeat", g->parent);
        http_call(&s->h, "POST", path, b, NULL, NULL);
    }
    json_object_put(b);
    return closed;
}

static void submit_due_cancels(struct sim_submitter *s, double now)
{
    char path[128];
    for (int i = 0; i < s->ncancels;) {
        if (s->cancels[i].at > now) {
            i++;
            continue;
        }
        json_object *out = NULL;
        snprintf(path, sizeof(path), "/api/v1/runs/%s/cancel", s->cancels[i].id);
        long st = http_call(&s->h, "POST", path, NULL, NULL, &out);
        const char *status = sim_ok(st) ? jget_str(out, "status") : NULL;
        /* A queued run ends at once; a running one ends when its worker next beats. */
        if (status && strcmp(status, "cancelled") == 0) {
            sim_count(s->sim, FLEET_RUNS_CANCELLED, 1);
            sim_backlog(s->sim, -1);
        }
        json_object_put(out);
        s->cancels[i] = s->cancels[--s->ncancels];
    }
}

static void submit_close_groups(struct sim_submitter *s)
{
    char path[128];
    for (int i = 0; i < s->ngroups; i++) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "status", json_object_new_string("cancelled"));
        snprintf(path, sizeof(path), "/api/v1/runs/%s", s->groups[i].parent);
        http_call(&s->h, "PATCH", path, b, NULL, NULL);
        json_object_put(b);
    }
    s->ngroups = 0;
}

static void *submitter_main(void *arg)
{
    struct sim_submitter *s = arg;
    struct sim *sim = s->sim;
    const struct fleet_opts *o = sim->o;
    double tokens = 1, last = sim_now();

    while (!sim_stopping(sim)) {
        double now = sim_now();
        submit_due_cancels(s, now);
        for (int i = 0; i < s->ngroups; i++) {
            if (s->groups[i].next_check > now)
                continue;
            s->groups[i].next_check = now + 2;
            if (submit_check_group(s, &s->groups[i]))
                s->groups[i--] = s->groups[--s->ngroups];
        }
        if (o->rate > 0) {
            double cap = o->rate > 1 ? o->rate : 1;
            tokens += (now - last) * o->rate;
            if (tokens > cap)
                tokens = cap;
        }
        last = now;
        if (atomic_load(&sim->st->backlog) >= o->backlog || (o->rate > 0 && tokens < 1)) {
            int wait = o->rate > 0 && tokens < 1 ? (int)((1 - tokens) / o->rate * 1000) + 1 : 20;
            sim_sleep(sim, wait < 100 ? wait : 100);
            continue;
        }
        tokens -= 1;
        if (s->ngroups < SIM_MAX_GROUPS && catalog_unit(&s->rng) < 0.07)
            submit_group(s);
        else
            submit_single(s);
    }
    submit_close_groups(s);
    atomic_fetch_sub(&sim->live, 1);
    return NULL;
}

/* ---------------------------------------------------------------- start and join */

int sim_start(struct sim *sim)
{
    const struct fleet_opts *o = sim->o;
    struct sim_worker *ws = calloc((size_t)o->workers, sizeof(*ws));
    struct sim_submitter *s = calloc(1, sizeof(*s));

    sim->workers = ws;
    sim->submitter = s;
    if (!ws || !s)
        goto fail;
    s->sim = sim;
    s->rng = o->seed * 0x9E3779B97F4A7C15ull + 1;
    s->started_at = (long long)time(NULL);
    if (http_init(&s->h, o->url, o->token, sim->st))
        goto fail;
    for (int i = 0; i < o->workers; i++) {
        struct sim_worker *w = &ws[i];
        w->sim = sim;
        w->index = i;
        w->every = o->workers == 1;
        w->gpu = i % 2 == 0;
        w->rng = o->seed * 0x9E3779B97F4A7C15ull + 2 + (uint64_t)i;
        snprintf(w->name, sizeof(w->name), "%s%s-%02d", o->prefix,
                 w->gpu || w->every ? "gpu" : "cpu", i / 2 + 1);
        if (http_init(&w->h, o->url, o->token, sim->st))
            goto fail;
    }
    atomic_store(&sim->live, 1);
    if (pthread_create(&s->th, NULL, submitter_main, s) != 0) {
        atomic_store(&sim->live, 0);
        goto fail;
    }
    s->started = 1;
    for (int i = 0; i < o->workers; i++) {
        atomic_fetch_add(&sim->live, 1);
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
            atomic_fetch_sub(&sim->live, 1);
            fprintf(stderr, "fleet: could not start worker thread %d\n", i);
            atomic_store(&sim->stop, 1);
            sim_join(sim);
            return -1;
        }
        ws[i].started = 1;
    }
    return 0;
fail:
    fprintf(stderr, "fleet: could not set up the fleet (out of memory?)\n");
    atomic_store(&sim->stop, 1);
    sim_join(sim);
    return -1;
}

void sim_join(struct sim *sim)
{
    struct sim_worker *ws = sim->workers;
    struct sim_submitter *s = sim->submitter;

    for (int i = 0; ws && i < sim->o->workers; i++) {
        if (ws[i].started)
            pthread_join(ws[i].th, NULL);
        http_fini(&ws[i].h);
    }
    if (s) {
        if (s->started)
            pthread_join(s->th, NULL);
        http_fini(&s->h);
    }
    free(ws);
    free(s);
    sim->workers = NULL;
    sim->submitter = NULL;
}
