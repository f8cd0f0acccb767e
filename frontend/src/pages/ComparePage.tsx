// Compare 2 to 50 runs (?runs=id1,id2,…, so a comparison is a link): a table of the runs
// with the params whose values differ (or all of them) and their summary metrics side by
// side, then every metric key's charts with the runs overlaid, grouped by prefix like the
// run page and with its controls. Each run keeps its colour (its place in the URL).
// Data: one request for all of it (GET /runs/compare: each run, its keys and its series,
// downsampled by the server), so 50 runs cost one request, not 150 (docs/PERFORMANCE.md).
// The live stream patches a run's status in it and refetches it when a run logs metrics.
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
import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { compareQuery } from '../api/compare';
import type { Run } from '../api/types';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { DEFAULT_VIEW, type ChartView } from '../components/MetricChart';
import { MetricControls } from '../components/MetricControls';
import { CompareChart } from '../components/CompareChart';
import { compareLines, diffKeys, flatten, parseCompareRuns } from '../lib/compare';
import { groupMetricKeys, runColor } from '../lib/metricsView';
import { formatNumber, shortId, truncateJson } from '../lib/format';

const cell = (v: unknown) => (typeof v === 'number' ? formatNumber(v, 5) : v === undefined ? '—' : truncateJson(v, 40));

export default function ComparePage() {
  const { slug } = useProject();
  const [params, setParams] = useSearchParams();
  const ids = useMemo(() => parseCompareRuns(params.get('runs')), [params]);
  const [allParams, setAllParams] = useState(false);
  const [view, setView] = useState<ChartView>(DEFAULT_VIEW);

  const cmp = useQuery(compareQuery(slug, ids));
  const items = cmp.data?.items;
  const byId = useMemo(() => new Map((items ?? []).map((it) => [it.run.id, it])), [items]);
  const runOf = (id: string): Run | undefined => byId.get(id)?.run;
  // Each key's lines, rebuilt only when the series (the answer's time: a live status patch
  // keeps it) or a run's name change: a chart redraws when its lines change identity.
  const names = ids.map((id) => byId.get(id)?.run.name || shortId(id));
  const perKey = useMemo(
    () => compareLines(ids.map((id, i) => ({ label: names[i]!, series: byId.get(id)?.series }))),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the stamp stands for the series
    [cmp.dataUpdatedAt, names.join('\u0000'), ids],
  );
  const allKeys = useMemo(() => [...perKey.keys()], [perKey]);

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

  const label = (r: Run | undefined, id: string) => r?.name || shortId(id);
  const flatParams = ids.map((id) => flatten(runOf(id)?.params as Record<string, unknown> | undefined));
  const flatSummary = ids.map((id) => flatten(runOf(id)?.summary as Record<string, unknown> | undefined));
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
      {cmp.error && <ErrorState error={cmp.error} onRetry={() => void cmp.refetch()} />}
      {cmp.error ? null : cmp.isPending ? (
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
                  const r = runOf(id);
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
          {cmp.isPending ? (
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
