/* log: one JSON line per message on stderr. Lines are built in a stack buffer and
 * written with a single write(2), so lines from forked workers sharing the same
 * file never interleave (writes up to PIPE_BUF are atomic on pipes, and O_APPEND
 * files are written whole). */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = LOG_LEVEL_INFO;
static const char *log_prog = "runwatch";

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *prog, enum log_level level)
{
    log_prog = prog;
    log_min_level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends s JSON-escaped to buf at *pos, never past cap - 1; truncates silently. */
static void log_escape(char *buf, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s && *pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c == '\n') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = 'n';
        } else if (c < 0x20) {
            memcpy(buf + *pos, "\\u00", 4);
            *pos += 4;
            buf[(*pos)++] = hex[c >> 4];
            buf[(*pos)++] = hex[c & 15];
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char msg[2048];
    char line[4096];
    va_list ap;
    struct timespec ts;
    struct tm tm;
    size_t pos;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof(line),
        "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\","
        "\"pid\":%ld,\"msg\":\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, log_level_names[level], log_prog, (long)getpid());
    if (n < 0)
        return;
    pos = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    log_escape(line, sizeof(line) - 3, &pos, msg);
    line[pos++] = '"';
    line[pos++] = '}';
    line[pos++] = '\n';
    (void)!write(STDERR_FILENO, line, pos);
}

void log_request(const char *request_id, const char *method, const char *path, int status,
                 double duration_ms, size_t bytes)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    size_t pos;
    int n;

    if (LOG_LEVEL_INFO < log_min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof(line),
        "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"info\",\"prog\":\"%s\","
        "\"pid\":%ld,\"msg\":\"request\",\"request_id\":\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, log_prog, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    pos = (size_t)n;
    /* Client-supplied strings are escaped and capped so a line stays one line. */
    log_escape(line, 200 + pos, &pos, request_id ? request_id : "");
    memcpy(line + pos, "\",\"method\":\"", 12);
    pos += 12;
    log_escape(line, pos + 24, &pos, method ? method : "");
    memcpy(line + pos, "\",\"path\":\"", 10);
    pos += 10;
    log_escape(line, pos + 1024, &pos, path ? path : "");
    n = snprintf(line + pos, sizeof(line) - pos,
                 "\",\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%zu}\n", status, duration_ms,
                 bytes);
    if (n < 0 || (size_t)n >= sizeof(line) - pos)
        return;
    pos += (size_t)n;
    (void)!write(STDERR_FILENO, line, pos);
}
