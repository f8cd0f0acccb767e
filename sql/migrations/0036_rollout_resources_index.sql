-- 0036: a project's rollouts by resources id, newest first. The dashboard's rollout list
-- filtered by a resources id and the resources page's rollout counts read this range
-- instead of every rollout of the project (4 and 8 ms at 20,000 rollouts, growing with
-- them: docs/PERFORMANCE.md, "the rollout reads by resources id and by status"). Partial:
-- only rollouts have a resources id, so other runs' writes never touch it.
CREATE INDEX runs_rollout_resources_idx ON runs (project_id, resources_id, created_at DESC, id DESC)
    WHERE kind = 'rollout';
