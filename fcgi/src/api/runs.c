/* runs: create (idempotent), read, list, report progress and outcome, cancel.
 * - A retried create never makes a second run: the client's id or Idempotency-Key
 *   makes the INSERT a no-op and the first run comes back (200 instead of 201). A client's
 *   id lies in its project's part of the id space, so it never meets another project's run.
 * - The state machine is the lifecycle's (sql/functions/25_lifecycle.sql): its trigger
 *   refuses an illegal move with a 409 naming both states, whoever writes. Ending a run
 *   stamps ended_at; an error is fingerprinted in SQL.
 * - Run JSON is made by PostgreSQL (run_json() in sql/functions/10_json.sql) and sent as it is,
 *   except the list's, which runjson.c makes from binary columns (cheaper for the server).
 * - Every committed change is published after COMMIT; publishing never fails a write.
 * - Secrets in what a producer sends (keys by their words, values by their shape; jsonx_redact)
 *   are redacted before anything reads the body. */
#include "runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access.h"
#include "api/run_deps.h"
#include "config.h"
#include "counters.h"
#include "db.h"
#include "group.h"
#include "idcache.h"
#include "log.h"
#include "pgjson.h"
#include "policies.h"
#include "pub.h"
#include "runcache.h"
#include "runjson.h"

static const char *const run_statuses[] = {"queued", "running",   "retrying", "succeeded",
                                           "failed", "cancelled", NULL};
static const char *const create_statuses[] = {"queued", "running", NULL};

/* A JSON child as text for a jsonb parameter, or NULL when absent. */
static const char *runs_child_text(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return NULL;
    return jsonx_to_string(v, NULL);
}

/* Run ids are global (paths name a run by its id alone), so a client-chosen id that another
 * project's run holds could never be created, and answering so would tell the caller that
 * run exists. A client therefore chooses ids only in its project's own part of the id space
 * (docs/ARCHITECTURE.md, "Run ids"): version 8 UUIDs whose last 12 hex digits are the
 * project's number. The server's ids are version 4, so no other project's run, the server's
 * or a client's, can hold one; any other id is refused by its shape alone, whether or not a
 * run has it. */
static int runs_id_in_project(const char *id, const char *project_id)
{
    char tail[16];

    snprintf(tail, sizeof(tail), "%012llx", strtoull(project_id, NULL, 10));
    return id[14] == '8' && strchr("89abAB", id[19]) && strlen(tail) == 12 &&
           strncasecmp(id + 24, tail, 12) == 0;
}

int runs_check_tags(struct req *r, json_object *body, const char **out)
{
    struct jsonx_err je;
    json_object *tags = NULL;
    int present = 0;

    if (jsonx_child(body, "tags", 0, json_type_array, &tags, &present, &je))
        return req_error_json(r, 400, &je);
    if (!present)
        return 0;
    if (json_object_array_length(tags) > 50)
        return req_error(r, 422, "invalid_value", "tags", "at most 50 tags");
    for (size_t i = 0; i < json_object_array_length(tags); i++) {
        json_object *t = json_object_array_get_idx(tags, i);
        if (!t || !json_object_is_type(t, json_type_string) || json_object_get_string_len(t) < 1 ||
            json_object_get_string_len(t) > 100)
            return req_error(r, 422, "invalid_value", "tags",
                             "tags must be strings of 1 to 100 bytes");
    }
    *out = jsonx_to_string(tags, NULL);
    return 0;
}

/* The run's JSON (column jcol of row 0) with its own retry policy's keys (column pcol, the
 * run_policy_column fragment of sql/statements/runs.sql: NULL when it set none) before its
 * closing brace: the single-run answers show the policy, run_json() and the list do not. */
static const char *runs_detail_json(struct req *r, PGresult *res, int jcol, int pcol)
{
    const char *json = PQgetvalue(res, 0, jcol);
    size_t n = strlen(json);

    if (PQgetisnull(res, 0, pcol) || n < 2 || json[n - 1] != '}')
        return json;
    return arena_sprintf(r->op.arena, "%.*s%s}", (int)(n - 1), json, PQgetvalue(res, 0, pcol));
}

