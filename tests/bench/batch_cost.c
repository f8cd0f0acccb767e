/* batch_cost: what the JSON layer costs the API for the benchmark's 1000-event batch
 * (tests/bench/api.sh's event1000 body, docs/PERFORMANCE.md): jsonx_parse, jsonx_redact and
 * jsonx_to_string of the events array, then the tree freed, as events_create does. Prints the
 * median wall time of each step per batch and the page faults (minor) per batch, which an
 * instruction count does not show. Run it under
 *   valgrind --tool=callgrind build/release/batch-cost 20
 * for instructions. Usage: batch-cost ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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

    getrusage(RUSAGE_SELF, &ru0);
    for (int r = 0; r < rounds; r++) {
        struct jsonx_err err;
        json_object *arr;
        size_t len = 0;
        double t0 = batch_now(), t1, t2, t3, t4;
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
    printf("body %zu bytes; median us a batch: parse %.0f, redact %.0f, to_string %.0f, "
           "free %.0f; minor faults a batch %.1f\n",
           n, us[0][rounds / 2], us[1][rounds / 2], us[2][rounds / 2], us[3][rounds / 2],
           (double)(ru1.ru_minflt - ru0.ru_minflt) / rounds);
    for (int k = 0; k < 4; k++)
        free(us[k]);
    free(body);
    return 0;
}
