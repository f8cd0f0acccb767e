/* metrics: numeric series of a run (loss, accuracy, throughput…), by key and step. */
#ifndef RW_API_METRICS_H
#define RW_API_METRICS_H

#include "req.h"

#define METRICS_MAX_BATCH      10000
#define METRICS_MAX_KEYS       20 /* keys in one GET */
#define METRICS_DEFAULT_POINTS 1000
#define METRICS_MAX_POINTS     10000

/* 1 when k[0..len) is a metric key: 1 to 200 of [A-Za-z0-9_./:-]. */
int metrics_key_ok(const char *k, size_t len);

int metrics_create(struct req *r);
int metrics_list(struct req *r);

#endif
