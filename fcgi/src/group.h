/* group: a handler's side of the group commit. A write that is one autocommitted
 * statement of its own (a lone event, a claim) is handed over with the step that
 * completes the request from its result. Alone, it runs at once; when the worker has
 * other requests ready, it waits to share their commit (serve.c runs the group with
 * db_batch and then each completion, after COMMIT). A handler reads the same either way:
 * validate, name the statement and its parameters, and finish in the completion. */
#ifndef RW_GROUP_H
#define RW_GROUP_H

#include "req.h"

/* Records the write in r->write. When `group` is set and the worker has other requests
 * ready (r->may_defer), returns REQ_DEFERRED: serve.c runs the statement with the
 * others' in one transaction and calls then() after COMMIT (or, when the group failed,
 * group_run_now). Otherwise runs it now: returns then(r, result), or -1 with the error
 * set when the statement failed. then() may run more statements (autocommitted: reads,
 * an error's lookup), publish and answer, as the handler would have. */
int group_write(struct req *r, int group, int stmt, const char *const *params, int nparams,
                req_then_fn then);
/* Runs the recorded write now, alone and autocommitted, and completes the request. */
int group_run_now(struct req *r);

#endif
