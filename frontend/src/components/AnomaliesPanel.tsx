// The Overview's anomalies: runs stuck (running, no heartbeat), stale (queued too long),
// interrupted (their worker stopped) or past their lease, as counts and the oldest of
// each, from GET /anomalies with the project's thresholds (editable in Settings).
import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { anomaliesQuery } from '../api/overview';
import { Link } from 'react-router-dom';
import type { AnomalyKind } from '../api/types';
import { formatDuration, formatTime, shortId } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { ErrorState, LoadingRows } from './QueryState';

export const ANOMALY_KINDS: { kind: AnomalyKind; label: string; color: string; what: string }[] = [
  { kind: 'stuck', label: 'stuck', color: 'orange', what: 'running, no heartbeat past the threshold' },
  { kind: 'stale', label: 'stale', color: 'yellow', what: 'queued longer than the threshold' },
  { kind: 'interrupted', label: 'interrupted', color: 'red', what: 'its worker stopped while it ran' },
  { kind: 'lease_expired', label: 'lease expired', color: 'grape', what: 'running past its lease, or an attempt lost its lease recently' },
];

export function AnomaliesPanel({ slug, now }: { slug: string; now: number }) {
  const refetchInterval = useRefetchInterval();
  // Under ['overview', slug]: the live stream refreshes it as runs change.
  const q = useQuery({ ...anomaliesQuery(slug), refetchInterval });
  const total = ANOMALY_KINDS.reduce((a, k) => a + (q.data?.counts?.[k.kind] ?? 0), 0);
  return (
    <Card withBorder data-testid="anomalies">
      <Group justify="space-between" mb="xs">
        <Title order={4}>Anomalies</Title>
        <Anchor component={Link} to={`/p/${slug}/settings#thresholds`} size="xs">
          thresholds
        </Anchor>
      </Group>
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.isPending ? (
        <LoadingRows rows={2} height={40} />
      ) : (
        <Stack gap="xs">
          <SimpleGrid cols={{ base: 2, sm: 4 }}>
            {ANOMALY_KINDS.map((k) => (
              <Tooltip key={k.kind} label={k.what}>
                <Group gap={6} data-testid={`anomaly-${k.kind}`}>
                  <Badge color={k.color} variant={(q.data.counts?.[k.kind] ?? 0) > 0 ? 'filled' : 'light'}>
                    {q.data.counts?.[k.kind] ?? 0}
                  </Badge>
                  <Text size="sm">{k.label}</Text>
                </Group>
              </Tooltip>
            ))}
          </SimpleGrid>
          {total === 0 ? (
            <Text size="sm" c="dimmed">
              Nothing stuck, stale, interrupted or past its lease.
            </Text>
          ) : (
            <Table fz="sm">
              <Table.Tbody>
                {(q.data.items ?? []).slice(0, 10).map((a) => {
                  const k = ANOMALY_KINDS.find((x) => x.kind === a.anomaly);
                  return (
                    <Table.Tr key={`${a.anomaly}-${a.run_id}`}>
                      <Table.Td>
                        <Badge size="sm" color={k?.color} variant="light">
                          {k?.label ?? a.anomaly}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        <Anchor component={Link} to={`/p/${slug}/runs/${a.run_id}`} ff="monospace">
                          {shortId(a.run_id)}
                        </Anchor>
                      </Table.Td>
                      <Table.Td>{a.kind}</Table.Td>
                      <Table.Td c="dimmed">{a.queue}</Table.Td>
                      <Table.Td title={formatTime(a.since)}>
                        {formatDuration(a.since ? (now - Date.parse(a.since)) / 1000 : a.age_s)}
                      </Table.Td>
                      <Table.Td>
                        <Text size="xs" c="dimmed" truncate maw={320}>
                          {a.detail}
                        </Text>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </Card>
  );
}
