// The three states every list shares: a skeleton while loading, an error in words with a
// retry button, and an empty state that says what to do next.
import type { ReactNode } from 'react';
import { Alert, Button, Code, Group, Skeleton, Stack, Text } from '@mantine/core';
import { errorText } from '../api/client';

export function LoadingRows({ rows = 6, height = 28 }: { rows?: number; height?: number }) {
  return (
    <Stack gap={6} aria-busy="true" aria-label="loading">
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} height={height} radius="sm" />
      ))}
    </Stack>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <Alert color="red" title="Could not load this" role="alert">
      <Group justify="space-between" wrap="nowrap">
        <Text size="sm">{errorText(error)}</Text>
        {onRetry && (
          <Button size="xs" variant="light" color="red" onClick={onRetry}>
            Retry
          </Button>
        )}
      </Group>
    </Alert>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Stack align="center" gap="xs" py="xl" data-testid="empty-state">
      <Text fw={600}>{title}</Text>
      {children}
    </Stack>
  );
}

/** How to send the first run, as a copyable curl line. */
export function FirstRunHint() {
  const origin = typeof window !== 'undefined' ? window.location.origin : 'http://127.0.0.1:8080';
  return (
    <Stack gap={4} maw={760} w="100%">
      <Text size="sm" c="dimmed">
        Send the first run with a project token (Settings → API tokens):
      </Text>
      <Code block>
        {`curl -H "Authorization: Bearer rw_…" -H 'Content-Type: application/json' \\\n     -d '{"kind":"train","name":"first-run"}' ${origin}/api/v1/runs`}
      </Code>
    </Stack>
  );
}
