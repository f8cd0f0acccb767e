import { describe, expect, it } from 'vitest';
import { act, fireEvent, screen } from '@testing-library/react';
import { useLocation, useSearchParams } from 'react-router-dom';
import {
  DEFAULT_FILTERS,
  parseRunFilters,
  runFiltersToApi,
  runFiltersToSearch,
  runMatches,
  type RunFilters,
} from './runFilters';
import { RunFiltersBar } from '../components/RunFiltersBar';
import { renderApp } from '../test/render';

const parse = (s: string) => parseRunFilters(new URLSearchParams(s));

describe('filters <-> URL', () => {
  it('round-trips a full view', () => {
    const f: RunFilters = {
      ...DEFAULT_FILTERS,
      status: ['running', 'failed'],
      kind: 'train',
      queue: 'gpu',
      worker: '7',
      tag: 'nightly',
      q: 'resnet',
      range: '24h',
      sort: 'duration',
      order: 'asc',
    };
    const url = runFiltersToSearch(f).toString();
    expect(url).toBe('status=running%2Cfailed&kind=train&queue=gpu&worker=7&tag=nightly&q=resnet&range=24h&sort=duration&order=asc');
    expect(parse(url)).toEqual(f);
  });
  it('writes nothing for the default view', () => {
    expect(runFiltersToSearch(DEFAULT_FILTERS).toString()).toBe('');
    expect(parse('')).toEqual(DEFAULT_FILTERS);
  });
  it('drops what is not valid instead of sending it to the server', () => {
    const f = parse('status=failed,bogus,failed&worker=abc&sort=name&order=up&range=2y&from=nope');
    expect(f.status).toEqual(['failed']);
    expect(f.worker).toBe('');
    expect(f.sort).toBe('created');
    expect(f.order).toBe('desc');
    expect(f.range).toBe('');
    expect(f.from).toBe('');
  });
  it('puts statuses in a canonical order so one view has one link', () => {
    expect(runFiltersToSearch(parse('status=failed,queued')).get('status')).toBe('queued,failed');
  });
  it('turns a view into API parameters, resolving the range against the anchor', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    const api = runFiltersToApi(parse('status=failed&range=24h&sort=started&order=asc'), now);
    expect(api).toMatchObject({ status: 'failed', created_after: '2026-01-01T00:00:00.000Z', sort: 'started', order: 'asc' });
    expect(runFiltersToApi(DEFAULT_FILTERS, now)).toEqual(
      Object.fromEntries(Object.keys(api).map((k) => [k, undefined])),
    );
  });
  it('decides whether a live run belongs in a view', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    const run = { id: 'abcd-1', name: 'ResNet50', status: 'running', kind: 'train', tags: ['a'], created_at: '2026-01-01T12:00:00Z' };
    expect(runMatches(DEFAULT_FILTERS, run, now)).toBe(true);
    expect(runMatches(parse('status=failed'), run, now)).toBe(false);
    expect(runMatches(parse('q=resnet'), run, now)).toBe(true);
    expect(runMatches(parse('q=abcd'), run, now)).toBe(true);
    expect(runMatches(parse('tag=b'), run, now)).toBe(false);
    expect(runMatches(parse('range=1h'), run, now)).toBe(false);
  });
});

function Harness() {
  const [sp, setSp] = useSearchParams();
  const loc = useLocation();
  return (
    <>
      <RunFiltersBar value={parseRunFilters(sp)} onChange={(f) => setSp(runFiltersToSearch(f))} />
      <output data-testid="url">{loc.search}</output>
    </>
  );
}

describe('<RunFiltersBar> and the URL', () => {
  it('shows the view the URL names', () => {
    renderApp(<Harness />, { url: '/runs?kind=train&queue=gpu&order=asc' });
    expect(screen.getByLabelText('Kind')).toHaveValue('train');
    expect(screen.getByLabelText('Queue')).toHaveValue('gpu');
    expect(screen.getByLabelText('order asc')).toBeInTheDocument();
  });
  it('writes a changed control back into the URL', async () => {
    renderApp(<Harness />, { url: '/runs?kind=train' });
    fireEvent.click(screen.getByLabelText('order desc'));
    expect(screen.getByTestId('url')).toHaveTextContent('?kind=train&order=asc');
    fireEvent.change(screen.getByLabelText('Queue'), { target: { value: 'cpu' } });
    // Typed fields wait for a pause in typing before they touch the URL.
    expect(screen.getByTestId('url')).not.toHaveTextContent('queue=cpu');
    await act(() => new Promise((r) => setTimeout(r, 500)));
    expect(screen.getByTestId('url')).toHaveTextContent('?kind=train&queue=cpu&order=asc');
    fireEvent.click(screen.getByText('Clear filters'));
    expect(screen.getByTestId('url')).toHaveTextContent(/^\?order=asc$/);
  });
});
