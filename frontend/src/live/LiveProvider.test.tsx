// The stream's reaction to `event: revoked` (the hub ends the stream when who we are
// changed): ask /auth/me first; signed out → no new stream (the sign-in page takes over),
// still signed in → a new stream that resumes from the last id.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, render, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { LiveProvider } from './LiveProvider';
import { meQuery } from '../api/auth';

class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((ev: MessageEvent<string>) => void) | null = null;
  listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>();
  constructor(public url: string) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, fn: (ev: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  emit(type: string, data: string, lastEventId = '') {
    for (const fn of this.listeners.get(type) ?? [])
      fn(new MessageEvent(type, { data, lastEventId }));
  }
}

const me = { user: { id: 5, email: 'a@b.test', name: 'A', is_admin: false }, token: null, projects: [] };

function Me() {
  useQuery(meQuery);
  return null;
}

function setup(signedIn: () => boolean) {
  const fetchMock = vi.fn(async () =>
    signedIn()
      ? new Response(JSON.stringify(me), { status: 200, headers: { 'Content-Type': 'application/json' } })
      : new Response('{"error":{"code":"unauthenticated","message":"sign in first"}}', {
          status: 401,
          headers: { 'Content-Type': 'application/json' },
        }),
  );
  vi.stubGlobal('fetch', fetchMock);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <Me />
      <LiveProvider slug="a" projectId={1}>
        <div />
      </LiveProvider>
    </QueryClientProvider>,
  );
  return { qc, fetchMock };
}

beforeEach(() => {
  FakeEventSource.instances = [];
  vi.stubGlobal('EventSource', FakeEventSource);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('LiveProvider and event: revoked', () => {
  it('signed out: closes the stream and opens no other', async () => {
    let signedIn = true;
    const { qc } = setup(() => signedIn);
    await waitFor(() => expect(qc.getQueryData(meQuery.queryKey)).toEqual(me));
    const es = FakeEventSource.instances[0]!;
    es.readyState = FakeEventSource.OPEN;
    act(() => es.onopen?.());
    signedIn = false;
    act(() => es.emit('revoked', '{"reason":"session"}'));
    expect(es.readyState).toBe(FakeEventSource.CLOSED);
    await waitFor(() => expect(qc.getQueryData(meQuery.queryKey)).toBeNull());
    // Give a wrongly scheduled reconnect its chance to show.
    await new Promise((r) => setTimeout(r, 50));
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('still signed in: a new stream resumes from the last id', async () => {
    const { qc, fetchMock } = setup(() => true);
    await waitFor(() => expect(qc.getQueryData(meQuery.queryKey)).toEqual(me));
    const es = FakeEventSource.instances[0]!;
    es.readyState = FakeEventSource.OPEN;
    act(() => es.onopen?.());
    act(() => es.emit('run.created', '{"type":"run.created","project":1,"run":null,"data":null}', 'ep-7'));
    const calls = fetchMock.mock.calls.length;
    act(() => es.emit('revoked', '{"reason":"user"}'));
    expect(es.readyState).toBe(FakeEventSource.CLOSED);
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(2));
    expect(fetchMock.mock.calls.length).toBeGreaterThan(calls);
    expect(FakeEventSource.instances[1]!.url).toContain('last_event_id=ep-7');
  });
});
