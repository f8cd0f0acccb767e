/* Prometheus suite: the exposition at nginx's /metrics passes `promtool check metrics`;
 * counters move with what the API does (an event batch adds its size, a 404 shows in
 * the request counter under "unmatched", a run's start and end in the run counters, by
 * route pattern and never the raw path); they survive a worker's death; who may scrape
 * (the metrics token from an allowed address through /metrics, the token or an instance
 * admin through /api/v1/metrics); the alert rules pass `promtool check rules` and the
 * example configuration (the token as a credentials_file) `promtool check config`; every
 * metric the rules and the Grafana dashboard name is one the exposition has. With
 * PostgreSQL stopped a scrape still answers, says runwatch_database_up 0 and counts the
 * failed requests. */
#include <ctype.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct ident adm, viewer, token;
static char slug[64];

static int prom_init(void)
{
    long long pid;
    if (itest_instance_admin(&adm) != 0 ||
        itest_make_project(&adm, "prom", slug, sizeof(slug), &pid) != 0 ||
        itest_new_member(&adm, "prom-viewer", "prom.test", slug, "viewer", &viewer) != 0)
        return 1;
    return itest_new_token(&adm, slug, "[\"read\",\"write\"]", NULL, &token) == 201 ? 0 : 1;
}

/* ---- helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* GET /metrics through nginx as Prometheus does (with the metrics token); the body
 * (malloc'd) or NULL. */
static char *scrape(void)
{
    struct http_resp r;
    char *out = NULL, ct[128];

    if (itest_scrape(&r) == 0 && r.status == 200 && r.body) {
        if (!http_header(&r, "Content-Type", ct, sizeof(ct)) ||
            strncmp(ct, "text/plain; version=0.0.4", 25) != 0)
            fprintf(stderr, "\n  /metrics content type: %s",
                    S(http_header(&r, "Content-Type", ct, sizeof(ct))));
        else
            out = strdup(r.body);
    } else {
        fprintf(stderr, "\n  GET /metrics: %ld %.300s", r.status, S(r.body));
    }
    http_resp_free(&r);
    return out;
}

/* The value of one series ("name{labels}" exactly as exposed, or a bare name), or -1. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static double scrape_value(const char *series)
{
    char *t = scrape();
    double v = t ? value_of(t, series) : -1;
    free(t);
    return v;
}

/* Runs `promtool <args>` with stdin from file (or none); returns its exit status. */
static int promtool(const char *args, const char *stdin_file)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "promtool %s %s%s 2>&1", args, stdin_file ? "< " : "",
             stdin_file ? stdin_file : "");
    FILE *p = popen(cmd, "r");
    char line[512];
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p))
        fprintf(stderr, "\n  promtool: %s", line);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* GET path from source address src (another loopback address), with the header line authz
 * (or none); the status or -1. */
static long status_from(const char *src, const char *path, const char *authz)
{
    char url[512];
    long status = -1;
    struct curl_slist *hl = NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    snprintf(url, sizeof(url), "%s%s", S(getenv("RUNWATCH_TEST_URL")), path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_INTERFACE, src);
    if (authz) {
        hl = curl_slist_append(hl, authz);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(ITEST_WAIT_MS / 1000)); /* only a hang */
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    return status;
}

/* "Authorization: Bearer <the stack's metrics token>" into buf. */
static const char *metrics_authz(char *buf, size_t cap)
{
    char path[600], tok[256] = "";
    FILE *f = fopen(var_path("metrics.token", path, sizeof(path)), "r");
    if (f) {
        if (!fgets(tok, sizeof(tok), f))
            tok[0] = '\0';
        fclose(f);
    }
    tok[strcspn(tok, "\r\n")] = '\0';
    snprintf(buf, cap, "Authorization: Bearer %s", tok);
    return buf;
}

/* A fresh run of the suite's project (as the token), its id into id. */
static int new_run(const char *status, char *id, size_t cap)
{
    struct itest_run run = {.kind = "prom", .status = status};
    return itest_make_run(&token, &run, id, cap) == 201 ? 0 : -1;
}

