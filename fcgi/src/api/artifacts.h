/* artifacts: what a run leaves behind (issue 19): its artifacts (registered by URI in
 * batches, or small files uploaded and stored by Runwatch with their sha256 checked), the
 * checkpoints views, promotion of a succeeded run's artifact to a named, versioned entry,
 * the tables a run emits (leaderboards) and the run's request snapshot. */
#ifndef RW_API_ARTIFACTS_H
#define RW_API_ARTIFACTS_H

#include "req.h"

#define ARTIFACTS_MAX_BATCH   1000
#define ARTIFACT_SLICE        (1024 * 1024) /* a download's slice (serve.c streams) */
#define RUN_TABLE_MAX_COLUMNS 200
#define RUN_TABLE_MAX_ROWS    10000 /* a table's rows in all, and one write's */
#define RUN_TABLE_MAX_CELL    10000 /* bytes of one text cell */
#define RUN_TABLE_LIVE_MAX    32768 /* a live message carries appended rows up to this */

int artifacts_create(struct req *r);
int artifacts_upload(struct req *r);
int artifacts_list(struct req *r);
int artifacts_get(struct req *r);
int artifacts_content(struct req *r);
int artifacts_project_list(struct req *r);

int promotions_create(struct req *r);
int promotions_list(struct req *r);
int promotions_get(struct req *r);
int promotions_demote(struct req *r);

int run_tables_put(struct req *r);
int run_tables_list(struct req *r);
int run_tables_get(struct req *r);

int run_snapshot_get(struct req *r);

#endif
