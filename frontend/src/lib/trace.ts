// Pure helpers of the trace view: spans nested by parent into the rows of a waterfall
// (collapsed subtrees left out), times as offsets from each trace's start, OTLP values
// (AnyValue) typed for display, and the model and token counts of an LLM call
// (OpenTelemetry GenAI conventions, and the older llm.* names).
import type { Span, AnyValue } from '../api/spans';
import { formatDurationNs } from './format';

/** A span with what the waterfall needs precomputed. Times are nanoseconds from its
 * trace's start: numbers are exact to 2^53 ns (104 days), far past any trace. */
export interface SpanRow {
  span: Span;
  key: string; // trace_id + span_id
  depth: number;
  childCount: number;
  startOff: number;
  durNs: number;
  trace: TraceInfo;
}

/** A trace as the view draws it: its extent (the axis of its bars) and its counts. */
export interface TraceInfo {
  traceId: string;
  start: bigint;
  durNs: number;
  spanCount: number;
  errorCount: number;
  rootName: string;
}

/** A header line for a trace (shown when the view holds more than one) or a span. */
export type WaterfallRow = { kind: 'trace'; trace: TraceInfo; key: string } | ({ kind: 'span' } & SpanRow);

export const spanKey = (s: Pick<Span, 'trace_id' | 'span_id'>) => `${s.trace_id}:${s.span_id}`;

function ns(v: string | undefined): bigint {
  try {
    return v ? BigInt(v) : 0n;
  } catch {
    return 0n;
  }
}

interface Node {
  span: Span;
  key: string;
  start: bigint;
  end: bigint;
  children: Node[];
}

export interface TraceTree {
  traces: { info: TraceInfo; roots: Node[] }[];
  size: number;
}

const byStart = (a: Node, b: Node) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Spans (of one trace or several: a run may hold many) into trees: a span's parent is the
 * span its parent_span_id names in the same trace; a span whose parent is not here (the
 * root, or one whose parent has not arrived) is a root. Siblings by start time; traces by
 * their start. A span sent twice counts once.
 */
export function buildTree(spans: readonly Span[]): TraceTree {
  const byTrace = new Map<string, Map<string, Node>>();
  for (const s of spans) {
    const t = s.trace_id ?? '';
    let m = byTrace.get(t);
    if (!m) byTrace.set(t, (m = new Map()));
    if (m.has(s.span_id ?? '')) continue;
    const start = ns(s.start_time_unix_nano);
    let end = ns(s.end_time_unix_nano);
    if (end < start) end = start;
    m.set(s.span_id ?? '', { span: s, key: spanKey(s), start, end, children: [] });
  }
  const traces: TraceTree['traces'] = [];
  let size = 0;
  for (const [traceId, m] of byTrace) {
    const roots: Node[] = [];
    let start: bigint | null = null;
    let end = 0n;
    let errors = 0;
    for (const n of m.values()) {
      const parent = n.span.parent_span_id ? m.get(n.span.parent_span_id) : undefined;
      if (parent && parent !== n) parent.children.push(n);
      else roots.push(n);
      if (start === null || n.start < start) start = n.start;
      if (n.end > end) end = n.end;
      if (n.span.status?.code === 2) errors++;
    }
    for (const n of m.values()) if (n.children.length > 1) n.children.sort(byStart);
    roots.sort(byStart);
    // Spans on a parent cycle (a malformed trace) hang from no root: the first of each
    // cycle becomes one, so no span goes missing.
    const reached = new Set<Node>();
    const reach = (from: Node) => {
      const stack = [from];
      while (stack.length) {
        const n = stack.pop()!;
        if (reached.has(n)) continue;
        reached.add(n);
        stack.push(...n.children);
      }
    };
    roots.forEach(reach);
    if (reached.size < m.size)
      for (const n of m.values())
        if (!reached.has(n)) {
          roots.push(n);
          reach(n);
        }
    const s0 = start ?? 0n;
    const root = roots.find((r) => !r.span.parent_span_id) ?? roots[0];
    traces.push({
      info: {
        traceId,
        start: s0,
        durNs: Number(end - s0),
        spanCount: m.size,
        errorCount: errors,
        rootName: root?.span.name ?? '',
      },
      roots,
    });
    size += m.size;
  }
  traces.sort((a, b) => (a.info.start < b.info.start ? -1 : a.info.start > b.info.start ? 1 : 0));
  return { traces, size };
}

/**
 * The rows on screen, depth first: each span, then (unless it is collapsed) its children.
 * With more than one trace, each trace starts with a header row. Iterative, so a chain of
 * thousands of nested spans cannot overflow the stack; a parent cycle (a malformed trace)
 * cannot loop, since each span is visited once.
 */
