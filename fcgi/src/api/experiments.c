/* experiments: CRUD, job history, flag schema and the reconcile contract (experiments.h).
 * The state machine is SQL's (sql/functions/90_experiments.sql): the actual state follows
 * from the runs, the action from desired against actual. A claim and a report lock the
 * experiment's row first (experiment_lock), so two launchers racing for one action are
 * served one after the other and the second sees the first's lease. "One active run per
 * experiment" is the database's (runs_experiment_active_idx), not this file's. */
#include "experiments.h"

#include <stdio.h>
#include <string.h>

#include "access.h"
#include "audit_log.h"
#include "db.h"
#include "flagschema.h"
#include "runs.h"

static const char *const desired_states[] = {"running", "stopped", "terminated", NULL};
static const char *const actions[] = {"launch", "stop", "terminate", NULL};
static const char *const outcomes[] = {"done", "failed", NULL};

/* A launcher's lease: long enough to start a job on a slow cloud, short enough that a
 * crashed launcher's work is taken over the same hour. */
#define EXPERIMENTS_LEASE_DEFAULT_S 60
#define EXPERIMENTS_MAX_BATCH       256
#define EXPERIMENTS_LEASE_MAX_S     3600
#define EXPERIMENTS_RETRY_DEFAULT_S 30

/* The experiment in the path, checked against the caller's role on its project; *res keeps
 * its row (experiment_get). Not visible is the same 404 as not there. */
static int experiments_access(struct req *r, enum access_role min, struct access_project *pr,
                              PGresult **res)
{
    const char *id = req_path_param(r, "experiment");

    if (!id || !req_is_int(id) || strlen(id) > 18)
        return req_error(r, 404, "not_found", NULL, "no such experiment");
    const char *p[EXPERIMENT_GET__NIN] = {[EXPERIMENT_GET_IN_EXPERIMENT] = id};
    if (!(*res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_GET, p)))
        return -1;
    if (PQntuples(*res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such experiment");
    return access_project_by_id(&r->op, PQgetvalue(*res, 0, EXPERIMENT_GET_PROJECT_ID), min, pr,
                                "experiment");
}

/* The fields a create and an update share, validated; NULL for absent ones. */
struct experiment_in {
    const char *name, *description, *flags, *kind, *queue, *tags, *desired_state;
};

static int experiments_parse(struct req *r, json_object *b, unsigned name_flags,
                             struct experiment_in *in)
{
    struct jsonx_err je;
    json_object *flags = NULL;

    memset(in, 0, sizeof(*in));
    if (jsonx_string(b, "name", name_flags, 1, 200, &in->name, NULL, &je) ||
        jsonx_string(b, "description", JSONX_NULLABLE, 0, 10000, &in->description, NULL, &je) ||
        jsonx_child(b, "flags", JSONX_NULLABLE, json_type_object, &flags, NULL, &je) ||
        jsonx_string(b, "kind", JSONX_NULLABLE, 1, 200, &in->kind, NULL, &je) ||
        jsonx_string(b, "queue", JSONX_NULLABLE, 1, 200, &in->queue, NULL, &je) ||
        jsonx_enum(b, "desired_state", JSONX_NULLABLE, desired_states, &in->desired_state, NULL,
                   &je))
        return req_error_json(r, 400, &je);
    if (flags)
        in->flags = jsonx_to_string(flags, NULL);
    return runs_check_tags(r, b, &in->tags);
}

/* {"fields": [the keys given], "desired_state": …} for the audit log. */
static const char *experiments_audit_details(struct req *r, json_object *b)
{
    json_object *d = req_own_json(r, json_object_new_object()), *f = json_object_new_array(), *v;

    if (!d || !f) {
        json_object_put(f);
        return NULL;
    }
    json_object_object_foreach(b, key, val)
    {
        (void)val;
        if (strcmp(key, "project") != 0)
            json_object_array_add(f, json_object_new_string(key));
    }
    json_object_object_add(d, "fields", f);
    if (json_object_object_get_ex(b, "desired_state", &v) && v)
        json_object_object_add(d, "desired_state", json_object_get(v));
    return jsonx_to_string(d, NULL);
}

int experiments_list(struct req *r)
{
    static const char *const known[] = {"project", "q", "state", "tag", "cursor", "limit", NULL};
    const char *q = req_query(r, "q"), *state = req_query(r, "state"), *tag = req_query(r, "tag");
    const char *cursor = req_query(r, "cursor");
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    if (q && strlen(q) > 200)
        return req_error(r, 400, "invalid_field", "q", "q must be at most 200 bytes");
    if (tag && (!*tag || strlen(tag) > 100))
        return req_error(r, 400, "invalid_field", "tag", "tag must be 1 to 100 bytes");
    if (cursor && (!req_is_int(cursor) || strlen(cursor) > 18))
        return req_error(r, 400, "invalid_field", "cursor", "cursor must be an experiment id");
    if (state) {
        int ok = 0;
        for (int i = 0; desired_states[i]; i++)
            ok |= strcmp(state, desired_states[i]) == 0;
        if (!ok)
            return req_error(r, 400, "invalid_field", "state",
                             "state must be running, stopped or terminated");
    }
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[EXPERIMENT_LIST__NIN] = {
        [EXPERIMENT_LIST_IN_PROJECT_ID] = pr.id,
        [EXPERIMENT_LIST_IN_SLUG] = pr.slug,
        [EXPERIMENT_LIST_IN_Q] = q && *q ? runs_like_escape(r->op.arena, q) : NULL,
        [EXPERIMENT_LIST_IN_STATE] = state,
        [EXPERIMENT_LIST_IN_TAG] = tag,
        [EXPERIMENT_LIST_IN_CURSOR] = cursor,
        [EXPERIMENT_LIST_IN_LIMIT] = arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_LIST, p)))
        return -1;
    int shown = PQntuples(res) > limit ? (int)limit : PQntuples(res);
    _Static_assert(EXPERIMENT_LIST_EXPERIMENT_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(r, res, shown,
                         PQntuples(res) > limit ? PQgetvalue(res, shown - 1, EXPERIMENT_LIST_ID)
                                                : NULL);
}

