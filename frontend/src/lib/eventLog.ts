// The run page's event log keeps only the newest lines: a run that logs all day must not
// grow the page's memory without bound. Events are merged by id (a live batch may
// overlap what a refetch already brought) and kept in id order.
import type { RunEvent } from '../api/types';

export const EVENT_LOG_CAP = 500;

/** Anything with a text id that grows: a run's events, a worker's log lines. */
type HasId = Pick<RunEvent, 'id'>;

function idOf(e: HasId): bigint {
  try {
    return BigInt(e.id ?? '0');
  } catch {
    return 0n;
  }
}

/** `log` plus `incoming`, without duplicates, ordered by id, cut to the newest `cap`. */
export function appendCapped<E extends HasId = RunEvent>(
  log: readonly E[],
  incoming: readonly E[],
  cap: number = EVENT_LOG_CAP,
): E[] {
  if (incoming.length === 0 && log.length <= cap) return log as E[];
  const seen = new Set<string>();
  const all: E[] = [];
  for (const e of [...log, ...incoming]) {
    const k = e.id ?? '';
    if (seen.has(k)) continue;
    seen.add(k);
    all.push(e);
  }
  // Ids are strings that may pass 2^53: compare as BigInt, and only sort when needed.
  let sorted = true;
  for (let i = 1; i < all.length && sorted; i++) sorted = idOf(all[i - 1]!) < idOf(all[i]!);
  if (!sorted) all.sort((x, y) => (idOf(x) < idOf(y) ? -1 : idOf(x) > idOf(y) ? 1 : 0));
  return all.length > cap ? all.slice(all.length - cap) : all;
}

/** The id to ask for events after (`GET …/events?after=`), or undefined for the start. */
export function lastEventId(log: readonly HasId[]): string | undefined {
  return log.length ? log[log.length - 1]!.id : undefined;
}

export const LEVEL_COLOR: Record<string, string> = {
  debug: 'gray',
  info: 'blue',
  warning: 'yellow',
  error: 'red',
  critical: 'grape',
};
