// Picking runs to compare: a tick-box column for the runs table, the bar that opens the
// comparison, and on a run's page "Compare trials" for a sweep (the run's children).
import { useMemo, useState } from 'react';
import { Button, Checkbox, Group, Text } from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { api } from '../api/client';
import { runKeys } from '../api/runs';
import type { Page, Run } from '../api/types';
import { COMPARE_MAX, compareHref } from '../lib/compare';

export interface RunSelection {
  ids: string[];
  has: (id: string) => boolean;
  toggle: (id: string) => void;
  clear: () => void;
}

export function useRunSelection(): RunSelection {
  const [ids, setIds] = useState<string[]>([]);
  return useMemo(
    () => ({
      ids,
      has: (id: string) => ids.includes(id),
      toggle: (id: string) => setIds((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length < COMPARE_MAX ? [...s, id] : s)),
      clear: () => setIds([]),
    }),
    [ids],
  );
}

/** The runs table's first column: a tick box per run. */
export function selectColumn(sel: RunSelection): ColumnDef<Run> {
  return {
    id: 'select',
    header: '',
    size: 28,
    cell: ({ row }) => {
      const id = row.original.id ?? '';
      return (
        <Checkbox
          size="xs"
          aria-label={`select ${row.original.name || id}`}
          data-testid="run-select"
          checked={sel.has(id)}
          onChange={() => sel.toggle(id)}
        />
      );
    },
  };
}

export function CompareBar({ project, sel }: { project: string; sel: RunSelection }) {
  const navigate = useNavigate();
  if (sel.ids.length === 0) return null;
  return (
    <Group gap="sm" data-testid="compare-bar">
      <Text size="sm">
        {sel.ids.length} selected{sel.ids.length >= COMPARE_MAX ? ` (at most ${COMPARE_MAX})` : ''}
      </Text>
      <Button size="xs" disabled={sel.ids.length < 2} onClick={() => navigate(compareHref(project, sel.ids))} data-testid="compare-button">
        Compare
      </Button>
      <Button size="xs" variant="subtle" onClick={sel.clear}>
        Clear
      </Button>
    </Group>
  );
}

/** On a sweep's page (a run with two or more children): compare its trials, the first 50. */
export function CompareTrialsButton({ project, run }: { project: string; run: string }) {
  const navigate = useNavigate();
  // Under the project's runs key (a live reset refetches it), but not under its lists: the
  // live stream patches those as pages of the run list, which this is not.
  const children = useQuery({
    queryKey: [...runKeys.all(project), 'children', run],
    queryFn: ({ signal }) => api<Page<Run>>('/runs', { query: { project, parent: run, limit: COMPARE_MAX }, signal }),
  });
  const ids = (children.data?.items ?? []).flatMap((r) => (r.id ? [r.id] : []));
  if (ids.length < 2) return null;
  return (
    <Button size="xs" variant="light" onClick={() => navigate(compareHref(project, ids))} data-testid="compare-trials">
      Compare {ids.length}
      {children.data?.next_cursor ? '+' : ''} trials
    </Button>
  );
}
