// The run graph's view model: which of a tree's runs are drawn one by one and which are
// folded into a cluster node, and the edges between what is drawn. Pure (no React, no
// layout), so it is tested alone and stays cheap at 5,000 runs: the browser lays out and
// draws only what is visible, a few hundred nodes at most (Airflow's graph is reported to
// break near 600 drawn nodes).
//
// Clusters: a group (runs sharing a group_id: a Celery group, a chord's header, a sweep's
// trials) is one cluster; so are the other children of one parent beyond CHILD_CLUSTER_MIN
// (a sweep without a group id, a fan-out). A cluster is folded by default when it has more
// than GROUP_OPEN_MAX members, or when the whole graph is beyond a screenful (SCREENFUL
// nodes); the viewer unfolds one at a time. When that still leaves more than DRAW_MAX
// nodes (a long chain, a thousand small fan-outs), the tree is cut at the deepest level
// that fits and each run there folds its subtree. A folded cluster is drawn as one node with its
// size and status counts, and edges to and from its members go to it.
import type { components } from '../api/schema.gen';

export type GraphNode = components['schemas']['GraphNode'];
export type GraphEdge = components['schemas']['GraphEdge'];
export type GraphGroup = components['schemas']['GraphGroup'];
export type RunGraphPage = components['schemas']['RunGraph'];

export const SCREENFUL = 60;
export const GROUP_OPEN_MAX = 12;
export const CHILD_CLUSTER_MIN = 8;
/** Past this many drawn nodes, deep subtrees fold too (a long chain, many small fan-outs). */
export const DRAW_MAX = 300;

/** A whole graph: the pages of GET /runs/{run}/graph merged. */
export interface RunGraphData {
  root_id: string;
  total: number;
  nodes: GraphNode[];
  outside: GraphNode[];
  groups: GraphGroup[];
  edges: GraphEdge[];
}

export function mergePages(pages: RunGraphPage[]): RunGraphData {
  const out: RunGraphData = {
    root_id: pages[0]?.root_id ?? '',
    total: pages[0]?.total ?? 0,
    nodes: [],
    outside: [],
    groups: [],
    edges: [],
  };
  const seenOutside = new Set<string>();
  const groups = new Map<string, GraphGroup>();
  for (const p of pages) {
    out.nodes.push(...p.nodes);
    out.edges.push(...p.edges);
    for (const o of p.outside) if (!seenOutside.has(o.id) && seenOutside.add(o.id)) out.outside.push(o);
    for (const g of p.groups) groups.set(g.id, g);
  }
  out.groups = [...groups.values()];
  return out;
}

export type ViewNode =
  | { kind: 'run'; id: string; run: GraphNode; cluster?: string }
  | {
      kind: 'cluster';
      id: string;
      label: string;
      size: number;
      statuses: Record<string, number>;
      folded: boolean;
      duration_s: number | null;
    };

export interface ViewEdge {
  id: string;
  source: string;
  target: string;
  kind: GraphEdge['kind'];
}

export interface GraphView {
  nodes: ViewNode[];
  edges: ViewEdge[];
  clusters: number;
  folded: number;
}

/** The id of the cluster node of a group, and of the children of a parent. */
export const groupKey = (g: string) => `group:${g}`;
export const childrenKey = (parent: string) => `children:${parent}`;
export const subtreeKey = (top: string) => `subtree:${top}`;

/** Depth of each run below the root (the root and orphans 0). */
function depths(nodes: GraphNode[]): Map<string, number> {
  const parent = new Map(nodes.map((n) => [n.id, n.parent_id ?? null]));
  const out = new Map<string, number>();
  for (const n of nodes) {
    const path: string[] = [];
    let cur: string | null = n.id;
    while (cur !== null && !out.has(cur) && parent.has(cur) && path.length <= nodes.length) {
      path.push(cur);
      cur = parent.get(cur) ?? null;
    }
    let d = cur !== null && out.has(cur) ? out.get(cur)! + 1 : 0;
    for (let i = path.length - 1; i >= 0; i--) out.set(path[i]!, d++);
  }
  return out;
}

/** The ancestor at depth `d` of each run deeper than d (the top of its folded subtree). */
function subtreeTops(nodes: GraphNode[], depth: Map<string, number>, d: number): Map<string, string> {
  const parent = new Map(nodes.map((n) => [n.id, n.parent_id ?? null]));
  const top = new Map<string, string>();
  const sorted = [...nodes].sort((a, b) => (depth.get(a.id) ?? 0) - (depth.get(b.id) ?? 0));
  for (const n of sorted) {
    const nd = depth.get(n.id) ?? 0;
    if (nd <= d) continue;
    const p = parent.get(n.id);
    if (!p) continue;
    top.set(n.id, (depth.get(p) ?? 0) === d ? p : (top.get(p) ?? p));
  }
  return top;
}

