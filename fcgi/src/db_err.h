/* db_err: classifies a PostgreSQL error (its SQLSTATE) into the kind of failure and the
 * error code a client sees. The classification lives here once; messages are short and
 * never contain SQL text or server detail, which goes to the log instead. */
#ifndef RW_DB_ERR_H
#define RW_DB_ERR_H

#include "op.h"

struct db_err_map {
    enum op_kind kind;
    const char *code;
    const char *message;
    int retry_after; /* seconds, 0 for none */
    /* 1: the client gets the server's own message, its COLUMN as the field and its
     * DETAIL (a JSON object) as details. Only for our own SQLSTATEs, whose messages are
     * written for clients and hold no SQL text. */
    int server_text;
};

/* An illegal status move of a run or attempt, raised by the lifecycle trigger
 * (sql/functions/25_lifecycle.sql): 409 illegal_transition. */
#define DB_ERR_ILLEGAL_TRANSITION "RW409"

/* sqlstate may be NULL (no server error: connection trouble). */
struct db_err_map db_err_classify(const char *sqlstate);

#endif
