// What a run leaves behind (api/artifacts.c): its artifacts and checkpoints, the promoted
// models and pipelines, the tables it emits and its request snapshot. Tables are patched
// from the run.table live message (appended rows ride in it), else refetched.
import { queryOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { components } from './schema.gen';
import type { Cell } from '../lib/runTables';

export type Artifact = components['schemas']['Artifact'];
export type Promotion = components['schemas']['Promotion'];
export type RunTable = Omit<components['schemas']['RunTable'], 'rows'> & { rows: Cell[][] };
export type RequestSnapshot = components['schemas']['RequestSnapshot'];

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const artifactKeys = {
  run: (project: string, run: string) => ['runs', project, 'artifacts', run] as const,
  tables: (project: string, run: string) => ['runs', project, 'tables', run] as const,
  snapshot: (project: string, run: string) => ['runs', project, 'snapshot', run] as const,
  promotions: (project: string) => ['promotions', project] as const,
};

const runPath = (run: string) => `/runs/${encodeURIComponent(run)}`;

/** A run's artifacts by step, newest first (its checkpoints are those of kind checkpoint). */
export const runArtifactsQuery = (project: string, run: string) =>
  queryOptions({
    queryKey: artifactKeys.run(project, run),
    queryFn: async ({ signal }) =>
      (await api<Page<Artifact>>(`${runPath(run)}/artifacts`, { query: { limit: 1000 }, signal })).items,
  });

export const runTablesQuery = (project: string, run: string) =>
  queryOptions({
    queryKey: artifactKeys.tables(project, run),
    queryFn: async ({ signal }) =>
      (await api<{ items: RunTable[] }>(`${runPath(run)}/tables`, { signal })).items,
  });

export const runSnapshotQuery = (project: string, run: string) =>
  queryOptions({
    queryKey: artifactKeys.snapshot(project, run),
    queryFn: ({ signal }) => api<RequestSnapshot>(`${runPath(run)}/snapshot`, { signal }),
  });

export const promotionsQuery = (project: string, demoted: boolean) =>
  queryOptions({
    queryKey: [...artifactKeys.promotions(project), demoted] as const,
    queryFn: async ({ signal }) =>
      (
        await api<Page<Promotion>>('/promotions', {
          query: { project, demoted: demoted ? 'true' : undefined, limit: 1000 },
          signal,
        })
      ).items,
  });

export function usePromote(project: string, run: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { artifact: number; name: string; kind: 'model' | 'pipeline'; note?: string }) =>
      api<Promotion>(`${runPath(run)}/artifacts/${v.artifact}/promote`, {
        method: 'POST',
        body: { name: v.name, kind: v.kind, note: v.note || undefined },
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: artifactKeys.promotions(project) }),
  });
}

export function useDemote(project: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { id: number; reason?: string }) =>
      api<Promotion>(`/promotions/${v.id}/demote`, {
        method: 'POST',
        body: v.reason ? { reason: v.reason } : {},
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: artifactKeys.promotions(project) }),
  });
}

/** What a run.table message carries (docs/CONTRACTS.md). */
export interface TableMessage {
  name: string;
  mode: 'replace' | 'append';
  row_count: number;
  columns?: string[];
  rows?: Cell[][];
  truncated?: boolean;
}

/** Applies a run.table message to the run's cached tables; false when it cannot (the rows
 * were not in it, or the copy on screen does not add up), and the caller refetches. */
export function patchRunTable(qc: QueryClient, project: string, run: string, m: TableMessage): boolean {
  const key = artifactKeys.tables(project, run);
  const cur = qc.getQueryData<RunTable[]>(key);
  if (!cur) return true; // nobody is looking: the next visit fetches
  if (m.truncated || !m.columns || !m.rows) return false;
  const i = cur.findIndex((t) => t.name === m.name);
  const now = new Date().toISOString();
  let next: RunTable;
  if (m.mode === 'append') {
    const old = cur[i];
    if (!old) {
      if (m.row_count !== m.rows.length) return false;
      next = { name: m.name, columns: m.columns, rows: m.rows, row_count: m.row_count, updated_at: now };
    } else {
      if (old.row_count + m.rows.length !== m.row_count) return false;
      next = { ...old, rows: [...old.rows, ...m.rows], row_count: m.row_count, updated_at: now };
    }
  } else {
    next = { name: m.name, columns: m.columns, rows: m.rows, row_count: m.row_count, updated_at: now };
  }
  const list = i >= 0 ? cur.map((t, k) => (k === i ? next : t)) : [...cur, next];
  list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  qc.setQueryData<RunTable[]>(key, list);
  return true;
}

export type ProjectArtifact = Omit<Artifact, 'run'> & { run?: { id: string; name?: string | null; status?: string } };

/** A project's checkpoints, newest first, each with its run. */
export const projectCheckpointsQuery = (project: string) =>
  queryOptions({
    queryKey: ['artifacts', project, 'checkpoints'] as const,
    queryFn: async ({ signal }) =>
      (
        await api<Page<ProjectArtifact>>('/artifacts', {
          query: { project, kind: 'checkpoint', limit: 200 },
          signal,
        })
      ).items,
  });
