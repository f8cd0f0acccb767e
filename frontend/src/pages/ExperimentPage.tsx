// One experiment: its states and the buttons that set the desired one (a launcher does the
// rest), its flags with the editor, clone and grid, and its job history.
import { useState } from 'react';
import {
  Alert,
  Anchor,
  Button,
  Card,
  Group,
  Modal,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { errorText } from '../api/client';
import { experimentQuery, flagSchemaQuery, useCreateExperiment, useUpdateExperiment } from '../api/experiments';
import type { Experiment, ExperimentState } from '../api/types';
import { useCan, useProject } from '../components/guards';
import { JsonBlock } from '../components/Json';
import { ErrorState, LoadingRows } from '../components/QueryState';
import { ExperimentStateBadge } from '../components/experiments/ExperimentStateBadge';
import { FlagsEditor } from '../components/experiments/FlagsEditor';
import { GridAction } from '../components/experiments/GridAction';
import { JobHistory } from '../components/experiments/JobHistory';
import { formatTime, shortId } from '../lib/format';
import type { Flags } from '../lib/flags';
import { useRefetchInterval } from '../lib/prefs';
import { Field } from '../components/Field';

function CloneButton({ experiment }: { experiment: Experiment }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(`${experiment.name} (copy)`);
  const create = useCreateExperiment(experiment.project);
  const navigate = useNavigate();
  return (
    <>
      <Button variant="light" onClick={() => setOpen(true)} data-testid="clone-open">
        Clone
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Clone this experiment">
        <Stack>
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} data-testid="clone-name" />
          {create.error && <Alert color="red">{errorText(create.error)}</Alert>}
          <Group justify="flex-end">
            <Button
              loading={create.isPending}
              data-testid="clone-create"
              onClick={() =>
                create.mutate(
                  {
                    name,
                    description: experiment.description,
                    flags: experiment.flags as Flags,
                    kind: experiment.kind,
                    queue: experiment.queue,
                    tags: experiment.tags,
                  },
                  {
                    onSuccess: (e) => {
                      setOpen(false);
                      navigate(`/p/${experiment.project}/experiments/${e.id}`);
                    },
                  },
                )
              }
            >
              Clone
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

const ACTIONS: { state: ExperimentState; label: string; color: string }[] = [
  { state: 'running', label: 'Start', color: 'blue' },
  { state: 'stopped', label: 'Stop', color: 'gray' },
  { state: 'terminated', label: 'Terminate', color: 'red' },
];

export default function ExperimentPage() {
  const { slug } = useProject();
  const id = Number(useParams().experimentId);
  const canWrite = useCan('member');
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...experimentQuery(slug, id), refetchInterval });
  const schema = useQuery(flagSchemaQuery(slug));
  const update = useUpdateExperiment(slug, id);
  const [editing, setEditing] = useState(false);

  if (q.isPending) return <LoadingRows />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const e = q.data;

  return (
    <Stack gap="md" data-testid="experiment-page" data-actual={e.actual_state}>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Text size="sm">
            <Anchor component={Link} to={`/p/${slug}/experiments`}>
              Experiments
            </Anchor>{' '}
            /
          </Text>
          <Group gap="sm">
            <Title order={2}>{e.name}</Title>
            <Text size="sm" c="dimmed">
              desired
            </Text>
            <ExperimentStateBadge state={e.desired_state} />
            <Text size="sm" c="dimmed">
              actual
            </Text>
            <span data-testid="actual-state">
              <ExperimentStateBadge state={e.actual_state} />
            </span>
          </Group>
          {e.description && <Text size="sm">{e.description}</Text>}
        </Stack>
        {canWrite && (
          <Group gap="xs">
            {ACTIONS.map((a) => (
              <Button
                key={a.state}
                color={a.color}
                variant={e.desired_state === a.state ? 'filled' : 'light'}
                disabled={e.desired_state === a.state}
                loading={update.isPending && update.variables?.desired_state === a.state}
                onClick={() => update.mutate({ desired_state: a.state })}
                data-testid={`exp-${a.label.toLowerCase()}`}
              >
                {a.label}
              </Button>
            ))}
            <CloneButton experiment={e} />
            <GridAction experiment={e} schema={schema.data} />
          </Group>
        )}
      </Group>
      {update.error && !editing && <Alert color="red">{errorText(update.error)}</Alert>}
      {e.last_error && (
        <Alert color="orange" title="The last launch failed">
          {e.last_error}
          {e.retry_at ? ` (offered again from ${formatTime(e.retry_at)})` : ''}
        </Alert>
      )}

      <Card withBorder>
        <SimpleGrid cols={{ base: 2, sm: 4, lg: 6 }}>
          <Field label="Kind / queue">
            {e.kind} · {e.queue}
          </Field>
          <Field label="Pending action">{e.action ?? '—'}</Field>
          <Field label="Active run">
            {e.active_run_id ? (
              <Anchor component={Link} to={`/p/${slug}/runs/${e.active_run_id}`} ff="monospace">
                {shortId(e.active_run_id)}
              </Anchor>
            ) : (
              '—'
            )}
          </Field>
          <Field label="Lease">{e.lease ? `${e.lease.action} by ${e.lease.launcher} until ${formatTime(e.lease.expires_at)}` : '—'}</Field>
          <Field label="Tags">{e.tags?.length ? e.tags.join(', ') : '—'}</Field>
          <Field label="Created">
            {formatTime(e.created_at)}
            {e.created_by ? ` by ${e.created_by}` : ''}
          </Field>
          <Field label="Updated">
            {formatTime(e.updated_at)}
            {e.updated_by ? ` by ${e.updated_by}` : ''}
          </Field>
        </SimpleGrid>
      </Card>

      <Card withBorder>
        <Group justify="space-between" mb="xs">
          <Title order={4}>Flags</Title>
          {canWrite && !editing && (
            <Button size="xs" variant="light" onClick={() => setEditing(true)} data-testid="flags-edit">
              Edit flags
            </Button>
          )}
        </Group>
        {editing ? (
          <FlagsEditor
            flags={(e.flags ?? {}) as Flags}
            schema={schema.data}
            saving={update.isPending}
            error={update.error}
            onCancel={() => setEditing(false)}
            onSave={(flags) => update.mutate({ flags }, { onSuccess: () => setEditing(false) })}
          />
        ) : (
          <JsonBlock value={e.flags} />
        )}
      </Card>

      <Card withBorder>
        <Title order={4} mb="xs">
          Job history
        </Title>
        <JobHistory project={slug} experiment={id} />
      </Card>
    </Stack>
  );
}
