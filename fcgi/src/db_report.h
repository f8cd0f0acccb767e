/* db_report: the worker's second PostgreSQL connection, on which users' ad-hoc SQL runs.
 * It logs in as runwatch_report (read-only, sees only the report schema), is opened on
 * the first ad-hoc query and kept. A statement runs in a READ ONLY transaction with a
 * signed project grant, a statement timeout and only `report` on the search path; rows
 * are read one at a time (single-row mode) and reading stops at the row and byte caps,
 * so a huge result never sits in memory. Handlers never see libpq: the result comes
 * back as the text of a response body (JSON or CSV), which the caller sends. */
#ifndef RW_DB_REPORT_H
#define RW_DB_REPORT_H

#include <stddef.h>

#include "op.h"

enum db_report_format {
    DB_REPORT_FORMAT_JSON,
    DB_REPORT_FORMAT_CSV,
};

/* The rows of one ad-hoc statement, as the body of an answer: arena-owned. */
struct db_report_out {
    const char *body;
    size_t len;
    const char *type; /* the media type of body */
    int truncated;    /* the row or byte cap cut the rows short */
    /* The answer came from a streaming replica (RUNWATCH_REPORT_DATABASE_URL) this many
     * seconds behind its last replayed commit; -1: from a primary. */
    double replica_lag_s;
};

/* The backend pid of the ad-hoc connection as text (connecting first when needed), for
 * the grant to be bound to; NULL with o's error set (unavailable) when it cannot connect. */
const char *db_report_pid(struct op *o);
/* 1 while this worker has a query in flight: a request it serves meanwhile (it serves its
 * other connections while it waits) cannot run another. */
int db_report_busy(void);

/* Runs one user statement under grant into out:
 * JSON {"columns":[{"name","type"}],"rows":[[…]],"row_count":n,"truncated":b}, or CSV
 * with a header line. A statement that fails sets an error (bad input, invalid,
 * forbidden) with PostgreSQL's message: it is about the user's own SQL. */
int db_report_run(struct op *o, const char *sql, const char *grant, enum db_report_format fmt,
                  struct db_report_out *out);

/* Whether the report connection's server is a standby and, if so, its replay lag in
 * seconds (negative when it has replayed nothing yet), for /metrics. 0; 1 when this
 * worker's own ad-hoc query holds the connection (nothing known); -1 when the report
 * database cannot be reached (o's error then says why; the caller clears it). */
int db_report_replica(struct op *o, int *standby, double *lag_s);
/* Closes the connection (worker exit). */
void db_report_fini(void);

#endif
