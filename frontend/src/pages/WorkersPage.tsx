// Workers: the project's fleet with status and what each is running now.
import { Anchor, Badge, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { workersQuery } from '../api/workers';
import { api } from '../api/client';
import type { Page, Run } from '../api/types';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { CeleryWorkersPanel } from '../components/celery/CeleryWorkersPanel';
import { formatRelative, formatTime, shortId } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

/** Runs in flight of the project, grouped by worker (one request, not one per worker). */
export function useRunsByWorker(slug: string) {
  const refetchInterval = useRefetchInterval();
  return useQuery({
    queryKey: ['overview', slug, 'inflight-by-worker'],
    queryFn: async ({ signal }) => {
      const page = await api<Page<Run>>('/runs', {
        query: { project: slug, status: 'running,retrying', limit: 1000 },
        signal,
      });
      const by = new Map<number, Run[]>();
      for (const r of page.items) if (r.worker_id) by.set(r.worker_id, [...(by.get(r.worker_id) ?? []), r]);
      return by;
    },
    refetchInterval,
  });
}

export default function WorkersPage() {
  const { slug } = useProject();
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...workersQuery(slug), refetchInterval });
  const running = useRunsByWorker(slug);
  const now = useNow(5000);

  return (
    <Stack>
      <Title order={2}>Workers</Title>
      {q.isPending ? (
        <LoadingRows />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <EmptyState title="No workers yet">
          <Text size="sm" c="dimmed">
            A worker registers with POST /api/v1/workers and a project token, then claims runs from a queue.
          </Text>
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={720}>
        <Table striped highlightOnHover data-testid="workers-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Host</Table.Th>
              <Table.Th>Kinds</Table.Th>
              <Table.Th>Current runs</Table.Th>
              <Table.Th>Started</Table.Th>
              <Table.Th>Heartbeat</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((w) => {
              const runs = running.data?.get(w.id ?? -1) ?? [];
              return (
                <Table.Tr key={w.id} data-kb-row={w.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/p/${slug}/workers/${w.id}`}>
                      {w.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={w.status} />
                  </Table.Td>
                  <Table.Td>
                    {w.host}
                    {w.pid ? <Text span c="dimmed" size="xs">{` pid ${w.pid}`}</Text> : null}
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {(w.kinds ?? []).map((k) => (
                        <Badge key={k} size="xs" variant="outline">
                          {k}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    {runs.length === 0
                      ? '—'
                      : runs.map((r) => (
                          <Anchor key={r.id} component={Link} to={`/p/${slug}/runs/${r.id}`} ff="monospace" size="sm" mr={6}>
                            {shortId(r.id)}
                          </Anchor>
                        ))}
                  </Table.Td>
                  <Table.Td>{formatTime(w.started_at)}</Table.Td>
                  <Table.Td title={formatTime(w.last_heartbeat_at)}>{formatRelative(w.last_heartbeat_at, now)}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
        </Table.ScrollContainer>
      )}
      <CeleryWorkersPanel project={slug} />
    </Stack>
  );
}