/* Inserts one validated experiment (and its audit row) in the open transaction; the
 * inserted row, or NULL with the error set (a name taken: 409 naming name). */
static PGresult *experiments_insert(struct req *r, const struct access_project *pr,
                                    const struct experiment_in *in, json_object *b)
{
    PGresult *res;
    const char *p[EXPERIMENT_INSERT__NIN] = {
        [EXPERIMENT_INSERT_IN_PROJECT_ID] = pr->id,
        [EXPERIMENT_INSERT_IN_SLUG] = pr->slug,
        [EXPERIMENT_INSERT_IN_NAME] = in->name,
        [EXPERIMENT_INSERT_IN_DESCRIPTION] = in->description,
        [EXPERIMENT_INSERT_IN_FLAGS] = in->flags,
        [EXPERIMENT_INSERT_IN_KIND] = in->kind,
        [EXPERIMENT_INSERT_IN_QUEUE] = in->queue,
        [EXPERIMENT_INSERT_IN_TAGS] = in->tags,
        [EXPERIMENT_INSERT_IN_DESIRED_STATE] = in->desired_state,
        [EXPERIMENT_INSERT_IN_USER_ID] = r->op.ident->user_id,
        [EXPERIMENT_INSERT_IN_TOKEN_ID] = r->op.ident->token_id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_INSERT, p)) ||
        audit_log_write(&r->op, "experiment.create", pr->id,
                        PQgetvalue(res, 0, EXPERIMENT_INSERT_ID),
                        experiments_audit_details(r, b))) {
        req_refine_error(r, 409, "name", "an experiment of this name exists in the project");
        return NULL;
    }
    return res;
}

