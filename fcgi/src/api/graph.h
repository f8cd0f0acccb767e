/* graph: a run's connected graph (lineage, groups, run_deps) and its lineage both ways,
 * for the dashboard's graph view. */
#ifndef RW_API_GRAPH_H
#define RW_API_GRAPH_H

#include "req.h"

/* GET /runs/{run}/graph: the tree of the run's root, a page of nodes at a time. */
int graph_get(struct req *r);
/* GET /runs/{run}/lineage: ancestors up to the root and descendants, breadth first. */
int graph_lineage(struct req *r);
/* GET /projects/{project}/run-roots: the project's runs without a parent, newest first,
 * with their child and descendant counts (the runs list's "roots only"). */
int graph_roots(struct req *r);

#define GRAPH_PAGE_DEFAULT    5000
#define GRAPH_PAGE_MAX        10000
#define GRAPH_LINEAGE_DEFAULT 1000

#endif