int runs_create(struct req *r)
{
    static const char *const keys[] = {
        "id",          "project",       "kind",       "name",      "queue",          "status",
        "priority",    "input",         "params",     "tags",      "parent_id",      "group_id",
        "progress",    "max_attempts",  "retry_on",   "timeout_s", "unresponsive_s", "depends_on",
        "after_group", "experiment_id", "experiment", NULL};
    json_object *b = r->body_json, *params = NULL;
    struct policy_in pol;
    struct jsonx_err je;
    const char *id = NULL, *slug = NULL, *kind = NULL, *name = "", *queue = "default";
    const char *status = "queued", *parent = NULL, *group = NULL, *tags = "[]";
    const char *exp_name = NULL, *exp_id = NULL;
    int64_t priority = 0, experiment = 0;
    double progress = 0;
    int has_progress = 0, has_experiment = 0;
    struct access_project pr;
    PGresult *res;

    /* First: redaction replaces strings, and the getters below hand out pointers into them. */
    jsonx_redact(b, r->op.cfg->redact_keys);
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "id", JSONX_NULLABLE, 36, 36, &id, NULL, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je) ||
        jsonx_string(b, "kind", JSONX_REQUIRED, 1, 200, &kind, NULL, &je) ||
        jsonx_string(b, "name", JSONX_NULLABLE, 0, 500, &name, NULL, &je) ||
        jsonx_string(b, "queue", JSONX_NULLABLE, 1, 200, &queue, NULL, &je) ||
        jsonx_enum(b, "status", JSONX_NULLABLE, create_statuses, &status, NULL, &je) ||
        jsonx_int(b, "priority", JSONX_NULLABLE, -1000000, 1000000, &priority, NULL, &je) ||
        jsonx_child(b, "params", JSONX_NULLABLE, json_type_object, &params, NULL, &je) ||
        jsonx_string(b, "parent_id", JSONX_NULLABLE, 36, 36, &parent, NULL, &je) ||
        jsonx_string(b, "group_id", JSONX_NULLABLE, 1, 200, &group, NULL, &je) ||
        jsonx_number(b, "progress", JSONX_NULLABLE, 0, 1, &progress, &has_progress, &je) ||
        jsonx_int(b, "experiment_id", JSONX_NULLABLE, 1, INT64_MAX, &experiment, &has_experiment,
                  &je) ||
        jsonx_string(b, "experiment", JSONX_NULLABLE, 1, 200, &exp_name, NULL, &je))
        return req_error_json(r, 400, &je);
    if (has_experiment && exp_name)
        return req_error(r, 400, "invalid_field", "experiment",
                         "give experiment_id or experiment, not both");
    if (id && !jsonx_is_uuid(id))
        return req_error(r, 400, "invalid_field", "id", "id must be a UUID");
    if (parent && !jsonx_is_uuid(parent))
        return req_error(r, 400, "invalid_field", "parent_id", "parent_id must be a UUID");
    const char *dep_ids, *dep_group;
    if (runs_check_tags(r, b, &tags) || policies_parse(r, b, &pol) ||
        run_deps_parse(r, b, &dep_ids, &dep_group))
        return -1;
    const char *key;
    if (runs_idempotency_key(r, &key))
        return -1;
    /* A token writes to its own project; a user names the project. */
    if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_MEMBER, &pr))
        return -1;
    if (id && !runs_id_in_project(id, pr.id))
        return req_error(r, 422, "invalid_value", "id",
                         "a client-chosen id must be a version 8 UUID whose last 12 hex digits "
                         "are the project's id");

    const char *prio = arena_sprintf(r->op.arena, "%lld", (long long)priority);
    const char *prog = has_progress ? arena_sprintf(r->op.arena, "%.17g", progress) : NULL;
    if (db_begin(&r->op))
        return -1;
    if (parent) {
        const char *pp[RUN_IN_PROJECT__NIN] = {
            [RUN_IN_PROJECT_IN_RUN] = parent, [RUN_IN_PROJECT_IN_PROJECT_ID] = pr.id};
        if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_IN_PROJECT, pp)))
            return -1;
        if (PQntuples(res) != 1)
            return req_error(r, 422, "invalid_reference", "parent_id",
                             "parent_id is not a run of this project");
    }
    if (run_deps_check(r, pr.id, dep_ids))
        return -1;

    if (has_experiment || exp_name) {
        /* The experiment by id or name, in the run's project (api/experiments.c). */
        const char *field = exp_name ? "experiment" : "experiment_id";
        const char *pp[EXPERIMENT_RESOLVE__NIN] = {
            [EXPERIMENT_RESOLVE_IN_PROJECT_ID] = pr.id,
            [EXPERIMENT_RESOLVE_IN_ID] =
                has_experiment ? arena_sprintf(r->op.arena, "%lld", (long long)experiment) : NULL,
            [EXPERIMENT_RESOLVE_IN_NAME] = exp_name};
        if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_RESOLVE, pp)))
            return -1;
        if (PQntuples(res) != 1)
            return req_error(r, 422, "invalid_reference", field,
                             "%s is not an experiment of this project", field);
        exp_id = arena_strdup(r->op.arena, PQgetvalue(res, 0, EXPERIMENT_RESOLVE_ID));
    }
    const char *p[RUN_INSERT__NIN] = {[RUN_INSERT_IN_ID] = id,
                                      [RUN_INSERT_IN_PROJECT_ID] = pr.id,
                                      [RUN_INSERT_IN_IDEMPOTENCY_KEY] = key,
                                      [RUN_INSERT_IN_KIND] = kind,
                                      [RUN_INSERT_IN_NAME] = name,
                                      [RUN_INSERT_IN_QUEUE] = queue,
                                      [RUN_INSERT_IN_STATUS] = status,
                                      [RUN_INSERT_IN_PRIORITY] = prio,
                                      [RUN_INSERT_IN_INPUT] = runs_child_text(b, "input"),
                                      [RUN_INSERT_IN_PARAMS] = runs_child_text(b, "params"),
                                      [RUN_INSERT_IN_TAGS] = tags,
                                      [RUN_INSERT_IN_PARENT] = parent,
                                      [RUN_INSERT_IN_GROUP_ID] = group,
                                      [RUN_INSERT_IN_PROGRESS] = prog,
                                      [RUN_INSERT_IN_SLUG] = pr.slug,
                                      [RUN_INSERT_IN_MAX_ATTEMPTS] = pol.max_attempts,
                                      [RUN_INSERT_IN_RETRY_ON] = pol.retry_on,
                                      [RUN_INSERT_IN_TIMEOUT_S] = pol.timeout_s,
                                      [RUN_INSERT_IN_UNRESPONSIVE_S] = pol.unresponsive_s,
                                      [RUN_INSERT_IN_EXPERIMENT_ID] = exp_id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_INSERT, p)))
        return -1;
    if (PQntuples(res) == 1) {
        const char *json = runs_detail_json(r, res, RUN_INSERT_RUN_JSON, RUN_INSERT_POLICY),
                   *rid = PQgetvalue(res, 0, RUN_INSERT_ID);
        if (run_deps_write(r, rid, pr.id, dep_ids, dep_group) || db_commit(&r->op))
            return -1;
        pub_event(r->op.pub, pr.id, "run.created", rid, json);
        return req_json_text(r, 201, json);
    }
    /* The id or the key was seen before: answer with that run. Only a run made before ids
     * were kept to their project's part (runs_id_in_project) can be another project's. */
    const char *pe[RUN_FIND_EXISTING__NIN] = {[RUN_FIND_EXISTING_IN_ID] = id,
                                              [RUN_FIND_EXISTING_IN_IDEMPOTENCY_KEY] = key,
                                              [RUN_FIND_EXISTING_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_FIND_EXISTING, pe)) || db_commit(&r->op))
        return -1;
    /* No id or key matched: the insert met runs_experiment_active_idx (migration 0034), the
     * database's rule of one active run per experiment. */
    if (PQntuples(res) != 1 && exp_id)
        return req_error(r, 409, "conflict", has_experiment ? "experiment_id" : "experiment",
                         "the experiment already has an active run");
    if (PQntuples(res) != 1 || PQgetvalue(res, 0, RUN_FIND_EXISTING_SAME_PROJECT)[0] != 't')
        return req_error(r, 409, "conflict", "id", "this id is already in use");
    return req_json_text(
        r, 200, runs_detail_json(r, res, RUN_FIND_EXISTING_RUN_JSON, RUN_FIND_EXISTING_POLICY));
}

int runs_idempotency_key(struct req *r, const char **key)
{
    *key = req_header(r, "Idempotency-Key");
    if (*key && (strlen(*key) < 1 || strlen(*key) > 200))
        return req_error(r, 400, "invalid_header", "Idempotency-Key",
                         "Idempotency-Key must be 1 to 200 bytes");
    return 0;
}

int runs_batch_prior(struct req *r, const char *kind, const char *key, const char *body, int known,
                     const char *same, struct runs_prior *prior)
{
    if (!known) {
        const char *p[WRITE_KEY_GET__NIN] = {[WRITE_KEY_GET_IN_RUN] = req_path_param(r, "run"),
                                             [WRITE_KEY_GET_IN_KIND] = kind,
                                             [WRITE_KEY_GET_IN_KEY] = key,
                                             [WRITE_KEY_GET_IN_BODY] = body};
        PGresult *res = DB_EXEC(&r->op, DB_STMT_WRITE_KEY_GET, p);
        if (!res)
            return -1;
        /* The duplicate rolled back after all, or its key expired meanwhile: nothing to
         * answer with, and this request stored nothing either. */
        if (PQntuples(res) != 1)
            return req_error(r, 409, "conflict", "Idempotency-Key",
                             "a request with this Idempotency-Key did not complete; retry");
        prior->count = PQgetvalue(res, 0, WRITE_KEY_GET_COUNT);
        prior->first_id = PQgetisnull(res, 0, WRITE_KEY_GET_FIRST_ID)
                              ? NULL
                              : PQgetvalue(res, 0, WRITE_KEY_GET_FIRST_ID);
        prior->last_id = PQgetisnull(res, 0, WRITE_KEY_GET_LAST_ID)
                             ? NULL
                             : PQgetvalue(res, 0, WRITE_KEY_GET_LAST_ID);
        same = PQgetvalue(res, 0, WRITE_KEY_GET_SAME_BODY);
    }
    if (!same || same[0] != 't')
        return req_error(r, 422, "idempotency_key_reused", "Idempotency-Key",
                         "this Idempotency-Key was used with another batch");
    return 0;
}

