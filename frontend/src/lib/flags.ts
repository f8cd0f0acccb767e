// Flags of experiments: reading and writing a path, checking a flags document against the
// schema the server inferred (GET /experiments/flag-schema), and the cartesian product a
// grid makes. Pure, so the flags editor and the grid action share one tested definition.
import type { FlagSchema, FlagSchemaPath } from '../api/types';

export type Flags = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at keys, or undefined. */
export function getPath(flags: Flags, keys: string[]): unknown {
  let cur: unknown = flags;
  for (const k of keys) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** A copy of flags with value at keys (objects made on the way). */
export function setPath(flags: Flags, keys: string[], value: unknown): Flags {
  const [head, ...rest] = keys;
  if (head === undefined) return flags;
  const child = flags[head];
  return {
    ...flags,
    [head]: rest.length === 0 ? value : setPath(isObject(child) ? child : {}, rest, value),
  };
}

/** Every leaf path of flags (nested objects walked, as the server walks them). */
export function leafPaths(flags: Flags, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(flags)) {
    if (isObject(v) && Object.keys(v).length > 0) out.push(...leafPaths(v, [...prefix, k]));
    else out.push([...prefix, k]);
  }
  return out;
}

export interface FlagProblem {
  path: string;
  message: string;
  /** errors block saving; hints (a new choice, an unknown path) do not */
  severity: 'error' | 'hint';
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  return 'object';
}

/** What is wrong with v at a path of type p.type. */
function checkValue(p: FlagSchemaPath, v: unknown): FlagProblem | null {
  const k = kindOf(v);
  if (k === 'null') return p.nullable ? null : { path: p.path, message: `${p.path} was never null`, severity: 'hint' };
  switch (p.type) {
    case 'integer':
      return k === 'integer' ? null : { path: p.path, message: `${p.path} must be an integer`, severity: 'error' };
    case 'float':
      return k === 'integer' || k === 'float' ? null : { path: p.path, message: `${p.path} must be a number`, severity: 'error' };
    case 'boolean':
      return k === 'boolean' ? null : { path: p.path, message: `${p.path} must be true or false`, severity: 'error' };
    case 'string':
      return k === 'string' ? null : { path: p.path, message: `${p.path} must be a string`, severity: 'error' };
    case 'choice':
      if (k !== 'string') return { path: p.path, message: `${p.path} must be one of ${p.values.join(', ')}`, severity: 'error' };
      return p.values.includes(v)
        ? null
        : { path: p.path, message: `${p.path}: "${String(v)}" is a new value (seen: ${p.values.join(', ')})`, severity: 'hint' };
    case 'array':
      return k === 'array' ? null : { path: p.path, message: `${p.path} must be an array`, severity: 'error' };
    default:
      return null; // mixed, null, object: anything goes
  }
}

export interface FlagsCheck {
  flags: Flags | null;
  problems: FlagProblem[];
  ok: boolean;
}

/** Parses the editor's text and checks it against the schema. */
export function checkFlags(text: string, schema: FlagSchema | undefined): FlagsCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { flags: null, problems: [{ path: '', message: `not JSON: ${(e as Error).message}`, severity: 'error' }], ok: false };
  }
  if (!isObject(parsed))
    return { flags: null, problems: [{ path: '', message: 'flags must be a JSON object', severity: 'error' }], ok: false };
  const problems: FlagProblem[] = [];
  const byPath = new Map((schema?.paths ?? []).map((p) => [p.path, p]));
  for (const keys of leafPaths(parsed)) {
    const path = keys.join('.');
    const p = byPath.get(path);
    if (!p) {
      if (schema && schema.paths.length > 0) problems.push({ path, message: `${path} is a new flag`, severity: 'hint' });
      continue;
    }
    const problem = checkValue(p, getPath(parsed, keys));
    if (problem) problems.push(problem);
  }
  return { flags: parsed, problems, ok: problems.every((x) => x.severity !== 'error') };
}

/** A value typed in the grid or the quick-set box, read as the path's type would have it. */
export function parseValue(text: string, type: string | undefined): unknown {
  const t = text.trim();
  if (type === 'string' || type === 'choice') return t;
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

export interface GridAxis {
  keys: string[];
  values: unknown[];
}

/** The cartesian product of the axes over base: one flags document per combination, with a
 * name suffix like "nodes=2,layers=12". Axes without values are left out. */
export function gridProduct(base: Flags, axes: GridAxis[]): { flags: Flags; suffix: string }[] {
  let out: { flags: Flags; suffix: string[] }[] = [{ flags: base, suffix: [] }];
  for (const axis of axes) {
    if (axis.values.length === 0) continue;
    const next: typeof out = [];
    for (const cur of out)
      for (const v of axis.values)
        next.push({
          flags: setPath(cur.flags, axis.keys, v),
          suffix: [...cur.suffix, `${axis.keys[axis.keys.length - 1]}=${typeof v === 'string' ? v : JSON.stringify(v)}`],
        });
    out = next;
  }
  return out.map((x) => ({ flags: x.flags, suffix: x.suffix.join(',') }));
}
