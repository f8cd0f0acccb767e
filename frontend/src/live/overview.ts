// The overview's run lists, patched from live messages the moment they come: a run that
// starts joins "In flight", one that ends leaves it, one that fails tops "Recent failures",
// and the live counts ("queued now", …) move with them. The coalesced refetch of the
// overview (live/apply.ts) still follows, so the server has the last word; without the
// patch the lists would wait for it, behind the feed that already says what happened.
import type { QueryClient } from '@tanstack/react-query';
import type { Page, Run } from '../api/types';

/** The overview's list queries ('overview', slug, name) and which runs belong in each. */
export const OVERVIEW_LISTS: { name: string; has: (status: string) => boolean; cap?: number }[] = [
  { name: 'now', has: (s) => s === 'queued' || s === 'running' || s === 'retrying' },
  { name: 'inflight', has: (s) => s === 'running' || s === 'retrying', cap: 10 },
  { name: 'failures', has: (s) => s === 'failed', cap: 10 },
];

export function patchOverviewLists(qc: QueryClient, slug: string, run: Run): void {
  if (!run.id || !run.status) return;
  for (const list of OVERVIEW_LISTS) {
    qc.setQueryData<Page<Run>>(['overview', slug, list.name], (old) => {
      if (!old) return old;
      const i = old.items.findIndex((r) => r.id === run.id);
      if (list.has(run.status!)) {
        if (i >= 0) {
          const items = old.items.slice();
          items[i] = { ...items[i], ...run };
          return { ...old, items };
        }
        const items = [run, ...old.items];
        return { ...old, items: list.cap ? items.slice(0, list.cap) : items };
      }
      return i >= 0 ? { ...old, items: old.items.filter((r) => r.id !== run.id) } : old;
    });
  }
}