int runs_access(struct req *r, int min_role, enum runs_read how, struct access_project *proj,
                const char **first)
{
    const char *id = req_path_param(r, "run");
    PGresult *res;

    if (!id || !jsonx_is_uuid(id))
        return req_error(r, 404, "not_found", NULL, "no such run");
    /* run_get, run_status and run_lock: one input, the run; the first column is `first`. */
    _Static_assert(RUN_GET_IN_RUN == RUN_STATUS_IN_RUN && RUN_GET_IN_RUN == RUN_LOCK_IN_RUN &&
                       RUN_GET__NIN == RUN_STATUS__NIN && RUN_GET__NIN == RUN_LOCK__NIN &&
                       RUN_GET_RUN_JSON == RUN_STATUS_STATUS &&
                       RUN_GET_RUN_JSON == RUN_LOCK_STATUS &&
                       RUN_GET_PROJECT_ID == RUN_STATUS_PROJECT_ID &&
                       RUN_GET_PROJECT_ID == RUN_LOCK_PROJECT_ID,
                   "run_get, run_status and run_lock differ");
    const char *p[RUN_GET__NIN] = {[RUN_GET_IN_RUN] = id};
    static const enum db_stmt_id stmt[] = {
        [RUNS_READ_JSON] = DB_STMT_RUN_GET,
        [RUNS_READ_STATUS] = DB_STMT_RUN_STATUS,
        [RUNS_LOCK_STATUS] = DB_STMT_RUN_LOCK,
    };
    if (!(res = DB_EXEC(&r->op, stmt[how], p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such run");
    if (first)
        *first = how == RUNS_READ_JSON ? runs_detail_json(r, res, RUN_GET_RUN_JSON, RUN_GET_POLICY)
                                       : PQgetvalue(res, 0, RUN_GET_RUN_JSON);
    return access_project_by_id(&r->op, PQgetvalue(res, 0, RUN_GET_PROJECT_ID),
                                (enum access_role)min_role, proj, "run");
}

/* The statements runs_write runs share their first inputs and their first column. */
#define RUNS_WRITE_SHAPE(s)                                                                        \
    (s##_IN_RUN == 0 && s##_IN_TOKEN_PROJECT == 1 && s##_IN_USER_ID == 2 &&                        \
     s##_IN_IS_ADMIN == 3 && s##_PROJECT_ID == 0 &&                                                \
     s##__NIN <= RUNS_WRITE_NFIXED + RUNS_WRITE_MAX_EXTRA)
_Static_assert(RUNS_WRITE_SHAPE(RUN_HEARTBEAT) && RUNS_WRITE_SHAPE(EVENT_INSERT) &&
                   RUNS_WRITE_SHAPE(METRIC_INSERT),
               "a runs_write statement does not start with the run and the identity");
#undef RUNS_WRITE_SHAPE

/* Fills p (RUNS_WRITE_NFIXED + nextra) for stmt; -1 when the fast path cannot be taken
 * (a malformed run id, an identity that may not write anywhere, an internal error). */
static int runs_write_params(struct req *r, const char **p, const char *const *extra, int nextra)
{
    const char *run = req_path_param(r, "run");

    if (nextra > RUNS_WRITE_MAX_EXTRA) {
        req_error(r, 500, "internal", NULL, "internal error");
        return -1;
    }
    /* access_write_params fills the identity's three: token project, user, instance admin.
     * The statement answers no row, or a NULL project, when the identity may not write. */
    if (!run || !jsonx_is_uuid(run) ||
        access_write_params(&r->op, p + RUN_HEARTBEAT_IN_TOKEN_PROJECT) != 0)
        return -1;
    p[RUN_HEARTBEAT_IN_RUN] = run;
    for (int i = 0; i < nextra; i++)
        p[RUNS_WRITE_NFIXED + i] = extra[i];
    return 0;
}

int runs_write_check(struct req *r, PGresult *res)
{
    struct access_project pr;

    if (r->op.err.kind != OP_OK)
        return -1;
    if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, RUN_HEARTBEAT_PROJECT_ID))
        return 0;
    /* Not allowed, or no such run: the slow lookup says which, in the usual words. */
    if (runs_access(r, ACCESS_ROLE_MEMBER, RUNS_READ_STATUS, &pr, NULL) == 0)
        req_error(r, 409, "conflict", NULL, "access to the run changed meanwhile; retry");
    return -1;
}

PGresult *runs_write(struct req *r, enum db_stmt_id stmt, const char *const *extra, int nextra)
{
    const char *p[RUNS_WRITE_NFIXED + RUNS_WRITE_MAX_EXTRA];
    PGresult *res = NULL;

    if (runs_write_params(r, p, extra, nextra) == 0 &&
        !(res = db_exec(&r->op, stmt, p, RUNS_WRITE_NFIXED + nextra)))
        return NULL;
    return runs_write_check(r, res) == 0 ? res : NULL;
}

int runs_write_then(struct req *r, int group, enum db_stmt_id stmt, const char *const *extra,
                    int nextra, req_then_fn then)
{
    const char *p[RUNS_WRITE_NFIXED + RUNS_WRITE_MAX_EXTRA];

    if (runs_write_params(r, p, extra, nextra) != 0)
        return runs_write_check(r, NULL);
    return group_write(r, group, stmt, p, RUNS_WRITE_NFIXED + nextra, then);
}

int runs_get(struct req *r)
{
    const char *run = req_path_param(r, "run"), *p[RUN_GET_VISIBLE__NIN], *json;
    struct access_project pr;
    PGresult *res;

    /* One statement reads the run and checks access (the token's project, or membership);
     * only a miss or a refusal takes the slow lookup, which tells 404 from 403 in the words
     * of every run endpoint. */
    _Static_assert(RUN_GET_VISIBLE_IN_RUN == 0 && RUN_GET_VISIBLE_IN_TOKEN_PROJECT == 1 &&
                       RUN_GET_VISIBLE_IN_USER_ID == 2 && RUN_GET_VISIBLE_IN_IS_ADMIN == 3,
                   "run_get_visible takes the run, then the identity's three");
    if (run && jsonx_is_uuid(run) &&
        access_read_params(&r->op, p + RUN_GET_VISIBLE_IN_TOKEN_PROJECT) == 0) {
        p[RUN_GET_VISIBLE_IN_RUN] = run;
        if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_GET_VISIBLE, p)))
            return -1;
        if (PQntuples(res) == 1)
            return req_json_text(
                r, 200, runs_detail_json(r, res, RUN_GET_VISIBLE_RUN_JSON, RUN_GET_VISIBLE_POLICY));
    }
    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_JSON, &pr, &json))
        return -1;
    return req_json_text(r, 200, json);
}

int runs_update(struct req *r)
{
    static const char *const keys[] = {"status",  "progress", "result", "error",
                                       "summary", "tags",     NULL};
    static const char *const ekeys[] = {"type", "message", "traceback", NULL};
    json_object *b = r->body_json, *err = NULL, *summary = NULL;
    struct jsonx_err je;
    const char *to = NULL, *tags = NULL, *etype = NULL, *emsg = NULL, *etb = NULL;
    double progress = 0;
    int has_progress = 0;
    struct access_project pr;
    PGresult *res;

    /* First: redaction replaces strings, and the getters below hand out pointers into them. */
    jsonx_redact(b, r->op.cfg->redact_keys);
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_enum(b, "status", JSONX_NULLABLE, run_statuses, &to, NULL, &je) ||
        jsonx_number(b, "progress", JSONX_NULLABLE, 0, 1, &progress, &has_progress, &je) ||
        jsonx_child(b, "error", JSONX_NULLABLE, json_type_object, &err, NULL, &je) ||
        jsonx_child(b, "summary", JSONX_NULLABLE, json_type_object, &summary, NULL, &je))
        return req_error_json(r, 400, &je);
    if (err && (jsonx_only_keys(err, ekeys, &je) ||
                jsonx_string(err, "type", JSONX_NULLABLE, 1, 200, &etype, NULL, &je) ||
                jsonx_string(err, "message", JSONX_NULLABLE, 0, 10000, &emsg, NULL, &je) ||
                jsonx_string(err, "traceback", JSONX_NULLABLE, 0, 100000, &etb, NULL, &je))) {
        char field[160];
        snprintf(field, sizeof(field), "error.%s", je.field);
        return req_error(r, 400, "invalid_field", field, "error.%s", je.message);
    }
    if (runs_check_tags(r, b, &tags))
        return -1;

    if (db_begin(&r->op) || runs_access(r, ACCESS_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, NULL))
        return -1;
    const char *p[RUN_UPDATE__NIN] = {
        [RUN_UPDATE_IN_RUN] = req_path_param(r, "run"),
        [RUN_UPDATE_IN_STATUS] = to,
        [RUN_UPDATE_IN_PROGRESS] =
            has_progress ? arena_sprintf(r->op.arena, "%.17g", progress) : NULL,
        [RUN_UPDATE_IN_RESULT] = runs_child_text(b, "result"),
        [RUN_UPDATE_IN_ERROR_TYPE] = etype,
        [RUN_UPDATE_IN_ERROR_MESSAGE] = emsg,
        [RUN_UPDATE_IN_TRACEBACK] = etb,
        [RUN_UPDATE_IN_SUMMARY] = summary ? jsonx_to_string(summary, NULL) : NULL,
        [RUN_UPDATE_IN_TAGS] = tags};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_UPDATE, p)) || db_commit(&r->op))
        return -1;
    const char *json = PQgetvalue(res, 0, RUN_UPDATE_RUN_JSON);
    pub_event(r->op.pub, pr.id, "run.updated", req_path_param(r, "run"), json);
    return req_json_text(r, 200, json);
}

