/* agl: the agent-lightning store (agent-lightning's LightningStore HTTP API, /v1/agl of its
 * 0.2-0.3 releases) on Runwatch's runs, attempts, spans and workers (docs/AGENT_LIGHTNING.md). */
#ifndef RW_API_AGL_H
#define RW_API_AGL_H

#include "req.h"

/* The queue rollouts wait in (a run's queue, as any other). */
#define AGL_QUEUE "rollouts"

int agl_health(struct req *r);
int agl_enqueue(struct req *r);
int agl_dequeue(struct req *r);
int agl_rollouts_start(struct req *r);
int agl_rollouts_list(struct req *r);
int agl_rollouts_search(struct req *r);
int agl_rollouts_get(struct req *r);
int agl_rollouts_update(struct req *r);
int agl_waits(struct req *r);
int agl_attempts_start(struct req *r);
int agl_attempts_list(struct req *r);
int agl_attempts_search(struct req *r);
int agl_attempts_latest(struct req *r);
int agl_attempts_update(struct req *r);
int agl_workers_list(struct req *r);
int agl_workers_search(struct req *r);
int agl_workers_get(struct req *r);
int agl_workers_beat(struct req *r);
int agl_resources_list(struct req *r);
int agl_resources_add(struct req *r);
int agl_resources_latest(struct req *r);
int agl_resources_get(struct req *r);
int agl_resources_update(struct req *r);
int agl_spans_add(struct req *r);
int agl_spans_list(struct req *r);
int agl_spans_search(struct req *r);
int agl_spans_next(struct req *r);
int agl_statistics(struct req *r);

#endif
