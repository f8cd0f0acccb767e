/* db_stmt: the SQL of runwatch-api. Review changes to this file like schema changes:
 * each statement should use an index (see the migrations) and take only parameters. */
#include "db_stmt.h"

const struct db_stmt db_stmts[DB_STMT__COUNT] = {
    [DB_STMT_PING] = {"ping", "SELECT 1", 0},
    /* Transactions go through the table too, so a handler never builds SQL text. */
    [DB_STMT_BEGIN] = {"begin", "BEGIN", 0},
    [DB_STMT_COMMIT] = {"commit", "COMMIT", 0},
    [DB_STMT_ROLLBACK] = {"rollback", "ROLLBACK", 0},
};
