// The run page's Graph tab: the run's lineage both ways (its ancestors up to the root as a
// path, its descendants' count and nearest ones) above the run graph of its whole tree,
// which loads as its own lazy chunk; or the tree's runs as a timeline; or the run as a
// pipeline of stages (its children) and, for a stage, its partitions' skew. useHasGraph says whether the run has a tab at all: a
// parent, children, a group or dependencies (GET /runs/{run}/lineage, one small request).
import { lazy, Suspense, useState } from 'react';
import { Anchor, Breadcrumbs, Group, SegmentedControl, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { graphQuery, lineageQuery } from '../../api/graph';
import type { Run } from '../../api/types';
import { shortId } from '../../lib/format';
import { statusColor } from '../../lib/status';
import { ErrorState, LoadingRows } from '../QueryState';
import { PipelineView } from './Pipeline';
import { Timeline, treeRows } from './Timeline';

const RunGraph = lazy(() => import('./RunGraph'));

export function useHasGraph(project: string, run: Run | undefined): boolean {
  const hasOwn = !!run && !!(run.parent_id || run.group_id);
  const q = useQuery({ ...lineageQuery(project, run?.id ?? '', 20), enabled: !!run && !hasOwn });
  return hasOwn || (!!q.data && (q.data.descendants_total > 0 || q.data.deps > 0));
}

/** The tree's runs on one time axis (the graph's data: no second request). */
function TreeTimeline({ project, runId }: { project: string; runId: string }) {
  const q = useQuery(graphQuery(project, runId));
  if (q.isPending) return <LoadingRows rows={6} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  return <Timeline rows={treeRows(q.data, project)} testId="tree-timeline" />;
}

export function GraphTab({ project, run }: { project: string; run: Run }) {
  const q = useQuery(lineageQuery(project, run.id ?? '', 20));
  const [view, setView] = useState('graph');
  const l = q.data;
  const link = (id: string, label: string, status?: string) => (
    <Anchor key={id} component={Link} to={`/p/${project}/runs/${id}`} size="sm" c={status ? statusColor(status) : undefined}>
      {label}
    </Anchor>
  );
  return (
    <Stack gap="sm">
      {l && (
        <Stack gap={4} data-testid="run-lineage">
          <Group gap="xs">
            <Text size="sm" fw={600}>
              Ancestors
            </Text>
            {l.ancestors.length === 0 ? (
              <Text size="sm" c="dimmed">
                none: this run is a root
              </Text>
            ) : (
              <Breadcrumbs separator="›">
                {[...l.ancestors]
                  .reverse()
                  .map((a) => link(a.id, a.name || a.kind || shortId(a.id), a.status))
                  .concat(
                    <Text key="self" size="sm" fw={600}>
                      {run.name || shortId(run.id)}
                    </Text>,
                  )}
              </Breadcrumbs>
            )}
          </Group>
          <Group gap="xs">
            <Text size="sm" fw={600}>
              Descendants
            </Text>
            <Text size="sm" data-testid="lineage-descendants">
              {l.descendants_total}
            </Text>
            {l.descendants.slice(0, 10).map((d) => link(d.id, d.name || shortId(d.id), d.status))}
            {l.descendants_total > 10 && (
              <Text size="sm" c="dimmed">
                … all in the graph below
              </Text>
            )}
          </Group>
        </Stack>
      )}
      <SegmentedControl
        size="xs"
        w="fit-content"
        value={view}
        onChange={setView}
        data={[
          { value: 'graph', label: 'Graph' },
          { value: 'timeline', label: 'Timeline' },
          { value: 'pipeline', label: 'Pipeline' },
        ]}
      />
      {view === 'graph' ? (
        <Suspense fallback={<LoadingRows rows={6} />}>
          <RunGraph project={project} runId={run.id ?? ''} />
        </Suspense>
      ) : view === 'timeline' ? (
        <TreeTimeline project={project} runId={run.id ?? ''} />
      ) : (
        <PipelineView project={project} run={run} />
      )}
    </Stack>
  );
}
