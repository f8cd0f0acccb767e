/* migrate: runs under an advisory lock so two starts at once cannot both apply the
 * same file. Migration files are trusted SQL from the repository (not input); they
 * must not contain their own BEGIN/COMMIT, since the runner wraps each one. The
 * runner's own statements are sql/statements/migrate.sql's, run as text on its own
 * connection (nothing is prepared before the schema exists). After the
 * migrations, the living definitions of sql/functions/ are re-applied, in one
 * transaction, where their checksum changed (all of them after a migration ran, since a
 * migration may have dropped or replaced one). */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_stmt.h"
#include "log.h"

#define MIGRATE_MAX_FILES 1024

int migrate_is_migration_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
        return 0;
    for (int i = 0; i < 4; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

static int migrate_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *migrate_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)len + 1);
    if (!buf)
        goto out;
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[len] = '\0';
out:
    fclose(f);
    return buf;
}

static int migrate_ok(PGconn *c, PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 1;
    log_error("%s: %s", what, PQerrorMessage(c));
    return 0;
}

/* Ends the open transaction: COMMIT when ok, else (or when COMMIT fails) ROLLBACK.
 * Returns 1 when it committed. */
static int migrate_end(PGconn *c, int ok)
{
    PGresult *res;

    if (ok) {
        res = PQexec(c, db_stmts[DB_STMT_COMMIT].sql);
        ok = migrate_ok(c, res, "commit");
        PQclear(res);
        if (ok)
            return 1;
    }
    PQclear(PQexec(c, db_stmts[DB_STMT_ROLLBACK].sql));
    return 0;
}

/* Applies one file unless recorded; 1 applied, 0 already there, -1 failed. */
static int migrate_one(PGconn *c, const char *dir, const char *name)
{
    char path[1024];
    char *sql = NULL;
    PGresult *res = NULL;
    int rc = -1;
    const char *params[MIGRATE_CHECKSUM__NIN];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    sql = migrate_read(path);
    if (!sql) {
        log_error("cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    /* migrate_record takes the same two inputs in the same places. */
    _Static_assert(MIGRATE_CHECKSUM_IN_VERSION == MIGRATE_RECORD_IN_VERSION &&
                       MIGRATE_CHECKSUM_IN_SQL == MIGRATE_RECORD_IN_SQL &&
                       MIGRATE_CHECKSUM__NIN == MIGRATE_RECORD__NIN,
                   "migrate_checksum and migrate_record inputs differ");
    params[MIGRATE_CHECKSUM_IN_VERSION] = name;
    params[MIGRATE_CHECKSUM_IN_SQL] = sql;
    res = PQexecParams(c, db_stmts[DB_STMT_MIGRATE_CHECKSUM].sql, MIGRATE_CHECKSUM__NIN, NULL,
                       params, NULL, NULL, 0);
    if (!migrate_ok(c, res, "read schema_migrations"))
        goto out;
    if (PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, MIGRATE_CHECKSUM_UNCHANGED), "t") != 0) {
            log_error("%s was changed after it was applied; add a new migration instead", name);
            goto out;
        }
        rc = 0;
        goto out;
    }
    PQclear(res);
    res = PQexec(c, db_stmts[DB_STMT_BEGIN].sql);
    if (!migrate_ok(c, res, "begin"))
        goto out;
    PQclear(res);
    res = PQexec(c, sql);
    if (!migrate_ok(c, res, name))
        goto rollback;
    PQclear(res);
    res = PQexecParams(c, db_stmts[DB_STMT_MIGRATE_RECORD].sql, MIGRATE_RECORD__NIN, NULL, params,
                       NULL, NULL, 0);
    if (!migrate_ok(c, res, "record migration"))
        goto rollback;
    PQclear(res);
    res = NULL;
    if (migrate_end(c, 1)) {
        log_info("applied %s", name);
        rc = 1;
    }
    goto out;
rollback:
    migrate_end(c, 0);
out:
    PQclear(res);
    free(sql);
    return rc;
}

int migrate_is_function_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".sql") == 0;
}

