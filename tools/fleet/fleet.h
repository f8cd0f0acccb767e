/* fleet: the fleet simulator (`make demo`, tests/bench/fleet.sh). A submitter thread
 * enqueues runs; one thread per simulated worker claims them and reports heartbeats,
 * events, metrics and outcomes over the producer API, as a real fleet would. Every
 * request is counted by HTTP status, so the same program is a load generator.
 * Modules: http (one libcurl handle per thread, counting), catalog (what runs say and
 * how they fail), sim (the worker and submitter threads), launcher (--launcher: an
 * external launcher of experiments), fleet (options, signals, summary). */
#ifndef RW_FLEET_H
#define RW_FLEET_H

#include <curl/curl.h>
#include <pthread.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdint.h>

struct fleet_opts {
    const char *url;    /* base URL, no trailing slash */
    const char *token;  /* project token with the write scope */
    const char *prefix; /* worker names start with it */
    int workers;
    double rate;        /* runs a second the submitter enqueues; 0 = as fast as drained */
    double duration;    /* seconds; 0 = until SIGINT or SIGTERM */
    int step_ms;        /* pause between two steps of a run */
    int max_steps;      /* cap on a run's steps; 0 = its kind's own range */
    int backlog;        /* the submitter waits while this many of its runs are queued */
    int poll_ms;        /* an idle worker's pause after an empty claim */
    int lease_s;        /* claim lease; a run not beaten for this long is reclaimed */
    double fail_rate;   /* share of attempts that fail */
    double cancel_rate; /* share of created runs the submitter later cancels */
    uint64_t seed;
    int quiet;
    int launcher; /* --launcher: also an external launcher of experiments (launcher.c) */
    int flip_s;   /* the simulated user flips a demo experiment this often; 0 = never */
};

enum fleet_counter {
    FLEET_RUNS_CREATED,
    FLEET_RUNS_CLAIMED,
    FLEET_RUNS_SUCCEEDED,
    FLEET_RUNS_FAILED,
    FLEET_RUNS_RETRIED,
    FLEET_RUNS_CANCELLED,
    FLEET_RUNS_ABANDONED,
    FLEET_RUNS_INTERRUPTED,
    FLEET_GROUPS,
    FLEET_EVENTS,
    FLEET_METRIC_POINTS,
    FLEET_WORKERS,
    FLEET_REQUESTS,
    FLEET_TRANSPORT_ERRORS,
    FLEET_EXP_LAUNCHED,
    FLEET_EXP_STOPPED,
    FLEET_EXP_TERMINATED,
    FLEET_EXP_CLAIMS_LOST,
    FLEET__COUNT,
};

struct fleet_stats {
    atomic_long n[FLEET__COUNT];
    atomic_long status[600]; /* responses by HTTP status */
    atomic_long backlog;     /* our runs queued now, as far as we know */
    atomic_int metrics_unsupported;
};

/* ---- http: one client per thread (a libcurl easy handle keeps its connection) ---- */

struct http {
    CURL *curl;
    struct curl_slist *headers;
    const char *base;
    struct fleet_stats *stats;
    char *buf;
    size_t len, cap;
    char url[1024];
};

int http_init(struct http *h, const char *base, const char *token, struct fleet_stats *st);
void http_fini(struct http *h);
/* Sends `method base+path` with body (not consumed; NULL for none) and an optional extra
 * header line. Returns the HTTP status, or -1 when no answer came. With out set, *out
 * gets the parsed JSON answer (the caller puts it) or NULL. */
long http_call(struct http *h, const char *method, const char *path, json_object *body,
               const char *header, json_object **out);

/* ---- catalog: the content of simulated runs ---- */

/* xorshift64*: each thread owns its state. */
uint64_t catalog_rand(uint64_t *s);
double catalog_unit(uint64_t *s);               /* [0, 1) */
int catalog_range(uint64_t *s, int lo, int hi); /* [lo, hi] */

enum catalog_kind {
    CATALOG_TRAIN,
    CATALOG_EVAL,
    CATALOG_ETL,
    CATALOG_ROLLOUT,
    CATALOG__KINDS,
};

extern const char *const catalog_kind_names[CATALOG__KINDS];
int catalog_kind_of(const char *name); /* -1 when unknown */
const char *catalog_queue_of(int kind);
void catalog_steps(int kind, int *lo, int *hi);

/* A new run's create body: kind, name, queue, priority, tags, params, input. */
json_object *catalog_run_body(uint64_t *s, int kind);

/* What a run writes at step `step` of `steps`: events (an array) and metric points. `seed`
 * is per run, so a run's curves are smooth across steps. */
json_object *catalog_events(uint64_t *s, int kind, int step, int steps);
json_object *catalog_metrics(uint64_t *s, int kind, uint64_t seed, int step, int steps);
/* Adds a pipeline stage's points to a (docs/ARCHITECTURE.md, "Pipelines"): pipeline/throughput,
 * pipeline/lag, pipeline/backpressure and per partition pipeline/partition/<p>/throughput
 * and /lag. Train is the slow stage (its upstream backs up); partition 0 runs hot. */
void catalog_pipeline_metrics(json_object *a, uint64_t *s, int kind, int step);
/* A run's result and summary once it succeeded. */
json_object *catalog_result(uint64_t *s, int kind);

/* A realistic failure for a kind: {"type", "message", "traceback"}; *retryable says
 * whether a real worker would try again. */
json_object *catalog_error(uint64_t *s, int kind, int *retryable);

/* A worker's resource sample for its heartbeat. */
json_object *catalog_resources(uint64_t *s, int gpu, int busy);

/* ---- sim: the threads ---- */

struct sim {
    const struct fleet_opts *o;
    struct fleet_stats *st;
    atomic_int stop;
    atomic_int live;  /* threads still running */
    atomic_int fatal; /* the server refused us (token, scope): nothing can work */
    struct sim_worker *workers;
    struct sim_submitter *submitter;
};

/* Starts the submitter and o->workers workers; returns -1 (nothing left running) when a
 * thread could not be created. */
int sim_start(struct sim *sim);
/* Joins every thread (after sim->stop is set). */
void sim_join(struct sim *sim);

/* ---- launcher: --launcher, one thread honouring experiments' desired state ---- */

#define LAUNCHER_MAX_EXP 64

struct launcher {
    struct sim *sim;
    struct http h;
    uint64_t rng;
    char name[128];
    long long ids[LAUNCHER_MAX_EXP]; /* the demo experiments the simulated user flips */
    int n;
    pthread_t th;
    int started;
};

/* Starts the launcher thread (counted in sim->live); -1 when it could not. */
int launcher_start(struct launcher *l, struct sim *sim);
void launcher_join(struct launcher *l);

#endif