/* {"project": …, "experiments": [one create's body, …]}: all made in one transaction or
 * none (the grid action's N combinations), each checked before any is written; an error
 * names the member ("experiments[3].name"). Answers {"items": [the experiments, in order]}. */
static int experiments_create_batch(struct req *r, json_object *b)
{
    static const char *const keys[] = {"project", "experiments", NULL};
    static const char *const item_keys[] = {"name",  "description", "flags",         "kind",
                                            "queue", "tags",        "desired_state", NULL};
    struct jsonx_err je;
    const char *slug = NULL;
    json_object *arr = NULL;
    struct access_project pr;
    struct experiment_in *in;
    struct jsonx_out out;
    size_t n;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je) ||
        jsonx_child(b, "experiments", JSONX_REQUIRED, json_type_array, &arr, NULL, &je))
        return req_error_json(r, 400, &je);
    n = json_object_array_length(arr);
    if (n == 0 || n > EXPERIMENTS_MAX_BATCH)
        return req_error(r, 422, "invalid_value", "experiments",
                         "a batch holds 1 to %d experiments", EXPERIMENTS_MAX_BATCH);
    if (!(in = arena_alloc(r->op.arena, n * sizeof(*in))))
        return req_error(r, 500, "internal", NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_object))
            return req_error(r, 400, "invalid_field", "experiments",
                             "experiments[%zu] must be an object", i);
        if (jsonx_only_keys(e, item_keys, &je))
            return req_item_error(r, "experiments", (long)i, &je);
        if (experiments_parse(r, e, JSONX_REQUIRED, &in[i])) {
            req_error_of_item(r, "experiments", (long)i);
            return -1;
        }
    }
    if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_MEMBER, &pr) || db_begin(&r->op))
        return -1;
    jsonx_out_init(&out, r->op.arena, 512 * n);
    jsonx_out_raw(&out, "{\"items\":[", 10);
    for (size_t i = 0; i < n; i++) {
        PGresult *res = experiments_insert(r, &pr, &in[i], json_object_array_get_idx(arr, i));
        if (!res) {
            req_error_of_item(r, "experiments", (long)i);
            return -1;
        }
        if (i)
            jsonx_out_raw(&out, ",", 1);
        jsonx_out_raw(&out, PQgetvalue(res, 0, EXPERIMENT_INSERT_EXPERIMENT_JSON),
                      (size_t)PQgetlength(res, 0, EXPERIMENT_INSERT_EXPERIMENT_JSON));
    }
    jsonx_out_raw(&out, "]}", 2);
    const char *text = jsonx_out_end(&out, NULL);
    if (!text)
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (db_commit(&r->op))
        return -1;
    return req_json_text(r, 201, text);
}

int experiments_create(struct req *r)
{
    static const char *const keys[] = {"project", "name", "description",   "flags", "kind",
                                       "queue",   "tags", "desired_state", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    struct experiment_in in;
    const char *slug = NULL;
    struct access_project pr;
    PGresult *res;

    if (json_object_object_get_ex(b, "experiments", NULL))
        return experiments_create_batch(r, b);
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je))
        return req_error_json(r, 400, &je);
    if (experiments_parse(r, b, JSONX_REQUIRED, &in) ||
        access_project_for(&r->op, slug, "project", ACCESS_ROLE_MEMBER, &pr))
        return -1;
    if (db_begin(&r->op) || !(res = experiments_insert(r, &pr, &in, b)) || db_commit(&r->op))
        return -1;
    return req_json_text(r, 201, PQgetvalue(res, 0, EXPERIMENT_INSERT_EXPERIMENT_JSON));
}

int experiments_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (experiments_access(r, ACCESS_ROLE_VIEWER, &pr, &res))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, EXPERIMENT_GET_EXPERIMENT_JSON));
}

