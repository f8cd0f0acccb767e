// Formatters shared by every page: times in the viewer's local zone as
// `YYYY-MM-DD HH:mm:ss`, durations as `1h 30m 15s`, and relative ages (`12s ago`).

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
  now: number = Date.now(),
): number | null {
  const a = toDate(start);
  if (!a) return null;
  const b = toDate(end);
  return ((b ? b.getTime() : now) - a.getTime()) / 1000;
}

/** `just now`, `12s ago`, `5m ago`, `3h ago`, `2d ago`; `in 5m` for a future time. */
export function formatRelative(
  v: string | number | Date | null | undefined,
  now: number = Date.now(),
): string {
  const d = toDate(v);
  if (!d) return '—';
  const diff = Math.round((now - d.getTime()) / 1000);
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 2) return 'just now';
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
