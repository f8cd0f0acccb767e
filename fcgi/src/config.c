/* config: reads RUNWATCH_* once at start. Every default is written here and only here:
 * deploy/stack.sh takes its settings from `runwatch-api config --shell`. What the
 * environment leaves unset is first taken from the settings the local stack was started
 * with ($RUNWATCH_VAR_DIR/stack.env, written by deploy/stack.sh), so a binary started by
 * hand next to a running stack (an operator's `runwatch-api user add`) finds it. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *config_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
}

static int config_copy(char *dst, size_t cap, const char *src, const char *name, char *err,
                       size_t errlen)
{
    size_t n = strlen(src);
    if (n >= cap) {
        snprintf(err, errlen, "%s is too long (max %zu bytes)", name, cap - 1);
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int config_long(const char *name, const char *dflt, long min, long max, long *out, char *err,
                size_t errlen)
{
    const char *s = config_env(name, dflt);
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        snprintf(err, errlen, "%s must be an integer from %ld to %ld, got \"%s\"", name, min, max,
                 s);
        return -1;
    }
    *out = v;
    return 0;
}

/* After "redis-sentinel://": host:port[,host:port]... "/" name. Each Sentinel is an IPv4
 * address or a name (no IPv6 literal); the name is what `sentinel monitor` calls the
 * primary. out is zeroed by the caller. */
static int config_parse_sentinel_url(const char *s, struct config_redis_addr *out)
{
    const char *slash = strchr(s, '/'), *p = s;
    size_t n;

    if (!slash || !slash[1])
        return -1;
    n = strlen(slash + 1);
    if (n >= sizeof(out->master) ||
        strspn(slash + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789._-") != n)
        return -1;
    memcpy(out->master, slash + 1, n + 1);
    while (p < slash) {
        const char *comma = memchr(p, ',', (size_t)(slash - p));
        const char *end = comma ? comma : slash;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        char num[8];
        char *stop;
        long port;
        size_t hl, pl;

        if (out->nsentinels == CONFIG_SENTINELS_MAX || !colon)
            return -1;
        hl = (size_t)(colon - p);
        pl = (size_t)(end - colon - 1);
        if (hl == 0 || hl >= sizeof(out->sentinels[0].host) || pl == 0 || pl >= sizeof(num))
            return -1;
        memcpy(num, colon + 1, pl);
        num[pl] = '\0';
        port = strtol(num, &stop, 10);
        if (*stop || port < 1 || port > 65535)
            return -1;
        memcpy(out->sentinels[out->nsentinels].host, p, hl);
        out->sentinels[out->nsentinels].host[hl] = '\0';
        out->sentinels[out->nsentinels].port = (int)port;
        out->nsentinels++;
        if (comma && comma + 1 == slash) /* "a:1,/name": an empty last Sentinel */
            return -1;
        p = comma ? comma + 1 : slash;
    }
    return out->nsentinels > 0 ? 0 : -1;
}

int config_parse_redis_url(const char *url, struct config_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(url, "unix:", 5) == 0) {
        const char *path = url + 5;
        if (!*path || strlen(path) >= sizeof(out->host))
            return -1;
        out->is_unix = 1;
        snprintf(out->host, sizeof(out->host), "%s", path);
        return 0;
    }
    if (strncmp(url, "redis-sentinel://", 17) == 0)
        return config_parse_sentinel_url(url + 17, out);
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *hp = url + 8;
    const char *colon = strrchr(hp, ':');
    const char *slash = strchr(hp, '/');
    size_t hostlen;
    if (slash && colon && colon > slash)
        colon = NULL;
    hostlen = colon ? (size_t)(colon - hp) : (slash ? (size_t)(slash - hp) : strlen(hp));
    if (hostlen == 0 || hostlen >= sizeof(out->host))
        return -1;
    memcpy(out->host, hp, hostlen);
    out->port = 6379;
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || (*end != '\0' && *end != '/') || p < 1 || p > 65535)
            return -1;
        out->port = (int)p;
    }
    return 0;
}