/* ---- tests ---- */

static void test_promtool_accepts_exposition(void)
{
    char path[] = "/tmp/runwatch-prom-XXXXXX", run[64];
    struct http_resp r;

    /* Some traffic first, so every family has series (histograms included). */
    CU_ASSERT_EQUAL_FATAL(new_run("running", run, sizeof(run)), 0);
    CU_ASSERT_EQUAL(itest_statusf(&token, "GET", NULL, "/api/v1/runs/%s", run), 200);
    http_get("/api/v1/no-such-route", &r);
    http_resp_free(&r);

    char *text = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int fd = mkstemp(path);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    CU_ASSERT_EQUAL(promtool("check metrics", path), 0);
    /* And a broken exposition is refused, so the check above can fail. */
    FILE *f = fopen(path, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("runwatch_broken{label=\"x\" 1\n", f);
    fclose(f);
    CU_ASSERT_NOT_EQUAL(promtool("check metrics", path), 0);
    unlink(path);

    /* Routes are patterns: the run's id is nowhere in the exposition. */
    CU_ASSERT_PTR_NULL(strstr(text, run));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "route=\"/api/v1/runs/{run}\""));
    CU_ASSERT_EQUAL(value_of(text, "runwatch_database_up"), 1);
    free(text);
}

static void test_counters_move(void)
{
    char run[64], series[512], path[200];
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(new_run("running", run, sizeof(run)), 0);
    double events0 = scrape_value("runwatch_events_stored_total");
    double miss0 = scrape_value(
        "runwatch_http_requests_total{method=\"*\",route=\"unmatched\",status_class=\"4xx\"}");
    snprintf(series, sizeof(series),
             "runwatch_http_requests_total{method=\"POST\",route=\"/api/v1/runs/{run}/"
             "events\",status_class=\"2xx\"}");
    double posts0 = scrape_value(series);
    CU_ASSERT_TRUE_FATAL(events0 >= 0);

    snprintf(path, sizeof(path), "/api/v1/runs/%s/events", run);
    CU_ASSERT_EQUAL(api_call(&token, "POST", path,
                             "{\"events\":[{\"message\":\"a\"},{\"message\":\"b\"},{\"message\":"
                             "\"c\"},{\"message\":\"d\"},{\"message\":\"e\"}]}",
                             &r),
                    0);
    EXPECT_STATUS(r, 201);
    http_resp_free(&r);
    http_get("/api/v1/no-such-route", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);

    char *text = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(value_of(text, "runwatch_events_stored_total"), events0 + 5);
    CU_ASSERT_EQUAL(value_of(text, "runwatch_http_requests_total{method=\"*\",route=\"unmatched\","
                                   "status_class=\"4xx\"}"),
                    (miss0 < 0 ? 0 : miss0) + 1);
    CU_ASSERT_EQUAL(value_of(text, series), (posts0 < 0 ? 0 : posts0) + 1);
    /* The histogram counted the same request. */
    CU_ASSERT_EQUAL(value_of(text, "runwatch_http_request_duration_seconds_count{method=\"POST\","
                                   "route=\"/api/v1/runs/{run}/events\",status_class=\"2xx\"}"),
                    (posts0 < 0 ? 0 : posts0) + 1);
    free(text);
}

