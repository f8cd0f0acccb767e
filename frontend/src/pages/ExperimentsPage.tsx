// Experiments: the project's templates of runs with their desired and actual states, with
// filters (name, desired state, tag) and a form for a new one.
import { useState } from 'react';
import { Alert, Anchor, Badge, Button, Group, Modal, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router-dom';
import { errorText } from '../api/client';
import { experimentsQuery, useCreateExperiment, type ExperimentFilters } from '../api/experiments';
import type { ExperimentState } from '../api/types';
import { useCan, useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { ExperimentStateBadge } from '../components/experiments/ExperimentStateBadge';
import { formatRelative } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

const STATES: ExperimentState[] = ['running', 'stopped', 'terminated'];

function NewExperiment({ project }: { project: string }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [kind, setKind] = useState('train');
  const [queue, setQueue] = useState('default');
  const create = useCreateExperiment(project);
  const navigate = useNavigate();
  return (
    <>
      <Button onClick={() => setOpen(true)} data-testid="new-experiment">
        New experiment
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="New experiment">
        <Stack>
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required data-testid="new-experiment-name" />
          <Group grow>
            <TextInput label="Kind of its runs" value={kind} onChange={(e) => setKind(e.currentTarget.value)} />
            <TextInput label="Queue" value={queue} onChange={(e) => setQueue(e.currentTarget.value)} />
          </Group>
          {create.error && <Alert color="red">{errorText(create.error)}</Alert>}
          <Group justify="flex-end">
            <Button
              loading={create.isPending}
              disabled={!name.trim()}
              data-testid="new-experiment-create"
              onClick={() =>
                create.mutate(
                  { name: name.trim(), kind, queue, flags: {} },
                  { onSuccess: (e) => navigate(`/p/${project}/experiments/${e.id}`) },
                )
              }
            >
              Create
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

export default function ExperimentsPage() {
  const { slug } = useProject();
  const canWrite = useCan('member');
  const [filters, setFilters] = useState<ExperimentFilters>({ q: '', state: '', tag: '' });
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...experimentsQuery(slug, filters), refetchInterval });
  const now = useNow(5000);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Experiments</Title>
        {canWrite && <NewExperiment project={slug} />}
      </Group>
      <Group>
        <TextInput
          placeholder="name contains…"
          value={filters.q}
          onChange={(e) => setFilters({ ...filters, q: e.currentTarget.value })}
          aria-label="name"
          data-testid="experiments-q"
        />
        <Select
          placeholder="any desired state"
          data={STATES}
          value={filters.state || null}
          onChange={(v) => setFilters({ ...filters, state: (v as ExperimentState) ?? '' })}
          clearable
          aria-label="desired state"
        />
        <TextInput
          placeholder="tag"
          value={filters.tag}
          onChange={(e) => setFilters({ ...filters, tag: e.currentTarget.value })}
          aria-label="tag"
        />
      </Group>
      {q.isPending ? (
        <LoadingRows />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <EmptyState title="No experiments">
          <Text size="sm" c="dimmed">
            An experiment is a template of runs with flags and a desired state; a launcher (or `make demo`) runs it.
          </Text>
        </EmptyState>
      ) : (
        <Table striped highlightOnHover data-testid="experiments-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Desired</Table.Th>
              <Table.Th>Actual</Table.Th>
              <Table.Th>Pending action</Table.Th>
              <Table.Th>Kind / queue</Table.Th>
              <Table.Th>Tags</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/p/${slug}/experiments/${e.id}`}>
                    {e.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <ExperimentStateBadge state={e.desired_state} />
                </Table.Td>
                <Table.Td>
                  <ExperimentStateBadge state={e.actual_state} />
                </Table.Td>
                <Table.Td>{e.action ?? '—'}</Table.Td>
                <Table.Td>
                  {e.kind} · {e.queue}
                </Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {(e.tags ?? []).map((t) => (
                      <Badge key={t} size="xs" variant="outline">
                        {t}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{formatRelative(e.updated_at, now)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
