// Line charts with uPlot: a metric series (value by step, or by time when steps are
// missing; the min/max band of downsampled buckets drawn faint) and any numeric series
// over time (a worker's resource samples). Sized to the container, coloured for the theme.
// Ticks and hover values go through formatTicks/formatNumber so distinct values never read
// alike; charts given the same `sync` key share the hover cursor; `log` draws y on a log
// scale (values <= 0 cannot be drawn there and become gaps).
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useComputedColorScheme } from '@mantine/core';
import type { MetricSeries } from '../api/metrics';
import { chartDate, formatDuration, formatNumber, formatTicks } from '../lib/format';
import { ema, pointX, type XMode } from '../lib/metricsView';

export interface ChartLine {
  label: string;
  values: (number | null)[];
  faint?: boolean;
  /** Stroke colour; the theme's blue (faded when faint) by default. */
  color?: string;
}

/** Relative-time ticks: seconds since the start as a duration (`1m 30s`). */
const relTicks = (u: uPlot, splits: number[]) => {
  const labels = splits.map((v) => (v < 0 ? '-' : '') + formatDuration(Math.abs(v)));
  u.root.dataset.xticks = labels.join('|');
  return labels;
};
/** Number ticks; the labels are also kept on the chart's root (data-xticks, data-yticks),
 * since uPlot draws them on a canvas where a test cannot read them. */
const numTicks = (u: uPlot, splits: (number | null)[], axis: number) => {
  // A log axis hands minor splits over as null (no label there).
  const shown = formatTicks(splits.filter((v): v is number => v !== null));
  let i = 0;
  const labels = splits.map((v) => (v === null ? '' : (shown[i++] ?? '')));
  u.root.dataset[axis ? 'yticks' : 'xticks'] = shown.join('|');
  return labels;
};

export function LineChart({
  x,
  lines,
  time,
  relative = false,
  log = false,
  sync,
  syncSeries = false,
  legend,
  height = 180,
  testid,
}: {
  x: number[];
  lines: ChartLine[];
  time: boolean;
  /** x is seconds since a start (ticks read as durations). */
  relative?: boolean;
  log?: boolean;
  /** Charts with the same key share the hover cursor (by x value). */
  sync?: string;
  /** Also share the focused series (when series i is the same thing in every chart). */
  syncSeries?: boolean;
  legend?: boolean;
  height?: number;
  testid?: string;
}) {
  const el = useRef<HTMLDivElement>(null);
  const scheme = useComputedColorScheme('light');

  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const axis = scheme === 'dark' ? '#c1c2c5' : '#495057';
    const grid = scheme === 'dark' ? '#373a40' : '#e9ecef';
    const ys = lines.map((l) => (log ? l.values.map((v) => (v !== null && v > 0 ? v : null)) : l.values));
    const data = [x, ...ys] as uPlot.AlignedData;
    const hover = (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : formatNumber(v, 5));
    const opts: uPlot.Options = {
      width: Math.max(box.clientWidth, 200),
      height,
      legend: { show: legend ?? lines.length > 1 },
      cursor: {
        drag: { x: true, y: false },
        ...(sync ? { sync: { key: sync, setSeries: syncSeries } } : {}),
      },
      scales: { x: { time }, y: log ? { distr: 3 } : {} },
      tzDate: (ts: number) => chartDate(ts), // the zone chosen in Settings (lib/format.ts)
      axes: [
        {
          stroke: axis,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          ...(time ? {} : { values: relative ? relTicks : numTicks }),
        },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 60, values: numTicks },
      ],
      series: [
        {
          label: time ? 'time' : relative ? 'elapsed' : 'step',
          ...(time ? {} : { value: relative ? (_u: uPlot, v: number | null) => (v === null ? '—' : formatDuration(v)) : hover }),
        },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color ?? (l.faint ? 'rgba(34,139,230,0.35)' : '#228be6'),
          width: l.faint ? 1 : 1.5,
          spanGaps: true,
          value: hover,
          points: { show: x.length < 60 && !l.faint },
        })),
      ],
    };
    const chart = new uPlot(opts, data, box);
    // What is drawn, for tests and the first-paint benchmark (tests/bench/compare_paint.mjs).
    box.dataset.lines = String(lines.length);
    box.dataset.points = String(ys.reduce((n, l) => n + l.filter((v) => v !== null).length, 0));
    const ro = new ResizeObserver(() => chart.setSize({ width: Math.max(box.clientWidth, 200), height }));
    ro.observe(box);
    return () => {
      ro.disconnect();
      chart.destroy();
    };
  }, [x, lines, time, relative, log, sync, syncSeries, legend, height, scheme]);

  return <div ref={el} data-testid={testid} />;
}

/** How a run's metric charts are drawn (the controls above them). */
export interface ChartView {
  xMode: XMode;
  /** EMA weight, 0 for none. */
  smoothing: number;
  log: boolean;
  /** uPlot cursor sync key shared by the charts on screen. */
  sync?: string;
  /** For relative time: the run's start in seconds (else the series' first point). */
  origin?: number;
}

export const DEFAULT_VIEW: ChartView = { xMode: 'step', smoothing: 0, log: false };

/** One metric series. Smoothed, the raw line stays underneath, faint; unsmoothed, a
 * downsampled series shows each bucket's min and max faint (a spike survives). */
export function MetricChart({
  series,
  height = 180,
  view = DEFAULT_VIEW,
}: {
  series: MetricSeries;
  height?: number;
  view?: ChartView;
}) {
  const { x, lines, time, relative } = useMemo(() => {
    const points = series.points ?? [];
    const bySteps = points.every((p) => typeof p.step === 'number');
    // A series without steps has only time to go by.
    const mode: XMode = view.xMode === 'step' && !bySteps ? 'time' : view.xMode;
    const values = points.map((p) => p.value ?? null);
    const key = series.key ?? '';
    const out: ChartLine[] = [];
    if (view.smoothing > 0) {
      out.push({ label: `${key} (raw)`, values, faint: true });
      out.push({ label: key, values: ema(values, view.smoothing) });
    } else {
      out.push({ label: key, values });
      if (series.downsampled) {
        out.push({ label: 'min', values: points.map((p) => p.min ?? null), faint: true });
        out.push({ label: 'max', values: points.map((p) => p.max ?? null), faint: true });
      }
    }
    return { x: pointX(points, mode, view.origin), lines: out, time: mode === 'time', relative: mode === 'relative' };
  }, [series, view.xMode, view.smoothing, view.origin]);
  return (
    <LineChart
      x={x}
      lines={lines}
      time={time}
      relative={relative}
      log={view.log}
      sync={view.sync}
      legend={lines.length > 1}
      height={height}
      testid={`metric-${series.key}`}
    />
  );
}