/* An optional RFC 3339 query parameter. */
static int runs_time_param(struct req *r, const char *name, const char **out)
{
    *out = req_query(r, name);
    if (*out && !jsonx_is_rfc3339(*out))
        return req_error(r, 400, "invalid_field", name, "%s must be an RFC 3339 time with a zone",
                         name);
    return 0;
}

const char *runs_like_escape(struct arena *a, const char *s)
{
    char *out = arena_alloc(a, 2 * strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* The sorts of the run list and their statements (runs.sql), [0] descending, [1] ascending:
 * `plain` when nothing but statuses narrows the list (its generic plan is kept), `filtered`
 * with any other filter (planned for its values), `all` for no filter at all where a sort has
 * one (else plain with every status), `one` for a single status where a sort has one (plain's
 * inputs, without its merge; else plain). Cursors of `created` carry no prefix (they predate the
 * others, and links with them keep working). */
struct runs_stmt {
    enum db_stmt_id full, probe; /* the page, and its probe (run_list_probe_columns) */
};
#define RUNS_STMT(s)                                                                               \
    {                                                                                              \
        DB_STMT_##s, DB_STMT_##s##_PROBE                                                           \
    }
#define RUNS_NONE                                                                                  \
    {                                                                                              \
        DB_STMT__COUNT, DB_STMT__COUNT                                                             \
    }
static const struct runs_sort {
    const char *name;
    const char *cursor_prefix;
    int key_is_time;   /* else microseconds */
    int key_col;       /* the key's column (for duration, the end: the key is end - start) */
    int probe_key_col; /* the same in the probe's columns */
    struct runs_stmt plain[2], filtered[2], all[2], one[2];
} runs_sorts[] = {
    {"created",
     "",
     1,
     RUN_LIST_CREATED_DESC_CREATED_AT,
     RUN_LIST_CREATED_DESC_PROBE_CREATED_AT,
     {RUNS_STMT(RUN_LIST_CREATED_DESC), RUNS_STMT(RUN_LIST_CREATED_ASC)},
     {RUNS_STMT(RUN_LIST_CREATED_DESC_FILTERED), RUNS_STMT(RUN_LIST_CREATED_ASC_FILTERED)},
     {RUNS_STMT(RUN_LIST_CREATED_DESC_ALL), RUNS_STMT(RUN_LIST_CREATED_ASC_ALL)},
     {RUNS_STMT(RUN_LIST_CREATED_DESC_ONE), RUNS_STMT(RUN_LIST_CREATED_ASC_ONE)}},
    {"started",
     "s:",
     1,
     RUN_LIST_CREATED_DESC_STARTED_AT,
     RUN_LIST_CREATED_DESC_PROBE_STARTED_AT,
     {RUNS_STMT(RUN_LIST_STARTED_DESC), RUNS_STMT(RUN_LIST_STARTED_ASC)},
     {RUNS_STMT(RUN_LIST_STARTED_DESC_FILTERED), RUNS_STMT(RUN_LIST_STARTED_ASC_FILTERED)},
     {RUNS_NONE, RUNS_NONE},
     {RUNS_NONE, RUNS_NONE}},
    {"ended",
     "e:",
     1,
     RUN_LIST_CREATED_DESC_ENDED_AT,
     RUN_LIST_CREATED_DESC_PROBE_ENDED_AT,
     {RUNS_STMT(RUN_LIST_ENDED_DESC), RUNS_STMT(RUN_LIST_ENDED_ASC)},
     {RUNS_STMT(RUN_LIST_ENDED_DESC_FILTERED), RUNS_STMT(RUN_LIST_ENDED_ASC_FILTERED)},
     {RUNS_NONE, RUNS_NONE},
     {RUNS_NONE, RUNS_NONE}},
    {"duration",
     "d:",
     0,
     RUN_LIST_CREATED_DESC_ENDED_AT,
     RUN_LIST_CREATED_DESC_PROBE_ENDED_AT,
     {RUNS_STMT(RUN_LIST_DURATION_DESC), RUNS_STMT(RUN_LIST_DURATION_ASC)},
     {RUNS_STMT(RUN_LIST_DURATION_DESC_FILTERED), RUNS_STMT(RUN_LIST_DURATION_ASC_FILTERED)},
     {RUNS_NONE, RUNS_NONE},
     {RUNS_NONE, RUNS_NONE}},
    {NULL,
     NULL,
     0,
     0,
     0,
     {RUNS_NONE, RUNS_NONE},
     {RUNS_NONE, RUNS_NONE},
     {RUNS_NONE, RUNS_NONE},
     {RUNS_NONE, RUNS_NONE}},
};
#undef RUNS_STMT
#undef RUNS_NONE

/* Each family of run_list statements takes the same inputs and all answer the same columns
 * (runs.sql): one parameter array per family serves its statements, and runjson.c reads all
 * their results by run_list_created_desc's column indexes. (That each lists the columns of
 * run_list_columns in order is checked at connect, against the server's names.) */
#define RUNS_LIST_COLS(s)                                                                          \
    (s##_ID == RUN_LIST_CREATED_DESC_ID && s##_CREATED_AT == RUN_LIST_CREATED_DESC_CREATED_AT &&   \
     s##_A_ERROR_TRACEBACK == RUN_LIST_CREATED_DESC_A_ERROR_TRACEBACK &&                           \
     s##_VERSION == RUN_LIST_CREATED_DESC_VERSION && s##__NOUT == RUN_LIST_CREATED_DESC__NOUT &&   \
     s##_PROBE_ID == RUN_LIST_CREATED_DESC_PROBE_ID &&                                             \
     s##_PROBE_VERSION == RUN_LIST_CREATED_DESC_PROBE_VERSION &&                                   \
     s##_PROBE_CREATED_AT == RUN_LIST_CREATED_DESC_PROBE_CREATED_AT &&                             \
     s##_PROBE_STARTED_AT == RUN_LIST_CREATED_DESC_PROBE_STARTED_AT &&                             \
     s##_PROBE_ENDED_AT == RUN_LIST_CREATED_DESC_PROBE_ENDED_AT &&                                 \
     s##_PROBE_NOW == RUN_LIST_CREATED_DESC_PROBE_NOW &&                                           \
     s##_PROBE__NOUT == RUN_LIST_CREATED_DESC_PROBE__NOUT && s##_PROBE__NIN == s##__NIN)
#define RUNS_LIST_PLAIN(s)                                                                         \
    (RUNS_LIST_COLS(s) && s##_IN_PROJECT_ID == RUN_LIST_CREATED_DESC_IN_PROJECT_ID &&              \
     s##_IN_STATUSES == RUN_LIST_CREATED_DESC_IN_STATUSES &&                                       \
     s##_IN_CURSOR_KEY == RUN_LIST_CREATED_DESC_IN_CURSOR_KEY &&                                   \
     s##_IN_CURSOR_ID == RUN_LIST_CREATED_DESC_IN_CURSOR_ID &&                                     \
     s##_IN_LIMIT == RUN_LIST_CREATED_DESC_IN_LIMIT && s##__NIN == RUN_LIST_CREATED_DESC__NIN)
#define RUNS_LIST_FILTERED(s)                                                                      \
    (RUNS_LIST_COLS(s) && s##_IN_PROJECT_ID == RUN_LIST_CREATED_DESC_FILTERED_IN_PROJECT_ID &&     \
     s##_IN_STATUSES == RUN_LIST_CREATED_DESC_FILTERED_IN_STATUSES &&                              \
     s##_IN_KIND == RUN_LIST_CREATED_DESC_FILTERED_IN_KIND &&                                      \
     s##_IN_QUEUE == RUN_LIST_CREATED_DESC_FILTERED_IN_QUEUE &&                                    \
     s##_IN_WORKER_ID == RUN_LIST_CREATED_DESC_FILTERED_IN_WORKER_ID &&                            \
     s##_IN_TAG == RUN_LIST_CREATED_DESC_FILTERED_IN_TAG &&                                        \
     s##_IN_PARENT == RUN_LIST_CREATED_DESC_FILTERED_IN_PARENT &&                                  \
     s##_IN_CREATED_AFTER == RUN_LIST_CREATED_DESC_FILTERED_IN_CREATED_AFTER &&                    \
     s##_IN_CREATED_BEFORE == RUN_LIST_CREATED_DESC_FILTERED_IN_CREATED_BEFORE &&                  \
     s##_IN_TEXT == RUN_LIST_CREATED_DESC_FILTERED_IN_TEXT &&                                      \
     s##_IN_CURSOR_KEY == RUN_LIST_CREATED_DESC_FILTERED_IN_CURSOR_KEY &&                          \
     s##_IN_CURSOR_ID == RUN_LIST_CREATED_DESC_FILTERED_IN_CURSOR_ID &&                            \
     s##_IN_LIMIT == RUN_LIST_CREATED_DESC_FILTERED_IN_LIMIT &&                                    \
     s##_IN_ENDED_AFTER == RUN_LIST_CREATED_DESC_FILTERED_IN_ENDED_AFTER &&                        \
     s##_IN_ENDED_BEFORE == RUN_LIST_CREATED_DESC_FILTERED_IN_ENDED_BEFORE &&                      \
     s##__NIN == RUN_LIST_CREATED_DESC_FILTERED__NIN)
_Static_assert(RUNS_LIST_PLAIN(RUN_LIST_CREATED_ASC) && RUNS_LIST_PLAIN(RUN_LIST_STARTED_DESC) &&
                   RUNS_LIST_PLAIN(RUN_LIST_STARTED_ASC) && RUNS_LIST_PLAIN(RUN_LIST_ENDED_DESC) &&
                   RUNS_LIST_PLAIN(RUN_LIST_ENDED_ASC) && RUNS_LIST_PLAIN(RUN_LIST_DURATION_DESC) &&
                   RUNS_LIST_PLAIN(RUN_LIST_DURATION_ASC) &&
                   RUNS_LIST_PLAIN(RUN_LIST_CREATED_DESC_ONE) &&
                   RUNS_LIST_PLAIN(RUN_LIST_CREATED_ASC_ONE),
               "the plain run_list statements differ");
_Static_assert(RUNS_LIST_FILTERED(RUN_LIST_CREATED_DESC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_CREATED_ASC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_STARTED_DESC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_STARTED_ASC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_ENDED_DESC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_ENDED_ASC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_DURATION_DESC_FILTERED) &&
                   RUNS_LIST_FILTERED(RUN_LIST_DURATION_ASC_FILTERED),
               "the filtered run_list statements differ");
_Static_assert(
    RUNS_LIST_COLS(RUN_LIST_CREATED_DESC_ALL) && RUNS_LIST_COLS(RUN_LIST_CREATED_ASC_ALL) &&
        RUN_LIST_CREATED_DESC_ALL_IN_PROJECT_ID == RUN_LIST_CREATED_ASC_ALL_IN_PROJECT_ID &&
        RUN_LIST_CREATED_DESC_ALL_IN_CURSOR_KEY == RUN_LIST_CREATED_ASC_ALL_IN_CURSOR_KEY &&
        RUN_LIST_CREATED_DESC_ALL_IN_CURSOR_ID == RUN_LIST_CREATED_ASC_ALL_IN_CURSOR_ID &&
        RUN_LIST_CREATED_DESC_ALL_IN_LIMIT == RUN_LIST_CREATED_ASC_ALL_IN_LIMIT &&
        RUN_LIST_CREATED_DESC_ALL__NIN == RUN_LIST_CREATED_ASC_ALL__NIN,
    "the run_list_created_*_all statements differ");
#undef RUNS_LIST_COLS
#undef RUNS_LIST_PLAIN
#undef RUNS_LIST_FILTERED

_Static_assert(RUN_LIST_BY_IDS_ID == RUN_LIST_CREATED_DESC_ID &&
                   RUN_LIST_BY_IDS_STARTED_AT == RUN_LIST_CREATED_DESC_STARTED_AT &&
                   RUN_LIST_BY_IDS_A_ERROR_TRACEBACK == RUN_LIST_CREATED_DESC_A_ERROR_TRACEBACK &&
                   RUN_LIST_BY_IDS_VERSION == RUN_LIST_CREATED_DESC_VERSION &&
                   RUN_LIST_BY_IDS__NOUT == RUN_LIST_CREATED_DESC__NOUT,
               "run_list_by_ids answers other columns than the run lists");

/* A list's page: its statement, that statement's probe and their inputs. */
struct runs_pagespec {
    struct runs_stmt stmt;
    const char *const *params;
    int nparams;
    const char *project;
    long limit;
    int first_page; /* no cursor */
    const struct runs_sort *by;
};

/* The worker's rendered runs (runcache.h), and per list statement and first page or not,
 * the share of a page's runs that the cache held lately (an average halved each page): a
 * page is probed first only when most of its runs are likely held, else the probe and the
 * reads by id would cost more than reading the page whole. A page read whole counts the runs the
 * cache held at the versions read, so a list read again soon is probed. */
static struct runcache runs_cache;
static float runs_cache_share[2][DB_STMT__COUNT];
/* Reading a run by id costs PostgreSQL about twice what reading it in a whole page does, and
 * the probe a third of the whole page (docs/PERFORMANCE.md, "The run list's rendered runs"):
 * probing pays while at least about two thirds of a page's runs are held. */
#define RUNS_PROBE_SHARE 0.75f

static const unsigned runs_probe_types[RUN_LIST_CREATED_DESC_PROBE__NOUT] = {
    [RUN_LIST_CREATED_DESC_PROBE_ID] = PGJSON_UUID,
    [RUN_LIST_CREATED_DESC_PROBE_VERSION] = PGJSON_XID,
    [RUN_LIST_CREATED_DESC_PROBE_CREATED_AT] = PGJSON_TIMESTAMPTZ,
    [RUN_LIST_CREATED_DESC_PROBE_STARTED_AT] = PGJSON_TIMESTAMPTZ,
    [RUN_LIST_CREATED_DESC_PROBE_ENDED_AT] = PGJSON_TIMESTAMPTZ,
    [RUN_LIST_CREATED_DESC_PROBE_NOW] = PGJSON_TIMESTAMPTZ,
};

/* The cache key of row's run: -1 when its id or version is malformed. */
static int runs_cache_key(const PGresult *res, int row, int id_col, int version_col,
                          int64_t project, struct runcache_key *k)
{
    if (PQgetisnull(res, row, id_col) || PQgetlength(res, row, id_col) != 16 ||
        PQgetisnull(res, row, version_col) || PQgetlength(res, row, version_col) != 4)
        return -1;
    memcpy(k->id, PQgetvalue(res, row, id_col), 16);
    k->version = pgjson_be32((const unsigned char *)PQgetvalue(res, row, version_col));
    k->project = project;
    return 0;
}

/* Keeps the run o holds at hole (runjson_row wrote it) for k, without its duration_s value. */
static void runs_cache_put(const struct jsonx_out *o, const struct runjson_hole *h,
                           const struct runcache_key *k, int64_t now_ns)
{
    runcache_put(&runs_cache, k, o->buf + h->start, h->at - h->start, o->buf + h->end,
                 h->stop - h->end, now_ns);
}

/* Ends the page: the cursor after row `last` of res when there is more, from its columns
 * key_col, started_col (for a duration) and id_col; then the answer. */
static int runs_list_end(struct req *r, struct jsonx_out *o, const PGresult *res, int more,
                         int last, int key_col, int started_col, int id_col,
                         const struct runs_sort *by)
{
    jsonx_out_raw(o, "],\"next_cursor\":", 16);
    if (more) {
        /* Cursors are ours (a time or a number, a uuid): nothing to escape. */
        char key[PGJSON_NUM_MAX], id[37];
        int64_t k = pgjson_time_at(res, last, key_col);
        if (by->key_is_time)
            pgjson_fmt_cursor_time(key, k);
        else
            snprintf(key, sizeof(key), "%lld",
                     (long long)(k - pgjson_time_at(res, last, started_col)));
        if (pgjson_uuid_at(res, last, id_col, id) != 0)
            return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
        const char *next = arena_sprintf(r->op.arena, "\"%s%s~%s\"}", by->cursor_prefix, key, id);
        if (!next)
            return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "out of memory");
        jsonx_out_raw(o, next, strlen(next));
    } else {
        jsonx_out_raw(o, "null}", 5);
    }
    return req_json_text(r, 200, jsonx_out_end(o, NULL));
}

/* A probed page's run i: written from the cache, still to be read by id, or row_of[i] of
 * run_list_by_ids's result. */
#define RUNS_HELD   (-1)
#define RUNS_MISSED (-2)

/* The page from its probe: the runs the cache holds at the probe's versions are written from
 * there, the others read by id (run_list_by_ids) and kept. 1 when a run changed between the
 * two reads (the caller reads the page whole, so a page is always one snapshot's), -1 on
 * error, else 0 with the answer made. */
static int runs_list_probed(struct req *r, const struct runs_pagespec *rd, int64_t project,
                            int64_t now_ns, float *share)
{
    PGresult *pr = db_exec(&r->op, rd->stmt.probe, rd->params, rd->nparams);
    char err[256];
    if (!pr)
        return -1;
    int nrows = PQntuples(pr), shown = nrows > rd->limit ? (int)rd->limit : nrows, misses = 0;
    if (nrows && pgjson_check(pr, 0, runs_probe_types, RUN_LIST_CREATED_DESC_PROBE__NOUT,
                              "the run list's probe", err, sizeof(err)) != 0) {
        log_error("%s", err);
        return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
    }
    struct runcache_hit *hit = arena_alloc(r->op.arena, sizeof(*hit) * ((size_t)shown + 1));
    struct runcache_key *key = arena_alloc(r->op.arena, sizeof(*key) * ((size_t)shown + 1));
    int *row_of = arena_alloc(r->op.arena, sizeof(*row_of) * ((size_t)shown + 1));
    struct runjson_hole *hole = arena_alloc(r->op.arena, sizeof(*hole) * ((size_t)shown + 1));
    struct jsonx_out ids;
    if (!hit || !key || !row_of || !hole)
        return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "out of memory");
    jsonx_out_init(&ids, r->op.arena, 40 * (size_t)shown + 3);
    jsonx_out_raw(&ids, "{", 1);
    for (int i = 0; i < shown; i++) {
        if (runs_cache_key(pr, i, RUN_LIST_CREATED_DESC_PROBE_ID,
                           RUN_LIST_CREATED_DESC_PROBE_VERSION, project, &key[i]) != 0)
            return 1;
        row_of[i] = RUNS_HELD;
        if (runcache_get(&runs_cache, &key[i], now_ns, &hit[i]))
            continue;
        row_of[i] = RUNS_MISSED;
        char id[37];
        pgjson_uuid_at(pr, i, RUN_LIST_CREATED_DESC_PROBE_ID, id);
        if (misses++)
            jsonx_out_raw(&ids, ",", 1);
        jsonx_out_raw(&ids, id, 36);
    }
    jsonx_out_raw(&ids, "}", 1);
    *share = 0.5f * *share + (shown ? 0.5f * (float)(shown - misses) / (float)shown : 0.5f);

    PGresult *fr = NULL;
    if (misses) {
        const char *p[RUN_LIST_BY_IDS__NIN] = {[RUN_LIST_BY_IDS_IN_PROJECT_ID] = rd->project,
                                               [RUN_LIST_BY_IDS_IN_IDS] =
                                                   jsonx_out_end(&ids, NULL)};
        if (!p[RUN_LIST_BY_IDS_IN_IDS])
            return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "out of memory");
        if (!(fr = DB_EXEC(&r->op, DB_STMT_RUN_LIST_BY_IDS, p)))
            return -1;
        if (PQntuples(fr) != misses)
            return 1; /* a run left the project or was deleted in between */
        if (runjson_check(fr, err, sizeof(err)) != 0) {
            log_error("%s", err);
            return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
        }
        for (int j = 0; j < misses; j++) {
            struct runcache_key k;
            int i = 0;
            if (runs_cache_key(fr, j, RUN_LIST_CREATED_DESC_ID, RUN_LIST_CREATED_DESC_VERSION,
                               project, &k) != 0)
                return 1;
            while (i < shown && (row_of[i] != RUNS_MISSED || memcmp(key[i].id, k.id, 16) != 0))
                i++;
            if (i == shown || key[i].version != k.version)
                return 1; /* changed since the probe */
            row_of[i] = j;
        }
    }

    struct jsonx_out o;
    jsonx_out_init(&o, r->op.arena, 64 + 1024 * (size_t)shown);
    jsonx_out_raw(&o, "{\"items\":[", 10);
    for (int i = 0; i < shown; i++) {
        if (i)
            jsonx_out_raw(&o, ",", 1);
        if (row_of[i] >= 0) {
            if (runjson_row(&o, fr, row_of[i], &hole[i]) != 0) {
                log_error("run list: a run read by id has a malformed binary value");
                return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
            }
            continue;
        }
        jsonx_out_raw(&o, hit[i].head, hit[i].head_len);
        if (runjson_duration(&o, pr, i, RUN_LIST_CREATED_DESC_PROBE_STARTED_AT,
                             RUN_LIST_CREATED_DESC_PROBE_ENDED_AT,
                             RUN_LIST_CREATED_DESC_PROBE_NOW) != 0) {
            log_error("run list: the probe's row %d has a malformed time", i);
            return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
        }
        jsonx_out_raw(&o, hit[i].tail, hit[i].tail_len);
    }
    /* Only now: a put may evict an entry a hit above was written from. */
    if (!o.failed)
        for (int i = 0; i < shown; i++)
            if (row_of[i] >= 0)
                runs_cache_put(&o, &hole[i], &key[i], now_ns);
    counters_add(COUNTERS_LIST_PROBED, 1);
    counters_add(COUNTERS_LIST_RUNS_CACHED, (uint64_t)(shown - misses));
    counters_add(COUNTERS_LIST_RUNS_READ, (uint64_t)misses);
    if (runs_list_end(r, &o, pr, nrows > rd->limit, shown - 1, rd->by->probe_key_col,
                      RUN_LIST_CREATED_DESC_PROBE_STARTED_AT, RUN_LIST_CREATED_DESC_PROBE_ID,
                      rd->by) != 0)
        return -1;
    return 0;
}

/* {"items":[…],"next_cursor":…}: the first `limit` runs of the list, rendered by runjson.c,
 * and a cursor after the last when there is one more row. Through the probe when the cache
 * likely holds most of the page, else read whole (and kept). */
static int runs_list_page(struct req *r, const struct runs_pagespec *rd)
{
    int64_t project = strtoll(rd->project, NULL, 10), now_ns = idcache_now_ns();
    float *share = &runs_cache_share[rd->first_page][rd->stmt.full];
    char err[256];

    if (!runs_cache.max_bytes)
        runs_cache.max_bytes = (size_t)r->op.cfg->run_cache_mb << 20;
    if (runs_cache.max_bytes && *share >= RUNS_PROBE_SHARE) {
        int rc = runs_list_probed(r, rd, project, now_ns, share);
        if (rc <= 0)
            return rc;
        counters_add(COUNTERS_LIST_REREAD, 1);
    } else {
        counters_add(COUNTERS_LIST_WHOLE, 1);
    }
    PGresult *res = db_exec(&r->op, rd->stmt.full, rd->params, rd->nparams);
    if (!res)
        return -1;
    int nrows = PQntuples(res), shown = nrows > rd->limit ? (int)rd->limit : nrows, held = 0;
    struct jsonx_out o;
    struct runjson_hole *hole = arena_alloc(r->op.arena, sizeof(*hole) * ((size_t)shown + 1));
    if (!hole)
        return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "out of memory");
    if (nrows && runjson_check(res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
    }
    jsonx_out_init(&o, r->op.arena, 64 + 1024 * (size_t)shown);
    jsonx_out_raw(&o, "{\"items\":[", 10);
    for (int i = 0; i < shown; i++) {
        if (i)
            jsonx_out_raw(&o, ",", 1);
        if (runjson_row(&o, res, i, &hole[i]) != 0) {
            log_error("run list: row %d has a malformed binary value", i);
            return op_fail(&r->op, OP_INTERNAL, "internal", NULL, "internal error");
        }
    }
    if (runs_cache.max_bytes && !o.failed) {
        for (int i = 0; i < shown; i++) {
            struct runcache_key k;
            struct runcache_hit h;
            if (runs_cache_key(res, i, RUN_LIST_CREATED_DESC_ID, RUN_LIST_CREATED_DESC_VERSION,
                               project, &k) != 0)
                continue;
            if (runcache_get(&runs_cache, &k, now_ns, &h))
                held++;
            else
                runs_cache_put(&o, &hole[i], &k, now_ns);
        }
        *share = 0.5f * *share + (shown ? 0.5f * (float)held / (float)shown : 0.5f);
    }
    return runs_list_end(r, &o, res, nrows > rd->limit, shown - 1, rd->by->key_col,
                         RUN_LIST_CREATED_DESC_STARTED_AT, RUN_LIST_CREATED_DESC_ID, rd->by);
}

int runs_list(struct req *r)
{
    static const char *const filters[] = {
        "project",      "status", "kind",          "queue",          "worker",
        "tag",          "parent", "created_after", "created_before", "ended_after",
        "ended_before", "q",      "sort",          "order",          "limit",
        "cursor",       NULL};
    const char *slug = req_query(r, "project"), *statuses, *ca, *cb, *ea, *eb;
    const char *worker = req_query(r, "worker"), *parent = req_query(r, "parent");
    const char *q = req_query(r, "q"), *sort = req_query(r, "sort");
    const char *kind = req_query(r, "kind"), *queue = req_query(r, "queue");
    const char *tag = req_query(r, "tag");
    const char *order = req_query(r, "order"), *cursor = req_query(r, "cursor");
    const char *cur_key = NULL, *cur_id = NULL;
    struct access_project pr;
    long limit;

    if (req_only_params(r, filters) || req_limit(r, &limit) ||
        req_enum_list(r, "status", run_statuses, &statuses) ||
        runs_time_param(r, "created_after", &ca) || runs_time_param(r, "created_before", &cb) ||
        runs_time_param(r, "ended_after", &ea) || runs_time_param(r, "ended_before", &eb))
        return -1;
    if (worker && !req_is_int(worker))
        return req_error(r, 400, "invalid_field", "worker", "worker must be a worker id");
    if (parent && !jsonx_is_uuid(parent))
        return req_error(r, 400, "invalid_field", "parent", "parent must be a run id");
    const struct runs_sort *by = runs_sorts;
    while (sort && by->name && strcmp(by->name, sort) != 0)
        by++;
    if (!by->name)
        return req_error(r, 400, "invalid_field", "sort",
                         "sort must be created, started, ended or duration");
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return req_error(r, 400, "invalid_field", "order", "order must be asc or desc");
    /* A cursor is <prefix><key>~<id>; the prefix ties it to its sort, so a cursor of
     * one sort cannot page another. */
    if (cursor) {
        size_t plen = strlen(by->cursor_prefix);
        const char *tilde = strchr(cursor, '~');
        if (tilde && strncmp(cursor, by->cursor_prefix, plen) == 0 &&
            (size_t)(tilde - cursor) > plen) {
            cur_key = arena_strndup(r->op.arena, cursor + plen, (size_t)(tilde - cursor) - plen);
            cur_id = tilde + 1;
        }
        if (!cur_key || !(by->key_is_time ? jsonx_is_rfc3339(cur_key) : req_is_int(cur_key)) ||
            !jsonx_is_uuid(cur_id))
            return req_error(r, 400, "invalid_field", "cursor",
                             "cursor is not one this API issued for this sort");
    }
    /* A token that names no project lists its own, which needs no lookup. */
    const char *project = slug ? NULL : access_own_project(&r->op, ACCESS_ROLE_VIEWER);
    if (!project) {
        if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_VIEWER, &pr))
            return -1;
        project = pr.id;
    }
    const char *n = arena_sprintf(r->op.arena, "%ld", limit + 1);
    int asc = order && strcmp(order, "asc") == 0;
    struct runs_pagespec rd = {.project = project, .limit = limit, .first_page = !cursor, .by = by};
    /* One array for whichever shape: the filtered statements take the most inputs. */
    const char *p[RUN_LIST_CREATED_DESC_FILTERED__NIN] = {0};
    _Static_assert(RUN_LIST_CREATED_DESC_FILTERED__NIN >= RUN_LIST_CREATED_DESC__NIN &&
                       RUN_LIST_CREATED_DESC_FILTERED__NIN >= RUN_LIST_CREATED_DESC_ALL__NIN,
                   "the filtered run lists take the most inputs");
    rd.params = p;
    if (kind || queue || worker || tag || parent || ca || cb || q || ea || eb) {
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_PROJECT_ID] = project;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_STATUSES] = statuses;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_KIND] = kind;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_QUEUE] = queue;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_WORKER_ID] = worker;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_TAG] = tag;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_PARENT] = parent;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_CREATED_AFTER] = ca;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_CREATED_BEFORE] = cb;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_TEXT] = q ? runs_like_escape(r->op.arena, q) : NULL;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_CURSOR_KEY] = cur_key;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_CURSOR_ID] = cur_id;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_LIMIT] = n;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_ENDED_AFTER] = ea;
        p[RUN_LIST_CREATED_DESC_FILTERED_IN_ENDED_BEFORE] = eb;
        rd.stmt = by->filtered[asc];
        rd.nparams = RUN_LIST_CREATED_DESC_FILTERED__NIN;
    } else if (!statuses && by->all[asc].full != DB_STMT__COUNT) {
        p[RUN_LIST_CREATED_DESC_ALL_IN_PROJECT_ID] = project;
        p[RUN_LIST_CREATED_DESC_ALL_IN_CURSOR_KEY] = cur_key;
        p[RUN_LIST_CREATED_DESC_ALL_IN_CURSOR_ID] = cur_id;
        p[RUN_LIST_CREATED_DESC_ALL_IN_LIMIT] = n;
        rd.stmt = by->all[asc];
        rd.nparams = RUN_LIST_CREATED_DESC_ALL__NIN;
    } else {
        p[RUN_LIST_CREATED_DESC_IN_PROJECT_ID] = project;
        p[RUN_LIST_CREATED_DESC_IN_STATUSES] = statuses;
        p[RUN_LIST_CREATED_DESC_IN_CURSOR_KEY] = cur_key;
        p[RUN_LIST_CREATED_DESC_IN_CURSOR_ID] = cur_id;
        p[RUN_LIST_CREATED_DESC_IN_LIMIT] = n;
        /* One status (req_enum_list's "{a}"): its range scan alone is the page. */
        int one = statuses && !strchr(statuses, ',') && by->one[asc].full != DB_STMT__COUNT;
        rd.stmt = one ? by->one[asc] : by->plain[asc];
        rd.nparams = RUN_LIST_CREATED_DESC__NIN;
    }
    return runs_list_page(r, &rd);
}