int experiments_update(struct req *r)
{
    static const char *const keys[] = {"name",  "description", "flags",         "kind",
                                       "queue", "tags",        "desired_state", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    struct experiment_in in;
    struct access_project pr;
    PGresult *res, *cur;

    if (jsonx_only_keys(b, keys, &je))
        return req_error_json(r, 400, &je);
    if (experiments_parse(r, b, JSONX_NULLABLE, &in))
        return -1;
    if (db_begin(&r->op) || experiments_access(r, ACCESS_ROLE_MEMBER, &pr, &cur))
        return -1;
    const char *id = req_path_param(r, "experiment");
    const char *p[EXPERIMENT_UPDATE__NIN] = {
        [EXPERIMENT_UPDATE_IN_EXPERIMENT] = id,
        [EXPERIMENT_UPDATE_IN_SLUG] = pr.slug,
        [EXPERIMENT_UPDATE_IN_NAME] = in.name,
        [EXPERIMENT_UPDATE_IN_DESCRIPTION] = in.description,
        [EXPERIMENT_UPDATE_IN_FLAGS] = in.flags,
        [EXPERIMENT_UPDATE_IN_KIND] = in.kind,
        [EXPERIMENT_UPDATE_IN_QUEUE] = in.queue,
        [EXPERIMENT_UPDATE_IN_TAGS] = in.tags,
        [EXPERIMENT_UPDATE_IN_DESIRED_STATE] = in.desired_state,
        [EXPERIMENT_UPDATE_IN_USER_ID] = r->op.ident->user_id,
        [EXPERIMENT_UPDATE_IN_TOKEN_ID] = r->op.ident->token_id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_UPDATE, p)) ||
        audit_log_write(&r->op, "experiment.update", pr.id, id, experiments_audit_details(r, b)) ||
        db_commit(&r->op)) {
        req_refine_error(r, 409, "name", "an experiment of this name exists in the project");
        return -1;
    }
    return req_json_text(r, 200, PQgetvalue(res, 0, EXPERIMENT_UPDATE_EXPERIMENT_JSON));
}

int experiments_delete(struct req *r)
{
    struct access_project pr;
    PGresult *cur;
    const char *id = req_path_param(r, "experiment");

    if (db_begin(&r->op) || experiments_access(r, ACCESS_ROLE_MEMBER, &pr, &cur))
        return -1;
    const char *p[EXPERIMENT_DELETE__NIN] = {[EXPERIMENT_DELETE_IN_EXPERIMENT] = id};
    if (!DB_EXEC(&r->op, DB_STMT_EXPERIMENT_DELETE, p) ||
        audit_log_write(&r->op, "experiment.delete", pr.id, id, NULL) || db_commit(&r->op))
        return -1;
    r->status = 204;
    return 0;
}

int experiments_runs(struct req *r)
{
    static const char *const known[] = {"limit", NULL};
    struct access_project pr;
    PGresult *res, *cur;
    long limit;

    if (req_only_params(r, known) || req_limit(r, &limit) ||
        experiments_access(r, ACCESS_ROLE_VIEWER, &pr, &cur))
        return -1;
    const char *p[EXPERIMENT_RUNS__NIN] = {
        [EXPERIMENT_RUNS_IN_EXPERIMENT] = req_path_param(r, "experiment"),
        [EXPERIMENT_RUNS_IN_SLUG] = pr.slug,
        [EXPERIMENT_RUNS_IN_LIMIT] = arena_sprintf(r->op.arena, "%ld", limit)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_RUNS, p)))
        return -1;
    _Static_assert(EXPERIMENT_RUNS_RUN_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(r, res, PQntuples(res), NULL);
}

