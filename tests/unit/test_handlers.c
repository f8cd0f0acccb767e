/* handlers: real handlers run against a fake database through the seam in struct db
 * (fake_exec). The fake answers each prepared statement with a result built by libpq
 * itself (PQmakeEmptyPGresult, PQsetResultAttrs, PQsetvalue), so handlers read it as
 * they read the server's; it records what each statement was given. No server. */
#include <limits.h>
#include <string.h>

#include <libpq-fe.h>

#include "access.h"
#include "api/events.h"
#include "api/runs.h"
#include "arena.h"
#include "config.h"
#include "db.h"
#include "group.h"
#include "log.h"
#include "pub.h"
#include "req.h"
#include "suites.h"

#define RUN_ID          "0b1c6a4e-2f59-4d1e-9a53-6c1f3f0c9a11"
#define PROJECT         "7"
#define FAKE_MAX_CALLS  16
#define FAKE_MAX_PARAMS 16

/* One statement the handler ran, with copies of its parameters (NULL stays NULL). */
struct fake_call {
    enum db_stmt_id id;
    int n;
    char *params[FAKE_MAX_PARAMS];
};

/* The fake database of one test: its answers and what it was asked. */
struct fake {
    int down; /* every statement fails as if the server were unreachable */
    PGresult *(*answer)(struct fake *f, enum db_stmt_id id, const char *const *params);
    const char *run_json;         /* RUN_GET's column 0, NULL for no such run */
    const char *heartbeat_status; /* RUN_HEARTBEAT's status, NULL for a superseded attempt */
    struct fake_call calls[FAKE_MAX_CALLS];
    int ncalls;
};

static struct arena a;
static struct config cfg;
static struct db db;
static struct pub pub;
static struct fake fk;

/* A result of text columns: values[row * ncols + col], NULL for SQL NULL. */
static PGresult *fake_rows(int ncols, int nrows, const char *const *values)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[8];
    static char *const names[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};

    if (!res || ncols > 8)
        return res;
    for (int c = 0; c < ncols; c++)
        attrs[c] = (PGresAttDesc){.name = names[c], .typid = 25, .typlen = -1, .atttypmod = -1};
    if (!PQsetResultAttrs(res, ncols, attrs)) {
        PQclear(res);
        return NULL;
    }
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++) {
            const char *v = values[r * ncols + c];
            PQsetvalue(res, r, c, (char *)(v ? v : ""), v ? (int)strlen(v) : -1);
        }
    return res;
}

static PGresult *fake_command(void)
{
    return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
}

/* The statements every test may meet; a statement no test expects is an empty result,
 * which a handler reads as "no such thing". */