void config_redis_addr(const struct config *cfg, struct config_redis_addr *out)
{
    config_parse_redis_url(cfg->redis_url, out);
    snprintf(out->password, sizeof(out->password), "%s", cfg->redis_password);
    out->timeout_ms = (int)cfg->redis_timeout_ms;
}

int config_read_secret(const char *path, int optional, const char *name, char *out, size_t cap,
                       char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    out[0] = '\0';
    if (!f) {
        if (optional && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: cannot read %s: %s", name, path, strerror(errno));
        return -1;
    }
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    n = strcspn(out, "\r\n");
    if (n == cap - 1) {
        snprintf(err, errlen, "%s: the secret in %s is longer than %zu bytes", name, path, cap - 2);
        out[0] = '\0';
        return -1;
    }
    out[n] = '\0';
    if (!out[0] && !optional) {
        snprintf(err, errlen, "%s: %s is empty", name, path);
        return -1;
    }
    return 0;
}

/* Retention per table family: RUNWATCH_RETENTION_DAYS_<FAMILY>=days. */
#define CONFIG_RETENTION_PREFIX "RUNWATCH_RETENTION_DAYS_"

/* RUNWATCH_RETENTION_DAYS_<FAMILY>=days, each, into {"retention_days":{"family":days}}. */
static int config_retention(struct config *cfg, char *err, size_t errlen)
{
    static const char prefix[] = CONFIG_RETENTION_PREFIX;
    size_t cap = sizeof(cfg->housekeep_settings), pos;
    int n = 0;

    pos = (size_t)snprintf(cfg->housekeep_settings, cap, "{\"retention_days\":{");
    for (char **e = environ; e && *e; e++) {
        const char *fam = *e + sizeof(prefix) - 1, *eq = strchr(*e, '=');
        char name[128], family[64];
        long days;
        size_t flen;

        if (strncmp(*e, prefix, sizeof(prefix) - 1) != 0 || !eq || eq[1] == '\0')
            continue;
        flen = (size_t)(eq - fam);
        if (flen == 0 || flen >= sizeof(family)) {
            snprintf(err, errlen, "%.*s: the family name must be 1 to 63 characters",
                     (int)(eq - *e), *e);
            return -1;
        }
        for (size_t i = 0; i < flen; i++) {
            char c = fam[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
                snprintf(err, errlen, "%.*s: the family name must be A-Z, 0-9 and _",
                         (int)(eq - *e), *e);
                return -1;
            }
            family[i] = (char)tolower((unsigned char)c);
        }
        family[flen] = '\0';
        snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
        if (config_long(name, "", 1, 365000, &days, err, errlen))
            return -1;
        pos += (size_t)snprintf(cfg->housekeep_settings + pos, pos < cap ? cap - pos : 0,
                                "%s\"%s\":%ld", n++ ? "," : "", family, days);
    }
    pos += (size_t)snprintf(cfg->housekeep_settings + pos, pos < cap ? cap - pos : 0, "}}");
    if (pos >= cap) {
        snprintf(err, errlen, "too many RUNWATCH_RETENTION_DAYS_* variables");
        return -1;
    }
    return 0;
}

static int config_remembered(char *err, size_t errlen);

int config_load(struct config *cfg, char *err, size_t errlen)
{
    char buf[1024];
    long v;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    char dflt_workers[24];
    struct config_redis_addr ra;
    const char *var, *pg_port, *redis_port;

    memset(cfg, 0, sizeof(*cfg));
    if (config_remembered(err, errlen) != 0)
        return -1;
    var = config_env("RUNWATCH_VAR_DIR", "var");
    pg_port = config_env("RUNWATCH_PG_PORT", "5439");
    redis_port = config_env("RUNWATCH_REDIS_PORT", "6389");

    if (config_copy(cfg->var_dir, sizeof(cfg->var_dir), var, "RUNWATCH_VAR_DIR", err, errlen))
        return -1;

    snprintf(buf, sizeof(buf), "host=%s/run port=%s dbname=runwatch user=runwatch", var, pg_port);
    if (config_copy(cfg->database_url, sizeof(cfg->database_url),
                    config_env("RUNWATCH_DATABASE_URL", buf), "RUNWATCH_DATABASE_URL", err, errlen))
        return -1;

    snprintf(buf, sizeof(buf), "redis://127.0.0.1:%s", redis_port);
    if (config_copy(cfg->redis_url, sizeof(cfg->redis_url), config_env("RUNWATCH_REDIS_URL", buf),
                    "RUNWATCH_REDIS_URL", err, errlen))
        return -1;
    if (config_parse_redis_url(cfg->redis_url, &ra) != 0) {
        snprintf(err, errlen,
                 "RUNWATCH_REDIS_URL must be redis://host:port, unix:/path or "
                 "redis-sentinel://host:port[,host:port]/name");
        return -1;
    }
    /* The stack's Redis requires this password (deploy/stack/redis.sh makes it). */
    snprintf(buf, sizeof(buf), "%s/run/redis.password", var);
    if (config_copy(cfg->redis_password_file, sizeof(cfg->redis_password_file),
                    config_env("RUNWATCH_REDIS_PASSWORD_FILE", buf), "RUNWATCH_REDIS_PASSWORD_FILE",
                    err, errlen) ||
        config_read_secret(cfg->redis_password_file, 1, "RUNWATCH_REDIS_PASSWORD_FILE",
                           cfg->redis_password, sizeof(cfg->redis_password), err, errlen))
        return -1;

    snprintf(buf, sizeof(buf), "%s/run/api.sock", var);
    if (config_copy(cfg->api_socket, sizeof(cfg->api_socket),
                    config_env("RUNWATCH_API_SOCKET", buf), "RUNWATCH_API_SOCKET", err, errlen))
        return -1;
    /* sun_path holds 108 bytes including the NUL. */
    if (strlen(cfg->api_socket) > 107) {
        snprintf(err, errlen, "RUNWATCH_API_SOCKET is longer than a unix socket path may be");
        return -1;
    }
    if (config_copy(cfg->api_socket_group, sizeof(cfg->api_socket_group),
                    config_env("RUNWATCH_API_SOCKET_GROUP", ""), "RUNWATCH_API_SOCKET_GROUP", err,
                    errlen))
        return -1;
    if (config_copy(cfg->api_tcp, sizeof(cfg->api_tcp), config_env("RUNWATCH_API_TCP", ""),
                    "RUNWATCH_API_TCP", err, errlen))
        return -1;
    if (cfg->api_tcp[0]) {
        const char *colon = strrchr(cfg->api_tcp, ':');
        long port;
        char *end;
        if (!colon || colon == cfg->api_tcp ||
            (port = strtol(colon + 1, &end, 10),
             end == colon + 1 || *end || port < 1 || port > 65535)) {
            snprintf(err, errlen, "RUNWATCH_API_TCP must be host:port, got \"%s\"", cfg->api_tcp);
            return -1;
        }
    }
    {
        const char *hk = config_env("RUNWATCH_HOUSEKEEPER", "on");
        if (strcmp(hk, "on") != 0 && strcmp(hk, "off") != 0) {
            snprintf(err, errlen, "RUNWATCH_HOUSEKEEPER must be on or off, got \"%s\"", hk);
            return -1;
        }
        cfg->housekeeper = strcmp(hk, "on") == 0;
    }
    if (config_copy(cfg->migrations_dir, sizeof(cfg->migrations_dir),
                    config_env("RUNWATCH_MIGRATIONS_DIR", "sql/migrations"),
                    "RUNWATCH_MIGRATIONS_DIR", err, errlen))
        return -1;
    {
        /* sql/functions beside sql/migrations, wherever the migrations were put. */
        const char *slash = strrchr(cfg->migrations_dir, '/');
        int len = slash ? (int)(slash - cfg->migrations_dir) : 0;
        snprintf(buf, sizeof(buf), "%.*s%sfunctions", len, cfg->migrations_dir, slash ? "/" : "");
    }
    if (config_copy(cfg->functions_dir, sizeof(cfg->functions_dir),
                    config_env("RUNWATCH_FUNCTIONS_DIR", buf), "RUNWATCH_FUNCTIONS_DIR", err,
                    errlen))
        return -1;
    if (config_copy(cfg->sse_host, sizeof(cfg->sse_host),
                    config_env("RUNWATCH_SSE_HOST", "127.0.0.1"), "RUNWATCH_SSE_HOST", err, errlen))
        return -1;
    if (config_long("RUNWATCH_SSE_PORT", "8089", 1, 65535, &v, err, errlen))
        return -1;
    cfg->sse_port = (int)v;
    snprintf(buf, sizeof(buf), "%s/run/sse.key", var);
    if (config_copy(cfg->sse_key_file, sizeof(cfg->sse_key_file),
                    config_env("RUNWATCH_SSE_KEY_FILE", buf), "RUNWATCH_SSE_KEY_FILE", err, errlen))
        return -1;

    snprintf(dflt_workers, sizeof(dflt_workers), "%ld", ncpu > 0 ? 2 * ncpu : 2);
    if (config_long("RUNWATCH_API_WORKERS", dflt_workers, 1, 256, &v, err, errlen))
        return -1;
    cfg->api_workers = (int)v;

    if (config_long("RUNWATCH_MAX_BODY", "1048576", 1024, 64L * 1024 * 1024, &v, err, errlen))
        return -1;
    cfg->max_body = (size_t)v;
    /* 8 MiB holds thousands of spans; nginx's own cap on the OTLP paths is 65 MiB, above
     * the largest value allowed here (the OTLP specification recommends 64 MiB). */
    if (config_long("RUNWATCH_OTLP_MAX_BYTES", "8388608", 1024, 64L * 1024 * 1024, &v, err, errlen))
        return -1;
    cfg->otlp_max_bytes = (size_t)v;
    /* Uploads are held whole while their sha256 is checked and they are stored: small files
     * only (bigger artifacts are registered by URI). */
    if (config_long("RUNWATCH_ARTIFACT_MAX_BYTES", "16777216", 1024, 256L * 1024 * 1024, &v, err,
                    errlen))
        return -1;
    cfg->artifact_max_bytes = (size_t)v;

    if (config_long("RUNWATCH_SESSION_IDLE", "604800", 60, 31536000, &cfg->session_idle_s, err,
                    errlen))
        return -1;
    if (config_long("RUNWATCH_SESSION_MAX", "2592000", 60, 31536000, &cfg->session_max_s, err,
                    errlen))
        return -1;
    /* At most a minute: last_used_at and last_seen_at are touched on cache misses only, and
     * their one-minute resolution should stay about that (docs/ARCHITECTURE.md). */
    if (config_long("RUNWATCH_AUTH_CACHE_S", "5", 0, 60, &cfg->auth_cache_s, err, errlen))
        return -1;
    /* Per worker; what the lists read fills it, and a worker's RSS grows only that far. */
    if (config_long("RUNWATCH_RUN_CACHE_MB", "8", 0, 1024, &cfg->run_cache_mb, err, errlen))
        return -1;
    /* Short by default, so a Redis that hangs costs a write little (pub.c); the test stack
     * sets it long, so a loaded machine's slow reply is never a dropped live event there. */
    if (config_long("RUNWATCH_REDIS_TIMEOUT_MS", "500", 50, 60000, &cfg->redis_timeout_ms, err,
                    errlen))
        return -1;

    /* Words added to the built-in ones (jsonx_redact), which always apply: an operator's list
     * written for the old substring matching (password,token,...) still means those words. */
    if (config_copy(cfg->redact_buf, sizeof(cfg->redact_buf),
                    config_env("RUNWATCH_REDACT_KEYS", ""), "RUNWATCH_REDACT_KEYS", err, errlen))
        return -1;
    {
        size_t n = 0;
        for (char *k = cfg->redact_buf, *next; k && *k; k = next) {
            next = strchr(k, ',');
            if (next)
                *next++ = '\0';
            for (char *c = k; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            if (!*k)
                continue;
            if (n == sizeof(cfg->redact_keys) / sizeof(cfg->redact_keys[0]) - 1) {
                snprintf(err, errlen, "RUNWATCH_REDACT_KEYS has more than 32 entries");
                return -1;
            }
            cfg->redact_keys[n++] = k;
        }
        cfg->redact_keys[n] = NULL;
    }

    /* Ad-hoc SQL. Empty: the main conninfo, logged in as runwatch_report instead. */
    if (config_copy(cfg->report_database_url, sizeof(cfg->report_database_url),
                    config_env("RUNWATCH_REPORT_DATABASE_URL", ""), "RUNWATCH_REPORT_DATABASE_URL",
                    err, errlen))
        return -1;
    /* Built-in reports. Empty: they read the primary (the main connection). */
    if (config_copy(cfg->read_database_url, sizeof(cfg->read_database_url),
                    config_env("RUNWATCH_READ_DATABASE_URL", ""), "RUNWATCH_READ_DATABASE_URL", err,
                    errlen))
        return -1;
    if (config_long("RUNWATCH_REPORT_TIMEOUT_MS", "5000", 100, 600000, &cfg->report_timeout_ms, err,
                    errlen) ||
        config_long("RUNWATCH_REPORT_MAX_ROWS", "10000", 1, 1000000, &cfg->report_max_rows, err,
                    errlen) ||
        config_long("RUNWATCH_REPORT_MAX_BYTES", "16777216", 65536, 256L * 1024 * 1024,
                    &cfg->report_max_bytes, err, errlen) ||
        config_long("RUNWATCH_REPORT_CONCURRENCY", "0", 0, 256, &cfg->report_concurrency, err,
                    errlen) ||
        config_long("RUNWATCH_REPORT_PER_USER", "2", 1, 256, &cfg->report_per_user, err, errlen))
        return -1;
    /* 0: half the workers (at least one), so the other half always serves the rest. */
    if (cfg->report_concurrency == 0)
        cfg->report_concurrency = cfg->api_workers / 2 > 1 ? cfg->api_workers / 2 : 1;

    if (config_retention(cfg, err, errlen))
        return -1;

    snprintf(buf, sizeof(buf), "%s/metrics.token", var);
    if (config_copy(cfg->metrics_token_file, sizeof(cfg->metrics_token_file),
                    config_env("RUNWATCH_METRICS_TOKEN_FILE", buf), "RUNWATCH_METRICS_TOKEN_FILE",
                    err, errlen))
        return -1;

    if (log_level_parse(config_env("RUNWATCH_LOG_LEVEL", "info"), &cfg->log_level) != 0) {
        snprintf(err, errlen, "RUNWATCH_LOG_LEVEL must be debug, info, warn or error");
        return -1;
    }
    if (config_copy(cfg->test_fault_publish, sizeof(cfg->test_fault_publish),
                    config_env("RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH", ""),
                    "RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH", err, errlen))
        return -1;
    return 0;
}

/* ---- the stack's settings, remembered and printed */

/* A path made absolute against the current directory: libpq reads a relative
 * "host=var/run" as a host name, and the stack's files must name one place whatever
 * directory a command runs from. */
static int config_abs(char *dst, size_t cap, const char *path, const char *name, char *err,
                      size_t errlen)
{
    char cwd[PATH_MAX];
    int n;

    if (path[0] == '/' || path[0] == '\0')
        return config_copy(dst, cap, path, name, err, errlen);
    if (!getcwd(cwd, sizeof(cwd))) {
        snprintf(err, errlen, "%s: cannot resolve \"%s\": %s", name, path, strerror(errno));
        return -1;
    }
    if (path[0] == '.' && path[1] == '/')
        path += 2;
    else if (path[0] == '.' && path[1] == '\0')
        path = "";
    n = snprintf(dst, cap, "%s%s%s", cwd, *path ? "/" : "", path);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errlen, "%s is too long (max %zu bytes)", name, cap - 1);
        return -1;
    }
    return 0;
}

