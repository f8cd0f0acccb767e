/* copy_cost: a 1000-event batch stored as the API stores it (event_insert, one
 * autocommitted INSERT … SELECT from the jsonb array) against the same rows stored with
 * COPY (BEGIN and a statement taking the access check, the attempt, now() and the ids,
 * pipelined; then "COPY … FROM STDIN; COMMIT" as one simple query: three round trips, the
 * fewest libpq allows, since COPY cannot go in a pipeline). Both commit. Rounds alternate
 * the two; it prints the medians of the backend's CPU (/proc/<pid>/schedstat: the server
 * must be on this machine), this process's CPU (making the COPY text included: the body's
 * fields as the API would have them after parsing) and the wall time a batch.
 * "full" makes the rows as the handler would (a ts column, each event's data printed from
 * the jsonx tree); "floor" is the best case (no ts column, so every ts is the column's
 * default, and data as sent, which the API has no scanner for). Both escape for COPY's
 * text format. A measurement kept for docs/PERFORMANCE.md.
 * Usage: copy-cost CONNINFO RUN_ID PROJECT_ID N ROUNDS full|floor */
#include <json-c/json.h>
#include <libpq-fe.h>

#include "bench_time.h"
#include "db_stmt.h"
#include "jsonx.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS     1000
#define MAX_ROUNDS 100

/* The API's event_insert comes from the statement table; what the COPY path would add (the
 * statement before the COPY, the COPY) was never an API statement, so it is here. */
static const char *begin_sql =
    "SELECT w.project_id, (SELECT max(seq) FROM attempts WHERE run_id = $1::uuid) AS attempt,"
    " now()::text AS now, (SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT"
    " nextval('events_id_seq') AS id FROM generate_series(1, $5::int)) s) AS ids"
    " FROM run_writable($1::uuid, $2::bigint, $3::bigint, $4::bool) w";

static void die(PGconn *c, const char *what)
{
    fprintf(stderr, "copy-cost: %s: %s", what, PQerrorMessage(c));
    exit(1);
}

static void ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_PIPELINE_SYNC)
        die(c, what);
}

/* COPY text format: backslash, and the control characters that would end a field or row;
 * runs of other bytes are copied whole. */
static char *esc(char *o, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        size_t k = strcspn(s, "\\\t\n\r");
        if (s + k > end)
            k = (size_t)(end - s);
        memcpy(o, s, k);
        o += k;
        s += k;
        if (s >= end)
            break;
        *o++ = '\\';
        *o++ = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : 'r';
        s++;
    }
    return o;
}

static char *messages[EVENTS], *datas[EVENTS], *json_body;
static json_object *tree;
static int floor_mode;  /* no ts column (every ts defaulted), data as sent: the best case */
static double build_us; /* this process's CPU making the COPY text, all batches */

static void one_insert(PGconn *c, const char *run, const char *proj)
{
    const char *p[5] = {run, proj, NULL, "f", json_body};
    PGresult *r = PQexecPrepared(c, "ins", 5, p, NULL, NULL, 0);
    ok(c, r, "event_insert");
    if (PQgetisnull(r, 0, 0) || atoi(PQgetvalue(r, 0, 1)) != EVENTS)
        die(c, "event_insert stored nothing");
    PQclear(r);
}

static char *copybuf;

static void one_copy(PGconn *c, const char *run, const char *proj)
{
    char n[16];
    snprintf(n, sizeof(n), "%d", EVENTS);
    const char *p[5] = {run, proj, NULL, "f", n};
    PGresult *r;

    if (PQenterPipelineMode(c) != 1)
        die(c, "pipeline");
    if (!PQsendQueryPrepared(c, "begin", 0, NULL, NULL, NULL, 0) ||
        !PQsendQueryPrepared(c, "copy_begin", 5, p, NULL, NULL, 0) || !PQpipelineSync(c))
        die(c, "send");
    r = PQgetResult(c);
    ok(c, r, "BEGIN");
    PQclear(r);
    PQclear(PQgetResult(c));
    PGresult *b = PQgetResult(c);
    ok(c, b, "copy_begin");
    PQclear(PQgetResult(c));
    r = PQgetResult(c);
    ok(c, r, "sync");
    PQclear(r);
    if (PQexitPipelineMode(c) != 1)
        die(c, "exit pipeline");
    if (PQntuples(b) != 1)
        die(c, "no access");
    const char *project = PQgetvalue(b, 0, 0), *attempt = PQgetvalue(b, 0, 1),
               *ts = PQgetvalue(b, 0, 2);
    int null_attempt = PQgetisnull(b, 0, 1);
    const char *ids = PQgetvalue(b, 0, 3);

    double t0 = bench_now_us(CLOCK_PROCESS_CPUTIME_ID);
    /* The rows: id, project_id, run_id, attempt_seq, ts, kind, level, message, data. */
    char *o = copybuf;
    for (int i = 0; i < EVENTS; i++) {
        size_t idn = strcspn(ids, ",");
        memcpy(o, ids, idn);
        o += idn;
        ids += idn + (ids[idn] == ',');
        *o++ = '\t';
        o = stpcpy(o, project);
        *o++ = '\t';
        o = stpcpy(o, run);
        *o++ = '\t';
        o = null_attempt ? stpcpy(o, "\\N") : stpcpy(o, attempt);
        *o++ = '\t';
        if (!floor_mode)
            o = stpcpy(o, ts), *o++ = '\t';
        o = stpcpy(o, "log\tinfo\t");
        /* As the handler would have them: the parsed tree's strings, data printed. */
        json_object *e = json_object_array_get_idx(tree, (size_t)i), *m, *d;
        if (json_object_object_get_ex(e, "message", &m))
            o = esc(o, json_object_get_string(m), (size_t)json_object_get_string_len(m));
        *o++ = '\t';
        if (floor_mode) {
            o = esc(o, datas[i], strlen(datas[i]));
        } else if (json_object_object_get_ex(e, "data", &d) && d) {
            size_t dn;
            const char *dt = json_object_to_json_string_length(d, JSON_C_TO_STRING_PLAIN, &dn);
            o = esc(o, dt, dn);
        } else {
            o = stpcpy(o, "\\N");
        }
        *o++ = '\n';
    }
    build_us += bench_now_us(CLOCK_PROCESS_CPUTIME_ID) - t0;
    PQclear(b);
    if (!PQsendQuery(c, floor_mode
                            ? "COPY events (id, project_id, run_id, attempt_seq, kind, level, "
                              "message, data) FROM STDIN; COMMIT"
                            : "COPY events (id, project_id, run_id, attempt_seq, ts, kind, level, "
                              "message, data) FROM STDIN; COMMIT"))
        die(c, "send copy");
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        die(c, "copy in");
    PQclear(r);
    if (PQputCopyData(c, copybuf, (int)(o - copybuf)) != 1 || PQputCopyEnd(c, NULL) != 1)
        die(c, "copy data");
    while ((r = PQgetResult(c))) {
        ok(c, r, "copy/commit");
        PQclear(r);
    }
}

