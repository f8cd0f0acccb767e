// One metric key of several runs overlaid on one chart, each run in its colour (runColor of
// its place in the comparison). Each run's series keeps its own x (steps, times, or time
// since its own first point) and they are joined on one axis; smoothing applies per run.
import { useMemo } from 'react';
import type { MetricSeries } from '../api/metrics';
import { LineChart, type ChartLine, type ChartView } from './MetricChart';
import { ema, joinSeries, pointX, runColor } from '../lib/metricsView';

export interface CompareLine {
  label: string;
  /** The run's place in the comparison (its colour). */
  index: number;
  series: MetricSeries | undefined;
}

/** Legends past this many runs would bury the chart; the runs table is the legend then. */
const LEGEND_MAX = 12;

export function CompareChart({
  metric,
  runs,
  view,
  height = 220,
}: {
  metric: string;
  runs: readonly CompareLine[];
  view: ChartView;
  height?: number;
}) {
  const { x, lines, time, relative } = useMemo(() => {
    const pts = runs.map((r) => r.series?.points ?? []);
    const bySteps = pts.every((p) => p.every((q) => typeof q.step === 'number'));
    const mode = view.xMode === 'step' && !bySteps ? 'time' : view.xMode;
    const joined = joinSeries(
      pts.map((p) => ({ x: pointX(p, mode), y: ema(p.map((q) => q.value ?? null), view.smoothing) })),
    );
    const out: ChartLine[] = runs.map((r, i) => ({ label: r.label, values: joined.ys[i] ?? [], color: runColor(r.index) }));
    return { x: joined.x, lines: out, time: mode === 'time', relative: mode === 'relative' };
  }, [runs, view.xMode, view.smoothing]);
  return (
    <LineChart
      x={x}
      lines={lines}
      time={time}
      relative={relative}
      log={view.log}
      sync={view.sync}
      syncSeries
      legend={runs.length <= LEGEND_MAX}
      height={height}
      testid={`compare-${metric}`}
    />
  );
}
