import { describe, expect, it, vi } from 'vitest';
import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { reportKeys } from '../api/reports';
import { applyLiveMessage, newLiveContext } from './apply';
import { runKeys, type RunsData } from '../api/runs';
import { workerKeys } from '../api/workers';
import type { Run, Worker } from '../api/types';
import { runFiltersToSearch, parseRunFilters } from '../lib/runFilters';

const keyFor = (url: string) => runKeys.list('ml', Object.fromEntries(runFiltersToSearch(parseRunFilters(new URLSearchParams(url)))));
const page = (items: Run[]): RunsData => ({
  pages: [{ items, next_cursor: null, anchor: Date.now() }],
  pageParams: [{ cursor: null, anchor: 0 }],
});
const run = (id: string, extra: Partial<Run> = {}): Run => ({
  id,
  status: 'queued',
  kind: 'train',
  created_at: new Date().toISOString(),
  ...extra,
});

function setup() {
  const qc = new QueryClient();
  const ctx = newLiveContext(qc, 'ml', 7);
  return { qc, ctx };
}

describe('applyLiveMessage', () => {
  it('refetches the failure groups on screen when a run fails, once for a burst', async () => {
    vi.useFakeTimers();
    const { qc, ctx } = setup();
    let fetches = 0;
    const observer = new QueryObserver(qc, {
      queryKey: reportKeys.groups('ml', '7d'),
      queryFn: () => ++fetches,
    });
    const stop = observer.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toBe(1);
    const failed = (id: string) => ({ project: 7, type: 'run.updated', run: id, data: run(id, { status: 'failed' }) });
    applyLiveMessage(ctx, failed('a'));
    applyLiveMessage(ctx, failed('b'));
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'c', data: run('c', { status: 'succeeded' }) });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    // A success does not touch them.
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'd', data: run('d', { status: 'succeeded' }) });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    stop();
    ctx.refetch.clear();
    vi.useRealTimers();
  });
  it('puts a new run at the top of the lists it matches, once', () => {
    const { qc, ctx } = setup();
    qc.setQueryData(keyFor(''), page([run('a')]));
    qc.setQueryData(keyFor('status=failed'), page([]));
    const msg = { id: 1, project: 7, type: 'run.created', run: 'b', data: run('b') };
    expect(applyLiveMessage(ctx, msg)).toBe(true);
    applyLiveMessage(ctx, msg); // a replay after reconnect must not duplicate it
    expect(qc.getQueryData<RunsData>(keyFor(''))!.pages[0]!.items.map((r) => r.id)).toEqual(['b', 'a']);
    expect(qc.getQueryData<RunsData>(keyFor('status=failed'))!.pages[0]!.items).toEqual([]);
    ctx.refetch.clear();
  });
  it('ignores messages of other projects', () => {
    const { qc, ctx } = setup();
    qc.setQueryData(keyFor(''), page([]));
    expect(applyLiveMessage(ctx, { project: 8, type: 'run.created', run: 'x', data: run('x') })).toBe(false);
    expect(qc.getQueryData<RunsData>(keyFor(''))!.pages[0]!.items).toEqual([]);
  });
  it('patches an updated run in lists and its detail', () => {
    const { qc, ctx } = setup();
    qc.setQueryData(keyFor(''), page([run('a'), run('b')]));
    qc.setQueryData(runKeys.detail('ml', 'b'), run('b'));
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'b', data: run('b', { status: 'running', progress: 0.5 }) });
    expect(qc.getQueryData<RunsData>(keyFor(''))!.pages[0]!.items[1]).toMatchObject({ id: 'b', status: 'running', progress: 0.5 });
    expect(qc.getQueryData<Run>(runKeys.detail('ml', 'b'))).toMatchObject({ status: 'running' });
    ctx.refetch.clear();
  });
  it('moves progress and heartbeat time on a heartbeat', () => {
    const { qc, ctx } = setup();
    qc.setQueryData(runKeys.detail('ml', 'a'), run('a', { status: 'running', progress: 0.1, last_heartbeat_at: null }));
    applyLiveMessage(ctx, { project: 7, type: 'run.heartbeat', run: 'a', data: { progress: 0.75 } });
    const r = qc.getQueryData<Run>(runKeys.detail('ml', 'a'))!;
    expect(r.progress).toBe(0.75);
    expect(r.last_heartbeat_at).not.toBeNull();
  });
  it('adds or replaces a worker', () => {
    const { qc, ctx } = setup();
    qc.setQueryData<Worker[]>(workerKeys.list('ml'), [{ id: 1, name: 'w1', status: 'online' }]);
    applyLiveMessage(ctx, { project: 7, type: 'worker.updated', data: { id: 1, name: 'w1', status: 'stopped' } });
    applyLiveMessage(ctx, { project: 7, type: 'worker.updated', data: { id: 2, name: 'w2', status: 'online' } });
    expect(qc.getQueryData<Worker[]>(workerKeys.list('ml'))!.map((w) => `${w.id}:${w.status}`)).toEqual(['2:online', '1:stopped']);
    ctx.refetch.clear();
  });
});
