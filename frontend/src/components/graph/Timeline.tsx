// Timelines (Gantt): rows of bars on one time axis — queue wait (light) then run time (the
// status's colour) — with optional bands behind them (a worker's online sessions). Plain
// divs, no chart library: it stays in the pages' own chunks. Used for a root's runs (from
// the graph's data), a run's attempts and a worker's runs (WorkerTimeline below).
import type { ReactNode } from 'react';
import { Anchor, Box, Group, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { attemptsQuery } from '../../api/runs';
import type { Run, WorkerSession } from '../../api/types';
import { formatDuration, formatTime, shortId } from '../../lib/format';
import type { RunGraphData } from '../../lib/graph';
import { statusColor } from '../../lib/status';

/** Rows drawn at most; the rest are counted. */
export const TIMELINE_ROWS = 500;

export interface TimelineRow {
  id: string;
  label: ReactNode;
  status: string;
  /** [from, to] in ms since the epoch. */
  wait?: [number, number] | null;
  run?: [number, number] | null;
  note?: string;
}

export interface TimelineBand {
  from: number;
  to: number;
  label: string;
}

const ms = (v: string | null | undefined) => (v ? Date.parse(v) : NaN);
const span = (a: number, b: number): [number, number] | null =>
  Number.isFinite(a) && Number.isFinite(b) && b >= a ? [a, b] : null;

export function Timeline({
  rows,
  bands = [],
  now = Date.now(),
  testId = 'timeline',
}: {
  rows: TimelineRow[];
  bands?: TimelineBand[];
  now?: number;
  testId?: string;
}) {
  const shown = rows.slice(0, TIMELINE_ROWS);
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const r of shown)
    for (const s of [r.wait, r.run]) {
      if (!s) continue;
      t0 = Math.min(t0, s[0]);
      t1 = Math.max(t1, s[1]);
    }
  // The bands widen the axis: a worker's session shows where its runs sat in it.
  for (const b of bands) {
    t0 = Math.min(t0, b.from);
    t1 = Math.max(t1, b.to);
  }
  if (!Number.isFinite(t0) || shown.length === 0) {
    return (
      <Text size="sm" c="dimmed" data-testid={testId} data-rows={0}>
        Nothing has started yet.
      </Text>
    );
  }
  if (t1 <= t0) t1 = t0 + 1000;
  const pct = (t: number) => `${(Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0) * 100}%`;
  const width = (s: [number, number]) => `max(2px, ${((Math.min(s[1], t1) - Math.max(s[0], t0)) / (t1 - t0)) * 100}%)`;
  const bar = (s: [number, number], color: string, light: boolean, title: string) => (
    <Tooltip label={title} withinPortal>
      <Box
        style={{
          position: 'absolute',
          left: pct(s[0]),
          width: width(s),
          top: light ? 7 : 4,
          height: light ? 6 : 12,
          borderRadius: 2,
          background: `var(--mantine-color-${color}-${light ? 2 : 6})`,
        }}
      />
    </Tooltip>
  );
  return (
    <Box data-testid={testId} data-rows={shown.length}>
      <Group justify="space-between" ml={220} mb={2}>
        <Text size="xs" c="dimmed">
          {formatTime(t0)}
        </Text>
        <Text size="xs" c="dimmed">
          {formatDuration((t1 - t0) / 1000)} in all
        </Text>
        <Text size="xs" c="dimmed">
          {t1 >= now - 1000 ? 'now' : formatTime(t1)}
        </Text>
      </Group>
      <Box style={{ position: 'relative' }}>
        {bands.map((b, i) => (
          <Box
            key={i}
            data-testid={`${testId}-band`}
            title={b.label}
            style={{
              position: 'absolute',
              top: 0,
              bottom: 0,
              left: `calc(220px + (100% - 220px) * ${(Math.max(b.from, t0) - t0) / (t1 - t0)})`,
              width: `calc((100% - 220px) * ${Math.max(0, (Math.min(b.to, t1) - Math.max(b.from, t0)) / (t1 - t0))})`,
              background: 'var(--mantine-color-teal-light)',
              borderLeft: '1px solid var(--mantine-color-teal-5)',
            }}
          />
        ))}
        {shown.map((r) => (
          <Group key={r.id} gap={0} wrap="nowrap" h={20} data-testid={`${testId}-row`} data-status={r.status}>
            <Box w={220} style={{ flexShrink: 0, overflow: 'hidden' }}>
              <Text size="xs" truncate>
                {r.label}
                {r.note ? ` · ${r.note}` : ''}
              </Text>
            </Box>
            <Box style={{ position: 'relative', flex: 1, height: 20 }}>
              {r.wait && bar(r.wait, statusColor(r.status), true, `waited ${formatDuration((r.wait[1] - r.wait[0]) / 1000)}`)}
              {r.run && bar(r.run, statusColor(r.status), false, `${r.status}, ran ${formatDuration((r.run[1] - r.run[0]) / 1000)}`)}
            </Box>
          </Group>
        ))}
      </Box>
      {rows.length > shown.length && (
        <Text size="xs" c="dimmed">
          … and {rows.length - shown.length} more
        </Text>
      )}
      <Text size="xs" c="dimmed" mt={4}>
        Light: waiting in the queue; solid: running{bands.length ? '; shaded: the worker online' : ''}.
      </Text>
    </Box>
  );
}

