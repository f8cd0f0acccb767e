/* db: connection management. A dead connection is noticed when a statement fails
 * with CONNECTION_BAD; outside a transaction the statement is retried once on a new
 * connection, so the first request after a PostgreSQL restart succeeds. Inside a
 * transaction the work fails as unavailable: its earlier statements are gone.
 * Notifications: one connection carries two channels, runwatch_ident (always, while the
 * identity cache is on) and runwatch_run_ended (during a run wait). Whoever reads them
 * passes each through db_ident_note, so identity changes are never lost to a wait and a
 * wait's run ends are never dropped by the identity side. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "config.h"
#include "counters.h"
#include "db_err.h"
#include "db_report.h"
#include "log.h"

void db_init(struct db *db, const char *conninfo)
{
    db->conn = NULL;
    db->conninfo = conninfo;
    db->in_tx = 0;
    db->wait_slot = 0;
    db->ident_listen = 0;
    db->ident_listening = 0;
    db->backend_pid = 0;
    db->ident_epoch = 0;
    db->revoked = NULL;
    db->revoked_len = db->revoked_cap = 0;
    db->revoked_all = 0;
    db->replica = 0;
    db->retry_at = 0;
    db->fake_exec = NULL;
    db->fake_ctx = NULL;
}

static struct db db_read_db;
static int db_read_ready;

struct db *db_read(const struct config *cfg)
{
    if (!cfg->read_database_url[0])
        return NULL;
    if (!db_read_ready) {
        db_init(&db_read_db, cfg->read_database_url);
        db_read_db.replica = 1;
        db_read_ready = 1;
    }
    return &db_read_db;
}

static void db_close(struct db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    free(db->revoked);
    db->revoked = NULL;
}

void db_fini(struct db *db)
{
    db_close(db);
    if (db_read_ready && db != &db_read_db) {
        db_close(&db_read_db);
        db_read_ready = 0;
    }
    db_report_fini(); /* the ad-hoc SQL connection, when one was opened */
}

static void db_drop(struct db *db)
{
    if (db->conn) {
        PQfinish(db->conn);
        db->ident_epoch++; /* what was announced until the next LISTEN is lost */
    }
    db->conn = NULL;
    db->in_tx = 0;
    db->ident_listening = 0;
}

/* The channel of sql/functions/15_identity.sql (LISTENed by the listen_ident statement). */
#define DB_IDENT_CHANNEL "runwatch_ident"

/* Keeps who (a notification's payload) for db_revoked_take. Past DB_REVOKED_MAX the list
 * gives way to "everyone": a stream ended for nothing reconnects, one left open is not. */
static void db_revoked_add(struct db *db, const char *who)
{
    size_t n = strlen(who);

    if (db->revoked_all || n == 0)
        return;
    if (db->revoked_len + n + 2 > db->revoked_cap) {
        size_t cap = db->revoked_cap ? db->revoked_cap * 2 : 256;
        char *grown;

        while (cap < db->revoked_len + n + 2)
            cap *= 2;
        if (cap > DB_REVOKED_MAX || !(grown = realloc(db->revoked, cap))) {
            db->revoked_all = 1;
            return;
        }
        db->revoked = grown;
        db->revoked_cap = cap;
    }
    if (db->revoked_len)
        db->revoked[db->revoked_len++] = ' ';
    memcpy(db->revoked + db->revoked_len, who, n + 1);
    db->revoked_len += n;
}

const char *db_revoked_take(struct db *db)
{
    if (db->revoked_all) {
        db->revoked_all = 0;
        db->revoked_len = 0;
        return "*";
    }
    if (!db->revoked_len)
        return NULL;
    db->revoked_len = 0; /* the text stays in place until the next add */
    return db->revoked;
}

/* 1 when n announces an identity change, which it then accounts for: this worker's
 * caches are stale, and when this very connection committed it, every worker's, and the
 * live hub is to end that identity's streams (db_revoked_take). */
