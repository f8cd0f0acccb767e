import { describe, expect, it } from 'vitest';
import { screen } from '@testing-library/react';
import { canCancel, runBadges, statusColor } from './status';
import { RunStatusBadges } from '../components/StatusBadges';
import { renderApp } from '../test/render';
import type { Run } from '../api/types';

const now = Date.parse('2026-01-01T12:00:00Z');

describe('runBadges', () => {
  it('shows only the run status when the attempt agrees', () => {
    const b = runBadges({ status: 'running', latest_attempt: { seq: 1, status: 'running' }, last_heartbeat_at: '2026-01-01T11:59:00Z' }, now);
    expect(b.map((x) => x.label)).toEqual(['running']);
    expect(b[0]!.color).toBe('blue');
  });
  it('adds the attempt status when it differs from the run', () => {
    const b = runBadges({ status: 'retrying', latest_attempt: { seq: 2, status: 'failed' } }, now);
    expect(b.map((x) => x.label)).toEqual(['retrying', '#2 failed']);
    expect(b[1]!.color).toBe('red');
  });
  it('derives stuck for a running run whose heartbeat went quiet', () => {
    expect(runBadges({ status: 'running', last_heartbeat_at: '2026-01-01T11:50:00Z' }, now).map((x) => x.label)).toContain('stuck');
    expect(runBadges({ status: 'running', last_heartbeat_at: '2026-01-01T11:58:00Z' }, now).map((x) => x.label)).not.toContain('stuck');
    // Without a heartbeat, the start time counts.
    expect(runBadges({ status: 'running', started_at: '2026-01-01T10:00:00Z' }, now).map((x) => x.label)).toContain('stuck');
  });
  it('derives stale for a run queued over an hour, never for an ended one', () => {
    expect(runBadges({ status: 'queued', created_at: '2026-01-01T10:00:00Z' }, now).map((x) => x.label)).toEqual(['queued', 'stale']);
    expect(runBadges({ status: 'failed', created_at: '2026-01-01T10:00:00Z' }, now).map((x) => x.label)).toEqual(['failed']);
  });
  it('shows a pending cancel until the run ends', () => {
    expect(runBadges({ status: 'running', cancel_requested: true, last_heartbeat_at: '2026-01-01T11:59:59Z' }, now).map((x) => x.label)).toEqual(['running', 'cancelling']);
    expect(runBadges({ status: 'cancelled', cancel_requested: true }, now).map((x) => x.label)).toEqual(['cancelled']);
  });
});

describe('canCancel and colours', () => {
  it('allows cancel only while a run can still be stopped', () => {
    expect(canCancel({ status: 'queued' })).toBe(true);
    expect(canCancel({ status: 'running' })).toBe(true);
    expect(canCancel({ status: 'retrying' })).toBe(true);
    expect(canCancel({ status: 'running', cancel_requested: true })).toBe(false);
    for (const s of ['succeeded', 'failed', 'cancelled'] as const) expect(canCancel({ status: s })).toBe(false);
  });
  it('gives unknown statuses a neutral colour', () => {
    expect(statusColor('failed')).toBe('red');
    expect(statusColor('no-such')).toBe('gray');
    expect(statusColor(undefined)).toBe('gray');
  });
});

describe('<RunStatusBadges>', () => {
  it('renders one badge per label, with its explanation', () => {
    const run: Run = { id: 'x', status: 'retrying', latest_attempt: { seq: 3, status: 'failed' } };
    renderApp(<RunStatusBadges run={run} now={now} />);
    expect(screen.getByText('retrying')).toBeInTheDocument();
    expect(screen.getByText('#3 failed')).toBeInTheDocument();
    expect(screen.getByTitle('attempt 3 failed')).toBeInTheDocument();
  });
});
