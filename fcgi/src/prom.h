/* prom: the Prometheus exposition of runwatch-api (GET /api/v1/metrics; nginx serves
 * it at /metrics to allowed addresses). See prom.c for what it shows and who may. */
#ifndef RW_PROM_H
#define RW_PROM_H

#include "req.h"

int prom_metrics(struct req *r);

#endif
