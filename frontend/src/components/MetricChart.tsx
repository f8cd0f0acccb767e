// One metric series as a uPlot line chart (value by step), sized to its container and
// coloured for the current theme.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useComputedColorScheme } from '@mantine/core';
import type { MetricSeries } from '../api/metrics';

export function MetricChart({ series, height = 180 }: { series: MetricSeries; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const scheme = useComputedColorScheme('light');

  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const axis = scheme === 'dark' ? '#c1c2c5' : '#495057';
    const grid = scheme === 'dark' ? '#373a40' : '#e9ecef';
    const steps = series.points.map((p) => p.step);
    const values = series.points.map((p) => p.value);
    const data: uPlot.AlignedData = [steps, values];
    const opts: uPlot.Options = {
      width: Math.max(box.clientWidth, 200),
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 60 },
      ],
      series: [{ label: 'step' }, { label: series.key, stroke: '#228be6', width: 1.5, points: { show: series.points.length < 60 } }],
    };
    const chart = new uPlot(opts, data, box);
    const ro = new ResizeObserver(() => chart.setSize({ width: Math.max(box.clientWidth, 200), height }));
    ro.observe(box);
    return () => {
      ro.disconnect();
      chart.destroy();
    };
  }, [series, height, scheme]);

  return <div ref={el} data-testid={`metric-${series.key}`} />;
}
