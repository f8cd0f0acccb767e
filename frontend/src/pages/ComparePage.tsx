// Compare 2 to 50 runs (?runs=id1,id2,…, so a comparison is a link): a table of the runs
// with the params whose values differ (or all of them) and their summary metrics side by
// side, then every metric key's charts with the runs overlaid, grouped by prefix like the
// run page and with its controls. Each run keeps its colour (its place in the URL).
// Data: each run, its keys and its series (the run page's queries, so the live stream keeps
// them current); 50 runs cost 50 × (2 + keys/20) requests (docs/PERFORMANCE.md).
import { useMemo, useState } from 'react';
import {
  Accordion,
  ActionIcon,
  Anchor,
  Badge,
  Card,
  ColorSwatch,
  Group,
  ScrollArea,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useQueries } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { runQuery } from '../api/runs';
import { metricKeysQuery, metricSeriesQuery, type MetricSeries } from '../api/metrics';
import type { Run } from '../api/types';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { DEFAULT_VIEW, type ChartView } from '../components/MetricChart';
import { MetricControls } from '../components/MetricControls';
import { CompareChart, type CompareLine } from '../components/CompareChart';
import { diffKeys, flatten, parseCompareRuns } from '../lib/compare';
import { groupMetricKeys, runColor } from '../lib/metricsView';
import { formatNumber, shortId, truncateJson } from '../lib/format';

const KEYS_PER_REQUEST = 20;

const cell = (v: unknown) => (typeof v === 'number' ? formatNumber(v, 5) : v === undefined ? '—' : truncateJson(v, 40));

