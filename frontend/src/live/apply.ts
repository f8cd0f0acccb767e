// What a live message does to the TanStack Query cache. Updates are patched in place
// (a run's row, its page, a worker, a run's log from the events a run.event carries);
// only what cannot be patched is refetched, and those refetches are coalesced so a burst
// of messages costs one request.
import type { QueryClient } from '@tanstack/react-query';
import { appendLiveEvents, fetchNewEvents, patchRun, runKeys, type RunsData } from '../api/runs';
import { appendWorkerEvents, fetchNewWorkerEvents, patchWorker, workerKeys } from '../api/workers';
import { metricKeys } from '../api/metrics';
import { compareKeysWith, patchCompareRun } from '../api/compare';
import { artifactKeys, patchRunTable, type TableMessage } from '../api/artifacts';
import { fetchNewRunSpans } from '../api/spans';
import { reportKeys } from '../api/reports';
import type { Run, RunEvent, Worker, WorkerEvent } from '../api/types';
import { parseRunFilters, runMatches } from '../lib/runFilters';
import { serverNow } from '../lib/clock';
import { patchOverviewLists } from './overview';

export interface LiveMessage {
  id?: string | number;
  project?: number | string;
  type: string;
  run?: string | null;
  data?: unknown;
  /** The hub sent a stub: the message was past its frame budget (RUNWATCH_SSE_FRAME_MAX),
   * only id, type, project and run came, and what changed must be fetched. */
  truncated?: boolean;
}

export const LIVE_TYPES = [
  'run.created',
  'run.updated',
  'run.heartbeat',
  'run.event',
  'run.metrics',
  'run.spans',
  'worker.updated',
  'run.table',
  'worker.event',
] as const;

/** Runs a function at most once per `ms` per key, trailing (the last call wins). */
export class Coalescer {
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  constructor(private readonly ms: number) {}
  run(key: string, fn: () => void): void {
    if (this.timers.has(key)) return;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        fn();
      }, this.ms),
    );
  }
  clear(): void {
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
  }
}

type RunLoader = (qc: QueryClient, project: string, run: string, from?: bigint) => Promise<void>;

/** One fetch of new items (events, spans) per run at a time; a message during a fetch queues
 * one more, from the earliest id any of the queued messages named. */
class RunFetcher {
  private busy = new Map<string, { again: boolean; from?: bigint }>();
  constructor(private readonly load: RunLoader) {}
  async fetch(qc: QueryClient, project: string, run: string, from?: bigint): Promise<void> {
    const queued = this.busy.get(run);
    if (queued) {
      queued.again = true;
      if (from !== undefined && (queued.from === undefined || from < queued.from)) queued.from = from;
      return;
    }
    const state = { again: true, from };
    this.busy.set(run, state);
    try {
      while (state.again) {
        const start = state.from;
        state.again = false;
        state.from = undefined;
        await this.load(qc, project, run, start);
      }
    } catch {
      // It refetches on the next message or a reset; the page shows the query's state.
    } finally {
      this.busy.delete(run);
    }
  }
}

/** The first sequence id a run.spans names (docs/CONTRACTS.md, "Live events"). */
export function firstSequenceId(data: unknown): bigint | undefined {
  try {
    const id = (data as { first_sequence_id?: string } | null)?.first_sequence_id;
    return id ? BigInt(id) : undefined;
  } catch {
    return undefined;
  }
}

/** What a run.event carries (docs/CONTRACTS.md, "Live events"): the batch's ids, and the
 * events themselves unless the batch was past the frame's budget (`truncated`). */
export interface RunEventData {
  count?: number;
  first_id?: string;
  last_id?: string;
  truncated?: boolean;
  events?: RunEvent[];
}

/** The events a run.event carries when they are the whole batch (as many as `count`, from
 * `first_id` to `last_id`, all of this run); null when the log must be fetched instead:
 * the frame was truncated, or it does not add up (a gap). */
export function frameEvents(run: string, data: unknown): RunEvent[] | null {
  const d = (data ?? {}) as RunEventData;
  const ev = d.events;
  if (d.truncated !== false || !Array.isArray(ev) || ev.length === 0 || ev.length !== d.count) return null;
  if (ev[0]?.id !== d.first_id || ev[ev.length - 1]?.id !== d.last_id) return null;
  return ev.every((e) => e && typeof e === 'object' && typeof e.id === 'string' && e.run_id === run) ? ev : null;
}

function firstId(data: unknown): bigint | undefined {
  try {
    const id = (data as RunEventData | null)?.first_id;
    return id ? BigInt(id) : undefined;
  } catch {
    return undefined;
  }
}

