// Turning report rows into chart data: the built-in reports' rows pivoted into one line
// per group (throughput by status, failure rate by kind), and an ad-hoc result's columns
// into x and y series by a chart spec ({type, x, y, series}), with a sensible default
// spec guessed from the column types. Pure functions, tested in reportChart.test.ts.
import type { ChartSpec, QueryResult } from '../api/types';
import { chartDate } from './format';

export interface Line {
  label: string;
  values: (number | null)[];
}

export type XKind = 'time' | 'number' | 'category';

export interface ChartData {
  xKind: XKind;
  /** Unix seconds (time), the values (number) or 0..n-1 (category). */
  x: number[];
  /** The category names, when xKind is category. */
  labels: string[];
  lines: Line[];
  /** The bucket in seconds, when the x values are time buckets (for their labels). */
  step?: number;
}

export const MAX_LINES = 12;

const TIME_TYPES = new Set(['timestamptz', 'timestamp', 'date']);
const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'oid']);

export const isTimeType = (t: string | undefined) => !!t && TIME_TYPES.has(t);
export const isNumberType = (t: string | undefined) => !!t && NUMBER_TYPES.has(t);

/** A cell as a number, or null (int8 past 2^53 and numeric come as strings). */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** Unix seconds of a time cell, or null. */
export function toSeconds(v: unknown): number | null {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/**
 * Rows with a time bucket, pivoted: one line per group (groupOf(row)), a point per bucket,
 * 0 where a group has no row in a bucket (a missing row means no runs). The largest
 * groups (by their total) are kept when there are more than MAX_LINES; the rest is summed
 * into "other".
 */
export function pivotByTime<R>(
  rows: R[],
  bucketOf: (r: R) => string | undefined,
  groupOf: (r: R) => string,
  valueOf: (r: R) => number,
  fill?: { from?: string; to?: string; step?: number },
): ChartData {
  const xs = new Set<number>(fill ? windowBuckets(fill.from, fill.to, fill.step) : []);
  const groups = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const x = toSeconds(bucketOf(r));
    if (x === null) continue;
    xs.add(x);
    const g = groupOf(r);
    let m = groups.get(g);
    if (!m) groups.set(g, (m = new Map()));
    m.set(x, (m.get(x) ?? 0) + valueOf(r));
  }
  const x = [...xs].sort((a, b) => a - b);
  let named = [...groups.entries()].map(([label, m]) => ({
    label,
    m,
    total: [...m.values()].reduce((a, b) => a + b, 0),
  }));
  named.sort((a, b) => b.total - a.total || a.label.localeCompare(b.label));
  if (named.length > MAX_LINES) {
    const other = new Map<number, number>();
    for (const g of named.slice(MAX_LINES - 1))
      for (const [k, v] of g.m) other.set(k, (other.get(k) ?? 0) + v);
    named = [...named.slice(0, MAX_LINES - 1), { label: 'other', m: other, total: 0 }];
  }
  return {
    xKind: 'time',
    x,
    labels: [],
    step: fill?.step,
    lines: named.map((g) => ({ label: g.label, values: x.map((t) => g.m.get(t) ?? 0) })),
  };
}

/** Where the server's buckets start (date_bin's origin in the report functions: a Monday). */
const BUCKET_ORIGIN_S = Date.UTC(2000, 0, 3) / 1000;
const MAX_FILL = 5000;

/** Every bucket start (Unix seconds) of step seconds that overlaps [from, to). */
export function windowBuckets(from?: string, to?: string, step?: number): number[] {
  const a = toSeconds(from), b = toSeconds(to);
  if (a === null || b === null || !step || step <= 0 || b <= a || (b - a) / step > MAX_FILL) return [];
  const out: number[] = [];
  for (let t = BUCKET_ORIGIN_S + Math.floor((a - BUCKET_ORIGIN_S) / step) * step; t < b; t += step) out.push(t);
  return out;
}

/** The chart a result most likely wants: a time column and numbers make a line; a name
 * and numbers a bar chart; anything else a table. */
export function guessChart(res: QueryResult): ChartSpec {
  const cols = res.columns.map((c) => ({ name: c.name ?? '', type: c.type ?? 'unknown' }));
  const nums = cols.filter((c) => isNumberType(c.type));
  const time = cols.find((c) => isTimeType(c.type));
  const label = cols.find((c) => !isNumberType(c.type) && !isTimeType(c.type));
  // Time, a name and one number: one line per name (runs per day by status).
  if (time && label && nums.length === 1) return { type: 'line', x: time.name, y: nums[0]!.name, series: label.name };
  if (time && nums.length) return { type: 'line', x: time.name, y: nums.map((c) => c.name) };
  if (label && nums.length) return { type: 'bar', x: label.name, y: nums.map((c) => c.name) };
  if (nums.length >= 2) return { type: 'line', x: nums[0]!.name, y: nums.slice(1).map((c) => c.name) };
  return { type: 'table' };
}

