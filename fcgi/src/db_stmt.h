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
    DB_STMT__COUNT,
};

struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
};

extern const struct db_stmt db_stmts[DB_STMT__COUNT];

#endif
