/* db_err: SQLSTATE classes from PostgreSQL's errcodes appendix, plus our own RW409 (an
 * illegal status move, raised by the lifecycle trigger). Conflicts a client can fix are
 * 409/422; anything transient is 503 with Retry-After so producers back off and retry;
 * everything else is our fault, a 500 logged with detail. */
#include "db_err.h"

#include <string.h>

struct db_err_map db_err_classify(const char *sqlstate)
{
    struct db_err_map m = {500, "internal", "internal database error", 0, 0};

    if (!sqlstate || strlen(sqlstate) != 5 || strncmp(sqlstate, "08", 2) == 0 ||
        strncmp(sqlstate, "53", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
        strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0) {
        m = (struct db_err_map){503, "unavailable", "database unavailable", 1, 0};
    } else if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0) {
        m = (struct db_err_map){503, "retry", "concurrent update, retry the request", 1, 0};
    } else if (strcmp(sqlstate, "57014") == 0) {
        m = (struct db_err_map){503, "timeout", "database statement timed out", 1, 0};
    } else if (strcmp(sqlstate, DB_ERR_ILLEGAL_TRANSITION) == 0) {
        m = (struct db_err_map){409, "illegal_transition", "illegal status move", 0, 1};
    } else if (strcmp(sqlstate, "23505") == 0) {
        m = (struct db_err_map){409, "conflict", "already exists", 0, 0};
    } else if (strcmp(sqlstate, "23503") == 0) {
        m = (struct db_err_map){422, "invalid_reference", "refers to a row that does not exist", 0,
                                0};
    } else if (strncmp(sqlstate, "23", 2) == 0) {
        m = (struct db_err_map){422, "invalid_value", "violates a constraint", 0, 0};
    } else if (strncmp(sqlstate, "22", 2) == 0) {
        m = (struct db_err_map){400, "invalid_value", "invalid value", 0, 0};
    }
    return m;
}