static int db_ident_note(struct db *db, const PGnotify *n)
{
    if (strcmp(n->relname, DB_IDENT_CHANNEL) != 0)
        return 0;
    db->ident_epoch++;
    if (n->be_pid == db->backend_pid) {
        counters_ident_bump();
        db_revoked_add(db, n->extra);
    }
    log_debug("identity change (%s): cached identities dropped", n->extra);
    return 1;
}

/* Takes every notification libpq has read. Outside a wait, a run end is a leftover of
 * an ended one (db_wait_end unlistens), so it is dropped; during a wait nothing is taken
 * here: db_notify_wait reads them in order. */
static void db_notifies(struct db *db)
{
    PGnotify *n;

    if (db->wait_slot)
        return;
    while (db->conn && (n = PQnotifies(db->conn))) {
        db_ident_note(db, n);
        PQfreemem(n);
    }
}

/* The statement's result columns, as the server describes them, must be its declared
 * outputs, name for name: callers read columns by the generated <NAME>_<COLUMN> indexes,
 * so a statement edited without its "-- out:" line fails here, at connect, not as a
 * wrong value later. It adds a round trip a statement to each connect (docs/SQL.md). */
static int db_check_columns(PGconn *c, const struct db_stmt *s, char *err, size_t errlen)
{
    PGresult *d = PQdescribePrepared(c, s->name);
    int ok = PQresultStatus(d) == PGRES_COMMAND_OK;
    int n = ok ? PQnfields(d) : 0;

    if (!ok) {
        snprintf(err, errlen, "describe %s: %s", s->name, PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
    } else if (n != s->ncols) {
        snprintf(err, errlen, "statement %s (%s) answers %d columns but declares %d", s->name,
                 s->where, n, s->ncols);
        ok = 0;
    } else {
        for (int i = 0; i < n && ok; i++) {
            if (strcmp(PQfname(d, i), s->cols[i]) != 0) {
                snprintf(err, errlen,
                         "statement %s (%s) answers column %d as \"%s\" but declares \"%s\"",
                         s->name, s->where, i + 1, PQfname(d, i), s->cols[i]);
                ok = 0;
            }
        }
    }
    PQclear(d);
    return ok ? 0 : -1;
}

/* Connects, prepares all statements of the API's connection and checks their columns;
 * -1 with err on failure. */
static int db_connect(struct db *db, char *err, size_t errlen)
{
    /* Ours come before dbname so that settings in the operator's URL win. */
    const char *const keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
    /* Plan caching stays PostgreSQL's default (auto). Forcing custom plans for the
     * optional-filter list statements made every statement re-plan on every call and
     * halved write throughput (docs/PERFORMANCE.md, 2026-11-24). */
    const char *const vals[] = {"3", "runwatch-api", "-c TimeZone=UTC -c statement_timeout=30000",
                                db->conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", c ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        if (c)
            PQfinish(c);
        return -1;
    }
    for (int i = 0; i < DB_STMT__COUNT; i++) {
        if (db_stmts[i].connection)
            continue; /* another connection's statement (migrate.c, db_report.c) */
        PGresult *res = PQprepare(c, db_stmts[i].name, db_stmts[i].sql, db_stmts[i].nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "prepare %s (%s): %s", db_stmts[i].name, db_stmts[i].where,
                     PQerrorMessage(c));
            err[strcspn(err, "\n")] = '\0';
            PQclear(res);
            PQfinish(c);
            return -1;
        }
        PQclear(res);
        if (db_check_columns(c, &db_stmts[i], err, errlen) != 0) {
            PQfinish(c);
            return -1;
        }
    }
    if (db->ident_listen) {
        PGresult *res =
            PQexecPrepared(c, db_stmts[DB_STMT_LISTEN_IDENT].name, 0, NULL, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            snprintf(err, errlen, "listen for identity changes: %s", PQerrorMessage(c));
            err[strcspn(err, "\n")] = '\0';
            PQfinish(c);
            return -1;
        }
    }
    db->conn = c;
    db->in_tx = 0;
    db->ident_listening = db->ident_listen;
    db->backend_pid = PQbackendPID(c);
    db->ident_epoch++; /* a new connection: nothing announced before it is known */
    log_info("connected to %s (server %d)", db->replica ? "the read replica" : "postgresql",
             PQserverVersion(c));
    return 0;
}

