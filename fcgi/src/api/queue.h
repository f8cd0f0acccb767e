/* queue: claiming work from a queue with a lease, and the worker fields that claims and
 * attempts share. */
#ifndef RW_API_QUEUE_H
#define RW_API_QUEUE_H

#include <json-c/json.h>

#include "req.h"

int queue_claim(struct req *r);

/* worker_id (optional: NULL passes) must be a worker of the project that is not
 * stopped: 422 / 409 naming worker_id. */
int queue_check_worker(struct req *r, const char *worker, const char *project_id);
/* Reads the {worker_id, lease_s} fields of a body (worker_flags: JSONX_REQUIRED or
 * JSONX_NULLABLE for worker_id) as statement parameters, NULL when absent. */
int queue_worker_fields(struct req *r, json_object *b, unsigned worker_flags, const char **worker,
                        const char **lease);

#endif