static PGresult *fake_answer(struct fake *f, enum db_stmt_id id, const char *const *params)
{
    switch (id) {
    case DB_STMT_BEGIN:
    case DB_STMT_COMMIT:
        return fake_command();
    case DB_STMT_RUN_GET: {
        const char *v[RUN_GET__NOUT] = {
            [RUN_GET_RUN_JSON] = f->run_json, [RUN_GET_PROJECT_ID] = PROJECT};
        return fake_rows(RUN_GET__NOUT, f->run_json ? 1 : 0, v);
    }
    case DB_STMT_RUN_GET_VISIBLE: {
        /* The run is PROJECT's: a token sees it from there only; users are members. */
        const char *tp = params[RUN_GET_VISIBLE_IN_TOKEN_PROJECT];
        const char *v[RUN_GET_VISIBLE__NOUT] = {[RUN_GET_VISIBLE_RUN_JSON] = f->run_json};
        return fake_rows(RUN_GET_VISIBLE__NOUT,
                         f->run_json && (!tp || strcmp(tp, PROJECT) == 0) ? 1 : 0, v);
    }
    case DB_STMT_RUN_STATUS: {
        const char *v[RUN_STATUS__NOUT] = {
            [RUN_STATUS_STATUS] = "running", [RUN_STATUS_PROJECT_ID] = PROJECT};
        return fake_rows(RUN_STATUS__NOUT, 1, v);
    }
    case DB_STMT_PROJECT_ACCESS_USER_BY_ID: {
        /* The role is a user's; a token's comes from its scopes. */
        const char *v[PROJECT_ACCESS_USER_BY_ID__NOUT] = {
            [PROJECT_ACCESS_USER_BY_ID_ID] = PROJECT,
            [PROJECT_ACCESS_USER_BY_ID_ROLE] = "admin",
            [PROJECT_ACCESS_USER_BY_ID_SLUG] = "demo",
            [PROJECT_ACCESS_USER_BY_ID_NAME] = "Demo",
            [PROJECT_ACCESS_USER_BY_ID_CREATED_AT] = "2026-01-01T00:00:00Z"};
        return fake_rows(PROJECT_ACCESS_USER_BY_ID__NOUT, 1, v);
    }
    case DB_STMT_RUN_HEARTBEAT: {
        /* status NULL: the named attempt is not the running one */
        const char *v[RUN_HEARTBEAT__NOUT] = {[RUN_HEARTBEAT_PROJECT_ID] = PROJECT,
                                              [RUN_HEARTBEAT_CANCEL_REQUESTED] = "f",
                                              [RUN_HEARTBEAT_STATUS] = f->heartbeat_status,
                                              [RUN_HEARTBEAT_LATEST_ATTEMPT] = "4",
                                              [RUN_HEARTBEAT_LATEST_STATUS] = "running"};
        return fake_rows(RUN_HEARTBEAT__NOUT, 1, v);
    }
    case DB_STMT_EVENT_INSERT: {
        const char *v[EVENT_INSERT__NOUT] = {[EVENT_INSERT_PROJECT_ID] = PROJECT,
                                             [EVENT_INSERT_COUNT] = "1",
                                             [EVENT_INSERT_FIRST_ID] = "10",
                                             [EVENT_INSERT_LAST_ID] = "10",
                                             [EVENT_INSERT_EVENTS_JSON] = "{\"id\":\"10\"}"};
        return fake_rows(EVENT_INSERT__NOUT, 1, v);
    }
    default:
        return fake_rows(1, 0, NULL);
    }
}

static PGresult *fake_exec(void *ctx, enum db_stmt_id id, const char *const *params, int n)
{
    struct fake *f = ctx;

    if (f->ncalls < FAKE_MAX_CALLS) {
        struct fake_call *c = &f->calls[f->ncalls++];
        c->id = id;
        c->n = n;
        for (int i = 0; i < n && i < FAKE_MAX_PARAMS; i++)
            c->params[i] = params[i] ? arena_strdup(&a, params[i]) : NULL;
    }
    if (f->down)
        return NULL;
    return f->answer(f, id, params);
}

static const struct fake_call *fake_find(enum db_stmt_id id)
{
    for (int i = 0; i < fk.ncalls; i++)
        if (fk.calls[i].id == id)
            return &fk.calls[i];
    return NULL;
}

/* A request for POST/GET /api/v1/runs/RUN_ID… by identity id, with an optional body. */
static void setup(struct req *r, const struct access_ident *id, const char *body)
{
    arena_reset(&a);
    memset(&fk, 0, sizeof(fk));
    fk.answer = fake_answer;
    db_init(&db, "");
    db.fake_exec = fake_exec;
    db.fake_ctx = &fk;
    req_init(r, &a);
    op_init(&r->op, &a, &cfg, &db, &pub);
    r->op.ident = id;
    r->method = "POST";
    r->path = "/api/v1/runs/" RUN_ID;
    r->path_params[0] = (struct req_param){"run", RUN_ID};
    r->n_path_params = 1;
    if (body) {
        r->body = body;
        r->body_len = strlen(body);
        r->content_type = "application/json";
    }
}

/* Parameter i of a call is the text s (a NULL parameter is not). */
static int param_is(const struct fake_call *c, int i, const char *s)
{
    return i < c->n && c->params[i] && strcmp(c->params[i], s) == 0;
}

static const char *header(const struct req *r, const char *name)
{
    for (size_t i = 0; i < r->n_resp_headers; i++)
        if (strcmp(r->resp_headers[i].name, name) == 0)
            return r->resp_headers[i].value;
    return NULL;
}

static const struct access_ident member_token = {.kind = ACCESS_TOKEN,
                                                 .token_id = "3",
                                                 .token_project_id = PROJECT,
                                                 .token_role = ACCESS_ROLE_MEMBER};
