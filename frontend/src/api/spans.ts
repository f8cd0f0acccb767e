// Spans and traces: a run's spans (every page, in sequence order) kept current by the live
// stream's run.spans, one trace, the project's traces and the span search. A run's spans
// live under ['runs', project, …] so a stream reset refetches them with the run's page.
import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { components } from './schema.gen';
import type { Page } from './types';

type S = components['schemas'];
/** An OTLP AnyValue in its JSON form ({"stringValue": …}, {"intValue": "…"}, …). */
export type AnyValue = Record<string, unknown>;
export type Span = Omit<S['Span'], 'attributes'> & { attributes: Record<string, AnyValue> };
export type Trace = Omit<S['Trace'], 'spans'> & { spans: Span[] };
type LeanSpan = Omit<S['SpanLean'], 'attributes'> & { attributes: Record<string, AnyValue> };
type Lean = Pick<S['TraceLean'], 'resources' | 'scopes'>;
export type TraceSummary = S['TraceSummary'];

/** Spans one request asks for (the API's most). */
export const SPANS_PAGE = 1000;
/** Most spans the run view loads: past it the view says so (GET /traces caps at 10,000). */
export const RUN_SPANS_CAP = 20_000;

export const spanKeys = {
  run: (project: string, run: string) => ['runs', project, 'spans', run] as const,
  trace: (project: string, trace: string) => ['traces', project, 'trace', trace] as const,
  list: (project: string, params: Record<string, string>) => ['traces', project, 'list', params] as const,
  search: (project: string, params: Record<string, string>) => ['traces', project, 'search', params] as const,
};

export interface RunSpans {
  spans: Span[];
  /** The highest sequence_id held: where the next fetch starts. */
  last: string;
  /** More than RUN_SPANS_CAP: the rest were not loaded. */
  capped: boolean;
}

const seq = (s: Span) => {
  try {
    return BigInt(s.sequence_id ?? 0);
  } catch {
    return 0n;
  }
};

/** Spans of a lean answer (?form=lean: each resource and scope once, spans naming them by
 * index) as Spans: each takes the shared resource and scope object, so 5,000 spans of one
 * resource hold one copy of it, not 5,000 parsed from 5 MB of JSON. */
export function unleanSpans(spans: LeanSpan[], lean: Lean): Span[] {
  const out = spans as unknown as Span[];
  for (let i = 0; i < spans.length; i++) {
    const l = spans[i]!;
    const s = out[i]! as Span & Partial<Pick<LeanSpan, 'resource_index' | 'scope_index'>>;
    if (l.resource_index === undefined) continue; // a full answer's span: as it came
    s.resource = lean.resources[l.resource_index];
    s.scope = lean.scopes[l.scope_index];
    delete s.resource_index;
    delete s.scope_index;
  }
  return out;
}

/** The run's spans after sequence id `after`, every page (up to `room` spans). */
async function fetchRunSpansAfter(run: string, after: string, room: number, signal?: AbortSignal) {
  const out: Span[] = [];
  let cursor = after;
  let more = true;
  while (more && out.length < room) {
    const page = await api<Page<LeanSpan> & Lean>(`/runs/${encodeURIComponent(run)}/spans`, {
      query: { cursor, limit: SPANS_PAGE, form: 'lean' },
      signal,
    });
    out.push(...unleanSpans(page.items, page));
    more = page.next_cursor !== null;
    if (page.next_cursor) cursor = page.next_cursor;
  }
  return { spans: out, more };
}

