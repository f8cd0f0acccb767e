// Formatters shared by every page: times as `YYYY-MM-DD HH:mm:ss` in the zone the user
// chose in Settings (local or UTC, lib/prefs.ts; UTC times say so), durations in one
// compact style (`1h 30m 15s`, `1.23s`, `4.56ms`), and relative ages (`12s ago`). Every
// time and duration on screen comes through here, so the setting holds everywhere. Ages and
// running durations count from the server's clock (lib/clock), not the browser's.
import { serverNow } from './clock';
import { getTimeZone, type TimeZonePref } from './prefs';

const pad = (n: number) => String(n).padStart(2, '0');

function toDate(v: string | number | Date | null | undefined): Date | null {
  if (v === null || v === undefined || v === '') return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `YYYY-MM-DD HH:mm:ss` in the chosen zone (` UTC` appended in UTC); an em dash for no
 * time. */
export function formatTime(
  v: string | number | Date | null | undefined,
  zone: TimeZonePref = getTimeZone(),
): string {
  const d = toDate(v);
  if (!d) return '—';
  if (zone === 'utc')
    return (
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
    );
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A time as a `datetime-local` input's value (`YYYY-MM-DDTHH:mm`) in the chosen zone. */
export function toTimeInput(
  v: string | number | Date | null | undefined,
  zone: TimeZonePref = getTimeZone(),
): string {
  const d = toDate(v);
  if (!d) return '';
  return zone === 'utc'
    ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` input's value, read in the chosen zone, as epoch ms; a time that
 * names its zone (RFC 3339) is read as it says; NaN when neither. */
export function parseTimeInput(v: string, zone: TimeZonePref = getTimeZone()): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v))
    return /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/i.test(v) ? Date.parse(v) : Number.NaN;
  return Date.parse(zone === 'utc' ? `${v}Z` : v);
}

/** uPlot's `tzDate` for time axes and legends: a Date whose local fields read the chosen
 * zone (uPlot formats with local getters), so charts follow the setting too. */
export function chartDate(ts: number, zone: TimeZonePref = getTimeZone()): Date {
  const d = new Date(ts * 1000);
  return zone === 'utc' ? new Date(d.getTime() + d.getTimezoneOffset() * 60_000) : d;
}

/** The one duration style: `2d 3h 0m 0s`, `1h 30m 15s`, `45s`, and below a second
 * `1.23s`-like units down to ns (`450ms`, `12.3µs`); an em dash for none. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 0) seconds = 0;
  if (seconds === 0) return '0s';
  if (seconds < 1) return formatDurationNs(seconds * 1e9);
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h ${m}m ${s}s`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A duration in nanoseconds (spans): `850ns`, `12.3µs`, `4.56ms`, `1.23s`, then as
 * formatDuration (`2m 3s`). Three significant digits at most, no trailing zeros. */
export function formatDurationNs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0s';
  const a = Math.abs(v);
  const sig = (x: number) => String(Number(x.toFixed(Math.abs(x) < 10 ? 2 : Math.abs(x) < 100 ? 1 : 0)));
  if (a < 1e3) return `${Math.round(v)}ns`;
  if (a < 1e6) return `${sig(v / 1e3)}µs`;
  if (a < 1e9) return `${sig(v / 1e6)}ms`;
  if (a < 60e9) return `${sig(v / 1e9)}s`;
  return formatDuration(Math.round(v / 1e9));
}

/** Seconds between two times, or from `start` to `now` while unfinished. */
export function durationBetween(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number = serverNow(),
): number | null {
  const a = toDate(start);
  if (!a) return null;
  const b = toDate(end);
  return ((b ? b.getTime() : now) - a.getTime()) / 1000;
}

/** How far ahead of now a time may be and still read `just now`: what is left of the clock
 * skew after lib/clock's correction (under a second) and a live message's travel. */
const FUTURE_SLACK_S = 10;

/** `just now`, `12s ago`, `5m ago`, `3h ago`, `2d ago`; `in 5m` for a time truly ahead. */
export function formatRelative(
  v: string | number | Date | null | undefined,
  now: number = serverNow(),
): string {
  const d = toDate(v);
  if (!d) return '—';
  const diff = Math.round((now - d.getTime()) / 1000);
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 2 || (diff < 0 && abs <= FUTURE_SLACK_S)) return 'just now';
  if (abs < 60) text = `${abs}s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)}m`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)}h`;
  else text = `${Math.floor(abs / 86400)}d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** A percentage for a 0..1 fraction, `—` when unknown. */
