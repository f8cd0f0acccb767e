/* health: liveness and readiness, for nginx, load balancers and operators. */
#ifndef RW_API_HEALTH_H
#define RW_API_HEALTH_H

#include "req.h"

int health_live(struct req *r);
int health_ready(struct req *r);

#endif