/** New spans merged into what is held, in sequence order, each once. */
export function mergeRunSpans(cur: RunSpans, add: Span[], more = false): RunSpans {
  if (add.length === 0) return more ? { ...cur, capped: true } : cur;
  const lastHeld = BigInt(cur.last || '0');
  const fresh = add.filter((s) => seq(s) > lastHeld);
  // A fetch from an earlier sequence id (a batch that committed out of order) may return
  // spans already held: keep one of each.
  const older = add.filter((s) => seq(s) <= lastHeld);
  let spans = cur.spans;
  if (older.length) {
    const held = new Set(cur.spans.map((s) => String(s.sequence_id)));
    const missing = older.filter((s) => !held.has(String(s.sequence_id)));
    if (missing.length) spans = [...spans, ...missing].sort((a, b) => (seq(a) < seq(b) ? -1 : seq(a) > seq(b) ? 1 : 0));
  }
  if (fresh.length) spans = spans === cur.spans ? [...spans, ...fresh] : spans.concat(fresh);
  const last = fresh.length ? String(fresh[fresh.length - 1]!.sequence_id) : cur.last;
  return { spans, last, capped: cur.capped || more };
}

export const runSpansQuery = (project: string, run: string) =>
  queryOptions({
    queryKey: spanKeys.run(project, run),
    queryFn: async ({ signal, client, queryKey }): Promise<RunSpans> => {
      const { spans, more } = await fetchRunSpansAfter(run, '0', RUN_SPANS_CAP, signal);
      const fresh: RunSpans = { spans, last: spans.length ? String(spans[spans.length - 1]!.sequence_id) : '0', capped: more };
      // A refetch (after a reset) keeps what the live stream added while it was out.
      const cur = client.getQueryData<RunSpans>(queryKey);
      return cur ? mergeRunSpans(fresh, cur.spans) : fresh;
    },
    staleTime: Infinity, // kept current by run.spans (fetchNewRunSpans)
  });

/** Brings a run's cached spans up to date after a run.spans message: the spans after the
 * newest held, or from `first` (the message's first sequence id) when that is earlier.
 * Nothing when nobody is looking at the run's spans. */
export async function fetchNewRunSpans(qc: QueryClient, project: string, run: string, first?: bigint): Promise<void> {
  const key = spanKeys.run(project, run);
  const q = qc.getQueryCache().find<RunSpans>({ queryKey: key, exact: true });
  if (!q) return;
  if (q.state.data === undefined) {
    // Its first load is out: what it returns may predate this batch, so wait for it.
    if (q.state.fetchStatus !== 'fetching') return;
    try {
      await qc.fetchQuery(runSpansQuery(project, run));
    } catch {
      return;
    }
  }
  const cur = qc.getQueryData<RunSpans>(key);
  if (!cur || cur.capped) return;
  let after = BigInt(cur.last || '0');
  if (first !== undefined && first > 0n && first - 1n < after) after = first - 1n;
  const { spans, more } = await fetchRunSpansAfter(run, String(after), RUN_SPANS_CAP - cur.spans.length);
  qc.setQueryData<RunSpans>(key, (c) => (c ? mergeRunSpans(c, spans, more) : c));
}

export const traceQuery = (project: string, trace: string) =>
  queryOptions({
    queryKey: spanKeys.trace(project, trace),
    queryFn: async ({ signal }): Promise<Trace> => {
      const t = await api<Omit<S['TraceLean'], 'spans'> & { spans: LeanSpan[] }>(`/traces/${encodeURIComponent(trace)}`, {
        query: { project, form: 'lean' },
        signal,
      });
      return { trace_id: t.trace_id, truncated: t.truncated, spans: unleanSpans(t.spans, t) };
    },
  });

export const TRACES_PAGE = 50;

export const tracesListQuery = (project: string, params: Record<string, string>) =>
  infiniteQueryOptions({
    queryKey: spanKeys.list(project, params),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<Page<TraceSummary>>('/traces', {
        query: { project, ...params, limit: TRACES_PAGE, cursor: pageParam ?? undefined },
        signal,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

export const spanSearchQuery = (project: string, params: Record<string, string>) =>
  infiniteQueryOptions({
    queryKey: spanKeys.search(project, params),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<Page<Span>>('/spans', {
        query: { project, ...params, limit: TRACES_PAGE, cursor: pageParam ?? undefined },
        signal,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
