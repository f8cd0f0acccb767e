// Line charts with uPlot: a metric series (value by step, or by time when steps are
// missing; the min/max band of downsampled buckets drawn faint) and any numeric series
// over time (a worker's resource samples). Sized to the container, coloured for the theme.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useComputedColorScheme } from '@mantine/core';
import type { MetricSeries } from '../api/metrics';
import { chartDate } from '../lib/format';

export interface ChartLine {
  label: string;
  values: (number | null)[];
  faint?: boolean;
}

export function LineChart({
  x,
  lines,
  time,
  height = 180,
  testid,
}: {
  x: number[];
  lines: ChartLine[];
  time: boolean;
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
    const data = [x, ...lines.map((l) => l.values)] as uPlot.AlignedData;
    const opts: uPlot.Options = {
      width: Math.max(box.clientWidth, 200),
      height,
      legend: { show: lines.length > 1 },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time } },
      tzDate: (ts: number) => chartDate(ts), // the zone chosen in Settings (lib/format.ts)
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 60 },
      ],
      series: [
        { label: time ? 'time' : 'step' },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.faint ? 'rgba(34,139,230,0.35)' : '#228be6',
          width: l.faint ? 1 : 1.5,
          points: { show: x.length < 60 && !l.faint },
        })),
      ],
    };
    const chart = new uPlot(opts, data, box);
    const ro = new ResizeObserver(() => chart.setSize({ width: Math.max(box.clientWidth, 200), height }));
    ro.observe(box);
    return () => {
      ro.disconnect();
      chart.destroy();
    };
  }, [x, lines, time, height, scheme]);

  return <div ref={el} data-testid={testid} />;
}

export function MetricChart({ series, height = 180 }: { series: MetricSeries; height?: number }) {
  const points = series.points ?? [];
  const bySteps = points.every((p) => typeof p.step === 'number');
  const x = points.map((p) => (bySteps ? (p.step as number) : Date.parse(p.ts ?? '') / 1000));
  const lines: ChartLine[] = [{ label: series.key ?? '', values: points.map((p) => p.value ?? null) }];
  if (series.downsampled) {
    lines.push({ label: 'min', values: points.map((p) => p.min ?? null), faint: true });
    lines.push({ label: 'max', values: points.map((p) => p.max ?? null), faint: true });
  }
  return <LineChart x={x} lines={lines} time={!bySteps} height={height} testid={`metric-${series.key}`} />;
}