static void db_clear(void *res)
{
    PQclear(res);
}

static int db_unavailable(struct op *o, const char *why)
{
    if (o->db->replica) {
        log_warn("read replica unavailable: %s", why);
    } else {
        log_warn("database unavailable: %s", why);
        counters_db_error("unavailable");
    }
    op_fail(o, OP_UNAVAILABLE, "unavailable", NULL, "database unavailable");
    if (o->err.kind == OP_UNAVAILABLE && o->err.retry_after == 0)
        o->err.retry_after = 1;
    return -1;
}

/* The fake's answer in place of the server's (unit tests): NULL is an unreachable
 * database, as a connection that cannot be made. */
static PGresult *db_exec_fake(struct op *o, enum db_stmt_id id, const char *const *params)
{
    PGresult *res = o->db->fake_exec(o->db->fake_ctx, id, params, db_stmts[id].nparams);
    if (!res)
        db_unavailable(o, "the fake database is down");
    return res;
}

static PGresult *db_exec_full(struct op *o, enum db_stmt_id id, const char *const *params,
                              const int *lengths, const int *formats, int nparams)
{
    struct db *db = o->db;
    char err[256];
    PGresult *res = NULL;
    ExecStatusType st;

    if (nparams != db_stmts[id].nparams) {
        log_error("statement %s takes %d parameters, given %d", db_stmts[id].name,
                  db_stmts[id].nparams, nparams);
        op_fail(o, OP_INTERNAL, "internal", NULL, "internal error");
        return NULL;
    }

    if (db->fake_exec && !(res = db_exec_fake(o, id, params)))
        return NULL;
    for (int attempt = 0; attempt < 2 && !db->fake_exec; attempt++) {
        if (!db->conn && db->replica && time(NULL) < db->retry_at) {
            db_unavailable(o, "a recent connect failed");
            return NULL;
        }
        if (!db->conn && db_connect(db, err, sizeof(err)) != 0) {
            if (db->replica)
                db->retry_at = time(NULL) + DB_READ_RETRY_S;
            db_unavailable(o, err);
            return NULL;
        }
        /* Parameters go as text; a "-- format: binary" statement's columns come back in
         * binary, which the server makes without its text output functions. */
        res = PQexecPrepared(db->conn, db_stmts[id].name, db_stmts[id].nparams, params, lengths,
                             formats, db_stmts[id].binary);
        if (PQstatus(db->conn) != CONNECTION_BAD)
            break;
        /* The server went away (restart, failover). Retry once if nothing is lost. */
        int was_in_tx = db->in_tx;
        PQclear(res);
        res = NULL;
        db_drop(db);
        if (was_in_tx || attempt == 1) {
            db_unavailable(o, "connection lost");
            return NULL;
        }
        log_info("postgresql connection lost, reconnecting");
    }
    if (!db->fake_exec)
        db_notifies(db);
    if (arena_defer(o->arena, db_clear, res) != 0) {
        PQclear(res);
        op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
        return NULL;
    }
    st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;

    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    struct db_err_map m = db_err_classify(sqlstate);
    const char *msg = PQresultErrorMessage(res);
    /* The store's own 500s (AG500: "Rollout X not found") are a client's miss, not a fault. */
    int ours = (m.kind == OP_INTERNAL || m.kind == OP_UNAVAILABLE) && !m.server_text;
    if (ours) {
        counters_db_error(m.code);
        log_error("statement %s failed: sqlstate=%s %.*s", db_stmts[id].name,
                  sqlstate ? sqlstate : "-", (int)strcspn(msg, "\n"), msg);
    } else {
        log_debug("statement %s rejected: sqlstate=%s", db_stmts[id].name, sqlstate);
    }
    if (o->err.kind != OP_OK)
        return NULL; /* an earlier error stands, details and all */
    if (m.server_text) {
        /* Our own SQLSTATEs: the server's message is written for clients. */
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
                   *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        op_fail(o, m.kind, m.code, PQresultErrorField(res, PG_DIAG_COLUMN_NAME), "%s",
                primary ? primary : m.message);
        if (detail)
            op_details(o, json_tokener_parse(detail));
    } else {
        op_fail(o, m.kind, m.code, NULL, "%s", m.message);
    }
    o->err.retry_after = m.retry_after;
    if (sqlstate)
        snprintf(o->err.sqlstate, sizeof(o->err.sqlstate), "%s", sqlstate);
    return NULL;
}

