/* celery: the Celery bridge's ingest (runwatch-celery posts bursts of Celery events). */
#ifndef RW_API_CELERY_H
#define RW_API_CELERY_H

#include "req.h"

int celery_events(struct req *r);
int celery_registry(struct req *r);
int celery_workers(struct req *r);
int celery_run(struct req *r);

#endif
