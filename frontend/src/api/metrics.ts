// A run's metric series (GET /runs/{run}/metrics): the keys with their summaries, then
// downsampled points for the keys on screen. A 404 from a server without the metrics
// routes reads as "no metrics" rather than an error on every run page.
import { queryOptions } from '@tanstack/react-query';
import { api, ApiError } from './client';
import type { components } from './schema.gen';

export type MetricKey = components['schemas']['MetricKey'];
export type MetricSeries = components['schemas']['MetricSeries'];
export type MetricPoint = NonNullable<MetricSeries['points']>[number];

export const METRIC_POINTS = 500;

export const metricKeys = {
  keys: (project: string, run: string) => ['runs', project, 'metrics', run, 'keys'] as const,
  series: (project: string, run: string, keys: string[]) =>
    ['runs', project, 'metrics', run, 'series', keys.join(',')] as const,
  run: (project: string, run: string) => ['runs', project, 'metrics', run] as const,
};

export const metricKeysQuery = (project: string, run: string) =>
  queryOptions({
    queryKey: metricKeys.keys(project, run),
    queryFn: async ({ signal }): Promise<MetricKey[] | null> => {
      try {
        const r = await api<{ keys: MetricKey[] }>(`/runs/${encodeURIComponent(run)}/metrics`, {
          signal,
        });
        return r.keys;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && err.message.startsWith('no such route')) return null;
        throw err;
      }
    },
  });

export const metricSeriesQuery = (project: string, run: string, keys: string[]) =>
  queryOptions({
    queryKey: metricKeys.series(project, run, keys),
    queryFn: async ({ signal }) =>
      (
        await api<{ series: MetricSeries[] }>(`/runs/${encodeURIComponent(run)}/metrics`, {
          query: { key: keys.join(','), points: METRIC_POINTS },
          signal,
        })
      ).series,
    enabled: keys.length > 0,
  });
