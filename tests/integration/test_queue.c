/* Queue suite (api/queue.c): attempts (a run follows its latest attempt), claims (order,
 * kinds, queue and project isolation, eight concurrent claimers over 1,000 runs, sixteen
 * sharing commits with refused ones among them, 64 at once claiming in one statement), leases
 * (lapse and renewal), a run's own retry policy over its queue's (the watchdog), who may do
 * what, and what claims publish. Each test works in
 * queues and kinds of its own, so the tests do not depend on one another. The lease
 * tests wait for a one-second lease to lapse: they poll, they never assert on durations. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct itest_world world;

/* ---- fixture ---- */

static int queue_init(void)
{
    return itest_world_init(&world, "queue") ? 1 : 0;
}

/* ---- requests ---- */

/* 1 when details.from and details.to of an illegal_transition are from and to. */
static int details_are(const struct http_resp *r, const char *from, const char *to)
{
    const char *f = itest_jstr(r->json, "error.details.from"),
               *t = itest_jstr(r->json, "error.details.to");
    if (f && t && strcmp(f, from) == 0 && strcmp(t, to) == 0)
        return 1;
    fprintf(stderr, "\n  expected details %s -> %s in %.300s", from, to, S(r->body));
    return 0;
}

/* The run as the admin sees it, or NULL; the caller puts it. */
static json_object *run_get(const char *id)
{
    struct http_resp r;
    json_object *o = NULL;
    if (itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/%s", id) == 200)
        o = json_object_get(r.json);
    http_resp_free(&r);
    return o;
}

/* The run's attempts page as the admin sees it, or NULL; the caller puts it. */
static json_object *attempts_of(const char *id)
{
    struct http_resp r;
    json_object *o = NULL;
    if (itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/%s/attempts", id) == 200)
        o = json_object_get(r.json);
    else
        fprintf(stderr, "\n  attempts of %s: %ld %s", id, r.status, S(r.body));
    http_resp_free(&r);
    return o;
}

/* ---- eight claimers, 1,000 runs ---- */

#define CONC_RUNS     1000
#define CONC_CLAIMERS 8
#define CONC_MAKERS   4

struct maker {
    const char *queue;
    int from, to; /* indexes into ids */
    char (*ids)[40];
    int failed;
};

static void *make_runs(void *arg)
{
    struct maker *m = arg;
    struct itest_run run = {.kind = "conc", .queue = m->queue};

    for (int i = m->from; i < m->to; i++)
        if (itest_make_run(&world.twrite, &run, m->ids[i], 40) != 201)
            m->failed++;
    return NULL;
}

/* n runs queued in queue by CONC_MAKERS threads sharing one token, their ids into ids;
 * how many creates failed. */
static int make_runs_parallel(const char *queue, int n, char (*ids)[40])
{
    struct maker mk[CONC_MAKERS];
    pthread_t t[CONC_MAKERS];
    int failed = 0;

    for (int i = 0; i < CONC_MAKERS; i++) {
        mk[i] = (struct maker){.queue = queue,
                               .from = i * n / CONC_MAKERS,
                               .to = (i + 1) * n / CONC_MAKERS,
                               .ids = ids};
        if (pthread_create(&t[i], NULL, make_runs, &mk[i]) != 0)
            return n;
    }
    for (int i = 0; i < CONC_MAKERS; i++) {
        pthread_join(t[i], NULL);
        failed += mk[i].failed;
    }
    return failed;
}

struct claimer {
    const char *queue;
    long long worker;
    char (*ids)[40]; /* CONC_RUNS entries of its own */
    int n, overflow, errors, wrong_worker, wrong_attempt;
};

/* Claims until the queue answers 204, noting every claimed id. */
static void *claim_loop(void *arg)
{
    struct claimer *c = arg;
    char body[128], path[300];

    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", c->worker);
    snprintf(path, sizeof(path), "/api/v1/queues/%s/claim", c->queue);
    while (c->errors < 20) {
        struct http_resp r;
        const char *id;
        if (api_call(&world.twrite, "POST", path, body, &r) != 0) {
            c->errors++;
            http_resp_free(&r);
            continue;
        }
        if (r.status == 204) {
            http_resp_free(&r);
            break;
        }
        id = itest_jstr(r.json, "id");
        if (r.status != 200 || !id) {
            if (c->errors++ < 3)
                fprintf(stderr, "\n  concurrent claim: %ld %.300s", r.status, S(r.body));
            http_resp_free(&r);
            continue;
        }
        c->wrong_worker += itest_jint(r.json, "worker_id") != c->worker ||
                           itest_jint(r.json, "latest_attempt.worker_id") != c->worker;
        c->wrong_attempt += itest_jint(r.json, "latest_attempt.seq") != 1 ||
                            !itest_streq(itest_jstr(r.json, "latest_attempt.status"), "running") ||
                            !itest_streq(itest_jstr(r.json, "status"), "running");
        if (c->n < CONC_RUNS)
            snprintf(c->ids[c->n++], 40, "%s", id);
        else
            c->overflow++;
        http_resp_free(&r);
    }
    return NULL;
}

/* No queued run of any queue sorts before its queue's head (queue_heads, migration 0042):
 * the claims walk from it, so a run behind it would never be claimed. */
static void heads_hold(void)
{
    char out[64];
    CU_ASSERT_EQUAL(itest_psql("SELECT count(*) FROM runs r JOIN queue_heads h USING (project_id, "
                               "queue) WHERE r.status = 'queued' AND queue_key_before(r.priority, "
                               "r.created_at, h.priority, h.created_at)",
                               out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "0");
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_concurrent_claims(void)
{
    static char made[CONC_RUNS][40], claimed[CONC_CLAIMERS * CONC_RUNS][40],
        per[CONC_CLAIMERS][CONC_RUNS][40];
    struct claimer cl[CONC_CLAIMERS];
    pthread_t t[CONC_CLAIMERS];
    char queue[64], sql[512], out[256];
    int total = 0, dups = 0, missing = 0, failed = 0, errors = 0, wrong_worker = 0,
        wrong_attempt = 0, least = CONC_RUNS, most = 0;
    double t0, t1, t2;

    itest_unique("conc", queue, sizeof(queue));
    /* The runs, made by a few threads sharing one token. */
    t0 = itest_now_s();
    failed = make_runs_parallel(queue, CONC_RUNS, made);
    CU_ASSERT_EQUAL_FATAL(failed, 0);
    /* Eight workers claim in a loop until the queue is empty. */
    for (int i = 0; i < CONC_CLAIMERS; i++) {
        cl[i] = (struct claimer){
            .queue = queue, .worker = itest_new_worker(&world.twrite, NULL, NULL), .ids = per[i]};
        CU_ASSERT_TRUE_FATAL(cl[i].worker > 0);
    }
    t1 = itest_now_s();
    for (int i = 0; i < CONC_CLAIMERS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, claim_loop, &cl[i]), 0);
    for (int i = 0; i < CONC_CLAIMERS; i++)
        pthread_join(t[i], NULL);
    t2 = itest_now_s();

    for (int i = 0; i < CONC_CLAIMERS; i++) {
        memcpy(claimed[total], cl[i].ids, (size_t)cl[i].n * 40);
        total += cl[i].n;
        errors += cl[i].errors + cl[i].overflow;
        wrong_worker += cl[i].wrong_worker;
        wrong_attempt += cl[i].wrong_attempt;
        least = cl[i].n < least ? cl[i].n : least;
        most = cl[i].n > most ? cl[i].n : most;
    }
    /* The claimed ids are exactly the made ones, each once. */
    qsort(made, CONC_RUNS, 40, cmp_id);
    qsort(claimed, (size_t)total, 40, cmp_id);
    for (int i = 1; i < total; i++)
        dups += strcmp(claimed[i - 1], claimed[i]) == 0;
    for (int i = 0; i < CONC_RUNS; i++)
        missing += !bsearch(made[i], claimed, (size_t)total, 40, cmp_id);
    fprintf(stderr,
            "\n  %d runs made in %.1f s; %d claims by %d claimers in %.1f s (%d to %d each)",
            CONC_RUNS, t1 - t0, total, CONC_CLAIMERS, t2 - t1, least, most);
    if (total != CONC_RUNS || dups || missing || errors || wrong_worker || wrong_attempt)
        fprintf(stderr,
                "\n  CLAIMS: %d claimed, %d twice, %d never, %d errors, %d with another worker, "
                "%d not a first running attempt",
                total, dups, missing, errors, wrong_worker, wrong_attempt);
    CU_ASSERT_EQUAL(total, CONC_RUNS);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(wrong_worker, 0);
    CU_ASSERT_EQUAL(wrong_attempt, 0);

    /* The database agrees: every run of the queue runs, with exactly one attempt, whose
     * worker is the run's. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FILTER (WHERE status = 'running'), count(*) FROM runs WHERE "
             "project_id = %lld AND queue = '%s'",
             world.pa.id, queue);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "1000|1000");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FILTER (WHERE a.seq = 1), count(*) FILTER (WHERE a.seq > 1), "
             "count(DISTINCT a.run_id), count(*) FILTER (WHERE a.worker_id IS DISTINCT FROM "
             "r.worker_id OR a.status <> 'running') FROM attempts a JOIN runs r ON r.id = "
             "a.run_id WHERE r.project_id = %lld AND r.queue = '%s'",
             world.pa.id, queue);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    if (strcmp(out, "1000|0|1000|0") != 0)
        fprintf(stderr, "\n  attempts (seq 1|seq > 1|runs|other worker or status): %s", out);
    CU_ASSERT_STRING_EQUAL(out, "1000|0|1000|0");
    /* And the queue is empty. */
    CU_ASSERT_EQUAL(itest_claim(&world.twrite, queue, cl[0].worker, NULL, NULL), 204);
    heads_hold();
}

/* ---- claims at once: the group commit (serve.c, db_batch) ----
 * Sixteen claimers at once, so workers commit several claims in one transaction: two
 * claims of one transaction must take two runs. Meanwhile a stopped worker asks (409, from
 * the claim's completion) and a worker whose attempts PostgreSQL refuses (a trigger this
 * test adds: its claim fails inside the group, which then runs again one by one) asks too;
 * the others get their runs as usual. Passes repeat, a bounded number of times, until a
 * group committed and one failed (no speed is assumed). */

#define GC_CLAIMERS 16
#define GC_PASS     160 /* runs a pass */
#define GC_PASSES   4

struct gc_asker {
    const char *queue;
    long long worker;
    long want;
    const char *code;
    int empty_ok; /* the refusal comes only with a run to claim */
    int n, wrong;
    volatile int *stop;
};

/* Claims as a worker that may not, until the others are done: each answer must be the
 * error. */
static void *gc_ask(void *arg)
{
    struct gc_asker *a = arg;
    char body[64], path[300];

    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", a->worker);
    snprintf(path, sizeof(path), "/api/v1/queues/%s/claim", a->queue);
    while (!*a->stop && a->n < 500) {
        struct http_resp r;
        long st = api_call(&world.twrite, "POST", path, body, &r) == 0 ? r.status : -1;
        /* An empty queue has no run to refuse: 204 (the claimers emptied it). */
        int empty = st == 204 && a->empty_ok;
        if (!empty && (st != a->want || !itest_streq(http_error_code(&r), a->code))) {
            if (a->wrong++ < 2)
                fprintf(stderr, "\n  refused claimer %lld (after %d): %ld %.200s", a->worker, a->n,
                        st, S(r.body));
        }
        a->n++;
        http_resp_free(&r);
    }
    return NULL;
}

static void test_grouped_claims(void)
{
    static char made[GC_PASS][40], claimed[GC_PASSES * GC_PASS][40],
        per[GC_CLAIMERS][CONC_RUNS][40];
    struct claimer cl[GC_CLAIMERS];
    struct gc_asker ask[2];
    pthread_t t[GC_CLAIMERS], ta[2];
    char queue[64], sql[512], out[256];
    long long stopped, refused;
    double batches0 = itest_metric("runwatch_write_batches_total"),
           fallbacks0 = itest_metric("runwatch_write_batch_fallbacks_total");
    int total = 0, dups = 0, errors = 0, passes = 0, wrong = 0, asked = 0;

    CU_ASSERT_TRUE_FATAL(batches0 >= 0 && fallbacks0 >= 0);
    itest_unique("gc", queue, sizeof(queue));
    CU_ASSERT_TRUE_FATAL((stopped = itest_new_worker(&world.twrite, NULL, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(
        itest_statusf(&world.twrite, "POST", NULL, "/api/v1/workers/%lld/stop", stopped), 200);
    CU_ASSERT_TRUE_FATAL((refused = itest_new_worker(&world.twrite, NULL, NULL)) > 0);
    snprintf(sql, sizeof(sql),
             "CREATE FUNCTION itest_gc_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "IF NEW.worker_id = %lld THEN RAISE EXCEPTION 'refused' USING ERRCODE = "
             "'check_violation'; END IF; RETURN NEW; END $$; CREATE TRIGGER itest_gc_refuse "
             "BEFORE INSERT ON attempts FOR EACH ROW EXECUTE FUNCTION itest_gc_refuse()",
             refused);
    itest_psql_ok(sql);
    for (int i = 0; i < GC_CLAIMERS; i++) {
        cl[i] = (struct claimer){
            .queue = queue, .worker = itest_new_worker(&world.twrite, NULL, NULL), .ids = per[i]};
        CU_ASSERT_TRUE_FATAL(cl[i].worker > 0);
    }
    while (passes < GC_PASSES &&
           (itest_metric("runwatch_write_batches_total") <= batches0 ||
            itest_metric("runwatch_write_batch_fallbacks_total") <= fallbacks0)) {
        volatile int stop = 0;
        int failed = 0;
        failed = make_runs_parallel(queue, GC_PASS, made);
        CU_ASSERT_EQUAL_FATAL(failed, 0);
        ask[0] = (struct gc_asker){.queue = queue,
                                   .worker = stopped,
                                   .want = 409,
                                   .code = "worker_stopped",
                                   .stop = &stop};
        ask[1] = (struct gc_asker){.queue = queue,
                                   .worker = refused,
                                   .want = 422,
                                   .code = "invalid_value",
                                   .empty_ok = 1,
                                   .stop = &stop};
        for (int i = 0; i < 2; i++)
            CU_ASSERT_EQUAL_FATAL(pthread_create(&ta[i], NULL, gc_ask, &ask[i]), 0);
        for (int i = 0; i < GC_CLAIMERS; i++) {
            cl[i].n = cl[i].errors = cl[i].overflow = cl[i].wrong_worker = cl[i].wrong_attempt = 0;
            CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, claim_loop, &cl[i]), 0);
        }
        for (int i = 0; i < GC_CLAIMERS; i++)
            pthread_join(t[i], NULL);
        stop = 1;
        for (int i = 0; i < 2; i++) {
            pthread_join(ta[i], NULL);
            wrong += ask[i].wrong;
            asked += ask[i].n;
        }
        for (int i = 0; i < GC_CLAIMERS; i++) {
            memcpy(claimed[total], cl[i].ids, (size_t)cl[i].n * 40);
            total += cl[i].n;
            errors += cl[i].errors + cl[i].overflow + cl[i].wrong_worker + cl[i].wrong_attempt;
        }
        passes++;
    }
    snprintf(sql, sizeof(sql),
             "DROP TRIGGER itest_gc_refuse ON attempts; DROP FUNCTION "
             "itest_gc_refuse()");
    itest_psql_ok(sql);
    CU_ASSERT_TRUE(itest_metric("runwatch_write_batches_total") > batches0);
    CU_ASSERT_TRUE(itest_metric("runwatch_write_batch_fallbacks_total") > fallbacks0);
    /* Every run made was claimed once, by a claimer that may. */
    qsort(claimed, (size_t)total, 40, cmp_id);
    for (int i = 1; i < total; i++)
        dups += strcmp(claimed[i - 1], claimed[i]) == 0;
    if (total != passes * GC_PASS || dups || errors || wrong)
        fprintf(stderr, "\n  GROUPED CLAIMS: %d passes, %d claimed, %d twice, %d errors, %d wrong",
                passes, total, dups, errors, wrong);
    CU_ASSERT_EQUAL(total, passes * GC_PASS);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_TRUE(asked > 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FILTER (WHERE r.status = 'running'), count(*), count(a.run_id), "
             "count(*) FILTER (WHERE a.worker_id IN (%lld, %lld)) FROM runs r LEFT JOIN "
             "attempts a ON a.run_id = r.id WHERE r.project_id = %lld AND r.queue = '%s'",
             stopped, refused, world.pa.id, queue);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    char want[64];
    snprintf(want, sizeof(want), "%d|%d|%d|0", total, total, total);
    CU_ASSERT_STRING_EQUAL(out, want);
    heads_hold();
}

/* ---- a burst of claims at once: claims of one queue in one statement (claim_group) ----
 * 64 claimers on 64 connections ask at the same moment (a barrier), so each API worker
 * finds many ready and their claims of the queue go as one statement. Among them a
 * stopped worker and a worker of another project, each refused with its own error while
 * the others get their runs. First 62 may claim of 100 runs: the claimed runs are the
 * 62 first by priority, then age, each claimed once. Then 64 claim the 38 left: 38 get
 * one, 26 get 204. Passes (a new queue each) repeat, a bounded number of times, until a
 * statement claimed for several (runwatch_write_merged_requests_total; no speed is
 * assumed, only that 64 at once meet within some pass). Each pass also checks that the
 * reports' rollups and the started counter count each claimed run once. A group whose
 * statement fails runs each claim alone: test_grouped_claims above. */

#define BURST_CLAIMERS 64
#define BURST_RUNS     100
#define BURST_PASSES   6

struct burst_claim {
    const char *queue;
    long long worker;
    pthread_barrier_t *go;
    long status;
    char id[40];
    char code[40];
    int wrong;        /* a 200 whose run is not as a claim makes it */
    json_object *run; /* a 200's answer, kept for claim_answers_are_run_json */
};

static void *burst_one(void *arg)
{
    struct burst_claim *c = arg;
    struct http_resp r;
    char body[64], path[300];

    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", c->worker);
    c->run = NULL;
    snprintf(path, sizeof(path), "/api/v1/queues/%s/claim", c->queue);
    pthread_barrier_wait(c->go);
    c->status = api_call(&world.twrite, "POST", path, body, &r) == 0 ? r.status : -1;
    c->id[0] = c->code[0] = '\0';
    if (c->status == 200) {
        snprintf(c->id, sizeof(c->id), "%s", S(itest_jstr(r.json, "id")));
        c->run = json_object_get(r.json);
        c->wrong = itest_jint(r.json, "worker_id") != c->worker ||
                   itest_jint(r.json, "latest_attempt.worker_id") != c->worker ||
                   itest_jint(r.json, "latest_attempt.seq") != 1 ||
                   !itest_streq(itest_jstr(r.json, "latest_attempt.status"), "running") ||
                   !itest_streq(itest_jstr(r.json, "status"), "running") ||
                   !itest_streq(itest_jstr(r.json, "queue"), c->queue) ||
                   !itest_streq(itest_jstr(r.json, "project"), world.pa.slug);
    } else if (c->status > 0) {
        snprintf(c->code, sizeof(c->code), "%s", S(http_error_code(&r)));
    }
    http_resp_free(&r);
    return NULL;
}

/* One burst of n claimers (worker of each in workers); 0 when every thread ran. */
static int burst(const char *queue, const long long *workers, struct burst_claim *c, int n)
{
    pthread_t t[BURST_CLAIMERS];
    pthread_barrier_t go;
    int started = 0;

    if (pthread_barrier_init(&go, NULL, (unsigned)n) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        c[i] = (struct burst_claim){.queue = queue, .worker = workers[i], .go = &go};
        if (pthread_create(&t[i], NULL, burst_one, &c[i]) != 0)
            break;
        started++;
    }
    if (started < n) { /* the others wait at the barrier for ever: no way out but to fail */
        fprintf(stderr, "\n  burst: only %d of %d threads", started, n);
        exit(1);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    return 0;
}

/* Each claimed run's answer, grouped or alone, is what run_json() makes of that run now
 * (the run and its new attempt, not another claim's), and frees the answers. duration_s
 * aside: the answer's is 0 (the run started at the claim statement's now()), run_json()'s
 * runs on to the present. Counts the answers that differ. */
static int claim_answers_are_run_json(const char *queue, struct burst_claim *c, int n)
{
    size_t cap = 1 << 20;
    char sql[512], *out = malloc(cap), *line, *save = NULL;
    int differ = 0, found = 0, answered = 0;

    CU_ASSERT_FATAL(out != NULL);
    snprintf(sql, sizeof(sql),
             "SELECT r.id, run_json(r, p.slug, run_attempt_json(r)) FROM runs r JOIN projects p ON "
             "p.id = r.project_id WHERE r.project_id = %lld AND r.queue = '%s' AND r.status = "
             "'running'",
             world.pa.id, queue);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, cap), 0);
    for (int i = 0; i < n; i++)
        answered += c[i].run != NULL;
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(line, '|');
        if (!bar)
            continue;
        *bar = '\0';
        for (int i = 0; i < n; i++) {
            if (!c[i].run || strcmp(c[i].id, line) != 0)
                continue;
            json_object *want = json_tokener_parse(bar + 1);
            found++;
            if (!want || itest_jnum(c[i].run, "duration_s") != 0) {
                differ++;
            } else {
                json_object_object_del(want, "duration_s");
                json_object_object_del(c[i].run, "duration_s");
                if (!json_object_equal(want, c[i].run)) {
                    if (differ++ == 0)
                        fprintf(stderr, "\n  claim answer %s\n  run_json()    %s",
                                json_object_to_json_string(c[i].run),
                                json_object_to_json_string(want));
                }
            }
            json_object_put(want);
        }
    }
    for (int i = 0; i < n; i++) {
        json_object_put(c[i].run);
        c[i].run = NULL;
    }
    free(out);
    return differ + (found != answered);
}

static void test_claim_burst(void)
{
    static char got[2 * BURST_CLAIMERS][40];
    struct burst_claim c[BURST_CLAIMERS];
    long long workers[BURST_CLAIMERS], stopped, foreign, pool[4];
    char queue[64], sql[2048], out[256];
    long long started0;
    double merged0 = itest_metric("runwatch_write_merged_requests_total");
    int passes = 0;

    CU_ASSERT_TRUE_FATAL(merged0 >= 0);
    CU_ASSERT_TRUE_FATAL((stopped = itest_new_worker(&world.twrite, NULL, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(
        itest_statusf(&world.twrite, "POST", NULL, "/api/v1/workers/%lld/stop", stopped), 200);
    CU_ASSERT_TRUE_FATAL((foreign = itest_new_worker(&world.twrite_b, NULL, NULL)) > 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_TRUE_FATAL((pool[i] = itest_new_worker(&world.twrite, NULL, NULL)) > 0);

    while (passes < BURST_PASSES &&
           (passes == 0 || itest_metric("runwatch_write_merged_requests_total") <= merged0)) {
        int n200 = 0, n204 = 0, other = 0, wrong = 0, dups = 0, stopped_ok = 0, foreign_ok = 0;
        passes++;
        itest_unique("burst", queue, sizeof(queue));
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(sum(started), 0) FROM run_counters WHERE project_id = %lld",
                 world.pa.id);
        CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
        started0 = atoll(out);
        /* Four priorities, ages a millisecond apart: one order, no ties. */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO runs (project_id, kind, name, status, queue, priority, created_at, "
                 "queued_at) SELECT %lld, 'burst', 'burst-' || g, 'queued', '%s', g %% 4, now() "
                 "- g * interval '1 millisecond', now() FROM generate_series(1, %d) g",
                 world.pa.id, queue, BURST_RUNS);
        itest_psql_ok(sql);

        /* 1: 62 who may claim, a stopped worker and another project's among them. */
        for (int i = 0; i < BURST_CLAIMERS; i++)
            workers[i] = pool[i % 4];
        workers[17] = stopped;
        workers[40] = foreign;
        CU_ASSERT_EQUAL_FATAL(burst(queue, workers, c, BURST_CLAIMERS), 0);
        for (int i = 0; i < BURST_CLAIMERS; i++) {
            if (i == 17) {
                stopped_ok = c[i].status == 409 && itest_streq(c[i].code, "worker_stopped");
            } else if (i == 40) {
                foreign_ok = c[i].status == 422 && itest_streq(c[i].code, "invalid_reference");
            } else if (c[i].status == 200) {
                wrong += c[i].wrong;
                memcpy(got[n200++], c[i].id, 40);
            } else {
                if (other++ < 3)
                    fprintf(stderr, "\n  burst claim %d: %ld %s", i, c[i].status, c[i].code);
            }
        }
        if (!stopped_ok || !foreign_ok)
            fprintf(stderr, "\n  burst refusals: stopped %ld %s, foreign %ld %s", c[17].status,
                    c[17].code, c[40].status, c[40].code);
        CU_ASSERT_TRUE(stopped_ok);
        CU_ASSERT_TRUE(foreign_ok);
        CU_ASSERT_EQUAL(n200, BURST_CLAIMERS - 2);
        CU_ASSERT_EQUAL(other, 0);
        /* The claimed are the first by priority, then age: no run left queued comes
         * before a claimed one. */
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FILTER (WHERE status = 'running'), (SELECT count(*) FROM runs "
                 "q JOIN runs c ON c.project_id = q.project_id AND c.queue = q.queue WHERE "
                 "q.project_id = %lld AND q.queue = '%s' AND q.status = 'queued' AND c.status = "
                 "'running' AND (q.priority, c.created_at) > (c.priority, q.created_at)) FROM "
                 "runs WHERE project_id = %lld AND queue = '%s'",
                 world.pa.id, queue, world.pa.id, queue);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "62|0");
        CU_ASSERT_EQUAL(claim_answers_are_run_json(queue, c, BURST_CLAIMERS), 0);

        /* 2: 64 who may claim the 38 left: 38 runs, 26 answers of 204. */
        for (int i = 0; i < BURST_CLAIMERS; i++)
            workers[i] = pool[i % 4];
        CU_ASSERT_EQUAL_FATAL(burst(queue, workers, c, BURST_CLAIMERS), 0);
        for (int i = 0; i < BURST_CLAIMERS; i++) {
            if (c[i].status == 200 && n200 < 2 * BURST_CLAIMERS) {
                wrong += c[i].wrong;
                memcpy(got[n200++], c[i].id, 40);
            } else if (c[i].status == 204) {
                n204++;
            } else if (other++ < 3) {
                fprintf(stderr, "\n  burst claim %d (2): %ld %s", i, c[i].status, c[i].code);
            }
        }
        CU_ASSERT_EQUAL(n200, BURST_RUNS);
        CU_ASSERT_EQUAL(n204, BURST_CLAIMERS - (BURST_RUNS - (BURST_CLAIMERS - 2)));
        CU_ASSERT_EQUAL(claim_answers_are_run_json(queue, c, BURST_CLAIMERS), 0);
        CU_ASSERT_EQUAL(other, 0);
        CU_ASSERT_EQUAL(wrong, 0);
        qsort(got, (size_t)n200, 40, cmp_id);
        for (int i = 1; i < n200; i++)
            dups += strcmp(got[i - 1], got[i]) == 0;
        CU_ASSERT_EQUAL(dups, 0);
        /* The database agrees: each run runs with one attempt, its worker's. */
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FILTER (WHERE r.status = 'running'), count(a.run_id), count(*) "
                 "FILTER (WHERE a.seq = 1 AND a.worker_id = r.worker_id AND r.worker_id IN "
                 "(%lld, %lld, %lld, %lld)) FROM runs r LEFT JOIN attempts a ON a.run_id = r.id "
                 "WHERE r.project_id = %lld AND r.queue = '%s'",
                 pool[0], pool[1], pool[2], pool[3], world.pa.id, queue);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "100|100|100");
        /* The reports' aggregates count each claim once, in one snapshot whether the
         * housekeeper folded the deltas or not: the queue's starts by status in the
         * rollups (folded rows and deltas) are the runs', and the project's started
         * counter (runs_report_update, 50_rollups.sql) moved by the 100 claimed. */
        snprintf(sql, sizeof(sql),
                 "WITH r AS (SELECT status, count(*) AS n FROM runs WHERE project_id = %lld AND "
                 "queue = '%s' AND started_at IS NOT NULL GROUP BY 1), u AS (SELECT status, "
                 "sum(n)::bigint AS n FROM (SELECT status, started AS n FROM rollup_hourly WHERE "
                 "project_id = %lld AND queue = '%s' UNION ALL SELECT status, n FROM rollup_delta "
                 "WHERE project_id = %lld AND queue = '%s' AND side = 's') x GROUP BY 1 HAVING "
                 "sum(n) <> 0) SELECT (SELECT count(*) FROM ((TABLE r EXCEPT TABLE u) UNION ALL "
                 "(TABLE u EXCEPT TABLE r)) m) || '|' || (SELECT sum(n) FROM u) || '|' || "
                 "(SELECT sum(started) FROM run_counters WHERE project_id = %lld) - %lld",
                 world.pa.id, queue, world.pa.id, queue, world.pa.id, queue, world.pa.id, started0);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "0|100|100");
        if (n200 != BURST_RUNS || dups || wrong || other)
            fprintf(stderr, "\n  BURST pass %d: %d claimed, %d twice, %d wrong, %d other", passes,
                    n200, dups, wrong, other);
    }
    if (itest_metric("runwatch_write_merged_requests_total") <= merged0)
        fprintf(stderr, "\n  no claims shared a statement in %d passes", passes);
    CU_ASSERT_TRUE(itest_metric("runwatch_write_merged_requests_total") > merged0);
    heads_hold();
}

/* ---- order, kinds, isolation ---- */

static void test_claim_order(void)
{
    char queue[64], kind[64], ids[6][40], got[40];
    static const int prio[6] = {0, 5, 0, 5, -1, 5};
    static const int order[6] = {1, 3, 5, 0, 2, 4}; /* priority first, then age */
    long long w;

    itest_unique("order", queue, sizeof(queue));
    itest_unique("order", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    /* Nothing queued yet: 204, and a queue never used is just empty. */
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 204);
    CU_ASSERT_STRING_EQUAL(got, "");
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, prio[i], ids[i]),
                              0);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
        if (strcmp(got, ids[order[i]]) != 0)
            fprintf(stderr, "\n  claim #%d: expected run %d (priority %d), got %s", i, order[i],
                    prio[order[i]], got);
        CU_ASSERT_STRING_EQUAL(got, ids[order[i]]);
    }
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 204);
    /* Without lease_s the lease is 300 s. */
    {
        char sql[300], out[64];
        snprintf(sql, sizeof(sql),
                 "SELECT lease_s, lease_expires_at BETWEEN started_at + interval '299 s' AND now() "
                 "+ interval '301 s' FROM runs WHERE id = '%s'",
                 ids[order[5]]);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "300|t");
    }
}

