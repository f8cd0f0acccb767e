import { describe, expect, it } from 'vitest';
import type { MetricKey } from '../api/metrics';
import type { GraphNode } from './graph';
import { bottleneck, partitionSkew, pipelineStages } from './pipeline';

const node = (id: string, created: string): GraphNode => ({
  id,
  name: id,
  status: 'running',
  created_at: created,
  parent_id: 'p',
});
const keys = (o: Record<string, number>): MetricKey[] => Object.entries(o).map(([key, last_value]) => ({ key, last_value }));

describe('pipelines', () => {
  const nodes = [node('etl', '2026-01-01T00:00:01Z'), node('train', '2026-01-01T00:00:02Z'), node('eval', '2026-01-01T00:00:03Z'), node('side', '2026-01-01T00:00:00Z')];
  const edges = [
    { kind: 'dep' as const, source: 'etl', target: 'train' },
    { kind: 'dep' as const, source: 'train', target: 'eval' },
  ];
  const m: Record<string, MetricKey[]> = {
    etl: keys({ 'pipeline/throughput': 1200, 'pipeline/backpressure': 0.7, 'pipeline/lag': 100 }),
    train: keys({ 'pipeline/throughput': 300, 'pipeline/backpressure': 0.1, 'pipeline/lag': 9000 }),
    eval: keys({ 'pipeline/throughput': 320, 'pipeline/lag': 10 }),
  };

  it('orders stages by the DAG of their dependencies', () => {
    const s = pipelineStages('p', nodes, edges, (id) => m[id]);
    expect(s.map((x) => [x.run.id, x.level])).toEqual([['side', 0], ['etl', 0], ['train', 1], ['eval', 2]]);
    expect(s.find((x) => x.run.id === 'etl')?.backpressure).toBe(0.7);
  });

  it('names the slowest stage the bottleneck, by lag among near ties', () => {
    const s = pipelineStages('p', nodes, edges, (id) => m[id]);
    expect(bottleneck(s)).toBe('train'); // eval is within 10% but has no backlog
    expect(bottleneck(pipelineStages('p', nodes, edges, () => []))).toBeNull();
  });

  it('measures per-partition skew as max over mean', () => {
    const s = partitionSkew(
      keys({ 'pipeline/partition/0/lag': 40, 'pipeline/partition/1/lag': 10, 'pipeline/partition/10/lag': 10, 'pipeline/partition/2/lag': 20, 'train/loss': 1 }),
    );
    expect(s).toHaveLength(1);
    expect(s[0]!.partitions.map((p) => p.partition)).toEqual(['0', '1', '2', '10']);
    expect(s[0]!.mean).toBe(20);
    expect(s[0]!.skew).toBe(2);
  });
});
