// A run's metrics: a summary table of every key and charts of the chosen ones (the
// first six by default), downsampled by the server to METRIC_POINTS points each.
import { useState } from 'react';
import { Card, MultiSelect, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { metricKeysQuery, metricSeriesQuery } from '../api/metrics';
import { ErrorState, LoadingRows } from './QueryState';
import { MetricChart } from './MetricChart';
import { formatTime } from '../lib/format';

const fmt = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(6));

export function MetricsPanel({ project, run }: { project: string; run: string }) {
  const keys = useQuery(metricKeysQuery(project, run));
  const [chosen, setChosen] = useState<string[] | null>(null);
  const all = (keys.data ?? []).flatMap((k) => (k.key ? [k.key] : []));
  const selected = chosen ?? all.slice(0, 6);
  const series = useQuery(metricSeriesQuery(project, run, selected));

  if (keys.isPending) return <LoadingRows rows={3} />;
  if (keys.error) return <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />;
  if (keys.data === null)
    return <Text size="sm" c="dimmed">This server does not serve metrics yet.</Text>;
  if (keys.data.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No metrics yet. A producer sends them with POST /api/v1/runs/{'{run}'}/metrics.
      </Text>
    );
  return (
    <Stack>
      <Table fz="sm" striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>key</Table.Th>
            <Table.Th>points</Table.Th>
            <Table.Th>last step</Table.Th>
            <Table.Th>last</Table.Th>
            <Table.Th>min</Table.Th>
            <Table.Th>max</Table.Th>
            <Table.Th>at</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {keys.data.map((k) => (
            <Table.Tr key={k.key}>
              <Table.Td ff="monospace">{k.key}</Table.Td>
              <Table.Td>{k.count}</Table.Td>
              <Table.Td>{k.last_step ?? '—'}</Table.Td>
              <Table.Td>{fmt(k.last_value)}</Table.Td>
              <Table.Td>{fmt(k.min)}</Table.Td>
              <Table.Td>{fmt(k.max)}</Table.Td>
              <Table.Td>{formatTime(k.last_ts)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <MultiSelect label="Charts" data={all} value={selected} onChange={setChosen} searchable maw={600} />
      {series.error ? (
        <ErrorState error={series.error} onRetry={() => void series.refetch()} />
      ) : series.isPending && selected.length ? (
        <LoadingRows rows={2} height={120} />
      ) : (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          {(series.data ?? []).map((s) => (
            <Card withBorder key={s.key} padding="xs">
              <Text size="sm" fw={600}>
                {s.key}{' '}
                <Text span size="xs" c="dimmed">
                  {s.count} points{s.downsampled ? `, ${s.points?.length ?? 0} shown` : ''}
                </Text>
              </Text>
              <MetricChart series={s} />
            </Card>
          ))}
        </SimpleGrid>
      )}
    </Stack>
  );
}