/* "t" when the head of queue is run's key (id NULL: the empty key). */
static void head_is(const char *queue, const char *id)
{
    char sql[600], out[16];
    if (id)
        snprintf(sql, sizeof(sql),
                 "SELECT (h.priority, h.created_at) = (r.priority, r.created_at) FROM queue_heads "
                 "h, runs r WHERE r.id = '%s' AND h.project_id = r.project_id AND h.queue = '%s'",
                 id, queue);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT (priority, created_at) = (-2147483648, 'infinity') FROM queue_heads WHERE "
                 "queue = '%s'",
                 queue);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    if (strcmp(out, "t") != 0)
        fprintf(stderr, "\n  the head of %s is not at %s", queue, id ? id : "the end");
    CU_ASSERT_STRING_EQUAL(out, "t");
}

/* The housekeeper's move of the queue's head, run at once: after its lock, waited for (the
 * housekeeper's own pass may hold it; either way the head ends where the test says). */
static void heads_advance(const char *queue)
{
    char sql[600], out[16];
    snprintf(sql, sizeof(sql),
             "BEGIN; SELECT pg_advisory_xact_lock(7243004, queue_head_lock(%lld, '%s')); SELECT "
             "queue_head_advance(%lld, '%s'); COMMIT",
             world.pa.id, queue, world.pa.id, queue);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
}

