// The Rollouts view's and the Resources page's logic, kept out of the components so it is
// tested alone: agent-lightning's status cell, the input preview, and a line diff of two
// versions of a resources snapshot.

/** agent-lightning's Status cell: `rollout - attempt` when they differ, else one status. */
export function rolloutStatusLabel(rollout: string | null | undefined, attempt: string | null | undefined): string {
  const r = rollout ?? 'unknown';
  return attempt && attempt !== r ? `${r} - ${attempt}` : r;
}

/** The Input column: the input as one line of JSON, cut to 35 characters as agent-lightning's dashboard does. */
export const INPUT_PREVIEW = 35;
export function inputPreview(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = JSON.stringify(v);
  return s.length > INPUT_PREVIEW ? s.slice(0, INPUT_PREVIEW - 1) + '…' : s;
}

export const ROLLOUT_STATUS_COLOR: Record<string, string> = {
  queuing: 'gray',
  preparing: 'cyan',
  running: 'blue',
  requeuing: 'orange',
  succeeded: 'teal',
  failed: 'red',
  cancelled: 'dark',
  timeout: 'red',
  unresponsive: 'yellow',
};

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** Lines that take part in the diff at most: past it, the rest is shown as removed and added. */
export const DIFF_MAX_LINES = 3000;

/** A line diff of two values as pretty JSON with sorted keys (so key order never shows as a
 * change): the longest common subsequence of their lines, the rest removed (`-`, from `a`)
 * or added (`+`, from `b`). */
export function jsonLineDiff(a: unknown, b: unknown): DiffLine[] {
  const x = prettySorted(a).split('\n');
  const y = prettySorted(b).split('\n');
  if (x.length > DIFF_MAX_LINES || y.length > DIFF_MAX_LINES)
    return [...x.map((t) => ({ op: '-' as const, text: t })), ...y.map((t) => ({ op: '+' as const, text: t }))];
  const n = x.length,
    m = y.length;
  // lcs[i * (m + 1) + j]: the LCS length of x[i..] and y[j..].
  const lcs = new Uint16Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * (m + 1) + j] = x[i] === y[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  const out: DiffLine[] = [];
  let i = 0,
    j = 0;
  while (i < n || j < m) {
    const a = x[i],
      b = y[j];
    if (a !== undefined && b !== undefined && a === b) {
      out.push({ op: ' ', text: a });
      i++;
      j++;
    } else if (a !== undefined && (b === undefined || at(i + 1, j) >= at(i, j + 1))) {
      out.push({ op: '-', text: a });
      i++;
    } else {
      out.push({ op: '+', text: b ?? '' });
      j++;
    }
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function prettySorted(v: unknown): string {
  return JSON.stringify(sortKeys(v ?? null), null, 2);
}
