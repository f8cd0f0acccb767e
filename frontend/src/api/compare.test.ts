import { describe, expect, it, vi } from 'vitest';
import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { applyLiveMessage, newLiveContext } from '../live/apply';
import { compareKeys, compareKeysWith, patchCompareRun, type RunCompare } from './compare';

const answer = (ids: string[]): RunCompare => ({
  points: 500,
  total: 1,
  items: ids.map((id) => ({ run: { id, status: 'running', name: id }, keys: [], series: [{ key: 'loss', count: 1, points: [] }] })),
});

describe('compare cache', () => {
  it('finds the comparisons that hold a run, only those', () => {
    const qc = new QueryClient();
    qc.setQueryData(compareKeys.runs('ml', ['a', 'b']), answer(['a', 'b']));
    qc.setQueryData(compareKeys.runs('ml', ['c', 'ab']), answer(['c', 'ab']));
    expect(compareKeysWith(qc, 'ml', 'a')).toEqual([compareKeys.runs('ml', ['a', 'b'])]);
    expect(compareKeysWith(qc, 'ml', 'ab')).toEqual([compareKeys.runs('ml', ['c', 'ab'])]);
    expect(compareKeysWith(qc, 'other', 'a')).toEqual([]);
  });
  it('patches a run in place and keeps the series and the answer time', () => {
    const qc = new QueryClient();
    const key = compareKeys.runs('ml', ['a', 'b']);
    qc.setQueryData(key, answer(['a', 'b']), { updatedAt: 1234 });
    const before = qc.getQueryData<RunCompare>(key)!;
    patchCompareRun(qc, 'ml', { id: 'b', status: 'succeeded' });
    const after = qc.getQueryData<RunCompare>(key)!;
    expect(after.items[1]!.run).toEqual({ id: 'b', status: 'succeeded', name: 'b' });
    expect(after.items[1]!.series).toBe(before.items[1]!.series);
    expect(after.items[0]).toBe(before.items[0]);
    expect(qc.getQueryState(key)!.dataUpdatedAt).toBe(1234);
  });
  it('the live stream refetches a comparison on screen when one of its runs logs metrics, once for a burst', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const ctx = newLiveContext(qc, 'ml', 7);
    let fetches = 0;
    const observer = new QueryObserver(qc, {
      queryKey: compareKeys.runs('ml', ['a', 'b']),
      queryFn: () => (++fetches, answer(['a', 'b'])),
    });
    const stop = observer.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toBe(1);
    applyLiveMessage(ctx, { project: 7, type: 'run.metrics', run: 'a', data: { count: 1 } });
    applyLiveMessage(ctx, { project: 7, type: 'run.metrics', run: 'b', data: { count: 1 } });
    applyLiveMessage(ctx, { project: 7, type: 'run.metrics', run: 'a', data: { count: 1 } });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    // Another run's metrics do not touch it.
    applyLiveMessage(ctx, { project: 7, type: 'run.metrics', run: 'z', data: { count: 1 } });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    // A status change is patched, not fetched.
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'b', data: { id: 'b', status: 'failed' } });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    expect(observer.getCurrentResult().data!.items[1]!.run.status).toBe('failed');
    stop();
    ctx.refetch.clear();
    vi.useRealTimers();
  });
  it('the live stream never cancels a comparison still loading: it asks again once it has landed', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const ctx = newLiveContext(qc, 'ml', 7);
    let started = 0;
    let landed = 0;
    const observer = new QueryObserver(qc, {
      queryKey: compareKeys.runs('ml', ['a', 'b']),
      queryFn: ({ signal }) =>
        new Promise<RunCompare>((resolve, reject) => {
          started++;
          signal.addEventListener('abort', () => reject(new Error('cancelled')));
          setTimeout(() => (landed++, resolve(answer(['a', 'b']))), 2500);
        }),
    });
    const stop = observer.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(2600);
    expect([started, landed]).toEqual([1, 1]);
    applyLiveMessage(ctx, { project: 7, type: 'run.metrics', run: 'a', data: { count: 1 } });
    await vi.advanceTimersByTimeAsync(1100);
    expect(started).toBe(2);
    // Metrics keep coming while the refetch is slow: it is left to land, not restarted.
    applyLiveMessage(ctx, { project: 7, type: 'run.metrics', run: 'b', data: { count: 1 } });
    await vi.advanceTimersByTimeAsync(1100);
    expect([started, landed]).toEqual([2, 1]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(landed).toBe(2);
    // Then the message that came meanwhile is honoured.
    await vi.advanceTimersByTimeAsync(1100);
    expect(started).toBe(3);
    await vi.advanceTimersByTimeAsync(2600);
    expect([started, landed]).toEqual([3, 3]);
    stop();
    ctx.refetch.clear();
    vi.useRealTimers();
  });
});