/* The schema of the flags of one experiment (id) or of the project's (id NULL). */
static int experiments_schema_of(struct req *r, const struct access_project *pr, const char *id)
{
    struct flagschema fs;
    json_object *out = NULL;
    PGresult *res;
    int rc = -1;

    const char *p[EXPERIMENT_FLAGS__NIN] = {
        [EXPERIMENT_FLAGS_IN_PROJECT_ID] = pr->id, [EXPERIMENT_FLAGS_IN_EXPERIMENT] = id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_FLAGS, p)))
        return -1;
    flagschema_init(&fs);
    for (int i = 0; i < PQntuples(res); i++) {
        struct jsonx_err je;
        const char *text = PQgetvalue(res, i, EXPERIMENT_FLAGS_FLAGS);
        json_object *flags =
            jsonx_parse(text, (size_t)PQgetlength(res, i, EXPERIMENT_FLAGS_FLAGS), &je);
        int failed = flagschema_add(&fs, flags);
        json_object_put(flags);
        if (failed)
            goto out;
    }
    if (!(out = flagschema_json(&fs)))
        goto out;
    json_object_object_add(out, "project", json_object_new_string(pr->slug));
    if (id)
        json_object_object_add(out, "experiment_id", json_object_new_int64(strtoll(id, NULL, 10)));
    rc = req_json(r, 200, out);
out:
    flagschema_fini(&fs);
    if (rc)
        req_error(r, 500, "internal", NULL, "internal error");
    return rc;
}

int experiments_schema(struct req *r)
{
    struct access_project pr;
    PGresult *cur;

    if (experiments_access(r, ACCESS_ROLE_VIEWER, &pr, &cur))
        return -1;
    return experiments_schema_of(r, &pr, req_path_param(r, "experiment"));
}

int experiments_project_schema(struct req *r)
{
    static const char *const known[] = {"project", NULL};
    struct access_project pr;

    if (req_only_params(r, known) ||
        access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    return experiments_schema_of(r, &pr, NULL);
}

/* ?launcher= names who asks: 1 to 200 bytes. */
static int experiments_launcher(struct req *r, const char *launcher)
{
    if (!launcher || !*launcher || strlen(launcher) > 200)
        return req_error(r, 400, "invalid_field", "launcher", "launcher must be 1 to 200 bytes");
    return 0;
}

int experiments_reconcile(struct req *r)
{
    static const char *const known[] = {"project", "launcher", "limit", NULL};
    const char *launcher = req_query(r, "launcher");
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || experiments_launcher(r, launcher) || req_limit(r, &limit) ||
        access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[EXPERIMENT_RECONCILE__NIN] = {[EXPERIMENT_RECONCILE_IN_PROJECT_ID] = pr.id,
                                                [EXPERIMENT_RECONCILE_IN_SLUG] = pr.slug,
                                                [EXPERIMENT_RECONCILE_IN_LAUNCHER] = launcher,
                                                [EXPERIMENT_RECONCILE_IN_LIMIT] =
                                                    arena_sprintf(r->op.arena, "%ld", limit)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_RECONCILE, p)))
        return -1;
    _Static_assert(EXPERIMENT_RECONCILE_EXPERIMENT_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(r, res, PQntuples(res), NULL);
}

/* Locks the experiment in the path (experiment_lock), checks the caller may act on it, then
 * reads its state (experiment_state) in a snapshot taken with the lock held: *res holds it. */
