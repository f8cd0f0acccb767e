// The run graph (issue 18, "Graphs and timelines"): a run's whole tree as a DAG drawn with
// @xyflow/react and laid out by ELK, coloured by status, each run with its duration,
// groups and big fan-outs folded into cluster nodes (lib/graph.ts decides what is drawn),
// a click opens a run or unfolds a cluster, and live: a run message of the stream about a
// run of the graph patches its node, a new run of the tree refetches the graph. Its own
// lazy chunk with @xyflow/react and elkjs (the initial JS stays within budget). The Celery
// flow graph is this component: groups as nodes, a chord's callback linked from its group.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Anchor, Badge, Box, Button, Group, Stack, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router-dom';
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { graphKeys, graphQuery } from '../../api/graph';
import type { Run } from '../../api/types';
import { useActivity } from '../../live/activity';
import {
  buildView,
  clusterMembers,
  clusterStatus,
  patchNode,
  type GraphNode,
  type RunGraphData,
  type ViewNode,
} from '../../lib/graph';
import { formatDuration, shortId } from '../../lib/format';
import { statusColor } from '../../lib/status';
import { ErrorState, LoadingRows } from '../QueryState';
import { layoutView, NODE_H, NODE_W } from './layout';

/** A cluster this big is listed, not unfolded: drawing it would be the 600-node wall again. */
export const UNFOLD_MAX = 300;

const colorVar = (status: string) => `var(--mantine-color-${statusColor(status)}-6)`;

type RunData = { run: GraphNode; current: boolean };
type ClusterData = { node: Extract<ViewNode, { kind: 'cluster' }> };

function RunNode({ data }: NodeProps<Node<RunData>>) {
  const r = data.run;
  const dur = r.duration_s ?? null;
  return (
    <Box
      data-testid="graph-run"
      data-status={r.status}
      style={{
        width: NODE_W,
        height: NODE_H,
        border: `${data.current ? 3 : 2}px solid ${colorVar(r.status)}`,
        borderRadius: 6,
        background: 'var(--mantine-color-body)',
        padding: '4px 8px',
        cursor: 'pointer',
        overflow: 'hidden',
      }}
      title={`${r.name || r.kind || r.id} — ${r.status}`}
    >
      <Handle type="target" position={Position.Top} />
      <Text size="xs" fw={600} truncate>
        {r.name || r.kind || shortId(r.id)}
        {r.outside ? ' (outside)' : ''}
      </Text>
      <Group gap={6} wrap="nowrap">
        <Text size="xs" c={statusColor(r.status)} fw={600}>
          {r.status}
        </Text>
        <Text size="xs" c="dimmed">
          {dur !== null ? formatDuration(dur) : ''}
          {r.attempt_seq && r.attempt_seq > 1 ? ` · try ${r.attempt_seq}` : ''}
        </Text>
      </Group>
      <Handle type="source" position={Position.Bottom} />
    </Box>
  );
}

function ClusterNode({ data }: NodeProps<Node<ClusterData>>) {
  const c = data.node;
  const top = clusterStatus(c.statuses);
  const counts = Object.entries(c.statuses)
    .sort((a, b) => b[1] - a[1])
    .map(([s, n]) => `${n} ${s}`)
    .join(' · ');
  return (
    <Box
      data-testid="graph-cluster"
      data-folded={c.folded ? 'true' : 'false'}
      style={{
        width: NODE_W,
        height: NODE_H,
        border: `2px ${c.folded ? 'double' : 'dashed'} ${colorVar(top)}`,
        borderRadius: 10,
        background: 'var(--mantine-color-default-hover)',
        padding: '4px 8px',
        cursor: 'pointer',
        overflow: 'hidden',
      }}
      title={c.folded ? 'click to unfold' : 'click to fold'}
    >
      <Handle type="target" position={Position.Top} />
      <Text size="xs" fw={600} truncate>
        {c.folded ? '▸' : '▾'} {c.label} ({c.size})
      </Text>
      <Text size="xs" c="dimmed" truncate>
        {counts || 'no runs yet'}
        {c.duration_s !== null ? ` · ${formatDuration(c.duration_s)}` : ''}
      </Text>
      <Handle type="source" position={Position.Bottom} />
    </Box>
  );
}

const nodeTypes = { run: RunNode, cluster: ClusterNode };

/**
 * Live: the activity ring (live/activity.ts) holds the stream's newest run messages. A
 * run.updated for a run of the graph patches it in the cache; a run.created in the tree
 * (its root or parent is the graph's) refetches, at most once per two seconds.
 */
function useGraphLive(project: string, runId: string, data: RunGraphData | undefined) {
  const qc = useQueryClient();
  const items = useActivity();
  const seen = useRef<unknown>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  useEffect(() => {
    if (!data) return;
    const fresh = [];
    for (const it of items) {
      if (it === seen.current) break;
      fresh.push(it);
    }
    seen.current = items[0] ?? null;
    if (fresh.length === 0) return;
    const key = graphKeys.graph(project, runId);
    const ids = new Set(data.nodes.map((n) => n.id));
    let refetch = false;
    let patched: RunGraphData | null = null;
    for (const it of fresh.reverse()) {
      const run = (it.data && typeof it.data === 'object' ? it.data : null) as Run | null;
      if (it.type === 'run.created') {
        if (run && ((run.root_id && run.root_id === data.root_id) || (run.parent_id && ids.has(run.parent_id))))
          refetch = true;
      } else if (it.type === 'run.updated' && it.run && ids.has(it.run)) {
        if (!run || it.truncated) {
          refetch = true;
          continue;
        }
        patched ??= { ...data, nodes: [...data.nodes] };
        patchNode(patched, {
          id: it.run,
          status: run.status,
          started_at: run.started_at,
          ended_at: run.ended_at,
          duration_s: run.duration_s,
        });
      }
    }
    if (patched) qc.setQueryData(key, patched);
    if (refetch && !timer.current)
      timer.current = setTimeout(() => {
        timer.current = null;
        void qc.invalidateQueries({ queryKey: key, exact: true });
      }, 2000);
  }, [items, data, qc, project, runId]);
}

