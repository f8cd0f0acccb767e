/* policies: a queue's retry policy (max_attempts, retry_on, timeout_s, unresponsive_s), which
 * the housekeeper's watchdog applies to every running run of the queue that sets none of its
 * own (sql/functions/80_agl.sql, docs/AGENT_LIGHTNING.md): an attempt past timeout_s from
 * its start, or silent past unresponsive_s, fails (error type timeout or unresponsive), and
 * the run is queued again while retry_on names that and attempts remain, else fails. The
 * same policy a rollout's config is, and a native run's own (POST /runs takes the same four
 * fields, read by policies_parse). */
#include "policies.h"

#include <stdio.h>
#include <string.h>

#include "access.h"
#include "db.h"

static const char *const policy_retry_words[] = {"failed", "timeout", "unresponsive", NULL};

_Static_assert(QUEUE_POLICY_GET_POLICY == QUEUE_POLICY_PUT_POLICY,
               "queue_policy_get and queue_policy_put answer different columns");

static const char *policies_queue(struct req *r)
{
    const char *q = req_path_param(r, "queue");
    if (!q || strlen(q) > 200) {
        req_error(r, 404, "not_found", NULL, "no such queue");
        return NULL;
    }
    return q;
}

int policies_get(struct req *r)
{
    static const char *const known[] = {"project", NULL};
    struct access_project pr;
    const char *queue = policies_queue(r);
    PGresult *res;

    if (!queue || req_only_params(r, known) ||
        access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[QUEUE_POLICY_GET__NIN] = {
        [QUEUE_POLICY_GET_IN_PROJECT] = pr.id, [QUEUE_POLICY_GET_IN_QUEUE] = queue};
    if (!(res = DB_EXEC(&r->op, DB_STMT_QUEUE_POLICY_GET, p)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, QUEUE_POLICY_GET_POLICY));
}

/* A positive number of seconds (or null) of b, as text for the statement. */
static int policies_seconds(struct req *r, json_object *b, const char *key, const char **out)
{
    struct jsonx_err je;
    double v;
    int present = 0;

    if (jsonx_number(b, key, JSONX_NULLABLE, 0, 31536000, &v, &present, &je))
        return req_error_json(r, 422, &je);
    if (present && v <= 0)
        return req_error(r, 422, "invalid_value", key, "%s must be more than 0", key);
    *out = present ? arena_sprintf(r->op.arena, "%.17g", v) : NULL;
    return 0;
}

int policies_parse(struct req *r, json_object *b, struct policy_in *out)
{
    json_object *retry = NULL;
    struct jsonx_err je;
    int64_t attempts = 0;
    int has_max = 0;

    *out = (struct policy_in){0};
    if (jsonx_int(b, "max_attempts", JSONX_NULLABLE, 1, 1000, &attempts, &has_max, &je) ||
        jsonx_child(b, "retry_on", JSONX_NULLABLE, json_type_array, &retry, NULL, &je))
        return req_error_json(r, 422, &je);
    if (policies_seconds(r, b, "timeout_s", &out->timeout_s) ||
        policies_seconds(r, b, "unresponsive_s", &out->unresponsive_s))
        return -1;
    if (has_max)
        out->max_attempts = arena_sprintf(r->op.arena, "%lld", (long long)attempts);
    if (retry) {
        /* A text[] literal of the allowed words: nothing to escape. */
        char buf[64] = "{";
        size_t n = json_object_array_length(retry), o = 1;
        for (size_t i = 0; i < n; i++) {
            json_object *w = json_object_array_get_idx(retry, i);
            const char *word =
                w && json_object_is_type(w, json_type_string) ? json_object_get_string(w) : NULL;
            int ok = 0;
            for (int k = 0; word && policy_retry_words[k]; k++)
                ok |= strcmp(word, policy_retry_words[k]) == 0;
            if (!ok || n > 3)
                return req_error(r, 422, "invalid_value", "retry_on",
                                 "retry_on holds at most failed, timeout and unresponsive");
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "," : "", word);
        }
        snprintf(buf + o, sizeof(buf) - o, "}");
        out->retry_on = arena_strdup(r->op.arena, buf);
    }
    return 0;
}

int policies_put(struct req *r)
{
    static const char *const keys[] = {"project",   "max_attempts",   "retry_on",
                                       "timeout_s", "unresponsive_s", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    struct access_project pr;
    struct policy_in pol;
    const char *queue = policies_queue(r), *slug = NULL;
    PGresult *res;

    if (!queue)
        return -1;
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je))
        return req_error_json(r, 422, &je);
    if (policies_parse(r, b, &pol))
        return -1;
    if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_MEMBER, &pr))
        return -1;
    const char *p[QUEUE_POLICY_PUT__NIN] = {[QUEUE_POLICY_PUT_IN_PROJECT] = pr.id,
                                            [QUEUE_POLICY_PUT_IN_QUEUE] = queue,
                                            [QUEUE_POLICY_PUT_IN_MAX_ATTEMPTS] = pol.max_attempts,
                                            [QUEUE_POLICY_PUT_IN_RETRY_ON] = pol.retry_on,
                                            [QUEUE_POLICY_PUT_IN_TIMEOUT_S] = pol.timeout_s,
                                            [QUEUE_POLICY_PUT_IN_UNRESPONSIVE_S] =
                                                pol.unresponsive_s};
    if (!(res = DB_EXEC(&r->op, DB_STMT_QUEUE_POLICY_PUT, p)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, QUEUE_POLICY_PUT_POLICY));
}
