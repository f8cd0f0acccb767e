// A run's metric charts, shown on the run page by default: every key, grouped by prefix
// (train/, eval/, system/, the rest) in collapsible sections, with the shared controls,
// hover synced across the charts and any chart full-screen. Live: a run.metrics message
// invalidates the run's metric queries (live/apply.ts), so new points redraw the charts.
import { useMemo, useState } from 'react';
import { Accordion, ActionIcon, Badge, Card, Group, Modal, SimpleGrid, Stack, Text, Title, Tooltip } from '@mantine/core';
import { useQueries, useQuery } from '@tanstack/react-query';
import { metricKeysQuery, metricSeriesQuery, type MetricSeries } from '../api/metrics';
import { DEFAULT_VIEW, MetricChart, type ChartView } from './MetricChart';
import { MetricControls } from './MetricControls';
import { ErrorState, LoadingRows } from './QueryState';
import { groupMetricKeys, pointSeconds } from '../lib/metricsView';

/** The server answers at most this many keys per request (METRICS_MAX_KEYS). */
const KEYS_PER_REQUEST = 20;

export function RunMetricsCharts({ project, run }: { project: string; run: string }) {
  const keys = useQuery(metricKeysQuery(project, run));
  const [view, setView] = useState<ChartView>(DEFAULT_VIEW);
  const [full, setFull] = useState<string | null>(null);
  const all = useMemo(() => (keys.data ?? []).flatMap((k) => (k.key ? [k.key] : [])), [keys.data]);
  const groups = useMemo(() => groupMetricKeys(all), [all]);
  const chunks = useMemo(() => {
    const out: string[][] = [];
    for (let i = 0; i < all.length; i += KEYS_PER_REQUEST) out.push(all.slice(i, i + KEYS_PER_REQUEST));
    return out;
  }, [all]);
  const series = useQueries({ queries: chunks.map((c) => metricSeriesQuery(project, run, c)) });
  const byKey = new Map<string, MetricSeries>();
  for (const q of series) for (const s of q.data ?? []) if (s.key) byKey.set(s.key, s);
  // Relative time counts from the run's first point of any key, so charts line up.
  let origin = Infinity;
  for (const s of byKey.values()) {
    const t = s.points?.length ? pointSeconds(s.points[0]!) : NaN;
    if (t < origin) origin = t;
  }
  const shown: ChartView = { ...view, sync: `run-${run}`, origin: Number.isFinite(origin) ? origin : undefined };

  if (keys.isPending) return <LoadingRows rows={2} height={120} />;
  if (keys.error) return <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />;
  // No metrics (or a server without them): the run page shows nothing here.
  if (!keys.data || keys.data.length === 0) return null;
  const failed = series.find((q) => q.error);
  const fullSeries = full ? byKey.get(full) : undefined;

  return (
    <Card withBorder data-testid="run-metrics">
      <Stack gap="sm">
        <Group justify="space-between" align="flex-end">
          <Title order={4}>Metrics</Title>
          <MetricControls view={view} onChange={setView} />
        </Group>
        {failed?.error && <ErrorState error={failed.error} onRetry={() => void failed.refetch()} />}
        <Accordion multiple defaultValue={groups.map((g) => g.name)} variant="separated" chevronPosition="left">
          {groups.map((g) => (
            <Accordion.Item key={g.name} value={g.name} data-testid={`metric-group-${g.name}`}>
              <Accordion.Control>
                <Group gap="xs">
                  <Text fw={600}>{g.name}</Text>
                  <Badge size="sm" variant="light">
                    {g.keys.length}
                  </Badge>
                </Group>
              </Accordion.Control>
              <Accordion.Panel>
                <SimpleGrid cols={{ base: 1, md: 2, xl: 3 }}>
                  {g.keys.map((k) => {
                    const s = byKey.get(k);
                    return (
                      <Card withBorder key={k} padding="xs">
                        <Group justify="space-between" wrap="nowrap" gap="xs">
                          <Text size="sm" fw={600} ff="monospace" truncate>
                            {k}{' '}
                            {s && (
                              <Text span size="xs" c="dimmed" ff="body">
                                {s.count} points{s.downsampled ? `, ${s.points?.length ?? 0} shown` : ''}
                              </Text>
                            )}
                          </Text>
                          <Tooltip label="Full screen">
                            <ActionIcon
                              variant="subtle"
                              size="sm"
                              aria-label={`full screen ${k}`}
                              data-testid={`metric-full-${k}`}
                              onClick={() => setFull(k)}
                            >
                              ⤢
                            </ActionIcon>
                          </Tooltip>
                        </Group>
                        {s ? <MetricChart series={s} view={shown} /> : <LoadingRows rows={1} height={160} />}
                      </Card>
                    );
                  })}
                </SimpleGrid>
              </Accordion.Panel>
            </Accordion.Item>
          ))}
        </Accordion>
      </Stack>
      <Modal opened={full !== null} onClose={() => setFull(null)} fullScreen title={full} data-testid="metric-fullscreen">
        <Stack>
          <MetricControls view={view} onChange={setView} />
          {fullSeries && (
            <MetricChart series={fullSeries} view={{ ...shown, sync: undefined }} height={Math.max(window.innerHeight - 200, 300)} />
          )}
        </Stack>
      </Modal>
    </Card>
  );
}
