/* db_report: ad-hoc SQL on its own connection. Safety is the database's: the login
 * role can read the report views only, the transaction is READ ONLY, the grant is
 * signed (migration 0007), and the login can reach no statistics, signals or advisory
 * locks (sql/setup/report_confine.sql; checked here at connect). PostgreSQL's parser
 * says whether a statement is a query before it runs (db_report_check). This file
 * otherwise only bounds time and memory on our side:
 * - rows are read in single-row mode; at the row or byte cap the query is cancelled
 *   and the rest drained unread;
 * - the wait for the server has a deadline of its own (the statement timeout plus a
 *   grace), so a statement that switched its timeout off is still cancelled;
 * - anything that leaves the connection in doubt (a COPY, a failed cancel, a lost
 *   server) closes it; the next query opens a new one.
 * The connection is per process (workers are single-threaded and serve one request at
 * a time), like the main one in db.c. */
#include "db_report.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "config.h"
#include "db_stmt.h"
#include "log.h"

#define DB_REPORT_GRACE_MS 2000 /* past the statement timeout before we cancel ourselves */

static PGconn *db_report_conn;
/* A query is in flight on db_report_conn: a request served meanwhile (db_report_next
 * serves other connections) cannot run another on it. */
static int db_report_in_flight;

int db_report_busy(void)
{
    return db_report_in_flight;
}

void db_report_fini(void)
{
    if (db_report_conn)
        PQfinish(db_report_conn);
    db_report_conn = NULL;
}

static int db_report_unavailable(struct op *o, const char *why)
{
    log_warn("report database unavailable: %s", why);
    op_fail(o, OP_UNAVAILABLE, "unavailable", NULL, "database unavailable");
    if (o->err.kind == OP_UNAVAILABLE && o->err.retry_after == 0)
        o->err.retry_after = 1;
    return -1;
}

/* 1 when the idle connection is still usable. It is idle between requests, so anything
 * to read means the server spoke first: almost always the FATAL of a terminated backend
 * (pg_terminate_backend, a restart), which libpq notices only when the next query fails.
 * Such a connection is replaced before the request's grant is signed for its pid, so
 * the first query after it answers normally instead of 503. */
static int db_report_alive(void)
{
    struct pollfd p;

    if (!db_report_conn || PQstatus(db_report_conn) != CONNECTION_OK)
        return 0;
    p = (struct pollfd){.fd = PQsocket(db_report_conn), .events = POLLIN};
    if (poll(&p, 1, 0) == 0)
        return 1;
    log_info("the report connection was closed by the server; opening a new one");
    return 0;
}

static int db_report_connect(struct op *o)
{
    const struct config *cfg = o->cfg;
    const char *opts = "-c TimeZone=UTC -c client_encoding=UTF8";
    PGconn *c;

    if (db_report_alive())
        return 0;
    db_report_fini();
    if (cfg->report_database_url[0]) {
        const char *const keys[] = {"connect_timeout", "application_name", "options", "dbname",
                                    NULL};
        const char *const vals[] = {"3", "runwatch-report", opts, cfg->report_database_url, NULL};
        c = PQconnectdbParams(keys, vals, 1);
    } else {
        /* The main conninfo with the login swapped: keys after dbname override it. */
        const char *const keys[] = {
            "connect_timeout", "application_name", "options", "dbname", "user", NULL};
        const char *const vals[] = {
            "3", "runwatch-report", opts, cfg->database_url, "runwatch_report", NULL};
        c = PQconnectdbParams(keys, vals, 1);
    }
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char err[256];
        snprintf(err, sizeof(err), "%s", c ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        if (c)
            PQfinish(c);
        return db_report_unavailable(o, err);
    }
    /* Every tenant's SQL runs as this one login, and PostgreSQL lets a role read the
     * query texts of, and signal, its own other backends: refused unless the superuser's
     * confinement (sql/setup/report_confine.sql) took that from it. */
    PGresult *res = PQexec(c, db_stmts[DB_STMT_ADHOC_CONFINED].sql);
    int confined = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                   strcmp(PQgetvalue(res, 0, ADHOC_CONFINED_CONFINED), "t") == 0;
    PQclear(res);
    if (!confined) {
        PQfinish(c);
        log_error("ad-hoc SQL refused: the login runwatch_report is not confined; run "
                  "sql/setup/report_confine.sql in this database as a superuser "
                  "(docs/REPORTS.md, operator set-up)");
        return db_report_unavailable(o, "the report login is not confined");
    }
    db_report_conn = c;
    log_info("report connection open (backend %d)", PQbackendPID(c));
    return 0;
}