static void test_run_counters(void)
{
    char run[64], started[200], failed[200], running[200], failed_now[200], body[200];

    snprintf(started, sizeof(started), "runwatch_runs_started_total{project=\"%s\"}", slug);
    snprintf(failed, sizeof(failed),
             "runwatch_runs_finished_total{project=\"%s\",status=\"failed\"}", slug);
    snprintf(running, sizeof(running), "runwatch_runs{project=\"%s\",status=\"running\"}", slug);
    snprintf(failed_now, sizeof(failed_now), "runwatch_runs{project=\"%s\",status=\"failed\"}",
             slug);
    char *t0 = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t0);
    double s0 = value_of(t0, started), f0 = value_of(t0, failed), r0 = value_of(t0, running),
           fn0 = value_of(t0, failed_now);
    free(t0);
    CU_ASSERT_TRUE_FATAL(s0 >= 0 && f0 >= 0 && r0 >= 0 && fn0 >= 0);

    /* Queued, then started, then failed: one start, one failure, counted once each. */
    CU_ASSERT_EQUAL_FATAL(new_run("queued", run, sizeof(run)), 0);
    CU_ASSERT_EQUAL(scrape_value(started), s0);
    CU_ASSERT_EQUAL(
        itest_statusf(&token, "PATCH", "{\"status\":\"running\"}", "/api/v1/runs/%s", run), 200);
    CU_ASSERT_EQUAL(
        itest_statusf(&token, "PATCH", "{\"status\":\"running\"}", "/api/v1/runs/%s", run), 200);
    char *t1 = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t1);
    CU_ASSERT_EQUAL(value_of(t1, started), s0 + 1);
    CU_ASSERT_EQUAL(value_of(t1, running), r0 + 1);
    free(t1);
    snprintf(body, sizeof(body), "{\"status\":\"failed\",\"error\":{\"type\":\"PromTest\"}}");
    CU_ASSERT_EQUAL(itest_statusf(&token, "PATCH", body, "/api/v1/runs/%s", run), 200);
    char *t2 = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
    CU_ASSERT_EQUAL(value_of(t2, started), s0 + 1);
    CU_ASSERT_EQUAL(value_of(t2, failed), f0 + 1);
    CU_ASSERT_EQUAL(value_of(t2, running), r0);
    CU_ASSERT_EQUAL(value_of(t2, failed_now), fn0 + 1);
    free(t2);
}

/* The counters live in the master's segment: a worker's death loses nothing. */
static void test_counters_survive_worker_death(void)
{
    pid_t pids[64], after[64];
    struct http_resp r;
    int n = api_worker_pids(pids, 64), m = 0;

    CU_ASSERT_TRUE_FATAL(n > 0);
    /* Requests land on every worker (nginx spreads them), then one worker dies. */
    for (int i = 0; i < 20; i++) {
        http_get("/api/v1/healthz", &r);
        http_resp_free(&r);
    }
    const char *hz = "runwatch_http_requests_total{method=\"GET\",route=\"/api/v1/"
                     "healthz\",status_class=\"2xx\"}";
    char *t0 = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t0);
    double h0 = value_of(t0, hz), starts0 = value_of(t0, "runwatch_api_worker_starts_total");
    free(t0);
    CU_ASSERT_EQUAL_FATAL(kill(pids[0], SIGKILL), 0);
    /* The master forks a new one: waited for, however busy the machine. */
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0; itest_now_s() < deadline;) {
        sleep_ms(100);
        m = api_worker_pids(after, 64);
        int still = 0;
        for (int j = 0; j < m; j++)
            still |= after[j] == pids[0];
        if (m == n && !still)
            break;
    }
    CU_ASSERT_EQUAL(m, n);
    char *t1 = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t1);
    CU_ASSERT_EQUAL(value_of(t1, hz), h0);
    CU_ASSERT_EQUAL(value_of(t1, "runwatch_api_worker_starts_total"), starts0 + 1);
    free(t1);
}

