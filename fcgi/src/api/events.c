/* events: one event or a batch of up to EVENTS_MAX_BATCH in one request, validated
 * whole before anything is written, then inserted by a single statement in one
 * transaction (jsonb_to_recordset), so a batch is all in or all out. Values under
 * secret-looking keys of data are redacted first. Listing pages by event id, oldest or
 * newest first. */
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
int events_check(struct req *r, json_object *e, long idx)
{
    static const char *const keys[] = {"ts", "kind", "level", "message", "data", NULL};
    struct jsonx_err je;
    const char *ts = NULL, *s;
    json_object *data;

    if (!json_object_is_type(e, json_type_object))
        return req_error(r, 400, "invalid_field", idx < 0 ? NULL : "events",
                         "events[%ld] must be an object", idx);
    if (jsonx_only_keys(e, keys, &je) ||
        jsonx_string(e, "ts", JSONX_NULLABLE, 20, 40, &ts, NULL, &je) ||
        jsonx_string(e, "kind", JSONX_NULLABLE, 1, 100, &s, NULL, &je) ||
        jsonx_enum(e, "level", JSONX_NULLABLE, levels, &s, NULL, &je) ||
        jsonx_string(e, "message", JSONX_NULLABLE, 0, 65536, &s, NULL, &je) ||
        jsonx_child(e, "data", JSONX_NULLABLE, json_type_object, &data, NULL, &je))
        return req_item_error(r, "events", idx, &je);
    if (ts && !jsonx_is_rfc3339(ts))
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

/* The batch as the statement's jsonb text, in the arena. When redaction changed nothing
 * and the body is {"events": [...]}, that is the array's text as sent (jsonx_parse accepted
 * it, so PostgreSQL reads the same values): printing the tree again cost a 120 KB batch
 * 330 µs, a tenth of the API's time (docs/PERFORMANCE.md). Otherwise json-c prints the tree
 * (its buffer of arr until arr is printed again, so copied: a write that may wait for its
 * group must not lose it). */
static const char *events_text(struct req *r, json_object *arr, int redacted)
{
    size_t off, n;
    const char *text;
    char *copy;

    if (!redacted && json_object_object_get_ex(r->body_json, "events", NULL) &&
        jsonx_sole_member(r->body, r->body_len, "events", &off, &n) == 0)
        text = r->body + off;
    else if (!(text = jsonx_to_string(arr, &n)))
        return NULL;
    if (!(copy = arena_alloc(r->op.arena, n + 1)))
        return NULL;
    memcpy(copy, text, n);
    copy[n] = '\0';
    return copy;
}

int events_create(struct req *r)
{
    const char *key, *text;
    json_object *arr = req_batch(r, "events", EVENTS_MAX_BATCH, events_check);
    if (!arr || runs_idempotency_key(r, &key))
        return -1;
    int redacted = jsonx_redact(arr, r->op.cfg->redact_keys);
    if (!(text = events_text(r, arr, redacted)))
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (key)
        return events_create_keyed(r, text, key);

    /* One autocommitted statement checks access and appends the whole batch. No row
     * lock on the run: appends to one run must not queue behind each other's commits.
     * A lone event may share its commit with other requests' writes (group_write); a batch
     * is one commit already, and a large one would hold the others up. */
    int lone = json_object_array_length(arr) == 1;
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
