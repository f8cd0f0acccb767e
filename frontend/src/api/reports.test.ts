import { describe, expect, it } from 'vitest';
import { ApiError } from './client';
import { readFrom, withQuerySeat } from './reports';

const busy = () => new ApiError(429, 'too_many_queries', '2 queries are running, the most at once; retry when one ends');

describe('withQuerySeat', () => {
  it('asks again while the query caps are full, then answers', async () => {
    let calls = 0;
    const twiceBusy = async () => {
      if (++calls < 3) throw busy();
      return 'rows';
    };
    const got = await withQuerySeat(twiceBusy, undefined, [1, 1, 1]);
    expect(got).toBe('rows');
    expect(calls).toBe(3);
  });
  it('shows the refusal after its last wait, and never retries other errors', async () => {
    let calls = 0;
    const alwaysBusy = async () => {
      calls++;
      throw busy();
    };
    await expect(withQuerySeat(alwaysBusy, undefined, [1, 1])).rejects.toMatchObject({ status: 429 });
    expect(calls).toBe(3);
    calls = 0;
    const bad = async () => {
      calls++;
      throw new ApiError(400, 'query_error', 'syntax error');
    };
    await expect(withQuerySeat(bad, undefined, [1])).rejects.toMatchObject({ code: 'query_error' });
    expect(calls).toBe(1);
  });
});

describe('readFrom', () => {
  it('reads X-Runwatch-Read-From and X-Runwatch-Replica-Lag', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(readFrom(h({ 'X-Runwatch-Read-From': 'replica', 'X-Runwatch-Replica-Lag': '1.250' }))).toEqual({
      from: 'replica',
      lagS: 1.25,
    });
    expect(readFrom(h({ 'X-Runwatch-Read-From': 'primary-fallback' }))).toEqual({ from: 'primary-fallback', lagS: null });
    expect(readFrom(h({}))).toEqual({ from: null, lagS: null });
    expect(readFrom(h({ 'X-Runwatch-Read-From': 'elsewhere', 'X-Runwatch-Replica-Lag': 'soon' }))).toEqual({
      from: null,
      lagS: null,
    });
  });
});
