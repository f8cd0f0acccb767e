// Charts of report data with uPlot: lines or bars, over time, numbers or categories (a
// category axis is 0..n-1 with the names as tick labels), one colour per series, sized to
// the container and coloured for the theme. Lines are uPlot; bars are SVG (ReportBars).
// Counts get whole-number ticks on either; an empty chart says why.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useComputedColorScheme } from '@mantine/core';
import { chartDate } from '../lib/format';
import { allIntegers, emptyReason, timeLabels, type ChartData } from '../lib/reportChart';
import { BarChart, colorOf, EmptyChart } from './ReportBars';

export { PALETTE, xText } from './ReportBars';

function LinesChart({ data, height, testid }: { data: ChartData; height: number; testid?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const scheme = useComputedColorScheme('light');

  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const axis = scheme === 'dark' ? '#c1c2c5' : '#495057';
    const grid = scheme === 'dark' ? '#373a40' : '#e9ecef';
    const cat = data.xKind === 'category';
    const opts: uPlot.Options = {
      width: Math.max(box.clientWidth, 200),
      height,
      legend: { show: true },
      cursor: { drag: { x: !cat, y: false } },
      scales: { x: { time: data.xKind === 'time' } },
      tzDate: (ts: number) => chartDate(ts), // the zone chosen in Settings (lib/format.ts)
      axes: [
        {
          stroke: axis,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          ...(cat ? { values: (_u: uPlot, vals: number[]) => vals.map((v) => (Number.isInteger(v) ? (data.labels[v] ?? '') : '')) } : {}),
          // Dates as the bars write them (`Nov 27`, `14:00`, the date where a day begins),
          // not uPlot's `11/27` over a year line.
          ...(data.xKind === 'time' ? { values: (_u: uPlot, vals: number[]) => timeLabels(vals, undefined) } : {}),
        },
        {
          stroke: axis,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          size: 60,
          // Counts: whole-number steps only, never "0.5 runs".
          ...(allIntegers(data) ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9] } : {}),
        },
      ],
      series: [
        { label: cat ? 'name' : data.xKind === 'time' ? 'time' : 'x', ...(cat ? { value: (_u: uPlot, v: number) => data.labels[v] ?? '' } : {}) },
        ...data.lines.map((l, i) => ({ label: l.label, stroke: colorOf(l.label, i), width: 1.5, points: { show: data.x.length < 60 } })),
      ],
    };
    const chart = new uPlot(opts, [data.x, ...data.lines.map((l) => l.values)] as uPlot.AlignedData, box);
    const ro = new ResizeObserver(() => chart.setSize({ width: Math.max(box.clientWidth, 200), height }));
    ro.observe(box);
    return () => {
      ro.disconnect();
      chart.destroy();
    };
  }, [data, height, scheme]);

  return <div ref={el} data-testid={testid} />;
}

export function ReportChart({
  data,
  type,
  height = 220,
  stacked = false,
  testid,
}: {
  data: ChartData;
  type: 'line' | 'bar';
  height?: number;
  stacked?: boolean;
  testid?: string;
}) {
  const reason = emptyReason(data);
  if (reason) return <EmptyChart reason={reason} testid={testid} />;
  // A line needs two points; one point reads better as a bar.
  return type === 'bar' || data.x.length < 2 ? (
    <BarChart data={data} height={height} stacked={stacked} testid={testid} />
  ) : (
    <LinesChart data={data} height={height} testid={testid} />
  );
}
