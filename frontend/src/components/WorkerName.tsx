// Workers by name wherever a run or an attempt names one (runs table, run page, attempts,
// the runs filter): runs carry only worker_id, and the project's worker list (one cached
// query, which the live stream keeps current: live/apply.ts patchWorker) gives the names.
// Until it has loaded, or for a worker it does not know, the id stands in as `#2`.
import { Anchor } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link } from 'react-router-dom';
import { workersQuery } from '../api/workers';

export function useWorkerNames(project: string): Map<number, string> {
  const q = useQuery({ ...workersQuery(project), staleTime: 60_000, enabled: project !== '' });
  return useMemo(() => new Map((q.data ?? []).map((w) => [w.id ?? 0, w.name ?? ''])), [q.data]);
}

export function workerLabel(names: Map<number, string>, id: number): string {
  return names.get(id) || `#${id}`;
}

export function WorkerLink({ project, id, size }: { project: string; id: number | null | undefined; size?: string }) {
  const names = useWorkerNames(project);
  if (!id) return <>—</>;
  return (
    <Anchor component={Link} to={`/p/${project}/workers/${id}`} size={size} data-testid="worker-link">
      {workerLabel(names, id)}
    </Anchor>
  );
}
