/* housekeep: one connection, its own statements of db_stmt.c prepared at connect, and a
 * loop that asks PostgreSQL which tasks are due and runs each in a statement (so in a
 * transaction) of its own; a task that works in bounded slices runs again at once while
 * it says there is more (lease expiry: tens of thousands at once). A task's failure is caught in
 * SQL, recorded and logged; it never ends the process. Losing the database drops leadership with
 * the session: the process reconnects and competes again. What a task asks to publish (live events)
 * goes to Redis after its statement has committed, like a handler's writes. */
#include "housekeep.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db_stmt.h"
#include "log.h"
#include "pub.h"

#define HOUSEKEEP_TICK_S       1   /* how often due tasks are looked for */
#define HOUSEKEEP_STANDBY_S    10  /* a non-leader's (or a disconnected one's) wait */
#define HOUSEKEEP_PUBLISH_STEP 256 /* publishes in flight at most (housekeep_publish) */

static volatile sig_atomic_t housekeep_stop;

static void housekeep_on_term(int sig)
{
    (void)sig;
    housekeep_stop = 1;
}

/* Sleeps up to s seconds, returning early on SIGTERM. */
static void housekeep_sleep(int s)
{
    for (int i = 0; i < s * 10 && !housekeep_stop; i++) {
        struct timespec t = {0, 100000000};
        nanosleep(&t, NULL);
    }
}

static PGconn *housekeep_connect(const struct config *cfg)
{
    static const enum db_stmt_id stmts[] = {DB_STMT_HOUSEKEEP_LEAD, DB_STMT_HOUSEKEEP_DUE,
                                            DB_STMT_HOUSEKEEP_RUN};
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"10", "runwatch-housekeeper", cfg->database_url, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (!c || PQstatus(c) != CONNECTION_OK) {
        log_warn("cannot connect to postgresql: %s", c ? PQerrorMessage(c) : "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
        const struct db_stmt *s = &db_stmts[stmts[i]];
        PGresult *res = PQprepare(c, s->name, s->sql, s->nparams, NULL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            log_error("preparing %s failed: %s", s->name, PQerrorMessage(c));
            goto fail;
        }
    }
    return c;
fail:
    PQfinish(c);
    return NULL;
}

static PGresult *housekeep_exec(PGconn *c, enum db_stmt_id id, const char *const *params)
{
    const struct db_stmt *s = &db_stmts[id];
    PGresult *res = PQexecPrepared(c, s->name, s->nparams, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_warn("%s failed: %s", s->name, PQerrorMessage(c));
        PQclear(res);
        return NULL;
    }
    return res;
}

/* 1 when a task's result says it did something (any number in it is not 0): those
 * are logged at info, idle passes (a fold with nothing to fold) at debug. */
static int housekeep_did_something(json_object *o)
{
    if (json_object_is_type(o, json_type_int))
        return json_object_get_int64(o) != 0;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            if (housekeep_did_something(v))
                return 1;
        }
    }
    return 0;
}

/* Publishes a task's list (after its commit); returns how many it held. */
static size_t housekeep_publish(struct pub *pub, const char *publish)
{
    json_object *arr = json_tokener_parse(publish);
    size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;

    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i), *v;
        const char *project =
            json_object_object_get_ex(e, "project", &v) ? json_object_get_string(v) : NULL;
        const char *type =
            json_object_object_get_ex(e, "type", &v) ? json_object_get_string(v) : NULL;
        const char *run =
            json_object_object_get_ex(e, "run", &v) ? json_object_get_string(v) : NULL;
        const char *data = json_object_object_get_ex(e, "data", &v)
                               ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                               : NULL;
        if (project && type)
            pub_event(pub, project, type, run, data);
        /* Flushed in steps, the commands and replies in hand stay bounded. */
        if ((i + 1) % HOUSEKEEP_PUBLISH_STEP == 0)
            pub_flush(pub);
    }
    pub_flush(pub); /* the last reply now, not at the next slice's or task's publish */
    json_object_put(arr);
    return n;
}

/* Runs one task, slice after slice while its result says "more" (70_housekeeping.sql),
 * each slice's publishes made before the next slice runs, so a slice committed is a
 * slice published unless the process dies in between (the master then resets every
 * stream, master.c). A stop ends the task after the slice in hand. Returns 0, 1 when
 * it failed, -1 when the connection is lost. */