static void test_claim_head(void)
{
    char queue[64], kind[64], ids[4][40], hi[40], late[40], got[40], sql[600], more[128];
    long long w;

    itest_unique("head", queue, sizeof(queue));
    itest_unique("head", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, ids[i]), 0);
    snprintf(more, sizeof(more), "\"project\":\"%s\",\"lease_s\":60", world.pa.slug);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, more, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[0]);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[1]);
    /* Moved forward: the claims now walk from the third run. */
    heads_advance(queue);
    head_is(queue, ids[2]);
    /* A higher priority comes in before the head: the head comes back to it. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 5, hi), 0);
    head_is(queue, hi);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, hi);
    heads_advance(queue);
    head_is(queue, ids[2]);
    /* The first run's lease lapses (expire_leases, as a claim or the housekeeper runs it):
     * queued again behind the head, it is claimed before the third. */
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = '%s'",
             ids[0]);
    itest_psql_ok(sql);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM expire_leases((SELECT id FROM projects WHERE slug = '%s'), "
             "'%s')",
             world.pa.slug, queue);
    itest_psql_ok(sql);
    head_is(queue, ids[0]);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[0]);
    heads_advance(queue);
    /* A queued run made older by hand (an import) moves before the head too. */
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET created_at = created_at - interval '1 hour' WHERE id = '%s'", ids[3]);
    itest_psql_ok(sql);
    head_is(queue, ids[3]);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[3]);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[2]);
    /* Empty: the head says so, and the next run still comes first. */
    heads_advance(queue);
    head_is(queue, NULL);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 204);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, -3, late), 0);
    head_is(queue, late);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, late);
    /* A transaction with one snapshot may predate a move: a run it queues sends the head
     * back to the front (the key before every run), and it moves no head itself (checked
     * inside it, where the housekeeper cannot move this queue's head: its lock is held). */
    heads_advance(queue);
    head_is(queue, NULL);
    {
        char out[64];
        snprintf(sql, sizeof(sql),
                 "BEGIN ISOLATION LEVEL REPEATABLE READ; INSERT INTO runs (project_id, kind, name, "
                 "queue, status) SELECT project_id, kind, 'rr', queue, 'queued' FROM runs WHERE id "
                 "= '%s'; SELECT queue_head_advance(project_id, queue) || '|' || ((priority, "
                 "created_at) = "
                 "(2147483647, '-infinity')) FROM queue_heads WHERE queue = '%s'; COMMIT",
                 late, queue);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        if (strcmp(out, "false|true") != 0)
            fprintf(stderr, "\n  one snapshot: moved|at the front = %s", out);
        CU_ASSERT_STRING_EQUAL(out, "false|true");
        CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
        snprintf(sql, sizeof(sql), "SELECT name FROM runs WHERE id = '%s'", got);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "rr");
    }
    heads_hold();
}

