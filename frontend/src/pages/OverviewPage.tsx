// Overview: the last 24 h at a glance (counts by status, success rate), runs in flight,
// recent failures, workers online, and the live activity feed. Counts come from the run
// list (the API has no aggregate endpoint yet): one page of up to 1000 runs of the last
// 24 h, and the page says so when there were more.
import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import type { Page, Run } from '../api/types';
import { RUN_STATUSES } from '../api/types';
import { workersQuery } from '../api/workers';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, FirstRunHint, LoadingRows } from '../components/QueryState';
import { RunStatusBadges } from '../components/StatusBadges';
import { useActivity } from '../live/activity';
import { formatPercent, formatRelative, formatTime, shortId } from '../lib/format';
import { statusColor } from '../lib/status';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

const WINDOW_LIMIT = 1000;

function useOverviewRuns(slug: string, name: string, query: Record<string, string>, limit: number) {
  const refetchInterval = useRefetchInterval();
  return useQuery({
    queryKey: ['overview', slug, name],
    queryFn: ({ signal }) =>
      api<Page<Run>>('/runs', {
        query: {
          project: slug,
          limit,
          ...query,
          ...(name === 'window' ? { created_after: new Date(Date.now() - 86400_000).toISOString() } : {}),
        },
        signal,
      }),
    refetchInterval,
  });
}

function Stat({ label, value, color, testid }: { label: string; value: string | number; color?: string; testid?: string }) {
  return (
    <Card withBorder padding="sm" data-testid={testid}>
      <Text size="xs" c="dimmed" tt="uppercase">
        {label}
      </Text>
      <Text size="xl" fw={700} c={color}>
        {value}
      </Text>
    </Card>
  );
}

function RunList({ runs, slug, now }: { runs: Run[]; slug: string; now: number }) {
  return (
    <Table fz="sm">
      <Table.Tbody>
        {runs.map((r) => (
          <Table.Tr key={r.id}>
            <Table.Td>
              <Anchor component={Link} to={`/p/${slug}/runs/${r.id}`} ff="monospace">
                {shortId(r.id)}
              </Anchor>
            </Table.Td>
            <Table.Td>{r.name || r.kind}</Table.Td>
            <Table.Td>
              <RunStatusBadges run={r} now={now} />
            </Table.Td>
            <Table.Td c="dimmed" title={formatTime(r.ended_at ?? r.started_at ?? r.created_at)}>
              {formatRelative(r.ended_at ?? r.started_at ?? r.created_at, now)}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export default function OverviewPage() {
  const { slug, name } = useProject();
  const now = useNow(5000);
  const win = useOverviewRuns(slug, 'window', {}, WINDOW_LIMIT);
  const inflight = useOverviewRuns(slug, 'inflight', { status: 'running,retrying' }, 10);
  const failures = useOverviewRuns(slug, 'failures', { status: 'failed' }, 10);
  const refetchInterval = useRefetchInterval();
  const workers = useQuery({ ...workersQuery(slug), refetchInterval });
  const feed = useActivity();

  const counts: Record<string, number> = {};
  for (const r of win.data?.items ?? []) counts[r.status ?? 'queued'] = (counts[r.status ?? 'queued'] ?? 0) + 1;
  const done = (counts.succeeded ?? 0) + (counts.failed ?? 0);
  const more = !!win.data?.next_cursor;
  const online = (workers.data ?? []).filter((w) => w.status && !['offline', 'stopped'].includes(w.status));

  return (
    <Stack>
      <Title order={2}>{name}</Title>
      {win.error ? (
        <ErrorState error={win.error} onRetry={() => void win.refetch()} />
      ) : win.isPending ? (
        <LoadingRows rows={2} height={60} />
      ) : win.data.items.length === 0 && !failures.data?.items.length && !inflight.data?.items.length ? (
        <EmptyState title="No runs in the last 24 hours">
          <FirstRunHint />
        </EmptyState>
      ) : (
        <>
          <Text size="sm" c="dimmed">
            Last 24 hours{more ? ` — the newest ${WINDOW_LIMIT} runs; there were more` : ''}
          </Text>
          <SimpleGrid cols={{ base: 2, sm: 4, lg: 8 }} data-testid="status-counts">
            {RUN_STATUSES.map((s) => (
              <Stat key={s} label={s} value={counts[s] ?? 0} color={statusColor(s)} testid={`count-${s}`} />
            ))}
            <Stat label="success rate" value={done ? formatPercent((counts.succeeded ?? 0) / done, 1) : '—'} />
            <Stat label="workers online" value={workers.data ? online.length : '…'} />
          </SimpleGrid>
        </>
      )}
      <SimpleGrid cols={{ base: 1, lg: 3 }}>
        <Card withBorder>
          <Title order={4} mb="xs">
            In flight
          </Title>
          {inflight.error ? (
            <ErrorState error={inflight.error} onRetry={() => void inflight.refetch()} />
          ) : inflight.isPending ? (
            <LoadingRows rows={3} />
          ) : inflight.data.items.length === 0 ? (
            <Text size="sm" c="dimmed">Nothing running.</Text>
          ) : (
            <RunList runs={inflight.data.items} slug={slug} now={now} />
          )}
        </Card>
        <Card withBorder>
          <Title order={4} mb="xs">
            Recent failures
          </Title>
          {failures.error ? (
            <ErrorState error={failures.error} onRetry={() => void failures.refetch()} />
          ) : failures.isPending ? (
            <LoadingRows rows={3} />
          ) : failures.data.items.length === 0 ? (
            <Text size="sm" c="dimmed">No failures.</Text>
          ) : (
            <RunList runs={failures.data.items} slug={slug} now={now} />
          )}
        </Card>
        <Card withBorder>
          <Title order={4} mb="xs">
            Live activity
          </Title>
          {feed.length === 0 ? (
            <Text size="sm" c="dimmed">Changes appear here as they happen.</Text>
          ) : (
            <Stack gap={4} data-testid="activity">
              {feed.slice(0, 20).map((m, i) => (
                <Group key={`${m.id ?? i}-${m.at}`} gap="xs" wrap="nowrap">
                  <Text size="xs" c="dimmed" w={60}>
                    {formatRelative(m.at, now)}
                  </Text>
                  <Badge size="xs" variant="light">
                    {m.type}
                  </Badge>
                  {m.run && (
                    <Anchor component={Link} to={`/p/${slug}/runs/${m.run}`} size="xs" ff="monospace">
                      {shortId(m.run)}
                    </Anchor>
                  )}
                  <Text size="xs" truncate>
                    {m.type === 'run.created' || m.type === 'run.updated'
                      ? ((m.data as Run | null)?.status ?? '')
                      : m.type === 'worker.updated'
                        ? `${(m.data as { name?: string } | null)?.name ?? ''} ${(m.data as { status?: string } | null)?.status ?? ''}`
                        : ''}
                  </Text>
                </Group>
              ))}
            </Stack>
          )}
        </Card>
      </SimpleGrid>
    </Stack>
  );
}
