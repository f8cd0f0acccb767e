/* Small pure pieces: SQLSTATE classification (as the HTTP statuses req.c maps it to), migration
 * file naming, the statement table. */
#include <stdio.h>
#include <string.h>

#include "db_err.h"
#include "db_stmt.h"
#include "migrate.h"
#include "req.h"
#include "suites.h"

static void test_db_err(void)
{
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("23505").kind), 409);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("23503").kind), 422);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("23514").kind), 422);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("22P02").kind), 400);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("40001").kind), 503);
    CU_ASSERT_EQUAL(db_err_classify("40001").retry_after, 1);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("08006").kind), 503);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("57P01").kind), 503);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify(NULL).kind), 503);
    CU_ASSERT_EQUAL(req_op_status(db_err_classify("42P01").kind), 500);
}

static void test_migration_names(void)
{
    CU_ASSERT_TRUE(migrate_is_migration_name("0001_core.sql"));
    CU_ASSERT_TRUE(migrate_is_migration_name("0042_x.sql"));
    CU_ASSERT_FALSE(migrate_is_migration_name("001_core.sql"));
    CU_ASSERT_FALSE(migrate_is_migration_name("0001_core.sql~"));
    CU_ASSERT_FALSE(migrate_is_migration_name("0001-core.sql"));
    CU_ASSERT_FALSE(migrate_is_migration_name("README.md"));
    CU_ASSERT_FALSE(migrate_is_migration_name("abcd_core.sql"));
}

/* Every statement id has an entry: a hole would only show when a worker connects and
 * prepares them all (and fails). Names are unique, $N never exceeds nparams, and each
 * declared column has a name (tools/sqlgen checks the files; this checks its output). */
static void test_stmt_table(void)
{
    for (int i = 0; i < DB_STMT__COUNT; i++) {
        const struct db_stmt *s = &db_stmts[i];
        if (!s->name || !s->sql) {
            fprintf(stderr, "\n  statement %d has no entry", i);
            CU_FAIL("a statement id without an entry");
            continue;
        }
        for (int j = 0; j < i; j++)
            if (db_stmts[j].name && strcmp(db_stmts[j].name, s->name) == 0)
                CU_FAIL("two statements share a name");
        int max = 0;
        for (const char *c = s->sql; (c = strchr(c, '$')) != NULL;) {
            int n = 0;
            for (c++; *c >= '0' && *c <= '9'; c++)
                n = n * 10 + (*c - '0');
            max = n > max ? n : max;
        }
        if (max != s->nparams)
            fprintf(stderr, "\n  statement %s uses $%d but declares %d", s->name, max, s->nparams);
        CU_ASSERT_EQUAL(max, s->nparams);
        CU_ASSERT_TRUE(s->ncols == 0 || s->cols != NULL);
        for (int j = 0; j < s->ncols && s->cols; j++)
            CU_ASSERT_PTR_NOT_NULL(s->cols[j]);
    }
}

int suite_misc_register(void)
{
    static const struct test_case cases[] = {
        {"sqlstate to http", test_db_err},
        {"migration file names", test_migration_names},
        {"the statement table is whole", test_stmt_table},
        {NULL, NULL},
    };
    return test_add_suite("misc", cases);
}
