/* config: reads RUNWATCH_* once at start. Defaults derive from RUNWATCH_VAR_DIR and
 * the port variables the same way deploy/stack.sh derives them, so a binary started
 * by hand next to a running stack finds it. */
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

/* RUNWATCH_RETENTION_DAYS_<FAMILY>=days, each, into {"retention_days":{"family":days}}. */
static int config_retention(struct config *cfg, char *err, size_t errlen)
{
    static const char prefix[] = "RUNWATCH_RETENTION_DAYS_";
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

int config_load(struct config *cfg, char *err, size_t errlen)
{
    char buf[1024];
    long v;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    char dflt_workers[24];
    struct config_redis_addr ra;
    const char *var, *pg_port, *redis_port;

    memset(cfg, 0, sizeof(*cfg));
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
        snprintf(err, errlen, "RUNWATCH_REDIS_URL must be redis://host:port or unix:/path");
        return -1;
    }

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

    snprintf(dflt_workers, sizeof(dflt_workers), "%ld", ncpu > 0 ? 2 * ncpu : 2);
    if (config_long("RUNWATCH_API_WORKERS", dflt_workers, 1, 256, &v, err, errlen))
        return -1;
    cfg->api_workers = (int)v;

    if (config_long("RUNWATCH_MAX_BODY", "1048576", 1024, 64L * 1024 * 1024, &v, err, errlen))
        return -1;
    cfg->max_body = (size_t)v;

    if (config_long("RUNWATCH_SESSION_IDLE", "604800", 60, 31536000, &cfg->session_idle_s, err,
                    errlen))
        return -1;
    if (config_long("RUNWATCH_SESSION_MAX", "2592000", 60, 31536000, &cfg->session_max_s, err,
                    errlen))
        return -1;

    if (config_copy(cfg->redact_buf, sizeof(cfg->redact_buf),
                    config_env("RUNWATCH_REDACT_KEYS",
                               "password,passwd,secret,token,api_key,apikey,authorization,"
                               "credential,private_key,access_key"),
                    "RUNWATCH_REDACT_KEYS", err, errlen))
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
    if (config_long("RUNWATCH_REPORT_TIMEOUT_MS", "5000", 100, 600000, &cfg->report_timeout_ms, err,
                    errlen) ||
        config_long("RUNWATCH_REPORT_MAX_ROWS", "10000", 1, 1000000, &cfg->report_max_rows, err,
                    errlen) ||
        config_long("RUNWATCH_REPORT_MAX_BYTES", "16777216", 65536, 256L * 1024 * 1024,
                    &cfg->report_max_bytes, err, errlen))
        return -1;

    if (config_retention(cfg, err, errlen))
        return -1;

    if (log_level_parse(config_env("RUNWATCH_LOG_LEVEL", "info"), &cfg->log_level) != 0) {
        snprintf(err, errlen, "RUNWATCH_LOG_LEVEL must be debug, info, warn or error");
        return -1;
    }
    return 0;
}
