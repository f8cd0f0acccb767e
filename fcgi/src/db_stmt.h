/* db_stmt: every SQL statement runwatch-api runs, in one table, prepared on each new
 * connection. A handler names a statement by id; it cannot run SQL that is not here,
 * and input reaches the server only as parameters. */
#ifndef RW_DB_STMT_H
#define RW_DB_STMT_H

enum db_stmt_id {
    DB_STMT_PING,
    DB_STMT_BEGIN,
    DB_STMT_COMMIT,
    DB_STMT_ROLLBACK,
    /* identities */
    DB_STMT_SESSION_LOOKUP,
    DB_STMT_TOKEN_LOOKUP,
    DB_STMT_USER_FOR_LOGIN,
    DB_STMT_USER_LOGIN_FAILED,
    DB_STMT_USER_LOGIN_OK,
    DB_STMT_SESSION_CREATE,
    DB_STMT_SESSION_REVOKE,
    DB_STMT_SESSIONS_REVOKE_OTHERS,
    DB_STMT_SESSIONS_REVOKE_USER,
    DB_STMT_USER_GET,
    DB_STMT_USER_PASSWORD_HASH,
    DB_STMT_USER_SET_PASSWORD,
    DB_STMT_ALLOWED_PROJECTS,
    DB_STMT_MY_PROJECTS,
    DB_STMT_TOKEN_GET,
    /* projects and members */
    DB_STMT_PROJECT_ACCESS_USER,
    DB_STMT_PROJECT_ACCESS_TOKEN,
    DB_STMT_PROJECT_CREATE,
    DB_STMT_PROJECT_UPDATE,
    DB_STMT_MEMBER_LIST,
    DB_STMT_MEMBER_GET,
    DB_STMT_MEMBER_UPSERT,
    DB_STMT_MEMBER_UPDATE,
    DB_STMT_MEMBER_DELETE,
    DB_STMT_MEMBER_ADMIN_COUNT,
    DB_STMT_USER_ID_BY_EMAIL,
    /* tokens */
    DB_STMT_TOKEN_CREATE,
    DB_STMT_TOKEN_LIST,
    DB_STMT_TOKEN_REVOKE,
    /* users */
    DB_STMT_USER_COUNT,
    DB_STMT_USER_CREATE,
    DB_STMT_USER_LIST,
    DB_STMT_USER_UPDATE,
    /* audit */
    DB_STMT_AUDIT_INSERT,
    DB_STMT_AUDIT_LIST,
    /* runs and events */
    DB_STMT_PROJECT_ACCESS_USER_BY_ID,
    DB_STMT_RUN_IN_PROJECT,
    DB_STMT_RUN_INSERT,
    DB_STMT_RUN_FIND_EXISTING,
    DB_STMT_RUN_GET,
    DB_STMT_RUN_LOCK,
    DB_STMT_RUN_STATUS,
    DB_STMT_RUN_UPDATE,
    DB_STMT_RUN_LIST_DESC,
    DB_STMT_RUN_LIST_ASC,
    DB_STMT_RUN_HEARTBEAT,
    DB_STMT_RUN_CANCEL,
    DB_STMT_EVENT_INSERT,
    DB_STMT_EVENT_LIST,
    /* attempts and the queue */
    DB_STMT_ATTEMPT_LIST,
    DB_STMT_ATTEMPT_LATEST,
    DB_STMT_ATTEMPT_START,
    DB_STMT_ATTEMPT_LOCK,
    DB_STMT_ATTEMPT_FINISH,
    DB_STMT_LEASE_EXPIRE,
    DB_STMT_CLAIM,
    /* workers */
    DB_STMT_WORKER_IN_PROJECT,
    DB_STMT_WORKER_REGISTER,
    DB_STMT_WORKER_GET,
    DB_STMT_WORKER_DETAIL,
    DB_STMT_WORKER_HEARTBEAT,
    DB_STMT_WORKER_STOP,
    DB_STMT_WORKER_JSON,
    DB_STMT_WORKER_LIST,
    /* reports (api/reports.c) */
    DB_STMT_REPORT_GRANT,
    DB_STMT_REPORT_SET_GRANT,
    DB_STMT_REPORT_THROUGHPUT,
    DB_STMT_REPORT_DURATIONS,
    DB_STMT_REPORT_QUEUE_WAIT,
    DB_STMT_REPORT_FAILURE_RATE,
    DB_STMT_REPORT_FAILURE_GROUPS,
    DB_STMT_REPORT_GROUP_RUNS,
    DB_STMT_REPORT_ANOMALIES,
    DB_STMT_THRESHOLDS_GET,
    DB_STMT_THRESHOLDS_PUT,
    DB_STMT_SAVED_LIST,
    DB_STMT_SAVED_GET,
    DB_STMT_SAVED_CREATE,
    DB_STMT_SAVED_UPDATE,
    DB_STMT_SAVED_DELETE,
    DB_STMT__COUNT,
};

struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
};

extern const struct db_stmt db_stmts[DB_STMT__COUNT];

/* The fixed statements of the ad-hoc SQL connection (db_report.c), which logs in as
 * runwatch_report and runs nothing of db_stmts. */
enum db_report_stmt_id {
    DB_REPORT_BEGIN,
    DB_REPORT_SETUP,
    DB_REPORT_END,
    DB_REPORT__COUNT,
};
extern const char *const db_report_sql[DB_REPORT__COUNT];

#endif
