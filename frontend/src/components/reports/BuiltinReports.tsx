// The built-in reports as cards, each over the chosen window: throughput (runs started or
// ended per bucket, by status or kind), duration and queue-wait percentiles, failure rate
// by kind, worker or in total. Each card loads on its own, with its own skeleton, empty
// state and error.
import { useMemo, useState, type ReactNode } from 'react';
import { Card, Group, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import {
  durationsQuery,
  failureRateQuery,
  throughputQuery,
  type Bucket,
  type ReadFrom,
} from '../../api/reports';
import type { DurationRow, FailureRateRow, ThroughputRow } from '../../api/types';
import { describeRead, formatDuration, formatPercent } from '../../lib/format';
import { pivotByTime, type ChartData } from '../../lib/reportChart';
import { EmptyState, ErrorState, LoadingRows } from '../QueryState';
import { ReportChart } from '../ReportChart';

/** Where the card's answer was read, as the SQL workbench shows its replica lag. */
function ReadNote({ read }: { read?: ReadFrom }) {
  const words = read ? describeRead(read.from, read.lagS) : null;
  if (!read || !words) return null;
  const warn = read.from === 'primary-fallback' || (read.lagS ?? 0) > 60;
  return (
    <Text
      size="xs"
      c={warn ? 'yellow' : 'dimmed'}
      data-testid="report-read-from"
      title="Built-in reports read a streaming replica when one is configured; the lag is how long ago its last replayed commit was"
    >
      {words}
    </Text>
  );
}

function ReportCard({
  title,
  controls,
  testid,
  read,
  children,
}: {
  title: string;
  controls?: ReactNode;
  testid: string;
  read?: ReadFrom;
  children: ReactNode;
}) {
  return (
    <Card withBorder data-testid={testid}>
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Group gap="xs" align="baseline">
          <Title order={4}>{title}</Title>
          <ReadNote read={read} />
        </Group>
        {controls}
      </Group>
      {children}
    </Card>
  );
}

/** The card's body for a query: skeleton, error with retry, empty with a hint, or content. */
function Body<T>({
  q,
  empty,
  children,
}: {
  q: { isPending: boolean; error: unknown; data?: T; refetch: () => unknown };
  empty: (d: T) => boolean;
  children: (d: T) => ReactNode;
}) {
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.isPending || q.data === undefined) return <LoadingRows rows={4} height={36} />;
  if (empty(q.data))
    return (
      <EmptyState title="No runs in this window">
        <Text size="sm" c="dimmed">
          Choose a longer window, or send runs with a project token (Settings → API tokens).
        </Text>
      </EmptyState>
    );
  return <>{children(q.data)}</>;
}

function Throughput({ slug, window, bucket }: { slug: string; window: string; bucket: Bucket }) {
  const [by, setBy] = useState<'status' | 'kind'>('status');
  const [what, setWhat] = useState<'started' | 'ended'>('started');
  const q = useQuery(throughputQuery(slug, { window, bucket, by }));
  const chart = useMemo(
    () =>
      q.data
        ? pivotByTime<ThroughputRow>(q.data.items, (r) => r.bucket, (r) => r[by] ?? '∅', (r) => r[what] ?? 0, {
            from: q.data.from,
            to: q.data.to,
            step: q.data.bucket_s,
          })
        : null,
    [q.data, by, what],
  );
  const total = (q.data?.items ?? []).reduce((a, r) => a + (r[what] ?? 0), 0);
  return (
    <ReportCard
      title="Throughput"
      testid="report-throughput"
      read={q.data?.read}
      controls={
        <Group gap="xs">
          <SegmentedControl size="xs" value={what} onChange={(v) => setWhat(v as typeof what)} data={['started', 'ended']} />
          <SegmentedControl size="xs" value={by} onChange={(v) => setBy(v as typeof by)} data={[{ value: 'status', label: 'by status' }, { value: 'kind', label: 'by kind' }]} />
        </Group>
      }
    >
      <Body q={q} empty={(d) => d.items.length === 0}>
        {() => (
          <>
            <Text size="sm" c="dimmed" mb={4}>
              {total} {total === 1 ? 'run' : 'runs'} {what}, per {bucket}, by {by}
            </Text>
            <ReportChart data={chart as ChartData} type="bar" stacked />
          </>
        )}
      </Body>
    </ReportCard>
  );
}

