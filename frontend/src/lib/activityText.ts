// The live feed's lines in words: what happened, to which run (by its name), e.g.
// `“resnet-50” failed: CUDA out of memory`, `“etl-daily” started (attempt 2)`,
// `worker gpu-3 is draining`. Pure, so the wording is tested (activityText.test.ts).
import type { Run } from '../api/types';

export interface ActivityLike {
  type: string;
  run?: string | null;
  data?: unknown;
}

/** What a run.event keeps for the feed (live/activity.ts drops the batch itself). */
export interface EventSummary {
  count: number;
  level?: string;
  message?: string;
}

export interface ActivityLine {
  /** The run's or worker's name, as the subject of the sentence. */
  subject: string;
  /** What happened, in words. */
  text: string;
  /** A status colour key (lib/status), when the line is a status change. */
  status?: string;
}

const quoted = (s: string) => `“${s}”`;

/** A run's name for a sentence: its name, else its kind, else its short id. */
export function runLabel(run: Partial<Run> | null | undefined, id?: string | null): string {
  if (run?.name) return quoted(run.name);
  if (run?.kind) return `a ${run.kind} run`;
  return id ? `run ${id.slice(0, 8)}` : 'a run';
}

function errorMessage(run: Partial<Run>): string {
  const e = run.error as { message?: string; type?: string } | null | undefined;
  return e?.message || e?.type || '';
}

function runText(type: string, run: Partial<Run>): { text: string; status?: string } {
  const status = run.status ?? 'queued';
  const seq = run.latest_attempt?.seq ?? 0;
  if (type === 'run.created')
    return status === 'queued'
      ? { text: `queued${run.queue ? ` on ${run.queue}` : ''}`, status }
      : { text: `created, ${status}`, status };
  switch (status) {
    case 'running':
      return { text: seq > 1 ? `started (attempt ${seq})` : 'started', status };
    case 'succeeded':
      return { text: 'succeeded', status };
    case 'failed': {
      const m = errorMessage(run);
      return { text: m ? `failed: ${m}` : 'failed', status };
    }
    case 'cancelled':
      return { text: 'was cancelled', status };
    case 'retrying':
      return { text: seq ? `will retry (attempt ${seq} failed)` : 'will retry', status };
    case 'queued':
      return { text: 'is queued', status };
    default:
      return { text: `is ${status}`, status };
  }
}

/**
 * One feed line. `nameOf` gives the name of a run the message itself does not carry
 * (run.event, run.spans), from what the page has seen; without it the short id stands in.
 */
export function activityLine(m: ActivityLike, nameOf: (run: string) => Partial<Run> | undefined = () => undefined): ActivityLine {
  const d = (m.data ?? null) as Record<string, unknown> | null;
  switch (m.type) {
    case 'run.created':
    case 'run.updated': {
      const run = (d ?? {}) as Partial<Run>;
      return { subject: runLabel(run.name || run.kind ? run : nameOf(m.run ?? ''), m.run), ...runText(m.type, run) };
    }
    case 'run.event': {
      const s = (d ?? {}) as Partial<EventSummary>;
      const subject = runLabel(nameOf(m.run ?? ''), m.run);
      const n = s.count ?? 1;
      if (n === 1 && s.message) return { subject, text: `logged ${s.level && s.level !== 'info' ? `${s.level}: ` : ''}${s.message}` };
      return { subject, text: `logged ${n} event${n === 1 ? '' : 's'}` };
    }
    case 'run.spans':
      return { subject: runLabel(nameOf(m.run ?? ''), m.run), text: 'sent trace spans' };
    case 'worker.updated': {
      const name = (d?.name as string | undefined) ?? 'a worker';
      const status = (d?.status as string | undefined) ?? 'updated';
      return { subject: `worker ${name}`, text: status === 'stopped' ? 'stopped' : `is ${status}`, status };
    }
    case 'worker.event': {
      const name = (d?.worker_name as string | undefined) ?? 'a worker';
      const n = (d?.count as number | undefined) ?? 1;
      const msg = d?.message as string | undefined;
      return { subject: `worker ${name}`, text: n === 1 && msg ? `logged ${msg}` : `logged ${n} lines` };
    }
    default:
      return { subject: m.run ? `run ${m.run.slice(0, 8)}` : '', text: m.type };
  }
}
