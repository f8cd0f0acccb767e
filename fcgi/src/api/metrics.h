/* metrics: numeric series of a run (loss, accuracy, throughput…), by key and step. */
#ifndef RW_API_METRICS_H
#define RW_API_METRICS_H

#include "req.h"

#define METRICS_MAX_BATCH      10000
#define METRICS_MAX_KEYS       20 /* keys in one GET */
#define METRICS_DEFAULT_POINTS 1000
#define METRICS_MAX_POINTS     10000
#define COMPARE_MAX_RUNS       50
/* The most points one GET /runs/compare answers: what the largest per-run answer holds
 * (METRICS_MAX_KEYS series of METRICS_MAX_POINTS). */
#define COMPARE_MAX_POINTS (METRICS_MAX_KEYS * METRICS_MAX_POINTS)

/* 1 when k[0..len) is a metric key: 1 to 200 of [A-Za-z0-9_./:-]. */
int metrics_key_ok(const char *k, size_t len);

/* ?key=a,b checked and made a text[] literal; NULL with the 400 set when it is not. */
const char *metrics_keys_param(struct req *r, const char *list);

int metrics_create(struct req *r);
/* GET /runs/compare: runs, their keys and series in one answer (ComparePage). */
int metrics_compare(struct req *r);
int metrics_list(struct req *r);

#endif