static const struct access_ident viewer_token = {.kind = ACCESS_TOKEN,
                                                 .token_id = "4",
                                                 .token_project_id = PROJECT,
                                                 .token_role = ACCESS_ROLE_VIEWER};

static void test_runs_get_found(void)
{
    struct req r;

    setup(&r, &viewer_token, NULL);
    fk.run_json = "{\"id\":\"" RUN_ID "\",\"status\":\"running\"}";
    int rc = runs_get(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.resp_len, strlen(fk.run_json));
    CU_ASSERT_NSTRING_EQUAL(r.resp_body, fk.run_json, r.resp_len);
    /* One statement: the run with the access check folded in, the token's project as it. */
    CU_ASSERT_EQUAL(fk.ncalls, 1);
    const struct fake_call *c = fake_find(DB_STMT_RUN_GET_VISIBLE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(param_is(c, RUN_GET_VISIBLE_IN_RUN, RUN_ID));
    CU_ASSERT(param_is(c, RUN_GET_VISIBLE_IN_TOKEN_PROJECT, PROJECT));
    CU_ASSERT_PTR_NULL(c->params[RUN_GET_VISIBLE_IN_USER_ID]);
}

static void test_runs_get_not_found(void)
{
    struct req r;

    setup(&r, &viewer_token, NULL);
    fk.run_json = NULL;
    int rc = runs_get(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL_FATAL(r.status, 404);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "not_found");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.resp_body, "\"not_found\""));
    /* Nothing about the project was asked for a run that is not there. */
    CU_ASSERT_PTR_NULL(fake_find(DB_STMT_PROJECT_ACCESS_USER_BY_ID));
}

static void test_runs_heartbeat_params(void)
{
    struct req r;

    setup(&r, &member_token, "{\"progress\":0.5,\"attempt\":4}");
    fk.heartbeat_status = "running";
    int rc = runs_heartbeat(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    const struct fake_call *c = fake_find(DB_STMT_RUN_HEARTBEAT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(c->n, RUN_HEARTBEAT__NIN);
    /* The writer is a token: its project, no user, not an admin. */
    CU_ASSERT(param_is(c, RUN_HEARTBEAT_IN_RUN, RUN_ID));
    CU_ASSERT(param_is(c, RUN_HEARTBEAT_IN_TOKEN_PROJECT, PROJECT));
    CU_ASSERT_PTR_NULL(c->params[RUN_HEARTBEAT_IN_USER_ID]);
    CU_ASSERT(param_is(c, RUN_HEARTBEAT_IN_IS_ADMIN, "false"));
    CU_ASSERT(param_is(c, RUN_HEARTBEAT_IN_PROGRESS, "0.5"));
    CU_ASSERT(param_is(c, RUN_HEARTBEAT_IN_ATTEMPT, "4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.resp_body, "\"status\":\"running\""));
}

static void test_runs_heartbeat_superseded(void)
{
    struct req r;

    setup(&r, &member_token, "{\"attempt\":3}");
    fk.heartbeat_status = NULL; /* attempt 3 is not the running one: attempt 4 is */
    int rc = runs_heartbeat(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL_FATAL(r.status, 409);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "attempt_superseded");
    CU_ASSERT_STRING_EQUAL(r.op.err.field, "attempt");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.op.err.message, "4 (running)"));
    const struct fake_call *c = fake_find(DB_STMT_RUN_HEARTBEAT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NULL(c->params[RUN_HEARTBEAT_IN_PROGRESS]); /* no progress given */
    CU_ASSERT(param_is(c, RUN_HEARTBEAT_IN_ATTEMPT, "3"));
}

static void test_write_database_down(void)
{
    struct req r;

    setup(&r, &member_token, NULL);
    fk.down = 1;
    int rc = runs_cancel(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL_FATAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "unavailable");
    CU_ASSERT_PTR_NOT_NULL_FATAL(header(&r, "Retry-After"));
    CU_ASSERT_STRING_EQUAL(header(&r, "Retry-After"), "1");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.resp_body, "\"unavailable\""));
    /* The first failure is the one reported: nothing ran after it. */
    CU_ASSERT_EQUAL(fk.ncalls, 1);
}

