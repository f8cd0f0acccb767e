/* Shared helpers of the integration suites: HTTP through nginx with libcurl, the
 * stack's control script, and a look at the api processes in /proc. */
#ifndef RW_ITEST_H
#define RW_ITEST_H

#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

struct http_resp {
    long status;
    char *body;
    size_t len;
    char headers[8192];
    size_t hlen;
    json_object *json; /* parsed body when it is JSON, else NULL */
};

/* Sends a request to RUNWATCH_TEST_URL + path. headers is a NULL-terminated list of
 * "Name: value" lines (or NULL). Returns 0 when a response arrived. */
int http_do(const char *method, const char *path, const char *body, size_t body_len,
            const char *const *headers, struct http_resp *out);
/* The same from the local address source (NULL: the kernel's choice, 127.0.0.1 for the
 * stack's loopback nginx). Any 127.x address reaches nginx on Linux's loopback, so a test
 * can be two clients at once. */
int http_do_from(const char *source, const char *method, const char *path, const char *body,
                 size_t body_len, const char *const *headers, struct http_resp *out);
int http_get(const char *path, struct http_resp *out);
void http_resp_free(struct http_resp *r);
/* Value of a response header (case-insensitive name) copied into buf, or NULL. */
const char *http_header(const struct http_resp *r, const char *name, char *buf, size_t cap);
/* The code of an API error body ({"error":{"code":…}}), or NULL. */
const char *http_error_code(const struct http_resp *r);
const char *http_json_string(const struct http_resp *r, const char *key);

/* Runs `$RUNWATCH_TEST_STACK <cmd>`; returns its exit status. */
int stack_cmd(const char *cmd);
/* Reads the master's pid and fills pids with its live workers (children other than the
 * housekeeper); returns the count. */
int api_master_pid(void);
int api_worker_pids(pid_t *pids, int max);
/* Path of a file under RUNWATCH_VAR_DIR. */
const char *var_path(const char *rel, char *buf, size_t cap);

/* ---- identities, the API with credentials, the database (access and auth suites) ---- */

enum ident_kind {
    IDENT_ANON,
    IDENT_SESSION,
    IDENT_TOKEN,
};

/* Who sends a request: nobody, a signed-in user (secret = rw_session cookie value) or a
 * project API token (secret = the whole rw_… token). */
struct ident {
    enum ident_kind kind;
    char secret[256];
    char email[128];
    char password[80];
    long long user_id;  /* users, else 0 */
    long long token_id; /* tokens, else 0 */
};

/* api_req flags */
#define API_NO_CSRF      1u /* leave out X-Runwatch-CSRF (sessions and anonymous send it) */
#define API_CT_TEXT      2u /* send the body as text/plain instead of application/json */
#define API_FROM_ALT     4u /* send from ITEST_ALT_SOURCE: another client than the suites' */
#define ITEST_ALT_SOURCE "127.0.0.2"

/* Sends method path as id. A body goes as application/json. Anonymous and session
 * requests carry X-Runwatch-CSRF unless API_NO_CSRF; token requests never do. extra is
 * a NULL-terminated list of more header lines, or NULL. Returns 0 when a response came. */
int api_req(const struct ident *id, const char *method, const char *path, const char *body,
            unsigned flags, const char *const *extra, struct http_resp *out);
int api_call(const struct ident *id, const char *method, const char *path, const char *body,
             struct http_resp *out);
/* POST /api/v1/auth/login with id->email and id->password; on 200 id becomes that
 * session (secret, user_id) and the cookie is noted as a secret. Returns the status. */
long api_login(struct ident *id);
/* The value of cookie name in the response's Set-Cookie header, or NULL. */
const char *http_set_cookie_value(const struct http_resp *r, const char *name, char *buf,
                                  size_t cap);
const char *http_error_field(const struct http_resp *r);
const char *http_error_message(const struct http_resp *r);
/* An integer member of the response's top-level object (or of its "user" object when
 * key is "user.id"-style "a.b"), or -1. */
long long http_json_int(const struct http_resp *r, const char *key);

/* A unique lowercase name: prefix-<counter>-<random hex>. */
const char *itest_unique(const char *prefix, char *buf, size_t cap);
/* A random password of 24 characters, noted as a secret. */
const char *itest_password(char *buf, size_t cap);

/* Runs SQL through `$RUNWATCH_TEST_STACK psql`; out (if any) receives the unaligned,
 * tuples-only output without the final newline. Returns psql's exit status. Never
 * put a secret in sql: psql's errors would carry it into the test output. */
int itest_psql(const char *sql, char *out, size_t cap);
/* The same as the cluster's superuser (`stack.sh psql-admin`): for what the API's login
 * may not do, such as ending another role's backends. */
