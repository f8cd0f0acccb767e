// Workers: the project's fleet, and one worker.
import { queryOptions, type QueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { Page, Worker, WorkerDetail } from './types';

export const workerKeys = {
  all: (project: string) => ['workers', project] as const,
  list: (project: string) => ['workers', project, 'list'] as const,
  detail: (project: string, id: number) => ['workers', project, 'detail', id] as const,
};

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