static int experiments_lock(struct req *r, struct access_project *pr, PGresult **res)
{
    const char *id = req_path_param(r, "experiment");
    PGresult *lk;

    if (!id || !req_is_int(id) || strlen(id) > 18)
        return req_error(r, 404, "not_found", NULL, "no such experiment");
    const char *p[EXPERIMENT_LOCK__NIN] = {[EXPERIMENT_LOCK_IN_EXPERIMENT] = id};
    if (db_begin(&r->op) || !(lk = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_LOCK, p)))
        return -1;
    if (PQntuples(lk) != 1)
        return req_error(r, 404, "not_found", NULL, "no such experiment");
    if (access_project_by_id(&r->op, PQgetvalue(lk, 0, EXPERIMENT_LOCK_PROJECT_ID),
                             ACCESS_ROLE_MEMBER, pr, "experiment"))
        return -1;
    _Static_assert(EXPERIMENT_STATE_IN_EXPERIMENT == EXPERIMENT_LOCK_IN_EXPERIMENT &&
                       EXPERIMENT_STATE__NIN == EXPERIMENT_LOCK__NIN,
                   "experiment_lock and experiment_state take the same input");
    if (!(*res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_STATE, p)))
        return -1;
    if (PQntuples(*res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such experiment");
    return 0;
}

int experiments_claim(struct req *r)
{
    static const char *const keys[] = {"launcher", "action", "lease_s", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    const char *launcher = NULL, *action = NULL;
    int64_t lease_s = EXPERIMENTS_LEASE_DEFAULT_S;
    struct access_project pr;
    PGresult *lk, *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "launcher", JSONX_REQUIRED, 1, 200, &launcher, NULL, &je) ||
        jsonx_enum(b, "action", JSONX_REQUIRED, actions, &action, NULL, &je) ||
        jsonx_int(b, "lease_s", JSONX_NULLABLE, 1, EXPERIMENTS_LEASE_MAX_S, &lease_s, NULL, &je))
        return req_error_json(r, 400, &je);
    if (experiments_lock(r, &pr, &lk))
        return -1;
    if (PQgetvalue(lk, 0, EXPERIMENT_STATE_HELD)[0] == 't')
        return req_error(r, 409, "conflict", "experiment",
                         "another launcher holds a lease on this experiment");
    if (PQgetisnull(lk, 0, EXPERIMENT_STATE_ACTION))
        return req_error(r, 409, "conflict", "action", "the experiment needs no action");
    if (strcmp(PQgetvalue(lk, 0, EXPERIMENT_STATE_ACTION), action) != 0)
        return req_error(r, 409, "conflict", "action", "the experiment needs %s, not %s",
                         PQgetvalue(lk, 0, EXPERIMENT_STATE_ACTION), action);
    const char *p[EXPERIMENT_CLAIM__NIN] = {
        [EXPERIMENT_CLAIM_IN_EXPERIMENT] = req_path_param(r, "experiment"),
        [EXPERIMENT_CLAIM_IN_SLUG] = pr.slug,
        [EXPERIMENT_CLAIM_IN_ACTION] = action,
        [EXPERIMENT_CLAIM_IN_LAUNCHER] = launcher,
        [EXPERIMENT_CLAIM_IN_LEASE_S] = arena_sprintf(r->op.arena, "%lld", (long long)lease_s)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_CLAIM, p)) || db_commit(&r->op))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, EXPERIMENT_CLAIM_CLAIM_JSON));
}

/* experiments_lock, then the lease's holder only: 409 naming lease_id for anyone else. A
 * lapsed lease still counts until another launcher claims over it: a slow launcher's late
 * report (or renewal) is welcome when nobody else acted. */
static int experiments_lock_lease(struct req *r, const char *lease, struct access_project *pr,
                                  PGresult **lk)
{
    if (experiments_lock(r, pr, lk))
        return -1;
    if (PQgetisnull(*lk, 0, EXPERIMENT_STATE_LEASE_ID) ||
        strcasecmp(PQgetvalue(*lk, 0, EXPERIMENT_STATE_LEASE_ID), lease) != 0)
        return req_error(r, 409, "conflict", "lease_id",
                         "not the experiment's lease: it was reported, or lapsed and another "
                         "launcher took over");
    return 0;
}

