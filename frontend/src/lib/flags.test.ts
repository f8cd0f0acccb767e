import { describe, expect, it } from 'vitest';
import type { FlagSchema } from '../api/types';
import { checkFlags, getPath, gridProduct, leafPaths, parseValue, setPath } from './flags';

const schema: FlagSchema = {
  documents: 3,
  paths_dropped: 0,
  project: 'p',
  paths: [
    { path: 'nodes', keys: ['nodes'], type: 'integer', count: 3, nullable: false, values: [1, 2], values_truncated: false },
    { path: 'lr', keys: ['lr'], type: 'float', count: 3, nullable: false, values: [1, 0.5], values_truncated: false },
    { path: 'model.opt', keys: ['model', 'opt'], type: 'choice', count: 3, nullable: false, values: ['adam', 'sgd'], values_truncated: false },
    { path: 'fp16', keys: ['fp16'], type: 'boolean', count: 3, nullable: true, values: [true], values_truncated: false },
  ],
};

describe('flags paths', () => {
  it('gets, sets and lists nested paths', () => {
    const f = setPath({ a: 1 }, ['model', 'layers'], 4);
    expect(f).toEqual({ a: 1, model: { layers: 4 } });
    expect(getPath(f, ['model', 'layers'])).toBe(4);
    expect(getPath(f, ['model', 'nope'])).toBeUndefined();
    expect(leafPaths({ a: 1, m: { b: 2, c: {} }, d: [1] })).toEqual([['a'], ['m', 'b'], ['m', 'c'], ['d']]);
  });
});

describe('checkFlags', () => {
  it('accepts values of the inferred types; an integer where a float was seen', () => {
    const c = checkFlags('{"nodes": 4, "lr": 2, "model": {"opt": "sgd"}, "fp16": null}', schema);
    expect(c.ok).toBe(true);
    expect(c.problems).toEqual([]);
  });
  it('refuses wrong types, naming the path', () => {
    const c = checkFlags('{"nodes": 1.5, "fp16": "yes", "model": {"opt": 3}}', schema);
    expect(c.ok).toBe(false);
    expect(c.problems.map((p) => p.path).sort()).toEqual(['fp16', 'model.opt', 'nodes']);
  });
  it('only hints at a new choice or a new flag', () => {
    const c = checkFlags('{"model": {"opt": "lion"}, "extra": 1}', schema);
    expect(c.ok).toBe(true);
    expect(c.problems.map((p) => p.severity)).toEqual(['hint', 'hint']);
  });
  it('refuses what is not a JSON object', () => {
    expect(checkFlags('{"a": ', schema).ok).toBe(false);
    expect(checkFlags('[1]', schema).problems[0]?.message).toMatch(/object/);
  });
});

describe('grid', () => {
  it('makes the cartesian product over the chosen flags: 2 x 4', () => {
    const g = gridProduct({ nodes: 1, model: { layers: 2, opt: 'adam' } }, [
      { keys: ['nodes'], values: [1, 2] },
      { keys: ['model', 'layers'], values: [6, 12, 24, 48] },
    ]);
    expect(g).toHaveLength(8);
    expect(g[0]).toEqual({ flags: { nodes: 1, model: { layers: 6, opt: 'adam' } }, suffix: 'nodes=1,layers=6' });
    expect(g[7]?.suffix).toBe('nodes=2,layers=48');
    expect(new Set(g.map((x) => x.suffix)).size).toBe(8);
  });
  it('skips empty axes and reads values by type', () => {
    expect(gridProduct({ a: 1 }, [{ keys: ['a'], values: [] }])).toEqual([{ flags: { a: 1 }, suffix: '' }]);
    expect(parseValue('12', 'integer')).toBe(12);
    expect(parseValue('12', 'choice')).toBe('12');
    expect(parseValue('true', 'boolean')).toBe(true);
    expect(parseValue('relu', 'mixed')).toBe('relu');
  });
});
