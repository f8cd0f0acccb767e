// The Celery task registry: every task name the bridge has seen, with its last 24 hours
// (runs, failure rate, average and p95 duration), the last run and the workers that ran it.
// Names no worker knew (unregistered) come first, highlighted.
import { Anchor, Badge, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { celeryRegistryQuery } from '../api/celery';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { formatDuration, formatPercent, formatRelative } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

export default function CeleryRegistryPage() {
  const { slug } = useProject();
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...celeryRegistryQuery(slug), refetchInterval });
  const now = useNow(5000);

  return (
    <Stack>
      <Title order={2}>Celery tasks</Title>
      {q.isPending ? (
        <LoadingRows />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <EmptyState title="No Celery tasks yet">
          <Text size="sm" c="dimmed">
            Point runwatch-celery at the fleet's broker and start the workers with -E (README, "Watching a Celery
            fleet").
          </Text>
        </EmptyState>
      ) : (
        <Table striped highlightOnHover data-testid="celery-registry">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Task</Table.Th>
              <Table.Th>Runs (24 h)</Table.Th>
              <Table.Th>Failure rate</Table.Th>
              <Table.Th>Avg</Table.Th>
              <Table.Th>p95</Table.Th>
              <Table.Th>Last run</Table.Th>
              <Table.Th>Workers</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((t) => (
              <Table.Tr
                key={t.name}
                data-testid="celery-task-row"
                data-unregistered={t.unregistered ? 'true' : 'false'}
                bg={t.unregistered ? 'var(--mantine-color-red-light)' : undefined}
              >
                <Table.Td>
                  <Group gap="xs" wrap="nowrap">
                    <Anchor component={Link} to={`/p/${slug}/runs?kind=${encodeURIComponent(t.name)}`}>
                      {t.name}
                    </Anchor>
                    {t.unregistered && (
                      <Badge color="red" size="sm" variant="filled">
                        unregistered
                      </Badge>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td>{t.runs_24h}</Table.Td>
                <Table.Td>
                  {t.failure_rate == null ? '—' : formatPercent(t.failure_rate, 1)}
                  {t.failed_24h > 0 && (
                    <Text span size="xs" c="dimmed">
                      {' '}
                      ({t.failed_24h} failed)
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{formatDuration(t.avg_s)}</Table.Td>
                <Table.Td>{formatDuration(t.p95_s)}</Table.Td>
                <Table.Td>{t.last_run_at ? formatRelative(t.last_run_at, now) : '—'}</Table.Td>
                <Table.Td>
                  <Text size="sm">{t.workers.join(', ') || '—'}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
