// Resources: the agent-lightning store's resources snapshots (an LLM endpoint, a prompt
// template: what its runners fetch by id), each with its versions. One id is selected
// (?id=): its versions, a line diff between two of them (?from=, ?to=; by default the one
// before the latest against the latest), and the rollouts that named it, each with the
// version that was the latest when its attempt started. The API redacts secrets in them.
import { useMemo } from 'react';
import { Anchor, Badge, Box, Button, Code, Grid, Group, ScrollArea, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { resourcesQuery, resourcesVersionsQuery, rolloutsQuery } from '../api/rollouts';
import type { ResourcesVersion } from '../api/types';
import { useProject } from '../components/guards';
import { JsonBlock } from '../components/Json';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { formatRelative, formatTime, shortId } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { jsonLineDiff, ROLLOUT_STATUS_COLOR } from '../lib/rollouts';
import { useNow } from '../lib/useNow';

function VersionDiff({ from, to }: { from: ResourcesVersion; to: ResourcesVersion }) {
  const lines = useMemo(() => jsonLineDiff(from.resources, to.resources), [from, to]);
  const changed = lines.filter((l) => l.op !== ' ').length;
  return (
    <Stack gap={4}>
      <Text size="xs" c="dimmed" data-testid="diff-summary">
        {changed === 0 ? 'No difference' : `${changed} changed line${changed === 1 ? '' : 's'}`} between v{from.version} and v
        {to.version}
      </Text>
      <ScrollArea.Autosize mah={420}>
        <Code block data-testid="resources-diff" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
          {lines.map((l, i) => (
            <Box
              key={i}
              component="span"
              display="block"
              data-op={l.op === '-' ? 'removed' : l.op === '+' ? 'added' : 'same'}
              c={l.op === '-' ? 'red' : l.op === '+' ? 'teal' : undefined}
              bg={l.op === '-' ? 'var(--mantine-color-red-light)' : l.op === '+' ? 'var(--mantine-color-teal-light)' : undefined}
            >
              {l.op} {l.text}
            </Box>
          ))}
        </Code>
      </ScrollArea.Autosize>
    </Stack>
  );
}

function UsedBy({ project, id }: { project: string; id: string }) {
  const q = useInfiniteQuery(rolloutsQuery(project, { resources_id: id }));
  const items = q.data?.pages[0]?.items ?? [];
  if (q.isPending) return <LoadingRows rows={3} height={18} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (items.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No rollout has named it yet.
      </Text>
    );
  return (
    <Stack gap={4}>
      <Table striped fz="sm" data-testid="resources-rollouts">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Rollout</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Version used</Table.Th>
            <Table.Th>Start</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((r) => (
            <Table.Tr key={r.id}>
              <Table.Td>
                <Anchor component={Link} to={`/p/${project}/runs/${r.id}`} ff="monospace" size="sm" title={r.id}>
                  {shortId(r.id)}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Badge size="sm" variant="light" tt="none" styles={{ root: { minWidth: 'max-content' } }} color={ROLLOUT_STATUS_COLOR[r.status ?? ''] ?? 'gray'}>
                  {r.status}
                </Badge>
              </Table.Td>
              <Table.Td>{r.resources_version ? `v${r.resources_version}` : '—'}</Table.Td>
              <Table.Td>{formatTime(r.created_at)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Anchor component={Link} to={`/p/${project}/rollouts?resources_id=${encodeURIComponent(id)}`} size="sm">
        All its rollouts in the Rollouts view
      </Anchor>
    </Stack>
  );
}

function ResourcesDetail({ project, id }: { project: string; id: string }) {
  const [sp, setSp] = useSearchParams();
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...resourcesVersionsQuery(project, id), refetchInterval });
  if (q.isPending) return <LoadingRows rows={8} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const versions = q.data.versions ?? [];
  const latest = versions[0];
  if (!latest) return null;
  const byNo = (v: string | null) => versions.find((x) => String(x.version) === v);
  const to = byNo(sp.get('to')) ?? latest;
  const from = byNo(sp.get('from')) ?? versions[1];
  const choices = versions.map((v) => ({ value: String(v.version), label: `v${v.version} · ${formatTime(v.created_at)}` }));
  const set = (k: string, v: string | null) => {
    const next = new URLSearchParams(sp);
    if (v) next.set(k, v);
    else next.delete(k);
    setSp(next, { replace: true });
  };
  return (
    <Stack gap="md" data-testid="resources-detail">
      <Group gap="sm">
        <Title order={3} ff="monospace">
          {id}
        </Title>
        <Badge variant="light">v{latest.version}</Badge>
        {q.data.latest && (
          <Badge color="teal" variant="filled">
            latest
          </Badge>
        )}
        <Text size="sm" c="dimmed">
          {versions.length} version{versions.length === 1 ? '' : 's'}
        </Text>
      </Group>
      <Table fz="sm" data-testid="resources-versions" withRowBorders={false}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Version</Table.Th>
            <Table.Th>Stored</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {versions.map((v, i) => {
            const prev = versions[i + 1];
            return (
              <Table.Tr key={v.version} data-testid="resources-version">
                <Table.Td>
                  v{v.version}{' '}
                  {i === 0 && (
                    <Badge size="xs" variant="light">
                      newest
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>{formatTime(v.created_at)}</Table.Td>
                <Table.Td>
                  {prev && (
                    <Button
                      size="compact-xs"
                      variant="subtle"
                      onClick={() => setSp(new URLSearchParams({ id, from: String(prev.version), to: String(v.version) }), { replace: true })}
                    >
                      Diff with v{prev.version}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {versions.length > 1 && from ? (
        <Stack gap="xs">
          <Group gap="sm">
            <Select aria-label="Diff from" size="xs" w={240} data={choices} value={String(from.version)} allowDeselect={false} onChange={(v) => set('from', v)} />
            <Text size="sm">→</Text>
            <Select aria-label="Diff to" size="xs" w={240} data={choices} value={String(to.version)} allowDeselect={false} onChange={(v) => set('to', v)} />
          </Group>
          <VersionDiff from={from} to={to} />
        </Stack>
      ) : (
        <Text size="sm" c="dimmed">
          One version: nothing to compare yet.
        </Text>
      )}
      <Stack gap={4}>
        <Text fw={600} size="sm">
          v{to.version} as stored
        </Text>
        <JsonBlock value={to.resources} mah={300} />
      </Stack>
      <Stack gap={4}>
        <Text fw={600} size="sm">
          Rollouts that used it
        </Text>
        <UsedBy project={project} id={id} />
      </Stack>
    </Stack>
  );
}

export default function ResourcesPage() {
  const { slug } = useProject();
  const [sp, setSp] = useSearchParams();
  const refetchInterval = useRefetchInterval();
  const q = useInfiniteQuery({ ...resourcesQuery(slug), refetchInterval });
  const items = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  const now = useNow(5000);
  const selected = sp.get('id') ?? items[0]?.resources_id ?? null;

  return (
    <Stack gap="sm">
      <Title order={2}>Resources</Title>
      {q.isPending ? (
        <LoadingRows rows={6} />
      ) : q.error && !q.data ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No resources yet">
          <Text size="sm" c="dimmed" maw={640}>
            agent-lightning's trainer posts its resources (LLM endpoints, prompt templates) to the store
            (POST /v1/agl/resources); every version is kept here.
          </Text>
        </EmptyState>
      ) : (
        <Grid>
          <Grid.Col span={{ base: 12, md: 5 }}>
            <Table highlightOnHover fz="sm" data-testid="resources-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Resources ID</Table.Th>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Rollouts</Table.Th>
                  <Table.Th>Updated</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((r) => (
                  <Table.Tr
                    key={r.resources_id}
                    data-testid="resources-row"
                    bg={r.resources_id === selected ? 'var(--mantine-primary-color-light)' : undefined}
                    style={{ cursor: 'pointer' }}
                    onClick={() => setSp({ id: r.resources_id ?? '' }, { replace: true })}
                  >
                    <Table.Td ff="monospace">
                      {r.resources_id}{' '}
                      {r.latest && (
                        <Badge size="xs" color="teal">
                          latest
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>
                      v{r.version}
                      <Text span size="xs" c="dimmed">{` of ${r.versions}`}</Text>
                    </Table.Td>
                    <Table.Td>{r.rollouts}</Table.Td>
                    <Table.Td title={formatTime(r.updated_at)}>{formatRelative(r.updated_at, now)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {q.hasNextPage && (
              <Button variant="default" size="xs" mt="xs" loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
                Load more
              </Button>
            )}
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 7 }}>{selected && <ResourcesDetail project={slug} id={selected} />}</Grid.Col>
        </Grid>
      )}
    </Stack>
  );
}
