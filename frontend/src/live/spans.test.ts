// run.spans: a viewer of a run's Traces tab fetches only the new spans (from the batch's
// first sequence id, or after the newest held), and nobody else fetches anything.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import { applyLiveMessage, newLiveContext } from './apply';
import { spanKeys, type RunSpans, type Span } from '../api/spans';

const RUN = '0190c5a7-0000-8000-8000-000000000007';
const sp = (seq: number): Span => ({
  trace_id: 'a'.repeat(32),
  span_id: String(seq).padStart(16, '0'),
  parent_span_id: null,
  name: 'op' + seq,
  kind: 1,
  start_time_unix_nano: '1767225600000000000',
  end_time_unix_nano: '1767225600100000000',
  status: { code: 0 },
  attributes: {},
  sequence_id: seq,
});
const page = (items: Span[], next: string | null = null) =>
  new Response(JSON.stringify({ items, next_cursor: next }), { status: 200 });
const msg = (first: number, last: number, count = last - first + 1) => ({
  project: 7,
  type: 'run.spans',
  run: RUN,
  data: { count, first_sequence_id: String(first), last_sequence_id: String(last) },
});
const seqs = (qc: QueryClient) => qc.getQueryData<RunSpans>(spanKeys.run('ml', RUN))?.spans.map((s) => s.sequence_id);

afterEach(() => vi.unstubAllGlobals());

describe('run.spans', () => {
  it('fetches the batch from its first sequence id and appends it', async () => {
    const fetchMock = vi.fn(async (_url: string) => page([sp(3), sp(4)]));
    vi.stubGlobal('fetch', fetchMock);
    const qc = new QueryClient();
    const ctx = newLiveContext(qc, 'ml', 7);
    qc.setQueryData<RunSpans>(spanKeys.run('ml', RUN), { spans: [sp(1), sp(2)], last: '2', capped: false });
    expect(applyLiveMessage(ctx, msg(3, 4))).toBe(true);
    await vi.waitFor(() => expect(seqs(qc)).toEqual([1, 2, 3, 4]));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(fetchMock.mock.calls[0]![0]).toBe(`/api/v1/runs/${RUN}/spans?cursor=2&limit=1000&form=lean`);
  });

  it('follows the pages of a big batch', async () => {
    const fetchMock = vi
      .fn(async (_url: string) => page([]))
      .mockResolvedValueOnce(page([sp(2)], '2'))
      .mockResolvedValueOnce(page([sp(3)]));
    vi.stubGlobal('fetch', fetchMock);
    const qc = new QueryClient();
    const ctx = newLiveContext(qc, 'ml', 7);
    qc.setQueryData<RunSpans>(spanKeys.run('ml', RUN), { spans: [sp(1)], last: '1', capped: false });
    applyLiveMessage(ctx, msg(2, 3));
    await vi.waitFor(() => expect(seqs(qc)).toEqual([1, 2, 3]));
    expect(fetchMock.mock.calls[1]![0]).toBe(`/api/v1/runs/${RUN}/spans?cursor=2&limit=1000&form=lean`);
  });

  it('fetches nothing when nobody looks at the run', async () => {
    const fetchMock = vi.fn(async () => page([]));
    vi.stubGlobal('fetch', fetchMock);
    const qc = new QueryClient();
    applyLiveMessage(newLiveContext(qc, 'ml', 7), msg(1, 5));
    await new Promise((r) => setTimeout(r, 0));
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
