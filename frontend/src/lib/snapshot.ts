// The request snapshot as two columns: each leaf of a JSON value as a dotted key path
// (`model.layers`, `stages[1].name`) and its value in JSON's words, in the order stored (jsonb's), so a
// run's params, input and flags read like a form rather than a blob of JSON.
export interface SnapshotRow {
  key: string;
  value: string;
}

export function flattenSnapshot(v: unknown, prefix = ''): SnapshotRow[] {
  const rows: SnapshotRow[] = [];
  const walk = (x: unknown, path: string) => {
    if (x !== null && typeof x === 'object') {
      const entries = Array.isArray(x)
        ? x.map((e, i) => [`${path}[${i}]`, e] as const)
        : Object.entries(x as Record<string, unknown>).map(
            ([k, e]) => [path ? `${path}.${k}` : k, e] as const,
          );
      if (entries.length === 0) rows.push({ key: path || '(empty)', value: Array.isArray(x) ? '[]' : '{}' });
      for (const [p, e] of entries) walk(e, p);
      return;
    }
    rows.push({ key: path || '(value)', value: typeof x === 'string' ? x : JSON.stringify(x) ?? 'null' });
  };
  if (v === null || v === undefined) return rows;
  walk(v, prefix);
  return rows;
}
