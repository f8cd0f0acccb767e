// A pipeline's stage DAG (its child runs, ordered by their depends_on) with each stage's
// throughput, lag and backpressure from its pipeline/ metrics, the bottleneck highlighted
// (lib/pipeline.ts says how it is chosen), and, for a stage, the skew of its per-partition
// metrics. Reads the graph (cached with the Graph view) and each stage's metric keys.
import { Badge, Box, Card, Group, Progress, Stack, Table, Text } from '@mantine/core';
import { useQueries, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { graphQuery } from '../../api/graph';
import { metricKeysQuery } from '../../api/metrics';
import type { Run } from '../../api/types';
import { shortId } from '../../lib/format';
import { bottleneck, partitionSkew, pipelineStages, type Stage } from '../../lib/pipeline';
import { statusColor } from '../../lib/status';
import { ErrorState, LoadingRows } from '../QueryState';

const num = (v: number | null, unit = '') =>
  v === null ? '—' : `${Math.abs(v) >= 100 ? Math.round(v).toLocaleString() : v.toPrecision(3)}${unit}`;

function StageCard({ project, s, hot }: { project: string; s: Stage; hot: boolean }) {
  return (
    <Card
      withBorder
      padding="xs"
      w={220}
      component={Link}
      to={`/p/${project}/runs/${s.run.id}?tab=graph`}
      data-testid="pipeline-stage"
      data-bottleneck={hot ? 'true' : 'false'}
      style={{ borderColor: hot ? 'var(--mantine-color-red-6)' : undefined, borderWidth: hot ? 2 : 1 }}
    >
      <Group justify="space-between" wrap="nowrap" gap={4}>
        <Text size="sm" fw={600} truncate>
          {s.run.name || shortId(s.run.id)}
        </Text>
        {hot && (
          <Badge size="xs" color="red">
            bottleneck
          </Badge>
        )}
      </Group>
      <Text size="xs" c={statusColor(s.run.status)} fw={600}>
        {s.run.status}
      </Text>
      <Text size="xs">throughput {num(s.throughput, '/s')}</Text>
      <Text size="xs">lag {num(s.lag)}</Text>
      <Group gap={4} wrap="nowrap">
        <Text size="xs">backpressure</Text>
        <Progress
          value={(s.backpressure ?? 0) * 100}
          color={(s.backpressure ?? 0) > 0.5 ? 'orange' : 'teal'}
          style={{ flex: 1 }}
          size="sm"
        />
        <Text size="xs">{s.backpressure === null ? '—' : `${Math.round(s.backpressure * 100)}%`}</Text>
      </Group>
    </Card>
  );
}

function PartitionSkewView({ project, run }: { project: string; run: string }) {
  const q = useQuery(metricKeysQuery(project, run));
  const skews = partitionSkew(q.data);
  if (skews.length === 0) return null;
  return (
    <Stack gap={4} data-testid="partition-skew">
      <Text size="sm" fw={600}>
        Partitions of this stage
      </Text>
      {skews.map((k) => (
        <Box key={k.metric}>
          <Text size="xs" c="dimmed">
            {k.metric}: skew {k.skew.toFixed(2)}× (max / mean), spread {num(k.min)} – {num(k.max)}
          </Text>
          <Table fz="xs" withRowBorders={false} verticalSpacing={1}>
            <Table.Tbody>
              {k.partitions.map((p) => (
                <Table.Tr key={p.partition}>
                  <Table.Td w={80}>partition {p.partition}</Table.Td>
                  <Table.Td>
                    <Progress value={k.max > 0 ? (p.value / k.max) * 100 : 0} color={p.value === k.max && k.skew > 1.5 ? 'red' : 'blue'} size="md" />
                  </Table.Td>
                  <Table.Td w={90} ta="right">
                    {num(p.value)}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Box>
      ))}
    </Stack>
  );
}

export function PipelineView({ project, run }: { project: string; run: Run }) {
  const id = run.id ?? '';
  const g = useQuery(graphQuery(project, id));
  const kids = (g.data?.nodes ?? []).filter((n) => n.parent_id === id);
  const metrics = useQueries({ queries: kids.slice(0, 100).map((k) => metricKeysQuery(project, k.id)) });
  if (g.isPending) return <LoadingRows rows={4} />;
  if (g.error) return <ErrorState error={g.error} onRetry={() => void g.refetch()} />;
  const byId = new Map(kids.slice(0, 100).map((k, i) => [k.id, metrics[i]?.data]));
  const stages = pipelineStages(id, g.data.nodes, g.data.edges, (sid) => byId.get(sid));
  const reporting = stages.some((s) => s.throughput !== null || s.lag !== null || s.backpressure !== null);
  const hot = bottleneck(stages);
  const levels = [...new Set(stages.map((s) => s.level))].sort((a, b) => a - b);
  return (
    <Stack gap="sm" data-testid="pipeline-view">
      {stages.length === 0 ? (
        <Text size="sm" c="dimmed">
          This run has no stages (child runs).
        </Text>
      ) : !reporting ? (
        <Text size="sm" c="dimmed">
          No stage reports pipeline/ metrics (pipeline/throughput, pipeline/lag, pipeline/backpressure).
        </Text>
      ) : (
        <Group align="center" gap="xs" wrap="nowrap" style={{ overflowX: 'auto' }} data-testid="pipeline-dag">
          {levels.map((l, i) => (
            <Group key={l} gap="xs" wrap="nowrap" align="center">
              {i > 0 && (
                <Text size="xl" c="dimmed">
                  →
                </Text>
              )}
              <Stack gap="xs">
                {stages
                  .filter((s) => s.level === l)
                  .map((s) => (
                    <StageCard key={s.run.id} project={project} s={s} hot={s.run.id === hot} />
                  ))}
              </Stack>
            </Group>
          ))}
        </Group>
      )}
      <PartitionSkewView project={project} run={id} />
    </Stack>
  );
}