const char *db_report_pid(struct op *o)
{
    if (db_report_connect(o))
        return NULL;
    return arena_sprintf(o->arena, "%d", PQbackendPID(db_report_conn));
}

int db_report_replica(struct op *o, int *standby, double *lag_s)
{
    PGresult *res;
    int ok;

    *standby = 0;
    *lag_s = -1;
    if (db_report_in_flight) /* a query of this worker's is on the connection */
        return 1;
    if (db_report_connect(o))
        return -1;
    res = PQexec(db_report_conn, db_stmts[DB_STMT_ADHOC_REPLICA].sql);
    ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok) {
        *standby = strcmp(PQgetvalue(res, 0, ADHOC_REPLICA_STANDBY), "t") == 0;
        if (*standby && !PQgetisnull(res, 0, ADHOC_REPLICA_LAG_S))
            *lag_s = strtod(PQgetvalue(res, 0, ADHOC_REPLICA_LAG_S), NULL);
    }
    PQclear(res);
    if (!ok) {
        char err[256];
        snprintf(err, sizeof(err), "%s", PQerrorMessage(db_report_conn));
        err[strcspn(err, "\n")] = '\0';
        db_report_fini(); /* in doubt: the next use opens a new one */
        return db_report_unavailable(o, err);
    }
    return 0;
}

/* ---- output ---- */

/* A growing buffer on the heap, freed with the request's arena. It never grows past
 * limit: a put that would is refused whole and sets over, so one huge value (a 200 MB
 * text escaped six times over) is never copied, only found too big. */
struct db_report_buf {
    char *p;
    size_t len, cap, limit;
    int oom, over;
};

static void db_report_clear(void *res)
{
    PQclear(res);
}

static void db_report_buf_free(void *b)
{
    free(((struct db_report_buf *)b)->p);
}

