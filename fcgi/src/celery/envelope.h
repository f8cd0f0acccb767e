/* envelope: what runwatch-celery reads from the broker. Each Redis pub/sub message on the
 * celeryev channels is a kombu envelope (JSON) whose body is base64 of a Celery event, or
 * of a JSON list of them (a prefork worker's task.multi). Decodes one message into
 * normalized events: only the fields the ingest reads, each of the right type, strings cut
 * to a bound at a UTF-8 boundary; anything else is counted and skipped, never fatal. */
#ifndef RW_CELERY_ENVELOPE_H
#define RW_CELERY_ENVELOPE_H

#include <json-c/json.h>
#include <stddef.h>

/* The largest message read (base64 and all): bigger ones are counted and skipped. */
#define ENVELOPE_MAX_BYTES (4u << 20)
/* The most events one task.multi body may hold (Celery flushes at 24). */
#define ENVELOPE_MAX_LIST 1000

struct envelope_stats {
    unsigned long messages;   /* envelopes read */
    unsigned long events;     /* events kept */
    unsigned long too_big;    /* messages over ENVELOPE_MAX_BYTES */
    unsigned long bad_json;   /* envelope or body not JSON */
    unsigned long bad_base64; /* body not base64 */
    unsigned long bad_shape;  /* JSON of the wrong shape (no body, a body that is no event) */
    unsigned long bad_event;  /* an event without a usable type, task id or timestamp */
    unsigned long bad_fields; /* fields dropped for their type (the event was kept) */
    unsigned long ignored;    /* events of other types (custom events) */
};

/* Decodes one message (data, len: the PUBLISH payload) and appends its events to out (a
 * json array). received is the bridge's clock, added to worker events (liveness is judged
 * by it). Returns how many events were appended. */
int envelope_decode(const char *data, size_t len, double received, json_object *out,
                    struct envelope_stats *st);

/* Decodes standard base64 (padding optional, no whitespace) into out (room for
 * 3 * len / 4 + 3 bytes); returns the decoded length, or -1. */
long envelope_base64(const char *in, size_t len, unsigned char *out);

/* The uuid of a task event, or NULL. */
const char *envelope_task_id(json_object *ev);

/* Whether s is a canonical uuid (8-4-4-4-12 hex digits). */
int envelope_is_uuid(const char *s);

#endif
