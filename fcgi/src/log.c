/* log: one JSON line per message on stderr. Lines are built in a stack buffer and
 * written with a single write(2), so lines from forked workers sharing the same
 * file never interleave (writes up to PIPE_BUF are atomic on pipes, and O_APPEND
 * files are written whole). */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = LOG_LEVEL_INFO;
static const char *log_prog = "runwatch";

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

/* The pid and the formatted second of the last line, so a request's line costs neither
 * a getpid(2) nor a gmtime and a date format. A forked child (the master's, before its
 * exec) forgets the pid it inherited. */
static long log_pid;
static time_t log_sec = -1;
static char log_date[64]; /* 2026-12-03T21:51:57 */

static void log_forked(void)
{
    log_pid = 0;
}

void log_init(const char *prog, enum log_level level)
{
    static int hooked;
    log_prog = prog;
    log_min_level = level;
    if (!hooked) {
        pthread_atfork(NULL, NULL, log_forked);
        hooked = 1;
    }
    log_pid = 0;
}

/* Writes the line's head, {"ts":"…","level":"…","prog":"…","pid":N, into line. */
static int log_head(char *line, size_t cap, const char *level)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != log_sec) {
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(log_date, sizeof(log_date), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        log_sec = ts.tv_sec;
    }
    if (!log_pid)
        log_pid = (long)getpid();
    return snprintf(line, cap,
                    "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\",\"pid\":%ld,", log_date,
                    ts.tv_nsec / 1000000, level, log_prog, log_pid);
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
    size_t pos;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    n = log_head(line, sizeof(line) - 8, log_level_names[level]);
    if (n < 0)
        return;
    pos = (size_t)n < sizeof(line) - 8 ? (size_t)n : sizeof(line) - 9;
    memcpy(line + pos, "\"msg\":\"", 7);
    pos += 7;
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
    static const char mid[] = "\"msg\":\"request\",\"request_id\":\"";
    size_t pos;
    int n;

    if (LOG_LEVEL_INFO < log_min_level)
        return;
    n = log_head(line, sizeof(line), "info");
    if (n < 0 || (size_t)n + sizeof(mid) >= sizeof(line))
        return;
    pos = (size_t)n;
    memcpy(line + pos, mid, sizeof(mid) - 1);
    pos += sizeof(mid) - 1;
    /* Client-supplied strings are escaped and capped so a line stays one line. */
    log_escape(line, 200 + pos, &pos, request_id ? request_id : "");
    memcpy(line + pos, "\",\"method\":\"", 12);
    pos += 12;
    log_escape(line, pos + 24, &pos, method ? method : "");
    memcpy(line + pos, "\",\"path\":\"", 10);
    pos += 10;
    log_escape(line, pos + 1024, &pos, path ? path : "");
    /* Microseconds as integers: the same digits as %.3f, without the float formatter. */
    long us = duration_ms > 0 ? (long)(duration_ms * 1000.0 + 0.5) : 0;
    n = snprintf(line + pos, sizeof(line) - pos,
                 "\",\"status\":%d,\"duration_ms\":%ld.%03ld,\"bytes\":%zu}\n", status, us / 1000,
                 us % 1000, bytes);
    if (n < 0 || (size_t)n >= sizeof(line) - pos)
        return;
    pos += (size_t)n;
    (void)!write(STDERR_FILENO, line, pos);
}
