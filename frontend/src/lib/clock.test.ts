import { afterEach, describe, expect, it } from 'vitest';
import { noteServerDate, resetServerClock, serverNow, serverOffsetMs } from './clock';
import { formatRelative } from './format';

afterEach(() => resetServerClock());

describe('server clock', () => {
  it('starts at the browser clock', () => {
    expect(serverOffsetMs()).toBe(0);
  });
  it('learns a server ahead of the browser from the Date header, within a second', () => {
    const browser = Date.parse('2026-12-04T12:00:00.000Z');
    // The server is 30.4 s ahead: it answers at 12:00:30.4, its header says 12:00:30.
    noteServerDate('Fri, 04 Dec 2026 12:00:30 GMT', browser - 20, browser);
    expect(Math.abs(serverOffsetMs() - 30_400)).toBeLessThanOrEqual(600);
  });
  it('narrows the offset as answers come', () => {
    const t = Date.parse('2026-12-04T12:00:00.000Z');
    // True offset -5.25 s (browser ahead). Two answers whose headers tick at different
    // points of the second bound it from both sides.
    noteServerDate(new Date(Math.floor((t - 5250) / 1000) * 1000).toUTCString(), t - 5, t);
    const t2 = t + 1700;
    noteServerDate(new Date(Math.floor((t2 - 5250) / 1000) * 1000).toUTCString(), t2 - 5, t2);
    expect(Math.abs(serverOffsetMs() + 5250)).toBeLessThanOrEqual(300);
  });
  it('starts over when the clock is stepped', () => {
    const t = Date.parse('2026-12-04T12:00:00.000Z');
    noteServerDate(new Date(t).toUTCString(), t, t);
    noteServerDate(new Date(t + 3_600_000).toUTCString(), t + 10, t + 10);
    expect(Math.abs(serverOffsetMs() - 3_600_000)).toBeLessThanOrEqual(1000);
  });
  it('ignores a missing or bad header', () => {
    noteServerDate(null, 0, 1);
    noteServerDate('yesterday-ish', 0, 1);
    expect(serverOffsetMs()).toBe(0);
  });
  it('keeps a run that just started from reading "in 2s" on a slow browser clock', () => {
    const browser = Date.now();
    // The server runs a minute ahead of this browser; a run started on it a moment ago.
    noteServerDate(new Date(browser + 60_000).toUTCString(), browser - 10, browser);
    const started = new Date(browser + 59_000).toISOString();
    expect(formatRelative(started, Date.now())).toMatch(/^in /);
    expect(formatRelative(started, serverNow())).not.toMatch(/^in /);
    expect(formatRelative(started)).not.toMatch(/^in /);
  });
});
