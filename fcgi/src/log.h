/* log: one JSON object per line on stderr, for runwatch-api and runwatch-sse.
 * The level is checked before any formatting, so a disabled debug line costs a
 * compare. Messages are short, lowercase, no final period. */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

extern enum log_level log_min_level;

/* prog names the process in every line ("api", "api-master", "sse"). */
void log_init(const char *prog, enum log_level level);
/* Parses "debug|info|warn|error"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The access log line of runwatch-api: one per request, at info level. */
void log_request(const char *request_id, const char *method, const char *path, int status,
                 double duration_ms, size_t bytes);

#define LOG_AT(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) >= log_min_level)                                                                \
            log_write((lvl), __VA_ARGS__);                                                         \
    } while (0)
#define log_debug(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
