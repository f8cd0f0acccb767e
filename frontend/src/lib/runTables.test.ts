import { describe, expect, it } from 'vitest';
import { isNumericColumn, sortRows, type Cell } from './runTables';

const rows: Cell[][] = [
  ['m10', 0.5, 3],
  ['m2', 0.91, null],
  ['M1', 0.00001, 1],
];

describe('run tables', () => {
  it('calls a column numeric only when all its values are numbers', () => {
    expect(isNumericColumn(rows, 0)).toBe(false);
    expect(isNumericColumn(rows, 1)).toBe(true);
    expect(isNumericColumn(rows, 2)).toBe(true);
    expect(isNumericColumn([['1'], [2]], 0)).toBe(false);
  });
  it('sorts numbers as numbers and text as text, nulls last', () => {
    expect(sortRows(rows, 1, 'desc').map((r) => r[1])).toEqual([0.91, 0.5, 0.00001]);
    expect(sortRows(rows, 1, 'asc').map((r) => r[1])).toEqual([0.00001, 0.5, 0.91]);
    expect(sortRows(rows, 0, 'asc').map((r) => r[0])).toEqual(['M1', 'm2', 'm10']);
    expect(sortRows(rows, 2, 'asc').map((r) => r[2])).toEqual([1, 3, null]);
    expect(sortRows(rows, 2, 'desc').map((r) => r[2])).toEqual([3, 1, null]);
  });
  it('leaves the rows it was given alone', () => {
    const copy = rows.map((r) => [...r]);
    sortRows(rows, 1, 'asc');
    expect(rows).toEqual(copy);
  });
});