/** A root's runs, from the graph's data: wait from creation to start, then the run. */
export function treeRows(g: RunGraphData, project: string, now = Date.now()): TimelineRow[] {
  return [...g.nodes]
    .sort((a, b) => ms(a.created_at) - ms(b.created_at))
    .map((n) => {
      const start = ms(n.started_at);
      const end = n.ended_at ? ms(n.ended_at) : now;
      return {
        id: n.id,
        status: n.status,
        label: (
          <Anchor component={Link} to={`/p/${project}/runs/${n.id}`} size="xs">
            {n.name || n.kind || shortId(n.id)}
          </Anchor>
        ),
        wait: span(ms(n.created_at), Number.isFinite(start) ? start : n.ended_at ? end : now),
        run: span(start, end),
        note: n.attempt_seq && n.attempt_seq > 1 ? `${n.attempt_seq - 1} retr${n.attempt_seq === 2 ? 'y' : 'ies'}` : undefined,
      };
    });
}

/** A run's attempts, one row each: its wait for a worker, then its run. */
export function AttemptsTimeline({ project, run }: { project: string; run: string }) {
  const q = useQuery(attemptsQuery(project, run));
  if (!q.data || q.data.length === 0) return null;
  const now = Date.now();
  const rows: TimelineRow[] = q.data.map((a) => {
    const start = ms(a.started_at);
    const end = a.ended_at ? ms(a.ended_at) : now;
    return {
      id: String(a.seq),
      status: a.status ?? 'queued',
      label: `attempt ${a.seq}${a.worker_id ? ` on worker ${a.worker_id}` : ''}`,
      wait: span(ms(a.created_at), Number.isFinite(start) ? start : end),
      run: span(start, end),
    };
  });
  return <Timeline rows={rows} now={now} testId="attempts-timeline" />;
}

/** A worker's runs on one axis with its online sessions as bands behind them. */
export function WorkerTimeline({ project, runs, sessions }: { project: string; runs: Run[]; sessions: WorkerSession[] }) {
  const now = Date.now();
  const rows: TimelineRow[] = [...runs]
    .sort((a, b) => ms(a.started_at ?? a.created_at) - ms(b.started_at ?? b.created_at))
    .map((r) => {
      const start = ms(r.started_at);
      const end = r.ended_at ? ms(r.ended_at) : now;
      return {
        id: r.id ?? '',
        status: r.status ?? 'queued',
        label: (
          <Anchor component={Link} to={`/p/${project}/runs/${r.id}`} size="xs">
            {r.name || r.kind || shortId(r.id)}
          </Anchor>
        ),
        run: span(start, end),
      };
    });
  const bands = sessions
    .map((s) => ({ from: ms(s.started_at), to: s.ended_at ? ms(s.ended_at) : now, label: `session on ${s.host ?? '?'}` }))
    .filter((b) => Number.isFinite(b.from));
  return <Timeline rows={rows} bands={bands} now={now} testId="worker-timeline" />;
}
