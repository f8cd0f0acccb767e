// The run graph: GET /runs/{run}/graph (every page, merged) and /lineage. Keys live under
// ['runs', project] so a resync of the project's runs refetches them too.
import { queryOptions } from '@tanstack/react-query';
import { api } from './client';
import type { components } from './schema.gen';
import { mergePages, type RunGraphData, type RunGraphPage } from '../lib/graph';

export type RunLineage = components['schemas']['RunLineage'];

/** Nodes a page (the API's default); a graph is read whole, page after page. */
export const GRAPH_PAGE = 5000;
/** Beyond this the view shows what it read and says so. */
export const GRAPH_MAX_NODES = 50000;

export const graphKeys = {
  graph: (project: string, id: string) => ['runs', project, 'graph', id] as const,
  lineage: (project: string, id: string) => ['runs', project, 'lineage', id] as const,
};

export async function fetchGraph(id: string, signal?: AbortSignal): Promise<RunGraphData> {
  const pages: RunGraphPage[] = [];
  for (let offset = 0; offset < GRAPH_MAX_NODES; offset += GRAPH_PAGE) {
    const p = await api<RunGraphPage>(`/runs/${encodeURIComponent(id)}/graph`, {
      query: { limit: GRAPH_PAGE, offset },
      signal,
    });
    pages.push(p);
    if (p.nodes.length < GRAPH_PAGE || offset + GRAPH_PAGE >= p.total) break;
  }
  return mergePages(pages);
}

export const graphQuery = (project: string, id: string) =>
  queryOptions({
    queryKey: graphKeys.graph(project, id),
    queryFn: ({ signal }) => fetchGraph(id, signal),
  });

export const lineageQuery = (project: string, id: string, limit = 50) =>
  queryOptions({
    queryKey: [...graphKeys.lineage(project, id), limit] as const,
    queryFn: ({ signal }) =>
      api<RunLineage>(`/runs/${encodeURIComponent(id)}/lineage`, { query: { limit }, signal }),
  });
