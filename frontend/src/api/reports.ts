// Reporting: the built-in reports, failure groups, anomalies and their thresholds, ad-hoc
// SQL (JSON or CSV) and saved reports. Every read is narrowed to the current project with
// ?project= (or "project" in the body), so a report shows what the project page is about.
import {
  infiniteQueryOptions,
  queryOptions,
  useMutation,
  useQueryClient,
} from '@tanstack/react-query';
import { ApiError, api, apiBlob, apiWithHeaders } from './client';
import type {
  Anomalies,
  AnomalyThresholds,
  ChartSpec,
  FailureGroups,
  Page,
  QueryResult,
  ReportDurations,
  ReportFailureRate,
  ReportThroughput,
  Run,
  SavedReport,
} from './types';

export type Bucket = 'hour' | 'day';
export type Window = '24h' | '7d' | '30d' | '90d';

export const reportKeys = {
  all: (project: string) => ['reports', project] as const,
  builtin: (project: string, name: string, params: Record<string, string>) =>
    ['reports', project, 'builtin', name, params] as const,
  groupsAll: (project: string) => ['reports', project, 'groups'] as const,
  groups: (project: string, window: string) => ['reports', project, 'groups', window] as const,
  groupRunsAll: (project: string) => ['reports', project, 'group-runs'] as const,
  groupRuns: (project: string, fp: string) => ['reports', project, 'group-runs', fp] as const,
  anomalies: (project: string) => ['reports', project, 'anomalies'] as const,
  thresholds: (project: string) => ['reports', project, 'thresholds'] as const,
  saved: (project: string) => ['reports', project, 'saved'] as const,
  schema: ['reports', 'schema'] as const,
};

/** Where a built-in report was read (X-Runwatch-Read-From): a streaming replica, and how
 * far behind (X-Runwatch-Replica-Lag, seconds); the primary; or the primary because the
 * configured replica could not answer. null: the server did not say. */
export interface ReadFrom {
  from: 'replica' | 'primary' | 'primary-fallback' | null;
  lagS: number | null;
}

export function readFrom(headers: Headers): ReadFrom {
  const f = headers.get('X-Runwatch-Read-From');
  const lag = headers.get('X-Runwatch-Replica-Lag');
  const n = lag === null ? NaN : Number(lag);
  return {
    from: f === 'replica' || f === 'primary' || f === 'primary-fallback' ? f : null,
    lagS: Number.isFinite(n) && n >= 0 ? n : null,
  };
}

function builtin<T>(project: string, name: string, path: string, params: Record<string, string>) {
  return queryOptions({
    queryKey: reportKeys.builtin(project, name, params),
    queryFn: async ({ signal }): Promise<T & { read: ReadFrom }> => {
      const { data, headers } = await apiWithHeaders<T>(path, { query: { project, ...params }, signal });
      return { ...data, read: readFrom(headers) };
    },
  });
}

export const throughputQuery = (project: string, p: { window: string; bucket: Bucket; by: string }) =>
  builtin<ReportThroughput>(project, 'throughput', '/reports/throughput', p);

export const durationsQuery = (
  project: string,
  p: { window: string; metric: 'duration' | 'queue_wait'; by: string },
) => builtin<ReportDurations>(project, 'durations', '/reports/durations', p);

export const failureRateQuery = (project: string, p: { window: string; bucket: Bucket; by: string }) =>
  builtin<ReportFailureRate>(project, 'failure-rate', '/reports/failure-rate', p);

export const failureGroupsQuery = (project: string, window: string) =>
  queryOptions({
    queryKey: reportKeys.groups(project, window),
    queryFn: ({ signal }) =>
      api<FailureGroups>('/failure-groups', { query: { project, window, limit: 200 }, signal }),
  });

