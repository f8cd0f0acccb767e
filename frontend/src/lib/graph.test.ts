import { describe, expect, it } from 'vitest';
import {
  buildView,
  childrenKey,
  clusterMembers,
  clusterStatus,
  DRAW_MAX,
  GROUP_OPEN_MAX,
  groupKey,
  mergePages,
  patchNode,
  SCREENFUL,
  treeOrder,
  type GraphNode,
  type RunGraphData,
} from './graph';

const node = (id: string, extra: Partial<GraphNode> = {}): GraphNode => ({
  id,
  name: id,
  kind: 't',
  status: 'succeeded',
  created_at: '2026-12-04T00:00:00Z',
  started_at: '2026-12-04T00:00:00Z',
  ended_at: '2026-12-04T00:00:10Z',
  duration_s: 10,
  group_id: null,
  parent_id: null,
  children: 0,
  ...extra,
});

/** A root, a group of n children (g), and a chord callback waiting for g. */
function chord(n: number): RunGraphData {
  const nodes = [node('root')];
  const edges: RunGraphData['edges'] = [];
  for (let i = 0; i < n; i++) {
    nodes.push(node(`m${i}`, { parent_id: 'root', group_id: 'g', status: i === 0 ? 'failed' : 'succeeded' }));
    edges.push({ kind: 'child', source: 'root', target: `m${i}` });
  }
  nodes.push(node('cb', { parent_id: 'root', status: 'queued' }));
  edges.push({ kind: 'child', source: 'root', target: 'cb' }, { kind: 'group', source: 'g', target: 'cb' });
  return { root_id: 'root', total: nodes.length, nodes, outside: [], groups: [], edges };
}

describe('buildView', () => {
  it('draws a small chord open: its members framed by the group node, the callback after it', () => {
    const v = buildView(chord(3), new Set());
    expect(v.nodes.filter((n) => n.kind === 'run')).toHaveLength(5);
    const g = v.nodes.find((n) => n.id === groupKey('g'));
    expect(g && g.kind === 'cluster' && !g.folded).toBe(true);
    expect(v.edges.map((e) => e.id)).toContain(`group:${groupKey('g')}->cb`);
    expect(v.edges.map((e) => e.id)).toContain(`member:${groupKey('g')}->m0`);
    // The parent reaches its group's members through the group's node.
    expect(v.edges.map((e) => e.id)).toContain(`child:root->${groupKey('g')}`);
    expect(v.edges.map((e) => e.id)).not.toContain('child:root->m0');
    expect(v.folded).toBe(0);
  });

  it('folds a big group into one node with its counts; edges go to the node', () => {
    const v = buildView(chord(GROUP_OPEN_MAX + 1), new Set());
    expect(v.nodes.filter((n) => n.kind === 'run').map((n) => n.id)).toEqual(['root', 'cb']);
    const g = v.nodes.find((n) => n.id === groupKey('g'));
    expect(g?.kind === 'cluster' && g.folded && g.size === GROUP_OPEN_MAX + 1).toBe(true);
    expect(g?.kind === 'cluster' && g.statuses).toEqual({ failed: 1, succeeded: GROUP_OPEN_MAX });
    expect(v.edges.map((e) => e.id).sort()).toEqual(
      [`child:root->${groupKey('g')}`, 'child:root->cb', `group:${groupKey('g')}->cb`].sort(),
    );
  });

  it('unfolds a folded cluster the viewer toggled, and folds an open one', () => {
    const big = buildView(chord(GROUP_OPEN_MAX + 1), new Set([groupKey('g')]));
    expect(big.nodes.filter((n) => n.kind === 'run')).toHaveLength(GROUP_OPEN_MAX + 3);
    const small = buildView(chord(2), new Set([groupKey('g')]));
    expect(small.nodes.filter((n) => n.kind === 'run')).toHaveLength(2);
  });

  it('keeps 5,000 runs to a screenful: fan-outs and groups fold', () => {
    const nodes = [node('root')];
    const edges: RunGraphData['edges'] = [];
    for (let s = 0; s < 10; s++) {
      nodes.push(node(`s${s}`, { parent_id: 'root' }));
      edges.push({ kind: 'child', source: 'root', target: `s${s}` });
      for (let i = 0; i < 500; i++) {
        nodes.push(node(`s${s}t${i}`, { parent_id: `s${s}`, group_id: s % 2 ? `g${s}` : null }));
        edges.push({ kind: 'child', source: `s${s}`, target: `s${s}t${i}` });
      }
    }
    const v = buildView({ root_id: 'root', total: nodes.length, nodes, outside: [], groups: [], edges }, new Set());
    expect(nodes.length).toBeGreaterThan(5000);
    expect(v.nodes.length).toBeLessThanOrEqual(SCREENFUL);
    expect(v.nodes.map((n) => n.id)).toContain(childrenKey('s0'));
    expect(v.nodes.map((n) => n.id)).toContain(groupKey('g1'));
  });

  it('cuts a 5,000-run chain by depth: the deep part is one folded subtree', () => {
    const nodes = [node('c0')];
    const edges: RunGraphData['edges'] = [];
    for (let i = 1; i < 5000; i++) {
      nodes.push(node(`c${i}`, { parent_id: `c${i - 1}` }));
      edges.push({ kind: 'child', source: `c${i - 1}`, target: `c${i}` });
    }
    const v = buildView({ root_id: 'c0', total: nodes.length, nodes, outside: [], groups: [], edges }, new Set());
    expect(v.nodes.length).toBeLessThanOrEqual(DRAW_MAX);
    expect(v.nodes.length).toBeGreaterThan(DRAW_MAX / 2);
    const sub = v.nodes.find((n) => n.id.startsWith('subtree:'));
    expect(sub?.kind === 'cluster' && sub.folded).toBe(true);
    expect(clusterMembers(sub!.id, { root_id: 'c0', total: 0, nodes, outside: [], groups: [], edges }).length).toBe(
      5000 - v.nodes.length + 1,
    );
  });

  it('draws a dependency on a group with no member in the tree as a folded group node', () => {
    const g = chord(0);
    const v = buildView(g, new Set());
    expect(v.nodes.find((n) => n.id === groupKey('g'))).toMatchObject({ kind: 'cluster', folded: true, size: 0 });
  });
});