/* The sorted names of dir's files that pass keep(); -1 on error (logged). */
static int migrate_list(const char *dir, int (*keep)(const char *), char **names, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = -1;

    *n = 0;
    if (!d) {
        log_error("cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (!keep(de->d_name))
            continue;
        if (*n == MIGRATE_MAX_FILES) {
            log_error("more than %d files in %s", MIGRATE_MAX_FILES, dir);
            goto out;
        }
        names[*n] = strdup(de->d_name);
        if (!names[*n])
            goto out;
        (*n)++;
    }
    qsort(names, *n, sizeof(names[0]), migrate_cmp);
    rc = 0;
out:
    closedir(d);
    return rc;
}

/* Re-applies the function files whose checksum differs from the recorded one (every
 * file when all is set), in name order, in one transaction: a file that fails leaves
 * every definition as it was. 0 done, -1 failed. */
static int migrate_functions(PGconn *c, const char *dir, int all)
{
    char *names[MIGRATE_MAX_FILES];
    size_t n = 0;
    char path[1024];
    char *sql = NULL;
    PGresult *res = NULL;
    int rc = -1, applied = 0;
    const char *params[FUNCTIONS_RECORD__NIN];

    _Static_assert(FUNCTIONS_UNCHANGED_IN_NAME == FUNCTIONS_RECORD_IN_NAME &&
                       FUNCTIONS_UNCHANGED_IN_SQL == FUNCTIONS_RECORD_IN_SQL &&
                       FUNCTIONS_UNCHANGED__NIN == FUNCTIONS_RECORD__NIN,
                   "functions_unchanged and functions_record take the same parameters");
    res = PQexec(c, db_stmts[DB_STMT_FUNCTIONS_TABLE].sql);
    if (!migrate_ok(c, res, "create schema_functions"))
        goto out;
    PQclear(res);
    res = NULL;
    if (migrate_list(dir, migrate_is_function_name, names, &n) != 0)
        goto out;
    res = PQexec(c, db_stmts[DB_STMT_BEGIN].sql);
    if (!migrate_ok(c, res, "begin"))
        goto out;
    for (size_t i = 0; i < n; i++) {
        PQclear(res);
        res = NULL;
        free(sql);
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        sql = migrate_read(path);
        if (!sql) {
            log_error("cannot read %s: %s", path, strerror(errno));
            goto rollback;
        }
        params[FUNCTIONS_RECORD_IN_NAME] = names[i];
        params[FUNCTIONS_RECORD_IN_SQL] = sql;
        if (!all) {
            res = PQexecParams(c, db_stmts[DB_STMT_FUNCTIONS_UNCHANGED].sql,
                               FUNCTIONS_UNCHANGED__NIN, NULL, params, NULL, NULL, 0);
            if (!migrate_ok(c, res, "read schema_functions"))
                goto rollback;
            if (PQntuples(res) == 1)
                continue;
            PQclear(res);
        }
        res = PQexec(c, sql);
        if (!migrate_ok(c, res, names[i]))
            goto rollback;
        PQclear(res);
        res = PQexecParams(c, db_stmts[DB_STMT_FUNCTIONS_RECORD].sql, FUNCTIONS_RECORD__NIN, NULL,
                           params, NULL, NULL, 0);
        if (!migrate_ok(c, res, "record functions"))
            goto rollback;
        applied++;
    }
    PQclear(res);
    res = NULL;
    if (migrate_end(c, 1)) {
        log_info("functions up to date: %zu files, %d applied now", n, applied);
        rc = 0;
    }
    goto out;
rollback:
    migrate_end(c, 0);
out:
    PQclear(res);
    free(sql);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int migrate_run(const struct config *cfg)
{
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"10", "runwatch-migrate", cfg->database_url, NULL};
    PGconn *c = NULL;
    PGresult *res = NULL;
    char *names[MIGRATE_MAX_FILES];
    size_t n = 0;
    int rc = 1, applied = 0;

    c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        log_error("cannot connect to postgresql: %s", c ? PQerrorMessage(c) : "out of memory");
        goto out;
    }
    res = PQexec(c, db_stmts[DB_STMT_MIGRATE_QUIET].sql);
    PQclear(res);
    res = PQexec(c, db_stmts[DB_STMT_MIGRATE_LOCK].sql);
    if (!migrate_ok(c, res, "advisory lock"))
        goto out;
    PQclear(res);
    res = PQexec(c, db_stmts[DB_STMT_MIGRATE_TABLE].sql);
    if (!migrate_ok(c, res, "create schema_migrations"))
        goto out;
    PQclear(res);
    res = NULL;

    if (migrate_list(cfg->migrations_dir, migrate_is_migration_name, names, &n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int r = migrate_one(c, cfg->migrations_dir, names[i]);
        if (r < 0)
            goto out;
        applied += r;
    }
    log_info("schema up to date: %zu migrations, %d applied now", n, applied);
    if (migrate_functions(c, cfg->functions_dir, applied > 0) != 0)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    PQclear(res);
    if (c)
        PQfinish(c); /* closing the session releases the advisory lock */
    return rc;
}
