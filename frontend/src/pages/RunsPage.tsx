// Runs: the filtered, sorted, paged table. The view (filters + sort) is the URL; pages of
// 100 come from the server by cursor as the table scrolls; new and changed runs arrive
// through the live stream (live/apply.ts patches this query's cache).
import { useCallback, useMemo } from 'react';
import { Group, Stack, Switch, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { countText, runCountQuery, runsListQuery } from '../api/runs';
import { useProject } from '../components/guards';
import { RunFiltersBar } from '../components/RunFiltersBar';
import { RunsTable } from '../components/RunsTable';
import { RootsList } from '../components/graph/RootsList';
import { CompareBar, useRunSelection } from '../components/RunSelection';
import { EmptyState, ErrorState, FirstRunHint, LoadingRows } from '../components/QueryState';
import {
  isFiltered,
  parseRunFilters,
  runFiltersToApi,
  runFiltersToSearch,
  type RunFilters,
} from '../lib/runFilters';
import { useNow } from '../lib/useNow';

export default function RunsPage() {
  const { slug } = useProject();
  const [sp, setSp] = useSearchParams();
  const filters = useMemo(() => parseRunFilters(sp), [sp]);
  const key = useMemo(() => Object.fromEntries(runFiltersToSearch(filters)), [filters]);
  const setFilters = useCallback(
    (f: RunFilters) => setSp(runFiltersToSearch(f), { replace: true }),
    [setSp],
  );
  const roots = sp.get('roots') === '1';
  const q = useInfiniteQuery({ ...runsListQuery(slug, key, (anchor) => runFiltersToApi(filters, anchor)), enabled: !roots });
  const runs = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  const now = useNow(1000);
  // The view's total (capped by the server), for the order by creation only: the other
  // sorts list only runs that started or ended, which the count does not know.
  const countParams = useMemo(() => {
    const { sort: _s, order: _o, ...rest } = runFiltersToApi(filters, now);
    return rest;
    // The time range is anchored when the view changes, not every second.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filters]);
  const count = useQuery({ ...runCountQuery(slug, countParams), enabled: filters.sort === 'created' && !roots });
  const selection = useRunSelection();
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = q;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  // Roots only (?roots=1): the project's trees, each expandable (components/graph/RootsList).
  const rootsToggle = (
    <Switch
      label="Roots only"
      checked={roots}
      onChange={(e) => setSp(e.currentTarget.checked ? { roots: '1' } : {}, { replace: true })}
      data-testid="roots-only"
    />
  );
  if (roots)
    return (
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={2}>Runs</Title>
          {rootsToggle}
        </Group>
        <RootsList project={slug} />
      </Stack>
    );

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={2}>Runs</Title>
        {rootsToggle}
        {q.data && (
          <Text size="sm" c="dimmed" data-testid="runs-count">
            {count.data ? `${countText(count.data)} · ` : ''}
            {runs.length} loaded{q.hasNextPage ? ', more below' : ''}
          </Text>
        )}
      </Group>
      <RunFiltersBar value={filters} onChange={setFilters} project={slug} />
      <CompareBar project={slug} sel={selection} />
      {filters.sort !== 'created' && (
        <Text size="xs" c="dimmed">
          {filters.sort === 'started'
            ? 'Sorted by start: only runs that have started are listed.'
            : filters.sort === 'ended'
              ? 'Sorted by end: only runs that have ended are listed.'
              : 'Sorted by duration: only runs that have started and ended are listed.'}
        </Text>
      )}
      {q.isPending ? (
        <LoadingRows rows={10} />
      ) : q.error && !q.data ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : runs.length === 0 ? (
        isFiltered(filters) || filters.sort !== 'created' ? (
          <EmptyState title="No runs match these filters">
            <Text size="sm" c="dimmed">
              Widen the time range or clear a filter.
            </Text>
          </EmptyState>
        ) : (
          <EmptyState title="No runs yet">
            <FirstRunHint />
          </EmptyState>
        )
      ) : (
        <>
          <RunsTable
            project={slug}
            runs={runs}
            now={now}
            hasMore={!!q.hasNextPage}
            loadingMore={q.isFetchingNextPage}
            onLoadMore={loadMore}
            height="calc(100vh - 230px)"
            selection={selection}
          />
          {q.error && <ErrorState error={q.error} onRetry={() => void q.fetchNextPage()} />}
        </>
      )}
    </Stack>
  );
}