static int housekeep_task(PGconn *c, struct pub *pub, const struct config *cfg, const char *name,
                          int all)
{
    const char *pr[HOUSEKEEP_RUN__NIN] = {
        [HOUSEKEEP_RUN_IN_TASK] = name, [HOUSEKEEP_RUN_IN_SETTINGS] = cfg->housekeep_settings};
    size_t published = 0;
    int more = 0, rc = 0;

    do {
        PGresult *res = housekeep_exec(c, DB_STMT_HOUSEKEEP_RUN, pr);
        if (!res) {
            rc = PQstatus(c) == CONNECTION_OK ? 1 : -1;
            break;
        }
        const char *result = PQgetvalue(res, 0, HOUSEKEEP_RUN_RESULT);
        more = 0;
        if (PQgetvalue(res, 0, HOUSEKEEP_RUN_OK)[0] != 't') {
            log_warn("task %s failed: %s", name, result);
            rc = 1;
        } else {
            json_object *o = json_tokener_parse(result), *v;
            if (all || housekeep_did_something(o))
                log_info("task %s: %s", name, result);
            else
                log_debug("task %s: %s", name, result);
            more = json_object_object_get_ex(o, "more", &v) &&
                   json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
            json_object_put(o);
            published += housekeep_publish(pub, PQgetvalue(res, 0, HOUSEKEEP_RUN_PUBLISH));
        }
        PQclear(res);
    } while (more && !housekeep_stop);
    /* Thousands of publishes parsed and freed, slice by slice: give the memory back to
     * the system rather than keep a one-off peak for the life of the process. */
    if (published > HOUSEKEEP_PUBLISH_STEP)
        malloc_trim(0);
    return rc;
}

/* Runs the due tasks (all of them when all). Returns how many failed, or -1 when the
 * connection is lost. */
static int housekeep_pass(PGconn *c, struct pub *pub, const struct config *cfg, int all)
{
    const char *pd[HOUSEKEEP_DUE__NIN] = {[HOUSEKEEP_DUE_IN_ALL] = all ? "true" : "false"};
    PGresult *due = housekeep_exec(c, DB_STMT_HOUSEKEEP_DUE, pd);
    int failed = 0;

    if (!due)
        return PQstatus(c) == CONNECTION_OK ? 1 : -1;
    for (int i = 0; i < PQntuples(due) && !housekeep_stop; i++) {
        int rc = housekeep_task(c, pub, cfg, PQgetvalue(due, i, HOUSEKEEP_DUE_TASK), all);
        if (rc < 0) {
            failed = -1;
            break;
        }
        failed += rc;
    }
    PQclear(due);
    return failed;
}

static void housekeep_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = housekeep_on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
}

int housekeep_once(const struct config *cfg)
{
    struct config_redis_addr ra;
    struct pub pub;
    PGconn *c;
    int failed;

    housekeep_signals();
    if (!(c = housekeep_connect(cfg)))
        return 1;
    config_redis_addr(cfg, &ra);
    pub_init(&pub, &ra);
    failed = housekeep_pass(c, &pub, cfg, 1);
    pub_fini(&pub);
    PQfinish(c);
    return failed == 0 ? 0 : 1;
}

int housekeep_main(const struct config *cfg)
{
    struct config_redis_addr ra;
    struct pub pub;
    PGconn *c = NULL;
    int leading = 0, said_standby = 0, all = 0;

    housekeep_signals();
    config_redis_addr(cfg, &ra);
    pub_init(&pub, &ra);
    log_info("housekeeper started");
    while (!housekeep_stop) {
        if (!c && !(c = housekeep_connect(cfg))) {
            housekeep_sleep(HOUSEKEEP_STANDBY_S);
            continue;
        }
        if (!leading) {
            static const char *const none[1];
            PGresult *res = housekeep_exec(c, DB_STMT_HOUSEKEEP_LEAD, none);
            leading = res && PQgetvalue(res, 0, HOUSEKEEP_LEAD_LEADING)[0] == 't';
            PQclear(res);
            if (!leading) {
                if (PQstatus(c) != CONNECTION_OK) {
                    PQfinish(c);
                    c = NULL;
                } else if (!said_standby) {
                    log_info("another housekeeper leads; standing by");
                    said_standby = 1;
                }
                housekeep_sleep(HOUSEKEEP_STANDBY_S);
                continue;
            }
            log_info("leading the housekeeping");
            said_standby = 0;
            /* A new leader runs every task at once, due or not: a stack that starts on a
             * database whose partitions ran out heals now, not within the hour. */
            all = 1;
        }
        int failed = housekeep_pass(c, &pub, cfg, all);
        all = 0;
        if (failed < 0) {
            log_warn("lost the database; reconnecting");
            PQfinish(c);
            c = NULL;
            leading = 0;
        }
        housekeep_sleep(HOUSEKEEP_TICK_S);
    }
    log_info("housekeeper stopping");
    PQfinish(c);
    pub_fini(&pub);
    return 0;
}
