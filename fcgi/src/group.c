/* group: recording a deferrable write and running it alone (group.h). The group itself
 * is serve.c's (serve_flush) and db.c's (db_batch). */
#include "group.h"

#include "db.h"

int group_write(struct req *r, int group, int stmt, const char *const *params, int nparams,
                req_then_fn then)
{
    if (nparams < 0 || nparams > REQ_WRITE_MAX_PARAMS)
        return req_error(r, 500, "internal", NULL, "internal error");
    r->write.stmt = stmt;
    r->write.nparams = nparams;
    r->write.then = then;
    for (int i = 0; i < nparams; i++)
        r->write.params[i] = params[i];
    if (group && r->may_defer)
        return REQ_DEFERRED;
    return group_run_now(r);
}

int group_run_now(struct req *r)
{
    PGresult *res =
        db_exec(&r->op, (enum db_stmt_id)r->write.stmt, r->write.params, r->write.nparams);
    return res ? r->write.then(r, res) : -1;
}
