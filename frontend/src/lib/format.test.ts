import { describe, expect, it } from 'vitest';
import {
  chartDate,
  describeRead,
  formatTableCell,
  durationBetween,
  formatDuration,
  formatRelative,
  formatReplicaLag,
  formatDurationNs,
  formatTime,
  parseTimeInput,
  toTimeInput,
  truncateJson,
} from './format';
import { setTimeZone } from './prefs';

describe('formatTime', () => {
  it('prints UTC with the zone named when the user chose UTC', () => {
    expect(formatTime('2026-03-04T01:02:03Z', 'utc')).toBe('2026-03-04 01:02:03 UTC');
    expect(formatTime('2026-03-04T23:59:59.9-02:00', 'utc')).toBe('2026-03-05 01:59:59 UTC');
  });
  it('follows the Settings choice kept in localStorage', () => {
    setTimeZone('utc');
    try {
      expect(formatTime('2026-03-04T01:02:03Z')).toBe('2026-03-04 01:02:03 UTC');
      expect(toTimeInput('2026-03-04T01:02:03Z')).toBe('2026-03-04T01:02');
      expect(parseTimeInput('2026-03-04T01:02')).toBe(Date.parse('2026-03-04T01:02:00Z'));
    } finally {
      setTimeZone('local');
    }
    expect(formatTime(new Date(2026, 0, 5, 7, 3, 9))).toBe('2026-01-05 07:03:09');
    expect(parseTimeInput('2026-01-05T07:03')).toBe(new Date(2026, 0, 5, 7, 3).getTime());
    expect(parseTimeInput('yesterday')).toBeNaN();
  });
  it('prints local time as YYYY-MM-DD HH:mm:ss, zero-padded', () => {
    // A Date built from local parts, so the test holds in any time zone.
    expect(formatTime(new Date(2026, 0, 5, 7, 3, 9))).toBe('2026-01-05 07:03:09');
    expect(formatTime(new Date(2026, 11, 31, 23, 59, 59).getTime())).toBe('2026-12-31 23:59:59');
  });
  it('converts an RFC 3339 UTC string to local time', () => {
    const iso = '2026-03-04T12:34:56Z';
    const d = new Date(iso);
    const pad = (n: number) => String(n).padStart(2, '0');
    expect(formatTime(iso)).toBe(
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
    );
  });
  it('shows a dash for no time or a bad one', () => {
    expect(formatTime(null)).toBe('—');
    expect(formatTime(undefined)).toBe('—');
    expect(formatTime('')).toBe('—');
    expect(formatTime('not a date')).toBe('—');
  });
});

