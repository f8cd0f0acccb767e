/* reports: built-in reports (throughput, durations, failure rate), failure groups,
 * anomalies and their per-project thresholds, ad-hoc SQL and saved reports. The SQL
 * behind them is the report schema of migration 0007; what a caller sees is decided
 * there, by a signed grant of the caller's projects. */
#ifndef RW_API_REPORTS_H
#define RW_API_REPORTS_H

#include "req.h"

int reports_throughput(struct req *r);
int reports_durations(struct req *r);
int reports_failure_rate(struct req *r);
int reports_failure_groups(struct req *r);
int reports_failure_group_runs(struct req *r);
int reports_anomalies(struct req *r);
int reports_thresholds_get(struct req *r);
int reports_thresholds_put(struct req *r);
int reports_query(struct req *r);
int reports_saved_list(struct req *r);
int reports_saved_create(struct req *r);
int reports_saved_get(struct req *r);
int reports_saved_update(struct req *r);
int reports_saved_delete(struct req *r);
int reports_saved_run(struct req *r);

#endif
