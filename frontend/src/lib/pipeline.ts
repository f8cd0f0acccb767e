// Pipelines (the Ray/Solstice shape: a job whose stages are its child runs). A stage
// reports, as ordinary metrics, under the `pipeline/` prefix (docs/ARCHITECTURE.md,
// "Pipelines"): `pipeline/throughput` (items per second it emits), `pipeline/lag` (items
// waiting for it), `pipeline/backpressure` (0..1: the share of time it is blocked on the
// stage after it), and per partition `pipeline/partition/<p>/<metric>` (any metric, e.g.
// throughput or lag). The view reads each key's latest value. Stage order is the
// run_deps between stages (depends_on).
import type { MetricKey } from '../api/metrics';
import type { GraphEdge, GraphNode } from './graph';

export const PIPELINE_KEYS = {
  throughput: 'pipeline/throughput',
  lag: 'pipeline/lag',
  backpressure: 'pipeline/backpressure',
} as const;
const PARTITION = /^pipeline\/partition\/([^/]+)\/(.+)$/;

export interface Stage {
  run: GraphNode;
  level: number;
  throughput: number | null;
  lag: number | null;
  backpressure: number | null;
}

const last = (keys: MetricKey[] | null | undefined, key: string): number | null => {
  const k = keys?.find((x) => x.key === key);
  return k && typeof k.last_value === 'number' ? k.last_value : null;
};

/**
 * The stages of a pipeline run: its children, each at its level in the DAG of the dep
 * edges between them (a stage after the deepest stage it waits for), with its metrics.
 */
export function pipelineStages(
  parent: string,
  nodes: GraphNode[],
  edges: GraphEdge[],
  metrics: (id: string) => MetricKey[] | null | undefined,
): Stage[] {
  const kids = nodes.filter((n) => n.parent_id === parent);
  const ids = new Set(kids.map((k) => k.id));
  const deps = new Map<string, string[]>();
  for (const e of edges)
    if (e.kind === 'dep' && ids.has(e.source) && ids.has(e.target))
      deps.set(e.target, [...(deps.get(e.target) ?? []), e.source]);
  const level = new Map<string, number>();
  const levelOf = (id: string, seen: Set<string>): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // a cycle: drawn flat rather than looping
    seen.add(id);
    const l = Math.max(-1, ...(deps.get(id) ?? []).map((d) => levelOf(d, seen))) + 1;
    level.set(id, l);
    return l;
  };
  return kids
    .map((run) => {
      const m = metrics(run.id);
      return {
        run,
        level: levelOf(run.id, new Set()),
        throughput: last(m, PIPELINE_KEYS.throughput),
        lag: last(m, PIPELINE_KEYS.lag),
        backpressure: last(m, PIPELINE_KEYS.backpressure),
      };
    })
    .sort((a, b) => a.level - b.level || (a.run.created_at ?? '').localeCompare(b.run.created_at ?? ''));
}

/**
 * The bottleneck: the stage with the lowest throughput; among stages within 10% of it,
 * the one with the most lag (work piles up in front of a bottleneck, and the stages
 * before it show backpressure). null when no stage reports throughput.
 */
export function bottleneck(stages: Stage[]): string | null {
  const withTp = stages.filter((s) => s.throughput !== null);
  if (withTp.length === 0) return null;
  const min = Math.min(...withTp.map((s) => s.throughput!));
  const near = withTp.filter((s) => s.throughput! <= min * 1.1);
  near.sort((a, b) => (b.lag ?? 0) - (a.lag ?? 0));
  return near[0]!.run.id;
}

export interface PartitionSkew {
  metric: string;
  partitions: { partition: string; value: number }[];
  mean: number;
  max: number;
  min: number;
  /** max / mean: 1 is even, 2 means the hottest partition does twice its share. */
  skew: number;
}

/** Per metric, the spread of the latest per-partition values of a stage. */
export function partitionSkew(keys: MetricKey[] | null | undefined): PartitionSkew[] {
  const by = new Map<string, { partition: string; value: number }[]>();
  for (const k of keys ?? []) {
    const m = k.key ? PARTITION.exec(k.key) : null;
    if (!m || typeof k.last_value !== 'number') continue;
    const metric = m[2]!;
    by.set(metric, [...(by.get(metric) ?? []), { partition: m[1]!, value: k.last_value }]);
  }
  return [...by]
    .map(([metric, partitions]) => {
      partitions.sort((a, b) => a.partition.localeCompare(b.partition, undefined, { numeric: true }));
      const vals = partitions.map((p) => p.value);
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const max = Math.max(...vals);
      return { metric, partitions, mean, max, min: Math.min(...vals), skew: mean > 0 ? max / mean : 1 };
    })
    .sort((a, b) => a.metric.localeCompare(b.metric));
}