/* One value of stack.env: shell single quotes (a quote inside is '\''), backslash
 * escapes outside them, up to the end of the line. */
static void config_unquote(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (*s && *s != '\n' && n + 1 < cap) {
        if (*s == '\'') {
            for (s++; *s && *s != '\'' && n + 1 < cap; s++)
                out[n++] = *s;
            if (*s == '\'')
                s++;
        } else if (*s == '\\' && s[1] && s[1] != '\n') {
            out[n++] = s[1];
            s += 2;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
}

/* Makes RUNWATCH_VAR_DIR absolute, then fills every RUNWATCH_* variable the
 * environment leaves unset (or empty) from $RUNWATCH_VAR_DIR/stack.env, if there is
 * one. The environment always wins; without the file nothing changes. */
static int config_remembered(char *err, size_t errlen)
{
    char var[512], path[600], line[2048], value[2048];
    FILE *f;

    if (config_abs(var, sizeof(var), config_env("RUNWATCH_VAR_DIR", "var"), "RUNWATCH_VAR_DIR", err,
                   errlen) != 0)
        return -1;
    if (setenv("RUNWATCH_VAR_DIR", var, 1) != 0) {
        snprintf(err, errlen, "RUNWATCH_VAR_DIR: %s", strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/stack.env", var);
    f = fopen(path, "r");
    if (!f)
        return 0; /* no stack started here yet */
    while (fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '=');
        const char *cur;
        size_t i;

        if (strncmp(line, "RUNWATCH_", 9) != 0 || !eq)
            continue;
        for (i = 9; line + i < eq; i++)
            if (!isupper((unsigned char)line[i]) && !isdigit((unsigned char)line[i]) &&
                line[i] != '_')
                break;
        if (line + i != eq)
            continue;
        *eq = '\0';
        cur = getenv(line);
        if (cur && *cur)
            continue;
        config_unquote(eq + 1, value, sizeof(value));
        if (setenv(line, value, 1) != 0) {
            snprintf(err, errlen, "%s (from %s): %s", line, path, strerror(errno));
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

int config_stack_load(struct config_stack *st, char *err, size_t errlen)
{
    long v;

    memset(st, 0, sizeof(*st));
    if (config_copy(st->http_host, sizeof(st->http_host),
                    config_env("RUNWATCH_HTTP_HOST", "127.0.0.1"), "RUNWATCH_HTTP_HOST", err,
                    errlen))
        return -1;
    if (config_long("RUNWATCH_HTTP_PORT", "8080", 1, 65535, &v, err, errlen))
        return -1;
    st->http_port = (int)v;
    if (config_long("RUNWATCH_PG_PORT", "5439", 1, 65535, &v, err, errlen))
        return -1;
    st->pg_port = (int)v;
    if (config_long("RUNWATCH_REDIS_PORT", "6389", 1, 65535, &v, err, errlen))
        return -1;
    st->redis_port = (int)v;
    if (config_abs(st->static_dir, sizeof(st->static_dir),
                   config_env("RUNWATCH_STATIC_DIR", "frontend/dist"), "RUNWATCH_STATIC_DIR", err,
                   errlen))
        return -1;
    /* Login throttling per client address, in nginx (the API adds a per-account backoff). */
    if (config_copy(st->login_rate, sizeof(st->login_rate),
                    config_env("RUNWATCH_LOGIN_RATE", "10r/m"), "RUNWATCH_LOGIN_RATE", err, errlen))
        return -1;
    if (config_long("RUNWATCH_LOGIN_BURST", "20", 0, 100000, &st->login_burst, err, errlen))
        return -1;
    /* Who may scrape nginx's /metrics: addresses or CIDRs, comma-separated. */
    if (config_copy(st->metrics_allow, sizeof(st->metrics_allow),
                    config_env("RUNWATCH_METRICS_ALLOW", "127.0.0.1,::1"), "RUNWATCH_METRICS_ALLOW",
                    err, errlen))
        return -1;
    /* Per client address, in nginx: one address cannot hold every connection the hub and
     * the API's workers have. Ample for a browser (one stream a tab) and for a NAT of a
     * few dozen users; per-user caps on streams are the hub's. */
    if (config_long("RUNWATCH_STREAM_CONN_LIMIT", "64", 1, 65535, &st->stream_conn_limit, err,
                    errlen) ||
        config_long("RUNWATCH_API_CONN_LIMIT", "256", 1, 65535, &st->api_conn_limit, err, errlen))
        return -1;
    return 0;
}

/* NAME='value' with the value in shell single quotes, for `eval`. */
static void config_put(FILE *out, const char *name, const char *value)
{
    fprintf(out, "%s='", name);
    for (const char *c = value; *c; c++) {
        if (*c == '\'')
            fputs("'\\''", out);
        else
            fputc(*c, out);
    }
    fputs("'\n", out);
}

static void config_put_long(FILE *out, const char *name, long value)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%ld", value);
    config_put(out, name, buf);
}

int config_print_shell(const struct config *cfg, FILE *out, char *err, size_t errlen)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    struct config_stack st;
    char path[512], keys[512];
    size_t n = 0;

    if (config_stack_load(&st, err, errlen) != 0)
        return -1;
    keys[0] = '\0';
    for (int i = 0; cfg->redact_keys[i]; i++) {
        int w = snprintf(keys + n, sizeof(keys) - n, "%s%s", i ? "," : "", cfg->redact_keys[i]);
        if (w < 0 || (size_t)w >= sizeof(keys) - n)
            break;
        n += (size_t)w;
    }

    config_put(out, "RUNWATCH_VAR_DIR", cfg->var_dir);
    config_put(out, "RUNWATCH_HTTP_HOST", st.http_host);
    config_put_long(out, "RUNWATCH_HTTP_PORT", st.http_port);
    config_put_long(out, "RUNWATCH_PG_PORT", st.pg_port);
    config_put_long(out, "RUNWATCH_REDIS_PORT", st.redis_port);
    config_put(out, "RUNWATCH_SSE_HOST", cfg->sse_host);
    config_put_long(out, "RUNWATCH_SSE_PORT", cfg->sse_port);
    if (config_abs(path, sizeof(path), cfg->sse_key_file, "RUNWATCH_SSE_KEY_FILE", err, errlen) !=
        0)
        return -1;
    config_put(out, "RUNWATCH_SSE_KEY_FILE", path);
    config_put(out, "RUNWATCH_STATIC_DIR", st.static_dir);
    if (config_abs(path, sizeof(path), cfg->migrations_dir, "RUNWATCH_MIGRATIONS_DIR", err,
                   errlen) != 0)
        return -1;
    config_put(out, "RUNWATCH_MIGRATIONS_DIR", path);
    if (config_abs(path, sizeof(path), cfg->functions_dir, "RUNWATCH_FUNCTIONS_DIR", err, errlen) !=
        0)
        return -1;
    config_put(out, "RUNWATCH_FUNCTIONS_DIR", path);
    if (config_abs(path, sizeof(path), cfg->api_socket, "RUNWATCH_API_SOCKET", err, errlen) != 0)
        return -1;
    config_put(out, "RUNWATCH_API_SOCKET", path);
    config_put(out, "RUNWATCH_API_SOCKET_GROUP", cfg->api_socket_group);
    config_put(out, "RUNWATCH_API_TCP", cfg->api_tcp);
    config_put(out, "RUNWATCH_HOUSEKEEPER", cfg->housekeeper ? "on" : "off");
    config_put(out, "RUNWATCH_DATABASE_URL", cfg->database_url);
    config_put(out, "RUNWATCH_REDIS_URL", cfg->redis_url);
    if (config_abs(path, sizeof(path), cfg->redis_password_file, "RUNWATCH_REDIS_PASSWORD_FILE",
                   err, errlen) != 0)
        return -1;
    config_put(out, "RUNWATCH_REDIS_PASSWORD_FILE", path);
    config_put(out, "RUNWATCH_REPORT_DATABASE_URL", cfg->report_database_url);
    config_put(out, "RUNWATCH_READ_DATABASE_URL", cfg->read_database_url);
    config_put_long(out, "RUNWATCH_REPORT_TIMEOUT_MS", cfg->report_timeout_ms);
    config_put_long(out, "RUNWATCH_REPORT_MAX_ROWS", cfg->report_max_rows);
    config_put_long(out, "RUNWATCH_REPORT_CONCURRENCY", cfg->report_concurrency);
    config_put_long(out, "RUNWATCH_REPORT_PER_USER", cfg->report_per_user);
    config_put_long(out, "RUNWATCH_REPORT_MAX_BYTES", cfg->report_max_bytes);
    config_put_long(out, "RUNWATCH_API_WORKERS", cfg->api_workers);
    config_put_long(out, "RUNWATCH_MAX_BODY", (long)cfg->max_body);
    config_put_long(out, "RUNWATCH_OTLP_MAX_BYTES", (long)cfg->otlp_max_bytes);
    config_put_long(out, "RUNWATCH_ARTIFACT_MAX_BYTES", (long)cfg->artifact_max_bytes);
    config_put_long(out, "RUNWATCH_SESSION_IDLE", cfg->session_idle_s);
    config_put_long(out, "RUNWATCH_SESSION_MAX", cfg->session_max_s);
    config_put_long(out, "RUNWATCH_AUTH_CACHE_S", cfg->auth_cache_s);
    config_put_long(out, "RUNWATCH_RUN_CACHE_MB", cfg->run_cache_mb);
    config_put_long(out, "RUNWATCH_REDIS_TIMEOUT_MS", cfg->redis_timeout_ms);
    config_put(out, "RUNWATCH_REDACT_KEYS", keys);
    config_put(out, "RUNWATCH_LOG_LEVEL", levels[cfg->log_level]);
    config_put(out, "RUNWATCH_LOGIN_RATE", st.login_rate);
    config_put_long(out, "RUNWATCH_LOGIN_BURST", st.login_burst);
    config_put(out, "RUNWATCH_METRICS_ALLOW", st.metrics_allow);
    config_put_long(out, "RUNWATCH_STREAM_CONN_LIMIT", st.stream_conn_limit);
    config_put_long(out, "RUNWATCH_API_CONN_LIMIT", st.api_conn_limit);
    if (config_abs(path, sizeof(path), cfg->metrics_token_file, "RUNWATCH_METRICS_TOKEN_FILE", err,
                   errlen) != 0)
        return -1;
    config_put(out, "RUNWATCH_METRICS_TOKEN_FILE", path);
    /* Retention has no default (keep everything): only the families set are printed. */
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && strncmp(*e, CONFIG_RETENTION_PREFIX, sizeof(CONFIG_RETENTION_PREFIX) - 1) == 0 &&
            eq[1] != '\0') {
            snprintf(path, sizeof(path), "%.*s", (int)(eq - *e), *e);
            config_put(out, path, eq + 1);
        }
    }
    return ferror(out) ? -1 : 0;
}

int config_cli(const struct config *cfg, int argc, char **argv)
{
    char err[256];

    if (argc > 1 || (argc == 1 && strcmp(argv[0], "--shell") != 0)) {
        fprintf(stderr, "usage: runwatch-api config [--shell]\n"
                        "  prints every setting with its effective value (the environment, then\n"
                        "  $RUNWATCH_VAR_DIR/stack.env, then the defaults) as shell assignments\n");
        return 2;
    }
    err[0] = '\0';
    if (config_print_shell(cfg, stdout, err, sizeof(err)) != 0 || fflush(stdout) != 0) {
        /* A bad value exits 2, like one config_load refuses; a failed write 1. */
        fprintf(stderr, "runwatch-api config: %s\n", err[0] ? err : "cannot write");
        return err[0] ? 2 : 1;
    }
    return 0;
}