int main(int argc, char **argv)
{
    if (argc != 7 || (strcmp(argv[6], "full") != 0 && strcmp(argv[6], "floor") != 0)) {
        fprintf(stderr, "usage: copy-cost CONNINFO RUN_ID PROJECT_ID N ROUNDS full|floor\n");
        return 2;
    }
    floor_mode = strcmp(argv[6], "floor") == 0;
    const char *run = argv[2], *proj = argv[3];
    int n = atoi(argv[4]), rounds = atoi(argv[5]);
    if (rounds > MAX_ROUNDS || n < 1)
        return 2;
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK)
        die(c, "connect");
    PQclear(PQexec(c, "SET TimeZone = 'UTC'"));
    int pid = PQbackendPID(c);
    PGresult *r;
    r = PQprepare(c, "ins", db_stmts[DB_STMT_EVENT_INSERT].sql, 0, NULL);
    ok(c, r, "prepare ins");
    PQclear(r);
    r = PQprepare(c, "copy_begin", begin_sql, 0, NULL);
    ok(c, r, "prepare copy_begin");
    PQclear(r);
    r = PQprepare(c, "begin", "BEGIN", 0, NULL);
    ok(c, r, "prepare begin");
    PQclear(r);

    /* The bench's body (tests/bench/api.sh), and its fields as the parser leaves them. */
    json_body = malloc(200000);
    copybuf = malloc(400000);
    char *jb = json_body;
    *jb++ = '[';
    for (int i = 0; i < EVENTS; i++) {
        char m[128], d[128];
        snprintf(m, sizeof(m), "epoch %d step %d: loss 0.%04d acc 0.91 lr 0.001", i / 100, i,
                 i * 7 % 10000);
        snprintf(d, sizeof(d), "{\"step\":%d,\"loss\":0.25,\"acc\":0.91}", i);
        messages[i] = strdup(m);
        datas[i] = strdup(d);
        jb += snprintf(jb, 200, "%s{\"level\":\"info\",\"message\":\"%s\",\"data\":%s}",
                       i ? "," : "", m, d);
    }
    *jb++ = ']';
    *jb = '\0';
    struct jsonx_err je;
    if (!(tree = jsonx_parse(json_body, strlen(json_body), &je)))
        return 1;

    int copies = 0;
    double bi[MAX_ROUNDS], bc[MAX_ROUNDS], ci[MAX_ROUNDS], cc[MAX_ROUNDS], wi[MAX_ROUNDS],
        wc[MAX_ROUNDS];
    for (int k = 0; k < rounds; k++) {
        for (int which = 0; which < 2; which++) {
            int copy = (which + k) % 2;
            double b0 = bench_cpu_us(pid), c0 = bench_now_us(CLOCK_PROCESS_CPUTIME_ID),
                   w0 = bench_now_us(CLOCK_MONOTONIC);
            for (int i = 0; i < n; i++)
                copy ? one_copy(c, run, proj) : one_insert(c, run, proj);
            double b = (bench_cpu_us(pid) - b0) / n,
                   cl = (bench_now_us(CLOCK_PROCESS_CPUTIME_ID) - c0) / n,
                   w = (bench_now_us(CLOCK_MONOTONIC) - w0) / n;
            copies += copy ? n : 0;
            (copy ? bc : bi)[k] = b;
            (copy ? cc : ci)[k] = cl;
            (copy ? wc : wi)[k] = w;
            printf("round %d %-6s backend %7.0f us  client %6.0f us  wall %7.0f us\n", k,
                   copy ? "copy" : "insert", b, cl, w);
        }
    }
    printf("median insert: backend %.0f us, client %.0f us, wall %.0f us a batch\n",
           bench_median(bi, rounds), bench_median(ci, rounds), bench_median(wi, rounds));
    printf("median copy:   backend %.0f us, client %.0f us, wall %.0f us a batch\n",
           bench_median(bc, rounds), bench_median(cc, rounds), bench_median(wc, rounds));
    printf("of which making the COPY text: %.0f us a batch (mean)\n", build_us / copies);
    PQfinish(c);
    return 0;
}
