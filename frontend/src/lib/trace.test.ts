import { describe, expect, it } from 'vitest';
import type { Span } from '../api/spans';
import { mergeRunSpans } from '../api/spans';
import { axisTicks, buildTree, flatten, formatNs, genAiOf, plainValue, valueKind, valueText } from './trace';

const T = '0af7651916cd43dd8448eb211c80319c';
const BASE = 1767225600000000000n;
function span(id: string, parent: string | null, startMs: number, endMs: number, extra: Partial<Span> = {}): Span {
  return {
    trace_id: T,
    span_id: id,
    parent_span_id: parent,
    name: 'op-' + id,
    kind: 1,
    start_time_unix_nano: String(BASE + BigInt(startMs) * 1000000n),
    end_time_unix_nano: String(BASE + BigInt(endMs) * 1000000n),
    status: { code: 0, message: '' },
    attributes: {},
    ...extra,
  };
}

describe('buildTree and flatten', () => {
  // root(0-100) > a(10-50) > a1(20-30); root > b(5-90), so b comes before a (start order)
  const spans = [
    span('a1', 'a', 20, 30),
    span('root', null, 0, 100),
    span('a', 'root', 10, 50, { status: { code: 2, message: 'boom' } }),
    span('b', 'root', 5, 90),
  ];
  it('nests spans under their parents, siblings by start, depth first', () => {
    const rows = flatten(buildTree(spans), new Set());
    expect(rows.map((r) => (r.kind === 'span' ? `${r.span.span_id}@${r.depth}` : 'trace'))).toEqual([
      'root@0',
      'b@1',
      'a@1',
      'a1@2',
    ]);
  });
  it('places bars from the trace start, and counts errors', () => {
    const tree = buildTree(spans);
    expect(tree.traces).toHaveLength(1);
    expect(tree.traces[0]!.info.durNs).toBe(100e6);
    expect(tree.traces[0]!.info.errorCount).toBe(1);
    expect(tree.traces[0]!.info.rootName).toBe('op-root');
    const a = flatten(tree, new Set()).find((r) => r.kind === 'span' && r.span.span_id === 'a');
    expect(a && a.kind === 'span' && [a.startOff, a.durNs, a.childCount]).toEqual([10e6, 40e6, 1]);
  });
  it('leaves out the subtree of a collapsed span', () => {
    const rows = flatten(buildTree(spans), new Set([`${T}:a`]));
    expect(rows.map((r) => (r.kind === 'span' ? r.span.span_id : ''))).toEqual(['root', 'b', 'a']);
    const none = flatten(buildTree(spans), new Set([`${T}:root`]));
    expect(none).toHaveLength(1);
  });
  it('keeps a span whose parent has not arrived as a root, and a span sent twice once', () => {
    const rows = flatten(buildTree([span('x', 'missing', 0, 1), span('x', 'missing', 0, 1), span('y', 'x', 0, 1)]), new Set());
    expect(rows.map((r) => (r.kind === 'span' ? `${r.span.span_id}@${r.depth}` : ''))).toEqual(['x@0', 'y@1']);
  });
  it('survives a parent cycle and a deep chain without recursion', () => {
    const cyc = flatten(buildTree([span('p', 'q', 0, 1), span('q', 'p', 0, 1)]), new Set());
    expect(cyc.map((r) => (r.kind === 'span' ? r.span.span_id : '')).sort()).toEqual(['p', 'q']);
    const chain: Span[] = [span('s0', null, 0, 1)];
    for (let i = 1; i < 20000; i++) chain.push(span('s' + i, 's' + (i - 1), 0, 1));
    const rows = flatten(buildTree(chain), new Set());
    expect(rows).toHaveLength(20000);
    expect(rows[19999]!.kind === 'span' && rows[19999]!.depth).toBe(19999);
  });
  it('heads each trace with its own row when there are several', () => {
    const other = { ...span('z', null, 500, 600), trace_id: 'f'.repeat(32) };
    const rows = flatten(buildTree([...spans, other]), new Set());
    expect(rows.filter((r) => r.kind === 'trace')).toHaveLength(2);
    expect(rows[0]!.kind).toBe('trace');
    const z = rows.find((r) => r.kind === 'span' && r.span.span_id === 'z');
    expect(z && z.kind === 'span' && z.startOff).toBe(0); // from its own trace's start
  });
});

