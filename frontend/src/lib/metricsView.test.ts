import { describe, expect, it } from 'vitest';
import { ema, fade, groupMetricKeys, joinSeries, pointX, runColor } from './metricsView';

describe('groupMetricKeys', () => {
  it('puts train, eval, system first, other prefixes next and bare keys last', () => {
    const g = groupMetricKeys(['lr', 'system/gpu', 'eval/acc', 'train/loss', 'data/rows', 'train/acc', 'loss']);
    expect(g).toEqual([
      { name: 'train', keys: ['train/acc', 'train/loss'] },
      { name: 'eval', keys: ['eval/acc'] },
      { name: 'system', keys: ['system/gpu'] },
      { name: 'data', keys: ['data/rows'] },
      { name: 'other', keys: ['loss', 'lr'] },
    ]);
  });
  it('answers no groups for no keys', () => {
    expect(groupMetricKeys([])).toEqual([]);
  });
});

describe('ema', () => {
  it('leaves values alone at weight 0', () => {
    expect(ema([1, 2, null, 3], 0)).toEqual([1, 2, null, 3]);
  });
  it('is debiased: a constant series stays constant', () => {
    for (const v of ema([5, 5, 5, 5], 0.9)) expect(v).toBeCloseTo(5, 12);
  });
  it('smooths a step towards the new level and keeps gaps', () => {
    const s = ema([0, 0, 10, null, 10], 0.5);
    expect(s[3]).toBeNull();
    expect(s[2]!).toBeGreaterThan(0);
    expect(s[2]!).toBeLessThan(10);
    expect(s[4]!).toBeGreaterThan(s[2]!);
  });
});

describe('pointX', () => {
  const pts = [
    { step: 10, ts: '2026-01-01T00:00:10Z', value: 1 },
    { step: 20, ts: '2026-01-01T00:01:10Z', value: 2 },
  ];
  it('by step, by time and by relative time', () => {
    expect(pointX(pts, 'step')).toEqual([10, 20]);
    expect(pointX(pts, 'time')).toEqual([Date.parse(pts[0]!.ts) / 1000, Date.parse(pts[1]!.ts) / 1000]);
    expect(pointX(pts, 'relative')).toEqual([0, 60]);
    expect(pointX(pts, 'relative', Date.parse('2026-01-01T00:00:00Z') / 1000)).toEqual([10, 70]);
  });
  it('uses the index when a point has no step', () => {
    expect(pointX([{ ts: pts[0]!.ts, value: 1 }, pts[1]!], 'step')).toEqual([0, 1]);
  });
});

describe('joinSeries', () => {
  it('aligns series on the union of their x, null where one has no point', () => {
    expect(
      joinSeries([
        { x: [1, 2, 3], y: [10, 20, 30] },
        { x: [2, 4], y: [200, 400] },
      ]),
    ).toEqual({ x: [1, 2, 3, 4], ys: [[10, 20, 30, null], [null, 200, null, 400]] });
  });
});

describe('runColor', () => {
  it('gives 50 runs 50 different colours, the same for the same index', () => {
    const c = Array.from({ length: 50 }, (_, i) => runColor(i));
    expect(new Set(c).size).toBe(50);
    expect(runColor(7)).toBe(c[7]);
  });
  it('fades hex and hsl colours', () => {
    expect(fade('#228be6', 0.3)).toBe('rgba(34,139,230,0.3)');
    expect(fade('hsl(10, 65%, 48%)', 0.3)).toBe('hsla(10, 65%, 48%, 0.3)');
  });
});
