/* attempts: a run's attempts (list, start, end). */
#ifndef RW_API_ATTEMPTS_H
#define RW_API_ATTEMPTS_H

#include "req.h"

int attempts_list(struct req *r);
int attempts_start(struct req *r);
int attempts_update(struct req *r);

#endif
