import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { reportKeys } from '../api/reports';
import { rolloutKeys } from '../api/rollouts';
import { applyLiveMessage, frameEvents, newLiveContext } from './apply';
import { activity, activityRunName, useActivity } from './activity';
import { renderHook } from '@testing-library/react';
import { eventsQuery, runKeys, type RunsData } from '../api/runs';
import { workerKeys } from '../api/workers';
import type { Run, RunEvent, Worker } from '../api/types';
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
  it('refetches the rollouts on screen when a rollout changes, once for a burst, not for other runs', async () => {
    vi.useFakeTimers();
    const { qc, ctx } = setup();
    let fetches = 0;
    const observer = new QueryObserver(qc, {
      queryKey: rolloutKeys.list('ml', {}),
      queryFn: () => ++fetches,
    });
    const stop = observer.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toBe(1);
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'n', data: run('n', { status: 'running' }) });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(1);
    const rollout = (id: string) => ({ project: 7, type: 'run.updated', run: id, data: run(id, { kind: 'rollout', status: 'running' }) });
    applyLiveMessage(ctx, rollout('r1'));
    applyLiveMessage(ctx, rollout('r2'));
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    stop();
    ctx.refetch.clear();
    vi.useRealTimers();
  });
  it('refetches the run and the lists for a truncated stub instead of patching', async () => {
    vi.useFakeTimers();
    const { qc, ctx } = setup();
    qc.setQueryData(keyFor(''), page([run('a')]));
    qc.setQueryData(runKeys.detail('ml', 'a'), run('a'));
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'a', truncated: true });
    expect(qc.getQueryState(runKeys.detail('ml', 'a'))!.isInvalidated).toBe(true);
    // The run's fields were not touched: nothing came to patch them with.
    expect(qc.getQueryData<Run>(runKeys.detail('ml', 'a'))!.status).toBe('queued');
    await vi.advanceTimersByTimeAsync(1100);
    expect(qc.getQueryState(keyFor(''))!.isInvalidated).toBe(true);
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

