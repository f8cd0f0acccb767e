/* config: every setting of runwatch-api and runwatch-sse comes from the environment
 * (RUNWATCH_*), read once at start into one struct; what the environment leaves unset
 * comes from the stack's $RUNWATCH_VAR_DIR/stack.env, then from the defaults, which are
 * written here only (deploy/stack.sh reads them through `runwatch-api config --shell`).
 * A malformed value stops the process at start, never later. */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"

struct config {
    char var_dir[512];
    char database_url[1024];
    char redis_url[512];
    /* RUNWATCH_REDIS_PASSWORD_FILE, and what it holds (empty: the file is absent, so no
     * AUTH). The password lives in a file, never in the URL or a command line, so neither
     * `config --shell`, a log line nor `ps` shows it. */
    char redis_password_file[512];
    char redis_password[256];
    char api_socket[512];
    char api_socket_group[64];
    char migrations_dir[512];
    char functions_dir[512]; /* RUNWATCH_FUNCTIONS_DIR: beside the migrations by default */
    char sse_host[128];
    int sse_port;
    /* RUNWATCH_SSE_KEY_FILE: the per-stack key nginx sends the hub with every stream
     * (X-Runwatch-Hub-Key), so the hub believes only nginx's X-Runwatch-Projects. Read by
     * runwatch-sse (it refuses to start without it) and by deploy/stack.sh. */
    char sse_key_file[512];
    int api_workers;
    /* RUNWATCH_API_TCP: host:port the master listens on for FastCGI instead of api_socket
     * (nginx on another host or container); empty: the unix socket. */
    char api_tcp[256];
    /* RUNWATCH_HOUSEKEEPER: 1 (on) when serve's master runs the housekeeping process; 0
     * where a dedicated `runwatch-api housekeeper` unit or Deployment runs it instead. */
    int housekeeper;
    /* RUNWATCH_ARTIFACT_MAX_BYTES: largest artifact upload (POST …/artifacts/upload), read
     * in place of max_body on that path; nginx's client_max_body_size there is rendered
     * from the same setting (deploy/stack/nginx.sh). */
    size_t artifact_max_bytes;
    size_t max_body;
    /* RUNWATCH_OTLP_MAX_BYTES: largest OTLP request body (POST /v1/traces), read in place of
     * max_body on the OTLP paths (serve.c); batches of spans are larger than other writes. */
    size_t otlp_max_bytes;
    long session_idle_s; /* a session unused this long is expired */
    long session_max_s;  /* absolute lifetime of a session */
    long auth_cache_s;   /* how long a worker may reuse a token or session lookup; 0: never */
    long run_cache_mb;   /* RUNWATCH_RUN_CACHE_MB: a worker's rendered runs (runcache.h); 0: off */
    /* RUNWATCH_REDIS_TIMEOUT_MS: how long pub.c waits for Redis to connect or reply. */
    long redis_timeout_ms;
    enum log_level log_level;
    /* Extra words or word sequences (api_key: "api key") that make a key secret, beside the
     * built-in ones (RUNWATCH_REDACT_KEYS; jsonx_redact). */
    char redact_buf[512];
    const char *redact_keys[33]; /* NULL-terminated */
    /* Ad-hoc SQL (api/reports.c, db_report.c): the read-only login's conninfo, and the
     * limits every user statement runs under. */
    char report_database_url[1024];
    /* The built-in reports' streaming replica, as the main login; empty: the primary. */
    char read_database_url[1024];
    long report_timeout_ms;
    long report_max_rows;
    long report_max_bytes;
    /* How many run at once in all workers, and of one user or token: more get 429, so
     * queries never hold the workers producers and health checks need. */
    long report_concurrency;
    long report_per_user;
    /* Housekeeping (housekeep.c): the settings every task receives, as JSON text:
     * {"retention_days": {"<family>": days, …}} from RUNWATCH_RETENTION_DAYS_<FAMILY>
     * (family lowercased: RUNWATCH_RETENTION_DAYS_EVENTS → "events"); a family left out
     * keeps everything. */
    char housekeep_settings[1024];
    /* Tests only: RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH=<text> makes a worker exit after a
     * COMMIT instead of publishing a change whose data holds <text> (pub.h), so a test can
     * die exactly there (tests/faults). Empty (the default, and never remembered or
     * printed by `config --shell`): off. */
    char test_fault_publish[64];
    /* The Prometheus scrape's bearer token lives in this file (prom.c reads it per
     * scrape; deploy/stack.sh generates it, 0600). Missing or empty: no scrape by token. */
    char metrics_token_file[512];
};

/* Fills cfg from the environment. On a bad value returns -1 and writes a message
 * naming the variable into err. */
int config_load(struct config *cfg, char *err, size_t errlen);

/* Parsed form of RUNWATCH_REDIS_URL: "redis://host:port" or "unix:/path". */
#define CONFIG_SENTINELS_MAX 5
struct config_redis_addr {
    char host[256]; /* a socket path when is_unix */
    int port;
    int is_unix;
    char password[256]; /* sent with AUTH on every new connection; empty: no AUTH */
    /* A publish connection's connect and reply wait (pub.c); 0: 500. */
    int timeout_ms;
    /* redis-sentinel://h1:p1,h2:p2,h3:p3/name: host and port are asked of the Sentinels
     * before every connection (redis_sentinel_resolve); master empty: a fixed address. */
    char master[64];
    int nsentinels;
    struct {
        char host[64];
        int port;
    } sentinels[CONFIG_SENTINELS_MAX];
};
int config_parse_redis_url(const char *url, struct config_redis_addr *out);
/* cfg's Redis: its URL parsed (config_load checked it) with the password. */
void config_redis_addr(const struct config *cfg, struct config_redis_addr *out);

/* Reads a secret kept in a file (a password, a key): its first line, without the line
 * end, into out. A missing file is an empty secret when optional, an error otherwise;
 * an empty secret that is required is an error too. -1 with a message naming `name`. */
int config_read_secret(const char *path, int optional, const char *name, char *out, size_t cap,
                       char *err, size_t errlen);

/* An integer environment variable (dflt when unset or empty) within [min, max]; -1 with
 * a message naming the variable otherwise. Shared by both daemons' settings. */
int config_long(const char *name, const char *dflt, long min, long max, long *out, char *err,
                size_t errlen);

/* The local stack's own settings, which only deploy/stack.sh uses (nginx's address and
 * its login throttle and /metrics allow-list, the private servers' ports, the static
 * files): here so that their defaults, too, are written once. */
struct config_stack {
    char http_host[128];
    int http_port;
    int pg_port;
    int redis_port;
    char static_dir[512]; /* absolute */
    char login_rate[32];
    long login_burst;
    char metrics_allow[512];
    /* nginx's limit_conn: requests one client address may have in flight at once, on the
     * live stream and on the REST API (each its own count). */
    long stream_conn_limit;
    long api_conn_limit;
};
int config_stack_load(struct config_stack *st, char *err, size_t errlen);

/* Every setting with its effective value, paths absolute, as shell assignments
 * (NAME='value') that deploy/stack.sh evaluates. */
int config_print_shell(const struct config *cfg, FILE *out, char *err, size_t errlen);

/* `runwatch-api config [--shell]`: config_print_shell on stdout; the exit status. */
int config_cli(const struct config *cfg, int argc, char **argv);

#endif
