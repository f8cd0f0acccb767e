/* run_deps: a new run's dependencies (depends_on, after_group) from its create body. */
#ifndef RW_API_RUN_DEPS_H
#define RW_API_RUN_DEPS_H

#include <json-c/json.h>

#include "req.h"

#define RUN_DEPS_MAX 100

/* The dependencies of a new run in its create body: `depends_on` (an array of at most
 * RUN_DEPS_MAX run ids) and `after_group` (a group id). Checks their shapes; *ids is the
 * array as JSON text (NULL when absent or empty), *group the group (NULL when absent).
 * 0, or -1 with a 400 naming the field. */
int run_deps_parse(struct req *r, json_object *body, const char **ids, const char **group);
/* Inside the create's transaction, before the insert: every id is a run of the project
 * (else a 400 naming depends_on). After the insert, run_deps_write stores the edges. */
int run_deps_check(struct req *r, const char *project_id, const char *ids);
int run_deps_write(struct req *r, const char *run, const char *project_id, const char *ids,
                   const char *group);

#endif
