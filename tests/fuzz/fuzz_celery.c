/* fuzz_celery: libFuzzer target for envelope_decode, runwatch-celery's decoder of the kombu
 * envelopes read from a Celery fleet's broker (fcgi/src/celery/envelope.c). The input is
 * decoded as a message, then wrapped as a real envelope's base64 body (what a hostile or
 * broken producer controls) and decoded again. Every event kept must be an object with a
 * task-* or worker-* type and, for a task, a uuid; every message is counted exactly once.
 * `make fuzz` builds and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "celery/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_celery: %s\n", what);
        abort();
    }
}

static void check_events(json_object *out, int n)
{
    check(json_object_array_length(out) == (size_t)n, "count and array disagree");
    for (int i = 0; i < n; i++) {
        json_object *ev = json_object_array_get_idx(out, (size_t)i), *t = NULL;
        check(json_object_is_type(ev, json_type_object), "an event that is no object");
        check(json_object_object_get_ex(ev, "type", &t) && json_object_is_type(t, json_type_string),
              "an event without a type");
        const char *type = json_object_get_string(t);
        if (strncmp(type, "task-", 5) == 0)
            check(envelope_task_id(ev) && envelope_is_uuid(envelope_task_id(ev)),
                  "a task event without a uuid");
        else
            check(strncmp(type, "worker-", 7) == 0, "an event of another type");
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct envelope_stats st = {0};
    json_object *out = json_object_new_array();
    int n = envelope_decode((const char *)data, size, 1.0, out, &st);

    check(st.messages == 1, "a message not counted");
    check_events(out, n);
    json_object_put(out);

    /* The same bytes as the body of a well-formed envelope. */
    size_t cap = 32 + (size + 2) / 3 * 4 + 16;
    char *env = malloc(cap);
    size_t o = 0;
    o += (size_t)snprintf(env, cap, "{\"body\": \"");
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < size ? (uint32_t)data[i + 1] << 8 : 0) |
                     (i + 2 < size ? data[i + 2] : 0);
        env[o++] = b64[v >> 18 & 63];
        env[o++] = b64[v >> 12 & 63];
        env[o++] = i + 1 < size ? b64[v >> 6 & 63] : '=';
        env[o++] = i + 2 < size ? b64[v & 63] : '=';
    }
    o += (size_t)snprintf(env + o, cap - o, "\"}");
    out = json_object_new_array();
    n = envelope_decode(env, o, 1.0, out, &st);
    check(st.messages == 2, "the wrapped message not counted");
    check_events(out, n);
    json_object_put(out);
    free(env);
    return 0;
}
