// Settings: this browser's theme and auto-refresh, the user's password, and for project
// admins the project's producer tokens and members.
import { useEffect, useState } from 'react';
import { useLocation } from 'react-router-dom';
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Code,
  CopyButton,
  Group,
  Modal,
  NumberInput,
  PasswordInput,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  useMantineColorScheme,
  type MantineColorScheme,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery } from '@tanstack/react-query';
import { ApiError, errorText } from '../api/client';
import { useChangePassword } from '../api/auth';
import {
  tokensQuery,
  useCreateToken,
  useRevokeToken,
} from '../api/projects';
import { thresholdsQuery, useSaveThresholds } from '../api/reports';
import type { NewToken } from '../api/types';
import { useCan, useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { ProjectMembers } from '../components/ProjectMembers';
import { formatDuration, formatRelative, formatTime, parseTimeInput } from '../lib/format';
import {
  REFRESH_CHOICES,
  setRefreshSeconds,
  setTimeZone,
  useRefetchInterval,
  useRefreshSeconds,
  useTimeZone,
  type RefreshSeconds,
  type TimeZonePref,
} from '../lib/prefs';

const fieldError = (err: unknown, field: string) =>
  err instanceof ApiError && err.field === field ? err.message : undefined;
const generalError = (err: unknown, fields: string[]) =>
  err && !(err instanceof ApiError && err.field && fields.includes(err.field)) ? errorText(err) : null;

function Appearance() {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const refresh = useRefreshSeconds();
  const zone = useTimeZone();
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        This browser
      </Title>
      <Stack>
        <div>
          <Text size="sm" mb={4}>
            Theme
          </Text>
          <SegmentedControl
            data-testid="theme-choice"
            value={colorScheme}
            onChange={(v) => setColorScheme(v as MantineColorScheme)}
            data={[
              { value: 'light', label: 'Light' },
              { value: 'dark', label: 'Dark' },
              { value: 'auto', label: 'System' },
            ]}
          />
        </div>
        <div>
          <Text size="sm" mb={4}>
            Auto-refresh of views that are not live (workers, overview, tokens, members)
          </Text>
          <SegmentedControl
            value={String(refresh)}
            onChange={(v) => setRefreshSeconds(Number(v) as RefreshSeconds)}
            data={REFRESH_CHOICES.map((s) => ({ value: String(s), label: s === 0 ? 'Off' : formatDuration(s) }))}
          />
        </div>
        <div>
          <Text size="sm" mb={4}>
            Times are shown in
          </Text>
          <SegmentedControl
            data-testid="zone-choice"
            value={zone}
            onChange={(v) => setTimeZone(v as TimeZonePref)}
            data={[
              { value: 'local', label: `Local (${Intl.DateTimeFormat().resolvedOptions().timeZone})` },
              { value: 'utc', label: 'UTC' },
            ]}
          />
          <Text size="xs" c="dimmed" mt={4}>
            Now: {formatTime(Date.now(), zone)}
          </Text>
        </div>
      </Stack>
    </Card>
  );
}

function Password() {
  const m = useChangePassword();
  const [cur, setCur] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const mismatch = again !== '' && next !== again;
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Password
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (mismatch) return;
          m.mutate(
            { current_password: cur, new_password: next },
            {
              onSuccess: () => {
                setCur('');
                setNext('');
                setAgain('');
                notifications.show({ color: 'teal', message: 'Password changed; your other sessions were signed out.' });
              },
            },
          );
        }}
      >
        <Stack maw={360}>
          <PasswordInput label="Current password" autoComplete="current-password" required value={cur} onChange={(e) => setCur(e.currentTarget.value)} error={fieldError(m.error, 'current_password')} />
          <PasswordInput label="New password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.currentTarget.value)} error={fieldError(m.error, 'new_password')} />
          <PasswordInput label="New password again" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.currentTarget.value)} error={mismatch ? 'the two new passwords differ' : undefined} />
          {generalError(m.error, ['current_password', 'new_password']) && <Alert color="red">{generalError(m.error, ['current_password', 'new_password'])}</Alert>}
          <Group>
            <Button type="submit" loading={m.isPending} disabled={mismatch}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

