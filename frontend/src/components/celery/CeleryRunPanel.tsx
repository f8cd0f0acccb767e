// A run's Celery fields on its page (hostname, retries, eta, runtime, the repr strings,
// revoke details, unknown after a gap); nothing for a run that is no Celery task.
import { Alert, Badge, Code, Group, SimpleGrid, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { celeryRunQuery } from '../../api/celery';
import { formatDuration } from '../../lib/format';
import { Field } from '../Field';

export function CeleryRunPanel({ project, runId }: { project: string; runId: string }) {
  const q = useQuery(celeryRunQuery(project, runId));
  const c = q.data;
  if (!c) return null;
  return (
    <Stack gap="xs" data-testid="celery-run" data-celery-state={c.state}>
      <Group gap="xs">
        <Text fw={600}>Celery</Text>
        <Badge variant="light">{c.state}</Badge>
        {c.unregistered && <Badge color="red">unregistered</Badge>}
        {c.unknown && (
          <Badge color="gray" data-testid="celery-unknown">
            unknown
          </Badge>
        )}
      </Group>
      {c.unknown && (
        <Alert color="gray" p="xs">
          The bridge missed events of this task and the result backend could not tell how it ended.
        </Alert>
      )}
      <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="xs">
        <Field label="Hostname">{c.hostname ?? '—'}</Field>
        <Field label="Retries">{c.retries}</Field>
        <Field label="ETA">{c.eta ?? '—'}</Field>
        <Field label="Runtime">{c.runtime == null ? '—' : formatDuration(c.runtime)}</Field>
        {c.expires && <Field label="Expires">{c.expires}</Field>}
        {c.group_id && <Field label="Group">{c.group_id}</Field>}
        {c.terminated != null && (
          <Field label="Revoked">
            {c.terminated ? `terminated${c.signum ? ` (${c.signum})` : ''}` : c.expired ? 'expired' : 'revoked'}
          </Field>
        )}
        {c.deps.length > 0 && (
          <Field label="Waits for">{c.deps.map((d) => (d.group_id ? `group ${d.group_id}` : d.run_id)).join(', ')}</Field>
        )}
      </SimpleGrid>
      <Field label="args / kwargs">
        <Code>{c.args ?? '—'}</Code> <Code>{c.kwargs ?? '—'}</Code>
      </Field>
      {c.result != null && (
        <Field label="Result">
          <Code>{c.result}</Code>
        </Field>
      )}
      {c.exception != null && (
        <Field label="Exception">
          <Code>{c.exception}</Code>
        </Field>
      )}
    </Stack>
  );
}