static void test_access(void)
{
    struct http_resp r;
    struct ident anon = {.kind = IDENT_ANON};

    /* Through the API: instance admins only; a project token sees one project, and
     * this shows all of them. */
    CU_ASSERT_EQUAL(itest_callf(&anon, "GET", NULL, &r, "/api/v1/metrics"), 401);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&viewer, "GET", NULL, &r, "/api/v1/metrics"), 403);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&token, "GET", NULL, &r, "/api/v1/metrics"), 403);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&adm, "GET", NULL, &r, "/api/v1/metrics"), 200);
    CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, "# TYPE runwatch_runs gauge") : NULL);
    http_resp_free(&r);
    /* A client cannot pose as the scrape location with a header. */
    const char *fake[] = {"RUNWATCH-METRICS-SCRAPE: 1", "Runwatch_Metrics_Scrape: 1", NULL};
    CU_ASSERT_EQUAL(api_req(&anon, "GET", "/api/v1/metrics", NULL, 0, fake, &r), 0);
    CU_ASSERT_EQUAL(r.status, 401);
    http_resp_free(&r);
    /* Through nginx's /metrics: the metrics token, and from an allowed address (127.0.0.1
     * by default) only. An allowed address alone is not enough: a reverse proxy on this
     * host makes every client 127.0.0.1. */
    char authz[320], wrong[320];
    metrics_authz(authz, sizeof(authz));
    snprintf(wrong, sizeof(wrong), "%.*sx", (int)strlen(authz) - 1, authz);
    CU_ASSERT_EQUAL(status_from("127.0.0.1", "/metrics", authz), 200);
    CU_ASSERT_EQUAL(status_from("127.0.0.1", "/metrics", NULL), 401);
    CU_ASSERT_EQUAL(status_from("127.0.0.1", "/metrics", wrong), 401);
    CU_ASSERT_EQUAL(status_from("127.0.0.1", "/metrics", "Authorization: Bearer rwm_"), 401);
    CU_ASSERT_EQUAL(status_from("127.0.0.2", "/metrics", authz), 403);
    /* Without credentials the refusal is the JSON error shape. */
    CU_ASSERT_EQUAL(http_get("/metrics", &r), 0);
    CU_ASSERT_TRUE(IS_ERROR(r, 401, "unauthenticated", NULL));
    http_resp_free(&r);
    /* The token is for the exposition only, and it works at /api/v1/metrics too. */
    const char *with[] = {authz, NULL};
    CU_ASSERT_EQUAL(http_do("GET", "/api/v1/auth/me", NULL, 0, with, &r), 0);
    CU_ASSERT_EQUAL(r.status, 401);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(http_do("GET", "/api/v1/metrics", NULL, 0, with, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
    /* Only GET (and HEAD) is a scrape. */
    CU_ASSERT_EQUAL(http_do("POST", "/metrics", "x", 1, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 405);
    http_resp_free(&r);
}

static void test_database_down(void)
{
    struct http_resp r;
    const char *unavail = "runwatch_db_errors_total{kind=\"unavailable\"}";
    double u0 = scrape_value(unavail);

    CU_ASSERT_TRUE_FATAL(u0 >= 0);
    CU_ASSERT_EQUAL_FATAL(stack_cmd("pg-stop"), 0);
    CU_ASSERT_EQUAL(itest_callf(&token, "GET", NULL, &r, "/api/v1/runs"), 503);
    http_resp_free(&r);
    char *text = scrape();
    CU_ASSERT_EQUAL(stack_cmd("pg-start"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(value_of(text, "runwatch_database_up"), 0);
    /* The token lookup failed, and so did the scrape's own query (at least once each;
     * nginx may have sent them to one worker or two). */
    CU_ASSERT_TRUE(value_of(text, unavail) >= u0 + 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE runwatch_http_requests_total counter"));
    CU_ASSERT_PTR_NULL(strstr(text, "runwatch_runs{"));
    free(text);
    /* Back: the next scrape has the database again. */
    double up = -1;
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0;
         up != 1 && itest_now_s() < deadline;) {
        up = scrape_value("runwatch_database_up");
        if (up != 1)
            sleep_ms(200);
    }
    CU_ASSERT_EQUAL(up, 1);
}

/* Every runwatch_* name in text is in the exposition (histograms by their family). */
static int names_exist(const char *file, const char *exposition)
{
    char rel[256], path[512], name[128];
    int missing = 0, seen = 0;

    snprintf(rel, sizeof(rel), "%s", file);
    FILE *f = fopen(repo_path(rel, path, sizeof(path)), "r");
    if (!f) {
        fprintf(stderr, "\n  cannot open %s", path);
        return -1;
    }
    int c, prev = ' ';
    while ((c = fgetc(f)) != EOF) {
        if (c == 'r' && !(isalnum(prev) || prev == '_')) {
            size_t n = 0;
            name[n++] = 'r';
            while ((c = fgetc(f)) != EOF && (isalnum(c) || c == '_') && n < sizeof(name) - 1)
                name[n++] = (char)c;
            name[n] = '\0';
            if (strncmp(name, "runwatch_", 9) == 0) {
                char family[160];
                /* A histogram's series are name_bucket/_sum/_count of "# TYPE name". */
                size_t len = strlen(name);
                const char *sfx[] = {"_bucket", "_sum", "_count"};
                snprintf(family, sizeof(family), "# TYPE %s ", name);
                int found = strstr(exposition, family) != NULL;
                for (int i = 0; !found && i < 3; i++) {
                    size_t sl = strlen(sfx[i]);
                    if (len > sl && strcmp(name + len - sl, sfx[i]) == 0)
                        found = snprintf(family, sizeof(family), "# TYPE %.*s histogram",
                                         (int)(len - sl), name) > 0 &&
                                strstr(exposition, family) != NULL;
                }
                seen++;
                if (!found) {
                    fprintf(stderr, "\n  %s names %s, which /metrics does not have", file, name);
                    missing++;
                }
            }
        }
        prev = c;
    }
    fclose(f);
    return seen ? missing : -1;
}

static void test_rules_and_dashboard(void)
{
    char path[512];
    char *text = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);

    char args[700];
    snprintf(args, sizeof(args), "check rules %s",
             repo_path("deploy/prometheus/alerts.yml", path, sizeof(path)));
    CU_ASSERT_EQUAL(promtool(args, NULL), 0);
    CU_ASSERT_EQUAL(names_exist("deploy/prometheus/alerts.yml", text), 0);

    json_object *dash =
        json_object_from_file(repo_path("deploy/grafana/runwatch.json", path, sizeof(path)));
    CU_ASSERT_PTR_NOT_NULL(dash);
    CU_ASSERT_TRUE(itest_jlen(dash, "panels") >= 6);
    json_object_put(dash);
    CU_ASSERT_EQUAL(names_exist("deploy/grafana/runwatch.json", text), 0);
    free(text);
}

/* deploy/prometheus/prometheus.yml, beside alerts.yml and a copy of the stack's metrics
 * token as the README says, passes `promtool check config` (which also checks that the
 * credentials file is there). */
static void test_example_config(void)
{
    char dir[600], yml[600], alerts[600], tok[600], cmd[8192], args[800];

    var_path("prometheus-example", dir, sizeof(dir));
    repo_path("deploy/prometheus/prometheus.yml", yml, sizeof(yml));
    repo_path("deploy/prometheus/alerts.yml", alerts, sizeof(alerts));
    var_path("metrics.token", tok, sizeof(tok));
    snprintf(cmd, sizeof(cmd),
             "rm -rf '%s' && mkdir -p '%s' && cp '%s' '%s' '%s/' && "
             "install -m 0600 '%s' '%s/runwatch-metrics.token'",
             dir, dir, yml, alerts, dir, tok, dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(args, sizeof(args), "check config %s/prometheus.yml", dir);
    CU_ASSERT_EQUAL(promtool(args, NULL), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int suite_prometheus_register(void)
{
    CU_pSuite s = CU_add_suite("prometheus", prom_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "the /metrics exposition passes promtool check metrics",
                     test_promtool_accepts_exposition) ||
        !CU_add_test(s, "counters move: events by batch size, 404s, by route pattern",
                     test_counters_move) ||
        !CU_add_test(s, "runs by status, started and finished counters", test_run_counters) ||
        !CU_add_test(s, "counters survive a worker's death", test_counters_survive_worker_death) ||
        !CU_add_test(s, "who may scrape", test_access) ||
        !CU_add_test(s, "a scrape while PostgreSQL is down", test_database_down) ||
        !CU_add_test(s, "alert rules pass promtool; rules and dashboard name real metrics",
                     test_rules_and_dashboard) ||
        !CU_add_test(s, "the example Prometheus config passes promtool", test_example_config))
        return -1;
    return 0;
}
