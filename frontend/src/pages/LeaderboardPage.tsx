// A project's leaderboard: runs ranked by any summary metric (best first: highest, or
// lowest for a loss), filtered by kind, experiment id and tag, with the params and summary
// columns the user picks. Everything is in the URL (?metric=&order=&kind=&experiment_id=
// &tag=&cols=p:lr,s:acc), so a leaderboard is a link. Ranking is the server's (GET
// /leaderboard); the metric and column choices come from the runs' own keys.
import { useMemo } from 'react';
import { Anchor, Autocomplete, Card, Group, MultiSelect, SegmentedControl, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { leaderboardQuery, type LeaderboardParams } from '../api/leaderboard';
import { api } from '../api/client';
import type { Page, Run } from '../api/types';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { flatten } from '../lib/compare';
import { formatNumber, shortId, truncateJson } from '../lib/format';

const cell = (v: unknown) => (typeof v === 'number' ? formatNumber(v, 5) : v === undefined ? '—' : truncateJson(v, 40));

export default function LeaderboardPage() {
  const { slug } = useProject();
  const [sp, setSp] = useSearchParams();
  const p: LeaderboardParams = {
    metric: sp.get('metric') ?? '',
    order: sp.get('order') === 'asc' ? 'asc' : 'desc',
    kind: sp.get('kind') || undefined,
    experiment_id: sp.get('experiment_id') || undefined,
    tag: sp.get('tag') || undefined,
  };
  const cols = (sp.get('cols') ?? '').split(',').filter((c) => /^[ps]:./.test(c));
  const set = (k: string, v: string | undefined) => {
    const next = new URLSearchParams(sp);
    if (v) next.set(k, v);
    else next.delete(k);
    setSp(next, { replace: true });
  };

  // The keys to offer: from the newest runs' summaries and params, and the ranked runs'.
  const recent = useQuery({
    // Not under the runs lists' key: the live stream patches those as list pages.
    queryKey: ['runs', slug, 'leaderboard-keys'],
    queryFn: ({ signal }) => api<Page<Run>>('/runs', { query: { project: slug, limit: 200 }, signal }),
  });
  const board = useQuery(leaderboardQuery(slug, p));
  const { summaryKeys, paramKeys } = useMemo(() => {
    const s = new Set<string>();
    const pk = new Set<string>();
    for (const r of [...(recent.data?.items ?? []), ...(board.data ?? [])]) {
      for (const [k, v] of Object.entries(flatten(r.summary as Record<string, unknown>))) if (typeof v === 'number') s.add(k);
      for (const k of Object.keys(flatten(r.params as Record<string, unknown>))) pk.add(k);
    }
    return { summaryKeys: [...s].sort(), paramKeys: [...pk].sort() };
  }, [recent.data, board.data]);
  const colChoices = [
    { group: 'params', items: paramKeys.map((k) => ({ value: `p:${k}`, label: k })) },
    { group: 'summary', items: summaryKeys.filter((k) => k !== p.metric).map((k) => ({ value: `s:${k}`, label: k })) },
  ];

  return (
    <Stack gap="sm" data-testid="leaderboard">
      <Title order={2}>Leaderboard</Title>
      <Group align="flex-end" wrap="wrap">
        <Autocomplete
          label="Rank by (summary metric)"
          placeholder="e.g. eval/accuracy"
          data={summaryKeys}
          value={p.metric}
          onChange={(v) => set('metric', v)}
          w={240}
          data-testid="leaderboard-metric"
        />
        <SegmentedControl
          value={p.order}
          onChange={(v) => set('order', v === 'asc' ? 'asc' : undefined)}
          data={[
            { value: 'desc', label: 'Highest first' },
            { value: 'asc', label: 'Lowest first' },
          ]}
          data-testid="leaderboard-order"
        />
        <TextInput label="Kind" value={p.kind ?? ''} onChange={(e) => set('kind', e.currentTarget.value)} w={140} />
        <TextInput label="Experiment id" value={p.experiment_id ?? ''} onChange={(e) => set('experiment_id', e.currentTarget.value)} w={120} />
        <TextInput label="Tag" value={p.tag ?? ''} onChange={(e) => set('tag', e.currentTarget.value)} w={140} />
        <MultiSelect
          label="Columns"
          data={colChoices}
          value={cols}
          onChange={(v) => set('cols', v.join(','))}
          searchable
          clearable
          miw={260}
          maw={520}
          data-testid="leaderboard-cols"
        />
      </Group>
      {!p.metric ? (
        <EmptyState title="Pick a summary metric to rank the runs by">
          <Text size="sm" c="dimmed">
            Runs report summaries with PATCH /api/v1/runs/{'{run}'} {'{"summary": {…}}'}.
          </Text>
        </EmptyState>
      ) : board.isPending ? (
        <LoadingRows rows={8} />
      ) : board.error ? (
        <ErrorState error={board.error} onRetry={() => void board.refetch()} />
      ) : board.data.length === 0 ? (
        <EmptyState title={`No run has ${p.metric} in its summary${p.kind || p.tag || p.experiment_id ? ' with these filters' : ''}`} />
      ) : (
        <Card withBorder padding="xs">
          <Table fz="sm" striped data-testid="leaderboard-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>Run</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ff="monospace">{p.metric}</Table.Th>
                {cols.map((c) => (
                  <Table.Th key={c} ff="monospace" c={c.startsWith('s:') ? 'blue' : undefined} data-testid="leaderboard-col">
                    {c.slice(2)}
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {board.data.map((r, i) => {
                const fp = flatten(r.params as Record<string, unknown>);
                const fs = flatten(r.summary as Record<string, unknown>);
                return (
                  <Table.Tr key={r.id} data-testid="leaderboard-row">
                    <Table.Td>{i + 1}</Table.Td>
                    <Table.Td>
                      <Anchor component={Link} to={`/p/${slug}/runs/${r.id}`} size="sm">
                        {r.name || shortId(r.id)}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{r.kind}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={r.status} />
                    </Table.Td>
                    <Table.Td ff="monospace" fw={600}>
                      {formatNumber(r.value, 5)}
                    </Table.Td>
                    {cols.map((c) => (
                      <Table.Td key={c} ff="monospace">
                        {cell((c.startsWith('p:') ? fp : fs)[c.slice(2)])}
                      </Table.Td>
                    ))}
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </Stack>
  );
}
