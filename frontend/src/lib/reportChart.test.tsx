import { describe, expect, it, vi, afterEach } from 'vitest';
import { screen } from '@testing-library/react';
import {
  chartProblem,
  guessChart,
  pivotByTime,
  resultToChart,
  toNumber,
  windowBuckets,
  MAX_LINES,
  niceTicks,
  timeLabels,
  emptyReason,
} from './reportChart';
import { schemaFromResult } from '../api/reports';
import type { QueryResult } from '../api/types';
import { renderApp } from '../test/render';
import { ReportChart } from '../components/ReportChart';
import { ResultTable } from '../components/ResultTable';
import { AnomaliesPanel } from '../components/AnomaliesPanel';

const H = (h: number) => `2026-01-01T${String(h).padStart(2, '0')}:00:00Z`;
const s = (iso: string) => Date.parse(iso) / 1000;

describe('pivotByTime', () => {
  const rows = [
    { bucket: H(1), status: 'failed', n: 2 },
    { bucket: H(0), status: 'succeeded', n: 5 },
    { bucket: H(1), status: 'succeeded', n: 1 },
    { bucket: H(1), status: 'succeeded', n: 3 }, // same bucket and group: summed
  ];
  it('makes one line per group, buckets in time order, zero where a group has no row', () => {
    const c = pivotByTime(rows, (r) => r.bucket, (r) => r.status, (r) => r.n);
    expect(c.xKind).toBe('time');
    expect(c.x).toEqual([s(H(0)), s(H(1))]);
    expect(c.lines).toEqual([
      { label: 'succeeded', values: [5, 4] },
      { label: 'failed', values: [0, 2] },
    ]);
  });
  it('fills every bucket of the window, aligned as the server bins', () => {
    const c = pivotByTime(rows, (r) => r.bucket, (r) => r.status, (r) => r.n, {
      from: '2025-12-31T22:30:00Z',
      to: '2026-01-01T02:10:00Z',
      step: 3600,
    });
    expect(c.x).toEqual([s('2025-12-31T22:00:00Z'), s('2025-12-31T23:00:00Z'), s(H(0)), s(H(1)), s(H(2))]);
    expect(c.lines[1]).toEqual({ label: 'failed', values: [0, 0, 0, 2, 0] });
  });
  it('keeps the largest groups and sums the rest into "other"', () => {
    const many = Array.from({ length: MAX_LINES + 3 }, (_, i) => ({ bucket: H(0), status: `k${i}`, n: i + 1 }));
    const c = pivotByTime(many, (r) => r.bucket, (r) => r.status, (r) => r.n);
    expect(c.lines).toHaveLength(MAX_LINES);
    expect(c.lines[0]!.label).toBe(`k${MAX_LINES + 2}`);
    expect(c.lines[MAX_LINES - 1]).toEqual({ label: 'other', values: [1 + 2 + 3 + 4] });
  });
});

describe('axes', () => {
  it('ticks counts in whole steps, other numbers on a 1-2-5 step', () => {
    expect(niceTicks(1, true)).toEqual([0, 1]);
    expect(niceTicks(3, true)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(37, true)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0.9, false)).toEqual([0, 0.5, 1]);
    expect(niceTicks(0, true)).toEqual([0, 1]);
  });
  it('labels hourly buckets by time with the date where a day begins, days by date', () => {
    const t0 = new Date(2026, 11, 4, 22, 0, 0).getTime() / 1000;
    expect(timeLabels([t0, t0 + 3600, t0 + 7200], 3600)).toEqual(['Dec 4 22:00', '23:00', 'Dec 5 00:00']);
    expect(timeLabels([t0, t0 + 86400], 86400)).toEqual(['Dec 4', 'Dec 5']);
  });
  it('says why a chart is empty', () => {
    expect(emptyReason({ xKind: 'time', x: [], labels: [], lines: [] })).toMatch(/no rows/);
    expect(emptyReason({ xKind: 'time', x: [1], labels: [], lines: [] })).toMatch(/numeric/);
    expect(emptyReason({ xKind: 'time', x: [1], labels: [], lines: [{ label: 'a', values: [null] }] })).toMatch(/empty/);
    expect(emptyReason({ xKind: 'time', x: [1], labels: [], lines: [{ label: 'a', values: [0] }] })).toBeNull();
  });
});

