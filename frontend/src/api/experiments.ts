// Experiments: templates of runs with flags and a desired state that launchers enforce
// (docs/ARCHITECTURE.md, "Experiments and launchers"); their job history and flag schema.
import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { Experiment, ExperimentState, FlagSchema, Page, Run } from './types';

export const experimentKeys = {
  all: (project: string) => ['experiments', project] as const,
  list: (project: string, filters: ExperimentFilters) => ['experiments', project, 'list', filters] as const,
  detail: (project: string, id: number) => ['experiments', project, 'detail', id] as const,
  runs: (project: string, id: number) => ['experiments', project, 'runs', id] as const,
  schema: (project: string) => ['experiments', project, 'schema'] as const,
};

export interface ExperimentFilters {
  q?: string;
  state?: ExperimentState | '';
  tag?: string;
}

export const experimentsQuery = (project: string, filters: ExperimentFilters) =>
  queryOptions({
    queryKey: experimentKeys.list(project, filters),
    queryFn: async ({ signal }) =>
      (
        await api<Page<Experiment>>('/experiments', {
          query: { project, q: filters.q, state: filters.state, tag: filters.tag, limit: 500 },
          signal,
        })
      ).items,
  });

export const experimentQuery = (project: string, id: number) =>
  queryOptions({
    queryKey: experimentKeys.detail(project, id),
    queryFn: ({ signal }) => api<Experiment>(`/experiments/${id}`, { signal }),
  });

export const experimentRunsQuery = (project: string, id: number) =>
  queryOptions({
    queryKey: experimentKeys.runs(project, id),
    queryFn: async ({ signal }) =>
      (await api<Page<Run>>(`/experiments/${id}/runs`, { query: { limit: 200 }, signal })).items,
  });

/** The project's flag schema: what the flags editor offers and checks against. */
export const flagSchemaQuery = (project: string) =>
  queryOptions({
    queryKey: experimentKeys.schema(project),
    queryFn: ({ signal }) => api<FlagSchema>('/experiments/flag-schema', { query: { project }, signal }),
  });

export interface ExperimentInput {
  name?: string;
  description?: string;
  flags?: Record<string, unknown>;
  kind?: string;
  queue?: string;
  tags?: string[];
  desired_state?: ExperimentState;
}

export function useCreateExperiment(project: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ExperimentInput) =>
      api<Experiment>('/experiments', { method: 'POST', body: { project, ...body } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: experimentKeys.all(project) }),
  });
}

export function useUpdateExperiment(project: string, id: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ExperimentInput) =>
      api<Experiment>(`/experiments/${id}`, { method: 'PATCH', body }),
    onSuccess: (e) => {
      qc.setQueryData(experimentKeys.detail(project, id), e);
      void qc.invalidateQueries({ queryKey: experimentKeys.all(project) });
    },
  });
}
