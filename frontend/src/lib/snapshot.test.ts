import { describe, expect, it } from 'vitest';
import { flattenSnapshot } from './snapshot';

describe('flattenSnapshot', () => {
  it('lists each leaf by its path, in the order sent', () => {
    expect(flattenSnapshot({ lr: 0.001, model: { layers: 4, act: 'relu' }, tags: ['a', 'b'], on: true })).toEqual([
      { key: 'lr', value: '0.001' },
      { key: 'model.layers', value: '4' },
      { key: 'model.act', value: 'relu' },
      { key: 'tags[0]', value: 'a' },
      { key: 'tags[1]', value: 'b' },
      { key: 'on', value: 'true' },
    ]);
  });
  it('shows empty objects, nulls and bare values', () => {
    expect(flattenSnapshot({ a: {}, b: null })).toEqual([
      { key: 'a', value: '{}' },
      { key: 'b', value: 'null' },
    ]);
    expect(flattenSnapshot(7)).toEqual([{ key: '(value)', value: '7' }]);
    expect(flattenSnapshot(null)).toEqual([]);
  });
});
