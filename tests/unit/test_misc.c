/* Small pure pieces: SQLSTATE mapping and migration file naming. */
#include "db_err.h"
#include "migrate.h"
#include "suites.h"

static void test_db_err(void)
{
    CU_ASSERT_EQUAL(db_err_classify("23505").status, 409);
    CU_ASSERT_EQUAL(db_err_classify("23503").status, 422);
    CU_ASSERT_EQUAL(db_err_classify("23514").status, 422);
    CU_ASSERT_EQUAL(db_err_classify("22P02").status, 400);
    CU_ASSERT_EQUAL(db_err_classify("40001").status, 503);
    CU_ASSERT_EQUAL(db_err_classify("40001").retry_after, 1);
    CU_ASSERT_EQUAL(db_err_classify("08006").status, 503);
    CU_ASSERT_EQUAL(db_err_classify("57P01").status, 503);
    CU_ASSERT_EQUAL(db_err_classify(NULL).status, 503);
    CU_ASSERT_EQUAL(db_err_classify("42P01").status, 500);
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

int suite_misc_register(void)
{
    static const struct test_case cases[] = {
        {"sqlstate to http", test_db_err},
        {"migration file names", test_migration_names},
        {NULL, NULL},
    };
    return test_add_suite("misc", cases);
}
