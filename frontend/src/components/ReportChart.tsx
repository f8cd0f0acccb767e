// Charts of report data with uPlot: lines or bars, over time, numbers or categories (a
// category axis is 0..n-1 with the names as tick labels), one colour per series, sized to
// the container and coloured for the theme. Lines are uPlot; bars are SVG.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { Text, useComputedColorScheme } from '@mantine/core';
import { chartDate, formatTime } from '../lib/format';
import type { ChartData } from '../lib/reportChart';

export const PALETTE = [
  '#228be6', '#fa5252', '#40c057', '#fab005', '#7950f2', '#15aabf',
  '#fd7e14', '#e64980', '#82c91e', '#868e96', '#4c6ef5', '#12b886',
];

/** A fixed colour per well-known name (run statuses), else the palette in order. */
const NAMED: Record<string, string> = {
  succeeded: '#40c057',
  failed: '#fa5252',
  cancelled: '#868e96',
  running: '#228be6',
  queued: '#fab005',
  retrying: '#fd7e14',
};

const colorOf = (label: string, i: number) => NAMED[label] ?? PALETTE[i % PALETTE.length]!;

/** The x value as words: a local time, a number, or the category's name. */
export function xText(data: ChartData, i: number): string {
  const v = data.x[i];
  if (v === undefined) return '';
  if (data.xKind === 'category') return data.labels[v] ?? '';
  if (data.xKind === 'time') return formatTime(v * 1000).slice(0, 16);
  return String(v);
}

/**
 * Bars drawn as SVG (uPlot's bar paths cannot group series without a plugin): one slot per
 * x value, series side by side, or stacked when `stacked`. Each bar has a <title> with its
 * value, so hovering reads it.
 */
function BarChart({ data, height, stacked, testid }: { data: ChartData; height: number; stacked: boolean; testid?: string }) {
  const scheme = useComputedColorScheme('light');
  const axis = scheme === 'dark' ? '#c1c2c5' : '#495057';
  const grid = scheme === 'dark' ? '#373a40' : '#e9ecef';
  const n = data.x.length;
  const k = Math.max(data.lines.length, 1);
  const tops = data.x.map((_, i) =>
    stacked
      ? data.lines.reduce((a, l) => a + Math.max(l.values[i] ?? 0, 0), 0)
      : Math.max(0, ...data.lines.map((l) => l.values[i] ?? 0)),
  );
  const max = Math.max(...tops, 0) || 1;
  const W = 1000; // viewBox units; the SVG scales to its box
  const left = 56, bottom = 36, top = 8, H = height;
  const plotW = W - left - 8, plotH = H - top - bottom;
  const slot = plotW / Math.max(n, 1);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const labelEvery = Math.max(1, Math.ceil(n / 12));
  const fmt = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3));
  return (
    <div data-testid={testid}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} preserveAspectRatio="none" role="img">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={W - 8} y1={y(t)} y2={y(t)} stroke={grid} />
            <text x={left - 6} y={y(t) + 4} textAnchor="end" fontSize={12} fill={axis}>
              {fmt(t)}
            </text>
          </g>
        ))}
        {data.x.map((_, i) => {
          const x0 = left + i * slot + slot * 0.1;
          const w = slot * 0.8;
          let acc = 0;
          return (
            <g key={i}>
              {data.lines.map((l, j) => {
                const v = l.values[i] ?? 0;
                if (v <= 0) return null;
                const bx = stacked ? x0 : x0 + (w / k) * j;
                const bw = stacked ? w : w / k;
                const y1 = stacked ? y(acc + v) : y(v);
                const y0 = stacked ? y(acc) : y(0);
                acc += v;
                return (
                  <rect key={j} x={bx} y={y1} width={Math.max(bw - 1, 1)} height={Math.max(y0 - y1, 0.5)} fill={colorOf(l.label, j)}>
                    <title>{`${xText(data, i)} · ${l.label}: ${fmt(v)}`}</title>
                  </rect>
                );
              })}
              {i % labelEvery === 0 && (
                <text x={left + i * slot + slot / 2} y={H - bottom + 16} textAnchor="middle" fontSize={12} fill={axis}>
                  {(() => {
                    const s = xText(data, i);
                    return s.length > 18 ? s.slice(0, 17) + '…' : s;
                  })()}
                </text>
              )}
            </g>
          );
        })}
        <line x1={left} x2={W - 8} y1={y(0)} y2={y(0)} stroke={axis} />
      </svg>
      {data.lines.length > 1 && (
        <div style={{ display: 'flex', flexWrap: 'wrap', gap: 12, fontSize: 12 }}>
          {data.lines.map((l, j) => (
            <span key={l.label}>
              <span style={{ display: 'inline-block', width: 10, height: 10, background: colorOf(l.label, j), marginRight: 4 }} />
              {l.label}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

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
        },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 60 },
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
  if (data.x.length === 0 || data.lines.length === 0)
    return (
      <Text size="sm" c="dimmed" data-testid={testid}>
        Nothing to chart.
      </Text>
    );
  // A line needs two points; one point reads better as a bar.
  return type === 'bar' || data.x.length < 2 ? (
    <BarChart data={data} height={height} stacked={stacked} testid={testid} />
  ) : (
    <LinesChart data={data} height={height} testid={testid} />
  );
}
