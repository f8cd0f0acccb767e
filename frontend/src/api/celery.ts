// Celery (runwatch-celery's data): the task registry, the Celery workers and a run's Celery
// fields. Types come from the OpenAPI document (schema.gen.ts).
import { queryOptions } from '@tanstack/react-query';
import { api, ApiError } from './client';
import type { components } from './schema.gen';

export type CeleryTaskName = components['schemas']['CeleryTaskName'];
export type CeleryWorker = components['schemas']['CeleryWorker'];
export type CeleryRun = components['schemas']['CeleryRun'];

export const celeryRegistryQuery = (project: string) =>
  queryOptions({
    queryKey: ['celery', project, 'registry'],
    queryFn: async ({ signal }) =>
      (await api<{ items: CeleryTaskName[] }>('/celery/registry', { query: { project }, signal })).items,
  });

export const celeryWorkersQuery = (project: string) =>
  queryOptions({
    queryKey: ['celery', project, 'workers'],
    queryFn: async ({ signal }) =>
      (await api<{ items: CeleryWorker[] }>('/celery/workers', { query: { project }, signal })).items,
  });

/** A run's Celery fields; null when the run is no Celery task (the API's 404). */
export const celeryRunQuery = (project: string, runId: string) =>
  queryOptions({
    queryKey: ['celery', project, 'run', runId],
    queryFn: async ({ signal }) => {
      try {
        return await api<CeleryRun>(`/runs/${runId}/celery`, { signal });
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    },
  });