static void test_viewer_cannot_write(void)
{
    struct req r;

    setup(&r, &viewer_token, "{\"progress\":0.25}");
    int rc = runs_heartbeat(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL_FATAL(r.status, 403);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "forbidden");
    /* A read-only token never reaches the write: the slow lookup says why. */
    CU_ASSERT_PTR_NULL(fake_find(DB_STMT_RUN_HEARTBEAT));
    CU_ASSERT_PTR_NOT_NULL(fake_find(DB_STMT_RUN_STATUS));
}

/* With other requests ready, a lone event stops at its write (REQ_DEFERRED): nothing
 * is run yet, the write is recorded with its parameters, and running it later completes
 * the request as if it had run at once. A group cannot form under the fake (db_batch
 * says so), which is the path of a failed group: each write alone. */
static void test_event_deferred(void)
{
    struct req r;

    setup(&r, &member_token, "{\"message\":\"m\"}");
    CU_ASSERT_EQUAL_FATAL(req_read_body(&r), 0);
    r.may_defer = 1;
    int rc = events_create(&r);
    CU_ASSERT_EQUAL_FATAL(rc, REQ_DEFERRED);
    CU_ASSERT_EQUAL(fk.ncalls, 0);
    CU_ASSERT_EQUAL(r.write.stmt, DB_STMT_EVENT_INSERT);
    CU_ASSERT_EQUAL_FATAL(r.write.nparams, EVENT_INSERT__NIN);
    CU_ASSERT_STRING_EQUAL(r.write.params[EVENT_INSERT_IN_RUN], RUN_ID);
    CU_ASSERT_STRING_EQUAL(r.write.params[EVENT_INSERT_IN_TOKEN_PROJECT], PROJECT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.write.params[EVENT_INSERT_IN_EVENTS], "\"m\""));

    struct db_batch_item it[2] = {{.stmt = DB_STMT_EVENT_INSERT,
                                   .params = r.write.params,
                                   .nparams = r.write.nparams,
                                   .op = &r.op},
                                  {.stmt = DB_STMT_EVENT_INSERT,
                                   .params = r.write.params,
                                   .nparams = r.write.nparams,
                                   .op = &r.op}};
    CU_ASSERT_EQUAL(db_batch(&db, it, 2), DB_BATCH_FAILED);
    CU_ASSERT_EQUAL(fk.ncalls, 0);
    rc = group_run_now(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(fk.ncalls, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.resp_body, "\"first_id\":\"10\""));
}