/* The housekeeper never moves a head past a run whose transaction is still open: the run
 * holds its queue's lock shared from its trigger to its commit, and the move skips a queue
 * whose lock it cannot take. Here the run enters behind where the move would go (between
 * the claimed second run and the fourth) without lowering the head (it sorts after it), in a
 * transaction left open while the move runs; once committed it is the next claim. Without
 * the lock the move would walk past it (it was not yet visible) and strand it. */
static void test_claim_head_in_flight(void)
{
    char queue[64], kind[64], ids[3][40], got[40], sql[900], out[64];
    long long w;
    FILE *s;

    itest_unique("inflight", queue, sizeof(queue));
    itest_unique("inflight", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, ids[i]), 0);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[0]);
    heads_advance(queue);
    head_is(queue, ids[1]);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[1]);
    /* The housekeeper's pass below takes this queue first. Set before the late run's
     * transaction: that may hold the head's row (when it lowers the head), which an update
     * here would then wait for. */
    snprintf(sql, sizeof(sql),
             "UPDATE queue_heads SET checked_at = NULL WHERE project_id = %lld AND queue = '%s'",
             world.pa.id, queue);
    itest_psql_ok(sql);
    /* The late run: a microsecond after the second, so before the third. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(s = itest_psql_session());
    snprintf(sql, sizeof(sql),
             "BEGIN;\nINSERT INTO runs (project_id, kind, name, queue, status, priority, "
             "created_at) SELECT project_id, kind, 'late', queue, 'queued', 0, created_at + "
             "interval '1 microsecond' FROM runs WHERE id = '%s';\n",
             ids[1]);
    fputs(sql, s);
    /* Its trigger holds the queue's lock once the insert ran. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7243004 "
             "AND objid = queue_head_lock((SELECT id FROM projects WHERE slug = '%s'), '%s')::oid "
             "AND mode = 'ShareLock' AND granted",
             world.pa.slug, queue);
    for (double end = itest_now_s() + ITEST_WAIT_MS / 1000.0;
         itest_psql(sql, out, sizeof(out)) == 0 && strcmp(out, "1") != 0 && itest_now_s() < end;)
        itest_sleep_ms(50);
    CU_ASSERT_STRING_EQUAL(out, "1");
    itest_psql_ok("SELECT queue_heads_advance(500)");
    /* (No check of the head here: the housekeeper may have moved it to the third run before
     * the insert, which the insert then lowered, uncommitted. The claim below is the test.) */
    fputs("COMMIT;\n", s);
    CU_ASSERT_EQUAL(pclose(s), 0);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    snprintf(sql, sizeof(sql), "SELECT name FROM runs WHERE id = '%s'", got);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "late");
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[2]);
    heads_hold();
}

static void test_claim_kinds(void)
{
    char queue[64], ka[64], kb[64], a1[40], b1[40], a2[40], odd[40], got[40], more[600];
    static const char weird[] = "we\\\"ird\\\\,{k} x"; /* JSON text of: we"ird\,{k} x */
    long long w;

    itest_unique("kinds", queue, sizeof(queue));
    itest_unique("ka", ka, sizeof(ka));
    itest_unique("kb", kb, sizeof(kb));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, ka, 0, a1), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kb, 0, b1), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, ka, 0, a2), 0);

    /* kinds ["b"] skips the older "a" runs. */
    snprintf(more, sizeof(more), "\"project\":\"%s\",\"kinds\":[\"%s\"]", world.pa.slug, kb);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, more, got), 200);
    CU_ASSERT_STRING_EQUAL(got, b1);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, more, got), 204);
    snprintf(more, sizeof(more), "\"project\":\"%s\",\"kinds\":[\"nope\",\"%s\"]", world.pa.slug,
             ka);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, more, got), 200);
    CU_ASSERT_STRING_EQUAL(got, a1);
    /* Without kinds, any kind. */
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, a2);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 204);

    /* A kind with quotes, a backslash, a comma and braces is matched whole. */
    {
        struct http_resp r;
        char body[600];
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\",\"queue\":\"%s\"}",
                 world.pa.slug, weird, queue);
        CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/runs"), 201);
        snprintf(odd, sizeof(odd), "%s", S(itest_jstr(r.json, "id")));
        http_resp_free(&r);
    }
    snprintf(more, sizeof(more), "\"project\":\"%s\",\"kinds\":[\"we\",\"ird\",\"{k} x\"]",
             world.pa.slug);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, more, got), 204);
    snprintf(more, sizeof(more), "\"project\":\"%s\",\"kinds\":[\"%s\"]", world.pa.slug, weird);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, more, got), 200);
    CU_ASSERT_STRING_EQUAL(got, odd);
}

static void test_claim_isolation(void)
{
    char qx[64], qy[64], kind[64], x1[40], y1[40], ra[40], rb[40], got[40], more[200];
    long long wa, wb;
    json_object *o;

    itest_unique("qx", qx, sizeof(qx));
    itest_unique("qy", qy, sizeof(qy));
    itest_unique("iso", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((wa = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wb = itest_new_worker(&world.twrite_b, NULL, NULL)) > 0);

    /* Queue X's run is older and more urgent; a claim on Y never sees it. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, qx, kind, 100, x1), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, qy, kind, 0, y1), 0);
    CU_ASSERT_EQUAL(itest_claim_a(&world, qy, wa, got), 200);
    CU_ASSERT_STRING_EQUAL(got, y1);
    CU_ASSERT_EQUAL(itest_claim_a(&world, qy, wa, got), 204);
    CU_ASSERT_EQUAL(itest_claim_a(&world, qx, wa, got), 200);
    CU_ASSERT_STRING_EQUAL(got, x1);

    /* Same queue name in two projects: each claims its own. B's run is older and more
     * urgent. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pb.slug, qx, kind, 100, rb), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, qx, kind, 0, ra), 0);
    CU_ASSERT_EQUAL(itest_claim_a(&world, qx, wa, got), 200);
    CU_ASSERT_STRING_EQUAL(got, ra);
    CU_ASSERT_EQUAL(itest_claim(&world.twrite, qx, wa, NULL, got), 204);
    o = run_get(rb);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "queued");
    json_object_put(o);
    /* A's callers cannot claim in B, nor with B's worker. */
    {
        struct http_resp r;
        char body[300];
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"worker_id\":%lld}", world.pb.slug, wb);
        CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST", body, &r, "/api/v1/queues/%s/claim", qx),
                        404);
        CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
        http_resp_free(&r);
        CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/queues/%s/claim", qx),
                        404);
        http_resp_free(&r);
        snprintf(body, sizeof(body), "{\"worker_id\":%lld}", wb);
        CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST", body, &r, "/api/v1/queues/%s/claim", qx),
                        422);
        CU_ASSERT_TRUE(IS_ERROR(r, 422, "invalid_reference", "worker_id"));
        http_resp_free(&r);
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"worker_id\":%lld}", world.pa.slug, wa);
        CU_ASSERT_EQUAL(
            itest_callf(&world.member_b, "POST", body, &r, "/api/v1/queues/%s/claim", qx), 404);
        http_resp_free(&r);
    }
    o = run_get(rb);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "queued");
    json_object_put(o);
    /* B's token claims B's run, with B's worker. */
    snprintf(more, sizeof(more), "\"project\":\"%s\"", world.pb.slug);
    CU_ASSERT_EQUAL(itest_claim(&world.twrite_b, qx, wb, more, got), 200);
    CU_ASSERT_STRING_EQUAL(got, rb);
    CU_ASSERT_EQUAL(itest_claim(&world.twrite_b, qx, wb, NULL, got), 204);
}

static void test_claim_validation(void)
{
    char kinds101[2048], long_queue[300], path[400], body[2200];
    size_t o;
    long long w, wb;

    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wb = itest_new_worker(&world.twrite_b, NULL, NULL)) > 0);
    o = (size_t)snprintf(kinds101, sizeof(kinds101), "[");
    for (int i = 0; i < 101; i++)
        o += (size_t)snprintf(kinds101 + o, sizeof(kinds101) - o, "%s\"k%d\"", i ? "," : "", i);
    snprintf(kinds101 + o, sizeof(kinds101) - o, "]");
    memset(long_queue, 'q', 201);
    long_queue[201] = '\0';
    snprintf(path, sizeof(path), "/api/v1/queues/%s/claim", long_queue);
    snprintf(body, sizeof(body), "{\"project\":\"{p}\",\"worker_id\":{w},\"kinds\":%s}", kinds101);

