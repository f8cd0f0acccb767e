// A labelled value of a details panel (a run's, an experiment's, a Celery task's): the label
// small and dimmed above the value. One home for the look of every such panel.
import type { ReactNode } from 'react';
import { Stack, Text } from '@mantine/core';

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Stack gap={2}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </Stack>
  );
}