function Percentiles({
  slug,
  window,
  metric,
}: {
  slug: string;
  window: string;
  metric: 'duration' | 'queue_wait';
}) {
  const dims = metric === 'duration' ? (['kind', 'experiment'] as const) : (['queue', 'kind'] as const);
  const [by, setBy] = useState<string>(dims[0]);
  const q = useQuery(durationsQuery(slug, { window, metric, by }));
  const name = (r: DurationRow) =>
    (by === 'experiment' ? r.experiment : by === 'queue' ? r.queue : r.kind) ?? '(none)';
  const chart = useMemo<ChartData | null>(() => {
    if (!q.data) return null;
    const rows = q.data.items.slice(0, 30);
    return {
      xKind: 'category',
      x: rows.map((_, i) => i),
      labels: rows.map(name),
      lines: (['p50_s', 'p90_s', 'p99_s'] as const).map((k) => ({ label: k.slice(0, 3), values: rows.map((r) => r[k] ?? null) })),
    };
    // name depends only on by
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q.data, by]);
  return (
    <ReportCard
      title={metric === 'duration' ? 'Duration percentiles' : 'Queue wait percentiles'}
      testid={`report-${metric}`}
      read={q.data?.read}
      controls={<SegmentedControl size="xs" value={by} onChange={setBy} data={dims.map((d) => ({ value: d, label: `by ${d}` }))} />}
    >
      <Body q={q} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Stack gap="xs">
            <Text size="xs" c="dimmed" data-testid={`report-${metric}-precision`}>
              {/* Whole days come from histograms: say how close, so nobody reads the
                  percentiles as exact. */}
              {d.relative_error
                ? `seconds; percentiles within ±${+(d.relative_error * 100).toFixed(2)}%, runs and max exact`
                : 'seconds'}
            </Text>
            <ReportChart data={chart as ChartData} type="bar" height={180} />
            <Table fz="xs" striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{by}</Table.Th>
                  <Table.Th ta="right">runs</Table.Th>
                  <Table.Th ta="right">p50</Table.Th>
                  <Table.Th ta="right">p90</Table.Th>
                  <Table.Th ta="right">p99</Table.Th>
                  <Table.Th ta="right">max</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {d.items.map((r, i) => (
                  <Table.Tr key={i}>
                    <Table.Td>{name(r)}</Table.Td>
                    <Table.Td ta="right">{r.runs}</Table.Td>
                    <Table.Td ta="right">{formatDuration(r.p50_s)}</Table.Td>
                    <Table.Td ta="right">{formatDuration(r.p90_s)}</Table.Td>
                    <Table.Td ta="right">{formatDuration(r.p99_s)}</Table.Td>
                    <Table.Td ta="right">{formatDuration(r.max_s)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Stack>
        )}
      </Body>
    </ReportCard>
  );
}

function FailureRate({ slug, window, bucket }: { slug: string; window: string; bucket: Bucket }) {
  const [by, setBy] = useState<'kind' | 'worker' | ''>('kind');
  // One project is shown, so grouping by project is the total (an empty ?by= is not sent).
  const q = useQuery(failureRateQuery(slug, { window, bucket, by: by || 'project' }));
  const group = (r: FailureRateRow) => (by === 'kind' ? r.kind : by === 'worker' ? r.worker : 'all runs') ?? '(none)';
  const totals = useMemo(() => {
    const m = new Map<string, { finished: number; failed: number }>();
    for (const r of q.data?.items ?? []) {
      const g = group(r);
      const t = m.get(g) ?? { finished: 0, failed: 0 };
      t.finished += r.finished ?? 0;
      t.failed += r.failed ?? 0;
      m.set(g, t);
    }
    return [...m.entries()].sort((a, b) => b[1].failed - a[1].failed);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q.data, by]);
  const chart = useMemo(() => {
    if (!q.data) return null;
    // Failure rate in percent per bucket; a bucket without finished runs has no rate.
    const fill = { from: q.data.from, to: q.data.to, step: q.data.bucket_s };
    const c = pivotByTime<FailureRateRow>(q.data.items, (r) => r.bucket, group, (r) => r.failed ?? 0, fill);
    const fin = pivotByTime<FailureRateRow>(q.data.items, (r) => r.bucket, group, (r) => r.finished ?? 0, fill);
    c.lines = c.lines.map((l) => {
      const f = fin.lines.find((x) => x.label === l.label);
      return { label: l.label, values: l.values.map((v, i) => (f && f.values[i] ? (100 * (v ?? 0)) / (f.values[i] as number) : null)) };
    });
    return c;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q.data, by]);
  return (
    <ReportCard
      title="Failure rate"
      testid="report-failure-rate"
      read={q.data?.read}
      controls={
        <SegmentedControl
          size="xs"
          value={by}
          onChange={(v) => setBy(v as typeof by)}
          data={[{ value: 'kind', label: 'by kind' }, { value: 'worker', label: 'by worker' }, { value: '', label: `per ${bucket}` }]}
        />
      }
    >
      <Body q={q} empty={(d) => d.items.length === 0}>
        {() => (
          <Stack gap="xs">
            <Text size="sm" c="dimmed">
              failed ÷ finished runs per {bucket}, in percent
            </Text>
            <ReportChart data={chart as ChartData} type="line" height={180} />
            <Table fz="xs" striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{by || 'window'}</Table.Th>
                  <Table.Th ta="right">finished</Table.Th>
                  <Table.Th ta="right">failed</Table.Th>
                  <Table.Th ta="right">rate</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {totals.slice(0, 20).map(([g, t]) => (
                  <Table.Tr key={g}>
                    <Table.Td>{g}</Table.Td>
                    <Table.Td ta="right">{t.finished}</Table.Td>
                    <Table.Td ta="right">{t.failed}</Table.Td>
                    <Table.Td ta="right">{formatPercent(t.finished ? t.failed / t.finished : null, 1)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Stack>
        )}
      </Body>
    </ReportCard>
  );
}

export function BuiltinReports({ slug }: { slug: string }) {
  const [window, setWindow] = useState('7d');
  const [bucket, setBucket] = useState<Bucket>('day');
  return (
    <Stack>
      <Group gap="md">
        <Group gap={6}>
          <Text size="sm">Window</Text>
          <SegmentedControl size="xs" value={window} onChange={setWindow} data={['24h', '7d', '30d', '90d']} data-testid="report-window" />
        </Group>
        <Group gap={6}>
          <Text size="sm">Bucket</Text>
          <SegmentedControl size="xs" value={bucket} onChange={(v) => setBucket(v as Bucket)} data={['hour', 'day']} />
        </Group>
      </Group>
      <SimpleGrid cols={{ base: 1, xl: 2 }}>
        <Throughput slug={slug} window={window} bucket={bucket} />
        <FailureRate slug={slug} window={window} bucket={bucket} />
        <Percentiles slug={slug} window={window} metric="duration" />
        <Percentiles slug={slug} window={window} metric="queue_wait" />
      </SimpleGrid>
    </Stack>
  );
}
