/* runs: the unit of work producers report, and its state machine. */
#ifndef RW_API_RUNS_H
#define RW_API_RUNS_H

#include <libpq-fe.h>

#include "db_stmt.h"
#include "req.h"

int runs_create(struct req *r);
int runs_list(struct req *r);
int runs_get(struct req *r);
int runs_update(struct req *r);
int runs_heartbeat(struct req *r);
int runs_cancel(struct req *r);
/* POST /runs/wait: answers when all the runs have ended or the timeout passes. */
int runs_wait(struct req *r);

#define RUNS_WAIT_MAX_S   30
#define RUNS_WAIT_MAX_IDS 100

/* How runs_access() reads the run named in the path. */
enum runs_read {
    RUNS_READ_JSON,   /* *first is the run's JSON (for answering with the run) */
    RUNS_READ_STATUS, /* *first is its status; no JSON is built, no lock is taken */
    RUNS_LOCK_STATUS, /* the same with the row locked FOR UPDATE (inside a transaction) */
};

/* Looks up the run named in the path and checks the caller's role on its project.
 * Fills the project and *first (see enum runs_read). Sets 404 for a malformed id, a
 * missing run, or a run of a project the caller cannot see. */
struct access_project;
int runs_access(struct req *r, int min_role, enum runs_read how, struct access_project *proj,
                const char **first);

/* The hot producer writes (events, metrics, heartbeats) in one autocommitted statement
 * that checks access itself: its parameters are the run of the path, the identity's
 * three (access_write_params) and then `extra` ones; column 0 of its one row is the
 * run's project id, NULL (or no row) when the caller may not write to the run
 * (run_writable, sql/functions/20_runs.sql). Then runs_access
 * explains (404 or 403) and NULL is returned, as on any error. One round trip instead
 * of BEGIN, two lookups, the write and COMMIT. */
PGresult *runs_write(struct req *r, enum db_stmt_id stmt, const char *const *extra, int nextra);
/* The same write handed to group_write (with `group` set it may join the worker's group
 * commit): then() gets its result and starts with runs_write_check. Returns as group_write
 * does. */
int runs_write_then(struct req *r, int group, enum db_stmt_id stmt, const char *const *extra,
                    int nextra, req_then_fn then);
/* 0 when res (NULL: the statement was never run) says the caller could write to the run;
 * else runs_access explains (404 or 403) and -1 is returned. */
int runs_write_check(struct req *r, PGresult *res);

/* Idempotency-Key (runs, and a run's event and metric batches): 0 with *key NULL when none
 * was sent or the key; -1 with a 400 naming the header when it is not 1 to 200 bytes. */
/* tags of body: an array of 0..50 non-empty strings of at most 100 bytes, as JSON text in
 * *out (left alone when absent); else a 4xx naming tags. */
int runs_check_tags(struct req *r, json_object *body, const char **out);
/* s for LIKE: % _ and \ from the user are literal. NULL when the arena is out of memory. */
const char *runs_like_escape(struct arena *a, const char *s);
int runs_idempotency_key(struct req *r, const char **key);
/* What a keyed batch answers when its statement stored nothing because the key was used
 * before: the first answer's count, first_id and last_id (the latter two NULL for metrics).
 * `known` says the statement saw the key's row (then *prior and `same`, "t" when the batch
 * is the same one, are its columns); else a duplicate committed after its snapshot and the
 * row is read again. -1 with the error set: 422 when the key came with another batch. */
struct runs_prior {
    const char *count, *first_id, *last_id;
};
int runs_batch_prior(struct req *r, const char *kind, const char *key, const char *body, int known,
                     const char *same, struct runs_prior *prior);
#define RUNS_WRITE_MAX_EXTRA 4
#define RUNS_WRITE_NFIXED    4 /* the run and the identity's three, before `extra` */

#endif
