// The tables a run emits (leaderboards): what sorting a column means. A column is numeric
// when every cell that is not null is a number; numbers sort as numbers, anything else as
// text (locale-aware, digits by value: "m2" before "m10"). Nulls go last whichever way.
// Column names are never known in advance: everything here works by column index.
export type Cell = number | string | boolean | null;
export type SortDir = 'asc' | 'desc';

export function isNumericColumn(rows: Cell[][], col: number): boolean {
  let seen = false;
  for (const r of rows) {
    const v = r[col];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'number') return false;
    seen = true;
  }
  return seen;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The rows sorted by one column (a copy; ties keep the engine's order). */
export function sortRows(rows: Cell[][], col: number, dir: SortDir): Cell[][] {
  const numeric = isNumericColumn(rows, col);
  const sign = dir === 'asc' ? 1 : -1;
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const x = a.r[col] ?? null;
      const y = b.r[col] ?? null;
      if (x === null || y === null) return x === y ? a.i - b.i : x === null ? 1 : -1;
      const c = numeric ? (x as number) - (y as number) : collator.compare(String(x), String(y));
      return c !== 0 ? sign * c : a.i - b.i;
    })
    .map((e) => e.r);
}
