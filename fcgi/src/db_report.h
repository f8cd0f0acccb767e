/* db_report: the worker's second PostgreSQL connection, on which users' ad-hoc SQL runs.
 * It logs in as runwatch_report (read-only, sees only the report schema), is opened on
 * the first ad-hoc query and kept. A statement runs in a READ ONLY transaction with a
 * signed project grant, a statement timeout and only `report` on the search path; rows
 * are read one at a time (single-row mode) and reading stops at the row and byte caps,
 * so a huge result never sits in memory. Handlers never see libpq: the result comes
 * back as the response body (JSON or CSV). */
#ifndef RW_DB_REPORT_H
#define RW_DB_REPORT_H

#include "req.h"

enum db_report_format {
    DB_REPORT_FORMAT_JSON,
    DB_REPORT_FORMAT_CSV,
};

/* The backend pid of the ad-hoc connection as text (connecting first when needed), for
 * the grant to be bound to; NULL with a 503 set when it cannot connect. */
const char *db_report_pid(struct req *r);

/* Runs one user statement under grant and sets the response:
 * JSON {"columns":[{"name","type"}],"rows":[[…]],"row_count":n,"truncated":b}, or CSV
 * with a header line (and X-Runwatch-Truncated: true when cut short). A statement that
 * fails answers 4xx with PostgreSQL's message (it is about the user's own SQL). */
int db_report_run(struct req *r, const char *sql, const char *grant, enum db_report_format fmt);

/* Closes the connection (worker exit). */
void db_report_fini(void);

#endif
