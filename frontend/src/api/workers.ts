// Workers: the project's fleet, one worker, and a worker's own log (its newest
// WORKER_LOG_CAP lines, kept current from worker.event messages: live/apply.ts).
import { queryOptions, type QueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { Page, Worker, WorkerDetail, WorkerEvent } from './types';
import { appendCapped, lastEventId } from '../lib/eventLog';

/** The lines of a worker's log the page keeps (and renders, virtualised). */
export const WORKER_LOG_CAP = 5000;
const PAGE = 1000;

export const workerKeys = {
  all: (project: string) => ['workers', project] as const,
  list: (project: string) => ['workers', project, 'list'] as const,
  detail: (project: string, id: number) => ['workers', project, 'detail', id] as const,
  events: (project: string, id: number) => ['workers', project, 'events', id] as const,
};

/** The log's tail: the newest WORKER_LOG_CAP lines, newest-first pages turned oldest first. */
export const workerEventsQuery = (project: string, id: number) =>
  queryOptions({
    queryKey: workerKeys.events(project, id),
    queryFn: async ({ signal }) => {
      let out: WorkerEvent[] = [];
      let before: string | null | undefined;
      do {
        const page = await api<Page<WorkerEvent>>(`/workers/${id}/events`, {
          query: { order: 'desc', limit: PAGE, before: before ?? undefined },
          signal,
        });
        out = [...page.items.slice().reverse(), ...out];
        before = page.next_cursor;
      } while (before && out.length < WORKER_LOG_CAP);
      return appendCapped(out, [], WORKER_LOG_CAP);
    },
    staleTime: Infinity,
  });

/** Lines a live frame carried: merged by id into the cached tail (if the page has one). */
export function appendWorkerEvents(qc: QueryClient, project: string, id: number, events: WorkerEvent[]): void {
  qc.setQueryData<WorkerEvent[]>(workerKeys.events(project, id), (old) =>
    old ? appendCapped(old, events, WORKER_LOG_CAP) : old,
  );
}

/** Lines a frame could not carry (past its budget): fetched after the newest cached one. */
export async function fetchNewWorkerEvents(qc: QueryClient, project: string, id: number): Promise<void> {
  const key = workerKeys.events(project, id);
  let after = lastEventId(qc.getQueryData<WorkerEvent[]>(key) ?? []);
  if (!qc.getQueryData(key)) return;
  for (let i = 0; i < WORKER_LOG_CAP / PAGE; i++) {
    const page = await api<Page<WorkerEvent>>(`/workers/${id}/events`, { query: { after: after ?? '0', limit: PAGE } });
    appendWorkerEvents(qc, project, id, page.items);
    if (!page.next_cursor) break;
    after = page.next_cursor;
  }
}

export const workersQuery = (project: string) =>
  queryOptions({
    queryKey: workerKeys.list(project),
    queryFn: async ({ signal }) =>
      (await api<Page<Worker>>('/workers', { query: { project }, signal })).items,
  });

export const workerQuery = (project: string, id: number) =>
  queryOptions({
    queryKey: workerKeys.detail(project, id),
    queryFn: ({ signal }) => api<WorkerDetail>(`/workers/${id}`, { signal }),
  });

/** A worker as the live stream sent it: replace it in the list and its detail. */
export function patchWorker(qc: QueryClient, project: string, w: Worker): void {
  if (w.id === undefined) return;
  qc.setQueryData<WorkerDetail>(workerKeys.detail(project, w.id), (old) =>
    old ? { ...old, worker: { ...old.worker, ...w } } : old,
  );
  qc.setQueryData<Worker[]>(workerKeys.list(project), (list) => {
    if (!list) return list;
    const i = list.findIndex((x) => x.id === w.id);
    if (i < 0) return [w, ...list];
    const next = list.slice();
    next[i] = { ...next[i], ...w };
    return next;
  });
}