/** The cluster a run belongs to: its group's, else its parent's fan-out (when big). */
function clusterOf(run: GraphNode, bigFanOut: Set<string>): string | null {
  if (run.group_id) return groupKey(run.group_id);
  if (run.parent_id && bigFanOut.has(run.parent_id)) return childrenKey(run.parent_id);
  return null;
}

/**
 * What to draw. `toggled` holds the cluster ids the viewer flipped from their default
 * (folded or open), so a default that changes as the graph grows does not undo a choice.
 */
export function buildView(g: RunGraphData, toggled: ReadonlySet<string>): GraphView {
  const all = [...g.nodes, ...g.outside];
  // Fan-outs: children without a group, per parent.
  const fan = new Map<string, number>();
  for (const r of g.nodes) if (r.parent_id && !r.group_id) fan.set(r.parent_id, (fan.get(r.parent_id) ?? 0) + 1);
  const bigFanOut = new Set([...fan].filter(([, n]) => n >= CHILD_CLUSTER_MIN).map(([p]) => p));

  // Drawn nodes with groups and fan-outs folded; past DRAW_MAX, cut the tree by depth.
  let cut: Map<string, string> | null = null;
  const drawnCount = (tops: Map<string, string> | null) => {
    const reps = new Set<string>();
    for (const r of g.nodes) {
      const t = tops?.get(r.id);
      reps.add(t && !toggled.has(subtreeKey(t)) ? subtreeKey(t) : (clusterOf(r, bigFanOut) ?? r.id));
    }
    return reps.size + g.outside.length;
  };
  if (all.length > DRAW_MAX && drawnCount(null) > DRAW_MAX) {
    const depth = depths(g.nodes);
    let lo = 0;
    let hi = Math.max(0, ...depth.values());
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (drawnCount(subtreeTops(g.nodes, depth, mid)) <= DRAW_MAX) lo = mid;
      else hi = mid - 1;
    }
    cut = subtreeTops(g.nodes, depth, lo);
  }

  const members = new Map<string, GraphNode[]>();
  for (const r of g.nodes) {
    const t = cut?.get(r.id);
    const c = t && !toggled.has(subtreeKey(t)) ? subtreeKey(t) : clusterOf(r, bigFanOut);
    if (!c) continue;
    let m = members.get(c);
    if (!m) members.set(c, (m = []));
    m.push(r);
  }
  // A group a run waits for has a node even when none of its members is in the tree.
  for (const e of g.edges) if (e.kind === 'group' && !members.has(groupKey(e.source))) members.set(groupKey(e.source), []);

  const big = all.length > SCREENFUL;
  const folded = new Set<string>();
  for (const [c, m] of members) {
    const byDefault = big || m.length > GROUP_OPEN_MAX || m.length === 0 || c.startsWith('subtree:');
    if (byDefault !== toggled.has(c)) folded.add(c);
  }
  const where = new Map<string, string>(); // run id → the node drawn for it
  const nodes: ViewNode[] = [];
  const groupInfo = new Map(g.groups.map((x) => [groupKey(x.id), x]));
  for (const [c, m] of members) {
    if (!folded.has(c) && m.length > 0) continue;
    const statuses: Record<string, number> = {};
    let first = Infinity;
    let last = -Infinity;
    for (const r of m) {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      where.set(r.id, c);
      if (r.started_at) first = Math.min(first, Date.parse(r.started_at));
      const end = r.ended_at ? Date.parse(r.ended_at) : r.started_at ? Date.now() : -Infinity;
      last = Math.max(last, end);
    }
    const info = groupInfo.get(c);
    nodes.push({
      kind: 'cluster',
      id: c,
      label: clusterLabel(c, g),
      // The tree's counts when the server gave them (a page may hold only part of it).
      size: info ? info.size : m.length,
      statuses: info ? info.statuses : statuses,
      folded: true,
      duration_s: Number.isFinite(first) && Number.isFinite(last) ? (last - first) / 1000 : null,
    });
  }
  for (const r of all) {
    if (where.has(r.id)) continue;
    where.set(r.id, r.id);
    const c = clusterOf(r, bigFanOut);
    nodes.push({ kind: 'run', id: r.id, run: r, ...(c && members.has(c) ? { cluster: c } : {}) });
  }
  // Open clusters are drawn too (as a frame around their members): a node to unfold into.
  for (const [c, m] of members) {
    if (folded.has(c) || m.length === 0) continue;
    const info = groupInfo.get(c);
    nodes.push({
      kind: 'cluster',
      id: c,
      label: clusterLabel(c, g),
      size: info ? info.size : m.length,
      statuses: info ? info.statuses : {},
      folded: false,
      duration_s: null,
    });
  }

  const edges: ViewEdge[] = [];
  const seen = new Set<string>();
  // A member of an open cluster hangs off the cluster's frame node; its parent's edge goes
  // to the frame (once), so a group reads parent → group → members.
  const openOf = new Map<string, string>();
  for (const n of nodes) if (n.kind === 'run' && n.cluster && !folded.has(n.cluster)) openOf.set(n.id, n.cluster);
  for (const e of g.edges) {
    const s = e.kind === 'group' ? groupKey(e.source) : where.get(e.source);
    const frame = e.kind === 'child' ? openOf.get(e.target) : undefined;
    const t = frame && openOf.get(e.source) !== frame ? frame : where.get(e.target);
    if (!s || !t || s === t) continue;
    const id = `${e.kind}:${s}->${t}`;
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push({ id, source: s, target: t, kind: e.kind });
  }
  // Members of an open cluster hang off its frame node: one edge each, so layout keeps
  // them together under it.
  for (const n of nodes) {
    if (n.kind !== 'run' || !n.cluster || folded.has(n.cluster)) continue;
    const id = `member:${n.cluster}->${n.id}`;
    if (!seen.has(id) && seen.add(id)) edges.push({ id, source: n.cluster, target: n.id, kind: 'child' });
  }
  return {
    nodes,
    edges,
    clusters: members.size,
    folded: folded.size,
  };
}