static void buf_put(struct db_report_buf *b, const char *s, size_t n)
{
    if (b->oom || b->over)
        return;
    if (n > b->limit || b->len > b->limit - n) {
        b->over = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct db_report_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_json_string(struct db_report_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;

    buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        buf_put(b, s + start, i - start);
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_put(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_put(b, esc, 6);
        }
        start = i + 1;
    }
    buf_put(b, s + start, n - start);
    buf_put(b, "\"", 1);
}

/* One CSV field (RFC 4180). A text that a spreadsheet would run as a formula (starting
 * with = + - @, a tab or a carriage return) is neutralised with a leading ' and quoted,
 * as OWASP advises for CSV injection; numbers keep their sign (formula is 0 for them). */
static void buf_csv_field(struct db_report_buf *b, const char *s, size_t n, int formula)
{
    int neutral = formula && n > 0 && strchr("=+-@\t\r", s[0]) != NULL;

    if (!neutral && (n == 0 || strcspn(s, ",\"\r\n") == n)) {
        buf_put(b, s, n);
        return;
    }
    buf_put(b, neutral ? "\"'" : "\"", neutral ? 2 : 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"')
            continue;
        buf_put(b, s + start, i + 1 - start); /* the quote, then itself again */
        buf_put(b, "\"", 1);
        start = i + 1;
    }
    buf_put(b, s + start, n - start);
    buf_put(b, "\"", 1);
}

/* Types whose text is a number: never a formula in a spreadsheet. */
static int db_report_numeric(Oid t)
{
    return t == 20 || t == 21 || t == 23 || t == 26 || t == 700 || t == 701 || t == 1700;
}

/* PostgreSQL's own type names for the common OIDs (pg_type.dat); others are "unknown"
 * and come as strings. */
static const char *db_report_type_name(Oid t)
{
    switch (t) {
    case 16:
        return "bool";
    case 17:
        return "bytea";
    case 18:
        return "char";
    case 19:
        return "name";
    case 20:
        return "int8";
    case 21:
        return "int2";
    case 23:
        return "int4";
    case 25:
        return "text";
    case 26:
        return "oid";
    case 114:
        return "json";
    case 700:
        return "float4";
    case 701:
        return "float8";
    case 869:
        return "inet";
    case 1000:
        return "bool[]";
    case 1007:
        return "int4[]";
    case 1009:
        return "text[]";
    case 1016:
        return "int8[]";
    case 1042:
        return "bpchar";
    case 1043:
        return "varchar";
    case 1082:
        return "date";
    case 1083:
        return "time";
    case 1114:
        return "timestamp";
    case 1184:
        return "timestamptz";
    case 1186:
        return "interval";
    case 1700:
        return "numeric";
    case 2950:
        return "uuid";
    case 2951:
        return "uuid[]";
    case 3802:
        return "jsonb";
    default:
        return "unknown";
    }
}

/* One value as JSON: numbers and booleans as themselves, json/jsonb spliced, the rest
 * (and numbers JSON cannot hold: NaN, Infinity, int8 past 2^53) as strings. */
static void db_report_json_value(struct db_report_buf *b, const PGresult *res, int col)
{
    const char *v = PQgetvalue(res, 0, col);
    size_t n = (size_t)PQgetlength(res, 0, col);
    Oid t = PQftype(res, col);

    if (PQgetisnull(res, 0, col)) {
        buf_put(b, "null", 4);
        return;
    }
    switch (t) {
    case 16:
        buf_str(b, v[0] == 't' ? "true" : "false");
        return;
    case 21:
    case 23:
    case 26:
        buf_put(b, v, n);
        return;
    case 20:
        if (n <= 15) {
            buf_put(b, v, n);
            return;
        }
        break;
    case 700:
    case 701:
    case 1700:
        if (strpbrk(v, "NnIi") == NULL) { /* NaN, Infinity: not JSON numbers */
            buf_put(b, v, n);
            return;
        }
        break;
    case 114:
    case 3802:
        buf_put(b, v, n);
        return;
    default:
        break;
    }
    buf_json_string(b, v, n);
}

/* ---- the query ---- */

static long db_report_ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
           (long)(deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* The next result, waiting at most until deadline. *late is set when the deadline
 * passed first; NULL with *late unset means the query is over (or the link broke). */
static PGresult *db_report_next(struct op *o, PGconn *c, const struct timespec *deadline, int *late)
{
    *late = 0;
    while (PQisBusy(c)) {
        long ms = db_report_ms_left(deadline);
        if (ms <= 0) {
            *late = 1;
            return NULL;
        }
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        int t = (int)(ms > 60000 ? 60000 : ms);
        /* While the query runs the worker serves its other connections (conns_wait), as
         * a run wait does: nginx keeps connections to each worker, and a request sent on
         * this worker's must not wait out somebody's slow query. */
        int n = o && o->wait_poll ? o->wait_poll(o->wait_ctx, &p, t) : poll(&p, 1, t);
        if (n < 0 && errno != EINTR)
            return NULL;
        if (n > 0 && !PQconsumeInput(c))
            return NULL;
    }
    return PQgetResult(c);
}

static int db_report_cancel(PGconn *c)
{
    char err[256];
    PGcancel *cn = PQgetCancel(c);
    int ok = cn && PQcancel(cn, err, sizeof(err));
    if (!ok)
        log_warn("cancelling an ad-hoc query failed: %s", cn ? err : "out of memory");
    if (cn)
        PQfreeCancel(cn);
    return ok ? 0 : -1;
}

/* Reads and drops whatever the query still sends, for at most 2 s; -1 when the
 * connection cannot be trusted afterwards. */
static int db_report_drain(PGconn *c)
{
    struct timespec deadline;
    int late;
    PGresult *res;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 2;
    while ((res = db_report_next(NULL, c, &deadline, &late))) {
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
            return -1;
    }
    return late || PQstatus(c) != CONNECTION_OK ? -1 : 0;
}

/* Maps the error of the user's statement to an answer that shows PostgreSQL's message:
 * it is about SQL the user wrote, and the editor needs it. */
static int db_report_sql_error(struct op *o, const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    enum op_kind kind = OP_BAD_INPUT;
    const char *code = "query_error";

    if (!state)
        state = "";
    if (!msg)
        msg = "the statement failed";
    if (strcmp(state, "57014") == 0) {
        kind = OP_INVALID;
        code = "query_timeout";
        msg = "the statement ran past its time limit and was cancelled";
    } else if (strcmp(state, "42601") == 0 && strstr(msg, "multiple commands")) {
        code = "multiple_statements";
        msg = "send one statement at a time";
    } else if (strcmp(state, "25006") == 0 || strncmp(state, "42501", 5) == 0) {
        kind = OP_FORBIDDEN;
        code = strcmp(state, "25006") == 0 ? "read_only" : "permission_denied";
    } else if (strcmp(state, "53200") == 0 || strcmp(state, "53400") == 0) {
        /* Out of memory, temp_file_limit: the statement asked for too much, not a fault
         * of the server. */
        kind = OP_INVALID;
        code = "resource_limit";
    } else if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
               strncmp(state, "57P", 3) == 0) {
        return db_report_unavailable(o, msg);
    }
    op_fail(o, kind, code, "sql", "%s", msg);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "sqlstate", json_object_new_string(state));
    if (pos)
        json_object_object_add(d, "position", json_object_new_int(atoi(pos)));
    op_details(o, d);
    return -1;
}

