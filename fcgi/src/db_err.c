/* db_err: SQLSTATE classes from PostgreSQL's errcodes appendix, plus our own RW409 (an
 * illegal status move, raised by the lifecycle trigger). Conflicts a client can fix are
 * conflicts or invalid values; anything transient is unavailable with a Retry-After so
 * producers back off and retry; everything else is our fault, an internal error logged
 * with detail. */
#include "db_err.h"

#include <string.h>

struct db_err_map db_err_classify(const char *sqlstate)
{
    struct db_err_map m = {OP_INTERNAL, "internal", "internal database error", 0, 0};

    if (!sqlstate || strlen(sqlstate) != 5 || strncmp(sqlstate, "08", 2) == 0 ||
        strncmp(sqlstate, "53", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
        strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0) {
        m = (struct db_err_map){OP_UNAVAILABLE, "unavailable", "database unavailable", 1, 0};
    } else if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0) {
        m = (struct db_err_map){OP_UNAVAILABLE, "retry", "concurrent update, retry the request", 1,
                                0};
    } else if (strcmp(sqlstate, "57014") == 0) {
        m = (struct db_err_map){OP_UNAVAILABLE, "timeout", "database statement timed out", 1, 0};
    } else if (strcmp(sqlstate, DB_ERR_ILLEGAL_TRANSITION) == 0) {
        m = (struct db_err_map){OP_CONFLICT, "illegal_transition", "illegal status move", 0, 1};
    } else if (strcmp(sqlstate, "AG400") == 0) {
        m = (struct db_err_map){OP_BAD_INPUT, "invalid_value", "invalid value", 0, 1};
    } else if (strcmp(sqlstate, "AG422") == 0) {
        m = (struct db_err_map){OP_INVALID, "invalid_value", "invalid value", 0, 1};
    } else if (strcmp(sqlstate, "AG500") == 0) {
        m = (struct db_err_map){OP_INTERNAL, "store_error", "store error", 0, 1};
    } else if (strcmp(sqlstate, "23505") == 0) {
        m = (struct db_err_map){OP_CONFLICT, "conflict", "already exists", 0, 0};
    } else if (strcmp(sqlstate, "23503") == 0) {
        m = (struct db_err_map){OP_INVALID, "invalid_reference",
                                "refers to a row that does not exist", 0, 0};
    } else if (strncmp(sqlstate, "23", 2) == 0) {
        m = (struct db_err_map){OP_INVALID, "invalid_value", "violates a constraint", 0, 0};
    } else if (strncmp(sqlstate, "22", 2) == 0) {
        m = (struct db_err_map){OP_BAD_INPUT, "invalid_value", "invalid value", 0, 0};
    }
    return m;
}