describe('typed values', () => {
  it.each([
    [{ stringValue: 'héllo' }, 'string', 'héllo'],
    [{ intValue: '9223372036854775807' }, 'int', '9223372036854775807'],
    [{ intValue: '42' }, 'int', '42'],
    [{ doubleValue: 0.1 }, 'double', '0.1'],
    [{ doubleValue: 'NaN' }, 'double', 'NaN'],
    [{ boolValue: false }, 'bool', 'false'],
    [{ bytesValue: 'AAH/' }, 'bytes', 'AAH/'],
    [{ arrayValue: { values: [{ intValue: '1' }, { stringValue: 'x' }] } }, 'array', '[1,"x"]'],
    [{ kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } }, 'kvlist', '{"a":true}'],
    [{}, 'empty', ''],
  ])('%j is %s, shown as %s', (v, kind, text) => {
    expect(valueKind(v)).toBe(kind);
    expect(valueText(v)).toBe(text);
  });
  it('keeps ints past 2^53 exact', () => {
    expect(plainValue({ intValue: '9007199254740993' })).toBe('9007199254740993');
    expect(plainValue({ intValue: '7' })).toBe(7);
  });
});

describe('genAiOf', () => {
  it('reads the GenAI conventions, the response model first', () => {
    const g = genAiOf({
      attributes: {
        'gen_ai.request.model': { stringValue: 'gpt-4o' },
        'gen_ai.response.model': { stringValue: 'gpt-4o-2024-08-06' },
        'gen_ai.usage.input_tokens': { intValue: '1200' },
        'gen_ai.usage.output_tokens': { intValue: 85 },
      },
    });
    expect(g).toEqual({ model: 'gpt-4o-2024-08-06', inputTokens: 1200, outputTokens: 85 });
  });
  it('reads the older llm.* names', () => {
    expect(
      genAiOf({
        attributes: {
          'llm.model_name': { stringValue: 'claude' },
          'llm.token_count.prompt': { intValue: '10' },
          'llm.token_count.completion': { intValue: '3' },
        },
      }),
    ).toEqual({ model: 'claude', inputTokens: 10, outputTokens: 3 });
  });
  it('is null for a span that is not an LLM call', () => {
    expect(genAiOf({ attributes: { 'http.method': { stringValue: 'GET' } } })).toBeNull();
  });
});

describe('formatNs and axisTicks', () => {
  it.each([
    [850, '850ns'],
    [12_300, '12.3µs'],
    [4_560_000, '4.56ms'],
    [200_000_000, '200ms'],
    [20_000_000, '20ms'],
    [1_500_000_000, '1.5s'],
    [1_230_000_000, '1.23s'],
    [123e9, '2m 3s'],
  ])('%d ns → %s', (v, s) => expect(formatNs(v)).toBe(s));
  it('steps in 1, 2 or 5 × 10^k', () => {
    expect(axisTicks(100e6)).toEqual([0, 20e6, 40e6, 60e6, 80e6, 100e6]);
    expect(axisTicks(0)).toEqual([0]);
  });
});

describe('mergeRunSpans', () => {
  const s = (seq: number) => ({ ...span('s' + seq, null, 0, 1), sequence_id: seq });
  it('appends newer spans, skips held ones, fills an earlier gap in order', () => {
    const cur = { spans: [s(1), s(2), s(5)], last: '5', capped: false };
    const next = mergeRunSpans(cur, [s(2), s(3), s(6)]);
    expect(next.spans.map((x) => x.sequence_id)).toEqual([1, 2, 3, 5, 6]);
    expect(next.last).toBe('6');
    expect(mergeRunSpans(cur, [])).toBe(cur);
  });
});
