// Layout of the drawn graph with ELK's layered algorithm (elkjs), top to bottom. Only what
// buildView left visible reaches it (a few hundred nodes at most), so it runs in the page
// (elk.bundled) rather than in a worker. Part of the graph view's lazy chunk.
import ELK from 'elkjs/lib/elk.bundled.js';
import type { GraphView } from '../../lib/graph';

export const NODE_W = 200;
export const NODE_H = 56;

const elk = new ELK();

/** Top-left positions by node id. */
export async function layoutView(view: GraphView): Promise<Map<string, { x: number; y: number }>> {
  const ids = new Set(view.nodes.map((n) => n.id));
  const res = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.spacing.nodeNode': '16',
      // Linear-time choices: the default network-simplex placement grows fast with size.
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
      'elk.layered.thoroughness': '1',
    },
    children: view.nodes.map((n) => ({ id: n.id, width: NODE_W, height: NODE_H })),
    edges: view.edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const out = new Map<string, { x: number; y: number }>();
  for (const c of res.children ?? []) out.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
  return out;
}