PGresult *db_exec(struct op *o, enum db_stmt_id id, const char *const *params, int nparams)
{
    return db_exec_full(o, id, params, NULL, NULL, nparams);
}

PGresult *db_exec_bin(struct op *o, enum db_stmt_id id, const char *const *params,
                      const int *lengths, const int *formats, int nparams)
{
    return db_exec_full(o, id, params, lengths, formats, nparams);
}

/* A connection that broke while idle (a server restart) has said so already: its socket
 * is readable with the server's farewell or the end. Dropped here, the group goes to a
 * new connection instead of failing as lost. */
static void db_drop_if_closed(struct db *db)
{
    struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
    if (poll(&pfd, 1, 0) == 1 &&
        (!PQconsumeInput(db->conn) || PQstatus(db->conn) == CONNECTION_BAD))
        db_drop(db);
    else
        db_notifies(db);
}

/* Sends what libpq holds, reading meanwhile whatever the server answers (into libpq's
 * buffer), so that neither side can block on a full socket: the statements' answers may
 * exceed the socket's buffer before all the statements are sent. 0, or -1 when lost. */
static int db_batch_flush(PGconn *c)
{
    int f;
    while ((f = PQflush(c)) == 1) {
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN | POLLOUT};
        int rc = poll(&pfd, 1, 30000);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(c))
            return -1;
    }
    return f == 0 ? 0 : -1;
}

/* The answer of one queued statement (then the NULL that ends it); NULL when the
 * connection failed. */
static PGresult *db_batch_result(PGconn *c)
{
    PGresult *res = PQgetResult(c), *extra;
    if (!res)
        return NULL;
    while ((extra = PQgetResult(c)))
        PQclear(extra);
    return res;
}

enum db_batch_outcome db_batch(struct db *db, struct db_batch_item *it, int n)
{
    char err[256];
    PGconn *c;
    int ok = 1, sent = 0, failed = -1;
    const int total = n + 2; /* BEGIN, the statements, COMMIT */
    PGresult *res[2 + DB_BATCH_MAX];