export function flatten(tree: TraceTree, collapsed: ReadonlySet<string>): WaterfallRow[] {
  const rows: WaterfallRow[] = [];
  const headers = tree.traces.length > 1;
  for (const { info, roots } of tree.traces) {
    if (headers) rows.push({ kind: 'trace', trace: info, key: 'trace:' + info.traceId });
    const seen = new Set<Node>();
    const stack: { n: Node; depth: number }[] = [];
    for (let i = roots.length - 1; i >= 0; i--) stack.push({ n: roots[i]!, depth: 0 });
    while (stack.length) {
      const { n, depth } = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      rows.push({
        kind: 'span',
        span: n.span,
        key: n.key,
        depth,
        childCount: n.children.length,
        startOff: Number(n.start - info.start),
        durNs: Number(n.end - n.start),
        trace: info,
      });
      if (collapsed.has(n.key)) continue;
      for (let i = n.children.length - 1; i >= 0; i--) stack.push({ n: n.children[i]!, depth: depth + 1 });
    }
  }
  return rows;
}

/** A span duration in ns: the app's one duration style (lib/format.ts). */
export const formatNs = formatDurationNs;

export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const spanKindName = (k: number | undefined) => SPAN_KINDS[k ?? 0] ?? `kind ${k}`;
export const STATUS_NAMES = ['unset', 'ok', 'error'];
export const statusName = (c: number | undefined) => STATUS_NAMES[c ?? 0] ?? `code ${c}`;

export type ValueKind = 'string' | 'int' | 'double' | 'bool' | 'bytes' | 'array' | 'kvlist' | 'empty';

/** The type an OTLP AnyValue was sent with. */
export function valueKind(v: AnyValue | null | undefined): ValueKind {
  if (!v || typeof v !== 'object') return 'empty';
  if ('stringValue' in v) return 'string';
  if ('intValue' in v) return 'int';
  if ('doubleValue' in v) return 'double';
  if ('boolValue' in v) return 'bool';
  if ('bytesValue' in v) return 'bytes';
  if ('arrayValue' in v) return 'array';
  if ('kvlistValue' in v) return 'kvlist';
  return 'empty';
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

/** An AnyValue as plain JSON (ints stay strings when past 2^53, so they stay exact). */
export function plainValue(v: AnyValue | null | undefined): Plain {
  const o = (v ?? {}) as Record<string, unknown>;
  switch (valueKind(v)) {
    case 'string':
      return String(o.stringValue ?? '');
    case 'int': {
      const s = String(o.intValue);
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : s;
    }
    case 'double':
      return typeof o.doubleValue === 'number' ? o.doubleValue : String(o.doubleValue);
    case 'bool':
      return Boolean(o.boolValue);
    case 'bytes':
      return String(o.bytesValue ?? '');
    case 'array':
      return (((o.arrayValue as { values?: AnyValue[] }) ?? {}).values ?? []).map(plainValue);
    case 'kvlist': {
      const out: { [k: string]: Plain } = {};
      for (const kv of ((o.kvlistValue as { values?: { key?: string; value?: AnyValue }[] }) ?? {}).values ?? [])
        out[kv.key ?? ''] = plainValue(kv.value);
      return out;
    }
    default:
      return null;
  }
}

/** What a person reads and copies: strings as they are, the rest as JSON. */
export function valueText(v: AnyValue | null | undefined): string {
  const p = plainValue(v);
  if (valueKind(v) === 'string' || valueKind(v) === 'bytes') return String(p);
  if (valueKind(v) === 'int') return String((v as { intValue: unknown }).intValue);
  if (p === null) return '';
  return typeof p === 'object' ? JSON.stringify(p) : String(p);
}

export interface GenAi {
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
}

const MODEL_KEYS = ['gen_ai.response.model', 'gen_ai.request.model', 'llm.response.model', 'llm.request.model', 'llm.model_name', 'llm.model'];
const INPUT_KEYS = ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'llm.usage.prompt_tokens'];
const OUTPUT_KEYS = ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'llm.usage.completion_tokens'];

function first(attrs: Record<string, AnyValue>, keys: string[]): Plain | undefined {
  for (const k of keys) if (k in attrs) return plainValue(attrs[k]);
  return undefined;
}

function count(p: Plain | undefined): number | null {
  const n = typeof p === 'number' ? p : typeof p === 'string' ? Number(p) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** The model and token counts of an LLM call, or null for a span that is not one. The
 * response's model (what served the call) wins over the request's. */
export function genAiOf(span: Pick<Span, 'attributes'>): GenAi | null {
  const attrs = (span.attributes ?? {}) as Record<string, AnyValue>;
  const model = first(attrs, MODEL_KEYS);
  const input = count(first(attrs, INPUT_KEYS));
  const output = count(first(attrs, OUTPUT_KEYS));
  if (model === undefined && input === null && output === null) return null;
  return { model: model === undefined || model === null ? null : String(model), inputTokens: input, outputTokens: output };
}

/** Axis ticks for a trace of durNs: about `n` round steps (1, 2 or 5 × 10^k ns). */
export function axisTicks(durNs: number, n = 5): number[] {
  if (!(durNs > 0)) return [0];
  const raw = durNs / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= durNs + step * 1e-9; t += step) out.push(t);
  return out;
}