export function formatPercent(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(digits)}%`;
}

/** A run's progress (0..1) as `0 %`, `42 %`, `100 %`; an em dash for none. */
export function formatProgress(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  return `${Math.round(Math.min(Math.max(p, 0), 1) * 100)} %`;
}

/** One line of JSON for a table cell, cut to `max` characters with an ellipsis. */
export function truncateJson(v: unknown, max = 80): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** A run id shortened for tables (the full id is in the link and the drawer). */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}

/** A streaming replica's replay lag (seconds) for people: "<1s", then formatDuration. */
export function formatReplicaLag(seconds: number): string {
  if (seconds < 1) return '<1s';
  return formatDuration(Math.round(seconds));
}

/** Where a built-in report was read, in words, or null when there is nothing to say (the
 * primary, with no replica configured). */
export function describeRead(from: string | null, lagS: number | null): string | null {
  if (from === 'replica')
    return lagS === null ? 'from a replica' : `from a replica, ${formatReplicaLag(lagS)} behind`;
  if (from === 'primary-fallback') return 'from the primary: the replica is unavailable';
  return null;
}

/** A cell of a table a run emits (leaderboards), by the rendering rule of issue 19:
 * integers as they are, other numbers to 4 decimals, and a non-zero |x| < 1e-4 in
 * scientific notation (4 decimals of mantissa) so a small score never shows as 0.0000.
 * Text, booleans and null as text (`—` for null). `numeric` says how to align and sort. */
export function formatTableCell(v: unknown): { text: string; numeric: boolean } {
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (Number.isInteger(v)) return { text: String(v), numeric: true };
    if (Math.abs(v) < 1e-4) return { text: v.toExponential(4), numeric: true };
    return { text: v.toFixed(4), numeric: true };
  }
  if (v === null || v === undefined) return { text: '—', numeric: false };
  if (typeof v === 'string') return { text: v, numeric: false };
  return { text: String(v), numeric: false };
}

// ---- Metric numbers (the metrics lane): values and axis ticks that never collapse ----
// A chart's ticks 1e-4, 2e-4, 3e-4 printed with a fixed number of decimals all read "0";
// these pick the notation by magnitude (plain, SI above 10^4, scientific below 10^-3) and
// the fewest significant digits that keep distinct values distinct.

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** `v` to `digits` significant digits, trailing zeros dropped, never in exponent form. */
function sig(v: number, digits: number): string {
  const s = String(Number(v.toPrecision(digits)));
  return s === '-0' ? '0' : s;
}

/** Scientific with the mantissa's trailing zeros dropped: 3e-4, 1.5e-4, 2e+24. */
function sci(v: number, digits: number): string {
  const [m = '', e = ''] = v.toExponential(digits - 1).split('e');
  const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
  return `${mant}e${e}`;
}

/** A metric value for people: `0.5`, `1234`, `12.35k`, `3.5M`, `3e-4`, `1.25e-7`, to at
 * most `digits` significant digits; an em dash for none. */
export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const d = Math.min(Math.max(Math.round(digits), 1), 17);
  const a = Math.abs(v);
  if (a < 1e-3) return sci(v, d);
  if (a < 1e4) return sig(v, d);
  let k = Math.min(Math.floor(Math.log10(a) / 3), SI.length - 1);
  let m = Number((v / 10 ** (3 * k)).toPrecision(d));
  // 999999 rounds to 1000k: that is 1M.
  if (Math.abs(m) >= 1000 && k < SI.length - 1) {
    k += 1;
    m = Number((v / 10 ** (3 * k)).toPrecision(d));
  }
  if (Math.abs(m) >= 1000) return sci(v, d);
  return `${sig(m, d)}${SI[k]}`;
}

/** The number a formatNumber label stands for (`12.35k` → 12350). */
function labelValue(label: string): number {
  const k = SI.indexOf(label.slice(-1));
  return k > 0 ? Number(label.slice(0, -1)) * 10 ** (3 * k) : Number(label);
}

/** Labels for axis ticks (or any set of numbers shown together): the fewest significant
 * digits, at least `min`, at which every label is within 1% of the smallest gap between
 * the values of the number it stands for. So distinct values print differently, and
 * 0, 0.5, 1, 1.5 do not read 0, 0.5, 1, 2. */
export function formatTicks(values: readonly number[], min = 1): string[] {
  const finite = [...new Set(values.filter((v) => Number.isFinite(v)))].sort((a, b) => a - b);
  let gap = Infinity;
  finite.forEach((v, i) => {
    if (i > 0) gap = Math.min(gap, v - (finite[i - 1] as number));
  });
  for (let d = Math.max(min, 1); d < 17; d++) {
    const out = values.map((v) => formatNumber(v, d));
    if (gap === Infinity) return out;
    const close = values.every(
      (v, i) => !Number.isFinite(v) || Math.abs(labelValue(out[i] ?? '') - v) <= gap * 0.01,
    );
    if (close) return out;
  }
  return values.map((v) => formatNumber(v, 17));
}