export const failureGroupRunsQuery = (project: string, fingerprint: string) =>
  infiniteQueryOptions({
    queryKey: reportKeys.groupRuns(project, fingerprint),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<Page<Run>>(`/failure-groups/${encodeURIComponent(fingerprint)}/runs`, {
        query: { project, limit: 100, cursor: pageParam ?? undefined },
        signal,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

export const anomaliesQuery = (project: string) =>
  queryOptions({
    queryKey: reportKeys.anomalies(project),
    queryFn: ({ signal }) => api<Anomalies>('/anomalies', { query: { project, limit: 50 }, signal }),
  });

const thresholdsPath = (project: string) => `/projects/${encodeURIComponent(project)}/anomaly-thresholds`;

export const thresholdsQuery = (project: string) =>
  queryOptions({
    queryKey: reportKeys.thresholds(project),
    queryFn: ({ signal }) => api<AnomalyThresholds>(thresholdsPath(project), { signal }),
  });

export function useSaveThresholds(project: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { stuck_after_s: number; stale_after_s: number; lease_window_s: number }) =>
      api<AnomalyThresholds>(thresholdsPath(project), { method: 'PUT', body: v }),
    onSuccess: (t) => {
      qc.setQueryData(reportKeys.thresholds(project), t);
      void qc.invalidateQueries({ queryKey: reportKeys.anomalies(project) });
    },
  });
}

// ---- ad-hoc SQL and saved reports

/** Ad-hoc queries have concurrency caps (RUNWATCH_REPORT_CONCURRENCY and _PER_USER): a
 * query refused because others are running (429 too_many_queries) is asked again after a
 * short wait, a few times, before the refusal is shown. Queries only read. */
export async function withQuerySeat<T>(
  run: () => Promise<T>,
  signal?: AbortSignal,
  waits = [500, 1000, 2000, 4000],
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await run();
    } catch (err) {
      const busy = err instanceof ApiError && err.status === 429 && err.code === 'too_many_queries';
      if (!busy || i >= waits.length || signal?.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, waits[i]));
    }
  }
}

/** Runs one statement over the report schema, narrowed to `project`. */
export function runSql(project: string, sql: string, signal?: AbortSignal): Promise<QueryResult> {
  return withQuerySeat(
    () => api<QueryResult>('/reports/query', { method: 'POST', body: { sql, project }, signal }),
    signal,
  );
}

export function runSaved(id: number, signal?: AbortSignal): Promise<QueryResult> {
  return withQuerySeat(() => api<QueryResult>(`/reports/saved/${id}/run`, { method: 'POST', signal }), signal);
}

/** The same statement as CSV (the server's own rendering, with its row cap). */
export async function downloadCsv(
  what: { project: string; sql: string } | { saved: number },
): Promise<{ blob: Blob; truncated: boolean }> {
  const { blob, headers } = await withQuerySeat(() =>
    'saved' in what
      ? apiBlob(`/reports/saved/${what.saved}/run`, 'text/csv', { method: 'POST', query: { format: 'csv' } })
      : apiBlob('/reports/query', 'text/csv', {
          method: 'POST',
          query: { format: 'csv' },
          body: { sql: what.sql, project: what.project },
        }),
  );
  return { blob, truncated: headers.get('X-Runwatch-Truncated') === 'true' };
}

export const savedReportsQuery = (project: string) =>
  queryOptions({
    queryKey: reportKeys.saved(project),
    queryFn: async ({ signal }) =>
      (await api<Page<SavedReport>>('/reports/saved', { query: { project }, signal })).items,
  });

export interface SavedInput {
  name: string;
  sql: string;
  chart: ChartSpec;
}

export function useSaveReport(project: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: SavedInput & { id?: number }) =>
      v.id === undefined
        ? api<SavedReport>('/reports/saved', {
            method: 'POST',
            body: { project, name: v.name, sql: v.sql, chart: v.chart },
          })
        : api<SavedReport>(`/reports/saved/${v.id}`, {
            method: 'PATCH',
            body: { name: v.name, sql: v.sql, chart: v.chart },
          }),
    onSuccess: () => qc.invalidateQueries({ queryKey: reportKeys.saved(project) }),
  });
}

export function useDeleteReport(project: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api<void>(`/reports/saved/${id}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: reportKeys.saved(project) }),
  });
}

/**
 * The report schema's views (with their columns) and functions (with their arguments),
 * read through the same ad-hoc endpoint as the editor: the read-only login may read the
 * catalogue of what it may query, and nothing else.
 */
export const SCHEMA_SQL = `select c.table_name as object, 'view' as what, c.column_name as name, c.data_type as type, c.ordinal_position as pos
from information_schema.columns c where c.table_schema = 'report'
union all
select p.proname, 'function', pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), 0
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'report' and p.proname <> 'visible_projects'
order by 2 desc, 1, 5`;

export interface SchemaObject {
  name: string;
  what: 'view' | 'function';
  /** view: its columns with their types; function: one entry, arguments → result. */
  columns: { name: string; type: string }[];
}

export function schemaFromResult(res: QueryResult): SchemaObject[] {
  const out: SchemaObject[] = [];
  for (const row of res.rows) {
    const [object, what, name, type] = row as [string, 'view' | 'function', string, string];
    let o = out[out.length - 1];
    if (!o || o.name !== object || o.what !== what) {
      o = { name: object, what, columns: [] };
      out.push(o);
    }
    o.columns.push({ name, type });
  }
  return out;
}

export const schemaQuery = (project: string) =>
  queryOptions({
    queryKey: reportKeys.schema,
    queryFn: async ({ signal }) => schemaFromResult(await runSql(project, SCHEMA_SQL, signal)),
    staleTime: Infinity, // changes only with a migration
  });
