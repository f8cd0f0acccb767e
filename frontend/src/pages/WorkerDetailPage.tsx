// One worker: identity, status, labels, its resource samples (charted), its sessions
// (registrations), what it runs now, its own live log tail, and every run it had.
import { useMemo } from 'react';
import { Anchor, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { workerQuery } from '../api/workers';
import { runsListQuery } from '../api/runs';
import { useProject } from '../components/guards';
import { ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { JsonBlock } from '../components/Json';
import { LineChart, type ChartLine } from '../components/MetricChart';
import type { WorkerDetail } from '../api/types';
import { RunsTable } from '../components/RunsTable';
import { WorkerLog } from '../components/WorkerLog';
import { WorkerTimeline } from '../components/graph/Timeline';
import { durationBetween, formatDuration, formatRelative, formatTime, shortId } from '../lib/format';

/** The numeric fields of the samples, one chart each (at most six). */
function sampleCharts(samples: NonNullable<WorkerDetail['samples']>) {
  const x = samples.map((s) => Date.parse(s.ts ?? '') / 1000);
  const keys = new Set<string>();
  for (const s of samples)
    for (const [k, v] of Object.entries(s.sample ?? {})) if (typeof v === 'number') keys.add(k);
  return [...keys].slice(0, 6).map((k) => ({
    key: k,
    x,
    lines: [
      {
        label: k,
        values: samples.map((s) => {
          const v = (s.sample as Record<string, unknown> | undefined)?.[k];
          return typeof v === 'number' ? v : null;
        }),
      },
    ] as ChartLine[],
  }));
}
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

export default function WorkerDetailPage() {
  const { workerId = '' } = useParams();
  const id = Number(workerId);
  const { slug } = useProject();
  const refetchInterval = useRefetchInterval();
  const w = useQuery({ ...workerQuery(slug, id), refetchInterval, enabled: Number.isInteger(id) });
  const charts = useMemo(() => sampleCharts(w.data?.samples ?? []), [w.data?.samples]);
  const runs = useInfiniteQuery(runsListQuery(slug, { worker: workerId }, () => ({ worker: workerId })));
  const now = useNow(1000);

  if (!Number.isInteger(id)) return <ErrorState error={new Error('not a worker id')} />;
  if (w.isPending) return <LoadingRows rows={6} />;
  if (w.error) return <ErrorState error={w.error} onRetry={() => void w.refetch()} />;
  const d = w.data.worker ?? {};
  const current = w.data.current_runs ?? [];
  const sessions = w.data.sessions ?? [];
  const list = runs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Stack>
      <Text size="sm">
        <Anchor component={Link} to={`/p/${slug}/workers`}>
          Workers
        </Anchor>{' '}
        /
      </Text>
      <Group>
        <Title order={2}>{d.name}</Title>
        <StatusBadge status={d.status} />
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
          <div>
            <Text size="xs" c="dimmed">Host</Text>
            <Text size="sm">{d.host}{d.pid ? ` (pid ${d.pid})` : ''}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Started</Text>
            <Text size="sm">{formatTime(d.started_at)}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Last heartbeat</Text>
            <Text size="sm" title={formatTime(d.last_heartbeat_at)}>{formatRelative(d.last_heartbeat_at, now)}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Stopped</Text>
            <Text size="sm">{formatTime(d.stopped_at)}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Kinds</Text>
            <Text size="sm">{(d.kinds ?? []).join(', ') || 'any'}</Text>
          </div>
        </SimpleGrid>
      </Card>
      <Title order={4}>Running now</Title>
      {current.length === 0 ? (
        <Text size="sm" c="dimmed">Nothing in flight.</Text>
      ) : (
        <Group gap="xs">
          {current.map((r) => (
            <Anchor key={r.id} component={Link} to={`/p/${slug}/runs/${r.id}`} ff="monospace" size="sm">
              {shortId(r.id)} {r.name || r.kind}
            </Anchor>
          ))}
        </Group>
      )}
      <Title order={4}>Log</Title>
      <WorkerLog project={slug} worker={id} />
      <Title order={4}>Resources</Title>
      {charts.length === 0 ? (
        <Text size="sm" c="dimmed">No resource samples in the last 7 days (a worker sends them with its heartbeats).</Text>
      ) : (
        <SimpleGrid cols={{ base: 1, md: 3 }}>
          {charts.map((c) => (
            <Card withBorder padding="xs" key={c.key}>
              <Text size="sm" fw={600}>{c.key}</Text>
              <LineChart x={c.x} lines={c.lines} time height={140} testid={`sample-${c.key}`} />
            </Card>
          ))}
        </SimpleGrid>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack gap={4}>
          <Text fw={600} size="sm">Latest resource sample</Text>
          <JsonBlock value={d.resources ?? null} mah={240} />
        </Stack>
        <Stack gap={4}>
          <Text fw={600} size="sm">Labels</Text>
          <JsonBlock value={d.labels ?? {}} mah={240} />
        </Stack>
      </SimpleGrid>
      <Title order={4}>Sessions</Title>
      {sessions.length === 0 ? (
        <Text size="sm" c="dimmed">No registrations recorded.</Text>
      ) : (
        <Table fz="sm" striped data-testid="worker-sessions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Host</Table.Th>
              <Table.Th>Pid</Table.Th>
              <Table.Th>Started</Table.Th>
              <Table.Th>Ended</Table.Th>
              <Table.Th>Lasted</Table.Th>
              <Table.Th>Why it ended</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sessions.map((s) => (
              <Table.Tr key={s.id}>
                <Table.Td>{s.host}</Table.Td>
                <Table.Td>{s.pid ?? '—'}</Table.Td>
                <Table.Td>{formatTime(s.started_at)}</Table.Td>
                <Table.Td>{s.ended_at ? formatTime(s.ended_at) : 'running'}</Table.Td>
                <Table.Td>{formatDuration(durationBetween(s.started_at, s.ended_at, now))}</Table.Td>
                <Table.Td>{s.end_reason ?? '—'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Title order={4}>Timeline</Title>
      <WorkerTimeline project={slug} runs={list} sessions={sessions} />
      <Title order={4}>Runs on this worker</Title>
      {runs.isPending ? (
        <LoadingRows />
      ) : runs.error && !runs.data ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : list.length === 0 ? (
        <Text size="sm" c="dimmed">No runs yet.</Text>
      ) : (
        <RunsTable
          project={slug}
          runs={list}
          now={now}
          hasMore={!!runs.hasNextPage}
          loadingMore={runs.isFetchingNextPage}
          onLoadMore={() => void runs.fetchNextPage()}
          height="400px"
        />
      )}
    </Stack>
  );
}