int runs_heartbeat(struct req *r)
{
    static const char *const keys[] = {"progress", "attempt", NULL};
    struct jsonx_err je;
    double progress = 0;
    int64_t attempt = 0;
    int has_progress = 0, has_attempt = 0;
    PGresult *res;

    json_object *b = req_json_body_opt(r);
    if (!b)
        return -1;
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_number(b, "progress", JSONX_NULLABLE, 0, 1, &progress, &has_progress, &je) ||
        jsonx_int(b, "attempt", JSONX_NULLABLE, 1, INT32_MAX, &attempt, &has_attempt, &je))
        return req_error_json(r, 400, &je);
    const char *extra[RUN_HEARTBEAT__NIN - RUNS_WRITE_NFIXED] = {
        [RUN_HEARTBEAT_IN_PROGRESS - RUNS_WRITE_NFIXED] =
            has_progress ? arena_sprintf(r->op.arena, "%.17g", progress) : NULL,
        [RUN_HEARTBEAT_IN_ATTEMPT - RUNS_WRITE_NFIXED] =
            has_attempt ? arena_sprintf(r->op.arena, "%lld", (long long)attempt) : NULL};
    if (!(res =
              runs_write(r, DB_STMT_RUN_HEARTBEAT, extra, RUN_HEARTBEAT__NIN - RUNS_WRITE_NFIXED)))
        return -1;
    /* A worker that names its attempt learns when the run has moved on without it (its
     * lease expired and another claim took the run): its beat renewed nothing. */
    if (PQgetisnull(res, 0, RUN_HEARTBEAT_STATUS))
        return req_error(r, 409, "attempt_superseded", "attempt",
                         "attempt %lld is not the run's running attempt%s%s", (long long)attempt,
                         PQgetisnull(res, 0, RUN_HEARTBEAT_LATEST_ATTEMPT) ? ""
                                                                           : "; the latest is ",
                         PQgetisnull(res, 0, RUN_HEARTBEAT_LATEST_ATTEMPT)
                             ? ""
                             : arena_sprintf(r->op.arena, "%s (%s)",
                                             PQgetvalue(res, 0, RUN_HEARTBEAT_LATEST_ATTEMPT),
                                             PQgetvalue(res, 0, RUN_HEARTBEAT_LATEST_STATUS)));
    int cancel = PQgetvalue(res, 0, RUN_HEARTBEAT_CANCEL_REQUESTED)[0] == 't';
    pub_event(r->op.pub, PQgetvalue(res, 0, RUN_HEARTBEAT_PROJECT_ID), "run.heartbeat",
              req_path_param(r, "run"),
              has_progress ? arena_sprintf(r->op.arena, "{\"progress\":%.6g}", progress) : NULL);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cancel_requested", json_object_new_boolean(cancel));
    json_object_object_add(o, "status",
                           json_object_new_string(PQgetvalue(res, 0, RUN_HEARTBEAT_STATUS)));
    return req_json(r, 200, o);
}