/** Why a spec cannot be drawn from this result (a column it names is missing), or null. */
export function chartProblem(res: QueryResult, spec: ChartSpec): string | null {
  if (spec.type === 'table') return null;
  const names = new Set(res.columns.map((c) => c.name));
  const ys = spec.y === undefined ? [] : Array.isArray(spec.y) ? spec.y : [spec.y];
  for (const c of [spec.x, spec.series, ...ys])
    if (c !== undefined && !names.has(c)) return `the result has no column “${c}”`;
  if (!spec.x) return 'choose the column for the x axis';
  if (ys.length === 0) return 'choose at least one column for the y axis';
  return null;
}

/**
 * A result as chart data by spec: x from spec.x (time, number or category by its type),
 * one line per y column, or, with spec.series, one line per value of that column (of the
 * first y column). Rows are ordered by x; repeated x values of one line are summed.
 */
export function resultToChart(res: QueryResult, spec: ChartSpec): ChartData | null {
  if (spec.type === 'table' || chartProblem(res, spec)) return null;
  const idx = (name: string | undefined) => res.columns.findIndex((c) => c.name === name);
  const xi = idx(spec.x);
  const xType = res.columns[xi]?.type;
  const ys = (Array.isArray(spec.y) ? spec.y : [spec.y!]).map(idx);
  const si = spec.series ? idx(spec.series) : -1;
  const xKind: XKind = isTimeType(xType) ? 'time' : isNumberType(xType) ? 'number' : 'category';

  const keyOf = (v: unknown): number | string | null =>
    xKind === 'time' ? toSeconds(v) : xKind === 'number' ? toNumber(v) : v === null ? '∅' : String(v);
  const xKeys: (number | string)[] = [];
  const seen = new Set<number | string>();
  const series = new Map<string, Map<number | string, number>>();
  const add = (label: string, k: number | string, v: number | null) => {
    if (v === null) return;
    let m = series.get(label);
    if (!m) series.set(label, (m = new Map()));
    m.set(k, (m.get(k) ?? 0) + v);
  };
  for (const row of res.rows) {
    const k = keyOf(row[xi]);
    if (k === null) continue;
    if (!seen.has(k)) {
      seen.add(k);
      xKeys.push(k);
    }
    if (si >= 0) add(row[si] === null ? '∅' : String(row[si]), k, toNumber(row[ys[0]!]));
    else ys.forEach((y, j) => add(res.columns[y]?.name ?? `y${j}`, k, toNumber(row[y])));
  }
  if (xKind !== 'category') (xKeys as number[]).sort((a, b) => a - b);
  const labels = xKind === 'category' ? (xKeys as string[]) : [];
  const x = xKind === 'category' ? xKeys.map((_, i) => i) : (xKeys as number[]);
  const lines = [...series.entries()]
    .slice(0, MAX_LINES)
    .map(([label, m]) => ({ label, values: xKeys.map((k) => m.get(k) ?? (si >= 0 ? 0 : null)) }));
  return { xKind, x, labels, lines };
}

/** One CSV cell / a value for a results table. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** True when every value of every line is a whole number (counts): the y axis then has
 * whole-number ticks only, never "0.25 runs". */
export function allIntegers(data: ChartData): boolean {
  return data.lines.every((l) => l.values.every((v) => v === null || Number.isInteger(v)));
}

/**
 * Y ticks from 0 to at least `max`: about `target` of them on a 1-2-5 step, a whole-number
 * step of at least 1 for counts. Returns the ticks (the last is the axis' top).
 */
export function niceTicks(max: number, integers: boolean, target = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integers) step = Math.max(1, Math.ceil(step));
  const out: number[] = [];
  for (let t = 0; t < max + step * 1e-9; t += step) out.push(+t.toPrecision(12));
  if (out[out.length - 1]! < max) out.push(+(out[out.length - 1]! + step).toPrecision(12));
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');
const dayText = (d: Date) => `${MONTHS[d.getMonth()]} ${d.getDate()}`;

/**
 * Labels for time buckets (Unix seconds, in the zone chosen in Settings), short enough to read under a bar:
 * `Dec 4` for buckets of a day or more; `14:00` within a day, with the date (`Dec 4
 * 00:00`) where a new day begins and on the first label. `step` is the bucket in seconds.
 */
export function timeLabels(xs: number[], step: number | undefined): string[] {
  let lastDay = '';
  return xs.map((x) => {
    const d = chartDate(x); // the zone chosen in Settings, as every time on screen
    const day = dayText(d);
    if ((step ?? minGap(xs)) >= 86400) return day;
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    const out = day !== lastDay ? `${day} ${hm}` : hm;
    lastDay = day;
    return out;
  });
}

/** The smallest gap between sorted x values (a bucket's width when none is given). */
function minGap(xs: number[]): number {
  let g = Infinity;
  for (let i = 1; i < xs.length; i++) g = Math.min(g, xs[i]! - xs[i - 1]!);
  return g;
}

/** Why a chart has nothing to draw, in words; null when it has something. */
export function emptyReason(data: ChartData | null | undefined): string | null {
  if (!data || data.x.length === 0) return 'No data in this window: no rows to chart.';
  if (data.lines.length === 0) return 'No numeric column to chart.';
  if (data.lines.every((l) => l.values.every((v) => v === null))) return 'Every value is empty (null): nothing to chart.';
  return null;
}
