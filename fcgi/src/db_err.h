/* db_err: maps a PostgreSQL error (its SQLSTATE) to the HTTP status and error code a
 * client sees. The mapping lives here once; messages to clients are short and never
 * contain SQL text or server detail, which goes to the log instead. */
#ifndef RW_DB_ERR_H
#define RW_DB_ERR_H

struct db_err_map {
    int status;
    const char *code;
    const char *message;
    int retry_after; /* seconds, 0 for none */
};

/* sqlstate may be NULL (no server error: connection trouble). */
struct db_err_map db_err_classify(const char *sqlstate);

#endif