#define CLAIM "/api/v1/queues/valid/claim"
    const struct itest_bad cases[] = {
        {"POST", CLAIM, "{\"project\":\"{p}\"}", 0, 400, "invalid_field", "worker_id", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":\"{w}\"}", 0, 400, NULL, "worker_id",
         NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":0}", 0, 400, NULL, "worker_id", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"lease_s\":0}", 0, 400, NULL,
         "lease_s", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"lease_s\":86401}", 0, 400, NULL,
         "lease_s", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"lease_s\":1.5}", 0, 400, NULL,
         "lease_s", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"kinds\":\"a\"}", 0, 400, NULL,
         "kinds", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"kinds\":[]}", 0, 422,
         "invalid_value", "kinds", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"kinds\":[1]}", 0, 422, NULL,
         "kinds", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"kinds\":[\"\"]}", 0, 422, NULL,
         "kinds", NULL},
        {"POST", CLAIM, body, 0, 422, NULL, "kinds", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w},\"colour\":1}", 0, 400, NULL,
         "colour", NULL},
        {"POST", CLAIM, "{\"project\":5,\"worker_id\":{w}}", 0, 400, NULL, "project", NULL},
        /* A user names the project; a token may leave it out. */
        {"POST", CLAIM, "{\"worker_id\":{w}}", 0, 400, NULL, "project", NULL},
        {"POST", CLAIM, "{\"project\":\"no-such-project-zz\",\"worker_id\":{w}}", 0, 404,
         "not_found", NULL, NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{wb}}", 0, 422, "invalid_reference",
         "worker_id", NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":999999999}", 0, 422,
         "invalid_reference", "worker_id", NULL},
        {"POST", path, "{\"project\":\"{p}\",\"worker_id\":{w}}", 0, 404, "not_found", NULL, NULL},
        {"POST", CLAIM, "{\"project\":\"{p}\",\"worker_id\":{w}}", API_CT_TEXT, 415, NULL, NULL,
         NULL},
        {"POST", CLAIM, NULL, 0, 415, NULL, NULL, NULL}, /* the body is required */
        {"POST", CLAIM, "[1]", 0, 400, NULL, NULL, NULL},
    };
#undef CLAIM
    struct itest_bad_targets t = {.run = "", .worker = w, .xworker = wb};
    CU_ASSERT_EQUAL(
        itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]), &t), 0);
}

/* ---- leases ---- */

/* The next message of type about run (or, run NULL, about worker: data.id), skipping
 * others; parsed, or NULL after ITEST_WAIT_MS without one. */
static json_object *next_msg(struct itest_sub *sub, const char *type, const char *run,
                             long long worker)
{
    for (;;) {
        char *msg = itest_sub_next(sub, ITEST_WAIT_MS);
        json_object *o;
        if (!msg)
            return NULL;
        o = json_tokener_parse(msg);
        free(msg);
        if (o && itest_streq(itest_jstr(o, "type"), type) &&
            (run ? itest_streq(itest_jstr(o, "run"), run) : itest_jint(o, "data.id") == worker))
            return o;
        json_object_put(o);
    }
}

/* Claims on queue with worker every 250 ms until one answers 200 (or ITEST_WAIT_MS pass:
 * a lease that never lapses is the bug this catches, however slow the machine); returns
 * that claim's status, the run in id. */
static long claim_when_lapsed(const char *queue, long long worker, char id[40])
{
    double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0;
    long st = 204;
    while (st == 204 && itest_now_s() < deadline) {
        itest_sleep_ms(250);
        st = itest_claim_a(&world, queue, worker, id);
    }
    return st;
}

static void test_lease_expiry(void)
{
    char queue[64], kind[64], run[40], manual[40], got[40];
    long long w1, w2;
    struct http_resp r;
    struct itest_sub sub;
    json_object *page, *m;
    double t0, lapsed;

    itest_unique("lease", queue, sizeof(queue));
    itest_unique("lease", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w1 = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((w2 = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, manual), 0);
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);

    t0 = itest_now_s();
    {
        char more[128];
        snprintf(more, sizeof(more), "\"project\":\"%s\",\"lease_s\":1", world.pa.slug);
        CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w1, more, got), 200);
        CU_ASSERT_STRING_EQUAL(got, run);
        /* An attempt started by hand can hold a lease too. */
        snprintf(more, sizeof(more), "{\"worker_id\":%lld,\"lease_s\":1}", w1);
        CU_ASSERT_EQUAL(itest_attempt_start(&world.member, manual, more, &r), 201);
        http_resp_free(&r);
    }
    /* Nobody beats: a later claim takes the run back as attempt 2. */
    CU_ASSERT_EQUAL(claim_when_lapsed(queue, w2, got), 200);
    lapsed = itest_now_s() - t0;
    CU_ASSERT_STRING_EQUAL(got, run);
    /* Not before the lease ran out (the server's interval lies inside ours). */
    if (lapsed < 1.0)
        fprintf(stderr, "\n  the lease of 1 s was reclaimed after %.2f s", lapsed);
    CU_ASSERT_TRUE(lapsed >= 1.0);

    page = attempts_of(run);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 2);
    CU_ASSERT_EQUAL(itest_jint(page, "items.0.seq"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.error.type")), "lease_expired");
    CU_ASSERT_EQUAL(itest_jint(page, "items.0.worker_id"), w1);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(page, "items.0.ended_at"));
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.seq"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.1.status")), "running");
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.worker_id"), w2);
    CU_ASSERT_TRUE(itest_jnull(page, "items.1.ended_at"));
    CU_ASSERT_TRUE(itest_jnull(page, "next_cursor"));
    json_object_put(page);
    CU_ASSERT_EQUAL(itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/%s", run), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_EQUAL(itest_jint(r.json, "worker_id"), w2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.seq"), 2);
    http_resp_free(&r);

    /* The reclaim and the new claim were published, in that order. */
    m = next_msg(&sub, "run.updated", run, 0); /* the first claim */
    CU_ASSERT_EQUAL(itest_jint(m, "data.latest_attempt.seq"), 1);
    json_object_put(m);
    m = next_msg(&sub, "run.updated", run, 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "queued");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.reason")), "lease_expired");
    json_object_put(m);
    m = next_msg(&sub, "run.updated", run, 0);
    CU_ASSERT_EQUAL(itest_jint(m, "data.latest_attempt.seq"), 2);
    CU_ASSERT_EQUAL(itest_jint(m, "data.worker_id"), w2);
    json_object_put(m);
    itest_sub_close(&sub);

    /* The hand-started run lapsed too (a moment later): it comes back as well. */
    CU_ASSERT_EQUAL(claim_when_lapsed(queue, w2, got), 200);
    CU_ASSERT_STRING_EQUAL(got, manual);
    page = attempts_of(manual);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.error.type")), "lease_expired");
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.seq"), 2);
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.worker_id"), w2);
    json_object_put(page);
}

static void test_lease_renewed(void)
{
    char queue[64], kind[64], run[40], decoy[40], got[40], more[128], sql[512], t0[64], out[64];
    long long w1, w2;
    int stolen = 0;
    json_object *page;

    itest_unique("renew", queue, sizeof(queue));
    itest_unique("renew", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w1 = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((w2 = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 1, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, decoy), 0);
    /* A lease of 600 s, so no delay of this machine's lets it lapse on its own. (A lease of
     * 1 s beaten every 0.3 s lapsed when a busy box took 0.7 s for a beat and a claim.) */
    snprintf(more, sizeof(more), "\"project\":\"%s\",\"lease_s\":600", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w1, more, got), 200);
    CU_ASSERT_STRING_EQUAL_FATAL(got, run);

    /* Each beat sets the lease to the beat's time plus lease_s: moved an hour out first
     * (by hand), it comes back to between the database's time before the beat and after
     * it, plus 600 s. Bounds in the database's own clock, whatever the beat took. */
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof(sql),
                 "UPDATE runs SET lease_expires_at = now() + interval '1 hour' WHERE id = '%s' "
                 "RETURNING now()",
                 run);
        CU_ASSERT_EQUAL_FATAL(itest_psql(sql, t0, sizeof(t0)), 0);
        CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", "{\"progress\":0.1}",
                                      "/api/v1/runs/%s/heartbeat", run),
                        200);
        snprintf(sql, sizeof(sql),
                 "SELECT lease_expires_at BETWEEN '%s'::timestamptz + interval '600 s' AND now() + "
                 "interval '600 s' FROM runs WHERE id = '%s'",
                 t0, run);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "t");
        /* The other worker gets the decoy, then nothing. */
        CU_ASSERT_NOT_EQUAL(itest_claim_a(&world, queue, w2, got), -1);
        stolen += strcmp(got, run) == 0;
    }
    CU_ASSERT_EQUAL(stolen, 0);
    page = attempts_of(run);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.status")), "running");
    CU_ASSERT_EQUAL(itest_jint(page, "items.0.worker_id"), w1);
    json_object_put(page);
    page = run_get(decoy);
    CU_ASSERT_EQUAL(itest_jint(page, "worker_id"), w2);
    json_object_put(page);

    /* Without beats it lapses after all: its time passed (by hand here; test_lease_expiry
     * waits for a real one), the next claim takes it back. */
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = '%s'", run);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL(claim_when_lapsed(queue, w2, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
}

/* ---- attempts ---- */