function clusterLabel(c: string, g: RunGraphData): string {
  if (c.startsWith('group:')) return `group ${c.slice(6)}`;
  const id = c.slice(c.indexOf(':') + 1);
  const n = g.nodes.find((x) => x.id === id);
  const who = n?.name || id.slice(0, 8);
  return c.startsWith('subtree:') ? `below ${who}` : `children of ${who}`;
}

/** The runs a cluster node stands for (for listing one too big to draw). */
export function clusterMembers(c: string, g: RunGraphData): GraphNode[] {
  if (c.startsWith('group:')) return g.nodes.filter((n) => n.group_id === c.slice(6));
  if (c.startsWith('children:')) return g.nodes.filter((n) => !n.group_id && n.parent_id === c.slice(9));
  const top = c.slice(8);
  const kids = new Map<string, GraphNode[]>();
  for (const n of g.nodes) if (n.parent_id) (kids.get(n.parent_id) ?? kids.set(n.parent_id, []).get(n.parent_id)!).push(n);
  const out: GraphNode[] = [];
  const stack = [...(kids.get(top) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    stack.push(...(kids.get(n.id) ?? []));
  }
  return out;
}

/** The statuses of a cluster, most urgent first, for its colour and its counts. */
const URGENCY = ['failed', 'running', 'retrying', 'queued', 'cancelled', 'succeeded', 'unknown'];
export function clusterStatus(statuses: Record<string, number>): string {
  for (const s of URGENCY) if ((statuses[s] ?? 0) > 0) return s;
  return 'queued';
}

/** Patches a run of the graph from a live run message; false when it is not in the graph. */
export function patchNode(g: RunGraphData, run: Partial<GraphNode> & { id: string }): boolean {
  const i = g.nodes.findIndex((n) => n.id === run.id);
  const n = g.nodes[i];
  if (!n) return false;
  g.nodes[i] = {
    ...n,
    status: run.status ?? n.status,
    started_at: run.started_at !== undefined ? run.started_at : n.started_at,
    ended_at: run.ended_at !== undefined ? run.ended_at : n.ended_at,
    duration_s: run.duration_s !== undefined ? run.duration_s : n.duration_s,
    name: run.name ?? n.name,
  };
  return true;
}

/** Depth-first order of a breadth-first list of descendants of root (GET /runs/{run}/lineage),
 * each with its depth under root (children 1); siblings keep the list's order. Nodes whose
 * parent is not in the list (nor root) are left out: they hang under a run not listed. */
export function treeOrder(root: string, nodes: GraphNode[]): { node: GraphNode; depth: number }[] {
  const kids = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    const p = n.parent_id ?? '';
    const list = kids.get(p);
    if (list) list.push(n);
    else kids.set(p, [n]);
  }
  const out: { node: GraphNode; depth: number }[] = [];
  // An explicit stack rather than recursion: a chain thousands of runs deep must not
  // overflow the call stack.
  const stack: { id: string; depth: number; i: number }[] = [{ id: root, depth: 1, i: 0 }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const k = (kids.get(top.id) ?? [])[top.i++];
    if (!k) {
      stack.pop();
      continue;
    }
    out.push({ node: k, depth: top.depth });
    stack.push({ id: k.id, depth: top.depth + 1, i: 0 });
  }
  return out;
}
