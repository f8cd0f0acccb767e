// A run's metrics as a table: every key with its count, last step and value, min and max.
// The charts are on the run page itself (RunMetricsCharts).
import { Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { metricKeysQuery } from '../api/metrics';
import { ErrorState, LoadingRows } from './QueryState';
import { formatNumber, formatTime } from '../lib/format';

const fmt = (v: number | null | undefined) => formatNumber(v, 6);

export function MetricsPanel({ project, run }: { project: string; run: string }) {
  const keys = useQuery(metricKeysQuery(project, run));

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
  );
}
