// The compare view's one read (GET /runs/compare): 2 to 50 runs with their metric keys and
// series, so the page costs one request whatever the number of runs (it made 3 a run). The
// server picks the points per series (up to 500, within its bound of 200,000 a answer). Kept
// under ['runs', project, 'compare', …]: a live reset refetches it with the other run
// queries, a run.updated patches its run in place, a run.metrics refetches it (live/apply.ts).
import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { components } from './schema.gen';
import type { Run } from './types';

export type RunCompare = components['schemas']['RunCompare'];
export type CompareItem = RunCompare['items'][number];

export const compareKeys = {
  all: (project: string) => ['runs', project, 'compare'] as const,
  runs: (project: string, ids: readonly string[]) => ['runs', project, 'compare', ids.join(',')] as const,
};

export const compareQuery = (project: string, ids: readonly string[]) =>
  queryOptions({
    queryKey: compareKeys.runs(project, ids),
    queryFn: ({ signal }) => api<RunCompare>('/runs/compare', { query: { project, runs: ids.join(',') }, signal }),
    enabled: ids.length >= 2,
    // Removing a run from the URL keeps the table and charts on screen while the smaller
    // comparison loads.
    placeholderData: keepPreviousData,
  });

/** The cached comparisons that hold run (their keys), for the live stream's refetch. */
export function compareKeysWith(qc: QueryClient, project: string, run: string): (readonly unknown[])[] {
  return qc
    .getQueriesData<RunCompare>({ queryKey: compareKeys.all(project) })
    .filter(([key]) => String(key[3] ?? '').split(',').includes(run))
    .map(([key]) => key);
}

/** A run's new fields merged into every cached comparison that holds it. The query keeps
 * its dataUpdatedAt (the series did not change): the page redraws its charts only when
 * that moves. */
export function patchCompareRun(qc: QueryClient, project: string, run: Run): void {
  const id = run.id;
  if (!id) return;
  for (const [key, data] of qc.getQueriesData<RunCompare>({ queryKey: compareKeys.all(project) })) {
    if (!data || !data.items.some((it) => it.run.id === id)) continue;
    const items = data.items.map((it) => (it.run.id === id ? { ...it, run: { ...it.run, ...run } } : it));
    qc.setQueryData<RunCompare>(key, { ...data, items }, { updatedAt: qc.getQueryState(key)?.dataUpdatedAt });
  }
}