int itest_psql_admin(const char *sql, char *out, size_t cap);
/* A psql session of its own (`$RUNWATCH_TEST_STACK psql`, output discarded) fed through the
 * returned pipe: SQL written to it runs as psql reads it, so a test can hold a transaction
 * open while it does other things. pclose() ends it (and waits for psql); NULL on failure. */
FILE *itest_psql_session(void);
/* `runwatch-api user add` with the password on stdin; returns its exit status. */
int itest_cli_user_add(const char *email, const char *name, int admin, const char *password);
/* The first instance admin, made with the CLI once per process, signed in afresh. */
int itest_instance_admin(struct ident *out);

/* Secrets the tests used, so the logs can be searched for them at the end. */
void secret_note(const char *kind, const char *value);
/* Searches every file under RUNWATCH_VAR_DIR/log for every noted secret; prints the file
 * and the kind of each hit (never the secret) and returns the number of hits. */
int secrets_scan_logs(void);
/* Number of noted secrets found in text (for response bodies such as the audit log). */
int secrets_in_text(const char *text, size_t len, const char *where);

/* Path of a file in the source tree (RUNWATCH_REPO_DIR, else the tree holding
 * RUNWATCH_TEST_STACK, else the current directory). */
const char *repo_path(const char *rel, char *buf, size_t cap);

/* GET /metrics as Prometheus does: with the metrics token of the stack
 * ($RUNWATCH_VAR_DIR/metrics.token) as its bearer token. 0 when a response came. */
int itest_scrape(struct http_resp *out);
/* The value of one series of GET /metrics (its whole name with labels, as printed:
 * "runwatch_write_batches_total"), or -1 when it is missing. */
double itest_metric(const char *series);

/* ---- a Redis subscriber (the runs suite checks what writes publish) ---- */

/* One SUBSCRIBE connection to 127.0.0.1:$RUNWATCH_REDIS_PORT, spoken in RESP without a
 * client library. Pending bytes stay in buf between calls. */
struct itest_sub {
    int fd;
    char *buf;
    size_t len, cap;
};

/* Connects, authenticates (the stack's Redis requires its password) and subscribes to
 * channel; returns 0 once Redis confirmed the subscription, so anything published after
 * that is seen. */
int itest_sub_open(struct itest_sub *s, const char *channel);
/* The stack's Redis password ($RUNWATCH_VAR_DIR/run/redis.password) into buf; "" when
 * it cannot be read. */
const char *itest_redis_password(char *buf, size_t cap);
/* Sends one command (RESP, built from argv) on a new unauthenticated connection to the
 * stack's Redis and returns its first reply line (malloc'd), or NULL. What a local
 * process without the password gets. */
char *itest_redis_anon(int argc, const char *const *argv);
/* How long a suite waits for something that must happen (a message, an answer): long
 * enough that only a bug, never a busy machine, runs past it. A wait that ends early on
 * success costs nothing when all is well; only a failing check waits this long. */
#define ITEST_WAIT_MS 60000
/* The payload of the next message (malloc'd, NUL-terminated; the caller frees it), or
 * NULL when none came within timeout_ms or the connection failed. */
char *itest_sub_next(struct itest_sub *s, int timeout_ms);
/* The next message about run of the given type (the caller puts it), skipping the
 * instance's other messages; NULL when none came within 200 messages of ITEST_WAIT_MS
 * each. */
json_object *itest_sub_find(struct itest_sub *s, const char *run, const char *type);
void itest_sub_close(struct itest_sub *s);

/* One suite per API module (test_<module>.c) plus the cross-cutting ones. */
int suite_foundation_register(void);
int suite_health_register(void);
int suite_access_register(void);
int suite_auth_register(void);
int suite_users_register(void);
int suite_projects_register(void);
int suite_audit_register(void);
int suite_runs_register(void);
int suite_events_register(void);
int suite_queue_register(void);
int suite_workers_register(void);
int suite_metrics_register(void);
int suite_reports_register(void);
int suite_stream_register(void);
int suite_prometheus_register(void);
int suite_housekeeping_register(void);
int suite_lifecycle_register(void);
int suite_edge_register(void);
int suite_spans_register(void);
int suite_traces_register(void);
int suite_rollouts_register(void);
int suite_artifacts_register(void);
int suite_worker_events_register(void);
int suite_run_facets_register(void);

int suite_graph_register(void);

int suite_experiments_register(void);

int suite_leaderboard_register(void);

/* Fixtures: a project (slug written to slug), a user with a fresh password, a token
 * (returns the HTTP status; expires is JSON text or NULL), a membership (0 on 201). */
int itest_make_project(const struct ident *admin, const char *tag, char *slug, size_t cap,
                       long long *id);