static void test_attempts(void)
{
    char queue[64], kind[64], run[40], run2[40], run3[40];
    struct http_resp r;
    json_object *page;
    long long w;

    itest_unique("att", queue, sizeof(queue));
    itest_unique("att", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);

    /* No attempts yet. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/attempts", run),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);

    /* Start from queued: 201, the run runs with attempt 1. */
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, NULL, &r), 201);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "id")), run);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.seq"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "running");
    CU_ASSERT_TRUE(itest_jnull(r.json, "latest_attempt.worker_id"));
    http_resp_free(&r);
    /* Not again while it runs. */
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, NULL, &r), 409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "attempt_running", "status"));
    CU_ASSERT_PTR_NOT_NULL(strstr(S(http_error_message(&r)), "attempt 1 is still running"));
    http_resp_free(&r);
    /* running → running is a no-op. */
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 1, "{\"status\":\"running\"}", &r), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "running");
    http_resp_free(&r);
    /* Unknown attempts. */
    static const char *const bad_seq[] = {"2", "0", "-1", "abc", "1234567890", "99999999999"};
    for (size_t i = 0; i < sizeof(bad_seq) / sizeof(bad_seq[0]); i++) {
        CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", "{\"status\":\"succeeded\"}", &r,
                                    "/api/v1/runs/%s/attempts/%s", run, bad_seq[i]),
                        404);
        CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
        http_resp_free(&r);
    }
    /* Retry goes with failed only. */
    CU_ASSERT_EQUAL(
        itest_attempt_end(&world.member, run, 1, "{\"status\":\"succeeded\",\"retry\":true}", &r),
        422);
    CU_ASSERT_TRUE(IS_ERROR(r, 422, "invalid_value", "retry"));
    http_resp_free(&r);

    /* failed with retry: the attempt fails, the run is retrying. */
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 1,
                                      "{\"status\":\"failed\",\"retry\":true,\"error\":{\"type\":"
                                      "\"OOMError\",\"message\":\"out of memory\"}}",
                                      &r),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "retrying");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.error.type")), "OOMError");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "latest_attempt.ended_at"));
    http_resp_free(&r);
    /* An ended attempt does not change to another status. */
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 1, "{\"status\":\"succeeded\"}", &r),
                    409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "illegal_transition", "status"));
    CU_ASSERT_TRUE(details_are(&r, "failed", "succeeded"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 1, "{\"status\":\"running\"}", &r), 409);
    CU_ASSERT_TRUE(details_are(&r, "failed", "running"));
    http_resp_free(&r);

    /* Start from retrying, with a worker and a lease: attempt 2. */
    {
        char body[128];
        snprintf(body, sizeof(body), "{\"worker_id\":%lld,\"lease_s\":600}", w);
        CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, body, &r), 201);
    }
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_EQUAL(itest_jint(r.json, "worker_id"), w);
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.seq"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.worker_id"), w);
    http_resp_free(&r);
    /* The older attempt changes only itself (here: nothing, it is failed already). */
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 1, "{\"status\":\"failed\"}", &r), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.seq"), 2);
    http_resp_free(&r);
    /* The latest one ends the run. */
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 2, "{\"status\":\"succeeded\"}", &r),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "succeeded");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "ended_at"));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "succeeded");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 2, "{\"status\":\"failed\"}", &r), 409);
    CU_ASSERT_TRUE(details_are(&r, "succeeded", "failed"));
    http_resp_free(&r);
    /* No attempt after the end. */
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, NULL, &r), 409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "illegal_transition", NULL));
    CU_ASSERT_TRUE(details_are(&r, "succeeded", "running"));
    http_resp_free(&r);
    /* The list, oldest first. */
    page = attempts_of(run);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 2);
    CU_ASSERT_EQUAL(itest_jint(page, "items.0.seq"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.error.message")), "out of memory");
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.seq"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.1.status")), "succeeded");
    json_object_put(page);

    /* failed without retry fails the run, with the error; cancelled cancels it. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run2), 0);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run2, "{}", &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run2, 1,
                                      "{\"status\":\"failed\",\"error\":{\"type\":\"Boom\"}}", &r),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "error.type")), "Boom");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run2, NULL, &r), 409);
    CU_ASSERT_TRUE(details_are(&r, "failed", "running"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run3), 0);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run3, NULL, &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run3, 1, "{\"status\":\"cancelled\"}", &r),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "cancelled");
    http_resp_free(&r);
    /* A run cancelled while queued has no attempt to start. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run3), 0);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", NULL, &r, "/api/v1/runs/%s/cancel", run3),
                    200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run3, NULL, &r), 409);
    CU_ASSERT_TRUE(details_are(&r, "cancelled", "running"));
    http_resp_free(&r);

    /* Unknown runs. */
    static const char *const nobody = "6f1c1a2e-0000-4000-8000-000000000000";
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "GET", NULL, "/api/v1/runs/%s/attempts", nobody),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST", NULL, "/api/v1/runs/%s/attempts", nobody),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "PATCH", "{\"status\":\"failed\"}",
                                  "/api/v1/runs/%s/attempts/1", nobody),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "GET", NULL, "/api/v1/runs/not-a-uuid/attempts"),
                    404);
}

/* A run retried through the queue: failed with retry, queued again, claimed again. */
static void test_retry_flow(void)
{
    char queue[64], kind[64], run[40], got[40];
    struct http_resp r;
    json_object *page;
    long long w;

    itest_unique("retry", queue, sizeof(queue));
    itest_unique("retry", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_EQUAL(
        itest_attempt_end(&world.member, run, 1, "{\"status\":\"failed\",\"retry\":true}", &r),
        200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "retrying");
    http_resp_free(&r);
    /* Retrying is not queued: nothing to claim yet. */
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 204);
    CU_ASSERT_EQUAL(
        itest_callf(&world.member, "PATCH", "{\"status\":\"queued\"}", &r, "/api/v1/runs/%s", run),
        200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    page = attempts_of(run);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.status")), "failed");
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.seq"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.1.status")), "running");
    CU_ASSERT_EQUAL(itest_jint(page, "items.1.worker_id"), w);
    json_object_put(page);
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, run, 2, "{\"status\":\"succeeded\"}", &r),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "succeeded");
    http_resp_free(&r);
}

/* ---- a native run's own retry policy (POST /runs: max_attempts, retry_on, timeout_s,
 * unresponsive_s), which the housekeeper's watchdog applies before its queue's ---- */

/* Polls the run (every 250 ms, for up to two minutes: the watchdog's pass is every second,
 * but the box may be slow) until its status is want; 1 when it came. */
static int run_reaches(const char *run, const char *want)
{
    for (int i = 0; i < 480; i++) {
        json_object *o = run_get(run);
        int done = itest_streq(itest_jstr(o, "status"), want);
        json_object_put(o);
        if (done)
            return 1;
        itest_sleep_ms(250);
    }
    fprintf(stderr, "\n  run %s never became %s", run, want);
    return 0;
}

static void test_run_policy(void)
{
    static const struct {
        const char *extra, *field;
    } bad[] = {
        {"\"max_attempts\":0", "max_attempts"},
        {"\"max_attempts\":1.5", "max_attempts"},
        {"\"retry_on\":[\"sometimes\"]", "retry_on"},
        {"\"retry_on\":\"timeout\"", "retry_on"},
        {"\"timeout_s\":0", "timeout_s"},
        {"\"unresponsive_s\":-1", "unresponsive_s"},
        {"\"unresponsive_s\":\"5\"", "unresponsive_s"},
    };
    char queue[64], kind[64], run[40], plain[40], got[40], body[300], extra[200];
    struct http_resp r;
    json_object *o, *page;
    long long w;

    itest_unique("policy", queue, sizeof(queue));
    itest_unique("policy", kind, sizeof(kind));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\",%s}", world.pa.slug, kind,
                 bad[i].extra);
        CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
        if (r.status != 422 || !itest_streq(http_error_field(&r), bad[i].field))
            fprintf(stderr, "\n  %s: %ld %.300s", bad[i].extra, r.status, S(r.body));
        CU_ASSERT_EQUAL(r.status, 422);
        CU_ASSERT_STRING_EQUAL(S(http_error_field(&r)), bad[i].field);
        http_resp_free(&r);
    }

    /* The queue's policy would never time out and never retry: the run's own wins. */
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"timeout_s\":86400,\"max_attempts\":1,\"retry_on\":[]}",
             world.pa.slug);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PUT", body, &r, "/api/v1/queues/%s/policy", queue),
                    200);
    http_resp_free(&r);
    snprintf(extra, sizeof(extra),
             "\"queue\":\"%s\",\"max_attempts\":2,\"retry_on\":[\"timeout\"],\"timeout_s\":0.5",
             queue);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, extra, run), 0);
    /* A run without a policy shows none of the keys; one with shows what it set. */
    snprintf(extra, sizeof(extra), "\"queue\":\"%s-plain\"", queue);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, extra, plain), 0);
    o = run_get(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_FALSE(json_object_object_get_ex(o, "max_attempts", NULL) ||
                    json_object_object_get_ex(o, "retry_on", NULL) ||
                    json_object_object_get_ex(o, "timeout_s", NULL) ||
                    json_object_object_get_ex(o, "unresponsive_s", NULL));
    json_object_put(o);
    o = run_get(run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(itest_jint(o, "max_attempts"), 2);
    CU_ASSERT_EQUAL(itest_jlen(o, "retry_on"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "retry_on.0")), "timeout");
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "timeout_s", NULL));
    CU_ASSERT_FALSE(json_object_object_get_ex(o, "unresponsive_s", NULL));
    json_object_put(o);

    /* Claimed with a long lease: the lease never lapses, only the run's timeout_s fails it.
     * Attempt 1 times out and the run is queued again; attempt 2 times out and it fails. */
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    snprintf(extra, sizeof(extra), "\"project\":\"%s\",\"lease_s\":3600", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w, extra, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_TRUE_FATAL(run_reaches(run, "queued"));
    CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w, extra, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_TRUE_FATAL(run_reaches(run, "failed"));
    page = attempts_of(run);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 2);
    for (int i = 0; i < 2; i++) {
        char path[48];
        snprintf(path, sizeof(path), "items.%d.status", i);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, path)), "failed");
        snprintf(path, sizeof(path), "items.%d.error.type", i);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, path)), "timeout");
    }
    json_object_put(page);
    o = run_get(run);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "error.type")), "timeout");
    json_object_put(o);
    /* Nothing left to claim: a third attempt was not made. */
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, extra, got), 204);

    /* A run without a policy of its own follows its queue's (the watchdog finds it through
     * the queue, not through the run): the plain run times out and fails. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"timeout_s\":0.5,\"max_attempts\":1}",
             world.pa.slug);
    CU_ASSERT_EQUAL(
        itest_callf(&world.member, "PUT", body, &r, "/api/v1/queues/%s-plain/policy", queue), 200);
    http_resp_free(&r);
    {
        char plain_queue[80];
        snprintf(plain_queue, sizeof(plain_queue), "%s-plain", queue);
        CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, plain_queue, w, extra, got), 200);
        CU_ASSERT_STRING_EQUAL(got, plain);
    }
    CU_ASSERT_TRUE_FATAL(run_reaches(plain, "failed"));
    page = attempts_of(plain);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.error.type")), "timeout");
    json_object_put(page);
}

/* A worker's own `failed` under a policy that retries on it (a run's own, then a queue's):
 * the run is queued again, off its worker, until its attempts are used up; a run asked to
 * stop is not requeued. Without the policy's rule each run here would fail at once. */
static void test_run_policy_failed(void)
{
    char queue[64], kind[64], run[40], other[40], got[40], body[300], extra[200];
    struct http_resp r;
    json_object *o, *page;
    long long w;

    itest_unique("pfail", queue, sizeof(queue));
    itest_unique("pfail", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    snprintf(extra, sizeof(extra), "\"queue\":\"%s\",\"max_attempts\":2,\"retry_on\":[\"failed\"]",
             queue);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, extra, run), 0);
    snprintf(extra, sizeof(extra), "\"project\":\"%s\",\"lease_s\":3600", world.pa.slug);
    for (int seq = 1; seq <= 2; seq++) {
        CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w, extra, got), 200);
        CU_ASSERT_STRING_EQUAL(got, run);
        CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH",
                                    "{\"status\":\"failed\",\"error\":{\"type\":\"OOM\"}}", &r,
                                    "/api/v1/runs/%s/attempts/%d", run, seq),
                        200);
        o = json_tokener_parse(S(r.body));
        /* The answer is the run as it now is: queued again after the first, failed after
         * the last attempt allowed. */
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), seq == 1 ? "queued" : "failed");
        json_object_put(o);
        http_resp_free(&r);
        o = run_get(run);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), seq == 1 ? "queued" : "failed");
        if (seq == 1) /* worker_id null: the run left its worker */
            CU_ASSERT_PTR_NULL(json_object_object_get(o, "worker_id"));
        json_object_put(o);
    }
    page = attempts_of(run);
    CU_ASSERT_EQUAL(itest_jlen(page, "items"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "items.0.error.type")), "OOM");
    json_object_put(page);
    CU_ASSERT_EQUAL(itest_claim(&world.member, queue, w, extra, got), 204);

    /* The queue's policy, for a run that set none; a run asked to stop is not requeued. */
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"max_attempts\":3,\"retry_on\":[\"failed\"]}", world.pa.slug);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PUT", body, &r, "/api/v1/queues/%s/policy", queue),
                    200);
    http_resp_free(&r);
    snprintf(body, sizeof(body), "\"queue\":\"%s\"", queue);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, body, other), 0);
    CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w, extra, got), 200);
    CU_ASSERT_STRING_EQUAL(got, other);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", "{\"status\":\"failed\"}", &r,
                                "/api/v1/runs/%s", other),
                    200);
    http_resp_free(&r);
    o = run_get(other);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "queued");
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(itest_claim(&world.member, queue, w, extra, got), 200);
    CU_ASSERT_STRING_EQUAL(got, other);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", "{}", &r, "/api/v1/runs/%s/cancel", other),
                    200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", "{\"status\":\"failed\"}", &r,
                                "/api/v1/runs/%s/attempts/2", other),
                    200);
    http_resp_free(&r);
    o = run_get(other);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "failed");
    json_object_put(o);
}