describe('run.event: the frame carries the batch', () => {
  const RUN = '0a1b2c3d-0000-4000-8000-00000000000f';
  const ev = (id: number, run = RUN): RunEvent => ({
    id: String(id),
    run_id: run,
    attempt: null,
    ts: '2026-01-01T00:00:00+00:00',
    kind: 'log',
    level: 'info',
    message: `line ${id}`,
    data: null,
  });
  const frame = (events: RunEvent[], extra: Record<string, unknown> = {}) => ({
    id: 1,
    project: 7,
    type: 'run.event',
    run: RUN,
    data: {
      count: events.length,
      first_id: events[0]?.id,
      last_id: events[events.length - 1]?.id,
      truncated: false,
      events,
      ...extra,
    },
  });
  const truncated = (first: number, last: number) => ({
    project: 7,
    type: 'run.event',
    run: RUN,
    data: { count: last - first + 1, first_id: String(first), last_id: String(last), truncated: true },
  });
  const page = (items: RunEvent[], next: string | null = null) =>
    new Response(JSON.stringify({ items, next_cursor: next }), { status: 200 });
  const ids = (qc: QueryClient) => qc.getQueryData<RunEvent[]>(runKeys.events('ml', RUN))?.map((e) => e.id);

  afterEach(() => vi.unstubAllGlobals());

  it('appends the events to an open log without a request', async () => {
    const fetchMock = vi.fn(async () => page([]));
    vi.stubGlobal('fetch', fetchMock);
    const { qc, ctx } = setup();
    qc.setQueryData(runKeys.events('ml', RUN), [ev(1), ev(2)]);
    applyLiveMessage(ctx, frame([ev(5), ev(6)]));
    await vi.waitFor(() => expect(ids(qc)).toEqual(['1', '2', '5', '6']));
    // The same frame again (a replay after reconnect) and an older batch that committed
    // later: no duplicates, id order.
    applyLiveMessage(ctx, frame([ev(5), ev(6)]));
    applyLiveMessage(ctx, frame([ev(3), ev(4)]));
    await vi.waitFor(() => expect(ids(qc)).toEqual(['1', '2', '3', '4', '5', '6']));
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('keeps the events exactly as the frame carried them', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => page([])));
    const { qc, ctx } = setup();
    qc.setQueryData(runKeys.events('ml', RUN), []);
    const e = { ...ev(9), level: 'error', data: { step: 3, nested: { a: [1, 2] } } } as unknown as RunEvent;
    applyLiveMessage(ctx, frame([e]));
    await vi.waitFor(() => expect(qc.getQueryData<RunEvent[]>(runKeys.events('ml', RUN))).toEqual([e]));
  });

  it('does nothing when nobody looks at the run', async () => {
    const fetchMock = vi.fn(async () => page([]));
    vi.stubGlobal('fetch', fetchMock);
    const { qc, ctx } = setup();
    applyLiveMessage(ctx, frame([ev(1)]));
    applyLiveMessage(ctx, truncated(2, 900));
    await new Promise((r) => setTimeout(r, 0));
    expect(qc.getQueryData(runKeys.events('ml', RUN))).toBeUndefined();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('fetches a truncated batch from its first id', async () => {
    const fetchMock = vi.fn(async (_url: string) => page([ev(40), ev(41), ev(42)]));
    vi.stubGlobal('fetch', fetchMock);
    const { qc, ctx } = setup();
    qc.setQueryData(runKeys.events('ml', RUN), [ev(1), ev(50)]);
    applyLiveMessage(ctx, truncated(40, 42));
    await vi.waitFor(() => expect(ids(qc)).toEqual(['1', '40', '41', '42', '50']));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    // From the batch's first id, not after the log's newest (50): it committed later.
    expect(fetchMock.mock.calls[0]![0]).toBe(`/api/v1/runs/${RUN}/events?after=39&limit=500`);
  });

  it('fetches when the frame does not add up (a gap)', async () => {
    const fetchMock = vi.fn(async (_url: string) => page([ev(3), ev(4), ev(5)]));
    vi.stubGlobal('fetch', fetchMock);
    const { qc, ctx } = setup();
    qc.setQueryData(runKeys.events('ml', RUN), [ev(2)]);
    // Three in the batch, two in the frame.
    applyLiveMessage(ctx, frame([ev(3), ev(5)], { count: 3, last_id: '5' }));
    await vi.waitFor(() => expect(ids(qc)).toEqual(['2', '3', '4', '5']));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    // Another run's event, or an older API's frame with ids only: fetched too.
    applyLiveMessage(ctx, frame([ev(6, 'another-run')]));
    applyLiveMessage(ctx, { project: 7, type: 'run.event', run: RUN, data: { count: 1, first_id: '7', last_id: '7' } });
    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(2));
  });

  it('adds a frame that arrives while the log first loads, after the load', async () => {
    let answer: (r: Response) => void = () => {};
    const fetchMock = vi.fn(() => new Promise<Response>((res) => (answer = res)));
    vi.stubGlobal('fetch', fetchMock);
    const { qc, ctx } = setup();
    const loading = qc.fetchQuery(eventsQuery('ml', RUN));
    // The load's answer was made before event 3 committed; its frame comes first.
    applyLiveMessage(ctx, frame([ev(3)]));
    answer(page([ev(2), ev(1)]));
    await loading;
    await vi.waitFor(() => expect(ids(qc)).toEqual(['1', '2', '3']));
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('keeps live lines when a refetch of the log (after a reset) lands later', async () => {
    let answer: (r: Response) => void = () => {};
    const fetchMock = vi
      .fn(() => new Promise<Response>((res) => (answer = res)))
      .mockResolvedValueOnce(page([ev(2), ev(1)]));
    vi.stubGlobal('fetch', fetchMock);
    const { qc, ctx } = setup();
    await qc.fetchQuery(eventsQuery('ml', RUN));
    const refetch = qc.refetchQueries({ queryKey: runKeys.events('ml', RUN) });
    applyLiveMessage(ctx, frame([ev(5)]));
    await vi.waitFor(() => expect(ids(qc)).toEqual(['1', '2', '5']));
    answer(page([ev(4), ev(3), ev(2)]));
    await refetch;
    // The tail (2..4) plus the live line the refetch's answer predates; nothing older
    // than the tail is kept.
    expect(ids(qc)).toEqual(['2', '3', '4', '5']);
  });
});

describe('frameEvents', () => {
  const e = (id: string, run = 'r') => ({ id, run_id: run });
  it('takes a whole batch and refuses anything else', () => {
    const ok = { count: 2, first_id: '1', last_id: '2', truncated: false, events: [e('1'), e('2')] };
    expect(frameEvents('r', ok)).toEqual(ok.events);
    expect(frameEvents('r', { ...ok, truncated: true })).toBeNull();
    expect(frameEvents('r', { ...ok, truncated: undefined })).toBeNull();
    expect(frameEvents('r', { ...ok, count: 3 })).toBeNull();
    expect(frameEvents('r', { ...ok, first_id: '0' })).toBeNull();
    expect(frameEvents('x', ok)).toBeNull();
    expect(frameEvents('r', { kind: 'interrupted' })).toBeNull();
    expect(frameEvents('r', null)).toBeNull();
  });
});

describe('the activity feed', () => {
  it('does not keep the events a run.event carries, only what the feed says of them', () => {
    activity.clear();
    activity.push({ type: 'run.event', run: 'r', data: { count: 2, events: [{ id: '1', level: 'warning', message: 'low disk' }, { id: '2' }] } });
    const { result } = renderHook(() => useActivity());
    expect(result.current[0]!.type).toBe('run.event');
    expect(result.current[0]!.data).toEqual({ count: 2, level: 'warning', message: 'low disk' });
    activity.clear();
  });
  it('keeps the worker of a worker.event, for the line that names it', () => {
    activity.clear();
    activity.push({ type: 'worker.event', data: { worker_id: 4, worker_name: 'gpu-4', count: 1, events: [{ id: '1', message: 'hot' }] } });
    const { result } = renderHook(() => useActivity());
    expect(result.current[0]!.data).toMatchObject({ worker_name: 'gpu-4', worker_id: 4, message: 'hot' });
    activity.clear();
  });
  it('remembers the names of the runs it saw, for the lines that carry only an id', () => {
    activity.clear();
    activity.push({ type: 'run.created', run: 'r9', data: run('r9', { name: 'nightly-etl' }) });
    expect(activityRunName('r9')?.name).toBe('nightly-etl');
    activity.clear();
    expect(activityRunName('r9')).toBeUndefined();
  });
});

describe('the overview lists', () => {
  it('move the moment a live message says a run started, ended or failed', () => {
    const { qc, ctx } = setup();
    const list = (items: Run[]) => ({ items, next_cursor: null });
    qc.setQueryData(['overview', 'ml', 'inflight'], list([run('a', { status: 'running' })]));
    qc.setQueryData(['overview', 'ml', 'failures'], list([]));
    qc.setQueryData(['overview', 'ml', 'now'], list([run('a', { status: 'running' }), run('b')]));
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'b', data: run('b', { status: 'running' }) });
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'a', data: run('a', { status: 'failed' }) });
    const ids = (name: string) => (qc.getQueryData(['overview', 'ml', name]) as { items: Run[] }).items.map((r) => `${r.id}:${r.status}`);
    expect(ids('inflight')).toEqual(['b:running']);
    expect(ids('failures')).toEqual(['a:failed']);
    expect(ids('now')).toEqual(['b:running']);
    ctx.refetch.clear();
  });
});

