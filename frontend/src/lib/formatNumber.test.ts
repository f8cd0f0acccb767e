import { describe, expect, it } from 'vitest';
import { formatNumber, formatTicks } from './format';

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [0.5, '0.5'],
    [1, '1'],
    [1234, '1234'],
    [0.1 + 0.2, '0.3'],
    [0.00123, '0.00123'],
    [3e-4, '3e-4'],
    [1.5e-4, '1.5e-4'],
    [-2.5e-7, '-2.5e-7'],
    [12345, '12.35k'],
    [999999, '1M'],
    [3.5e6, '3.5M'],
    [-4.2e9, '-4.2G'],
    [2e24, '2e+24'],
  ])('%p reads %p', (v, want) => {
    expect(formatNumber(v)).toBe(want);
  });
  it('shows a dash for none and signs for infinities', () => {
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatNumber(NaN)).toBe('—');
    expect(formatNumber(Infinity)).toBe('∞');
    expect(formatNumber(-Infinity)).toBe('-∞');
  });
  it('honours the digits asked for', () => {
    expect(formatNumber(Math.PI, 2)).toBe('3.1');
    expect(formatNumber(Math.PI, 6)).toBe('3.14159');
    expect(formatNumber(1.23456e-5, 3)).toBe('1.23e-5');
  });
});

describe('formatTicks', () => {
  it('keeps learning-rate ticks apart (they used to read "0 0 0 0")', () => {
    expect(formatTicks([0, 1e-4, 2e-4, 3e-4])).toEqual(['0', '1e-4', '2e-4', '3e-4']);
    expect(formatTicks([1e-4, 3e-4])).toEqual(['1e-4', '3e-4']);
    expect(formatTicks([0.00005, 0.0001, 0.00015])).toEqual(['5e-5', '1e-4', '1.5e-4']);
  });
  it('adds digits only until distinct values differ', () => {
    expect(formatTicks([0, 0.5, 1, 1.5])).toEqual(['0', '0.5', '1', '1.5']);
    expect(formatTicks([1.001, 1.002, 1.003])).toEqual(['1.001', '1.002', '1.003']);
    expect(formatTicks([1_000_000, 1_000_100, 1_000_200])).toEqual(['1M', '1.0001M', '1.0002M']);
    expect(formatTicks([10000, 20000, 30000])).toEqual(['10k', '20k', '30k']);
    expect(formatTicks([0.99991, 0.99992])).toEqual(['0.99991', '0.99992']);
  });
  it('never prints two distinct values alike, on any range', () => {
    for (const [lo, step] of <[number, number][]>[
      [0, 1e-6],
      [1e-3, 1e-7],
      [123456, 0.5],
      [-3, 0.001],
      [1e9, 1],
    ]) {
      const ticks = Array.from({ length: 6 }, (_, i) => lo + i * step);
      const labels = formatTicks(ticks);
      expect(new Set(labels).size).toBe(ticks.length);
    }
  });
  it('prints equal values alike and passes an empty list through', () => {
    expect(formatTicks([2, 2])).toEqual(['2', '2']);
    expect(formatTicks([])).toEqual([]);
  });
});
