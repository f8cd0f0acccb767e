/* queue: attempts of a run, and claiming work from a queue with a lease. */
#ifndef RW_API_QUEUE_H
#define RW_API_QUEUE_H

#include "req.h"

int attempts_list(struct req *r);
int attempts_start(struct req *r);
int attempts_update(struct req *r);
int queue_claim(struct req *r);

#endif
