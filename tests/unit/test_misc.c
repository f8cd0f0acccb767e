/* Small pure pieces: SQLSTATE classification (as the HTTP statuses req.c maps it to), migration
 * file naming, the statement table. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counters.h"
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

/* The report seats (counters_report_enter), in a child process of its own so that its
 * shared segment touches no other test: holders are real processes that keep their seat
 * until told to go; a killed holder's seat is freed, and so is a reaped one's. Exit
 * status: 0, or the number of the check that failed. */
static int report_caps_child(void)
{
    int go[2], res[2], running, seat, rc;
    pid_t holder[3];
    const int64_t who[3] = {7, 7, 8};

    if (counters_create(2) < 0 || pipe(go) != 0 || pipe(res) != 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        if ((holder[i] = fork()) < 0)
            return 2;
        if (holder[i] == 0) {
            char c;
            rc = counters_report_enter(who[i], 3, 2, &running, &seat);
            if (write(res[1], &rc, sizeof(rc)) != sizeof(rc))
                _exit(1);
            close(go[1]);
            (void)!read(go[0], &c, 1); /* until the parent closes its end */
            _exit(0);
        }
    }
    close(go[0]);
    for (int i = 0; i < 3; i++)
        if (read(res[0], &rc, sizeof(rc)) != sizeof(rc) || rc != 0)
            return 3;
    if (counters_report_running() != 3)
        return 4;
    /* Three run: the global cap of 3 refuses a fourth, whoever asks. */
    if (counters_report_enter(9, 3, 2, &running, &seat) != COUNTERS_REPORT_GLOBAL || running != 3)
        return 5;
    /* User 7 holds two: its per-user cap of 2 refuses a third; user 9 may. */
    if (counters_report_enter(7, 10, 2, &running, &seat) != COUNTERS_REPORT_PER_USER ||
        running != 2)
        return 6;
    if (counters_report_enter(9, 10, 2, &running, &seat) != 0 || seat < 0)
        return 7;
    counters_report_leave(seat);
    if (counters_report_running() != 3)
        return 8;
    /* A holder killed mid-query (and reaped) gives its seat back to the next admission. */
    kill(holder[0], SIGKILL);
    waitpid(holder[0], NULL, 0);
    if (counters_report_enter(7, 10, 2, &running, &seat) != 0)
        return 9;
    counters_report_leave(seat);
    /* The master forgets a reaped worker's seats at once. */
    counters_report_forget((int)holder[1]);
    if (counters_report_running() != 1)
        return 10;
    close(go[1]);
    for (int i = 1; i < 3; i++)
        waitpid(holder[i], NULL, 0);
    return counters_report_running() == 0 ? 0 : 11;
}

static void test_report_caps(void)
{
    int status = -1;
    pid_t pid = fork();

    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0)
        _exit(report_caps_child());
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "\n  report seats: check %d failed ", WEXITSTATUS(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

int suite_misc_register(void)
{
    static const struct test_case cases[] = {
        {"sqlstate to http", test_db_err},
        {"migration file names", test_migration_names},
        {"the statement table is whole", test_stmt_table},
        {"report seats: global and per-user caps, dead holders freed", test_report_caps},
        {NULL, NULL},
    };
    return test_add_suite("misc", cases);
}