    if (db->fake_exec || db->in_tx || n < 1 || n > DB_BATCH_MAX)
        return DB_BATCH_FAILED;
    if (db->conn)
        db_drop_if_closed(db);
    if (!db->conn && db_connect(db, err, sizeof(err)) != 0)
        return DB_BATCH_FAILED; /* each statement alone meets the outage and says so */
    c = db->conn;
    memset(res, 0, sizeof(res));
    if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) {
        PQsetnonblocking(c, 0);
        return DB_BATCH_FAILED;
    }
    ok = PQsendQueryPrepared(c, db_stmts[DB_STMT_BEGIN].name, 0, NULL, NULL, NULL, 0);
    for (int i = 0; i < n && ok; i++)
        ok = it[i].nparams == db_stmts[it[i].stmt].nparams &&
             PQsendQueryPrepared(c, db_stmts[it[i].stmt].name, it[i].nparams, it[i].params, NULL,
                                 NULL, 0);
    /* COMMIT is queued last: if the group breaks before it is, nothing can commit. */
    sent = ok && PQsendQueryPrepared(c, db_stmts[DB_STMT_COMMIT].name, 0, NULL, NULL, NULL, 0);
    ok = sent && PQpipelineSync(c) == 1 && db_batch_flush(c) == 0;
    PQsetnonblocking(c, 0);
    for (int i = 0; i < total && ok; i++) {
        if (!(res[i] = db_batch_result(c))) {
            ok = 0;
        } else if (failed < 0 && PQresultStatus(res[i]) != PGRES_COMMAND_OK &&
                   PQresultStatus(res[i]) != PGRES_TUPLES_OK) {
            failed = i;
        }
    }
    if (ok) {
        PGresult *sync = PQgetResult(c);
        ok = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
        PQclear(sync);
    }
    if (ok)
        ok = PQexitPipelineMode(c) == 1;
    if (!ok || PQstatus(c) == CONNECTION_BAD) {
        for (int i = 0; i < total; i++)
            PQclear(res[i]);
        log_warn("postgresql connection lost during a group of %d writes", n);
        db_drop(db);
        if (!sent)
            return DB_BATCH_FAILED;
        for (int i = 0; i < n; i++)
            db_unavailable(it[i].op, "connection lost during a group commit");
        return DB_BATCH_LOST;
    }
    db_notifies(db);
    if (failed >= 0) {
        const char *sqlstate = PQresultErrorField(res[failed], PG_DIAG_SQLSTATE);
        log_debug("group of %d writes failed at %d (sqlstate=%s): each runs alone", n, failed,
                  sqlstate ? sqlstate : "-");
        for (int i = 0; i < total; i++)
            PQclear(res[i]);
        db->in_tx = 1; /* a failed statement leaves the transaction open and aborted */
        db_rollback(db);
        return DB_BATCH_FAILED;
    }
    PQclear(res[0]);
    PQclear(res[total - 1]);
    for (int i = 0; i < n; i++) {
        it[i].res = res[i + 1];
        if (arena_defer(it[i].op->arena, db_clear, it[i].res) != 0) {
            it[i].res = NULL; /* arena_defer cleared it: committed, but cannot be told */
            op_fail(it[i].op, OP_INTERNAL, "internal", NULL, "out of memory");
        }
    }
    return DB_BATCH_COMMITTED;
}

int db_begin(struct op *o)
{
    if (!db_exec(o, DB_STMT_BEGIN, NULL, 0))
        return -1;
    o->db->in_tx = 1;
    return 0;
}

int db_commit(struct op *o)
{
    PGresult *res = db_exec(o, DB_STMT_COMMIT, NULL, 0);
    o->db->in_tx = 0;
    return res ? 0 : -1;
}

void db_rollback(struct db *db)
{
    if (!db->conn || PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
        db->in_tx = 0;
        return;
    }
    PGresult *res =
        PQexecPrepared(db->conn, db_stmts[DB_STMT_ROLLBACK].name, 0, NULL, NULL, NULL, 0);
    PQclear(res);
    if (PQstatus(db->conn) == CONNECTION_BAD)
        db_drop(db);
    db->in_tx = 0;
}

int db_ident_poll(struct db *db)
{
    db->ident_listen = 1;
    if (!db->conn || db->fake_exec)
        return 0;
    if (!db->ident_listening) {
        /* A connection made before the cache was first used (a public route's). */
        PGresult *res =
            PQexecPrepared(db->conn, db_stmts[DB_STMT_LISTEN_IDENT].name, 0, NULL, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            log_warn("cannot listen for identity changes: %.*s",
                     (int)strcspn(PQerrorMessage(db->conn), "\n"), PQerrorMessage(db->conn));
            if (PQstatus(db->conn) == CONNECTION_BAD)
                db_drop(db);
            return 0;
        }
        db->ident_listening = 1;
        db->ident_epoch++;
    }
    /* Non-blocking: reads what has arrived, if anything. A connection found broken here
     * is dropped: nothing said since can be known, and the lookup reconnects. */
    if (!PQconsumeInput(db->conn) || PQstatus(db->conn) == CONNECTION_BAD) {
        log_info("postgresql connection lost, reconnecting");
        db_drop(db);
        return 0;
    }
    db_notifies(db);
    return 1;
}

uint64_t db_ident_epoch(const struct db *db)
{
    return db->ident_epoch + counters_ident_epoch();
}

