/* workers: the processes that run work, their sessions and liveness. */
#ifndef RW_API_WORKERS_H
#define RW_API_WORKERS_H

#include "req.h"

int workers_register(struct req *r);
int workers_list(struct req *r);
int workers_get(struct req *r);
int workers_heartbeat(struct req *r);
int workers_stop(struct req *r);
int workers_events_create(struct req *r);
int workers_events_list(struct req *r);

#endif
