/* events: one event or a batch of up to EVENTS_MAX_BATCH in one request, validated
 * whole before anything is written, then inserted by a single statement in one
 * transaction (jsonb_to_recordset), so a batch is all in or all out. Values under
 * secret-looking keys of data are redacted first. The body is read with jsonx_read (the
 * route's ROUTE_JSON_READ), not into a json-c tree: a batch is bulk input, and json-c's tree
 * was most of the API's time a batch (docs/PERFORMANCE.md). Listing pages by event id, oldest
 * or newest first. */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api/runs.h"
#include "config.h"
#include "counters.h"
#include "db.h"
#include "pub.h"

static const char *const levels[] = {"debug", "info", "warning", "error", "critical", NULL};

/* Validates one event; field names in errors carry the batch index. A worker's log lines
 * (api/workers.c) have the same shape and use it too. */
int events_check(struct req *r, const struct jsonx_val *e, long idx)
{
    static const char *const keys[] = {"ts", "kind", "level", "message", "data", NULL};
    struct jsonx_err je;
    const char *ts = NULL, *s;
    size_t ts_len = 0;
    const struct jsonx_val *data;

    if (e->kind != JSONX_OBJECT)
        return req_error(r, 400, "invalid_field", idx < 0 ? NULL : "events",
                         "events[%ld] must be an object", idx);
    if (jsonx_vonly_keys(e, keys, &je) ||
        jsonx_vstring(e, "ts", JSONX_NULLABLE, 20, 40, &ts, &ts_len, NULL, &je) ||
        jsonx_vstring(e, "kind", JSONX_NULLABLE, 1, 100, &s, NULL, NULL, &je) ||
        jsonx_venum(e, "level", JSONX_NULLABLE, levels, &s, NULL, &je) ||
        jsonx_vstring(e, "message", JSONX_NULLABLE, 0, 65536, &s, NULL, NULL, &je) ||
        jsonx_vchild(e, "data", JSONX_NULLABLE, JSONX_OBJECT, &data, NULL, &je))
        return req_item_error(r, "events", idx, &je);
    if (ts && !jsonx_is_rfc3339_len(ts, ts_len))
        return req_error(r, 400, "invalid_field",
                         idx < 0 ? "ts" : arena_sprintf(r->op.arena, "events[%ld].ts", idx),
                         "ts must be an RFC 3339 time with a zone");
    return 0;
}

static int events_created(struct req *r, PGresult *res);
static int events_answer(struct req *r, int status, const char *count, const char *first,
                         const char *last);

/* The keyed insert answers event_insert's columns first: a batch it stored completes the same
 * way. */
_Static_assert(EVENT_INSERT_KEYED_PROJECT_ID == EVENT_INSERT_PROJECT_ID &&
                   EVENT_INSERT_KEYED_COUNT == EVENT_INSERT_COUNT &&
                   EVENT_INSERT_KEYED_FIRST_ID == EVENT_INSERT_FIRST_ID &&
                   EVENT_INSERT_KEYED_LAST_ID == EVENT_INSERT_LAST_ID &&
                   EVENT_INSERT_KEYED_EVENTS_JSON == EVENT_INSERT_EVENTS_JSON,
               "event_insert_keyed answers event_insert's columns first");

/* A batch with an Idempotency-Key: one statement still, never in a group commit (a key's
 * row must be decided by its own statement, and a keyed retry is rare enough not to
 * matter to the group). A retry answers the first answer with 200 and stores nothing. */
