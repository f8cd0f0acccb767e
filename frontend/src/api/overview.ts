// The overview's queries, as options both the page and its route loader use: the loader
// (routes.tsx) starts them at navigation, beside the sign-in check and the page's chunk,
// instead of after both; the page then reads the same cache entries (same keys), so
// nothing is asked twice. Every key sits under ['overview', slug], which the live stream
// refreshes (coalesced) as runs change.
import { queryOptions, type QueryClient } from '@tanstack/react-query';
import { api } from './client';
import { thresholdsQuery } from './reports';
import { workersQuery } from './workers';
import type { Anomalies, Page, ReportThroughput, Run } from './types';

export const NOW_LIMIT = 1000;
export const LIVE_STATUSES = ['queued', 'running', 'retrying'] as const;

export const overviewRunsQuery = (slug: string, name: string, query: Record<string, string>, limit: number) =>
  queryOptions({
    queryKey: ['overview', slug, name],
    queryFn: ({ signal }) => api<Page<Run>>('/runs', { query: { project: slug, limit, ...query }, signal }),
  });

/** The three run lists of the overview: in the queue or running now, in flight, failed. */
export const overviewLists = (slug: string) => [
  overviewRunsQuery(slug, 'now', { status: LIVE_STATUSES.join(',') }, NOW_LIMIT),
  overviewRunsQuery(slug, 'inflight', { status: 'running,retrying' }, 10),
  overviewRunsQuery(slug, 'failures', { status: 'failed' }, 10),
];

/** Exact counts of the last 24 h: runs that ended, by status, and runs that started, with the
 * hourly report they come from (the overview's throughput trend). */
export const lastDayQuery = (slug: string) =>
  queryOptions({
    queryKey: ['overview', slug, 'last-day'],
    queryFn: async ({ signal }) => {
      const t = await api<ReportThroughput>('/reports/throughput', {
        query: { project: slug, window: '24h', bucket: 'hour', by: 'status' },
        signal,
      });
      const ended: Record<string, number> = {};
      let started = 0;
      for (const r of t.items) {
        started += r.started ?? 0;
        if (r.status && r.ended) ended[r.status] = (ended[r.status] ?? 0) + r.ended;
      }
      return { ended, started, report: t };
    },
  });

export const anomaliesQuery = (slug: string) =>
  queryOptions({
    queryKey: ['overview', slug, 'anomalies'],
    queryFn: ({ signal }) => api<Anomalies>('/anomalies', { query: { project: slug, limit: 20 }, signal }),
  });

/** Everything the overview shows first, started at once (never awaited here). */
export function prefetchOverview(qc: QueryClient, slug: string): Promise<unknown>[] {
  return [
    ...overviewLists(slug).map((q) => qc.prefetchQuery(q)),
    qc.prefetchQuery(lastDayQuery(slug)),
    qc.prefetchQuery(anomaliesQuery(slug)),
    qc.prefetchQuery(workersQuery(slug)),
    qc.prefetchQuery(thresholdsQuery(slug)),
  ];
}
