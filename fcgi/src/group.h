/* group: a handler's side of the group commit. A write that is one autocommitted
 * statement of its own (a lone event, a claim) is handed over with the step that
 * completes the request from its result. Alone, it runs at once; when the worker has
 * other requests ready, it waits to share their commit (serve.c runs the group with
 * db_batch and then each completion, after COMMIT). A handler reads the same either way:
 * validate, name the statement and its parameters, and finish in the completion.
 * Writes that can be done together (the claims of one queue) also name a statement that
 * does several at once: within a group, the like ones go as that one statement, whose
 * result has a row for each, in their order (group_merge). */
#ifndef RW_GROUP_H
#define RW_GROUP_H

#include "db.h"
#include "req.h"

/* Records the write in r->write. When `group` is set and the worker has other requests
 * ready (r->may_defer), returns REQ_DEFERRED: serve.c runs the statement with the
 * others' in one transaction and calls then() after COMMIT (or, when the group failed,
 * group_run_now). Otherwise runs it now: returns then(r, result), or -1 with the error
 * set when the statement failed. then() may run more statements (autocommitted: reads,
 * an error's lookup), publish and answer, as the handler would have; it reads its row
 * of the result, r->write.row (0 but in a merged statement). */
int group_write(struct req *r, int group, int stmt, const char *const *params, int nparams,
                req_then_fn then);
/* group_write for a write that may merge: in a group, the writes of the same stmt whose
 * first merge_shared parameters are equal go as one merge_stmt, which takes the same
 * parameters, the others each as an array (a text literal) of the writes' values in
 * their order, and answers one row for each write, in that order. merge_stmt must do
 * what stmt does for each, as if they ran one after another. */
int group_write_merge(struct req *r, int stmt, const char *const *params, int nparams,
                      req_then_fn then, int merge_stmt, int merge_shared);
/* Runs the recorded write now, alone and autocommitted, and completes the request. */
int group_run_now(struct req *r);
/* serve.c: the statements for the n requests of a group (n ≤ DB_BATCH_MAX), in their
 * order, like writes merged into the first's place; item_of[i] is request i's item and
 * r->write.row its row of that item's result. A merged item's result belongs to its last
 * request's op. Returns the number of items. */
int group_merge(struct req **reqs, int n, int *item_of, struct db_batch_item *items);

#endif
