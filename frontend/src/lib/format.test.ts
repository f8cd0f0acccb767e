import { describe, expect, it } from 'vitest';
import {
  describeRead,
  durationBetween,
  formatDuration,
  formatRelative,
  formatReplicaLag,
  formatTime,
  truncateJson,
} from './format';

describe('formatTime', () => {
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
    [0.42, '0.4s'],
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

describe('formatReplicaLag', () => {
  it('reads as a person would say it', () => {
    expect(formatReplicaLag(0)).toBe('<1 s');
    expect(formatReplicaLag(0.061)).toBe('<1 s');
    expect(formatReplicaLag(4.4)).toBe('4 s');
    expect(formatReplicaLag(119)).toBe('119 s');
    expect(formatReplicaLag(600)).toBe('10 min');
  });
});

describe('describeRead', () => {
  it('says where a built-in report was read', () => {
    expect(describeRead('replica', 2.4)).toBe('from a replica, 2 s behind');
    expect(describeRead('replica', null)).toBe('from a replica');
    expect(describeRead('primary-fallback', null)).toBe('from the primary: the replica is unavailable');
    expect(describeRead('primary', null)).toBeNull();
    expect(describeRead(null, null)).toBeNull();
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
