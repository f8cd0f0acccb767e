/* db: the worker's PostgreSQL connection (and, for the built-in reports, a second one on
 * a streaming replica: db_read). It connects lazily, prepares every statement of
 * sql/statements (the generated db_stmt.h) on each new connection, and after losing the
 * server it reconnects on the next unit of work; work during an outage fails as
 * unavailable (503 with Retry-After for a request), never a crash.
 * Callers use db_exec on a struct op and never call libpq; nothing here knows HTTP. */
#ifndef RW_DB_H
#define RW_DB_H

#include <libpq-fe.h>
#include <stdint.h>
#include <time.h>

#include "db_stmt.h"
#include "op.h"

struct config;

struct db {
    PGconn *conn;
    const char *conninfo;
    int in_tx;     /* a transaction is open: a lost connection must not be retried silently */
    int wait_slot; /* the wait slot held (db_wait_begin), else 0 */
    /* The identity cache's side (db_ident_*): LISTEN runwatch_ident on every connection
     * once asked; the epoch advances on every identity notification and every connect or
     * loss, since notifications may have been missed while there was no connection. */
    int ident_listen;     /* wanted: every new connection LISTENs */
    int ident_listening;  /* this connection LISTENs */
    int backend_pid;      /* the server process of this connection: its own notifications */
    uint64_t ident_epoch; /* this worker's part of db_ident_epoch */
    /* The identities this connection's own commits changed, space-separated, not yet
     * taken by db_revoked_take (malloc'd, NULL when none); revoked_all when they did not
     * fit DB_REVOKED_MAX. */
    char *revoked;
    size_t revoked_len, revoked_cap;
    int revoked_all;
    /* The built-in reports' replica connection (db_read), not the primary: its outage is
     * the replica's (logged as such, not counted as a database error), and after a
     * failed connect it is not tried again before retry_at, so an unreachable replica
     * costs one connect timeout per worker per DB_READ_RETRY_S, not one per report. */
    int replica;
    time_t retry_at;
    /* The seam for unit tests: when set, db_exec asks it instead of a server. It returns
     * a result it made (PQmakeEmptyPGresult…), which db_exec then owns, or NULL for a
     * database that cannot be reached. Never set outside tests/unit. */
    PGresult *(*fake_exec)(void *ctx, enum db_stmt_id id, const char *const *params, int nparams);
    void *fake_ctx;
};

void db_init(struct db *db, const char *conninfo);
/* Also closes this process's db_read and db_report connections. */
void db_fini(struct db *db);

/* The built-in reports' connection: RUNWATCH_READ_DATABASE_URL, a streaming replica
 * logged in as the main role, where every statement of the API's connection is
 * prepared as on the primary. One per process, connected by its first db_exec; NULL
 * when the setting is empty (the reports read the primary). A caller that finds it
 * unavailable reads the primary instead (api/reports.c). */
#define DB_READ_RETRY_S 5
struct db *db_read(const struct config *cfg);

/* Runs a prepared statement on o's connection. The result is owned by o's arena. On
 * failure returns NULL with the classified error set in o. nparams must equal the
 * statement's count (checked: a mismatch is an internal error, never a read past the
 * array). Use DB_EXEC with an array so the count is the array's. */
PGresult *db_exec(struct op *o, enum db_stmt_id id, const char *const *params, int nparams);
/* The same with some parameters in binary (formats[i] 1, lengths[i] their byte count):
 * bytes for a bytea (an upload) go as they are, not as twice their size in hex text, and
 * a span batch's columns as arrays the server reads without parsing text (api/spans.c). */
PGresult *db_exec_bin(struct op *o, enum db_stmt_id id, const char *const *params,
                      const int *lengths, const int *formats, int nparams);
#define DB_EXEC(o, id, params)                                                                     \
    db_exec((o), (id), (params), (int)(sizeof(params) / sizeof((params)[0])))
/* The group commit (serve.c): n prepared statements, each for its own op, as one
 * transaction in one round trip (libpq's pipeline: BEGIN, the statements, COMMIT, one
 * sync). */
struct db_batch_item {
    enum db_stmt_id stmt;
    const char *const *params;
    int nparams;
    struct op *op; /* whose arena owns the result */
    PGresult *res; /* set when the group committed */
};
enum db_batch_outcome {
    DB_BATCH_COMMITTED, /* every statement succeeded and COMMIT did: each res is set */
    /* Nothing was committed (a statement or the COMMIT failed, or nothing could be sent,
     * or there is no server to batch on, as under a fake): run each again alone. */
    DB_BATCH_FAILED,
    /* The connection was lost after the COMMIT went out: whether it committed is unknown,
     * so no statement may run again; each op has the unavailable error. */
    DB_BATCH_LOST,
};
#define DB_BATCH_MAX 32 /* statements a group holds at most */
/* n is 1 to DB_BATCH_MAX. Results and errors go to each item's op, as db_exec's. */
enum db_batch_outcome db_batch(struct db *db, struct db_batch_item *items, int n);
int db_begin(struct op *o);
int db_commit(struct op *o);
/* Safe to call when no transaction is open; used on every failure path. */
void db_rollback(struct db *db);

/* Starts waiting for runs to end (POST /runs/wait), outside any transaction: takes one
 * of `slots` wait slots, so waiters never hold every worker, and LISTENs for run ends.
 * Returns 1 when waiting, 0 when every slot is busy, -1 with o's error set. The
 * handler calls db_wait_end before it answers: the client may send its next wait the
 * moment the answer arrives, and must find the slot free. (The arena's reset ends a
 * wait a failed handler left, after the answer.) */
int db_wait_begin(struct op *o, int slots);
void db_wait_end(struct db *db);
/* After db_wait_begin: 1 with the notification's payload (arena copy) when one comes
 * within timeout_ms, 0 when the time passes, -1 with o's error set. */
int db_notify_wait(struct op *o, long timeout_ms, const char **payload);

/* The identity cache's invalidation (access.c). db_ident_poll asks that this and every
 * later connection LISTEN on runwatch_ident (sql/functions/15_identity.sql), reads what
 * the server has sent without waiting, and answers 1 when a connection is up and
 * listening, so that a cache synced to db_ident_epoch may be trusted; 0 otherwise (no
 * connection yet, or it was found broken and dropped: the next statement reconnects).
 * Notifications are read wherever libpq receives them: after every statement here and
 * in db_notify_wait, so neither the cache nor a run wait takes the other's. An identity
 * change committed on this connection (its own notification, which comes with the
 * COMMIT's answer) also bumps the epoch all workers share (counters_ident_bump) before
 * the handler answers. */
int db_ident_poll(struct db *db);
/* This worker's notifications and (re)connects, plus the shared epoch: it changes
 * whenever a cache synced to it may be stale. */
uint64_t db_ident_epoch(const struct db *db);

/* The identities ("token:7 session:12 user:5", or "*" for too many to list) whose changes
 * this connection committed since the last call, for the live hub to end their streams
 * (pub_revoked); NULL when there are none. The text stays valid until the next statement. */
#define DB_REVOKED_MAX 65536
const char *db_revoked_take(struct db *db);

/* For readiness: 0 when the server answers a query, else -1 with a reason. */
int db_ping(struct db *db, char *err, size_t errlen);

#endif
