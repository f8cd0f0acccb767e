/* run_facets: what the runs list shows beside its pages: a view's count (capped) and the
 * values its kind and queue filters offer. */
#ifndef RW_API_RUN_FACETS_H
#define RW_API_RUN_FACETS_H

#include "req.h"

/* Counting stops here: past it the answer is "more than RUN_FACETS_COUNT_CAP". */
#define RUN_FACETS_COUNT_CAP 10000

int run_facets_count(struct req *r);
int run_facets_values(struct req *r);

#endif