/* Starts the transaction and pins its settings; -1 with an error set. */
static int db_report_begin(struct op *o, PGconn *c, const char *grant, double *lag_s)
{
    const char *timeout = arena_sprintf(o->arena, "%ld", o->cfg->report_timeout_ms);
    const char *p[ADHOC_SETUP__NIN] = {
        [ADHOC_SETUP_IN_GRANT] = grant, [ADHOC_SETUP_IN_TIMEOUT_MS] = timeout};
    PGresult *res = PQexec(c, db_stmts[DB_STMT_ADHOC_BEGIN].sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    PQclear(res);
    if (ok) {
        res = PQexecParams(c, db_stmts[DB_STMT_ADHOC_SETUP].sql, ADHOC_SETUP__NIN, NULL, p, NULL,
                           NULL, 0);
        ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        *lag_s = ok && !PQgetisnull(res, 0, ADHOC_SETUP_REPLICA_LAG_S)
                     ? strtod(PQgetvalue(res, 0, ADHOC_SETUP_REPLICA_LAG_S), NULL)
                     : -1;
        PQclear(res);
    }
    if (!ok) {
        char err[256];
        snprintf(err, sizeof(err), "%s", PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
        db_report_fini();
        return db_report_unavailable(o, err);
    }
    return 0;
}

/* Rolls back and clears session state; closes the connection when that fails. */
static void db_report_end(PGconn *c);

/* 0 when sql is a query; else -1 with the answer set: the statement's own error when it
 * is not valid SQL, not_a_query when it is another command. PostgreSQL decides, by
 * parsing (never running) it behind the prefix of adhoc_query_check, whose grammar takes
 * a query only: no list of keywords of ours that a comment, parentheses or a WITH could
 * get past. The text parsed and the text run are the same, token for token. */
static int db_report_check(struct op *o, PGconn *c, const char *sql, const char *grant)
{
    const char *wrapped =
        arena_sprintf(o->arena, "%s\n%s", db_stmts[DB_STMT_ADHOC_QUERY_CHECK].sql, sql);
    PGresult *res;
    ExecStatusType st;

    if (!wrapped)
        return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
    res = PQprepare(c, "", wrapped, 0, NULL);
    st = PQresultStatus(res);
    PQclear(res);
    if (st == PGRES_COMMAND_OK)
        return 0;
    /* Not a query, or not SQL at all: the statement's own parse, in a new transaction
     * (the failed one is aborted), tells which, with positions in the user's text. */
    db_report_end(c);
    if (!db_report_conn)
        return db_report_unavailable(o, "reset failed");
    double lag_s; /* of this error's transaction: not reported */
    if (db_report_begin(o, c, grant, &lag_s))
        return -1;
    res = PQprepare(c, "", sql, 0, NULL);
    st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK) {
        PQclear(res);
        db_report_end(c);
        return op_fail(o, OP_INVALID, "not_a_query", "sql",
                       "only a query (SELECT, VALUES, TABLE or WITH … SELECT) can be run here");
    }
    if (st != PGRES_FATAL_ERROR || PQstatus(c) != CONNECTION_OK ||
        arena_defer(o->arena, db_report_clear, res) != 0) {
        PQclear(res);
        db_report_fini();
        return db_report_unavailable(o, "connection lost");
    }
    db_report_end(c);
    return db_report_sql_error(o, res);
}

/* Rolls back and clears session state; closes the connection when that fails. */
static void db_report_end(PGconn *c)
{
    PGresult *res = PQexec(c, db_stmts[DB_STMT_ADHOC_END].sql);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!ok || PQtransactionStatus(c) != PQTRANS_IDLE) {
        log_warn("resetting the report connection failed: closing it");
        db_report_fini();
    }
}

