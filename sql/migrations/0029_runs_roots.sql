-- 0029: the runs list's "roots only" view (GET /projects/{project}/run-roots) pages a
-- project's runs without a parent, newest first. The list's own index (project, created)
-- would read every child run between two roots (a sweep of a thousand trials is a thousand
-- rows to skip); this one holds the roots alone. Runs with a parent never enter it, so a
-- child's insert pays nothing for it.
CREATE INDEX runs_roots_idx ON runs (project_id, created_at DESC, id DESC) WHERE parent_id IS NULL;
