// The runs table: TanStack Table for columns, @tanstack/react-virtual for rows, so
// 10,000 loaded runs cost the DOM of the ~30 on screen. Each run is one <tbody> (a row
// and, when expanded, its attempts), measured as it renders. Scrolling near the end
// asks for the next page. A row is a link: a click anywhere on it that is not on a control
// opens the run, and the run's name is a real link for the keyboard and middle-click.
import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
} from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { ActionIcon, Anchor, Box, Group, Progress, Table, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router-dom';
import { selectColumn, type RunSelection } from './RunSelection';
import type { Run } from '../api/types';
import { attemptsQuery } from '../api/runs';
import { durationBetween, formatDuration, formatProgress, formatRelative, formatTime, shortId, truncateJson } from '../lib/format';
import { WorkerLink } from './WorkerName';
import { RunStatusBadges, StatusBadge } from './StatusBadges';
import { ErrorState, LoadingRows } from './QueryState';
import { JsonDrawer } from './Json';
import classes from './RunsTable.module.css';
import { usePrefetchRunOnHover } from '../lib/prefetch';
import { serverNow } from '../lib/clock';

export const ROW_ESTIMATE = 41;

const nowOf = (t: { options: { meta?: unknown } }) => (t.options.meta as { now: number } | undefined)?.now ?? serverNow();

function AttemptsRow({ project, run, colSpan }: { project: string; run: Run; colSpan: number }) {
  const q = useQuery(attemptsQuery(project, run.id ?? ''));
  return (
    <tr>
      <td colSpan={colSpan} className={classes.attempts}>
        {q.isPending ? (
          <LoadingRows rows={2} height={20} />
        ) : q.error ? (
          <ErrorState error={q.error} onRetry={() => void q.refetch()} />
        ) : (
          <Table withRowBorders={false} fz="xs" data-testid="attempts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>attempt</Table.Th>
                <Table.Th>status</Table.Th>
                <Table.Th>worker</Table.Th>
                <Table.Th>started</Table.Th>
                <Table.Th>duration</Table.Th>
                <Table.Th>error</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {q.data.map((a) => (
                <Table.Tr key={a.seq}>
                  <Table.Td>#{a.seq}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={a.status} />
                  </Table.Td>
                  <Table.Td>
                    <WorkerLink project={project} id={a.worker_id} size="xs" />
                  </Table.Td>
                  <Table.Td>{formatTime(a.started_at)}</Table.Td>
                  <Table.Td>{formatDuration(durationBetween(a.started_at, a.ended_at))}</Table.Td>
                  <Table.Td>{a.error ? truncateJson((a.error as { message?: string } | null)?.message ?? a.error, 100) : ''}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </td>
    </tr>
  );
}

export function RunsTable({
  project,
  runs,
  now,
  hasMore,
  loadingMore,
  onLoadMore,
  height,
  selection,
}: {
  project: string;
  runs: Run[];
  now: number;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  height: string;
  /** Tick boxes to pick runs (the compare view). */
  selection?: RunSelection;
}) {
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const [drawer, setDrawer] = useState<Run | null>(null);
  const prefetchOnHover = usePrefetchRunOnHover(project);
  const base = `/p/${project}/runs`;
  const navigate = useNavigate();
  // The Input column only when a loaded run has an input: an empty column beside the
  // name would take the width the name needs.
  const hasInput = useMemo(() => runs.some((r) => r.input !== null && r.input !== undefined && truncateJson(r.input) !== '{}'), [runs]);

  const columns = useMemo<ColumnDef<Run>[]>(
    () => [
      ...(selection ? [selectColumn(selection)] : []),
      {
        id: 'expand',
        header: '',
        size: 28,
        cell: ({ row }) => {
          const seq = row.original.latest_attempt?.seq ?? 0;
          if (seq < 2) return null;
          const id = row.original.id ?? '';
          return (
            <ActionIcon
              size="xs"
              variant="subtle"
              aria-label={expanded[id] ? 'hide attempts' : 'show attempts'}
              onClick={() => setExpanded((e) => ({ ...e, [id]: !e[id] }))}
            >
              {expanded[id] ? '▾' : '▸'}
            </ActionIcon>
          );
        },
      },
      {
        id: 'run',
        header: 'Run',
        cell: ({ row }) => (
          <Anchor component={Link} to={`${base}/${row.original.id}`} ff="monospace" size="sm" title={row.original.id}>
            {shortId(row.original.id)}
          </Anchor>
        ),
      },
      { id: 'attempt', header: 'Att.', cell: ({ row }) => (row.original.latest_attempt ? `#${row.original.latest_attempt.seq}` : '—') },
      {
        id: 'name',
        header: 'Name / kind',
        cell: ({ row }) => (
          <Box maw={hasInput ? 260 : 420}>
            <Anchor component={Link} to={`${base}/${row.original.id}`} size="sm" c="inherit" display="block" truncate title={row.original.name || undefined} data-testid="run-name">
              {row.original.name || '—'}
            </Anchor>
            <Text size="xs" c="dimmed" truncate>
              {row.original.kind}
              {row.original.queue ? ` · ${row.original.queue}` : ''}
            </Text>
          </Box>
        ),
      },
      ...(hasInput
        ? [
            {
              id: 'input',
              header: 'Input',
              cell: ({ row }) => (
                <Text size="xs" ff="monospace" truncate maw={200} c="dimmed">
                  {truncateJson(row.original.input, 60)}
                </Text>
              ),
            } as ColumnDef<Run>,
          ]
        : []),
      { id: 'status', header: 'Status', cell: ({ row, table }) => <RunStatusBadges run={row.original} now={nowOf(table)} /> },
      {
        id: 'progress',
        header: 'Progress',
        cell: ({ row }) => {
          const p = row.original.progress;
          if (p === null || p === undefined) return <Text size="xs" c="dimmed">—</Text>;
          return (
            <Group gap={6} wrap="nowrap">
              <Progress value={p * 100} size="sm" w={60} aria-label="progress" />
              <Text size="xs" data-testid="progress-text">
                {formatProgress(p)}
              </Text>
            </Group>
          );
        },
      },
      { id: 'started', header: 'Started', cell: ({ row }) => <Text size="sm" ff="monospace">{formatTime(row.original.started_at)}</Text> },
      {
        id: 'duration',
        header: 'Duration',
        cell: ({ row, table }) => {
          const r = row.original;
          // A queued run has no duration yet: how long it has waited is what matters.
          if (!r.started_at && (r.status ?? 'queued') === 'queued')
            return (
              <Text size="sm" c="dimmed" title={`queued at ${formatTime(r.queued_at ?? r.created_at)}`} data-testid="queued-age">
                waiting {formatDuration(durationBetween(r.queued_at ?? r.created_at, null, nowOf(table)))}
              </Text>
            );
          return formatDuration(durationBetween(r.started_at, r.ended_at, nowOf(table)));
        },
      },
      {
        id: 'heartbeat',
        header: 'Heartbeat',
        cell: ({ row, table }) => (
          <span title={formatTime(row.original.last_heartbeat_at)}>{formatRelative(row.original.last_heartbeat_at, nowOf(table))}</span>
        ),
      },
      {
        id: 'worker',
        header: 'Worker',
        cell: ({ row }) => <WorkerLink project={project} id={row.original.worker_id} size="sm" />,
      },
      {
        id: 'actions',
        header: '',
        cell: ({ row }) => (
          <Group gap={4} wrap="nowrap">
            <Tooltip label="Raw JSON">
              <ActionIcon size="sm" variant="subtle" aria-label="raw JSON" onClick={() => setDrawer(row.original)}>
                {'{}'}
              </ActionIcon>
            </Tooltip>
            <Tooltip label="Open">
              <ActionIcon size="sm" variant="subtle" aria-label="open run" component={Link} to={`${base}/${row.original.id}`}>
                →
              </ActionIcon>
            </Tooltip>
          </Group>
        ),
      },
    ],
    [base, expanded, project, hasInput, selection],
  );

  const table = useReactTable({
    data: runs,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r, i) => r.id ?? String(i),
    // The clock reaches the cells through meta, not the column definitions: new columns
    // every second would rebuild the row model of every loaded run (10,000 of them).
    meta: { now },
  });
  const rows = table.getRowModel().rows;

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_ESTIMATE,
    overscan: 12,
    getItemKey: (i) => rows[i]?.id ?? i,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1]!.index : -1;

  useEffect(() => {
    if (hasMore && !loadingMore && lastIndex >= rows.length - 20) onLoadMore();
  }, [hasMore, loadingMore, lastIndex, rows.length, onLoadMore]);

  const colSpan = columns.length;
  const padTop = items.length ? items[0]!.start : 0;
  const padBottom = items.length ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0;

  return (
    <>
      <div ref={scrollRef} className={classes.scroll} style={{ height }} data-testid="runs-scroll">
        <table className={classes.table} data-testid="runs-table">
          <thead className={classes.head}>
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => (
                  <th key={h.id} data-col={h.column.id}>{flexRender(h.column.columnDef.header, h.getContext())}</th>
                ))}
              </tr>
            ))}
          </thead>
          {padTop > 0 && (
            <tbody aria-hidden>
              <tr style={{ height: padTop }} />
            </tbody>
          )}
          {items.map((vi) => {
            const row = rows[vi.index]!;
            const open = !!expanded[row.id];
            return (
              <tbody
                key={vi.key}
                data-index={vi.index}
                ref={virtualizer.measureElement}
                className={classes.run}
                data-run-id={row.original.id}
                data-status={row.original.status}
                data-kb-row={row.original.id}
                {...prefetchOnHover(row.original.id ?? '')}
              >
                <tr
                  className={classes.link}
                  onClick={(e) => {
                    // A click on a control (a link, a button, selected text) is its own.
                    const t = e.target as HTMLElement;
                    if (t.closest('a,button,input,label,[role="button"]') || window.getSelection()?.toString()) return;
                    if (e.metaKey || e.ctrlKey) window.open(`${base}/${row.original.id}`, '_blank', 'noopener');
                    else navigate(`${base}/${row.original.id}`);
                  }}
                >
                  {row.getVisibleCells().map((c) => (
                    <td key={c.id} data-col={c.column.id}>{flexRender(c.column.columnDef.cell, c.getContext())}</td>
                  ))}
                </tr>
                {open && (
                  <Fragment>
                    <AttemptsRow project={project} run={row.original} colSpan={colSpan} />
                  </Fragment>
                )}
              </tbody>
            );
          })}
          {padBottom > 0 && (
            <tbody aria-hidden>
              <tr style={{ height: padBottom }} />
            </tbody>
          )}
        </table>
      </div>
      <JsonDrawer
        title={drawer ? `Run ${drawer.id}` : ''}
        value={drawer}
        opened={drawer !== null}
        onClose={() => setDrawer(null)}
      />
    </>
  );
}