/* A batch of events is one commit already: it never waits for a group. */
static void test_event_batch_not_deferred(void)
{
    struct req r;

    setup(&r, &member_token, "{\"events\":[{\"message\":\"a\"},{\"message\":\"b\"}]}");
    CU_ASSERT_EQUAL_FATAL(req_read_body(&r), 0);
    r.may_defer = 1;
    int rc = events_create(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_PTR_NOT_NULL(fake_find(DB_STMT_EVENT_INSERT));
}

static void test_other_projects_token_sees_nothing(void)
{
    static const struct access_ident other = {.kind = ACCESS_TOKEN,
                                              .token_id = "5",
                                              .token_project_id = "8",
                                              .token_role = ACCESS_ROLE_ADMIN};
    struct req r;

    setup(&r, &other, NULL);
    fk.run_json = "{}";
    int rc = runs_get(&r);
    req_render(&r, rc);
    CU_ASSERT_EQUAL_FATAL(r.status, 404);
    CU_ASSERT_STRING_EQUAL(r.op.err.message, "no such run");
}

/* GET /runs?query by identity id: the statements runs_list ran. */
static int list_with(struct req *r, const struct access_ident *id, const char *query)
{
    setup(r, id, NULL);
    r->method = "GET";
    r->path = "/api/v1/runs";
    r->n_path_params = 0;
    CU_ASSERT_EQUAL_FATAL(req_parse_query(r, query), 0);
    int rc = runs_list(r);
    req_render(r, rc);
    return rc;
}

static void test_runs_list_statements(void)
{
    static const struct access_ident user = {
        .kind = ACCESS_SESSION, .user_id = "9", .session_id = "1"};
    const struct fake_call *c;
    struct req r;

    /* A token's own project needs no lookup: one statement, the list. Statuses alone keep
     * the plain statement (its generic plan), with the page size plus one. */
    CU_ASSERT_EQUAL(list_with(&r, &viewer_token, "status=succeeded,failed"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(fk.ncalls, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c = fake_find(DB_STMT_RUN_LIST_CREATED_DESC));
    CU_ASSERT(param_is(c, RUN_LIST_CREATED_DESC_IN_PROJECT_ID, PROJECT));
    CU_ASSERT(param_is(c, RUN_LIST_CREATED_DESC_IN_STATUSES, "{succeeded,failed}"));
    CU_ASSERT(param_is(c, RUN_LIST_CREATED_DESC_IN_LIMIT, "101"));
    CU_ASSERT_PTR_NULL(c->params[RUN_LIST_CREATED_DESC_IN_CURSOR_KEY]);

    /* Nothing at all: the default view's own statement. */
    CU_ASSERT_EQUAL(list_with(&r, &viewer_token, "limit=5"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c = fake_find(DB_STMT_RUN_LIST_CREATED_DESC_ALL));
    CU_ASSERT(param_is(c, RUN_LIST_CREATED_DESC_ALL_IN_LIMIT, "6"));

    /* Another sort without statuses: the plain statement over every status. */
    CU_ASSERT_EQUAL(list_with(&r, &viewer_token, "sort=started&order=asc"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c = fake_find(DB_STMT_RUN_LIST_STARTED_ASC));
    CU_ASSERT_PTR_NULL(c->params[RUN_LIST_CREATED_DESC_IN_STATUSES]);

    /* Any other filter: the filtered statement, planned for its values. */
    CU_ASSERT_EQUAL(list_with(&r, &viewer_token, "sort=duration&kind=train&status=failed"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c = fake_find(DB_STMT_RUN_LIST_DURATION_DESC_FILTERED));
    CU_ASSERT(param_is(c, RUN_LIST_CREATED_DESC_FILTERED_IN_KIND, "train"));
    CU_ASSERT(param_is(c, RUN_LIST_CREATED_DESC_FILTERED_IN_STATUSES, "{failed}"));

    /* A user names the project, which is looked up (here: not theirs, so no list). */
    CU_ASSERT_EQUAL(list_with(&r, &user, "project=demo"), -1);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_PTR_NOT_NULL(fake_find(DB_STMT_PROJECT_ACCESS_USER));
    CU_ASSERT_PTR_NULL(fake_find(DB_STMT_RUN_LIST_CREATED_DESC_ALL));
}

static enum log_level saved_level;

static int handlers_init(void)
{
    /* The handlers log what a server would (Redis down, database down): expected here. */
    saved_level = log_min_level;
    log_min_level = LOG_LEVEL_ERROR;
    arena_init(&a, 16384);
    memset(&cfg, 0, sizeof(cfg));
    /* Publishing never reaches a server: the publisher is backing off for good. */
    memset(&pub, 0, sizeof(pub));
    pub.retry_at.tv_sec = LONG_MAX;
    return 0;
}

static int handlers_fini(void)
{
    log_min_level = saved_level;
    arena_fini(&a);
    return 0;
}

int suite_handlers_register(void)
{
    static const struct test_case cases[] = {
        {"runs_get answers the run", test_runs_get_found},
        {"runs_get of no such run is 404", test_runs_get_not_found},
        {"runs_list picks the statement of its filters", test_runs_list_statements},
        {"runs_heartbeat passes its parameters in their slots", test_runs_heartbeat_params},
        {"runs_heartbeat of a superseded attempt is 409", test_runs_heartbeat_superseded},
        {"a write while the database is down is 503 with Retry-After", test_write_database_down},
        {"a viewer's write is 403", test_viewer_cannot_write},
        {"another project's token gets 404", test_other_projects_token_sees_nothing},
        {"a lone event among ready requests waits for the group", test_event_deferred},
        {"a batch of events never waits for a group", test_event_batch_not_deferred},
        {NULL, NULL},
    };
    CU_pSuite s = CU_add_suite("handlers", handlers_init, handlers_fini);
    if (!s)
        return -1;
    for (const struct test_case *c = cases; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn))
            return -1;
    return 0;
}