describe('windowBuckets', () => {
  it('starts days on the server origin and refuses absurd windows', () => {
    expect(windowBuckets('2026-01-01T05:00:00Z', '2026-01-02T05:00:00Z', 86400)).toEqual([s('2026-01-01T00:00:00Z'), s('2026-01-02T00:00:00Z')]);
    expect(windowBuckets('2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', 60)).toEqual([]);
    expect(windowBuckets(undefined, H(1), 60)).toEqual([]);
  });
});

const result = (columns: [string, string][], rows: unknown[][]): QueryResult => ({
  columns: columns.map(([name, type]) => ({ name, type })),
  rows,
  row_count: rows.length,
  truncated: false,
});

describe('charts of ad-hoc results', () => {
  const byDay = result(
    [['day', 'timestamptz'], ['status', 'text'], ['runs', 'int8']],
    [
      [H(1), 'failed', 2],
      [H(0), 'succeeded', 5],
      [H(1), 'succeeded', 1],
    ],
  );
  it('guesses a line per name for time, a name and a number', () => {
    expect(guessChart(byDay)).toEqual({ type: 'line', x: 'day', y: 'runs', series: 'status' });
  });
  it('guesses a bar chart for names and numbers, a table for text only', () => {
    expect(guessChart(result([['kind', 'text'], ['n', 'int8'], ['p', 'float8']], []))).toEqual({ type: 'bar', x: 'kind', y: ['n', 'p'] });
    expect(guessChart(result([['a', 'text'], ['b', 'jsonb']], []))).toEqual({ type: 'table' });
  });
  it('pivots by the series column, sorted by time', () => {
    const c = resultToChart(byDay, { type: 'line', x: 'day', y: 'runs', series: 'status' })!;
    expect(c.x).toEqual([s(H(0)), s(H(1))]);
    expect(c.lines).toEqual([
      { label: 'failed', values: [0, 2] },
      { label: 'succeeded', values: [5, 1] },
    ]);
  });
  it('draws categories in the order of the rows, numbers given as strings too', () => {
    const r = result([['kind', 'text'], ['p50', 'numeric']], [['train', '1.5'], ['eval', 3], ['x', null]]);
    const c = resultToChart(r, { type: 'bar', x: 'kind', y: ['p50'] })!;
    expect(c).toEqual({ xKind: 'category', x: [0, 1, 2], labels: ['train', 'eval', 'x'], lines: [{ label: 'p50', values: [1.5, 3, null] }] });
  });
  it('says which column a spec names that the result lacks', () => {
    expect(chartProblem(byDay, { type: 'line', x: 'day', y: 'count' })).toBe('the result has no column “count”');
    expect(chartProblem(byDay, { type: 'line', x: 'day' })).toBe('choose at least one column for the y axis');
    expect(chartProblem(byDay, { type: 'table' })).toBeNull();
    expect(resultToChart(byDay, { type: 'line', x: 'nope', y: 'runs' })).toBeNull();
  });
  it('reads numbers the server sent as strings, and nothing else', () => {
    expect(toNumber('9007199254740993')).toBe(9007199254740993);
    expect(toNumber('abc')).toBeNull();
    expect(toNumber(null)).toBeNull();
  });
});

describe('the report schema list', () => {
  it('groups rows into views with columns and functions with their signature', () => {
    const objs = schemaFromResult(
      result(
        [['object', 'name'], ['what', 'text'], ['name', 'name'], ['type', 'varchar'], ['pos', 'int4']],
        [
          ['runs', 'view', 'id', 'uuid', 1],
          ['runs', 'view', 'status', 'text', 2],
          ['workers', 'view', 'id', 'bigint', 1],
          ['throughput', 'function', 'from_ts timestamptz', 'TABLE(started bigint)', 0],
        ],
      ),
    );
    expect(objs).toEqual([
      { name: 'runs', what: 'view', columns: [{ name: 'id', type: 'uuid' }, { name: 'status', type: 'text' }] },
      { name: 'workers', what: 'view', columns: [{ name: 'id', type: 'bigint' }] },
      { name: 'throughput', what: 'function', columns: [{ name: 'from_ts timestamptz', type: 'TABLE(started bigint)' }] },
    ]);
  });
});

