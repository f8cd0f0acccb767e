// One failure group: its error, and every failed run with that fingerprint, newest first,
// 100 a page, each linking to its run page.
import { Anchor, Button, Card, Code, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { failureGroupRunsQuery } from '../api/reports';
import type { RunError } from '../api/types';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { durationBetween, formatDuration, formatRelative, formatTime, shortId } from '../lib/format';
import { useNow } from '../lib/useNow';
import { useWorkerNames } from './FailuresPage';

export default function FailureGroupPage() {
  const { slug } = useProject();
  const { fingerprint = '' } = useParams();
  const q = useInfiniteQuery(failureGroupRunsQuery(slug, fingerprint));
  const workerName = useWorkerNames(slug);
  const now = useNow(10_000);
  const runs = q.data?.pages.flatMap((p) => p.items) ?? [];
  const err = (runs[0]?.error ?? null) as RunError | null;
  return (
    <Stack>
      <Text size="sm">
        <Anchor component={Link} to={`/p/${slug}/failures`}>
          Failures
        </Anchor>{' '}
        / <Code>{fingerprint}</Code>
      </Text>
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.isPending ? (
        <LoadingRows rows={8} />
      ) : runs.length === 0 ? (
        <EmptyState title="No runs in this group" />
      ) : (
        <>
          <Title order={2} data-testid="group-title">
            {err?.type || 'error'}
          </Title>
          <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
            {err?.message || '(no message)'}
          </Text>
          <Card withBorder p={0}>
            <Table highlightOnHover fz="sm" data-testid="group-runs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>run</Table.Th>
                  <Table.Th>name / kind</Table.Th>
                  <Table.Th>queue</Table.Th>
                  <Table.Th>worker</Table.Th>
                  <Table.Th>ended</Table.Th>
                  <Table.Th>duration</Table.Th>
                  <Table.Th>message</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {runs.map((r) => (
                  <Table.Tr key={r.id} data-run-id={r.id} data-kb-row={r.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/p/${slug}/runs/${r.id}`} ff="monospace">
                        {shortId(r.id)}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{r.name || r.kind}</Table.Td>
                    <Table.Td>{r.queue}</Table.Td>
                    <Table.Td>
                      {r.worker_id != null ? (
                        <Anchor component={Link} to={`/p/${slug}/workers/${r.worker_id}`} size="sm">
                          {workerName(r.worker_id)}
                        </Anchor>
                      ) : (
                        '—'
                      )}
                    </Table.Td>
                    <Table.Td title={formatTime(r.ended_at)}>{formatRelative(r.ended_at, now)}</Table.Td>
                    <Table.Td>{formatDuration(durationBetween(r.started_at, r.ended_at))}</Table.Td>
                    <Table.Td maw={420}>
                      <Text size="xs" truncate title={(r.error as RunError | null)?.message ?? ''}>
                        {(r.error as RunError | null)?.message}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Card>
          <Group>
            <Text size="sm" c="dimmed">
              {runs.length} {runs.length === 1 ? 'run' : 'runs'}
              {q.hasNextPage ? ' so far' : ''}
            </Text>
            {q.hasNextPage && (
              <Button size="xs" variant="default" loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
                Load more
              </Button>
            )}
          </Group>
        </>
      )}
    </Stack>
  );
}