static int events_create_keyed(struct req *r, const char *text, const char *key)
{
    const char *extra[EVENT_INSERT_KEYED__NIN - RUNS_WRITE_NFIXED] = {
        [EVENT_INSERT_KEYED_IN_EVENTS - RUNS_WRITE_NFIXED] = text,
        [EVENT_INSERT_KEYED_IN_KEY - RUNS_WRITE_NFIXED] = key};
    struct runs_prior prior = {NULL, NULL, NULL};
    PGresult *res = runs_write(r, DB_STMT_EVENT_INSERT_KEYED, extra,
                               EVENT_INSERT_KEYED__NIN - RUNS_WRITE_NFIXED);

    if (!res)
        return -1;
    if (PQgetvalue(res, 0, EVENT_INSERT_KEYED_STORED)[0] == 't')
        return events_created(r, res);
    int known = !PQgetisnull(res, 0, EVENT_INSERT_KEYED_PRIOR_COUNT);
    if (known)
        prior = (struct runs_prior){PQgetvalue(res, 0, EVENT_INSERT_KEYED_PRIOR_COUNT),
                                    PQgetvalue(res, 0, EVENT_INSERT_KEYED_PRIOR_FIRST_ID),
                                    PQgetvalue(res, 0, EVENT_INSERT_KEYED_PRIOR_LAST_ID)};
    if (runs_batch_prior(r, "events", key, text, known,
                         PQgetvalue(res, 0, EVENT_INSERT_KEYED_SAME_BODY), &prior))
        return -1;
    return events_answer(r, 200, prior.count, prior.first_id ? prior.first_id : "",
                         prior.last_id ? prior.last_id : "");
}

const char *events_text(struct req *r, const struct jsonx_val *batch)
{
    struct jsonx_err err;
    json_object *body, *arr;
    const char *text;
    size_t n;

    if (batch->kind == JSONX_ARRAY && !jsonx_vredacts(batch, r->op.cfg->redact_keys))
        return arena_strndup(r->op.arena, batch->s, batch->len);
    /* The rare case pays for json-c: the body's tree, redacted and printed (json-c's buffer
     * is arr's until arr is printed again, so copied: a write that may wait for its group
     * must not lose it). */
    if (!(body = req_own_json(r, jsonx_parse(r->body, r->body_len, &err))))
        return NULL;
    if (batch->kind == JSONX_ARRAY) {
        if (!json_object_object_get_ex(body, "events", &arr))
            return NULL;
    } else {
        if (!(arr = req_own_json(r, json_object_new_array())))
            return NULL;
        json_object_array_add(arr, json_object_get(body));
    }
    jsonx_redact(arr, r->op.cfg->redact_keys);
    if (!(text = jsonx_to_string(arr, &n)))
        return NULL;
    return arena_strndup(r->op.arena, text, n);
}

int events_create(struct req *r)
{
    const char *key, *text;
    const struct jsonx_val *batch = req_vbatch(r, "events", EVENTS_MAX_BATCH, events_check);
    if (!batch || runs_idempotency_key(r, &key))
        return -1;
    if (!(text = events_text(r, batch)))
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (key)
        return events_create_keyed(r, text, key);

    /* One autocommitted statement checks access and appends the whole batch. No row
     * lock on the run: appends to one run must not queue behind each other's commits.
     * A lone event may share its commit with other requests' writes (group_write); a batch
     * is one commit already, and a large one would hold the others up. */
    int lone = batch->kind != JSONX_ARRAY || batch->n == 1;
    const char *extra[EVENT_INSERT__NIN - RUNS_WRITE_NFIXED] = {
        [EVENT_INSERT_IN_EVENTS - RUNS_WRITE_NFIXED] = text};
    return runs_write_then(r, lone, DB_STMT_EVENT_INSERT, extra,
                           EVENT_INSERT__NIN - RUNS_WRITE_NFIXED, events_created);
}

