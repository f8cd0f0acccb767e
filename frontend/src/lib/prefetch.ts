// Prefetch on hover: resting the pointer on a run's row (or focusing it) starts what its
// page needs — the page's chunk, the run, the tail of its log — so opening it paints from
// the cache. A short intent delay keeps a pointer sweeping across the table from asking
// for every row it crosses; what is in the cache and fresh is not asked again.
import { useCallback, useEffect, useRef } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { eventsQuery, runQuery } from '../api/runs';

const INTENT_MS = 80;

/** Starts the run page's fetches into the cache (never waits, never throws). */
export function prefetchRunPage(qc: QueryClient, project: string, id: string): void {
  if (!id) return;
  void import('../pages/RunDetailPage').catch(() => {});
  void qc.prefetchQuery(runQuery(project, id));
  void qc.prefetchQuery(eventsQuery(project, id));
}

/** Props for a row: `<tr {...hover(run.id)}>`. */
export function usePrefetchRunOnHover(project: string) {
  const qc = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const cancel = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
  };
  useEffect(() => cancel, []);
  return useCallback(
    (id: string) => ({
      onMouseEnter: () => {
        cancel();
        timer.current = setTimeout(() => prefetchRunPage(qc, project, id), INTENT_MS);
      },
      onMouseLeave: cancel,
      onFocus: () => prefetchRunPage(qc, project, id),
    }),
    [qc, project],
  );
}
