// The run's request snapshot (GET /runs/{run}/snapshot), for reproducing it: its params,
// its input and its experiment's flags as they were when the run was linked to it, each as
// two columns of key paths and values (lib/snapshot.ts).
import { Anchor, Group, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { runSnapshotQuery } from '../api/artifacts';
import { formatTime } from '../lib/format';
import { flattenSnapshot } from '../lib/snapshot';
import { ErrorState, LoadingRows } from './QueryState';

function Section({ title, value, testId }: { title: string; value: unknown; testId: string }) {
  const rows = flattenSnapshot(value);
  return (
    <Stack gap={4} data-testid={testId}>
      <Text fw={600}>{title}</Text>
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          none
        </Text>
      ) : (
        <Table withTableBorder fz="sm" layout="fixed">
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.key}>
                <Table.Td w="35%" style={{ fontFamily: 'var(--mantine-font-family-monospace)' }}>
                  {r.key}
                </Table.Td>
                <Table.Td style={{ fontFamily: 'var(--mantine-font-family-monospace)', wordBreak: 'break-all' }}>
                  {r.value}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

export function RequestSnapshot({ project, run }: { project: string; run: string }) {
  const q = useQuery(runSnapshotQuery(project, run));
  if (q.isPending) return <LoadingRows rows={4} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const e = q.data.experiment as unknown as { id: number; name?: string; flags?: unknown; taken_at?: string } | null;
  return (
    <Stack gap="lg">
      <Section title="Params" value={q.data.params} testId="snapshot-params" />
      <Section title="Input" value={q.data.input} testId="snapshot-input" />
      {e ? (
        <Stack gap={4}>
          <Group gap="xs">
            <Text size="sm" c="dimmed">
              Experiment
            </Text>
            <Anchor size="sm" component="span">
              {e.name ?? `#${e.id}`}
            </Anchor>
            <Text size="sm" c="dimmed">
              flags as of {formatTime(e.taken_at)}
            </Text>
          </Group>
          <Section title="Experiment flags" value={e.flags} testId="snapshot-flags" />
        </Stack>
      ) : (
        <Text size="sm" c="dimmed">
          No experiment: the run was not launched from one.
        </Text>
      )}
    </Stack>
  );
}
