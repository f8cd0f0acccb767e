// Formatters shared by every page: times in the viewer's local zone as
// `YYYY-MM-DD HH:mm:ss`, durations as `1h 30m 15s`, and relative ages (`12s ago`). Ages and
// running durations count from the server's clock (lib/clock), not the browser's.
import { serverNow } from './clock';

const pad = (n: number) => String(n).padStart(2, '0');

function toDate(v: string | number | Date | null | undefined): Date | null {
  if (v === null || v === undefined || v === '') return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local time, `YYYY-MM-DD HH:mm:ss`; an em dash for no time. */
export function formatTime(v: string | number | Date | null | undefined): string {
  const d = toDate(v);
  if (!d) return '—';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** `1h 30m 15s`, `2d 3h 0m 0s`, `45s`, `0.4s` below a second; an em dash for none. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 0) seconds = 0;
  if (seconds < 1) return seconds === 0 ? '0s' : `${seconds.toFixed(1)}s`;
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

/** A streaming replica's replay lag (seconds) for people: "<1 s", seconds, then minutes. */
export function formatReplicaLag(seconds: number): string {
  if (seconds < 1) return '<1 s';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** Where a built-in report was read, in words, or null when there is nothing to say (the
 * primary, with no replica configured). */
export function describeRead(from: string | null, lagS: number | null): string | null {
  if (from === 'replica')
    return lagS === null ? 'from a replica' : `from a replica, ${formatReplicaLag(lagS)} behind`;
  if (from === 'primary-fallback') return 'from the primary: the replica is unavailable';
  return null;
}
