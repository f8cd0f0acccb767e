/* experiments: templates of runs with flags and a desired state (running, stopped,
 * terminated) that external launchers enforce (docs/ARCHITECTURE.md, "Experiments and
 * launchers"): CRUD and the list, the job history, the inferred flag schema, and the
 * reconcile contract (list what needs doing, claim it with a lease, renew the lease while
 * the action takes long, report the outcome).
 * Viewers read; members and write tokens write, claim, renew and report. */
#ifndef RW_API_EXPERIMENTS_H
#define RW_API_EXPERIMENTS_H

#include "req.h"

int experiments_list(struct req *r);
int experiments_create(struct req *r);
int experiments_get(struct req *r);
int experiments_update(struct req *r);
int experiments_delete(struct req *r);
int experiments_runs(struct req *r);
int experiments_schema(struct req *r);
int experiments_project_schema(struct req *r);
int experiments_reconcile(struct req *r);
int experiments_claim(struct req *r);
int experiments_renew(struct req *r);
int experiments_report(struct req *r);

#endif
