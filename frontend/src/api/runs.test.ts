import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import { eventsQuery, fetchNewEvents, runKeys } from './runs';
import type { RunEvent } from './types';

const ev = (id: number): RunEvent => ({ id: String(id), message: `m${id}` });
const page = (items: RunEvent[], next: string | null) =>
  new Response(JSON.stringify({ items, next_cursor: next }), { status: 200 });

afterEach(() => vi.unstubAllGlobals());

describe('the event log loads its tail in one request', () => {
  it('asks newest first and keeps the log oldest first', async () => {
    const fetchMock = vi.fn(async (_url: string) => page([ev(9), ev(8), ev(7)], '7'));
    vi.stubGlobal('fetch', fetchMock);
    const qc = new QueryClient();
    const log = await qc.fetchQuery(eventsQuery('ml', 'r1'));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/v1/runs/r1/events?order=desc&limit=500');
    expect(log.map((e) => e.id)).toEqual(['7', '8', '9']);
  });

  it('appends what came after its newest line', async () => {
    const fetchMock = vi.fn(async (_url: string) => page([ev(10), ev(11)], null));
    vi.stubGlobal('fetch', fetchMock);
    const qc = new QueryClient();
    qc.setQueryData(runKeys.events('ml', 'r1'), [ev(8), ev(9)]);
    await fetchNewEvents(qc, 'ml', 'r1');
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/v1/runs/r1/events?after=9&limit=500');
    expect(qc.getQueryData<RunEvent[]>(runKeys.events('ml', 'r1'))!.map((e) => e.id)).toEqual(['8', '9', '10', '11']);
  });

  it('takes the tail again when more than a page came meanwhile', async () => {
    const fetchMock = vi
      .fn(async (_url: string) => page([], null))
      .mockResolvedValueOnce(page([ev(10), ev(11)], '11'))
      .mockResolvedValueOnce(page([ev(2000), ev(1999)], '1999'));
    vi.stubGlobal('fetch', fetchMock);
    const qc = new QueryClient();
    qc.setQueryData(runKeys.events('ml', 'r1'), [ev(8), ev(9)]);
    await fetchNewEvents(qc, 'ml', 'r1');
    expect(fetchMock.mock.calls[1]![0]).toBe('/api/v1/runs/r1/events?order=desc&limit=500');
    const ids = qc.getQueryData<RunEvent[]>(runKeys.events('ml', 'r1'))!.map((e) => e.id);
    expect(ids).toEqual(['1999', '2000']); // no silent gap after 9
  });
});
