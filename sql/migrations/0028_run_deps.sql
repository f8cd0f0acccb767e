-- 0028: dependencies between runs beyond parent and child. A run may wait for other runs
-- (a pipeline stage after its upstream stages) or for a whole group (a Celery chord's
-- callback runs when every member of its header group has finished). The run graph draws
-- these as edges; parent_id stays the lineage (who spawned whom).
-- dep_run_id has no foreign key on purpose: producers such as the Celery bridge may learn
-- of a dependency before the run it names has been reported (events arrive out of order),
-- and a dangling edge is drawn as an unknown node rather than refused.
CREATE TABLE run_deps (
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    dep_run_id   uuid,
    dep_group_id text CHECK (length(dep_group_id) BETWEEN 1 AND 200),
    CHECK ((dep_run_id IS NULL) <> (dep_group_id IS NULL))
);
CREATE UNIQUE INDEX run_deps_run_idx ON run_deps (run_id, dep_run_id) WHERE dep_run_id IS NOT NULL;
CREATE UNIQUE INDEX run_deps_group_idx ON run_deps (run_id, dep_group_id) WHERE dep_group_id IS NOT NULL;
-- The graph walks edges both ways: what a run waits for (above) and what waits for it.
CREATE INDEX run_deps_dep_run_idx ON run_deps (dep_run_id) WHERE dep_run_id IS NOT NULL;
CREATE INDEX run_deps_dep_group_idx ON run_deps (project_id, dep_group_id) WHERE dep_group_id IS NOT NULL;
