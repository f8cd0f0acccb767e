// The Celery workers of the project on the workers page: pool load, active tasks, processed
// and sessions, from their heartbeats. Nothing when the project has no Celery workers.
import { Anchor, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { celeryWorkersQuery } from '../../api/celery';
import { formatRelative } from '../../lib/format';
import { useRefetchInterval } from '../../lib/prefs';
import { useNow } from '../../lib/useNow';
import { StatusBadge } from '../StatusBadges';

export function CeleryWorkersPanel({ project }: { project: string }) {
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...celeryWorkersQuery(project), refetchInterval });
  const now = useNow(5000);
  if (!q.data || q.data.length === 0) return null;
  return (
    <Stack gap="xs">
      <Title order={3}>Celery workers</Title>
      <Table striped data-testid="celery-workers">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Node</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Load (1/5/15 min)</Table.Th>
            <Table.Th>Active</Table.Th>
            <Table.Th>Processed</Table.Th>
            <Table.Th>Sessions</Table.Th>
            <Table.Th>Heard</Table.Th>
            <Table.Th>Celery</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {q.data.map((w) => (
            <Table.Tr key={w.worker_id} data-testid="celery-worker-row">
              <Table.Td>
                <Anchor component={Link} to={`/p/${project}/workers/${w.worker_id}`}>
                  {w.name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <StatusBadge status={w.status} />
              </Table.Td>
              <Table.Td>{w.loadavg?.map((l) => l.toFixed(2)).join(' / ') ?? '—'}</Table.Td>
              <Table.Td>{w.active ?? '—'}</Table.Td>
              <Table.Td>{w.processed ?? '—'}</Table.Td>
              <Table.Td>
                {w.sessions}
                {w.online_since && (
                  <Text span size="xs" c="dimmed">
                    {' '}
                    (online {formatRelative(w.online_since, now)})
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{w.last_seen ? formatRelative(w.last_seen, now) : '—'}</Table.Td>
              <Table.Td>{w.sw_ver ?? '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
