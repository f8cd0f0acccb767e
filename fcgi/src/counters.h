/* counters: the API's Prometheus counters, kept in one shared memory segment because
 * workers are separate exec'd processes. The master creates the segment (a memfd) and
 * passes it to every worker, which maps it and closes the descriptor, so a worker holds
 * no extra descriptor. Each worker adds to one slot with relaxed atomic adds; a scrape,
 * in whichever worker nginx picks, sums the slots. A restarted worker keeps adding to a
 * slot that outlives it, so every counter only grows while the master lives. Without a
 * segment (a worker started by hand, the unit tests) every call is a no-op. */
#ifndef RW_COUNTERS_H
#define RW_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct route;

/* Latency buckets of the request histogram, in seconds (+Inf is the count). */
#define COUNTERS_BUCKETS 13
extern const double counters_bucket_le[COUNTERS_BUCKETS];
/* 2xx 3xx 4xx 5xx (nothing answers 1xx). */
#define COUNTERS_CLASSES 4

enum counters_scalar {
    COUNTERS_EVENTS_STORED,
    COUNTERS_METRIC_POINTS_STORED,
    COUNTERS_PUB_PUBLISHED,
    COUNTERS_PUB_DROPPED,
    COUNTERS_DB_UNAVAILABLE,        /* connect failed or the connection was lost */
    COUNTERS_DB_TIMEOUT,            /* statement_timeout */
    COUNTERS_DB_RETRY,              /* serialization failure or deadlock */
    COUNTERS_DB_INTERNAL,           /* any other error the API answers with a 500 */
    COUNTERS_AUTH_CACHE_HIT,        /* identities answered from a worker's cache (idcache.c) */
    COUNTERS_AUTH_CACHE_MISS,       /* identities the cache could not answer: looked up in SQL */
    COUNTERS_WRITE_BATCHES,         /* groups of writes committed as one transaction (serve.c) */
    COUNTERS_WRITE_BATCHED,         /* requests whose write was in such a group */
    COUNTERS_WRITE_BATCH_FALLBACKS, /* groups not committed: their writes ran one by one */
    COUNTERS_WRITE_MERGED,          /* writes of such groups done by another's statement */
    COUNTERS_REPORT_REFUSED,        /* ad-hoc queries refused with 429 (the concurrency caps) */
    COUNTERS_LIST_WHOLE,            /* run list pages read whole (runs.c) */
    COUNTERS_LIST_PROBED,           /* run list pages made from a probe (runcache.h) */
    COUNTERS_LIST_REREAD,           /* probed pages read whole again: a run changed meanwhile */
    COUNTERS_LIST_RUNS_CACHED,      /* runs of probed pages written from the cache */
    COUNTERS_LIST_RUNS_READ,        /* runs of probed pages read by id */
    COUNTERS__COUNT,
};

/* Slots beyond this are shared by workers (the adds are atomic, so that is safe). */
#define COUNTERS_MAX_SLOTS 64

/* The master: creates a segment with nslots worker slots and returns its descriptor
 * (close-on-exec), or -1 (logged; the API then runs without shared counters). */
int counters_create(int nslots);
/* The master, after each fork: how many worker processes were ever started. */
void counters_note_spawn(void);

/* A worker: maps the segment named by RUNWATCH_COUNTERS_FD, closes that descriptor,
 * takes slot RUNWATCH_COUNTERS_SLOT and registers the routing table's names. Returns 0,
 * or -1 (logged) when there is no usable segment; counting is then off. */
int counters_attach(const struct route *table, size_t n);
void counters_detach(void);

void counters_add(enum counters_scalar k, uint64_t n);
/* One answered request: rt is the matched route of the table given to attach (NULL
 * when none matched), status the HTTP status, seconds from first byte to response. */
void counters_request(const struct route *rt, int status, double seconds);
/* Maps a db_err code ("unavailable", "timeout", "retry", "internal") to its counter. */
void counters_db_error(const char *code);

/* The identity epoch every worker shares: a worker whose own transaction changed an
 * identity (it sees its own runwatch_ident notification with the COMMIT's answer) bumps
 * it before answering, and every worker empties its identity cache when it moves, so the
 * change holds on the very next request, whichever worker takes it (db.c, access.c).
 * 0 without a segment. */
void counters_ident_bump(void);
uint64_t counters_ident_epoch(void);

/* Report admission (ad-hoc SQL): at most global_cap queries run at once in all workers,
 * and per_user_cap of one identity (who: a user id, or minus a token id). Returns 0 and
 * holds *seat until counters_report_leave(*seat), or COUNTERS_REPORT_GLOBAL / _PER_USER
 * with *running the queries holding the cap that refused. Always admits without a
 * segment (*seat -1). */
#define COUNTERS_REPORT_SEATS    256
#define COUNTERS_REPORT_GLOBAL   1
#define COUNTERS_REPORT_PER_USER 2
int counters_report_enter(int64_t who, int global_cap, int per_user_cap, int *running, int *seat);
void counters_report_leave(int seat);
/* The master: a reaped worker's seats are free at once. */
void counters_report_forget(int pid);
/* Queries holding a seat now (the gauge). */
int counters_report_running(void);

/* Writes in hand, per worker (the master's worker-table index, RUNWATCH_COUNTERS_SEAT):
 * a worker counts a request that may commit and publish from before its handler runs
 * until it is answered, which is after its publish was handed to Redis. A worker that
 * dies with a count above zero may have committed a change live viewers never hear of,
 * so the master, reaping it, tells every stream to refetch (master.c). Two relaxed
 * stores a request to the worker's own cache line; no lock, no system call. */
#define COUNTERS_WORKER_SEATS 512
void counters_write_begin(void);
void counters_write_end(void);
/* The master: the count seat `seat` was left with, zeroed for the next worker there. */
uint32_t counters_write_take(int seat);

/* ---- reading (the scrape) ---- */

struct counters_hist {
    uint64_t bucket[COUNTERS_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;
    uint64_t sum_us;
};

/* 1 when a segment is mapped. */
int counters_enabled(void);
/* Number of route names registered (by every binary that attached since the master
 * started), and the method and pattern of name i ("*", "unmatched" for no route). */
size_t counters_routes(void);
void counters_route_name(size_t i, const char **method, const char **pattern);
/* Sums over every slot. */
uint64_t counters_total(enum counters_scalar k);
void counters_route_total(size_t i, int class_idx, struct counters_hist *out);
uint64_t counters_worker_starts(void);
/* When the master created the segment (Unix seconds): counters restart from zero then. */
int64_t counters_created_at(void);

#endif