describe('formatDuration', () => {
  it.each([
    [5415, '1h 30m 15s'],
    [3600, '1h 0m 0s'],
    [59, '59s'],
    [60, '1m 0s'],
    [61.9, '1m 1s'],
    [90061, '1d 1h 1m 1s'],
    [0, '0s'],
    [0.42, '420ms'],
    [0.0015, '1.5ms'],
    [-3, '0s'],
  ])('%s s → %s', (s, want) => expect(formatDuration(s)).toBe(want));
  it('shows a dash when unknown', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
  it('counts an unfinished run up to now', () => {
    const now = Date.parse('2026-01-01T01:30:15Z');
    expect(formatDuration(durationBetween('2026-01-01T00:00:00Z', null, now))).toBe('1h 30m 15s');
    expect(durationBetween(null, null, now)).toBeNull();
    expect(durationBetween('2026-01-01T00:00:00Z', '2026-01-01T00:00:10Z', now)).toBe(10);
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T12:00:00Z', 'just now'],
    ['2026-01-01T11:59:48Z', '12s ago'],
    ['2026-01-01T11:55:00Z', '5m ago'],
    ['2026-01-01T09:00:00Z', '3h ago'],
    ['2025-12-30T12:00:00Z', '2d ago'],
    ['2026-01-01T12:05:00Z', 'in 5m'],
  ])('%s → %s', (t, want) => expect(formatRelative(t, now)).toBe(want));
});

describe('truncateJson', () => {
  it('cuts long JSON with an ellipsis and keeps short JSON whole', () => {
    expect(truncateJson({ a: 1 })).toBe('{"a":1}');
    const s = truncateJson({ text: 'x'.repeat(200) }, 20);
    expect(s).toHaveLength(20);
    expect(s.endsWith('…')).toBe(true);
    expect(truncateJson(null)).toBe('');
  });
});

describe('chartDate', () => {
  it("reads the chosen zone through a Date's local fields (what uPlot prints)", () => {
    const ts = Date.parse('2026-03-04T01:02:03Z') / 1000;
    const u = chartDate(ts, 'utc');
    expect([u.getFullYear(), u.getMonth() + 1, u.getDate(), u.getHours(), u.getMinutes()]).toEqual([2026, 3, 4, 1, 2]);
    expect(chartDate(ts, 'local').getTime()).toBe(ts * 1000);
  });
});

describe('formatDurationNs', () => {
  it.each([
    [0, '0s'],
    [850, '850ns'],
    [4_560_000, '4.56ms'],
    [61e9, '1m 1s'],
  ])('%d ns → %s', (v, want) => expect(formatDurationNs(v)).toBe(want));
});

describe('formatReplicaLag', () => {
  it('reads as a person would say it', () => {
    expect(formatReplicaLag(0)).toBe('<1s');
    expect(formatReplicaLag(0.061)).toBe('<1s');
    expect(formatReplicaLag(4.4)).toBe('4s');
    expect(formatReplicaLag(119)).toBe('1m 59s');
    expect(formatReplicaLag(600)).toBe('10m 0s');
  });
});

describe('describeRead', () => {
  it('says where a built-in report was read', () => {
    expect(describeRead('replica', 2.4)).toBe('from a replica, 2s behind');
    expect(describeRead('replica', null)).toBe('from a replica');
    expect(describeRead('primary-fallback', null)).toBe('from the primary: the replica is unavailable');
    expect(describeRead('primary', null)).toBeNull();
    expect(describeRead(null, null)).toBeNull();
  });
});

describe('formatTableCell', () => {
  it('prints integers bare and other numbers to 4 decimals', () => {
    expect(formatTableCell(3)).toEqual({ text: '3', numeric: true });
    expect(formatTableCell(-120000)).toEqual({ text: '-120000', numeric: true });
    expect(formatTableCell(0.91234567)).toEqual({ text: '0.9123', numeric: true });
    expect(formatTableCell(12.5)).toEqual({ text: '12.5000', numeric: true });
  });
  it('writes |x| < 1e-4 in scientific notation, never as 0.0000', () => {
    expect(formatTableCell(0.00001234)).toEqual({ text: '1.2340e-5', numeric: true });
    expect(formatTableCell(-0.00005)).toEqual({ text: '-5.0000e-5', numeric: true });
    expect(formatTableCell(0.0001).text).toBe('0.0001');
    expect(formatTableCell(0)).toEqual({ text: '0', numeric: true });
  });
  it('leaves text, booleans and null as text', () => {
    expect(formatTableCell('LightGBM')).toEqual({ text: 'LightGBM', numeric: false });
    expect(formatTableCell('0.5')).toEqual({ text: '0.5', numeric: false });
    expect(formatTableCell(true)).toEqual({ text: 'true', numeric: false });
    expect(formatTableCell(null)).toEqual({ text: '—', numeric: false });
  });
});

describe('formatProgress', () => {
  it('renders 0 as "0 %", not an empty label', async () => {
    const { formatProgress } = await import('./format');
    expect(formatProgress(0)).toBe('0 %');
    expect(formatProgress(0.423)).toBe('42 %');
    expect(formatProgress(1)).toBe('100 %');
    expect(formatProgress(null)).toBe('—');
  });
});
