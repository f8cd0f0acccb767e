// What a live message does to the TanStack Query cache. Updates are patched in place
// (a run's row, its page, a worker); only what cannot be patched is refetched, and
// those refetches are coalesced so a burst of messages costs one request.
import type { QueryClient } from '@tanstack/react-query';
import { fetchNewEvents, patchRun, runKeys, type RunsData } from '../api/runs';
import { patchWorker, workerKeys } from '../api/workers';
import { metricKeys } from '../api/metrics';
import { reportKeys } from '../api/reports';
import type { Run, Worker } from '../api/types';
import { parseRunFilters, runMatches } from '../lib/runFilters';

export interface LiveMessage {
  id?: string | number;
  project?: number | string;
  type: string;
  run?: string | null;
  data?: unknown;
}

export const LIVE_TYPES = [
  'run.created',
  'run.updated',
  'run.heartbeat',
  'run.event',
  'run.metrics',
  'worker.updated',
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

/** One fetch of new events per run at a time; a message during a fetch queues one more. */
class EventFetcher {
  private busy = new Map<string, boolean>();
  async fetch(qc: QueryClient, project: string, run: string): Promise<void> {
    if (this.busy.has(run)) {
      this.busy.set(run, true);
      return;
    }
    this.busy.set(run, false);
    try {
      do {
        this.busy.set(run, false);
        await fetchNewEvents(qc, project, run);
      } while (this.busy.get(run));
    } catch {
      // The log refetches on the next message or a reset; the page shows the query's state.
    } finally {
      this.busy.delete(run);
    }
  }
}

export interface LiveContext {
  qc: QueryClient;
  /** The current project's slug (cache keys) and id (what messages carry). */
  slug: string;
  projectId: number;
  refetch: Coalescer;
  events: EventFetcher;
}

export function newLiveContext(qc: QueryClient, slug: string, projectId: number): LiveContext {
  return { qc, slug, projectId, refetch: new Coalescer(1000), events: new EventFetcher() };
}

/** Adds a newly created run to the top of every cached list it belongs in. */
function insertRun(ctx: LiveContext, run: Run): void {
  const now = Date.now();
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

function refreshOverview(ctx: LiveContext): void {
  ctx.refetch.run('overview', () => ctx.qc.invalidateQueries({ queryKey: ['overview', ctx.slug] }));
}

/** A run failed: the failure groups and their run lists may have changed. They are
 * grouped by the server (fingerprints, counts, first/last seen), so they are refetched
 * (coalesced), not patched; only the queries on screen refetch. */
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
  switch (msg.type) {
    case 'run.created':
      if (msg.data && typeof msg.data === 'object') insertRun(ctx, msg.data as Run);
      refreshOverview(ctx);
      break;
    case 'run.updated':
      if (msg.data && typeof msg.data === 'object') patchRun(qc, slug, msg.data as Run);
      if (msg.run) qc.invalidateQueries({ queryKey: runKeys.attempts(slug, msg.run) });
      if (msg.data && typeof msg.data === 'object' && (msg.data as Run).status === 'failed') refreshFailures(ctx);
      refreshOverview(ctx);
      break;
    case 'run.heartbeat': {
      if (!msg.run) break;
      const d = (msg.data ?? {}) as { progress?: number };
      const patch: Run = { id: msg.run, last_heartbeat_at: new Date().toISOString() };
      if (typeof d.progress === 'number') patch.progress = d.progress;
      patchRun(qc, slug, patch);
      break;
    }
    case 'run.event':
      if (msg.run) void ctx.events.fetch(qc, slug, msg.run);
      break;
    case 'run.metrics':
      if (msg.run) {
        const run = msg.run;
        ctx.refetch.run('metrics:' + run, () =>
          qc.invalidateQueries({ queryKey: metricKeys.run(slug, run) }),
        );
      }
      break;
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
  invalidateFailures(ctx);
}
