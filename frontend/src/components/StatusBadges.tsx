// A run's status cell: the run's badge, plus the attempt's and derived states (lib/status).
import { Badge, Group } from '@mantine/core';
import type { Run } from '../api/types';
import { runBadges, statusColor } from '../lib/status';

export function RunStatusBadges({ run, now }: { run: Run; now?: number }) {
  return (
    <Group gap={4} wrap="nowrap">
      {runBadges(run, now).map((b) => (
        <Badge key={b.label} color={b.color} variant="light" title={b.title} size="sm">
          {b.label}
        </Badge>
      ))}
    </Group>
  );
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  return (
    <Badge color={statusColor(status)} variant="light" size="sm">
      {status ?? 'unknown'}
    </Badge>
  );
}
