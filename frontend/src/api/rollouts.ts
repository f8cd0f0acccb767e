// The agent-lightning store's views: the Rollouts view (GET /rollouts, a rollout's attempts
// on demand) and the Resources page (GET /resources, one id's versions). Keys start with
// ['rollouts', project] and ['resources', project]. The live stream refetches the rollout
// queries on screen when a rollout changes (live/apply.ts); resources are not published, so
// both pages also poll at the user's refresh interval (lib/prefs), as the workers page does.
import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import { api } from './client';
import type { Page, ResourcesSummary, ResourcesVersions, Rollout, RolloutAttempt } from './types';

export const ROLLOUTS_PAGE = 100;

export const rolloutKeys = {
  list: (project: string, params: Record<string, string | undefined>) => ['rollouts', project, 'list', params] as const,
  attempts: (project: string, id: string) => ['rollouts', project, 'attempts', id] as const,
};

export const resourcesKeys = {
  list: (project: string) => ['resources', project, 'list'] as const,
  versions: (project: string, id: string) => ['resources', project, 'versions', id] as const,
};

/** `params`: status (a comma list of rollout statuses) and resources_id, each optional. */
export function rolloutsQuery(project: string, params: Record<string, string | undefined>) {
  return infiniteQueryOptions({
    queryKey: rolloutKeys.list(project, params),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<Page<Rollout>>('/rollouts', {
        query: { project, ...params, limit: ROLLOUTS_PAGE, cursor: pageParam ?? undefined },
        signal,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export const rolloutAttemptsQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: rolloutKeys.attempts(project, id),
    queryFn: async ({ signal }) =>
      (await api<Page<RolloutAttempt>>(`/rollouts/${encodeURIComponent(id)}/attempts`, { signal })).items,
  });

export function resourcesQuery(project: string) {
  return infiniteQueryOptions({
    queryKey: resourcesKeys.list(project),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<Page<ResourcesSummary>>('/resources', {
        query: { project, limit: 100, cursor: pageParam ?? undefined },
        signal,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export const resourcesVersionsQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: resourcesKeys.versions(project, id),
    queryFn: ({ signal }) =>
      api<ResourcesVersions>(`/resources/${encodeURIComponent(id)}`, { query: { project }, signal }),
  });