describe('helpers', () => {
  it('merges pages, keeping outside runs and groups once', () => {
    const a = chord(2);
    const page = { ...a, offset: 0, limit: 2, outside: [node('x', { outside: true })], groups: [{ id: 'g', size: 2, statuses: {} }] };
    const m = mergePages([page, { ...page, nodes: [], edges: [] }]);
    expect(m.nodes).toHaveLength(a.nodes.length);
    expect(m.outside).toHaveLength(1);
    expect(m.groups).toHaveLength(1);
  });

  it('patches a run, and says when it is not in the graph', () => {
    const g = chord(1);
    expect(patchNode(g, { id: 'cb', status: 'running' })).toBe(true);
    expect(g.nodes.find((n) => n.id === 'cb')?.status).toBe('running');
    expect(patchNode(g, { id: 'nope', status: 'running' })).toBe(false);
  });

  it('colours a cluster by its most urgent status', () => {
    expect(clusterStatus({ succeeded: 9, failed: 1 })).toBe('failed');
    expect(clusterStatus({ succeeded: 9 })).toBe('succeeded');
  });
});

describe('treeOrder', () => {
  it('lists a breadth-first lineage depth first, with depths, siblings in order', () => {
    const nodes = [
      node('a', { parent_id: 'r' }),
      node('b', { parent_id: 'r' }),
      node('a1', { parent_id: 'a' }),
      node('b1', { parent_id: 'b' }),
      node('a2', { parent_id: 'a' }),
      node('a1x', { parent_id: 'a1' }),
    ];
    expect(treeOrder('r', nodes).map((x) => `${x.node.id}:${x.depth}`)).toEqual([
      'a:1',
      'a1:2',
      'a1x:3',
      'a2:2',
      'b:1',
      'b1:2',
    ]);
  });

  it('leaves out runs whose parent is not listed, and copes with a deep chain', () => {
    expect(treeOrder('r', [node('x', { parent_id: 'elsewhere' })])).toEqual([]);
    const chain = Array.from({ length: 20000 }, (_, i) => node(`c${i}`, { parent_id: i ? `c${i - 1}` : 'r' }));
    const out = treeOrder('r', chain);
    expect(out).toHaveLength(20000);
    expect(out[19999]).toEqual({ node: chain[19999], depth: 20000 });
  });
});