/* Number of the run's attempts with status running. */
static int running_attempts(const char *run)
{
    json_object *page = attempts_of(run);
    int running = 0;

    for (long i = 0; i < itest_jlen(page, "items"); i++) {
        char path[48];
        snprintf(path, sizeof(path), "items.%ld.status", i);
        running += itest_streq(itest_jstr(page, path), "running");
    }
    json_object_put(page);
    return running;
}

/* A run never holds two running attempts: moving a run off `running` with
 * PATCH /runs/{id} (to retrying, say) ends its running attempt, so a later start or
 * claim adds the only running one. */
static void test_no_second_running_attempt(void)
{
    char queue[64], kind[64], run[40], got[40];
    struct http_resp r;
    long long w;

    itest_unique("second", queue, sizeof(queue));
    itest_unique("second", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, NULL, &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", "{\"status\":\"retrying\"}", &r,
                                "/api/v1/runs/%s", run),
                    200);
    /* The run's answer already shows attempt 1 ended with it. */
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.seq"), 1);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "failed");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(running_attempts(run), 0);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, NULL, &r), 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "latest_attempt.seq"), 2);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(running_attempts(run), 1);

    /* The same through the queue: retrying, queued, claimed. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL_FATAL(got, run);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "PATCH", "{\"status\":\"retrying\"}", "/api/v1/runs/%s", run),
        200);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "PATCH", "{\"status\":\"queued\"}", "/api/v1/runs/%s", run),
        200);
    CU_ASSERT_NOT_EQUAL(itest_claim_a(&world, queue, w, got), -1);
    if (running_attempts(run) > 1)
        fprintf(stderr, "\n  BUG: a claim started attempt 2 while attempt 1 still runs");
    CU_ASSERT_TRUE(running_attempts(run) <= 1);
}

static void test_attempt_validation(void)
{
    char queue[64], kind[64], run[40];
    long long w, wb, stopped;
    struct http_resp r;
    json_object *page;

    itest_unique("attval", queue, sizeof(queue));
    itest_unique("attval", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wb = itest_new_worker(&world.twrite_b, NULL, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((stopped = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "POST", NULL, "/api/v1/workers/%lld/stop", stopped), 200);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);

    /* Starting: nothing of it starts anything. */
    {
        char stopped_body[64];
        snprintf(stopped_body, sizeof(stopped_body), "{\"worker_id\":%lld}", stopped);
        const struct itest_bad cases[] = {
            {"POST", "/api/v1/runs/{r}/attempts", "{\"lease_s\":0}", 0, 400, "invalid_field",
             "lease_s", NULL},
            {"POST", "/api/v1/runs/{r}/attempts", "{\"lease_s\":86401}", 0, 400, NULL, "lease_s",
             NULL},
            {"POST", "/api/v1/runs/{r}/attempts", "{\"worker_id\":\"{w}\"}", 0, 400, NULL,
             "worker_id", NULL},
            {"POST", "/api/v1/runs/{r}/attempts", "{\"colour\":1}", 0, 400, NULL, "colour", NULL},
            {"POST", "/api/v1/runs/{r}/attempts", "[1]", 0, 400, NULL, NULL, NULL},
            {"POST", "/api/v1/runs/{r}/attempts", "{\"lease_s\":5}", API_CT_TEXT, 415, NULL, NULL,
             NULL},
            /* A worker of another project is no worker here; a stopped one cannot work. */
            {"POST", "/api/v1/runs/{r}/attempts", "{\"worker_id\":{wb}}", 0, 422,
             "invalid_reference", "worker_id", NULL},
            {"POST", "/api/v1/runs/{r}/attempts", stopped_body, 0, 409, "worker_stopped",
             "worker_id", NULL},
        };
        struct itest_bad_targets t = {.run = run, .worker = w, .xworker = wb};
        CU_ASSERT_EQUAL(
            itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]), &t), 0);
    }
    page = run_get(run);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "status")), "queued");
    CU_ASSERT_TRUE(itest_jnull(page, "latest_attempt"));
    json_object_put(page);

    /* Ending: nothing of it ends anything. */
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run, NULL, &r), 201);
    http_resp_free(&r);
    {
        const struct itest_bad cases[] = {
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{}", 0, 400, "invalid_field", "status", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"queued\"}", 0, 400, NULL,
             "status", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"retrying\"}", 0, 400, NULL,
             "status", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"failed\",\"retry\":\"yes\"}", 0,
             400, NULL, "retry", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"cancelled\",\"retry\":true}", 0,
             422, "invalid_value", "retry", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"failed\",\"error\":\"boom\"}",
             0, 400, NULL, "error", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1",
             "{\"status\":\"failed\",\"error\":{\"type\":5}}", 0, 400, NULL, "error.type", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1",
             "{\"status\":\"failed\",\"error\":{\"colour\":\"red\"}}", 0, 400, NULL, "error.colour",
             NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"failed\",\"colour\":1}", 0, 400,
             NULL, "colour", NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", "{\"status\":\"failed\"}", API_CT_TEXT, 415,
             NULL, NULL, NULL},
            {"PATCH", "/api/v1/runs/{r}/attempts/1", NULL, 0, 415, NULL, NULL, NULL},
        };
        struct itest_bad_targets t = {.run = run, .worker = w, .xworker = wb};
        CU_ASSERT_EQUAL(
            itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]), &t), 0);
    }
    page = run_get(run);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "status")), "running");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(page, "latest_attempt.status")), "running");
    CU_ASSERT_EQUAL(itest_jint(page, "latest_attempt.seq"), 1);
    json_object_put(page);
}

/* ---- who may ---- */

static void test_access(void)
{
    char queue[64], kind[64], run[40], runb[40], body[300];
    struct http_resp r;
    long long w, wb;
    json_object *o;

    itest_unique("acc", queue, sizeof(queue));
    itest_unique("acc", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wb = itest_new_worker(&world.twrite_b, NULL, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pb.slug, queue, kind, 0, runb), 0);

    /* A viewer reads, and nothing more. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"worker_id\":%lld}", world.pa.slug, w);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "POST", body, &r, "/api/v1/queues/%s/claim", queue),
                    403);
    CU_ASSERT_TRUE(IS_ERROR(r, 403, "forbidden", NULL));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", NULL, "/api/v1/runs/%s/attempts", run),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL, "/api/v1/runs/%s/attempts", run),
                    200);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", NULL, "/api/v1/workers/%lld/stop", w),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", NULL, "/api/v1/workers/%lld/heartbeat", w),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL, "/api/v1/workers/%lld", w), 200);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"viewer-made\"}", world.pa.slug);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", body, "/api/v1/workers"), 403);
    /* A read token likewise. */
    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", w);
    CU_ASSERT_EQUAL(itest_callf(&world.tread, "POST", body, &r, "/api/v1/queues/%s/claim", queue),
                    403);
    CU_ASSERT_TRUE(IS_ERROR(r, 403, "forbidden", NULL));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.tread, "POST", NULL, "/api/v1/runs/%s/attempts", run),
                    403);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.tread, "POST", "{\"name\":\"tread-made\"}", "/api/v1/workers"), 403);
    CU_ASSERT_EQUAL(itest_statusf(&world.tread, "POST", NULL, "/api/v1/workers/%lld/stop", w), 403);
    /* Another project's users and tokens: the run and the worker do not exist. */
    CU_ASSERT_EQUAL(itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/runs/%s/attempts", run),
                    404);
    CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "POST", NULL, "/api/v1/runs/%s/attempts", run),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "POST", NULL, "/api/v1/runs/%s/attempts", run),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/runs/%s/attempts", runb),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "GET", NULL, "/api/v1/runs/%s/attempts", runb),
                    404);
    CU_ASSERT_EQUAL(itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/workers/%lld", w), 404);
    CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.twrite_b, "POST", NULL, "/api/v1/workers/%lld/heartbeat", w), 404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "POST", NULL, "/api/v1/workers/%lld/stop", w),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "GET", NULL, "/api/v1/workers/%lld", wb), 404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/workers/%lld/stop", wb),
                    404);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/workers?project=%s", world.pa.slug),
        404);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.twrite, "GET", NULL, "/api/v1/workers?project=%s", world.pb.slug),
        404);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"cross\"}", world.pb.slug);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", body, "/api/v1/workers"), 404);
    /* Nobody signed in. */
    CU_ASSERT_EQUAL(
        itest_statusf(&(struct ident){.kind = IDENT_ANON}, "GET", NULL, "/api/v1/workers/%lld", w),
        401);
    /* None of that changed a thing. */
    o = run_get(run);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "queued");
    CU_ASSERT_TRUE(itest_jnull(o, "latest_attempt"));
    json_object_put(o);
    o = run_get(runb);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "queued");
    json_object_put(o);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "GET", NULL, &r, "/api/v1/workers/%lld", w), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "worker.status")), "online");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.twrite_b, "GET", NULL, &r, "/api/v1/workers/%lld", wb), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "worker.status")), "online");
    http_resp_free(&r);
}

/* ---- Redis ---- */

