// An experiment's job history: every run it launched, newest first, with its times (created,
// submitted to the queue, started, ended) and its exit code or error.
import { Anchor, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { experimentRunsQuery } from '../../api/experiments';
import type { Run } from '../../api/types';
import { formatTime, shortId } from '../../lib/format';
import { useRefetchInterval } from '../../lib/prefs';
import { EmptyState, ErrorState, LoadingRows } from '../QueryState';
import { StatusBadge } from '../StatusBadges';

/** "exit 3", the error's type and message, or — */
export function runOutcome(r: Run): string {
  const result = r.result as { exit_code?: unknown } | null | undefined;
  if (result && typeof result === 'object' && typeof result.exit_code === 'number') return `exit ${result.exit_code}`;
  const e = r.error;
  if (e && (e.type || e.message)) return [e.type, e.message].filter(Boolean).join(': ');
  return '—';
}

export function JobHistory({ project, experiment }: { project: string; experiment: number }) {
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...experimentRunsQuery(project, experiment), refetchInterval });
  if (q.isPending) return <LoadingRows rows={3} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data.length === 0)
    return (
      <EmptyState title="No runs yet">
        <Text size="sm" c="dimmed">
          Start the experiment: a launcher sees it in GET /experiments/reconcile and launches a run.
        </Text>
      </EmptyState>
    );
  return (
    <Table striped data-testid="job-history">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Run</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Created</Table.Th>
          <Table.Th>Submitted</Table.Th>
          <Table.Th>Started</Table.Th>
          <Table.Th>Ended</Table.Th>
          <Table.Th>Exit code or error</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {q.data.map((r) => (
          <Table.Tr key={r.id}>
            <Table.Td>
              <Anchor component={Link} to={`/p/${project}/runs/${r.id}`} ff="monospace" size="sm">
                {shortId(r.id)}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <StatusBadge status={r.status} />
            </Table.Td>
            <Table.Td>{formatTime(r.created_at)}</Table.Td>
            <Table.Td>{formatTime(r.queued_at)}</Table.Td>
            <Table.Td>{formatTime(r.started_at)}</Table.Td>
            <Table.Td>{formatTime(r.ended_at)}</Table.Td>
            <Table.Td>
              <Text size="sm" lineClamp={2}>
                {runOutcome(r)}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