describe('worker.event: a worker’s log lines', () => {
  it('appends the lines a frame carries to the worker’s cached tail, by id, once', () => {
    const { qc, ctx } = setup();
    const line = (id: string, message: string) => ({ id, worker_id: 4, level: 'info' as const, message });
    qc.setQueryData(workerKeys.events('ml', 4), [line('1', 'boot')]);
    const frame = { worker_id: 4, worker_name: 'gpu-4', count: 2, first_id: '2', last_id: '3', truncated: false, events: [line('2', 'a'), line('3', 'b')] };
    expect(applyLiveMessage(ctx, { project: 7, type: 'worker.event', data: frame })).toBe(true);
    applyLiveMessage(ctx, { project: 7, type: 'worker.event', data: frame });
    expect((qc.getQueryData(workerKeys.events('ml', 4)) as { message: string }[]).map((e) => e.message)).toEqual(['boot', 'a', 'b']);
    // Another worker's page is not touched; nothing is created for a page nobody opened.
    applyLiveMessage(ctx, { project: 7, type: 'worker.event', data: { ...frame, worker_id: 5 } });
    expect(qc.getQueryData(workerKeys.events('ml', 5))).toBeUndefined();
  });
});

describe('the runs page total', () => {
  it('is counted again once after a burst of created and changed runs', async () => {
    vi.useFakeTimers();
    const { qc, ctx } = setup();
    let fetches = 0;
    const observer = new QueryObserver(qc, { queryKey: runKeys.count('ml', {}), queryFn: () => ++fetches });
    const stop = observer.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toBe(1);
    applyLiveMessage(ctx, { project: 7, type: 'run.created', run: 'a', data: run('a') });
    applyLiveMessage(ctx, { project: 7, type: 'run.updated', run: 'a', data: run('a', { status: 'running' }) });
    applyLiveMessage(ctx, { project: 7, type: 'run.created', run: 'b', data: run('b') });
    await vi.advanceTimersByTimeAsync(1100);
    expect(fetches).toBe(2);
    stop();
    ctx.refetch.clear();
    vi.useRealTimers();
  });
});
