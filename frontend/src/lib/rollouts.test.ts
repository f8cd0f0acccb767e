import { describe, expect, it } from 'vitest';
import { inputPreview, jsonLineDiff, rolloutStatusLabel } from './rollouts';

describe('rolloutStatusLabel', () => {
  it('shows one status when the attempt agrees or there is none', () => {
    expect(rolloutStatusLabel('running', 'running')).toBe('running');
    expect(rolloutStatusLabel('queuing', undefined)).toBe('queuing');
  });
  it('shows rollout - attempt when they differ', () => {
    expect(rolloutStatusLabel('requeuing', 'timeout')).toBe('requeuing - timeout');
  });
});

describe('inputPreview', () => {
  it('cuts the JSON to 35 characters', () => {
    const s = inputPreview({ question: 'a long question that goes on and on' });
    expect(s).toHaveLength(35);
    expect(s.endsWith('…')).toBe(true);
    expect(inputPreview({ q: 1 })).toBe('{"q":1}');
    expect(inputPreview(null)).toBe('');
  });
});

describe('jsonLineDiff', () => {
  it('marks the changed lines and keeps the common ones', () => {
    const d = jsonLineDiff({ llm: { model: 'm1', endpoint: 'x' } }, { llm: { endpoint: 'x', model: 'm2' } });
    expect(d.filter((l) => l.op === '-').map((l) => l.text.trim())).toEqual(['"model": "m1"']);
    expect(d.filter((l) => l.op === '+').map((l) => l.text.trim())).toEqual(['"model": "m2"']);
    expect(d.some((l) => l.op === ' ' && l.text.includes('"endpoint": "x"'))).toBe(true);
  });
  it('finds no change between equal values whatever their key order', () => {
    expect(jsonLineDiff({ a: 1, b: 2 }, { b: 2, a: 1 }).every((l) => l.op === ' ')).toBe(true);
  });
});
