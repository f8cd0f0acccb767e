// What the metric charts show, as pure functions the charts and tests share: keys grouped
// by prefix, EMA smoothing, the x value of a point by step / time / relative time, series of
// several runs joined on one x axis, and a stable colour per run.
import type { MetricPoint } from '../api/metrics';

export type XMode = 'step' | 'time' | 'relative';

export interface KeyGroup {
  name: string;
  keys: string[];
}

/** The well-known prefixes first, in this order; other prefixes alphabetically; keys
 * without a prefix last, as "other". */
const FIRST = ['train', 'eval', 'system'];

export function groupMetricKeys(keys: readonly string[]): KeyGroup[] {
  const by = new Map<string, string[]>();
  for (const k of keys) {
    const slash = k.indexOf('/');
    const g = slash > 0 ? k.slice(0, slash) : '';
    by.set(g, [...(by.get(g) ?? []), k]);
  }
  const rank = (g: string) => (g === '' ? FIRST.length + 1 : FIRST.includes(g) ? FIRST.indexOf(g) : FIRST.length);
  return [...by.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([g, ks]) => ({ name: g === '' ? 'other' : g, keys: [...ks].sort() }));
}

/** Exponential moving average with weight `w` in [0, 1) (0: no smoothing), debiased as
 * TensorBoard does so the first points are not pulled towards zero; gaps stay gaps. */
export function ema(values: readonly (number | null)[], w: number): (number | null)[] {
  if (!(w > 0)) return [...values];
  let acc = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    acc = acc * w + (1 - w) * v;
    n += 1;
    return acc / (1 - w ** n);
  });
}

/** Seconds since the epoch of a point's time, or NaN without one. */
export const pointSeconds = (p: MetricPoint) => (p.ts ? Date.parse(p.ts) / 1000 : NaN);

/** The x of each point: its step (its index when steps are missing), its time in seconds,
 * or seconds since `origin` (the run's first point by default). */
export function pointX(points: readonly MetricPoint[], mode: XMode, origin?: number): number[] {
  if (mode === 'step') {
    const steps = points.every((p) => typeof p.step === 'number');
    return points.map((p, i) => (steps ? (p.step as number) : i));
  }
  const t = points.map(pointSeconds);
  if (mode === 'time') return t;
  const o = origin ?? t.find((v) => Number.isFinite(v)) ?? 0;
  return t.map((v) => v - o);
}

/** Several (x, y) series on one sorted x axis, null where a series has no point (the
 * shape uPlot draws). Points with the same x in one series keep the last. */
export function joinSeries(series: readonly { x: readonly number[]; y: readonly (number | null)[] }[]): {
  x: number[];
  ys: (number | null)[][];
} {
  const xs = new Set<number>();
  for (const s of series) for (const v of s.x) if (Number.isFinite(v)) xs.add(v);
  const x = [...xs].sort((a, b) => a - b);
  const at = new Map(x.map((v, i) => [v, i]));
  const ys = series.map((s) => {
    const out = new Array<number | null>(x.length).fill(null);
    s.x.forEach((v, i) => {
      const j = at.get(v);
      if (j !== undefined) out[j] = s.y[i] ?? null;
    });
    return out;
  });
  return { x, ys };
}

/** Colour of the i-th run of a comparison: ten distinct hues, then the golden angle, so
 * a run keeps its colour while runs are added after it. */
const PALETTE = ['#228be6', '#fa5252', '#40c057', '#fab005', '#7950f2', '#15aabf', '#fd7e14', '#e64980', '#82c91e', '#495057'];
export function runColor(i: number): string {
  return PALETTE[i] ?? `hsl(${Math.round((i * 137.508) % 360)}, 65%, 48%)`;
}

/** A colour at `alpha` opacity (a #rrggbb or hsl() colour), for raw lines under smoothed ones. */
export function fade(color: string, alpha: number): string {
  if (color.startsWith('#') && color.length === 7) {
    const n = parseInt(color.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  return color.replace(/^hsl\((.*)\)$/, `hsla($1, ${alpha})`);
}