export default function RunGraph({ project, runId }: { project: string; runId: string }) {
  const q = useQuery(graphQuery(project, runId));
  useGraphLive(project, runId, q.data);
  const navigate = useNavigate();
  const [toggled, setToggled] = useState<ReadonlySet<string>>(new Set());
  const [listed, setListed] = useState<string | null>(null);
  const view = useMemo(() => (q.data ? buildView(q.data, toggled) : null), [q.data, toggled]);
  // Layout only when the shape changes: a status patch keeps the positions.
  const shape = useMemo(
    () => (view ? view.nodes.map((n) => n.id).join(',') + '|' + view.edges.map((e) => e.id).join(',') : ''),
    [view],
  );
  const [pos, setPos] = useState<{ shape: string; at: Map<string, { x: number; y: number }> } | null>(null);
  const viewRef = useRef(view);
  viewRef.current = view;
  useEffect(() => {
    const v = viewRef.current;
    if (!v) return;
    let live = true;
    void layoutView(v).then((at) => live && setPos({ shape, at }));
    return () => {
      live = false;
    };
  }, [shape]);

  const { nodes, edges } = useMemo(() => {
    if (!view || !pos) return { nodes: [] as Node[], edges: [] as Edge[] };
    const nodes: Node[] = view.nodes.map((n) => ({
      id: n.id,
      type: n.kind,
      position: pos.at.get(n.id) ?? { x: 0, y: 0 },
      data: n.kind === 'run' ? { run: n.run, current: n.id === runId } : { node: n },
      draggable: false,
      connectable: false,
    }));
    const edges: Edge[] = view.edges.map((e) => ({
      id: e.id,
      source: e.source,
      target: e.target,
      style:
        e.kind === 'child'
          ? { stroke: 'var(--mantine-color-gray-5)' }
          : {
              stroke: 'var(--mantine-color-violet-6)',
              strokeWidth: e.kind === 'group' ? 2 : 1,
              strokeDasharray: e.kind === 'dep' ? '6 3' : undefined,
            },
    }));
    return { nodes, edges };
  }, [view, pos, runId]);

  if (q.isPending) return <LoadingRows rows={6} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const g = q.data;
  const listedMembers = listed ? clusterMembers(listed, g) : [];

  const onNodeClick = (_: unknown, node: Node) => {
    if (node.type === 'run') {
      navigate(`/p/${project}/runs/${node.id}`);
      return;
    }
    const c = (node.data as ClusterData).node;
    if (c.folded && c.size > UNFOLD_MAX) {
      setListed(c.id);
      return;
    }
    setToggled((t) => {
      const n = new Set(t);
      if (n.has(c.id)) n.delete(c.id);
      else n.add(c.id);
      return n;
    });
  };

  return (
    <Stack gap="xs" data-testid="run-graph">
      <Group gap="xs">
        <Text size="sm" data-testid="graph-summary">
          {g.total} run{g.total === 1 ? '' : 's'} in this tree
          {view && view.clusters > 0 ? ` · ${view.clusters} cluster${view.clusters === 1 ? '' : 's'}, ${view.folded} folded` : ''}
          {g.nodes.length < g.total ? ` · showing the first ${g.nodes.length}` : ''}
        </Text>
        {toggled.size > 0 && (
          <Button size="compact-xs" variant="default" onClick={() => setToggled(new Set())}>
            Reset folding
          </Button>
        )}
        <Group gap={4} ml="auto">
          {['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'].map((s) => (
            <Badge key={s} size="xs" variant="outline" color={statusColor(s)}>
              {s}
            </Badge>
          ))}
        </Group>
      </Group>
      <Box
        h={560}
        style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 6 }}
        data-testid="graph-canvas"
        data-ready={pos && pos.shape === shape ? 'true' : 'false'}
      >
        {nodes.length > 0 && (
        <ReactFlow
          key={pos?.shape}
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodeClick={onNodeClick}
          nodesConnectable={false}
          nodesDraggable={false}
          onlyRenderVisibleElements
          fitView
          minZoom={0.05}
          proOptions={{ hideAttribution: true }}
        >
          <Background />
          <Controls showInteractive={false} />
          {nodes.length > 30 && <MiniMap pannable zoomable />}
        </ReactFlow>
        )}
      </Box>
      {listed && (
        <Alert
          title={`${listedMembers.length} runs: too many to draw, listed here`}
          withCloseButton
          onClose={() => setListed(null)}
          data-testid="graph-cluster-list"
        >
          <Group gap="xs">
            {listedMembers.slice(0, 100).map((n) => (
              <Anchor key={n.id} component={Link} to={`/p/${project}/runs/${n.id}`} size="xs" c={statusColor(n.status)}>
                {n.name || shortId(n.id)}
              </Anchor>
            ))}
            {listedMembers.length > 100 && <Text size="xs">… and {listedMembers.length - 100} more</Text>}
          </Group>
        </Alert>
      )}
    </Stack>
  );
}