static void db_report_head(struct db_report_buf *b, const PGresult *res, enum db_report_format fmt)
{
    int nf = PQnfields(res);
    if (fmt == DB_REPORT_FORMAT_CSV) {
        for (int i = 0; i < nf; i++) {
            if (i)
                buf_put(b, ",", 1);
            buf_csv_field(b, PQfname(res, i), strlen(PQfname(res, i)), 1);
        }
        buf_put(b, "\r\n", 2);
        return;
    }
    buf_str(b, "{\"columns\":[");
    for (int i = 0; i < nf; i++) {
        buf_str(b, i ? ",{\"name\":" : "{\"name\":");
        buf_json_string(b, PQfname(res, i), strlen(PQfname(res, i)));
        buf_str(b, ",\"type\":\"");
        buf_str(b, db_report_type_name(PQftype(res, i)));
        buf_str(b, "\"}");
    }
    buf_str(b, "],\"rows\":[");
}

static void db_report_row(struct db_report_buf *b, const PGresult *res, enum db_report_format fmt,
                          long nrow)
{
    int nf = PQnfields(res);
    if (fmt == DB_REPORT_FORMAT_CSV) {
        for (int i = 0; i < nf; i++) {
            if (i)
                buf_put(b, ",", 1);
            if (!PQgetisnull(res, 0, i))
                buf_csv_field(b, PQgetvalue(res, 0, i), (size_t)PQgetlength(res, 0, i),
                              !db_report_numeric(PQftype(res, i)));
        }
        buf_put(b, "\r\n", 2);
        return;
    }
    buf_put(b, nrow ? ",[" : "[", nrow ? 2 : 1);
    for (int i = 0; i < nf; i++) {
        if (i)
            buf_put(b, ",", 1);
        db_report_json_value(b, res, i);
    }
    buf_put(b, "]", 1);
}

int db_report_run(struct op *o, const char *sql, const char *grant, enum db_report_format fmt,
                  struct db_report_out *out)
{
    const struct config *cfg = o->cfg;
    struct db_report_buf *b = arena_calloc(o->arena, sizeof(*b));
    struct timespec deadline;
    PGconn *c;
    PGresult *res, *err = NULL;
    long nrows = 0;
    int truncated = 0, headed = 0, late = 0, broken = 0, not_rows = 0;

