// The leaderboard (GET /leaderboard): a project's runs ranked by one summary metric.
import { queryOptions } from '@tanstack/react-query';
import { api } from './client';
import { runKeys } from './runs';
import type { components } from './schema.gen';

export type LeaderboardItem = components['schemas']['LeaderboardItem'];

export interface LeaderboardParams {
  metric: string;
  order: 'asc' | 'desc';
  kind?: string;
  experiment_id?: string;
  tag?: string;
}

export const leaderboardQuery = (project: string, p: LeaderboardParams) =>
  queryOptions({
    // Under the project's runs key, so the live stream's run changes refresh it.
    queryKey: [...runKeys.all(project), 'leaderboard', p] as const,
    queryFn: async ({ signal }) =>
      (
        await api<{ items: LeaderboardItem[] }>('/leaderboard', {
          query: { project, metric: p.metric, order: p.order, kind: p.kind, experiment_id: p.experiment_id, tag: p.tag, limit: 200 },
          signal,
        })
      ).items,
    enabled: p.metric !== '',
  });
