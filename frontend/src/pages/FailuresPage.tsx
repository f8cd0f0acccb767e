// Failures: failed runs grouped by error fingerprint (type + message with numbers, ids and
// quoted values blanked), most runs first: how many, first and last seen, the kinds and
// workers affected, sample runs. A group opens its page with every run in it.
import { useState } from 'react';
import { Anchor, Badge, Card, Group, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { failureGroupsQuery } from '../api/reports';
import { workersQuery } from '../api/workers';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { formatRelative, formatTime, shortId } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

/** Worker ids as names, where the project's worker list knows them. */
export function useWorkerNames(slug: string): (id: number) => string {
  const w = useQuery(workersQuery(slug));
  return (id) => w.data?.find((x) => x.id === id)?.name ?? `#${id}`;
}

export default function FailuresPage() {
  const { slug } = useProject();
  const [window, setWindow] = useState('7d');
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...failureGroupsQuery(slug, window), refetchInterval });
  const workerName = useWorkerNames(slug);
  const now = useNow(10_000);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Failures</Title>
        <SegmentedControl size="xs" value={window} onChange={setWindow} data={['24h', '7d', '30d', '90d']} />
      </Group>
      <Text size="sm" c="dimmed">
        Failed runs of the last {window}, grouped by error: the error type and its message with numbers, ids and quoted values blanked.
      </Text>
      <Card withBorder p={0}>
        {q.error ? (
          <ErrorState error={q.error} onRetry={() => void q.refetch()} />
        ) : q.isPending ? (
          <LoadingRows rows={6} height={36} />
        ) : q.data.items.length === 0 ? (
          <EmptyState title={`No failed runs in the last ${window}`}>
            <Text size="sm" c="dimmed">
              A run reported with <code>{'{"status":"failed","error":{"type":…,"message":…}}'}</code> lands in a group here.
            </Text>
          </EmptyState>
        ) : (
          <Table highlightOnHover fz="sm" data-testid="failure-groups">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>error</Table.Th>
                <Table.Th ta="right">runs</Table.Th>
                <Table.Th>first seen</Table.Th>
                <Table.Th>last seen</Table.Th>
                <Table.Th>kinds</Table.Th>
                <Table.Th>workers</Table.Th>
                <Table.Th>sample runs</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {q.data.items.map((g) => (
                <Table.Tr key={g.fingerprint} data-fingerprint={g.fingerprint} data-kb-row={g.fingerprint}>
                  <Table.Td maw={460}>
                    <Anchor component={Link} to={`/p/${slug}/failures/${g.fingerprint}`} fw={600} size="sm">
                      {g.error_type || 'error'}
                    </Anchor>
                    <Text size="xs" c="dimmed" lineClamp={2} title={g.error_message ?? ''}>
                      {g.error_message || '(no message)'}
                    </Text>
                  </Table.Td>
                  <Table.Td ta="right" fw={700}>
                    {g.runs}
                  </Table.Td>
                  <Table.Td title={formatTime(g.first_seen)}>{formatRelative(g.first_seen, now)}</Table.Td>
                  <Table.Td title={formatTime(g.last_seen)}>{formatRelative(g.last_seen, now)}</Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {(g.kinds ?? []).map((k) => (
                        <Badge key={k} size="sm" variant="light">
                          {k}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {(g.workers ?? []).slice(0, 6).map((w) => (
                        <Anchor key={w} component={Link} to={`/p/${slug}/workers/${w}`} size="xs">
                          {workerName(w)}
                        </Anchor>
                      ))}
                      {(g.workers ?? []).length === 0 && <Text size="xs" c="dimmed">—</Text>}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={6}>
                      {(g.sample_runs ?? []).map((id) => (
                        <Anchor key={id} component={Link} to={`/p/${slug}/runs/${id}`} ff="monospace" size="xs">
                          {shortId(id)}
                        </Anchor>
                      ))}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </Stack>
  );
}
