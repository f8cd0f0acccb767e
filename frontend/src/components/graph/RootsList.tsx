// The runs list's "roots only" view: the project's runs without a parent, newest first,
// with their child and descendant counts (GET /projects/{project}/run-roots), each
// expandable into its tree (GET /runs/{run}/lineage: descendants breadth first, drawn as an
// indented tree). A root's whole graph is its Graph tab.
import { Fragment, useMemo, useState } from 'react';
import { ActionIcon, Anchor, Button, Table, Text } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api } from '../../api/client';
import { lineageQuery } from '../../api/graph';
import type { components } from '../../api/schema.gen';
import { formatDuration, formatTime, shortId } from '../../lib/format';
import { treeOrder, type GraphNode } from '../../lib/graph';
import { StatusBadge } from '../StatusBadges';
import { EmptyState, ErrorState, LoadingRows } from '../QueryState';

type RootPage = components['schemas']['RunRootPage'];
/** Descendants listed under an expanded root; the rest are in its Graph tab. */
export const TREE_ROWS = 500;

function Row({ project, n, depth, children, open, onToggle }: {
  project: string;
  n: GraphNode & { descendants?: number };
  depth: number;
  children?: number;
  open?: boolean;
  onToggle?: () => void;
}) {
  return (
    <Table.Tr data-testid={depth === 0 ? 'root-row' : 'tree-row'} data-depth={depth}>
      <Table.Td w={36}>
        {onToggle && (children ?? 0) > 0 && (
          <ActionIcon size="sm" variant="subtle" onClick={onToggle} aria-label={open ? 'Collapse' : 'Expand'} data-testid="root-expand">
            {open ? '▾' : '▸'}
          </ActionIcon>
        )}
      </Table.Td>
      <Table.Td style={{ paddingLeft: 8 + depth * 20 }}>
        <Anchor component={Link} to={`/p/${project}/runs/${n.id}`} size="sm">
          {n.name || shortId(n.id)}
        </Anchor>
        <Text span size="xs" c="dimmed">
          {' '}
          {n.kind}
        </Text>
      </Table.Td>
      <Table.Td>
        <StatusBadge status={n.status} />
      </Table.Td>
      <Table.Td>{formatTime(n.created_at)}</Table.Td>
      <Table.Td>{formatDuration(n.duration_s)}</Table.Td>
      <Table.Td data-testid="child-count">{n.children ?? 0}</Table.Td>
      <Table.Td>{depth === 0 ? (n.descendants ?? 0) : ''}</Table.Td>
    </Table.Tr>
  );
}

function Tree({ project, root }: { project: string; root: string }) {
  const q = useQuery(lineageQuery(project, root, TREE_ROWS));
  const rows = useMemo(() => (q.data ? treeOrder(root, q.data.descendants) : []), [q.data, root]);
  if (!q.data)
    return (
      <Table.Tr>
        <Table.Td colSpan={7}>{q.error ? <ErrorState error={q.error} /> : <LoadingRows rows={2} height={18} />}</Table.Td>
      </Table.Tr>
    );
  // Child counts of listed runs: from the descendants themselves.
  const kids = new Map<string, number>();
  for (const d of q.data.descendants) if (d.parent_id) kids.set(d.parent_id, (kids.get(d.parent_id) ?? 0) + 1);
  return (
    <>
      {rows.map(({ node, depth }) => (
        <Row key={node.id} project={project} n={{ ...node, children: kids.get(node.id) ?? 0 }} depth={depth} />
      ))}
      {q.data.descendants_total > q.data.descendants.length && (
        <Table.Tr>
          <Table.Td colSpan={7}>
            <Anchor component={Link} to={`/p/${project}/runs/${root}?tab=graph`} size="xs">
              {q.data.descendants_total - q.data.descendants.length} more: the whole tree in its Graph tab
            </Anchor>
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

export function RootsList({ project }: { project: string }) {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const q = useInfiniteQuery({
    queryKey: ['runs', project, 'roots'],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<RootPage>(`/projects/${encodeURIComponent(project)}/run-roots`, { query: { cursor: pageParam }, signal }),
    getNextPageParam: (p) => p.next_cursor,
  });
  if (q.isPending) return <LoadingRows rows={10} />;
  if (q.error && !q.data) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const roots = q.data.pages.flatMap((p) => p.items);
  if (roots.length === 0) return <EmptyState title="No runs yet" />;
  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  return (
    <>
      <Table fz="sm" striped data-testid="roots-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th />
            <Table.Th>Run</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Duration</Table.Th>
            <Table.Th>Children</Table.Th>
            <Table.Th>In tree</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {roots.map((r) => (
            <Fragment key={r.id}>
              <Row project={project} n={r} depth={0} children={r.children} open={open.has(r.id)} onToggle={() => toggle(r.id)} />
              {open.has(r.id) && <Tree project={project} root={r.id} />}
            </Fragment>
          ))}
        </Table.Tbody>
      </Table>
      {q.hasNextPage && (
        <Button variant="default" size="xs" loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          More roots
        </Button>
      )}
    </>
  );
}
