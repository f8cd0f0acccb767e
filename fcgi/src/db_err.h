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
};

/* sqlstate may be NULL (no server error: connection trouble). */
struct db_err_map db_err_classify(const char *sqlstate);

#endif
