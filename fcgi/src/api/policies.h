/* policies: a queue's retry policy, which the housekeeper's watchdog enforces. */
#ifndef RW_API_POLICIES_H
#define RW_API_POLICIES_H

#include "req.h"

int policies_get(struct req *r);
int policies_put(struct req *r);

#endif
