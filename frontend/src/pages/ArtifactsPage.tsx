// The project's artifacts: the promoted models and pipelines with their lineage (the run
// they came from, its experiment, the sha256, who promoted them; demoted ones on request,
// with who and why), and the project's checkpoints, newest first. Demoting is a project
// admin's (the API checks; the button shows only to them).
import { useState } from 'react';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Group,
  Modal,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import {
  projectCheckpointsQuery,
  promotionsQuery,
  useDemote,
  type Promotion,
} from '../api/artifacts';
import { errorText } from '../api/client';
import { useCan, useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { formatTime, shortId } from '../lib/format';

function DemoteModal({ project, p, onClose }: { project: string; p: Promotion; onClose: () => void }) {
  const demote = useDemote(project);
  const [reason, setReason] = useState('');
  return (
    <Modal opened onClose={onClose} title={`Demote ${p.name} v${p.version}`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          demote.mutate({ id: p.id, reason }, { onSuccess: onClose });
        }}
      >
        <Stack gap="sm">
          <TextInput label="Reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
          {demote.error && (
            <Alert color="red" role="alert">
              {errorText(demote.error)}
            </Alert>
          )}
          <Button type="submit" color="red" loading={demote.isPending}>
            Demote
          </Button>
        </Stack>
      </form>
    </Modal>
  );
}

function Promotions({ project }: { project: string }) {
  const [demoted, setDemoted] = useState(false);
  const [demoting, setDemoting] = useState<Promotion | null>(null);
  const isAdmin = useCan('admin');
  const q = useQuery(promotionsQuery(project, demoted));
  return (
    <Stack gap="sm">
      <Switch
        label="Show demoted"
        checked={demoted}
        onChange={(e) => setDemoted(e.currentTarget.checked)}
      />
      {q.isPending ? (
        <LoadingRows rows={4} />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <EmptyState title="Nothing promoted yet">
          <Text size="sm" c="dimmed">
            Promote a succeeded run&apos;s artifact from its Artifacts tab.
          </Text>
        </EmptyState>
      ) : (
        <Table striped withTableBorder fz="sm" data-testid="promotions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Entry</Table.Th>
              <Table.Th>sha256</Table.Th>
              <Table.Th>Artifact</Table.Th>
              <Table.Th>Run</Table.Th>
              <Table.Th>Experiment</Table.Th>
              <Table.Th>Promoted</Table.Th>
              <Table.Th>State</Table.Th>
              {isAdmin && <Table.Th />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((p) => {
              const run = p.run as unknown as { id: string; name?: string | null; status?: string };
              const art = (p.artifact ?? {}) as unknown as { name?: string };
              const exp = p.experiment as unknown as { id: number; name?: string | null } | null | undefined;
              return (
                <Table.Tr key={p.id}>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <Text fw={600} size="sm">
                        {p.name}
                      </Text>
                      <Badge size="sm" variant="light">
                        v{p.version}
                      </Badge>
                      <Badge size="sm" variant="outline">
                        {p.kind}
                      </Badge>
                    </Group>
                    {p.note && (
                      <Text size="xs" c="dimmed">
                        {p.note}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Code title={p.sha256}>{p.sha256.slice(0, 12)}</Code>
                  </Table.Td>
                  <Table.Td>{art.name ?? '—'}</Table.Td>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <Anchor component={Link} to={`/p/${project}/runs/${run.id}?tab=artifacts`}>
                        {run.name || shortId(run.id)}
                      </Anchor>
                      {run.status && <StatusBadge status={run.status} />}
                    </Group>
                  </Table.Td>
                  <Table.Td>{exp ? exp.name ?? `#${exp.id}` : '—'}</Table.Td>
                  <Table.Td>
                    <Text size="sm">{p.promoted_by ?? '—'}</Text>
                    <Text size="xs" c="dimmed">
                      {formatTime(p.promoted_at)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    {p.demoted_at ? (
                      <Stack gap={0}>
                        <Badge color="gray" size="sm">
                          demoted
                        </Badge>
                        <Text size="xs" c="dimmed">
                          {p.demoted_by} · {formatTime(p.demoted_at)}
                          {p.demote_reason ? ` · ${p.demote_reason}` : ''}
                        </Text>
                      </Stack>
                    ) : (
                      <Badge color="teal" size="sm">
                        live
                      </Badge>
                    )}
                  </Table.Td>
                  {isAdmin && (
                    <Table.Td>
                      {!p.demoted_at && (
                        <Button size="compact-xs" variant="light" color="red" onClick={() => setDemoting(p)}>
                          Demote
                        </Button>
                      )}
                    </Table.Td>
                  )}
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      {demoting && <DemoteModal project={project} p={demoting} onClose={() => setDemoting(null)} />}
    </Stack>
  );
}

function Checkpoints({ project }: { project: string }) {
  const q = useQuery(projectCheckpointsQuery(project));
  if (q.isPending) return <LoadingRows rows={4} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data.length === 0) return <EmptyState title="No checkpoints yet" />;
  return (
    <Table striped withTableBorder fz="sm" data-testid="project-checkpoints">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th style={{ textAlign: 'right' }}>Step</Table.Th>
          <Table.Th>Run</Table.Th>
          <Table.Th>Where</Table.Th>
          <Table.Th>Registered</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {q.data.map((a) => (
          <Table.Tr key={a.id}>
            <Table.Td>{a.name}</Table.Td>
            <Table.Td style={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }}>{a.step ?? '—'}</Table.Td>
            <Table.Td>
              {a.run && (
                <Anchor component={Link} to={`/p/${project}/runs/${a.run.id}?tab=artifacts`}>
                  {a.run.name || shortId(a.run.id)}
                </Anchor>
              )}
            </Table.Td>
            <Table.Td style={{ wordBreak: 'break-all' }}>{a.uri ?? (a.download ? 'stored' : '—')}</Table.Td>
            <Table.Td>{formatTime(a.created_at)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export default function ArtifactsPage() {
  const { slug } = useProject();
  const [tab, setTab] = useState<string | null>('promoted');
  return (
    <Stack gap="md">
      <Title order={2}>Artifacts</Title>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="promoted">Promoted</Tabs.Tab>
          <Tabs.Tab value="checkpoints">Checkpoints</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="promoted" pt="sm">
          <Promotions project={slug} />
        </Tabs.Panel>
        <Tabs.Panel value="checkpoints" pt="sm">
          <Checkpoints project={slug} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
