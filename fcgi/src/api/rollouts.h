/* rollouts: the dashboard's reads of the agent-lightning store (its Rollouts view and
 * Resources page) under the native access model: a viewer of the project reads, a session
 * as well as a token, where the store's own API (api/agl.c) answers only its tokens. */
#ifndef RW_API_ROLLOUTS_H
#define RW_API_ROLLOUTS_H

#include "req.h"

int rollouts_list(struct req *r);
int rollouts_attempts(struct req *r);
int resources_list(struct req *r);
int resources_get(struct req *r);

#endif