const SCOPES = ['read', 'write', 'admin'];

function Tokens({ slug }: { slug: string }) {
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...tokensQuery(slug), refetchInterval });
  const create = useCreateToken(slug);
  const revoke = useRevokeToken(slug);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read', 'write']);
  const [expires, setExpires] = useState('');
  const [shown, setShown] = useState<NewToken | null>(null);
  const [confirm, setConfirm] = useState<{ id: number; name: string } | null>(null);

  return (
    <Card withBorder data-testid="tokens">
      <Title order={4} mb="sm">
        API tokens
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { name, scopes, expires_at: expires ? new Date(parseTimeInput(expires)).toISOString() : null },
            {
              onSuccess: (t) => {
                setShown(t);
                setName('');
              },
            },
          );
        }}
      >
        <Group align="flex-end" mb="md">
          <TextInput label="Name" placeholder="trainer-01" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={fieldError(create.error, 'name')} />
          <Checkbox.Group label="Scopes" value={scopes} onChange={setScopes} error={fieldError(create.error, 'scopes')}>
            <Group gap="xs" mt={6}>
              {SCOPES.map((s) => (
                <Checkbox key={s} value={s} label={s} />
              ))}
            </Group>
          </Checkbox.Group>
          <TextInput type="datetime-local" label="Expires (optional)" value={expires} onChange={(e) => setExpires(e.currentTarget.value)} error={fieldError(create.error, 'expires_at')} />
          <Button type="submit" loading={create.isPending}>
            Create token
          </Button>
        </Group>
        {generalError(create.error, ['name', 'scopes', 'expires_at']) && (
          <Alert color="red" mb="sm">
            {generalError(create.error, ['name', 'scopes', 'expires_at'])}
          </Alert>
        )}
      </form>
      {q.isPending ? (
        <LoadingRows rows={3} />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <EmptyState title="No tokens yet">
          <Text size="sm" c="dimmed">
            Create one above and hand it to a producer: it sends runs with Authorization: Bearer rw_…
          </Text>
        </EmptyState>
      ) : (
        <Table fz="sm" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Token</Table.Th>
              <Table.Th>Scopes</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>Last used</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((t) => (
              <Table.Tr key={t.id}>
                <Table.Td>{t.name}</Table.Td>
                <Table.Td>
                  <Code>{t.prefix}…</Code>
                </Table.Td>
                <Table.Td>{(t.scopes ?? []).join(', ')}</Table.Td>
                <Table.Td>{formatTime(t.created_at)}</Table.Td>
                <Table.Td>{t.expires_at ? formatTime(t.expires_at) : 'never'}</Table.Td>
                <Table.Td>{t.last_used_at ? formatRelative(t.last_used_at) : 'never'}</Table.Td>
                <Table.Td>
                  {t.revoked_at ? (
                    <Badge color="gray" variant="light">
                      revoked {formatTime(t.revoked_at)}
                    </Badge>
                  ) : (
                    <Button size="xs" color="red" variant="subtle" onClick={() => setConfirm({ id: t.id ?? 0, name: t.name ?? '' })}>
                      Revoke
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Modal opened={shown !== null} onClose={() => setShown(null)} title="Your new token" size="lg">
        <Stack>
          <Text size="sm">Copy it now: it is shown only this once. Runwatch keeps only its hash.</Text>
          <Code block data-testid="new-token">
            {shown?.token}
          </Code>
          <Group justify="flex-end">
            <CopyButton value={shown?.token ?? ''}>
              {({ copied, copy }) => (
                <Button variant="light" onClick={copy}>
                  {copied ? 'Copied' : 'Copy'}
                </Button>
              )}
            </CopyButton>
            <Button onClick={() => setShown(null)}>Done</Button>
          </Group>
        </Stack>
      </Modal>
      <Modal opened={confirm !== null} onClose={() => setConfirm(null)} title="Revoke this token?">
        <Stack>
          <Text size="sm">Producers using “{confirm?.name}” are refused from now on.</Text>
          {revoke.error && <Alert color="red">{errorText(revoke.error)}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(null)}>
              Keep it
            </Button>
            <Button color="red" loading={revoke.isPending} onClick={() => confirm && revoke.mutate(confirm.id, { onSuccess: () => setConfirm(null) })}>
              Revoke
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}

const THRESHOLDS = [
  { key: 'stuck_after_s', label: 'Stuck after', hint: 'a running run without a heartbeat this long is stuck', min: 10, max: 604800 },
  { key: 'stale_after_s', label: 'Stale after', hint: 'a run queued this long is stale', min: 10, max: 2592000 },
  { key: 'lease_window_s', label: 'Lost leases shown for', hint: 'an attempt that lost its lease is listed this long', min: 60, max: 2592000 },
] as const;
type ThresholdKey = (typeof THRESHOLDS)[number]['key'];

/** Anomaly thresholds: every member sees them; project admins change them. */
function Thresholds({ slug, canAdmin }: { slug: string; canAdmin: boolean }) {
  const q = useQuery(thresholdsQuery(slug));
  const save = useSaveThresholds(slug);
  const [draft, setDraft] = useState<Partial<Record<ThresholdKey, number | string>>>({});
  const value = (k: ThresholdKey) => draft[k] ?? q.data?.[k] ?? '';
  return (
    <Card withBorder id="thresholds" data-testid="thresholds">
      <Title order={4} mb="sm">
        Anomaly thresholds
      </Title>
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.isPending ? (
        <LoadingRows rows={3} />
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const body = Object.fromEntries(THRESHOLDS.map((t) => [t.key, Number(value(t.key))])) as Record<ThresholdKey, number>;
            save.mutate(body, {
              onSuccess: () => {
                setDraft({});
                notifications.show({ color: 'teal', message: 'Anomaly thresholds saved.' });
              },
            });
          }}
        >
          <Stack maw={520} gap="sm">
            {THRESHOLDS.map((t) => (
              <NumberInput
                key={t.key}
                label={`${t.label} (seconds)`}
                description={`${t.hint}; now ${formatDuration(Number(value(t.key)) || null)}`}
                min={t.min}
                max={t.max}
                allowDecimal={false}
                disabled={!canAdmin}
                value={value(t.key)}
                onChange={(v) => setDraft((d) => ({ ...d, [t.key]: v }))}
                error={fieldError(save.error, t.key)}
              />
            ))}
            {generalError(save.error, THRESHOLDS.map((t) => t.key)) && (
              <Alert color="red">{generalError(save.error, THRESHOLDS.map((t) => t.key))}</Alert>
            )}
            {canAdmin ? (
              <Group>
                <Button type="submit" loading={save.isPending} data-testid="save-thresholds">
                  Save thresholds
                </Button>
                {q.data.updated_at && (
                  <Text size="xs" c="dimmed">
                    last changed {formatRelative(q.data.updated_at)}
                  </Text>
                )}
              </Group>
            ) : (
              <Text size="sm" c="dimmed">
                Project admins change the thresholds.
              </Text>
            )}
          </Stack>
        </form>
      )}
    </Card>
  );
}

export default function SettingsPage() {
  const { slug, name } = useProject();
  const canAdmin = useCan('admin');
  const { hash } = useLocation();
  // A link to one section (the Overview's "thresholds" → #thresholds) scrolls to it.
  useEffect(() => {
    if (hash) document.getElementById(hash.slice(1))?.scrollIntoView({ block: 'start' });
  }, [hash]);
  return (
    <Stack>
      <Title order={2}>Settings</Title>
      <Appearance />
      <Password />
      <Title order={3} mt="md">
        Project {name}
      </Title>
      {canAdmin ? <Tokens slug={slug} /> : <Text size="sm" c="dimmed">Project admins manage API tokens.</Text>}
      <ProjectMembers slug={slug} canAdmin={canAdmin} />
      <Thresholds slug={slug} canAdmin={canAdmin} />
    </Stack>
  );
}
