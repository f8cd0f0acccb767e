/* events: the append-only log of a run. */
#ifndef RW_API_EVENTS_H
#define RW_API_EVENTS_H

#include "req.h"

#define EVENTS_MAX_BATCH 1000

int events_create(struct req *r);
int events_list(struct req *r);

#endif
