// Runs: query keys, query options and mutations. Keys start with ['runs', project] so
// the live stream can patch or invalidate one project's lists and details at once.
import { serverNow } from '../lib/clock';
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
  counts: (project: string) => ['runs', project, 'count'] as const,
  count: (project: string, params: Record<string, string | undefined>) => ['runs', project, 'count', params] as const,
  values: (project: string, field: 'kind' | 'queue') => ['runs', project, 'values', field] as const,
};

export interface RunCount {
  count: number;
  more: boolean;
  cap: number;
}

/** How many runs a view holds, up to the server's cap (GET /runs/count): its own request,
 * beside the list's pages, so a page never waits for a count. */
export const runCountQuery = (project: string, params: Record<string, string | undefined>) =>
  queryOptions({
    queryKey: runKeys.count(project, params),
    queryFn: ({ signal }) => api<RunCount>('/runs/count', { query: { project, ...params }, signal }),
  });

/** A project's kinds or queues, for the filters' menus (GET /runs/values). */
export const runValuesQuery = (project: string, field: 'kind' | 'queue') =>
  queryOptions({
    queryKey: runKeys.values(project, field),
    queryFn: async ({ signal }) =>
      (await api<{ field: string; items: string[] }>('/runs/values', { query: { project, field }, signal })).items,
    staleTime: 60_000,
  });

/** "1,234 runs", or "10,000+ runs" past the cap. */
export function countText(c: RunCount): string {
  const n = c.count.toLocaleString('en');
  return `${n}${c.more ? '+' : ''} run${c.count === 1 && !c.more ? '' : 's'}`;
}

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
      const anchor = pageParam.anchor || serverNow();
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

/** The log's tail: the newest EVENT_LOG_CAP events in one request (order=desc), oldest first. */
async function fetchEventsTail(id: string, signal?: AbortSignal): Promise<RunEvent[]> {
  const page = await api<Page<RunEvent>>(`/runs/${encodeURIComponent(id)}/events`, {
    query: { order: 'desc', limit: EVENT_LOG_CAP },
    signal,
  });
  return appendCapped([], page.items.slice().reverse(), EVENT_LOG_CAP);
}

const idOf = (e: RunEvent | undefined): bigint | undefined => {
  try {
    return e?.id !== undefined ? BigInt(e.id) : undefined;
  } catch {
    return undefined;
  }
};

const newerOrSame = (e: RunEvent, than: RunEvent | undefined) => {
  const a = idOf(e),
    b = idOf(than);
  return a === undefined || b === undefined || a >= b;
};

/** A fresh tail merged with the log as it is now: lines newer than the tail's oldest that
 * the live stream added while the request was out are kept; older ones are dropped, since
 * between them and the tail there may be a silent gap. */
function mergeTail(cur: RunEvent[] | undefined, tail: RunEvent[]): RunEvent[] {
  return appendCapped((cur ?? []).filter((e) => newerOrSame(e, tail[0])), tail, EVENT_LOG_CAP);
}

export const eventsQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: runKeys.events(project, id),
    // Merged, not replaced: a refetch (after a reset) must not drop the live lines that
    // arrived while it was out.
    queryFn: async ({ signal, client, queryKey }) => {
      const tail = await fetchEventsTail(id, signal);
      return mergeTail(client.getQueryData<RunEvent[]>(queryKey), tail);
    },
    staleTime: Infinity, // kept current by the live stream (appendLiveEvents, fetchNewEvents)
  });

/** Newer events than the log holds: one page after its newest (or, given `from`, from
 * there if that is earlier: a batch that committed after a newer one), or, when more than a
 * page came meanwhile (a tab asleep for a while), the tail again, which then replaces the
 * log (keeping older lines would leave a silent gap in it). */
async function fetchEventsSince(
  id: string,
  log: RunEvent[],
  from?: bigint,
): Promise<{ events: RunEvent[]; tail: boolean }> {
  let after = lastEventId(log);
  if (!after) return { events: await fetchEventsTail(id), tail: true };
  if (from !== undefined && from > 0n && from - 1n < BigInt(after)) after = String(from - 1n);
  const page = await api<Page<RunEvent>>(`/runs/${encodeURIComponent(id)}/events`, {
    query: { after, limit: EVENT_LOG_CAP },
  });
  if (page.next_cursor) return { events: await fetchEventsTail(id), tail: true };
  return { events: page.items, tail: false };
}

/** Whether someone is looking at this run's log: its query exists. While its first load is
 * out there is no log yet, and what arrives meanwhile must wait for it. */
function logState(qc: QueryClient, project: string, id: string): 'none' | 'loading' | 'ready' {
  const q = qc.getQueryCache().find<RunEvent[]>({ queryKey: runKeys.events(project, id), exact: true });
  if (!q) return 'none';
  if (q.state.data !== undefined) return 'ready';
  return q.state.fetchStatus === 'fetching' ? 'loading' : 'none';
}

/** Waits for the log's first load, which is already out (fetchQuery joins it). */
async function logLoaded(qc: QueryClient, project: string, id: string): Promise<boolean> {
  try {
    await qc.fetchQuery(eventsQuery(project, id));
    return true;
  } catch {
    return false;
  }
}

/** Adds events the live stream carried to a cached log, in id order without duplicates;
 * nothing when nobody is looking at the run's log. Costs no request. */
export async function appendLiveEvents(
  qc: QueryClient,
  project: string,
  id: string,
  events: RunEvent[],
): Promise<void> {
  const state = logState(qc, project, id);
  if (state === 'none') return;
  // Its first load may have been answered before these committed: add them after it.
  if (state === 'loading' && !(await logLoaded(qc, project, id))) return;
  qc.setQueryData<RunEvent[]>(runKeys.events(project, id), (cur) =>
    cur === undefined ? cur : appendCapped(cur, events, EVENT_LOG_CAP),
  );
}

/** Brings a cached event log up to date over REST: the events after its newest, or from
 * `from` (an event id) when that is earlier. */
export async function fetchNewEvents(qc: QueryClient, project: string, id: string, from?: bigint): Promise<void> {
  const key = runKeys.events(project, id);
  const state = logState(qc, project, id);
  if (state === 'none') return; // nobody is looking at this run's log
  if (state === 'loading' && !(await logLoaded(qc, project, id))) return;
  const log = qc.getQueryData<RunEvent[]>(key);
  if (!log) return;
  const { events, tail } = await fetchEventsSince(id, log, from);
  // Another fetch may have landed meanwhile: merge rather than overwrite.
  qc.setQueryData<RunEvent[]>(key, (cur) => (tail ? mergeTail(cur, events) : appendCapped(cur ?? [], events, EVENT_LOG_CAP)));
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