describe('report components', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('draws bars with their values readable on hover, and says when there is nothing', () => {
    const { container } = renderApp(
      <ReportChart type="bar" data={{ xKind: 'category', x: [0, 1], labels: ['train', 'eval'], lines: [{ label: 'p50', values: [2, 0] }] }} />,
    );
    const rects = container.querySelectorAll('rect');
    expect(rects).toHaveLength(1); // a zero draws no bar
    expect(rects[0]!.querySelector('title')!.textContent).toBe('train · p50: 2');
    renderApp(<ReportChart type="line" data={{ xKind: 'time', x: [], labels: [], lines: [] }} />);
    expect(screen.getByText('No data in this window: no rows to chart.')).toBeInTheDocument();
  });

  it('gives counts whole-number ticks, a lone bar a bar’s width, and time buckets short labels', () => {
    const day = Date.UTC(2026, 11, 1) / 1000;
    const x = Array.from({ length: 7 }, (_, i) => day + i * 86400);
    const { container } = renderApp(
      <ReportChart
        type="bar"
        stacked
        data={{ xKind: 'time', x, labels: [], step: 86400, lines: [{ label: 'started', values: [0, 0, 0, 1, 0, 0, 0] }, { label: 'failed', values: [0, 0, 0, 1, 0, 0, 0] }, { label: 'queued', values: [0, 0, 0, 0, 0, 0, 0] }] }}
      />,
    );
    const ticks = [...container.querySelectorAll('[data-tick]')].map((t) => t.textContent);
    expect(ticks.every((t) => /^\d+$/.test(t ?? ''))).toBe(true);
    expect(ticks).toContain('1');
    const rects = container.querySelectorAll('rect');
    expect(rects).toHaveLength(2);
    for (const r of rects) expect(Number(r.getAttribute('width'))).toBeLessThanOrEqual(48);
    const labels = [...container.querySelectorAll('[data-xlabel]')].map((t) => t.textContent);
    expect(labels[0]).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
  });

  it('renders a result table with its types, nulls marked', () => {
    renderApp(<ResultTable result={result([['kind', 'text'], ['n', 'int8']], [['train', 3], [null, 4]])} />);
    expect(screen.getByText('int8')).toBeInTheDocument();
    expect(screen.getByText('train')).toBeInTheDocument();
    expect(screen.getByText('null')).toBeInTheDocument();
  });

  it('shows anomaly counts and the API error in words', async () => {
    const fetchMock = vi.fn(async (_url: string) =>
      new Response(
        JSON.stringify({
          counts: { stuck: 2, stale: 0, interrupted: 1, lease_expired: 0 },
          items: [{ anomaly: 'stuck', run_id: '0b7c6c2e-1111-4a4a-8b8b-000000000001', kind: 'train', queue: 'gpu', since: '2026-01-01T11:00:00Z', age_s: 3600, detail: 'no heartbeat for 1h' }],
        }),
        { status: 200, headers: { 'Content-Type': 'application/json' } },
      ),
    );
    vi.stubGlobal('fetch', fetchMock);
    renderApp(<AnomaliesPanel slug="ml" now={Date.parse('2026-01-01T12:00:00Z')} />);
    expect(await screen.findByText('no heartbeat for 1h')).toBeInTheDocument();
    expect(screen.getByTestId('anomaly-stuck')).toHaveTextContent('2');
    expect(screen.getByText('1h 0m 0s')).toBeInTheDocument();
    expect(String(fetchMock.mock.calls[0]![0])).toContain('/api/v1/anomalies?project=ml');

    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ error: { code: 'forbidden', message: 'you may not read this project' } }), { status: 403 })));
    renderApp(<AnomaliesPanel slug="other" now={0} />);
    expect(await screen.findByText('you may not read this project')).toBeInTheDocument();
  });
});
