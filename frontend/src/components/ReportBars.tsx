// Bar charts of report data, as SVG (uPlot's bar paths cannot group series without a
// plugin), in a module of its own so a page with only bars (the overview's trend) does
// not load uPlot. Counts get whole-number ticks, time buckets short date labels, a lone
// bar keeps a bar's width (one run in a 7-day window is one narrow bar, not a slab), and
// an empty chart says why (lib/reportChart).
import { Text, useComputedColorScheme } from '@mantine/core';
import { formatTime } from '../lib/format';
import { allIntegers, emptyReason, niceTicks, timeLabels, type ChartData } from '../lib/reportChart';

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
  started: '#228be6',
};

export const colorOf = (label: string, i: number) => NAMED[label] ?? PALETTE[i % PALETTE.length]!;

/** The x value as words (a tooltip): a local time, a number, or the category's name. */
export function xText(data: ChartData, i: number): string {
  const v = data.x[i];
  if (v === undefined) return '';
  if (data.xKind === 'category') return data.labels[v] ?? '';
  if (data.xKind === 'time') return formatTime(v * 1000).slice(0, 16);
  return String(v);
}

/** The widest a bar slot's bar may be, in viewBox units (the SVG is 1000 wide). */
const MAX_BAR = 48;

export function EmptyChart({ reason, testid }: { reason: string; testid?: string }) {
  return (
    <Text size="sm" c="dimmed" data-testid={testid} data-empty-chart>
      {reason}
    </Text>
  );
}

export function BarChart({
  data,
  height = 220,
  stacked = false,
  testid,
  empty,
}: {
  data: ChartData;
  height?: number;
  stacked?: boolean;
  testid?: string;
  /** Words for an empty chart, when the caller knows better than "no rows". */
  empty?: string;
}) {
  const scheme = useComputedColorScheme('light');
  // Bars of nothing but zeros draw an empty frame: say so instead.
  const reason =
    emptyReason(data) ??
    (data.lines.every((l) => l.values.every((v) => !v || v <= 0)) ? 'Nothing in this window: every value is 0.' : null);
  if (reason) return <EmptyChart reason={empty ?? reason} testid={testid} />;
  const axis = scheme === 'dark' ? '#c1c2c5' : '#495057';
  const grid = scheme === 'dark' ? '#373a40' : '#e9ecef';
  const n = data.x.length;
  const k = Math.max(data.lines.length, 1);
  const tops = data.x.map((_, i) =>
    stacked
      ? data.lines.reduce((a, l) => a + Math.max(l.values[i] ?? 0, 0), 0)
      : Math.max(0, ...data.lines.map((l) => l.values[i] ?? 0)),
  );
  const integers = allIntegers(data);
  const ticks = niceTicks(Math.max(...tops, 0), integers);
  const max = ticks[ticks.length - 1]! || 1;
  const W = 1000; // viewBox units; the SVG scales to its box
  const left = 56, bottom = 36, top = 8, H = height;
  const plotW = W - left - 8, plotH = H - top - bottom;
  const slot = plotW / Math.max(n, 1);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const labels = data.xKind === 'time' ? timeLabels(data.x, data.step) : data.x.map((_, i) => xText(data, i));
  // About one label per 80 units, so they never run into each other.
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 80))));
  const fmt = (v: number) =>
    integers || Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3);
  return (
    <div data-testid={testid}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} preserveAspectRatio="none" role="img">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={W - 8} y1={y(t)} y2={y(t)} stroke={grid} />
            <text x={left - 6} y={y(t) + 4} textAnchor="end" fontSize={12} fill={axis} data-tick>
              {fmt(t)}
            </text>
          </g>
        ))}
        {data.x.map((_, i) => {
          // A stack is one bar; side by side, each series gets a bar's width.
          const w = Math.min(slot * 0.8, stacked ? MAX_BAR : MAX_BAR * k);
          const x0 = left + i * slot + (slot - w) / 2;
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
                <text x={left + i * slot + slot / 2} y={H - bottom + 16} textAnchor="middle" fontSize={12} fill={axis} data-xlabel>
                  {(() => {
                    const s = labels[i] ?? '';
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