export default function ComparePage() {
  const { slug } = useProject();
  const [params, setParams] = useSearchParams();
  const ids = useMemo(() => parseCompareRuns(params.get('runs')), [params]);
  const [allParams, setAllParams] = useState(false);
  const [view, setView] = useState<ChartView>(DEFAULT_VIEW);

  const runs = useQueries({ queries: ids.map((id) => runQuery(slug, id)) });
  const keys = useQueries({ queries: ids.map((id) => metricKeysQuery(slug, id)) });
  const allKeys = useMemo(() => {
    const s = new Set<string>();
    for (const q of keys) for (const k of q.data ?? []) if (k.key) s.add(k.key);
    return [...s].sort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the stamp stands for the queries' data
  }, [keys.map((q) => q.dataUpdatedAt).join(',')]);
  // Each run's own keys only: asking a run for a key it lacks costs a request for nothing.
  const seriesQueries = ids.flatMap((id, i) => {
    const own = (keys[i]?.data ?? []).flatMap((k) => (k.key ? [k.key] : []));
    const chunks: string[][] = [];
    for (let j = 0; j < own.length; j += KEYS_PER_REQUEST) chunks.push(own.slice(j, j + KEYS_PER_REQUEST));
    return chunks.map((c) => ({ run: id, q: metricSeriesQuery(slug, id, c) }));
  });
  const series = useQueries({ queries: seriesQueries.map((s) => s.q) });
  // Each key's lines, rebuilt only when a series or a run's name changes (a chart redraws
  // when its lines change identity).
  const seriesStamp = series.map((q) => q.dataUpdatedAt).join(',');
  const names = runs.map((q) => q.data?.name ?? '').join('\u0000');
  const perKey = useMemo(() => {
    const byRunKey = new Map<string, MetricSeries>();
    series.forEach((q, i) => {
      for (const s of q.data ?? []) byRunKey.set(`${seriesQueries[i]!.run} ${s.key}`, s);
    });
    const out = new Map<string, CompareLine[]>();
    for (const k of allKeys)
      out.set(
        k,
        ids.map((id, i) => ({ label: runs[i]?.data?.name || shortId(id), index: i, series: byRunKey.get(`${id} ${k}`) })),
      );
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the stamps stand for the queries' data
  }, [seriesStamp, names, allKeys, ids]);

  const remove = (id: string) => setParams({ runs: ids.filter((x) => x !== id).join(',') }, { replace: true });

  if (ids.length < 2)
    return (
      <EmptyState title="Pick at least two runs to compare">
        <Text size="sm" c="dimmed">
          Tick runs in the <Anchor component={Link} to={`/p/${slug}/runs`}>runs list</Anchor> and press Compare, or open a
          sweep and compare its trials.
        </Text>
      </EmptyState>
    );

  const failed = runs.find((q) => q.error);
  const loaded = runs.map((q) => q.data).filter((r): r is Run => !!r);
  const label = (r: Run | undefined, id: string) => r?.name || shortId(id);
  const flatParams = ids.map((_, i) => flatten(runs[i]?.data?.params as Record<string, unknown> | undefined));
  const flatSummary = ids.map((_, i) => flatten(runs[i]?.data?.summary as Record<string, unknown> | undefined));
  const paramKeys = diffKeys(flatParams, !allParams);
  const summaryKeys = diffKeys(flatSummary, false);
  const groups = groupMetricKeys(allKeys);
  const shown: ChartView = { ...view, sync: 'compare' };

  return (
    <Stack gap="md" data-testid="compare" data-runs={ids.length}>
      <Group justify="space-between">
        <Title order={2}>Compare {ids.length} runs</Title>
        <Switch label="All params" checked={allParams} onChange={(e) => setAllParams(e.currentTarget.checked)} data-testid="compare-all-params" />
      </Group>
      {failed?.error && <ErrorState error={failed.error} onRetry={() => void failed.refetch()} />}
      {loaded.length < ids.length && !failed ? (
        <LoadingRows rows={Math.min(ids.length, 6)} />
      ) : (
        <Card withBorder padding="xs">
          <ScrollArea type="auto">
            <Table fz="sm" striped data-testid="compare-table" miw={600}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Status</Table.Th>
                  {paramKeys.map((k) => (
                    <Table.Th key={`p-${k}`} ff="monospace" data-testid="compare-param">
                      {k}
                    </Table.Th>
                  ))}
                  {summaryKeys.map((k) => (
                    <Table.Th key={`s-${k}`} ff="monospace" c="blue" data-testid="compare-summary">
                      {k}
                    </Table.Th>
                  ))}
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {ids.map((id, i) => {
                  const r = runs[i]?.data;
                  return (
                    <Table.Tr key={id} data-testid="compare-row">
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <ColorSwatch color={runColor(i)} size={12} />
                          <Anchor component={Link} to={`/p/${slug}/runs/${id}`} size="sm">
                            {label(r, id)}
                          </Anchor>
                        </Group>
                      </Table.Td>
                      <Table.Td>{r?.status ? <StatusBadge status={r.status} /> : '—'}</Table.Td>
                      {paramKeys.map((k) => (
                        <Table.Td key={`p-${k}`} ff="monospace">
                          {cell(flatParams[i]?.[k])}
                        </Table.Td>
                      ))}
                      {summaryKeys.map((k) => (
                        <Table.Td key={`s-${k}`} ff="monospace">
                          {cell(flatSummary[i]?.[k])}
                        </Table.Td>
                      ))}
                      <Table.Td>
                        <ActionIcon size="sm" variant="subtle" aria-label={`remove ${label(r, id)}`} onClick={() => remove(id)}>
                          ×
                        </ActionIcon>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </ScrollArea>
          <Text size="xs" c="dimmed" mt={4}>
            {allParams ? 'All params' : paramKeys.length ? 'Params that differ' : 'No params differ'}; summary metrics in blue.
          </Text>
        </Card>
      )}
      <Card withBorder>
        <Stack gap="sm">
          <Group justify="space-between" align="flex-end">
            <Title order={4}>Metrics</Title>
            <MetricControls view={view} onChange={setView} />
          </Group>
          {keys.some((q) => q.isPending) ? (
            <LoadingRows rows={2} height={120} />
          ) : allKeys.length === 0 ? (
            <Text size="sm" c="dimmed">
              None of these runs has metrics.
            </Text>
          ) : (
            <Accordion multiple defaultValue={groups.map((g) => g.name)} variant="separated" chevronPosition="left">
              {groups.map((g) => (
                <Accordion.Item key={g.name} value={g.name} data-testid={`compare-group-${g.name}`}>
                  <Accordion.Control>
                    <Group gap="xs">
                      <Text fw={600}>{g.name}</Text>
                      <Badge size="sm" variant="light">
                        {g.keys.length}
                      </Badge>
                    </Group>
                  </Accordion.Control>
                  <Accordion.Panel>
                    <SimpleGrid cols={{ base: 1, lg: 2 }}>
                      {g.keys.map((k) => (
                        <Card withBorder key={k} padding="xs">
                          <Text size="sm" fw={600} ff="monospace">
                            {k}
                          </Text>
                          <CompareChart
                            metric={k}
                            view={shown}
                            runs={perKey.get(k) ?? []}
                          />
                        </Card>
                      ))}
                    </SimpleGrid>
                  </Accordion.Panel>
                </Accordion.Item>
              ))}
            </Accordion>
          )}
        </Stack>
      </Card>
    </Stack>
  );
}
