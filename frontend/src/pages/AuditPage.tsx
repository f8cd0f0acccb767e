// Audit: the audit log, newest first, filtered by actor (an email or a token prefix),
// action (one, or a family such as `user`), project and time, in cursor pages. The view is
// the URL (`?actor=&action=&project=&since=&until=`), so it can be shared. Instance admins
// read every project's entries; a project's admins read that project's only.
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Badge, Button, Code, Group, Select, Stack, Table, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { auditQuery, type AuditFilters } from '../api/admin';
import { useMe, useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { formatTime, parseTimeInput, toTimeInput, truncateJson } from '../lib/format';

const ACTIONS = ['auth', 'user', 'project', 'member', 'token', 'report', 'anomaly_thresholds'];

function toIso(local: string): string {
  const ms = parseTimeInput(local);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

export default function AuditPage() {
  const me = useMe();
  const project = useProject();
  const isAdmin = !!me.user?.is_admin;
  const [params, setParams] = useSearchParams();
  const f: AuditFilters = {
    // A project admin reads their project's entries only (the API insists too).
    project: isAdmin ? params.get('project') ?? '' : project.slug,
    actor: params.get('actor') ?? '',
    action: params.get('action') ?? '',
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
  };
  const [actor, setActor] = useState(f.actor);
  const [since, setSince] = useState(toTimeInput(f.since || null));
  const [until, setUntil] = useState(toTimeInput(f.until || null));
  const q = useInfiniteQuery(auditQuery(f));
  const set = (patch: Partial<AuditFilters>) => {
    const next = { ...f, ...patch };
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v && !(k === 'project' && !isAdmin)) sp.set(k, v);
    setParams(sp, { replace: true });
  };
  const entries = q.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <Stack>
      <Title order={2}>Audit</Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          set({ actor: actor.trim(), since: since ? toIso(since) : '', until: until ? toIso(until) : '' });
        }}
      >
        <Group gap="xs" align="flex-end" data-testid="audit-filters">
          <TextInput size="xs" label="Actor" placeholder="email or token prefix" data-kb-search value={actor} onChange={(e) => setActor(e.currentTarget.value)} w={200} />
          <Select
            size="xs"
            label="Action"
            placeholder="any"
            clearable
            searchable
            w={150}
            data={ACTIONS.map((a) => ({ value: a, label: `${a}.*` }))}
            value={f.action || null}
            onChange={(v) => set({ action: v ?? '' })}
            data-testid="audit-action"
          />
          {isAdmin && (
            <Select
              size="xs"
              label="Project"
              placeholder="all"
              clearable
              w={150}
              data={(me.projects ?? []).map((p) => ({ value: p.slug ?? '', label: p.name ?? p.slug ?? '' }))}
              value={f.project || null}
              onChange={(v) => set({ project: v ?? '' })}
            />
          )}
          <TextInput size="xs" type="datetime-local" label="Since" value={since} onChange={(e) => setSince(e.currentTarget.value)} w={190} />
          <TextInput size="xs" type="datetime-local" label="Until" value={until} onChange={(e) => setUntil(e.currentTarget.value)} w={190} />
          <Button size="xs" type="submit">
            Apply
          </Button>
        </Group>
      </form>
      {q.isPending ? (
        <LoadingRows rows={8} />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : entries.length === 0 ? (
        <EmptyState title="No entries match">
          <Text size="sm" c="dimmed">
            Every login, user, member, token and project change is recorded; widen the filters.
          </Text>
        </EmptyState>
      ) : (
        <>
          <Table.ScrollContainer minWidth={760}>
            <Table fz="sm" striped data-testid="audit-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Project</Table.Th>
                  <Table.Th>Details</Table.Th>
                  <Table.Th>Address</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {entries.map((e) => (
                  <Table.Tr key={e.id} data-kb-row={e.id} data-action={e.action}>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatTime(e.ts)}</Table.Td>
                    <Table.Td>
                      {e.actor_email ? (
                        <Text size="sm" component="button" onClick={() => { setActor(e.actor_email ?? ''); set({ actor: e.actor_email ?? '' }); }} style={{ background: 'none', border: 0, padding: 0, cursor: 'pointer', color: 'inherit' }}>
                          {e.actor_email}
                        </Text>
                      ) : e.actor_token ? (
                        <Code>{e.actor_token}</Code>
                      ) : (
                        <Text size="sm" c="dimmed">
                          system
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color="gray" tt="none">
                        {e.action}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{e.target ?? ''}</Table.Td>
                    <Table.Td>{e.project ?? ''}</Table.Td>
                    <Table.Td>
                      <Tooltip label={JSON.stringify(e.details)} multiline maw={480} disabled={!e.details}>
                        <Text size="xs" ff="monospace">
                          {truncateJson(e.details, 60)}
                        </Text>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td ff="monospace">{e.ip ?? ''}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {q.hasNextPage && (
            <Button variant="default" size="xs" onClick={() => void q.fetchNextPage()} loading={q.isFetchingNextPage} data-testid="audit-more">
              Load more
            </Button>
          )}
        </>
      )}
    </Stack>
  );
}
