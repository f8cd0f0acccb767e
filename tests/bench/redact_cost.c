/* redact_cost: what jsonx_redact costs a typical 1000-event batch (docs/PERFORMANCE.md,
 * "Redaction"). The batch is the producer benchmark's shape: a message, a level, a kind and
 * a data object of a handful of ordinary keys (no secrets, the common case), plus one event
 * in fifty carrying a secret by key and one by value. Each round parses the batch afresh and
 * times only the redaction; it prints the median per batch. Run it under
 *   valgrind --tool=callgrind --toggle-collect=jsonx_redact build/redact-cost 5
 * for an instruction count that a busy machine does not disturb.
 * Usage: redact-cost ROUNDS [KEYS] (KEYS: RUNWATCH_REDACT_KEYS's comma list, default none) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonx.h"

static int redact_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *extra[33] = {NULL};
    char keys[512] = "";
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    size_t cap = 1 << 20, n = 0;
    char *body = malloc(cap);
    double *ns = NULL;
    int replaced = 0;

    if (argc > 2) {
        int k = 0;
        snprintf(keys, sizeof(keys), "%s", argv[2]);
        for (char *p = keys, *next; p && *p && k < 32; p = next) {
            next = strchr(p, ',');
            if (next)
                *next++ = '\0';
            extra[k++] = p;
        }
    }
    if (rounds < 1 || rounds > 100000 || !body || !(ns = calloc((size_t)rounds, sizeof(*ns))))
        return 2;
    n += (size_t)snprintf(body + n, cap - n, "[");
    for (int i = 0; i < 1000; i++) {
        const char *secret = i % 50 == 7    ? ",\"api_key\":\"k-123456\""
                             : i % 50 == 21 ? ",\"db_url\":\"postgres://app:hunter2@db:5432/x\""
                                            : "";
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"kind\":\"log\",\"level\":\"info\",\"message\":\"step %d: "
                              "loss 0.%04d, 128 samples/s, checkpoint saved to "
                              "s3://bucket/run/ckpt-%d.pt\",\"data\":{\"step\":%d,\"epoch\":%d,"
                              "\"loss\":0.%04d,\"lr\":0.0003,\"max_tokens\":2048,\"phase\":"
                              "\"train\",\"host\":\"gpu-node-%02d\"%s}}",
                              i ? "," : "", i, i * 7 % 10000, i, i, i / 100, i * 7 % 10000, i % 16,
                              secret);
    }
    n += (size_t)snprintf(body + n, cap - n, "]");

    for (int r = 0; r < rounds; r++) {
        struct jsonx_err err;
        struct timespec t0, t1;
        json_object *o = jsonx_parse(body, n, &err);
        if (!o) {
            fprintf(stderr, "redact-cost: %s\n", err.message);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        replaced = jsonx_redact(o, (const char *const *)extra);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ns[r] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
        json_object_put(o);
    }
    qsort(ns, (size_t)rounds, sizeof(*ns), redact_cmp);
    printf("body %zu bytes, 1000 events, %d values redacted, median %.0f us per batch\n", n,
           replaced, ns[rounds / 2] / 1000.0);
    free(ns);
    free(body);
    return 0;
}