int itest_new_user(const struct ident *admin, const char *tag, const char *domain, struct ident *u);
long itest_new_token(const struct ident *creator, const char *slug, const char *scopes,
                     const char *expires, struct ident *t);
int itest_add_member(const struct ident *admin, const char *slug, const char *email,
                     const char *role);
/* A new user with role in project slug, signed in; 0 on success. */
int itest_new_member(const struct ident *admin, const char *tag, const char *domain,
                     const char *slug, const char *role, struct ident *u);

/* The usual world of a suite: the instance admin, two projects of its own (A and B),
 * people and tokens in them. Tags make the names: "<tag>-a", users @<tag>.test. */
struct itest_project {
    char slug[64];
    long long id;
};
struct itest_world {
    struct ident adm;            /* the instance admin, signed in */
    struct itest_project pa, pb; /* two projects */
    struct ident viewer, member; /* a viewer and a member of A, signed in */
    struct ident member_b;       /* a member of B, signed in */
    struct ident tread, twrite;  /* read and write tokens of A */
    struct ident twrite_b;       /* a write token of B */
};
/* Fills w; 0 on success (a suite's set-up returns non-zero otherwise). */
int itest_world_init(struct itest_world *w, const char *tag);
/* Only the admin and the two projects (for suites that make their own people). */
int itest_world_projects(struct itest_world *w, const char *tag);

/* A run made by POST /api/v1/runs. Members left NULL stay out of the body, so the
 * server's defaults apply; project NULL means the token's own project. */
struct itest_run {
    const char *project;
    const char *kind;   /* NULL: "itest" */
    const char *status; /* "queued" or "running" */
    const char *queue;
    const char *parent; /* parent_id: a run's id */
    const char *extra;  /* more members as JSON text ("\"priority\":3"), a leading comma allowed */
};
/* Creates the run as who; id (cap bytes, may be NULL) gets its id on 201, else "".
 * Returns the status (-1 when no answer came) and prints the answer when it is not 201. */
long itest_make_run(const struct ident *who, const struct itest_run *run, char *id, size_t cap);

/* ---- requests with checks (suites share these) ---- */
/* method on the printf-formatted path as who; returns the status (-1 when no answer
 * came). The caller frees r. */