int runs_cancel(struct req *r)
{
    struct access_project pr;
    const char *status;
    PGresult *res;

    if (db_begin(&r->op) || runs_access(r, ACCESS_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, &status))
        return -1;
    if (strcmp(status, "cancelled") == 0) {
        /* Cancelling twice is not an error: answer with the run as it is. */
        const char *p[RUN_GET__NIN] = {[RUN_GET_IN_RUN] = req_path_param(r, "run")};
        if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_GET, p)) || db_commit(&r->op))
            return -1;
        return req_json_text(r, 200, PQgetvalue(res, 0, RUN_GET_RUN_JSON));
    }
    /* An ended run: the lifecycle trigger refuses the move to cancelled. */
    const char *p[RUN_CANCEL__NIN] = {[RUN_CANCEL_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_CANCEL, p)) || db_commit(&r->op))
        return -1;
    const char *json = PQgetvalue(res, 0, RUN_CANCEL_RUN_JSON);
    pub_event(r->op.pub, pr.id, "run.updated", req_path_param(r, "run"), json);
    return req_json_text(r, 200, json);
}

/* Checks each id of a wait: it must name a run the caller can see (else 404 naming the
 * index, as for a run it cannot see). Access is checked once per project. */
static int runs_wait_access(struct req *r, PGresult *res)
{
    const char *seen = NULL;
    struct access_project pr;

    for (int i = 0; i < PQntuples(res); i++) {
        const char *field = arena_sprintf(r->op.arena, "ids[%d]", i);
        if (PQgetisnull(res, i, RUN_WAIT_STATUS_STATUS))
            return req_error(r, 404, "not_found", field, "no such run: %s",
                             PQgetvalue(res, i, RUN_WAIT_STATUS_ID));
        const char *project = PQgetvalue(res, i, RUN_WAIT_STATUS_PROJECT_ID);
        if (seen && strcmp(seen, project) == 0)
            continue;
        if (access_project_by_id(&r->op, project, ACCESS_ROLE_VIEWER, &pr, "run")) {
            req_refine_error(r, 404, field,
                             arena_sprintf(r->op.arena, "no such run: %s",
                                           PQgetvalue(res, i, RUN_WAIT_STATUS_ID)));
            return -1;
        }
        seen = project;
    }
    return 0;
}

