// Rollouts: the agent-lightning store's rollouts (the project's runs of kind `rollout`) in
// the columns of agent-lightning's dashboard. A rollout with several attempts expands to
// them, fetched when it is opened; Raw JSON shows the row as the API sent it, View traces
// opens the run's Traces tab. The filters are the URL (?status=, ?resources_id=), so the
// Resources page links to the rollouts that used a snapshot.
import { Fragment, useCallback, useMemo, useState } from 'react';
import { ActionIcon, Anchor, Badge, Button, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { rolloutAttemptsQuery, rolloutsQuery } from '../api/rollouts';
import type { Rollout, RolloutAttempt } from '../api/types';
import { useProject } from '../components/guards';
import { JsonDrawer } from '../components/Json';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { durationBetween, formatDuration, formatRelative, formatTime, shortId } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { inputPreview, ROLLOUT_STATUS_COLOR, rolloutStatusLabel } from '../lib/rollouts';
import { useNow } from '../lib/useNow';

const STATUSES = ['queuing', 'preparing', 'running', 'requeuing', 'succeeded', 'failed', 'cancelled'];
const COLUMNS = 12;
const BADGE_STYLES = { root: { minWidth: 'max-content' } } as const;

function StatusCell({ rollout, attempt }: { rollout: string | undefined; attempt: string | undefined }) {
  const label = rolloutStatusLabel(rollout, attempt);
  const color = ROLLOUT_STATUS_COLOR[attempt && attempt !== rollout ? attempt : (rollout ?? '')] ?? 'gray';
  return (
    // A badge's min-content width is its padding (its label hides its overflow): in a crowded
    // table the cell would shrink it to "run…".
    <Badge color={color} variant="light" size="sm" tt="none" styles={BADGE_STYLES} data-testid="rollout-status">
      {label}
    </Badge>
  );
}

function AttemptRows({
  project,
  rollout,
  now,
  onRaw,
}: {
  project: string;
  rollout: Rollout;
  now: number;
  onRaw: (title: string, v: unknown) => void;
}) {
  const q = useQuery(rolloutAttemptsQuery(project, rollout.id ?? ''));
  if (q.isPending)
    return (
      <Table.Tr>
        <Table.Td colSpan={COLUMNS}>
          <LoadingRows rows={2} height={18} />
        </Table.Td>
      </Table.Tr>
    );
  if (q.error)
    return (
      <Table.Tr>
        <Table.Td colSpan={COLUMNS}>
          <ErrorState error={q.error} onRetry={() => void q.refetch()} />
        </Table.Td>
      </Table.Tr>
    );
  return (
    <>
      {q.data.map((a: RolloutAttempt) => (
        <Table.Tr key={a.seq} data-testid="attempt-row" bg="var(--mantine-color-default-hover)">
          <Table.Td />
          <Table.Td c="dimmed">↳</Table.Td>
          <Table.Td>{a.seq}</Table.Td>
          <Table.Td />
          <Table.Td>
            <StatusCell rollout={a.status} attempt={undefined} />
          </Table.Td>
          <Table.Td />
          <Table.Td />
          <Table.Td>{formatTime(a.created_at)}</Table.Td>
          <Table.Td>{formatDuration(durationBetween(a.created_at, a.ended_at, now))}</Table.Td>
          <Table.Td title={formatTime(a.last_heartbeat_at)}>{formatRelative(a.last_heartbeat_at, now)}</Table.Td>
          <Table.Td>{a.worker ?? '—'}</Table.Td>
          <Table.Td>
            <Group gap={4} wrap="nowrap">
              <Button size="compact-xs" variant="subtle" onClick={() => onRaw(`Attempt ${a.seq}`, a)}>
                Raw JSON
              </Button>
              <Button
                size="compact-xs"
                variant="subtle"
                component={Link}
                to={`/p/${project}/runs/${rollout.id}?tab=traces`}
              >
                View traces
              </Button>
            </Group>
          </Table.Td>
        </Table.Tr>
      ))}
    </>
  );
}

export default function RolloutsPage() {
  const { slug } = useProject();
  const [sp, setSp] = useSearchParams();
  const status = sp.get('status') ?? undefined;
  const resourcesId = sp.get('resources_id') ?? undefined;
  const params = useMemo(() => ({ status, resources_id: resourcesId }), [status, resourcesId]);
  const refetchInterval = useRefetchInterval();
  const q = useInfiniteQuery({ ...rolloutsQuery(slug, params), refetchInterval });
  const rollouts = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  const now = useNow(1000);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const [raw, setRaw] = useState<{ title: string; value: unknown } | null>(null);
  const onRaw = useCallback((title: string, value: unknown) => setRaw({ title, value }), []);
  const setParam = (k: string, v: string | null) => {
    const next = new URLSearchParams(sp);
    if (v) next.set(k, v);
    else next.delete(k);
    setSp(next, { replace: true });
  };

  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={2}>Rollouts</Title>
        {q.data && (
          <Text size="sm" c="dimmed" data-testid="rollouts-count">
            {rollouts.length} loaded{q.hasNextPage ? ', more below' : ''}
          </Text>
        )}
      </Group>
      <Group gap="sm">
        <Select
          aria-label="Status"
          placeholder="Any status"
          clearable
          w={180}
          size="xs"
          data={STATUSES}
          value={status ?? null}
          onChange={(v) => setParam('status', v)}
        />
        {resourcesId && (
          <Badge variant="outline" size="lg" rightSection={
            <ActionIcon size="xs" variant="transparent" aria-label="Clear resources filter" onClick={() => setParam('resources_id', null)}>
              ×
            </ActionIcon>
          }>
            resources {resourcesId}
          </Badge>
        )}
      </Group>
      {q.isPending ? (
        <LoadingRows rows={10} />
      ) : q.error && !q.data ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : rollouts.length === 0 ? (
        <EmptyState title={status || resourcesId ? 'No rollouts match' : 'No rollouts yet'}>
          <Text size="sm" c="dimmed" maw={640}>
            Rollouts are the runs agent-lightning enqueues through this project's store: point its
            LightningStoreClient at /agl/&lt;project token&gt; (docs/AGENT_LIGHTNING.md).
          </Text>
        </EmptyState>
      ) : (
        <>
          <Table.ScrollContainer minWidth={1100}>
            <Table
              striped
              highlightOnHover
              horizontalSpacing="xs"
              data-testid="rollouts-table"
              fz="sm"
              style={{ whiteSpace: 'nowrap' }}
            >
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={28} />
                  <Table.Th>Rollout</Table.Th>
                  <Table.Th>Attempt</Table.Th>
                  <Table.Th>Input</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Resources ID</Table.Th>
                  <Table.Th>Mode</Table.Th>
                  <Table.Th>Start</Table.Th>
                  <Table.Th>Duration</Table.Th>
                  <Table.Th>Last heartbeat</Table.Th>
                  <Table.Th>Worker</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rollouts.map((r) => {
                  const id = r.id ?? '';
                  const a = r.attempt ?? undefined;
                  const many = (r.attempts ?? 0) > 1;
                  return (
                    <Fragment key={id}>
                      <Table.Tr data-testid="rollout-row" data-rollout-id={id} data-kb-row={id}>
                        <Table.Td>
                          {many && (
                            <ActionIcon
                              size="sm"
                              variant="subtle"
                              aria-label={open[id] ? 'Hide attempts' : 'Show attempts'}
                              aria-expanded={!!open[id]}
                              data-testid="rollout-expand"
                              onClick={() => setOpen((o) => ({ ...o, [id]: !o[id] }))}
                            >
                              {open[id] ? '▾' : '▸'}
                            </ActionIcon>
                          )}
                        </Table.Td>
                        <Table.Td>
                          <Anchor component={Link} to={`/p/${slug}/runs/${id}`} ff="monospace" size="sm" title={id}>
                            {shortId(id)}
                          </Anchor>
                        </Table.Td>
                        <Table.Td>{a ? `${a.seq}${many ? ` of ${r.attempts}` : ''}` : '—'}</Table.Td>
                        <Table.Td ff="monospace" title={r.input === undefined ? '' : JSON.stringify(r.input)}>
                          {inputPreview(r.input)}
                        </Table.Td>
                        <Table.Td>
                          <StatusCell rollout={r.status} attempt={a?.status} />
                        </Table.Td>
                        <Table.Td>
                          {r.resources_id ? (
                            <Anchor
                              component={Link}
                              to={`/p/${slug}/resources?id=${encodeURIComponent(r.resources_id)}`}
                              ff="monospace"
                              size="sm"
                            >
                              {r.resources_id}
                              {r.resources_version ? ` v${r.resources_version}` : ''}
                            </Anchor>
                          ) : (
                            '—'
                          )}
                        </Table.Td>
                        <Table.Td>{r.mode ?? '—'}</Table.Td>
                        <Table.Td>{formatTime(r.created_at)}</Table.Td>
                        <Table.Td>{formatDuration(durationBetween(r.created_at, r.ended_at, now))}</Table.Td>
                        <Table.Td title={formatTime(a?.last_heartbeat_at)}>
                          {formatRelative(a?.last_heartbeat_at, now)}
                        </Table.Td>
                        <Table.Td>{a?.worker ?? '—'}</Table.Td>
                        <Table.Td>
                          <Group gap={4} wrap="nowrap">
                            <Button size="compact-xs" variant="subtle" onClick={() => onRaw(`Rollout ${id}`, r)}>
                              Raw JSON
                            </Button>
                            <Button
                              size="compact-xs"
                              variant="subtle"
                              component={Link}
                              to={`/p/${slug}/runs/${id}?tab=traces`}
                            >
                              View traces
                            </Button>
                          </Group>
                        </Table.Td>
                      </Table.Tr>
                      {many && open[id] && <AttemptRows project={slug} rollout={r} now={now} onRaw={onRaw} />}
                    </Fragment>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {q.hasNextPage && (
            <Group justify="center">
              <Button variant="default" size="xs" loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
                Load more
              </Button>
            </Group>
          )}
          {q.error && <ErrorState error={q.error} onRetry={() => void q.refetch()} />}
        </>
      )}
      <JsonDrawer title={raw?.title ?? ''} value={raw?.value} opened={raw !== null} onClose={() => setRaw(null)} />
    </Stack>
  );
}
