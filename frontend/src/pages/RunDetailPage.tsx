// One run: its header (status, id, times, progress, error with traceback), the live event
// log, metrics, traces, attempts and raw JSON, and a cancel button while it can be
// cancelled. The open tab is in the URL (?tab=), so a link can open the run's traces.
import { useState } from 'react';
import {
  Alert,
  Anchor,
  Button,
  Card,
  Code,
  Group,
  Modal,
  Progress,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { attemptsQuery, eventsQuery, runQuery, useCancelRun } from '../api/runs';
import { errorText } from '../api/client';
import type { Run } from '../api/types';
import { useCan, useProject } from '../components/guards';
import { CeleryRunPanel } from '../components/celery/CeleryRunPanel';
import { ErrorState, LoadingRows } from '../components/QueryState';
import { RunStatusBadges, StatusBadge } from '../components/StatusBadges';
import { EventLog } from '../components/EventLog';
import { MetricsPanel } from '../components/MetricsPanel';
import { RunMetricsCharts } from '../components/RunMetricsCharts';
import { CompareTrialsButton } from '../components/RunSelection';
import { RunTraces } from '../components/traces/RunTraces';
import { RunArtifactTabs, RunArtifactPanels } from '../components/RunArtifactTabs';
import { GraphTab, useHasGraph } from '../components/graph/GraphTab';
import { AttemptsTimeline } from '../components/graph/Timeline';
import { JsonBlock } from '../components/Json';
import { durationBetween, formatDuration, formatProgress, formatRelative, formatTime } from '../lib/format';
import { WorkerLink } from '../components/WorkerName';
import { canCancel } from '../lib/status';
import { useNow } from '../lib/useNow';
import { ExperimentLink } from '../components/experiments/ExperimentLink';
import { Field } from '../components/Field';

function CancelButton({ run, project }: { run: Run; project: string }) {
  const [open, setOpen] = useState(false);
  const cancel = useCancelRun(project);
  if (!canCancel(run)) return null;
  return (
    <>
      <Button color="red" variant="light" onClick={() => setOpen(true)} data-testid="cancel-run">
        Cancel run
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Cancel this run?">
        <Stack>
          <Text size="sm">
            {run.status === 'running'
              ? 'The run is told to stop at its next heartbeat and reports itself cancelled.'
              : 'The run ends now, before any worker starts it.'}
          </Text>
          {cancel.error && <Alert color="red">{errorText(cancel.error)}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              Keep running
            </Button>
            <Button
              color="red"
              loading={cancel.isPending}
              data-testid="confirm-cancel"
              onClick={() => cancel.mutate(run.id ?? '', { onSuccess: () => setOpen(false) })}
            >
              Cancel run
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function Attempts({ project, run }: { project: string; run: string }) {
  const q = useQuery(attemptsQuery(project, run));
  if (q.isPending) return <LoadingRows rows={2} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data.length === 0) return <Text size="sm" c="dimmed">No attempt yet: the run has not started.</Text>;
  return (
    <Table fz="sm" striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>#</Table.Th>
          <Table.Th>status</Table.Th>
          <Table.Th>worker</Table.Th>
          <Table.Th>started</Table.Th>
          <Table.Th>ended</Table.Th>
          <Table.Th>duration</Table.Th>
          <Table.Th>heartbeat</Table.Th>
          <Table.Th>error</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {q.data.map((a) => (
          <Table.Tr key={a.seq}>
            <Table.Td>{a.seq}</Table.Td>
            <Table.Td>
              <StatusBadge status={a.status} />
            </Table.Td>
            <Table.Td>
              <WorkerLink project={project} id={a.worker_id} />
            </Table.Td>
            <Table.Td>{formatTime(a.started_at)}</Table.Td>
            <Table.Td>{formatTime(a.ended_at)}</Table.Td>
            <Table.Td>{formatDuration(durationBetween(a.started_at, a.ended_at))}</Table.Td>
            <Table.Td>{formatRelative(a.last_heartbeat_at)}</Table.Td>
            <Table.Td>{a.error ? <Code>{JSON.stringify(a.error)}</Code> : null}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export default function RunDetailPage() {
  const { runId = '' } = useParams();
  const { slug } = useProject();
  const canWrite = useCan('member');
  const run = useQuery(runQuery(slug, runId));
  const events = useQuery(eventsQuery(slug, runId));
  const now = useNow(1000);
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? 'events';
  const hasGraph = useHasGraph(slug, run.data);

  if (run.isPending) return <LoadingRows rows={8} />;
  if (run.error) return <ErrorState error={run.error} onRetry={() => void run.refetch()} />;
  const r = run.data;
  const err = r.error;

  return (
    <Stack gap="md" data-testid="run-detail" data-status={r.status}>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Text size="sm">
            <Anchor component={Link} to={`/p/${slug}/runs`}>
              Runs
            </Anchor>{' '}
            /
          </Text>
          <Group gap="sm">
            <Title order={2}>{r.name || r.kind || 'run'}</Title>
            <RunStatusBadges run={r} now={now} />
          </Group>
          <Text size="xs" ff="monospace" c="dimmed">
            {r.id}
          </Text>
        </Stack>
        <Group gap="xs">
          <CompareTrialsButton project={slug} run={runId} />
          {canWrite && <CancelButton run={r} project={slug} />}
        </Group>
      </Group>

      <Card withBorder>
        <SimpleGrid cols={{ base: 2, sm: 4, lg: 6 }}>
          <Field label="Kind / queue">
            {r.kind} · {r.queue}
          </Field>
          <Field label="Created">{formatTime(r.created_at)}</Field>
          <Field label="Started">{formatTime(r.started_at)}</Field>
          <Field label="Ended">{formatTime(r.ended_at)}</Field>
          <Field label="Duration">{formatDuration(durationBetween(r.started_at, r.ended_at, now))}</Field>
          <Field label="Last heartbeat">{formatRelative(r.last_heartbeat_at, now)}</Field>
          <Field label="Worker">
            <WorkerLink project={slug} id={r.worker_id} />
          </Field>
          <Field label="Priority">{r.priority ?? 0}</Field>
          <Field label="Tags">{r.tags?.length ? r.tags.join(', ') : '—'}</Field>
          <Field label="Progress">
            {r.progress === null || r.progress === undefined ? (
              '—'
            ) : (
              <Group gap="xs" wrap="nowrap">
                <Progress value={r.progress * 100} w={100} aria-label="progress" />
                {formatProgress(r.progress)}
              </Group>
            )}
          </Field>
          {r.experiment_id ? (
            <Field label="Experiment">
              <ExperimentLink project={slug} id={r.experiment_id} />
            </Field>
          ) : null}
          {r.parent_id && (
            <Field label="Parent">
              <Anchor component={Link} to={`/p/${slug}/runs/${r.parent_id}`} ff="monospace">
                {r.parent_id.slice(0, 8)}
              </Anchor>
            </Field>
          )}
        </SimpleGrid>
      </Card>
      {r.id && <CeleryRunPanel project={slug} runId={r.id} />}

      {err && (err.type || err.message) && (
        <Alert color="red" title={err.type || 'error'} data-testid="run-error">
          <Text size="sm">{err.message}</Text>
          {err.traceback && (
            <Code block mt="xs" style={{ whiteSpace: 'pre-wrap' }}>
              {err.traceback}
            </Code>
          )}
        </Alert>
      )}

      <RunMetricsCharts project={slug} run={runId} />

      <Tabs
        value={tab}
        keepMounted={false}
        onChange={(v) => setParams(v && v !== 'events' ? { tab: v } : {}, { replace: true })}
      >
        <Tabs.List>
          <Tabs.Tab value="events">Events</Tabs.Tab>
          <Tabs.Tab value="metrics">Metrics</Tabs.Tab>
          <Tabs.Tab value="traces">Traces</Tabs.Tab>
          <Tabs.Tab value="attempts">Attempts</Tabs.Tab>
          <RunArtifactTabs />
          {hasGraph && <Tabs.Tab value="graph">Graph</Tabs.Tab>}
          <Tabs.Tab value="raw">Raw</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="events" pt="sm">
          {events.isPending ? (
            <LoadingRows rows={6} height={18} />
          ) : events.error ? (
            <ErrorState error={events.error} onRetry={() => void events.refetch()} />
          ) : (
            <EventLog events={events.data} />
          )}
        </Tabs.Panel>
        <Tabs.Panel value="metrics" pt="sm">
          <MetricsPanel project={slug} run={runId} />
        </Tabs.Panel>
        <Tabs.Panel value="traces" pt="sm">
          <RunTraces project={slug} run={runId} />
        </Tabs.Panel>
        <Tabs.Panel value="attempts" pt="sm">
          <AttemptsTimeline project={slug} run={runId} />
          <Attempts project={slug} run={runId} />
        </Tabs.Panel>
        <RunArtifactPanels project={slug} run={runId} succeeded={r.status === 'succeeded'} />
        <Tabs.Panel value="graph" pt="sm">
          <GraphTab project={slug} run={r} />
        </Tabs.Panel>
        <Tabs.Panel value="raw" pt="sm">
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {(['input', 'params', 'result', 'summary'] as const).map((k) => (
              <Stack gap={4} key={k}>
                <Text fw={600} size="sm">
                  {k}
                </Text>
                <JsonBlock value={r[k] ?? null} mah={300} />
              </Stack>
            ))}
          </SimpleGrid>
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