/* 1 when every run of the status result has ended. */
static int runs_wait_done(PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (PQgetisnull(res, i, RUN_WAIT_STATUS_ENDED_AT))
            return 0;
    return 1;
}

static int runs_wait_slotted(struct req *r, json_object *ids, double timeout_s);

int runs_wait(struct req *r)
{
    static const char *const keys[] = {"ids", "timeout_s", NULL};
    json_object *b = r->body_json, *ids;
    struct jsonx_err je;
    double timeout_s = RUNS_WAIT_MAX_S;
    int rc;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_child(b, "ids", JSONX_REQUIRED, json_type_array, &ids, NULL, &je) ||
        jsonx_number(b, "timeout_s", JSONX_NULLABLE, 0, RUNS_WAIT_MAX_S, &timeout_s, NULL, &je))
        return req_error_json(r, 400, &je);
    size_t n = json_object_array_length(ids);
    if (n < 1 || n > RUNS_WAIT_MAX_IDS)
        return req_error(r, 422, "invalid_value", "ids", "ids holds 1 to %d run ids",
                         RUNS_WAIT_MAX_IDS);
    for (size_t i = 0; i < n; i++) {
        json_object *id = json_object_array_get_idx(ids, i);
        if (!json_object_is_type(id, json_type_string) ||
            !jsonx_is_uuid(json_object_get_string(id)))
            return req_error(r, 400, "invalid_field", arena_sprintf(r->op.arena, "ids[%zu]", i),
                             "ids[%zu] must be a run id", i);
    }
    /* Half the workers at most: the rest keep serving while others wait. */
    rc = db_wait_begin(&r->op, r->op.cfg->api_workers > 1 ? r->op.cfg->api_workers / 2 : 1);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        req_add_header(r, "Retry-After", "1");
        return req_error(r, 429, "too_many_waits", NULL,
                         "every wait slot is taken; retry shortly, or use the live stream");
    }
    rc = runs_wait_slotted(r, ids, timeout_s);
    db_wait_end(r->op.db);
    return rc;
}

