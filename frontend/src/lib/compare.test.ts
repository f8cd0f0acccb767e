import { describe, expect, it } from 'vitest';
import { COMPARE_MAX, compareHref, compareLines, diffKeys, flatten, parseCompareRuns } from './compare';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('parseCompareRuns', () => {
  it('keeps valid ids in order, once each', () => {
    expect(parseCompareRuns(`${id(2)},${id(1)}, ${id(2)},nonsense,,${id(3).toUpperCase()}`)).toEqual([id(2), id(1), id(3)]);
  });
  it('answers nothing for no parameter and caps at 50', () => {
    expect(parseCompareRuns(null)).toEqual([]);
    const many = Array.from({ length: 60 }, (_, i) => id(i)).join(',');
    expect(parseCompareRuns(many)).toHaveLength(COMPARE_MAX);
  });
  it('round-trips through compareHref', () => {
    const href = compareHref('p1', [id(1), id(2)]);
    expect(href).toBe(`/p/p1/compare?runs=${id(1)},${id(2)}`);
    expect(parseCompareRuns(new URL(href, 'http://x').searchParams.get('runs'))).toEqual([id(1), id(2)]);
  });
});

describe('flatten and diffKeys', () => {
  it('flattens nested params to dotted keys, arrays whole', () => {
    expect(flatten({ lr: 1e-4, opt: { name: 'adam', betas: [0.9, 0.99] } })).toEqual({
      lr: 1e-4,
      'opt.name': 'adam',
      'opt.betas': [0.9, 0.99],
    });
    expect(flatten(null)).toEqual({});
  });
  it('lists only the keys that differ, or all', () => {
    const a = flatten({ lr: 1e-4, batch: 64, seed: 1, opt: { name: 'adam' } });
    const b = flatten({ lr: 3e-4, batch: 64, seed: 1, opt: { name: 'adam' }, warmup: 10 });
    expect(diffKeys([a, b], true)).toEqual(['lr', 'warmup']);
    expect(diffKeys([a, b], false)).toEqual(['batch', 'lr', 'opt.name', 'seed', 'warmup']);
  });
});

describe('compareLines', () => {
  const s = (key: string, n: number) => ({ key, count: n });
  it('answers every key once, sorted, with a line per run in order', () => {
    const lines = compareLines([
      { label: 'a', series: [s('train/loss', 3), s('eval/acc', 1)] },
      { label: 'b', series: [s('train/loss', 5)] },
      { label: 'c', series: undefined },
    ]);
    expect([...lines.keys()]).toEqual(['eval/acc', 'train/loss']);
    const loss = lines.get('train/loss')!;
    expect(loss.map((l) => [l.label, l.index, l.series?.count])).toEqual([
      ['a', 0, 3],
      ['b', 1, 5],
      ['c', 2, undefined],
    ]);
    expect(lines.get('eval/acc')!.map((l) => l.series?.count)).toEqual([1, undefined, undefined]);
  });
  it('has no keys when no run has metrics', () => {
    expect(compareLines([{ label: 'a', series: [] }, { label: 'b', series: undefined }]).size).toBe(0);
  });
});
