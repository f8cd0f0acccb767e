// An experiment's state (desired or actual) as a badge in the run statuses' colours.
import { Badge } from '@mantine/core';

const COLOR: Record<string, string> = { running: 'blue', stopped: 'gray', terminated: 'dark' };

export function ExperimentStateBadge({ state }: { state: string | null | undefined }) {
  return (
    <Badge color={COLOR[state ?? ''] ?? 'gray'} variant="light" size="sm">
      {state ?? 'unknown'}
    </Badge>
  );
}