int db_ping(struct db *db, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res;
        if (!db->conn && db_connect(db, err, errlen) != 0)
            return -1;
        res = PQexecPrepared(db->conn, db_stmts[DB_STMT_PING].name, 0, NULL, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (ok)
            return 0;
        if (PQstatus(db->conn) != CONNECTION_BAD) {
            snprintf(err, errlen, "%s", PQerrorMessage(db->conn));
            err[strcspn(err, "\n")] = '\0';
            return -1;
        }
        db_drop(db);
    }
    snprintf(err, errlen, "connection lost");
    return -1;
}

/* Releases what a wait holds: the slot and the LISTEN. Idempotent; on a broken
 * connection PostgreSQL has dropped both already. */
void db_wait_end(struct db *db)
{
    if (!db->wait_slot)
        return;
    int slot = db->wait_slot;
    db->wait_slot = 0;
    if (!db->conn)
        return;
    if (db->in_tx)
        db_rollback(db);
    char s[16];
    snprintf(s, sizeof(s), "%d", slot);
    const char *p[WAIT_SLOT_GIVE__NIN] = {[WAIT_SLOT_GIVE_IN_SLOT] = s};
    PQclear(PQexecPrepared(db->conn, db_stmts[DB_STMT_UNLISTEN_RUN_ENDED].name, 0, NULL, NULL, NULL,
                           0));
    PQclear(PQexecPrepared(db->conn, db_stmts[DB_STMT_WAIT_SLOT_GIVE].name, WAIT_SLOT_GIVE__NIN, p,
                           NULL, NULL, 0));
    /* Run ends that came before UNLISTEN took effect are nobody's now; identity changes
     * still count. */
    db_notifies(db);
    if (PQstatus(db->conn) == CONNECTION_BAD)
        db_drop(db);
}

static void db_wait_end_deferred(void *arg)
{
    db_wait_end(arg);
}

int db_wait_begin(struct op *o, int slots)
{
    char n[16];
    PGresult *res;

    /* One wait a connection: a request served while another waits may not wait too. */
    if (o->db->wait_slot)
        return 0;
    snprintf(n, sizeof(n), "%d", slots);
    const char *p[WAIT_SLOT_TAKE__NIN] = {[WAIT_SLOT_TAKE_IN_SLOTS] = n};
    if (!(res = DB_EXEC(o, DB_STMT_WAIT_SLOT_TAKE, p)))
        return -1;
    if (PQgetisnull(res, 0, WAIT_SLOT_TAKE_SLOT))
        return 0;
    o->db->wait_slot = atoi(PQgetvalue(res, 0, WAIT_SLOT_TAKE_SLOT));
    /* The handler ends the wait before answering; this is for the paths that do not. */
    if (arena_defer(o->arena, db_wait_end_deferred, o->db) != 0) {
        db_wait_end(o->db);
        return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
    }
    if (!db_exec(o, DB_STMT_LISTEN_RUN_ENDED, NULL, 0))
        return -1;
    return 1;
}

static long db_ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int db_notify_wait(struct op *o, long timeout_ms, const char **payload)
{
    PGconn *c = o->db->conn;
    struct timespec t0;
    PGnotify *n;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (!c)
            return db_unavailable(o, "connection lost");
        if ((n = PQnotifies(c))) {
            if (db_ident_note(o->db, n)) {
                PQfreemem(n);
                continue;
            }
            *payload = arena_strdup(o->arena, n->extra);
            PQfreemem(n);
            if (!*payload)
                return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
            return 1;
        }
        long left = timeout_ms - db_ms_since(&t0);
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int rc =
            o->wait_poll ? o->wait_poll(o->wait_ctx, &pfd, (int)left) : poll(&pfd, 1, (int)left);
        /* What wait_poll served may have lost the connection (and made a new one). */
        if (o->db->conn != c)
            return db_unavailable(o, "connection lost");
        if (rc < 0 && errno != EINTR) {
            log_error("poll on the postgresql socket: %s", strerror(errno));
            return op_fail(o, OP_INTERNAL, "internal", NULL, "internal error");
        }
        if (rc > 0 && !PQconsumeInput(c)) {
            db_drop(o->db);
            return db_unavailable(o, "connection lost");
        }
    }
}