/* After the COMMIT: counts, publishes and answers. */
static int events_created(struct req *r, PGresult *res)
{
    if (runs_write_check(r, res))
        return -1;
    const char *count = PQgetvalue(res, 0, EVENT_INSERT_COUNT),
               *first = PQgetvalue(res, 0, EVENT_INSERT_FIRST_ID),
               *last = PQgetvalue(res, 0, EVENT_INSERT_LAST_ID);
    counters_add(COUNTERS_EVENTS_STORED, strtoull(count, NULL, 10));
    /* The frame carries the batch as GET .../events renders it (the statement renders the
     * stored rows: ids, the attempt and a defaulted ts are the database's), so a viewer of
     * the run fetches nothing. A batch past the budget goes as its ids, and viewers fetch. */
    const char *data;
    if (!PQgetisnull(res, 0, EVENT_INSERT_EVENTS_JSON) &&
        (size_t)PQgetlength(res, 0, EVENT_INSERT_EVENTS_JSON) + 2 <= EVENTS_LIVE_MAX_BYTES)
        data = arena_sprintf(r->op.arena,
                             "{\"count\":%s,\"first_id\":\"%s\",\"last_id\":\"%s\","
                             "\"truncated\":false,\"events\":[%s]}",
                             count, first, last, PQgetvalue(res, 0, EVENT_INSERT_EVENTS_JSON));
    else
        data = arena_sprintf(
            r->op.arena, "{\"count\":%s,\"first_id\":\"%s\",\"last_id\":\"%s\",\"truncated\":true}",
            count, first, last);
    pub_event(r->op.pub, PQgetvalue(res, 0, EVENT_INSERT_PROJECT_ID), "run.event",
              req_path_param(r, "run"), data);
    return events_answer(r, 201, count, first, last);
}

/* The answer to a stored batch, and to its retry under the same Idempotency-Key. */
static int events_answer(struct req *r, int status, const char *count, const char *first,
                         const char *last)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "count", json_object_new_int64(strtoll(count, NULL, 10)));
    json_object_object_add(o, "first_id", json_object_new_string(first));
    json_object_object_add(o, "last_id", json_object_new_string(last));
    return req_json(r, status, o);
}

int events_page_params(struct req *r, long *limit, int *desc, const char **from)
{
    const char *after = req_query(r, "after"), *before = req_query(r, "before");
    const char *order = req_query(r, "order");

    if (req_limit(r, limit))
        return -1;
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return req_error(r, 400, "invalid_field", "order", "order must be asc or desc");
    *desc = order && strcmp(order, "desc") == 0;
    if (after && (*desc || !req_is_int(after)))
        return req_error(r, 400, "invalid_field", "after",
                         *desc ? "after goes with order=asc; use before with order=desc"
                               : "after must be an event id");
    if (before && (!*desc || !req_is_int(before)))
        return req_error(r, 400, "invalid_field", "before",
                         *desc ? "before must be an event id"
                               : "before goes with order=desc; use after with order=asc");
    *from = *desc ? before : (after ? after : "0");
    return 0;
}

/* Oldest first after an id (?after=, the default), or newest first before one
 * (?order=desc&before=), so a reader can take a long log's tail without walking it. */
int events_list(struct req *r)
{
    const char *from;
    struct access_project pr;
    long limit;
    int desc;
    PGresult *res;

    if (events_page_params(r, &limit, &desc, &from))
        return -1;
    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    /* event_list and event_list_desc take the same inputs and answer the same columns. */
    _Static_assert(EVENT_LIST_IN_RUN == EVENT_LIST_DESC_IN_RUN &&
                       EVENT_LIST_IN_AFTER == EVENT_LIST_DESC_IN_BEFORE &&
                       EVENT_LIST_IN_LIMIT == EVENT_LIST_DESC_IN_LIMIT &&
                       EVENT_LIST__NIN == EVENT_LIST_DESC__NIN &&
                       EVENT_LIST_ID == EVENT_LIST_DESC_ID,
                   "event_list and event_list_desc differ");
    const char *p[EVENT_LIST__NIN] = {[EVENT_LIST_IN_RUN] = req_path_param(r, "run"),
                                      [EVENT_LIST_IN_AFTER] = from,
                                      [EVENT_LIST_IN_LIMIT] =
                                          arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, desc ? DB_STMT_EVENT_LIST_DESC : DB_STMT_EVENT_LIST, p)))
        return -1;
    _Static_assert(EVENT_LIST_EVENT_JSON == 0, "db_page_response splices column 0");
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, EVENT_LIST_ID) : NULL);
}