long itest_callf(const struct ident *who, const char *method, const char *body, struct http_resp *r,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same for a status only. */
long itest_statusf(const struct ident *who, const char *method, const char *body, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
/* 1 when r is the error status/code/field (code or field NULL: not checked); else prints
 * what came, with file:line, and returns 0. */
int itest_is_error(const struct http_resp *r, long status, const char *code, const char *field,
                   const char *file, int line);
#define IS_ERROR(r, status, code, field)                                                           \
    itest_is_error(&(r), status, code, field, __FILE__, __LINE__)
#define EXPECT_STATUS(r, want)                                                                     \
    do {                                                                                           \
        if ((r).status != (want))                                                                  \
            fprintf(stderr, "\n  %s:%d: expected %ld, got %ld %.400s", __FILE__, __LINE__,         \
                    (long)(want), (r).status, (r).body ? (r).body : "(null)");                     \
        CU_ASSERT_EQUAL((r).status, (want));                                                       \
    } while (0)

/* ---- JSON by path ---- */

/* The member at a dotted path ("latest_attempt.seq", "items.0.id": numbers index
 * arrays), or NULL when it is missing or JSON null. */
json_object *itest_jget(json_object *o, const char *path);
/* The string at path, or NULL when it is missing or not a string. */
const char *itest_jstr(json_object *o, const char *path);
/* The integer at path, or -1 when it is missing or not an integer. */
long long itest_jint(json_object *o, const char *path);
/* 1 when the member at path is there and JSON null. */
int itest_jnull(json_object *o, const char *path);
/* Length of the array at path, or -1 when it is missing or not an array. */
long itest_jlen(json_object *o, const char *path);
/* s[0..n) without the whitespace between JSON tokens (inside strings it stays), malloc'd:
 * answers made in C (compact) against PostgreSQL's json text (", " and " : "). */
char *itest_json_squeeze(const char *s, size_t n);
/* The number at path (an integer too), or -1e300 when it is missing or not a number. */
double itest_jnum(json_object *o, const char *path);
/* 1 when the member at path exists (*out is then NULL for a JSON null), else 0. */
int itest_jfind(json_object *o, const char *path, json_object **out);
/* An RFC 3339 time as microseconds since the epoch, or -1. */
long long itest_ts_usec(const char *s);

/* Copies tmpl into out, replacing each placeholder key ("{p}") of subs (ended by a
 * NULL key) with its value. */
struct itest_subst {
    const char *key;
    const char *val;
};
void itest_expand(const char *tmpl, const struct itest_subst *subs, char *out, size_t cap);

/* ---- fixtures and checks the suites share ---- */

/* 1 when a and b are both there and equal. */
int itest_streq(const char *a, const char *b);
/* A monotonic clock in seconds, for polling deadlines (never asserted on). */
double itest_now_s(void);
void itest_sleep_ms(long ms);
/* The status of GET path as id, or -1 when no answer came. */
long itest_get_status(const struct ident *id, const char *path);
/* The status of GET path as id once it is want, or the last status after 30 s of
 * asking. For identity changes made outside the API (psql): they reach the workers'
 * identity caches by PostgreSQL's notification, which is asynchronous, where a change
 * through the API holds on the very next request (docs/ARCHITECTURE.md, "The identity
 * cache"). The deadline is no speed assumption: run.sh sets the cache TTL (60 s) at twice it, so
 * a missing notification fails the check. */
long itest_status_settles(const struct ident *id, const char *path, long want);
/* Runs sql through itest_psql and asserts that psql succeeded. */
void itest_psql_ok(const char *sql);
/* POST /api/v1/auth/login anonymously as email with pw; returns the status (-1 when no
 * answer came) and fills code (64 bytes) and msg (200 bytes) with the error's, or "".
 * A session cookie it sets is noted as a secret. */
long itest_login_as(const char *email, const char *pw, char *code, char *msg);
/* Every property the OpenAPI document (openapi) gives the schema is in obj; prints
 * what is missing. */
int itest_has_schema_keys(json_object *openapi, json_object *obj, const char *schema);

/* Runs of a world. A run of project slug and kind made by w's member in project A or by
 * the admin elsewhere; extra is more JSON members (",\"status\":\"running\""). 0 on 201. */
int itest_world_run(const struct itest_world *w, const char *slug, const char *kind,
                    const char *extra, char id[40]);
/* A run of project A (status queued or running) made by A's write token; 0 on 201. */
int itest_token_run(const struct itest_world *w, const char *status, char id[40]);
/* A run in queue with kind and priority, made by w's member in project A or by B's
 * write token in project B. 0 on 201. */
int itest_queued_run(const struct itest_world *w, const char *slug, const char *queue,
                     const char *kind, int priority, char id[40]);
/* method on /api/v1/runs/<id><sub> (sub may be NULL) as who; the status, or -1 when no
 * answer came. The caller frees r. */
long itest_run_op(const struct ident *who, const char *method, const char *id, const char *sub,
                  const char *body, struct http_resp *r);
/* PATCH the run as w's member; returns the status (prints the answer when not 200). */
long itest_run_patch(const struct itest_world *w, const char *id, const char *body);
/* A run of project A in state (queued, running or an end state), reached through the
 * API as w's member; 0 on success. */
int itest_run_in(const struct itest_world *w, const char *kind, const char *state, char id[40]);

/* Workers, claims and attempts (queue and workers suites). A worker named name (NULL:
 * a fresh name) of project slug (NULL: the token's own) registered by who; its id, or -1. */
long long itest_new_worker(const struct ident *who, const char *slug, const char *name);
/* A claim on queue by who with worker (and more JSON members, or NULL); the claimed
 * run's id goes to id ("" when none). Returns the status. */
long itest_claim(const struct ident *who, const char *queue, long long worker, const char *more,
                 char id[40]);
/* A claim by w's member in project A. */
long itest_claim_a(const struct itest_world *w, const char *queue, long long worker, char id[40]);
/* POST /runs/<run>/attempts and PATCH /runs/<run>/attempts/<seq> as who with body;
 * the status, r kept for the caller to free. */
long itest_attempt_start(const struct ident *who, const char *run, const char *body,
                         struct http_resp *r);
long itest_attempt_end(const struct ident *who, const char *run, int seq, const char *body,
                       struct http_resp *r);

/* Input validation, table-driven: one request a case and the error it must get. */
struct itest_bad {
    const char *method;
    const char *path; /* with the placeholders of struct itest_bad_targets */
    const char *body; /* the same placeholders, or NULL */
    unsigned flags;   /* api_req flags */
    long status;
    const char *code;   /* or NULL: not checked */
    const char *field;  /* or NULL: not checked */
    const char *header; /* one more header line, or NULL */
};
/* What the placeholders of a case stand for: {p} project A's slug, {r} run, {x} xrun
 * (a run of project B), {w} worker (of A), {wb} xworker (of B). Members left out are
 * "" and 0. */
struct itest_bad_targets {
    const char *run, *xrun;
    long long worker, xworker;
};
/* Sends each case of w as who (t may be NULL); prints each answer that differs and
 * returns their number. */
int itest_check_bad(const struct itest_world *w, const struct ident *who,
                    const struct itest_bad *cases, size_t n, const struct itest_bad_targets *t);

#endif