export interface LiveContext {
  qc: QueryClient;
  /** The current project's slug (cache keys) and id (what messages carry). */
  slug: string;
  projectId: number;
  refetch: Coalescer;
  events: RunFetcher;
  spans: RunFetcher;
}

export function newLiveContext(qc: QueryClient, slug: string, projectId: number): LiveContext {
  return { qc, slug, projectId, refetch: new Coalescer(1000), events: new RunFetcher(fetchNewEvents), spans: new RunFetcher(fetchNewRunSpans) };
}

/** Adds a newly created run to the top of every cached list it belongs in. */
function insertRun(ctx: LiveContext, run: Run): void {
  const now = serverNow();
  for (const [key, data] of ctx.qc.getQueriesData<RunsData>({ queryKey: runKeys.lists(ctx.slug) })) {
    if (!data || data.pages.length === 0) continue;
    const view = parseRunFilters(new URLSearchParams((key[3] ?? {}) as Record<string, string>));
    if (!runMatches(view, run, now)) continue;
    if (view.sort !== 'created' || view.order !== 'desc') {
      // Its place in another order is the server's to say.
      ctx.refetch.run(JSON.stringify(key), () => ctx.qc.invalidateQueries({ queryKey: key, exact: true }));
      continue;
    }
    if (data.pages.some((p) => p.items.some((r) => r.id === run.id))) continue;
    const [first, ...rest] = data.pages;
    ctx.qc.setQueryData<RunsData>(key, {
      ...data,
      pages: [{ ...first!, items: [run, ...first!.items] }, ...rest],
    });
  }
}

/** A rollout (a run of kind `rollout`, the agent-lightning store's) changed, or spans came
 * (a span is a rollout's heartbeat): the Rollouts view is the server's to say (its statuses
 * and attempts are agent-lightning's), so the rollout queries on screen refetch, coalesced. */
function refreshRollouts(ctx: LiveContext): void {
  ctx.refetch.run('rollouts', () => ctx.qc.invalidateQueries({ queryKey: ['rollouts', ctx.slug] }));
}

const isRollout = (data: unknown) => !!data && typeof data === 'object' && (data as Run).kind === 'rollout';

function refreshOverview(ctx: LiveContext): void {
  ctx.refetch.run('overview', () => ctx.qc.invalidateQueries({ queryKey: ['overview', ctx.slug] }));
}

/** A run failed: the failure groups and their run lists may have changed. They are
 * grouped by the server (fingerprints, counts, first/last seen), so they are refetched
 * (coalesced), not patched; only the queries on screen refetch. */
/** The comparisons holding run refetch, each at most once a second (one request brings all
 * its runs' series, so a burst of metrics from many runs costs one). A comparison still
 * loading is not cancelled (its statement runs on regardless, and with 50 busy runs each
 * refetch would cancel the one before it and none would land): it is asked again after it. */
function refreshCompare(ctx: LiveContext, run: string): void {
  for (const key of compareKeysWith(ctx.qc, ctx.slug, run)) refetchCompare(ctx, key);
}

function refetchCompare(ctx: LiveContext, key: readonly unknown[]): void {
  ctx.refetch.run('compare:' + JSON.stringify(key), () => {
    if (ctx.qc.isFetching({ queryKey: key, exact: true })) refetchCompare(ctx, key);
    else void ctx.qc.invalidateQueries({ queryKey: key, exact: true });
  });
}

function invalidateFailures(ctx: LiveContext): void {
  void ctx.qc.invalidateQueries({ queryKey: reportKeys.groupsAll(ctx.slug) });
  void ctx.qc.invalidateQueries({ queryKey: reportKeys.groupRunsAll(ctx.slug) });
}

function refreshFailures(ctx: LiveContext): void {
  ctx.refetch.run('failures', () => invalidateFailures(ctx));
}

