/* bench_time: what the C bench drivers (stmt_cost.c, copy_cost.c) measure with: a clock in
 * microseconds, a PostgreSQL backend's CPU time read from /proc (the server's own cost,
 * whoever waits), and the median of a round's figures. Header-only: each driver is one
 * file linked with little else. */
#ifndef RW_BENCH_TIME_H
#define RW_BENCH_TIME_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_us(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* The CPU time process pid has used so far, in microseconds (0 when unreadable). */
static inline double bench_cpu_us(int pid)
{
    char path[64];
    double ns = 0;
    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lf", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns / 1000.0;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), which it sorts. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
