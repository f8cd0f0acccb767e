// Overview: the last 24 h at a glance, runs in flight, anomalies, recent failures, workers
// online, and the live activity feed. Finished counts (succeeded, failed, cancelled by the
// time they ended) and the runs started are exact, from the throughput report; the runs
// queued, running or retrying now are counted from one list page of up to 1000 and shown
// as "1000+" beyond. Every query is keyed under ['overview', slug]: the live stream patches
// the run lists at once (live/overview.ts) and refreshes them all (coalesced) as runs
// change. The throughput trend (started and failed per hour) is the same 24 h report the
// counts come from, drawn as bars; the feed says in words what happened (lib/activityText).
import { Anchor, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import type { ReportThroughput, Run, ThroughputRow } from '../api/types';
import { BarChart } from '../components/ReportBars';
import { pivotByTime } from '../lib/reportChart';
import { activityLine } from '../lib/activityText';
import { AnomaliesPanel } from '../components/AnomaliesPanel';
import { workersQuery } from '../api/workers';
import { LIVE_STATUSES, NOW_LIMIT, lastDayQuery, overviewRunsQuery } from '../api/overview';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, FirstRunHint, LoadingRows } from '../components/QueryState';
import { RunStatusBadges } from '../components/StatusBadges';
import { activityRunName, useActivity } from '../live/activity';
import { formatPercent, formatRelative, formatTime, shortId } from '../lib/format';
import { statusColor } from '../lib/status';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

// The queries are api/overview.ts's, shared with the route loader that starts them.
function useOverviewRuns(slug: string, name: string, query: Record<string, string>, limit: number) {
  const refetchInterval = useRefetchInterval();
  return useQuery({ ...overviewRunsQuery(slug, name, query, limit), refetchInterval });
}

function useLastDay(slug: string) {
  const refetchInterval = useRefetchInterval();
  return useQuery({ ...lastDayQuery(slug), refetchInterval });
}

const ENDED_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;

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

/** Runs started and runs failed per hour of the last 24 h, from the throughput report's
 * rows (started counted at their start, failed at their end), every hour drawn. */
function Trend({ report }: { report: ReportThroughput }) {
  const data = useMemo(() => {
    const fill = { from: report.from, to: report.to, step: report.bucket_s };
    const started = pivotByTime<ThroughputRow>(report.items, (r) => r.bucket, () => 'started', (r) => r.started ?? 0, fill);
    const failed = pivotByTime<ThroughputRow>(report.items, (r) => r.bucket, () => 'failed', (r) => (r.status === 'failed' ? (r.ended ?? 0) : 0), fill);
    return {
      ...started,
      lines: [
        { label: 'started', values: started.lines[0]?.values ?? started.x.map(() => 0) },
        { label: 'failed', values: failed.lines[0]?.values ?? failed.x.map(() => 0) },
      ],
    };
  }, [report]);
  return (
    <Card withBorder data-testid="throughput-trend">
      <Title order={4} mb="xs">
        Throughput, last 24 h
      </Title>
      <BarChart data={data} height={160} empty="No runs started or ended in the last 24 hours." />
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
            <Table.Td maw={160}>
              <Text size="sm" truncate title={r.name || r.kind || undefined}>
                {r.name || r.kind}
              </Text>
            </Table.Td>
            <Table.Td>
              <RunStatusBadges run={r} now={now} />
            </Table.Td>
            <Table.Td c="dimmed" style={{ whiteSpace: 'nowrap' }} title={formatTime(r.ended_at ?? r.started_at ?? r.created_at)}>
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
  const day = useLastDay(slug);
  const live = useOverviewRuns(slug, 'now', { status: LIVE_STATUSES.join(',') }, NOW_LIMIT);
  const inflight = useOverviewRuns(slug, 'inflight', { status: 'running,retrying' }, 10);
  const failures = useOverviewRuns(slug, 'failures', { status: 'failed' }, 10);
  const refetchInterval = useRefetchInterval();
  const workers = useQuery({ ...workersQuery(slug), refetchInterval });
  const feed = useActivity();

  const nowCounts: Record<string, number> = {};
  for (const r of live.data?.items ?? []) nowCounts[r.status ?? 'queued'] = (nowCounts[r.status ?? 'queued'] ?? 0) + 1;
  const nowMore = !!live.data?.next_cursor;
  const ended = day.data?.ended ?? {};
  const done = (ended.succeeded ?? 0) + (ended.failed ?? 0);
  const online = (workers.data ?? []).filter((w) => w.status && !['offline', 'stopped'].includes(w.status));
  const error = day.error ?? live.error;
  const empty =
    day.data &&
    live.data &&
    day.data.started === 0 &&
    ENDED_STATUSES.every((s) => !ended[s]) &&
    live.data.items.length === 0 &&
    !failures.data?.items.length;

  return (
    <Stack>
      <Title order={2}>{name}</Title>
      {error ? (
        <ErrorState
          error={error}
          onRetry={() => {
            void day.refetch();
            void live.refetch();
          }}
        />
      ) : !day.data || !live.data ? (
        <LoadingRows rows={2} height={60} />
      ) : empty ? (
        <EmptyState title="No runs in the last 24 hours">
          <FirstRunHint />
        </EmptyState>
      ) : (
        <>
          <Text size="sm" c="dimmed">
            Now, and the last 24 hours: {day.data.started} runs started; finished runs are counted by when they ended
          </Text>
          <SimpleGrid cols={{ base: 2, sm: 4, lg: 9 }} data-testid="status-counts">
            {LIVE_STATUSES.map((s) => (
              <Stat
                key={s}
                label={`${s} now`}
                value={nowMore && (nowCounts[s] ?? 0) > 0 ? `${nowCounts[s]}+` : (nowCounts[s] ?? 0)}
                color={statusColor(s)}
                testid={`count-${s}`}
              />
            ))}
            {ENDED_STATUSES.map((s) => (
              <Stat key={s} label={`${s} 24 h`} value={ended[s] ?? 0} color={statusColor(s)} testid={`count-${s}`} />
            ))}
            <Stat label="started 24 h" value={day.data.started} testid="count-started" />
            <Stat label="success rate" value={done ? formatPercent((ended.succeeded ?? 0) / done, 1) : '—'} />
            <Stat label="workers online" value={workers.data ? online.length : '…'} />
          </SimpleGrid>
        </>
      )}
      {day.data && <Trend report={day.data.report} />}
      <AnomaliesPanel slug={slug} now={now} />
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
              {feed.slice(0, 20).map((m, i) => {
                const line = activityLine(m, activityRunName);
                return (
                  <Group key={`${m.id ?? i}-${m.at}`} gap="xs" wrap="nowrap" align="flex-start">
                    <Text size="xs" c="dimmed" w={60} style={{ flexShrink: 0 }} title={formatTime(m.at)}>
                      {formatRelative(m.at, now)}
                    </Text>
                    <Text size="xs" style={{ minWidth: 0 }} lineClamp={2} data-testid="activity-line">
                      {m.run ? (
                        <Anchor component={Link} to={`/p/${slug}/runs/${m.run}`} size="xs" fw={600}>
                          {line.subject}
                        </Anchor>
                      ) : (
                        <Text span size="xs" fw={600}>
                          {line.subject}
                        </Text>
                      )}{' '}
                      <Text span size="xs" c={line.status ? statusColor(line.status) : undefined}>
                        {line.text}
                      </Text>
                    </Text>
                  </Group>
                );
              })}
            </Stack>
          )}
        </Card>
      </SimpleGrid>
    </Stack>
  );
}
