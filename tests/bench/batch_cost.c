/* batch_cost: what the JSON layer costs the API for the benchmark's 1000-event batch
 * (tests/bench/api.sh's event1000 body, docs/PERFORMANCE.md), as events_create does it:
 * jsonx_read into the request's arena, each event's checks (events_check's getters),
 * jsonx_vredacts of the events array, the array's text copied for the statement, the arena
 * reset. With `jsonc` as the second argument, the path before jsonx_read instead:
 * jsonx_parse, jsonx_redact and jsonx_to_string of the events array, the tree freed. Prints
 * the median wall time of each step per batch and the page faults (minor) per batch, which an
 * instruction count does not show. Run it under
 *   valgrind --tool=callgrind build/release/batch-cost 20
 * for instructions. Usage: batch-cost ROUNDS [jsonc] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "arena.h"
#include "jsonx.h"

static int batch_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double batch_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    int jsonc = argc > 2 && strcmp(argv[2], "jsonc") == 0;
    struct arena arena;
    size_t cap = 1 << 20, n = 0;
    char *body = malloc(cap);
    double *us[4];
    struct rusage ru0, ru1;

    if (rounds < 1 || rounds > 100000 || !body)
        return 2;
    for (int k = 0; k < 4; k++)
        if (!(us[k] = calloc((size_t)rounds, sizeof(double))))
            return 2;
    /* The body of tests/bench/api.sh's event1000 target, byte for byte. */
    n += (size_t)snprintf(body + n, cap - n, "{\"events\":[");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"level\":\"info\",\"message\":\"epoch %d step %d: loss 0.%04d "
                              "acc 0.91 lr 0.001\",\"data\":{\"step\":%d,\"loss\":0.25,"
                              "\"acc\":0.91}}",
                              i ? "," : "", i / 100, i, i * 7 % 10000, i);
    n += (size_t)snprintf(body + n, cap - n, "]}");

    jsonx_malloc_tune(); /* as runwatch-api's worker does at start (serve.c) */
    getrusage(RUSAGE_SELF, &ru0);
    if (!jsonc)
        arena_init(&arena, 16384);
    for (int r = 0; r < rounds; r++) {
        struct jsonx_err err;
        json_object *arr;
        size_t len = 0;
        double t0 = batch_now(), t1, t2, t3, t4;
        if (!jsonc) {
            /* The handler's path: events_check's calls on each event (api/events.c). */
            static const char *const keys[] = {"ts", "kind", "level", "message", "data", NULL};
            static const char *const levels[] = {"debug", "info",     "warning",
                                                 "error", "critical", NULL};
            struct jsonx_val root;
            const struct jsonx_val *ev, *data;
            const char *s, *text;
            int nul;
            if (jsonx_read(&arena, body, n, &root, &nul) || nul ||
                !(ev = jsonx_get(&root, "events"))) {
                fprintf(stderr, "batch-cost: jsonx_read refused the body\n");
                return 1;
            }
            t1 = batch_now();
            for (uint32_t i = 0; i < ev->n; i++) {
                const struct jsonx_val *e = &ev->items[i];
                if (jsonx_vonly_keys(e, keys, &err) ||
                    jsonx_vstring(e, "ts", JSONX_NULLABLE, 20, 40, &s, NULL, NULL, &err) ||
                    jsonx_vstring(e, "kind", JSONX_NULLABLE, 1, 100, &s, NULL, NULL, &err) ||
                    jsonx_venum(e, "level", JSONX_NULLABLE, levels, &s, NULL, &err) ||
                    jsonx_vstring(e, "message", JSONX_NULLABLE, 0, 65536, &s, NULL, NULL, &err) ||
                    jsonx_vchild(e, "data", JSONX_NULLABLE, JSONX_OBJECT, &data, NULL, &err))
                    return 1;
            }
            t2 = batch_now();
            if (jsonx_vredacts(ev, NULL) || !(text = arena_strndup(&arena, ev->s, ev->len)))
                return 1;
            t3 = batch_now();
            arena_reset(&arena);
            t4 = batch_now();
            /* parse, check, redact and copy, reset */
            us[0][r] = t1 - t0, us[1][r] = t2 - t1, us[2][r] = t3 - t2, us[3][r] = t4 - t3;
            continue;
        }
        json_object *o = jsonx_parse(body, n, &err);
        if (!o || !json_object_object_get_ex(o, "events", &arr)) {
            fprintf(stderr, "batch-cost: %s\n", o ? "no events" : err.message);
            return 1;
        }
        t1 = batch_now();
        jsonx_redact(arr, NULL);
        t2 = batch_now();
        if (!jsonx_to_string(arr, &len) || len < n - 20)
            return 1;
        t3 = batch_now();
        json_object_put(o);
        t4 = batch_now();
        us[0][r] = t1 - t0, us[1][r] = t2 - t1, us[2][r] = t3 - t2, us[3][r] = t4 - t3;
    }
    getrusage(RUSAGE_SELF, &ru1);
    for (int k = 0; k < 4; k++)
        qsort(us[k], (size_t)rounds, sizeof(double), batch_cmp);
    if (!jsonc)
        arena_fini(&arena);
    printf(jsonc ? "body %zu bytes, json-c; median us a batch: parse %.0f, redact %.0f, "
                   "to_string %.0f, free %.0f; minor faults a batch %.1f\n"
                 : "body %zu bytes, jsonx_read; median us a batch: read %.0f, checks %.0f, "
                   "redaction test and copy %.0f, arena reset %.0f; minor faults a batch %.1f\n",
           n, us[0][rounds / 2], us[1][rounds / 2], us[2][rounds / 2], us[3][rounds / 2],
           (double)(ru1.ru_minflt - ru0.ru_minflt) / rounds);
    for (int k = 0; k < 4; k++)
        free(us[k]);
    free(body);
    return 0;
}