int experiments_renew(struct req *r)
{
    static const char *const keys[] = {"lease_id", "lease_s", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    const char *lease = NULL;
    int64_t lease_s = EXPERIMENTS_LEASE_DEFAULT_S;
    struct access_project pr;
    PGresult *lk, *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "lease_id", JSONX_REQUIRED, 36, 36, &lease, NULL, &je) ||
        jsonx_int(b, "lease_s", JSONX_NULLABLE, 1, EXPERIMENTS_LEASE_MAX_S, &lease_s, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!jsonx_is_uuid(lease))
        return req_error(r, 400, "invalid_field", "lease_id", "lease_id must be a UUID");
    if (experiments_lock_lease(r, lease, &pr, &lk))
        return -1;
    const char *p[EXPERIMENT_RENEW__NIN] = {
        [EXPERIMENT_RENEW_IN_EXPERIMENT] = req_path_param(r, "experiment"),
        [EXPERIMENT_RENEW_IN_SLUG] = pr.slug,
        [EXPERIMENT_RENEW_IN_LEASE_S] = arena_sprintf(r->op.arena, "%lld", (long long)lease_s)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_RENEW, p)) || db_commit(&r->op))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, EXPERIMENT_RENEW_LEASE_JSON));
}

int experiments_report(struct req *r)
{
    static const char *const keys[] = {"lease_id", "outcome",       "run_id",
                                       "error",    "retry_after_s", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    const char *lease = NULL, *outcome = NULL, *run = NULL, *error = NULL;
    int64_t retry_s = EXPERIMENTS_RETRY_DEFAULT_S;
    struct access_project pr;
    PGresult *lk, *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "lease_id", JSONX_REQUIRED, 36, 36, &lease, NULL, &je) ||
        jsonx_enum(b, "outcome", JSONX_REQUIRED, outcomes, &outcome, NULL, &je) ||
        jsonx_string(b, "run_id", JSONX_NULLABLE, 36, 36, &run, NULL, &je) ||
        jsonx_string(b, "error", JSONX_NULLABLE, 1, 4000, &error, NULL, &je) ||
        jsonx_int(b, "retry_after_s", JSONX_NULLABLE, 0, 86400, &retry_s, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!jsonx_is_uuid(lease))
        return req_error(r, 400, "invalid_field", "lease_id", "lease_id must be a UUID");
    if (run && !jsonx_is_uuid(run))
        return req_error(r, 400, "invalid_field", "run_id", "run_id must be a UUID");
    if (experiments_lock_lease(r, lease, &pr, &lk))
        return -1;
    const char *action = PQgetvalue(lk, 0, EXPERIMENT_STATE_LEASE_ACTION);
    const char *id = req_path_param(r, "experiment");
    if (strcmp(outcome, "done") == 0 && strcmp(action, "launch") == 0) {
        if (!run)
            return req_error(r, 400, "invalid_field", "run_id",
                             "run_id is required to report a launch done");
        const char *pr_[EXPERIMENT_RUN_OF__NIN] = {
            [EXPERIMENT_RUN_OF_IN_RUN] = run, [EXPERIMENT_RUN_OF_IN_EXPERIMENT] = id};
        if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_RUN_OF, pr_)))
            return -1;
        if (PQntuples(res) != 1)
            return req_error(r, 422, "invalid_reference", "run_id",
                             "run_id is not a run of this experiment");
    } else if (strcmp(outcome, "done") == 0 && !PQgetisnull(lk, 0, EXPERIMENT_STATE_ACTIVE_RUN)) {
        return req_error(r, 409, "conflict", "outcome",
                         "the experiment still has an active run: end it before reporting %s done",
                         action);
    }
    const char *p[EXPERIMENT_REPORT__NIN] = {
        [EXPERIMENT_REPORT_IN_EXPERIMENT] = id,
        [EXPERIMENT_REPORT_IN_SLUG] = pr.slug,
        [EXPERIMENT_REPORT_IN_ACTION] = action,
        [EXPERIMENT_REPORT_IN_OUTCOME] = outcome,
        [EXPERIMENT_REPORT_IN_RUN] = run,
        [EXPERIMENT_REPORT_IN_ERROR] = error,
        [EXPERIMENT_REPORT_IN_RETRY_S] = arena_sprintf(r->op.arena, "%lld", (long long)retry_s)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_EXPERIMENT_REPORT, p)) || db_commit(&r->op))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, EXPERIMENT_REPORT_EXPERIMENT_JSON));
}
