import { describe, expect, it } from 'vitest';
import { screen } from '@testing-library/react';
import { appendCapped, EVENT_LOG_CAP, lastEventId } from './eventLog';
import { EventLog } from '../components/EventLog';
import { renderApp } from '../test/render';
import type { RunEvent } from '../api/types';

const ev = (id: number | string, level: RunEvent['level'] = 'info'): RunEvent => ({
  id: String(id),
  level,
  message: `line ${id}`,
  ts: '2026-01-01T00:00:00Z',
});
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => ev(a + i));

describe('appendCapped', () => {
  it('keeps the newest 500 of a long log, in order', () => {
    const log = appendCapped([], range(1, 1201));
    expect(log).toHaveLength(EVENT_LOG_CAP);
    expect(log[0]!.id).toBe('701');
    expect(lastEventId(log)).toBe('1200');
  });
  it('drops duplicates from overlapping batches and sorts by id', () => {
    const log = appendCapped(range(1, 11), [ev(9), ev(10), ev(12), ev(11)]);
    expect(log.map((e) => e.id)).toEqual(range(1, 13).map((e) => e.id));
  });
  it('compares ids past 2^53 exactly', () => {
    const big = ['9007199254740993', '9007199254740992', '9007199254740995'].map((i) => ev(i));
    expect(appendCapped([], big).map((e) => e.id)).toEqual(['9007199254740992', '9007199254740993', '9007199254740995']);
  });
  it('returns the same array when nothing changes (no re-render)', () => {
    const log = range(1, 5);
    expect(appendCapped(log, [])).toBe(log);
  });
  it('keeps the cap across many live batches', () => {
    let log: RunEvent[] = [];
    for (let i = 0; i < 30; i++) log = appendCapped(log, range(i * 50 + 1, i * 50 + 51));
    expect(log).toHaveLength(500);
    expect(log[0]!.id).toBe('1001');
    expect(log[499]!.id).toBe('1500');
  });
});

describe('<EventLog>', () => {
  it('renders at most the capped lines, newest last', () => {
    const events = appendCapped([], range(1, 601));
    renderApp(<EventLog events={events} />);
    const lines = screen.getByTestId('event-log').children;
    expect(lines).toHaveLength(500);
    expect(lines[0]).toHaveTextContent('line 101');
    expect(lines[499]).toHaveTextContent('line 600');
  });
  it('colours lines by level', () => {
    renderApp(<EventLog events={[ev(1, 'error'), ev(2, 'info')]} />);
    const lines = screen.getByTestId('event-log').children;
    expect(lines[0]).toHaveAttribute('data-level', 'error');
    expect(lines[1]).toHaveAttribute('data-level', 'info');
  });
});
