// A run's artifacts (GET /runs/{run}/artifacts): all of them or only its checkpoints, by
// step, newest first; stored ones link to their download. A producer (member) may promote
// an artifact of a succeeded run that has a sha256 to a named, versioned model or pipeline.
import { useState } from 'react';
import {
  Alert,
  Anchor,
  Button,
  Code,
  Modal,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { runArtifactsQuery, usePromote, type Artifact } from '../api/artifacts';
import { errorText } from '../api/client';
import { formatTime } from '../lib/format';
import { useCan } from './guards';
import { EmptyState, ErrorState, LoadingRows } from './QueryState';

/** Bytes for people: 512 B, 1.5 KiB, 16.0 MiB. */
function formatSize(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function PromoteModal({
  project,
  run,
  artifact,
  onClose,
}: {
  project: string;
  run: string;
  artifact: Artifact;
  onClose: () => void;
}) {
  const promote = usePromote(project, run);
  const [name, setName] = useState(artifact.name.replace(/\.[^.]*$/, ''));
  const [kind, setKind] = useState<'model' | 'pipeline'>('model');
  const [note, setNote] = useState('');
  return (
    <Modal opened onClose={onClose} title={`Promote ${artifact.name}`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          promote.mutate({ artifact: artifact.id, name, kind, note }, { onSuccess: onClose });
        }}
      >
        <Stack gap="sm">
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          <Select
            label="Kind"
            data={['model', 'pipeline']}
            value={kind}
            onChange={(v) => setKind(v === 'pipeline' ? 'pipeline' : 'model')}
            allowDeselect={false}
          />
          <TextInput label="Note" value={note} onChange={(e) => setNote(e.currentTarget.value)} />
          <Text size="xs" c="dimmed">
            sha256 <Code>{artifact.sha256}</Code>
          </Text>
          {promote.error && (
            <Alert color="red" role="alert">
              {errorText(promote.error)}
            </Alert>
          )}
          <Button type="submit" loading={promote.isPending}>
            Promote
          </Button>
        </Stack>
      </form>
    </Modal>
  );
}

export function RunArtifacts({
  project,
  run,
  succeeded,
}: {
  project: string;
  run: string;
  succeeded: boolean;
}) {
  const q = useQuery(runArtifactsQuery(project, run));
  const [view, setView] = useState<'all' | 'checkpoints'>('all');
  const [promoting, setPromoting] = useState<Artifact | null>(null);
  const canPromote = useCan('member') && succeeded;
  if (q.isPending) return <LoadingRows rows={4} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const items = view === 'checkpoints' ? q.data.filter((a) => a.kind === 'checkpoint') : q.data;
  return (
    <Stack gap="sm">
      <SegmentedControl
        w="fit-content"
        size="xs"
        value={view}
        onChange={(v) => setView(v === 'checkpoints' ? 'checkpoints' : 'all')}
        data={[
          { value: 'all', label: 'All artifacts' },
          { value: 'checkpoints', label: 'Checkpoints' },
        ]}
      />
      {items.length === 0 ? (
        <EmptyState title={view === 'checkpoints' ? 'No checkpoints' : 'No artifacts yet'}>
          <Text size="sm" c="dimmed">
            Producers register them with POST /api/v1/runs/{'{id}'}/artifacts (run.artifact in Python).
          </Text>
        </EmptyState>
      ) : (
        <Table striped withTableBorder fz="sm" data-testid="run-artifacts">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th style={{ textAlign: 'right' }}>Step</Table.Th>
              <Table.Th style={{ textAlign: 'right' }}>Size</Table.Th>
              <Table.Th>sha256</Table.Th>
              <Table.Th>Where</Table.Th>
              <Table.Th>Registered</Table.Th>
              {canPromote && <Table.Th />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((a) => (
              <Table.Tr key={a.id}>
                <Table.Td>{a.name}</Table.Td>
                <Table.Td>{a.kind}</Table.Td>
                <Table.Td style={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }}>
                  {a.step ?? '—'}
                </Table.Td>
                <Table.Td style={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }}>
                  {formatSize(a.size)}
                </Table.Td>
                <Table.Td>
                  <Code title={a.sha256 ?? undefined}>{a.sha256 ? a.sha256.slice(0, 12) : '—'}</Code>
                </Table.Td>
                <Table.Td style={{ wordBreak: 'break-all' }}>
                  {a.download ? (
                    <Anchor href={`${a.download}`} download>
                      download
                    </Anchor>
                  ) : (
                    <Text size="sm">{a.uri}</Text>
                  )}
                </Table.Td>
                <Table.Td>{formatTime(a.created_at)}</Table.Td>
                {canPromote && (
                  <Table.Td>
                    {a.sha256 && (
                      <Button size="compact-xs" variant="light" onClick={() => setPromoting(a)}>
                        Promote
                      </Button>
                    )}
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {canPromote && (
        <Text size="xs" c="dimmed">
          Promoted entries are listed on the <Anchor component={Link} to={`/p/${project}/artifacts`}>Artifacts</Anchor> page.
        </Text>
      )}
      {promoting && (
        <PromoteModal project={project} run={run} artifact={promoting} onClose={() => setPromoting(null)} />
      )}
    </Stack>
  );
}
