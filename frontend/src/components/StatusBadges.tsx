// A run's status cell: the run's badge, plus the attempt's and derived states (lib/status),
// derived by the run's project's anomaly thresholds (one cached query per project).
import { Badge, Group } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { thresholdsQuery } from '../api/reports';
import type { Run } from '../api/types';
import { runBadges, statusColor } from '../lib/status';

/** A badge is never cut to `R..`: Mantine's badge is a grid whose label clips with an
 * ellipsis, and a grid item that clips may shrink to nothing (its min-width is 0), so a
 * narrow table cell squeezed it. A status is short: it keeps its whole width and the cells
 * around it give way instead. */
export const WHOLE_BADGE = {
  root: { flexShrink: 0, overflow: 'visible', maxWidth: 'none', minWidth: 'max-content' },
  label: { overflow: 'visible', textOverflow: 'clip' },
} as const;

export function RunStatusBadges({ run, now }: { run: Run; now?: number }) {
  const project = run.project ?? '';
  const thresholds = useQuery({ ...thresholdsQuery(project), enabled: project !== '', staleTime: 60_000 });
  return (
    <Group gap={4} wrap="nowrap" style={{ flexShrink: 0 }}>
      {runBadges(run, thresholds.data, now).map((b) => (
        <Badge key={b.label} color={b.color} variant="light" title={b.title} size="sm" styles={WHOLE_BADGE}>
          {b.label}
        </Badge>
      ))}
    </Group>
  );
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  return (
    <Badge color={statusColor(status)} variant="light" size="sm" styles={WHOLE_BADGE}>
      {status ?? 'unknown'}
    </Badge>
  );
}
