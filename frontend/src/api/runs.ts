// Runs: query keys, query options and mutations. Keys start with ['runs', project] so
// the live stream can patch or invalidate one project's lists and details at once.
import {
  infiniteQueryOptions,
  queryOptions,
  useMutation,
  useQueryClient,
  type InfiniteData,
  type QueryClient,
} from '@tanstack/react-query';
import { api } from './client';
import type { Attempt, Page, Run, RunEvent } from './types';
import { appendCapped, EVENT_LOG_CAP, lastEventId } from '../lib/eventLog';

export const RUNS_PAGE = 100;

export const runKeys = {
  all: (project: string) => ['runs', project] as const,
  lists: (project: string) => ['runs', project, 'list'] as const,
  list: (project: string, params: Record<string, string | undefined>) =>
    ['runs', project, 'list', params] as const,
  detail: (project: string, id: string) => ['runs', project, 'detail', id] as const,
  events: (project: string, id: string) => ['runs', project, 'events', id] as const,
  attempts: (project: string, id: string) => ['runs', project, 'attempts', id] as const,
};

/** A page of runs plus the instant its listing was anchored at (see runFiltersToApi). */
export interface RunsPage extends Page<Run> {
  anchor: number;
}
interface RunsPageParam {
  cursor: string | null;
  anchor: number;
}
export type RunsData = InfiniteData<RunsPage, RunsPageParam>;

/**
 * `params(anchor)` builds the API query for the instant the listing started, so a
 * "last 24 h" view asks every page about the same 24 hours.
 */
export function runsListQuery(
  project: string,
  key: Record<string, string | undefined>,
  params: (anchor: number) => Record<string, string | undefined>,
) {
  return infiniteQueryOptions({
    queryKey: runKeys.list(project, key),
    initialPageParam: { cursor: null, anchor: 0 } as RunsPageParam,
    queryFn: async ({ pageParam, signal }): Promise<RunsPage> => {
      const anchor = pageParam.anchor || Date.now();
      const page = await api<Page<Run>>('/runs', {
        query: {
          project,
          ...params(anchor),
          limit: RUNS_PAGE,
          cursor: pageParam.cursor ?? undefined,
        },
        signal,
      });
      return { ...page, anchor };
    },
    getNextPageParam: (last) =>
      last.next_cursor ? { cursor: last.next_cursor, anchor: last.anchor } : undefined,
  });
}

export const runQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: runKeys.detail(project, id),
    queryFn: ({ signal }) => api<Run>(`/runs/${encodeURIComponent(id)}`, { signal }),
  });

export const attemptsQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: runKeys.attempts(project, id),
    queryFn: async ({ signal }) =>
      (await api<Page<Attempt>>(`/runs/${encodeURIComponent(id)}/attempts`, { signal })).items,
  });

/** Most pages a full event-log load walks through before keeping the newest lines. */
const EVENT_PAGES_MAX = 50;

async function fetchEventsAfter(
  id: string,
  after: string | undefined,
  log: RunEvent[],
  signal?: AbortSignal,
): Promise<RunEvent[]> {
  // The API lists events oldest first after an id; the newest EVENT_LOG_CAP are kept.
  for (let i = 0; i < EVENT_PAGES_MAX; i++) {
    const page = await api<Page<RunEvent>>(`/runs/${encodeURIComponent(id)}/events`, {
      query: { after, limit: 1000 },
      signal,
    });
    log = appendCapped(log, page.items, EVENT_LOG_CAP);
    if (!page.next_cursor || page.items.length === 0) break;
    after = page.next_cursor;
  }
  return log;
}

export const eventsQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: runKeys.events(project, id),
    queryFn: ({ signal }) => fetchEventsAfter(id, undefined, [], signal),
    staleTime: Infinity, // kept current by the live stream (fetchNewEvents)
  });

/** Brings a cached event log up to date: only the events after its newest. */
export async function fetchNewEvents(qc: QueryClient, project: string, id: string): Promise<void> {
  const key = runKeys.events(project, id);
  const log = qc.getQueryData<RunEvent[]>(key);
  if (!log) return; // nobody is looking at this run's log
  const next = await fetchEventsAfter(id, lastEventId(log), log);
  // Another fetch may have landed meanwhile: merge rather than overwrite.
  qc.setQueryData<RunEvent[]>(key, (cur) => appendCapped(cur ?? [], next, EVENT_LOG_CAP));
}

/** Puts a run (as the API or the live stream sent it) everywhere it is cached. */
export function patchRun(qc: QueryClient, project: string, run: Run): void {
  if (!run.id) return;
  qc.setQueryData<Run>(runKeys.detail(project, run.id), (old) => (old ? { ...old, ...run } : old));
  qc.setQueriesData<RunsData>({ queryKey: runKeys.lists(project) }, (data) => {
    if (!data) return data;
    let changed = false;
    const pages = data.pages.map((p) => {
      const i = p.items.findIndex((r) => r.id === run.id);
      if (i < 0) return p;
      changed = true;
      const items = p.items.slice();
      items[i] = { ...items[i], ...run };
      return { ...p, items };
    });
    return changed ? { ...data, pages } : data;
  });
}

export function useCancelRun(project: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<Run>(`/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
    onSuccess: (run) => patchRun(qc, project, run),
  });
}