static void test_published(void)
{
    char queue[64], kind[64], run[40], run2[40], got[40];
    struct itest_sub sub;
    struct http_resp r;
    json_object *m;
    long long w;

    itest_unique("pub", queue, sizeof(queue));
    itest_unique("pub", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run2), 0);
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, run2, NULL, &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST", "{\"status\":\"idle\"}",
                                  "/api/v1/workers/%lld/heartbeat", w),
                    200);
    /* A refused claim publishes nothing; an empty queue neither. */
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, NULL), 204);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST", NULL, "/api/v1/workers/%lld/stop", w),
                    200);
    CU_ASSERT_EQUAL(
        itest_attempt_end(&world.member, run2, 1, "{\"status\":\"failed\",\"retry\":true}", &r),
        200);
    http_resp_free(&r);

    m = next_msg(&sub, "worker.updated", NULL, w); /* registered */
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_EQUAL(itest_jint(m, "project"), world.pa.id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "online");
    json_object_put(m);
    m = next_msg(&sub, "run.updated", run, 0); /* claimed */
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_EQUAL(itest_jint(m, "project"), world.pa.id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "running");
    CU_ASSERT_EQUAL(itest_jint(m, "data.worker_id"), w);
    CU_ASSERT_EQUAL(itest_jint(m, "data.latest_attempt.seq"), 1);
    json_object_put(m);
    m = next_msg(&sub, "run.updated", run2, 0); /* attempt started */
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "running");
    json_object_put(m);
    m = next_msg(&sub, "worker.updated", NULL, w); /* beat */
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "idle");
    json_object_put(m);
    m = next_msg(&sub, "worker.updated", NULL, w); /* stopped */
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "stopped");
    json_object_put(m);
    m = next_msg(&sub, "run.event", run, 0); /* its run interrupted */
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.kind")), "interrupted");
    json_object_put(m);
    m = next_msg(&sub, "run.updated", run2, 0); /* attempt ended */
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "retrying");
    json_object_put(m);
    itest_sub_close(&sub);
}

static void test_no_secrets_in_logs(void)
{
    itest_sleep_ms(1200); /* nginx flushes its access log every second */
    CU_ASSERT_EQUAL(secrets_scan_logs(), 0);
}

/* ---- the run row's copy of its latest attempt ---- */

/* How many runs of the suite's projects have a row copy (migration 0024) that differs from
 * their latest attempt in attempts, field by field (all NULL when a run has none); the first
 * few differences go to stderr. -1 when psql fails. */
static int copies_differing(void)
{
    char sql[2048], out[4096];
    snprintf(sql, sizeof(sql),
             "WITH d AS (SELECT r.id, row(r.attempt_seq, r.attempt_status, r.attempt_worker_id, "
             "r.attempt_created_at, r.attempt_started_at, r.attempt_ended_at, "
             "r.attempt_last_heartbeat_at, r.attempt_error_type, r.attempt_error_message, "
             "r.attempt_error_traceback)::text AS copy, row(a.seq, a.status, a.worker_id, "
             "a.created_at, a.started_at, a.ended_at, a.last_heartbeat_at, a.error_type, "
             "a.error_message, a.error_traceback)::text AS latest FROM runs r LEFT JOIN LATERAL "
             "(SELECT * FROM attempts a WHERE a.run_id = r.id ORDER BY a.seq DESC LIMIT 1) a ON "
             "true WHERE r.project_id IN (SELECT id FROM projects WHERE slug IN ('%s', '%s')) AND "
             "row(r.attempt_seq, r.attempt_status, r.attempt_worker_id, r.attempt_created_at, "
             "r.attempt_started_at, r.attempt_ended_at, r.attempt_last_heartbeat_at, "
             "r.attempt_error_type, r.attempt_error_message, r.attempt_error_traceback) IS "
             "DISTINCT FROM row(a.seq, a.status, a.worker_id, a.created_at, a.started_at, "
             "a.ended_at, a.last_heartbeat_at, a.error_type, a.error_message, a.error_traceback)) "
             "SELECT count(*) || coalesce(string_agg(E'\\n  ' || id || ' row ' || copy || ' "
             "attempt ' || latest, '') FILTER (WHERE n <= 5), '') FROM (SELECT d.*, row_number() "
             "OVER () AS n FROM d) x",
             world.pa.slug, world.pb.slug);
    if (itest_psql(sql, out, sizeof(out)) != 0)
        return -1;
    if (atoi(out) != 0)
        fprintf(stderr, "\n  runs whose row differs from their latest attempt: %s", out);
    return atoi(out);
}

/* Every statement that writes an attempt writes the run's copy with it: after the suite's
 * claims (one and grouped), hand-started attempts, heartbeats, retries, lease expiries and
 * ends (above), and here a heartbeat naming its attempt, an error reported while running,
 * an end through the run (which closes the running attempt), a cancel, a deleted worker
 * and a lapsed lease whose run nobody claimed again, the copy of every run of the suite's projects
 * is its latest attempt. */
static void test_row_keeps_latest_attempt(void)
{
    char queue[64], kind[64], run[40], run2[40], run3[40], got[40], body[512];
    struct http_resp r;
    long long w, wgone;

    itest_unique("copy", queue, sizeof(queue));
    itest_unique("copy", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wgone = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 1, run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run2), 0);
    CU_ASSERT_EQUAL_FATAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", "{\"attempt\":1,\"progress\":0.5}",
                                  "/api/v1/runs/%s/heartbeat", run),
                    200);
    CU_ASSERT_EQUAL(
        itest_attempt_end(&world.member, run, 1,
                          "{\"status\":\"running\",\"error\":{\"type\":\"Warn\",\"message\":"
                          "\"slow\",\"traceback\":\"tb\"}}",
                          &r),
        200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(copies_differing(), 0);
    /* The run ends itself: its running attempt ends with it, with the error reported. */
    snprintf(body, sizeof(body),
             "{\"status\":\"failed\",\"error\":{\"type\":\"Boom\",\"message\":\"m\"}}");
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", body, &r, "/api/v1/runs/%s", run), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.error.type")), "Boom");
    http_resp_free(&r);
    /* Claimed by a worker then deleted (by hand: the API never deletes one), and asked to
     * stop. */
    CU_ASSERT_EQUAL_FATAL(itest_claim_a(&world, queue, wgone, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run2);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST", NULL, "/api/v1/runs/%s/cancel", run2),
                    200);
    CU_ASSERT_EQUAL(copies_differing(), 0);
    snprintf(body, sizeof(body), "DELETE FROM workers WHERE id = %lld", wgone);
    CU_ASSERT_EQUAL(itest_psql(body, NULL, 0), 0);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", "{\"status\":\"cancelled\"}", &r,
                                "/api/v1/runs/%s", run2),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "cancelled");
    CU_ASSERT_TRUE(itest_jnull(r.json, "latest_attempt.worker_id"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(copies_differing(), 0);
    /* A lease that lapsed, its run queued again and not claimed since (expire_leases(), as
     * a claim and the housekeeper call it): the copy is the failed attempt. */
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run3), 0);
    CU_ASSERT_EQUAL_FATAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run3);
    snprintf(body, sizeof(body),
             "UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = '%s'",
             run3);
    CU_ASSERT_EQUAL(itest_psql(body, NULL, 0), 0);
    snprintf(body, sizeof(body),
             "SELECT count(*) FROM expire_leases((SELECT id FROM projects WHERE slug = '%s'), "
             "'%s')",
             world.pa.slug, queue);
    {
        char out[16];
        CU_ASSERT_EQUAL(itest_psql(body, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "1");
    }
    CU_ASSERT_EQUAL(itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/%s", run3), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "queued");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "latest_attempt.error.type")), "lease_expired");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(copies_differing(), 0);
    /* Events name their run's latest attempt, which event_insert reads from the copy: on
     * run3 (attempt 1 failed, queued again) with and without an Idempotency-Key, and on a
     * run never claimed (no attempt). */
    {
        char run4[40], out[64];
        const char *key[2] = {"Idempotency-Key: copy-events-1", NULL};
        CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, run4), 0);
        CU_ASSERT_EQUAL(
            itest_run_op(&world.twrite, "POST", run3, "/events", "{\"message\":\"lone\"}", &r),
            201);
        http_resp_free(&r);
        snprintf(body, sizeof(body), "/api/v1/runs/%s/events", run3);
        CU_ASSERT_EQUAL(api_req(&world.twrite, "POST", body,
                                "{\"events\":[{\"message\":\"keyed\"}]}", 0, key, &r),
                        0);
        CU_ASSERT_EQUAL(r.status, 201);
        http_resp_free(&r);
        CU_ASSERT_EQUAL(
            itest_run_op(&world.twrite, "POST", run4, "/events", "{\"message\":\"none\"}", &r),
            201);
        http_resp_free(&r);
        snprintf(
            body, sizeof(body),
            "SELECT string_agg(coalesce(attempt_seq::text, '-'), ',' ORDER BY run_id = '%s', id) "
            "FROM events WHERE run_id IN ('%s', '%s')",
            run4, run3, run4);
        CU_ASSERT_EQUAL(itest_psql(body, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "1,1,-");
    }
    /* Runs with and without attempts were compared. */
    snprintf(body, sizeof(body),
             "SELECT count(*) FILTER (WHERE attempt_seq IS NULL) > 0 AND count(*) FILTER (WHERE "
             "attempt_seq > 1) > 0 FROM runs WHERE project_id IN (SELECT id FROM projects WHERE "
             "slug IN ('%s', '%s'))",
             world.pa.slug, world.pb.slug);
    {
        char out[16];
        CU_ASSERT_EQUAL(itest_psql(body, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "t");
    }
}

int suite_queue_register(void)
{
    CU_pSuite s = CU_add_suite("queue", queue_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "8 claimers, 1,000 runs, each claimed once", test_concurrent_claims) ||
           !CU_add_test(s, "claims by priority, then age", test_claim_order) ||
           !CU_add_test(s, "claims walk from the queue's head; runs coming back come first",
                        test_claim_head) ||
           !CU_add_test(s, "a head never moves past a run whose transaction is open",
                        test_claim_head_in_flight) ||
           !CU_add_test(s, "claims filtered by kind", test_claim_kinds) ||
           !CU_add_test(s, "claims stay in their queue and project", test_claim_isolation) ||
           !CU_add_test(s, "claim: bad input names the field", test_claim_validation) ||
           !CU_add_test(s, "a lapsed lease is reclaimed", test_lease_expiry) ||
           !CU_add_test(s, "heartbeats keep the lease", test_lease_renewed) ||
           !CU_add_test(s, "attempts: the run follows the latest", test_attempts) ||
           !CU_add_test(s, "retry: failed, queued, claimed again", test_retry_flow) ||
           !CU_add_test(s, "a run's own retry policy: timed out, queued again, then failed",
                        test_run_policy) ||
           !CU_add_test(s, "retry_on failed: a worker's failure queued again, then failed",
                        test_run_policy_failed) ||
           !CU_add_test(s, "no second attempt while one runs", test_no_second_running_attempt) ||
           !CU_add_test(s, "attempts: bad input names the field", test_attempt_validation) ||
           !CU_add_test(s, "claims at once share commits, each run claimed once",
                        test_grouped_claims) ||
           !CU_add_test(s, "64 claims at once: one statement, priority order, 204 past the end",
                        test_claim_burst) ||
           !CU_add_test(s, "who may claim, start and stop", test_access) ||
           !CU_add_test(s, "claims and workers are published", test_published) ||
           !CU_add_test(s, "the run row keeps its latest attempt, exactly",
                        test_row_keeps_latest_attempt) ||
           !CU_add_test(s, "no secret in any log", test_no_secrets_in_logs);
}
