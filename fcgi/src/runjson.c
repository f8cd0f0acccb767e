/* runjson: the run list's JSON, made from binary columns (runjson.h says what it must equal)
 * with pgjson's cell writers, which read PostgreSQL's binary values and write them as its
 * JSON output does. */
#include "runjson.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_stmt.h"
#include "pgjson.h"

/* Every list statement answers run_list_columns; the handler asserts that their indexes
 * agree, so these name the columns of all twenty. */
#define C(name) RUN_LIST_CREATED_DESC_##name

static const unsigned runjson_types[C(_NOUT)] = {
    [C(ID)] = PGJSON_UUID,
    [C(PROJECT)] = PGJSON_TEXT,
    [C(EXPERIMENT_ID)] = PGJSON_INT8,
    [C(KIND)] = PGJSON_TEXT,
    [C(NAME)] = PGJSON_TEXT,
    [C(QUEUE)] = PGJSON_TEXT,
    [C(STATUS)] = PGJSON_TEXT,
    [C(PRIORITY)] = PGJSON_INT4,
    [C(INPUT)] = PGJSON_JSONB,
    [C(PARAMS)] = PGJSON_JSONB,
    [C(TAGS)] = PGJSON_TEXT_ARRAY,
    [C(PARENT_ID)] = PGJSON_UUID,
    [C(ROOT_ID)] = PGJSON_UUID,
    [C(GROUP_ID)] = PGJSON_TEXT,
    [C(WORKER_ID)] = PGJSON_INT8,
    [C(PROGRESS)] = PGJSON_FLOAT4,
    [C(CREATED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(QUEUED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(STARTED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(ENDED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(LAST_HEARTBEAT_AT)] = PGJSON_TIMESTAMPTZ,
    [C(UPDATED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(CANCEL_REQUESTED)] = PGJSON_BOOL,
    [C(ERROR_TYPE)] = PGJSON_TEXT,
    [C(ERROR_MESSAGE)] = PGJSON_TEXT,
    [C(ERROR_TRACEBACK)] = PGJSON_TEXT,
    [C(ERROR_FINGERPRINT)] = PGJSON_TEXT,
    [C(RESULT)] = PGJSON_JSONB,
    [C(SUMMARY)] = PGJSON_JSONB,
    [C(NOW)] = PGJSON_TIMESTAMPTZ,
    [C(A_SEQ)] = PGJSON_INT4,
    [C(A_STATUS)] = PGJSON_TEXT,
    [C(A_WORKER_ID)] = PGJSON_INT8,
    [C(A_CREATED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(A_STARTED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(A_ENDED_AT)] = PGJSON_TIMESTAMPTZ,
    [C(A_LAST_HEARTBEAT_AT)] = PGJSON_TIMESTAMPTZ,
    [C(A_ERROR_TYPE)] = PGJSON_TEXT,
    [C(A_ERROR_MESSAGE)] = PGJSON_TEXT,
    [C(A_ERROR_TRACEBACK)] = PGJSON_TEXT,
    [C(VERSION)] = PGJSON_XID,
};

int runjson_check(const PGresult *res, char *err, size_t errlen)
{
    if (PQnfields(res) != C(_NOUT)) {
        snprintf(err, errlen, "the run list answers %d columns, not %d", PQnfields(res), C(_NOUT));
        return -1;
    }
    return pgjson_check(res, 0, runjson_types, C(_NOUT), "the run list", err, errlen);
}

/* duration_s: extract(epoch FROM (coalesce(ended_at, now()) - started_at)). */
int runjson_duration(struct jsonx_out *o, const PGresult *res, int row, int started, int ended,
                     int now)
{
    struct pgjson_row w = {.o = o, .res = res, .row = row, .bad = 0};
    char buf[PGJSON_NUM_MAX];
    if (pgjson_null(&w, started))
        return 0;
    int end = PQgetisnull(res, row, ended) ? now : ended;
    if (!pgjson_val(&w, started, 8) || !pgjson_val(&w, end, 8))
        return -1;
    int64_t d = pgjson_time_at(res, row, end) - pgjson_time_at(res, row, started);
    pgjson_raw(o, buf, pgjson_fmt_seconds(buf, d));
    return 0;
}

int runjson_row(struct jsonx_out *o, const PGresult *res, int row, struct runjson_hole *hole)
{
    struct pgjson_row w = {.o = o, .res = res, .row = row, .bad = 0};
    size_t start = o->len;

    PGJSON_RAW(o, "{\"id\":");
    pgjson_uuid(&w, C(ID));
    PGJSON_RAW(o, ",\"project\":");
    pgjson_text(&w, C(PROJECT));
    PGJSON_RAW(o, ",\"experiment_id\":");
    pgjson_int(&w, C(EXPERIMENT_ID), 8);
    PGJSON_RAW(o, ",\"kind\":");
    pgjson_text(&w, C(KIND));
    PGJSON_RAW(o, ",\"name\":");
    pgjson_text(&w, C(NAME));
    PGJSON_RAW(o, ",\"queue\":");
    pgjson_text(&w, C(QUEUE));
    PGJSON_RAW(o, ",\"status\":");
    pgjson_text(&w, C(STATUS));
    PGJSON_RAW(o, ",\"priority\":");
    pgjson_int(&w, C(PRIORITY), 4);
    PGJSON_RAW(o, ",\"input\":");
    pgjson_jsonb(&w, C(INPUT));
    PGJSON_RAW(o, ",\"params\":");
    pgjson_jsonb(&w, C(PARAMS));
    PGJSON_RAW(o, ",\"tags\":");
    pgjson_text_array(&w, C(TAGS));
    PGJSON_RAW(o, ",\"parent_id\":");
    pgjson_uuid(&w, C(PARENT_ID));
    PGJSON_RAW(o, ",\"root_id\":");
    pgjson_uuid(&w, C(ROOT_ID));
    PGJSON_RAW(o, ",\"group_id\":");
    pgjson_text(&w, C(GROUP_ID));
    PGJSON_RAW(o, ",\"worker_id\":");
    pgjson_int(&w, C(WORKER_ID), 8);
    PGJSON_RAW(o, ",\"progress\":");
    pgjson_float4(&w, C(PROGRESS));
    PGJSON_RAW(o, ",\"created_at\":");
    pgjson_time(&w, C(CREATED_AT));
    PGJSON_RAW(o, ",\"queued_at\":");
    pgjson_time(&w, C(QUEUED_AT));
    PGJSON_RAW(o, ",\"started_at\":");
    pgjson_time(&w, C(STARTED_AT));
    PGJSON_RAW(o, ",\"ended_at\":");
    pgjson_time(&w, C(ENDED_AT));
    PGJSON_RAW(o, ",\"last_heartbeat_at\":");
    pgjson_time(&w, C(LAST_HEARTBEAT_AT));
    PGJSON_RAW(o, ",\"updated_at\":");
    pgjson_time(&w, C(UPDATED_AT));
    PGJSON_RAW(o, ",\"cancel_requested\":");
    if (!pgjson_null(&w, C(CANCEL_REQUESTED))) {
        const unsigned char *p = pgjson_val(&w, C(CANCEL_REQUESTED), 1);
        if (p)
            pgjson_raw(o, *p ? "true" : "false", *p ? 4 : 5);
    }
    PGJSON_RAW(o, ",\"duration_s\":");
    size_t hole_at = o->len;
    if (runjson_duration(o, res, row, C(STARTED_AT), C(ENDED_AT), C(NOW)) != 0)
        w.bad = 1;
    size_t hole_end = o->len;
    PGJSON_RAW(o, ",\"error\":");
    if (PQgetisnull(res, row, C(ERROR_TYPE)) && PQgetisnull(res, row, C(ERROR_MESSAGE))) {
        pgjson_raw(o, "null", 4);
    } else {
        PGJSON_RAW(o, "{\"type\":");
        pgjson_text(&w, C(ERROR_TYPE));
        PGJSON_RAW(o, ",\"message\":");
        pgjson_text(&w, C(ERROR_MESSAGE));
        PGJSON_RAW(o, ",\"traceback\":");
        pgjson_text(&w, C(ERROR_TRACEBACK));
        PGJSON_RAW(o, ",\"fingerprint\":");
        pgjson_text(&w, C(ERROR_FINGERPRINT));
        pgjson_raw(o, "}", 1);
    }
    PGJSON_RAW(o, ",\"result\":");
    pgjson_jsonb(&w, C(RESULT));
    PGJSON_RAW(o, ",\"summary\":");
    pgjson_jsonb(&w, C(SUMMARY));
    /* attempt_json(): a_seq is NULL only when the run has no attempt (seq is NOT NULL). */
    PGJSON_RAW(o, ",\"latest_attempt\":");
    if (!pgjson_null(&w, C(A_SEQ))) {
        PGJSON_RAW(o, "{\"seq\":");
        pgjson_int(&w, C(A_SEQ), 4);
        PGJSON_RAW(o, ",\"status\":");
        pgjson_text(&w, C(A_STATUS));
        PGJSON_RAW(o, ",\"worker_id\":");
        pgjson_int(&w, C(A_WORKER_ID), 8);
        PGJSON_RAW(o, ",\"created_at\":");
        pgjson_time(&w, C(A_CREATED_AT));
        PGJSON_RAW(o, ",\"started_at\":");
        pgjson_time(&w, C(A_STARTED_AT));
        PGJSON_RAW(o, ",\"ended_at\":");
        pgjson_time(&w, C(A_ENDED_AT));
        PGJSON_RAW(o, ",\"last_heartbeat_at\":");
        pgjson_time(&w, C(A_LAST_HEARTBEAT_AT));
        PGJSON_RAW(o, ",\"error\":");
        if (PQgetisnull(res, row, C(A_ERROR_TYPE)) && PQgetisnull(res, row, C(A_ERROR_MESSAGE))) {
            pgjson_raw(o, "null", 4);
        } else {
            PGJSON_RAW(o, "{\"type\":");
            pgjson_text(&w, C(A_ERROR_TYPE));
            PGJSON_RAW(o, ",\"message\":");
            pgjson_text(&w, C(A_ERROR_MESSAGE));
            PGJSON_RAW(o, ",\"traceback\":");
            pgjson_text(&w, C(A_ERROR_TRACEBACK));
            pgjson_raw(o, "}", 1);
        }
        pgjson_raw(o, "}", 1);
    }
    pgjson_raw(o, "}", 1);
    if (w.bad) {
        o->len = start;
        return -1;
    }
    if (hole) {
        hole->start = start;
        hole->at = hole_at;
        hole->end = hole_end;
        hole->stop = o->len;
    }
    return 0;
}
