// The runs table's filters and sort live in the URL, so a view can be shared by link.
// parseRunFilters/runFiltersToSearch are exact inverses for every valid view; anything
// the URL says that is not valid (an unknown status, a bad date) is dropped, never sent
// to the server. runFiltersToApi turns a view into the API's query parameters.
import { RUN_STATUSES, type RunStatus } from '../api/types';
import { parseTimeInput } from './format';

export const SORT_KEYS = ['created', 'started', 'ended', 'duration'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type Order = 'asc' | 'desc';

export const RANGES = {
  '1h': 3600,
  '24h': 86400,
  '7d': 7 * 86400,
  '30d': 30 * 86400,
} as const;
export type RangeKey = keyof typeof RANGES;

export interface RunFilters {
  status: RunStatus[];
  kind: string;
  queue: string;
  worker: string;
  tag: string;
  q: string;
  /** A preset window back from now, or '' for none / a custom from–to. */
  range: RangeKey | '';
  from: string;
  to: string;
  sort: SortKey;
  order: Order;
}

export const DEFAULT_FILTERS: RunFilters = {
  status: [],
  kind: '',
  queue: '',
  worker: '',
  tag: '',
  q: '',
  range: '',
  from: '',
  to: '',
  sort: 'created',
  order: 'desc',
};

const isDate = (s: string) => s !== '' && !Number.isNaN(parseTimeInput(s));

export function parseRunFilters(sp: URLSearchParams): RunFilters {
  const f: RunFilters = { ...DEFAULT_FILTERS, status: [] };
  const status = sp.get('status');
  if (status) {
    const seen = new Set<RunStatus>();
    for (const s of status.split(','))
      if ((RUN_STATUSES as string[]).includes(s)) seen.add(s as RunStatus);
    // Canonical order, so two links to one view are the same link.
    f.status = RUN_STATUSES.filter((s) => seen.has(s));
  }
  for (const k of ['kind', 'queue', 'tag', 'q'] as const) f[k] = (sp.get(k) ?? '').trim();
  const worker = sp.get('worker') ?? '';
  if (/^[0-9]+$/.test(worker)) f.worker = worker;
  const range = sp.get('range') ?? '';
  if (range in RANGES) f.range = range as RangeKey;
  else {
    const from = sp.get('from') ?? '';
    const to = sp.get('to') ?? '';
    if (isDate(from)) f.from = from;
    if (isDate(to)) f.to = to;
  }
  const sort = sp.get('sort') ?? '';
  if ((SORT_KEYS as readonly string[]).includes(sort)) f.sort = sort as SortKey;
  const order = sp.get('order');
  if (order === 'asc' || order === 'desc') f.order = order;
  return f;
}

/** Only what differs from the defaults goes into the URL, in a fixed order. */
export function runFiltersToSearch(f: RunFilters): URLSearchParams {
  const sp = new URLSearchParams();
  if (f.status.length) sp.set('status', RUN_STATUSES.filter((s) => f.status.includes(s)).join(','));
  for (const k of ['kind', 'queue', 'worker', 'tag', 'q'] as const) if (f[k]) sp.set(k, f[k]);
  if (f.range) sp.set('range', f.range);
  else {
    if (f.from) sp.set('from', f.from);
    if (f.to) sp.set('to', f.to);
  }
  if (f.sort !== DEFAULT_FILTERS.sort) sp.set('sort', f.sort);
  if (f.order !== DEFAULT_FILTERS.order) sp.set('order', f.order);
  return sp;
}

export function isFiltered(f: RunFilters): boolean {
  return (
    f.status.length > 0 || !!(f.kind || f.queue || f.worker || f.tag || f.q || f.range || f.from || f.to)
  );
}

/**
 * The API query for a view. A preset range is resolved against `now`; callers keep
 * `now` fixed for one listing so every page of it asks the same question.
 */
export function runFiltersToApi(
  f: RunFilters,
  now: number,
): Record<string, string | undefined> {
  const iso = (ms: number) => new Date(ms).toISOString();
  let after: string | undefined;
  let before: string | undefined;
  if (f.range) after = iso(now - RANGES[f.range] * 1000);
  else {
    // The inputs' text is in the zone chosen in Settings (lib/format.ts).
    if (f.from) after = iso(parseTimeInput(f.from));
    if (f.to) before = iso(parseTimeInput(f.to));
  }
  return {
    status: f.status.length ? f.status.join(',') : undefined,
    kind: f.kind || undefined,
    queue: f.queue || undefined,
    worker: f.worker || undefined,
    tag: f.tag || undefined,
    q: f.q || undefined,
    created_after: after,
    created_before: before,
    sort: f.sort === 'created' ? undefined : f.sort,
    order: f.order === 'desc' ? undefined : f.order,
  };
}

/** Whether a run (e.g. one that just arrived live) belongs in a view. */
export function runMatches(
  f: RunFilters,
  run: {
    status?: string;
    kind?: string;
    queue?: string;
    worker_id?: number | null;
    tags?: string[];
    name?: string;
    id?: string;
    created_at?: string | null;
  },
  now: number,
): boolean {
  if (f.status.length && !f.status.includes(run.status as RunStatus)) return false;
  if (f.kind && run.kind !== f.kind) return false;
  if (f.queue && run.queue !== f.queue) return false;
  if (f.worker && String(run.worker_id ?? '') !== f.worker) return false;
  if (f.tag && !(run.tags ?? []).includes(f.tag)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!(run.id ?? '').startsWith(q) && !(run.name ?? '').toLowerCase().includes(q)) return false;
  }
  const created = Date.parse(run.created_at ?? '');
  if (f.range && Number.isFinite(created) && created < now - RANGES[f.range] * 1000) return false;
  if (f.from && Number.isFinite(created) && created < parseTimeInput(f.from)) return false;
  if (f.to && Number.isFinite(created) && created >= parseTimeInput(f.to)) return false;
  return true;
}
