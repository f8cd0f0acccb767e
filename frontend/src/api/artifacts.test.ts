import { describe, expect, it } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import { artifactKeys, patchRunTable, type RunTable } from './artifacts';

const key = artifactKeys.tables('p', 'r');
const base: RunTable = {
  name: 'leaderboard',
  columns: ['model', 'score'],
  rows: [['a', 0.5]],
  row_count: 1,
  updated_at: '2026-12-04T00:00:00Z',
};

describe('patchRunTable (run.table)', () => {
  it('appends the rows a message carries, in order', () => {
    const qc = new QueryClient();
    qc.setQueryData(key, [base]);
    const ok = patchRunTable(qc, 'p', 'r', {
      name: 'leaderboard', mode: 'append', row_count: 3, columns: base.columns, rows: [['b', 0.25], ['c', 1]],
    });
    expect(ok).toBe(true);
    const t = qc.getQueryData<RunTable[]>(key)![0]!;
    expect(t.rows).toEqual([['a', 0.5], ['b', 0.25], ['c', 1]]);
    expect(t.row_count).toBe(3);
  });
  it('replaces a table and adds a new one in name order', () => {
    const qc = new QueryClient();
    qc.setQueryData(key, [base]);
    patchRunTable(qc, 'p', 'r', { name: 'a-params', mode: 'replace', row_count: 1, columns: ['k'], rows: [['x']] });
    patchRunTable(qc, 'p', 'r', { name: 'leaderboard', mode: 'replace', row_count: 1, columns: ['m'], rows: [[1]] });
    const ts = qc.getQueryData<RunTable[]>(key)!;
    expect(ts.map((t) => t.name)).toEqual(['a-params', 'leaderboard']);
    expect(ts[1]!.columns).toEqual(['m']);
  });
  it('asks for a fetch when the message has no rows or does not add up', () => {
    const qc = new QueryClient();
    qc.setQueryData(key, [base]);
    expect(patchRunTable(qc, 'p', 'r', { name: 'leaderboard', mode: 'append', row_count: 9, truncated: true })).toBe(false);
    expect(
      patchRunTable(qc, 'p', 'r', { name: 'leaderboard', mode: 'append', row_count: 5, columns: base.columns, rows: [['b', 1]] }),
    ).toBe(false);
    expect(qc.getQueryData<RunTable[]>(key)![0]!.row_count).toBe(1);
  });
});