/** Applies one message; returns false when it was not for this project. */
export function applyLiveMessage(ctx: LiveContext, msg: LiveMessage): boolean {
  if (msg.project !== undefined && Number(msg.project) !== ctx.projectId) return false;
  const { qc, slug } = ctx;
  if (msg.truncated && (msg.type === 'run.created' || msg.type === 'run.updated')) {
    // Nothing to patch with: the run's page and the lists on screen refetch (coalesced).
    if (msg.run) void qc.invalidateQueries({ queryKey: runKeys.detail(slug, msg.run) });
    if (msg.run) refreshCompare(ctx, msg.run);
    ctx.refetch.run('lists', () => qc.invalidateQueries({ queryKey: runKeys.lists(slug) }));
    refreshOverview(ctx);
    refreshRollouts(ctx);
    return true;
  }
  switch (msg.type) {
    case 'run.created':
      if (msg.data && typeof msg.data === 'object') {
        insertRun(ctx, msg.data as Run);
        patchOverviewLists(qc, slug, msg.data as Run);
      }
      if (isRollout(msg.data)) refreshRollouts(ctx);
      refreshOverview(ctx);
      ctx.refetch.run('counts', () => qc.invalidateQueries({ queryKey: runKeys.counts(slug) }));
      break;
    case 'run.updated':
      if (msg.data && typeof msg.data === 'object') {
        patchRun(qc, slug, msg.data as Run);
        patchCompareRun(qc, slug, msg.data as Run);
        patchOverviewLists(qc, slug, msg.data as Run);
      }
      if (msg.run) qc.invalidateQueries({ queryKey: runKeys.attempts(slug, msg.run) });
      // A view's total may change with a status (the runs page's count, coalesced).
      ctx.refetch.run('counts', () => qc.invalidateQueries({ queryKey: runKeys.counts(slug) }));
      if (msg.data && typeof msg.data === 'object' && (msg.data as Run).status === 'failed') refreshFailures(ctx);
      if (isRollout(msg.data)) refreshRollouts(ctx);
      refreshOverview(ctx);
      break;
    case 'run.heartbeat': {
      if (!msg.run) break;
      const d = (msg.data ?? {}) as { progress?: number };
      const patch: Run = { id: msg.run, last_heartbeat_at: new Date(serverNow()).toISOString() };
      if (typeof d.progress === 'number') patch.progress = d.progress;
      patchRun(qc, slug, patch);
      break;
    }
    case 'run.event': {
      if (!msg.run) break;
      // The frame carries the batch: a viewer of the run costs the API nothing. Only a
      // batch past the frame's budget, or a frame that does not add up, is fetched.
      const events = frameEvents(msg.run, msg.data);
      if (events) void appendLiveEvents(qc, slug, msg.run, events);
      else void ctx.events.fetch(qc, slug, msg.run, firstId(msg.data));
      break;
    }
    case 'run.metrics':
      if (msg.run) {
        const run = msg.run;
        ctx.refetch.run('metrics:' + run, () =>
          qc.invalidateQueries({ queryKey: metricKeys.run(slug, run) }),
        );
        refreshCompare(ctx, run);
      }
      break;
    case 'run.spans':
      // Compact whatever the batch's size: the spans are fetched, only by a viewer of the
      // run's Traces tab, from the batch's first sequence id.
      if (msg.run) void ctx.spans.fetch(qc, slug, msg.run, firstSequenceId(msg.data));
      refreshRollouts(ctx);
      break;
    case 'run.table':
      // Appended rows ride in the message; a table past its budget is fetched (coalesced).
      if (msg.run) {
        const run = msg.run;
        const d = msg.data as TableMessage | undefined;
        if (!d || typeof d !== 'object' || !patchRunTable(qc, slug, run, d))
          ctx.refetch.run('tables:' + run, () =>
            qc.invalidateQueries({ queryKey: artifactKeys.tables(slug, run) }),
          );
      }
      break;
    case 'worker.event': {
      // A worker's log lines: the frame carries them unless past its budget (as run.event).
      const d = (msg.data ?? {}) as { worker_id?: number; count?: number; truncated?: boolean; events?: WorkerEvent[] };
      if (typeof d.worker_id !== 'number') break;
      if (d.truncated === false && Array.isArray(d.events) && d.events.length === d.count)
        appendWorkerEvents(qc, slug, d.worker_id, d.events);
      else void fetchNewWorkerEvents(qc, slug, d.worker_id).catch(() => undefined);
      break;
    }
    case 'worker.updated':
      if (msg.data && typeof msg.data === 'object') patchWorker(qc, slug, msg.data as Worker);
      refreshOverview(ctx);
      break;
    default:
      return false;
  }
  return true;
}

/** After a gap the hub could not fill (`reset`) or a fresh connection: refetch over REST. */
export function resyncAll(ctx: LiveContext): void {
  void ctx.qc.invalidateQueries({ queryKey: runKeys.all(ctx.slug) });
  void ctx.qc.invalidateQueries({ queryKey: workerKeys.all(ctx.slug) });
  void ctx.qc.invalidateQueries({ queryKey: ['overview', ctx.slug] });
  void ctx.qc.invalidateQueries({ queryKey: ['rollouts', ctx.slug] });
  invalidateFailures(ctx);
}
