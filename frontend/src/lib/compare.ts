// The compare view's pure parts: the run ids in its URL (?runs=a,b; 2 to 50, de-duplicated,
// order kept so each run keeps its colour) and the rows of its params and summary tables
// (the keys whose values differ between the runs, or every key).

export const COMPARE_MAX = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The ids of ?runs=, valid ones only, in order, without repeats, at most COMPARE_MAX. */
export function parseCompareRuns(param: string | null): string[] {
  const out: string[] = [];
  for (const raw of (param ?? '').split(',')) {
    const id = raw.trim().toLowerCase();
    if (UUID.test(id) && !out.includes(id)) out.push(id);
    if (out.length === COMPARE_MAX) break;
  }
  return out;
}

export const compareHref = (project: string, ids: readonly string[]) =>
  `/p/${project}/compare?runs=${ids.slice(0, COMPARE_MAX).join(',')}`;

type Obj = Record<string, unknown> | null | undefined;

/** Nested objects flattened to dotted keys ({opt: {lr: 1}} → opt.lr), so a table row is one
 * leaf; arrays stay whole (shown as JSON). */
export function flatten(o: Obj, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (!o || typeof o !== 'object') return out;
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Obj, key, out);
    else out[key] = v;
  }
  return out;
}

/** The keys of the flattened objects, sorted; with `onlyDiffering`, only keys whose values
 * are not all the same (a key some runs lack differs). */
export function diffKeys(objs: readonly Record<string, unknown>[], onlyDiffering: boolean): string[] {
  const keys = new Set<string>();
  for (const o of objs) for (const k of Object.keys(o)) keys.add(k);
  const all = [...keys].sort();
  if (!onlyDiffering || objs.length < 2) return all;
  return all.filter((k) => {
    const first = JSON.stringify(objs[0]?.[k]);
    return objs.some((o) => JSON.stringify(o[k]) !== first);
  });
}

/** One run of a comparison as the lines need it: its label and its series (by key). */
export interface CompareRunSeries<S extends { key?: string }> {
  label: string;
  series: readonly S[] | undefined;
}

/** Every key any run has, sorted, each with one line per run in the comparison's order (the
 * run's place is its colour); a run without the key has a line without a series. */
export function compareLines<S extends { key?: string }>(
  runs: readonly CompareRunSeries<S>[],
): Map<string, { label: string; index: number; series: S | undefined }[]> {
  const byKey = runs.map((r) => new Map((r.series ?? []).flatMap((s) => (s.key ? [[s.key, s] as const] : []))));
  const keys = [...new Set(byKey.flatMap((m) => [...m.keys()]))].sort();
  return new Map(keys.map((k) => [k, runs.map((r, i) => ({ label: r.label, index: i, series: byKey[i]!.get(k) }))]));
}