/* The wait itself, holding a slot and listening. */
static int runs_wait_slotted(struct req *r, json_object *ids, double timeout_s)
{
    PGresult *res;
    int rc;

    /* LISTEN came first, so a run that ends after this read is announced to us. */
    const char *p[RUN_WAIT_STATUS__NIN] = {[RUN_WAIT_STATUS_IN_IDS] = jsonx_to_string(ids, NULL)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_WAIT_STATUS, p)) || runs_wait_access(r, res))
        return -1;

    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long budget = (long)(timeout_s * 1000);
    while (!runs_wait_done(res)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = budget - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        const char *ended;
        if (left <= 0 || (rc = db_notify_wait(&r->op, left, &ended)) == 0)
            break;
        if (rc < 0)
            return -1;
        /* Every run end in the instance is announced; re-read only for one of ours. */
        for (int i = 0; i < PQntuples(res); i++) {
            if (PQgetisnull(res, i, RUN_WAIT_STATUS_ENDED_AT) &&
                strcmp(PQgetvalue(res, i, RUN_WAIT_STATUS_ID), ended) == 0) {
                if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_WAIT_STATUS, p)))
                    return -1;
                break;
            }
        }
    }

    json_object *o = json_object_new_object(), *runs = json_object_new_array();
    int done = runs_wait_done(res);
    json_object_object_add(o, "done", json_object_new_boolean(done));
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *one = json_object_new_object();
        json_object_object_add(one, "id",
                               json_object_new_string(PQgetvalue(res, i, RUN_WAIT_STATUS_ID)));
        json_object_object_add(one, "status",
                               json_object_new_string(PQgetvalue(res, i, RUN_WAIT_STATUS_STATUS)));
        json_object_object_add(
            one, "ended_at",
            PQgetisnull(res, i, RUN_WAIT_STATUS_ENDED_AT)
                ? NULL
                : json_object_new_string(PQgetvalue(res, i, RUN_WAIT_STATUS_ENDED_AT)));
        json_object_array_add(runs, one);
    }
    json_object_object_add(o, "runs", runs);
    return req_json(r, 200, o);
}