    if (!b || arena_defer(o->arena, db_report_buf_free, b) != 0)
        return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
    b->limit = SIZE_MAX;
    out->replica_lag_s = -1;
    if (db_report_connect(o) || db_report_begin(o, db_report_conn, grant, &out->replica_lag_s))
        return -1;
    c = db_report_conn;
    if (db_report_check(o, c, sql, grant))
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (cfg->report_timeout_ms + DB_REPORT_GRACE_MS) / 1000;
    deadline.tv_nsec += ((cfg->report_timeout_ms + DB_REPORT_GRACE_MS) % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }

    /* The extended protocol takes exactly one statement: a string holding two is refused
     * by the server, not by us. */
    if (!PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 0) || !PQsetSingleRowMode(c)) {
        log_warn("sending an ad-hoc query failed: %s", PQerrorMessage(c));
        db_report_fini();
        return db_report_unavailable(o, "send failed");
    }
    db_report_in_flight = 1;
    while ((res = db_report_next(o, c, &deadline, &late))) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && !truncated) {
            if (!headed++)
                db_report_head(b, res, fmt);
            /* A row that would pass the byte cap is not copied at all: it is cut whole. */
            size_t mark = b->len;
            int cut = 0;
            b->limit = (size_t)cfg->report_max_bytes;
            db_report_row(b, res, fmt, nrows);
            b->limit = SIZE_MAX;
            if (b->over) {
                b->over = 0;
                b->len = mark;
                if (b->p)
                    b->p[mark] = '\0';
                cut = 1;
            } else {
                nrows++;
            }
            if (cut || nrows >= cfg->report_max_rows || b->len >= (size_t)cfg->report_max_bytes) {
                /* Enough: stop the server producing more, drop what is in flight. */
                truncated = 1;
                PQclear(res);
                if (db_report_cancel(c) || db_report_drain(c))
                    broken = 1;
                break;
            }
        } else if (st == PGRES_TUPLES_OK) {
            if (!headed++)
                db_report_head(b, res, fmt);
        } else if (st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
            not_rows = 1;
        } else if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH) {
            not_rows = broken = 1; /* nothing a COPY sends is read: the connection goes */
            PQclear(res);
            break;
        } else if (!err) {
            err = res; /* kept for the answer; the rest is drained */
            continue;
        }
        PQclear(res);
    }
    db_report_in_flight = 0;
    if (err && arena_defer(o->arena, db_report_clear, err) != 0)
        err = NULL;
    if (late) {
        /* The server did not stop on its own: cancel, then give up on the connection if
         * even that does not end the query. */
        if (db_report_cancel(c) || db_report_drain(c))
            broken = 1;
    } else if (!truncated && !broken && PQstatus(c) != CONNECTION_OK) {
        db_report_fini();
        return db_report_unavailable(o, "connection lost");
    }
    if (broken)
        db_report_fini();
    else
        db_report_end(c);

    if (late)
        return op_fail(o, OP_INVALID, "query_timeout", "sql",
                       "the statement ran past its time limit and was cancelled");
    if (err && !truncated)
        return db_report_sql_error(o, err);
    if (not_rows && !headed)
        return op_fail(o, OP_INVALID, "not_a_query", "sql",
                       "only statements that return rows can be run here");
    if (!headed) /* no result at all: the connection broke */
        return db_report_unavailable(o, "no result");
    if (b->oom)
        return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
    out->truncated = truncated;
    if (fmt == DB_REPORT_FORMAT_CSV) {
        out->type = "text/csv; charset=utf-8";
    } else {
        char tail[160], lag[32] = "null";
        if (out->replica_lag_s >= 0)
            snprintf(lag, sizeof(lag), "%.3f", out->replica_lag_s);
        snprintf(tail, sizeof(tail), "],\"row_count\":%ld,\"truncated\":%s,\"replica_lag_s\":%s}",
                 nrows, truncated ? "true" : "false", lag);
        buf_str(b, tail);
        if (b->oom)
            return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
        out->type = "application/json";
    }
    out->body = b->p ? b->p : "";
    out->len = b->len;
    return 0;
}
