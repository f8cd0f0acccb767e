// One span in a side drawer: name, ids (copyable), kind, status and its message, times,
// its attributes typed as they were sent (string, int, double, bool, bytes, array,
// kvlist: each with its type and a copy button), the resource's attributes, the
// instrumentation scope, events (offset from the span's start, with their attributes) and
// links.
import type { ReactNode } from 'react';
import {
  ActionIcon,
  Anchor,
  Badge,
  CopyButton,
  Drawer,
  Group,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { Link } from 'react-router-dom';
import type { AnyValue, Span } from '../../api/spans';
import { formatTime } from '../../lib/format';
import { formatNs, genAiOf, spanKindName, statusName, valueKind, valueText, type ValueKind } from '../../lib/trace';

const KIND_COLOR: Record<ValueKind, string> = {
  string: 'blue',
  int: 'teal',
  double: 'cyan',
  bool: 'grape',
  bytes: 'gray',
  array: 'orange',
  kvlist: 'yellow',
  empty: 'gray',
};

// Drawn, not a font glyph: the copy symbols are missing from common system fonts.
function CopyIcon() {
  return (
    <svg width="12" height="12" viewBox="0 0 12 12" fill="none" stroke="currentColor" strokeWidth="1.2" aria-hidden="true">
      <rect x="3.5" y="3.5" width="7" height="7" rx="1" />
      <path d="M8.5 1.5h-6a1 1 0 0 0-1 1v6" />
    </svg>
  );
}

export function Copy({ value, label }: { value: string; label: string }) {
  return (
    <CopyButton value={value} timeout={1500}>
      {({ copied, copy }) => (
        <Tooltip label={copied ? 'copied' : `copy ${label}`} withArrow>
          <ActionIcon size="xs" variant="subtle" color={copied ? 'teal' : 'gray'} onClick={copy} aria-label={`copy ${label}`}>
            {copied ? '✓' : <CopyIcon />}
          </ActionIcon>
        </Tooltip>
      )}
    </CopyButton>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Group gap="xs" wrap="nowrap" align="baseline">
      <Text size="xs" c="dimmed" w={90} style={{ flex: '0 0 90px' }}>
        {label}
      </Text>
      <Text size="sm" component="div" style={{ minWidth: 0, wordBreak: 'break-all' }}>
        {children}
      </Text>
    </Group>
  );
}

function IdField({ label, value }: { label: string; value: string | null | undefined }) {
  return (
    <Field label={label}>
      {value ? (
        <Group gap={4} wrap="nowrap">
          <Text span ff="monospace" size="sm" data-testid={`span-${label.replace(/ /g, '-')}`}>
            {value}
          </Text>
          <Copy value={value} label={label} />
        </Group>
      ) : (
        '—'
      )}
    </Field>
  );
}

/** Attributes as a table: key, the type sent, the value (copyable). */
export function Attributes({ attrs, testid }: { attrs: Record<string, AnyValue> | undefined; testid: string }) {
  const keys = Object.keys(attrs ?? {}).sort();
  if (keys.length === 0)
    return (
      <Text size="xs" c="dimmed">
        none
      </Text>
    );
  return (
    <Table fz="xs" verticalSpacing={2} data-testid={testid} layout="fixed">
      <Table.Tbody>
        {keys.map((k) => {
          const v = attrs![k];
          const kind = valueKind(v);
          const text = valueText(v);
          return (
            <Table.Tr key={k} data-attr={k} data-kind={kind}>
              <Table.Td w="34%" style={{ wordBreak: 'break-all' }} ff="monospace">
                {k}
              </Table.Td>
              <Table.Td w={70}>
                <Badge size="xs" variant="light" tt="none" color={KIND_COLOR[kind]} data-testid="attr-kind">
                  {kind}
                </Badge>
              </Table.Td>
              <Table.Td ff="monospace" style={{ wordBreak: 'break-word', whiteSpace: 'pre-wrap' }} data-testid="attr-value">
                {kind === 'string' ? text : kind === 'empty' ? '∅' : text}
              </Table.Td>
              <Table.Td w={30}>
                <Copy value={text} label={k} />
              </Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Stack gap={4}>
      <Title order={6}>{title}</Title>
      {children}
    </Stack>
  );
}

function offsetNs(from: string | undefined, at: string | undefined): number | null {
  try {
    return Number(BigInt(at ?? '') - BigInt(from ?? ''));
  } catch {
    return null;
  }
}

export function SpanDrawer({
  span,
  project,
  onClose,
}: {
  span: Span | null;
  project: string;
  onClose: () => void;
}) {
  const s = span;
  const g = s ? genAiOf(s) : null;
  const status = statusName(s?.status?.code);
  return (
    <Drawer
      opened={s !== null}
      onClose={onClose}
      position="right"
      size="xl"
      title={
        <Text fw={600} data-testid="span-drawer-title">
          {s?.name}
        </Text>
      }
    >
      {s && (
        <Stack gap="md" data-testid="span-drawer">
          <Stack gap={4}>
            <IdField label="span id" value={s.span_id} />
            <IdField label="trace id" value={s.trace_id} />
            <IdField label="parent id" value={s.parent_span_id} />
            <Field label="kind">{spanKindName(s.kind)}</Field>
            <Field label="status">
              <Badge size="sm" color={status === 'error' ? 'red' : status === 'ok' ? 'green' : 'gray'} variant="light" data-testid="span-status">
                {status}
              </Badge>{' '}
              {s.status?.message}
            </Field>
            <Field label="start">
              {formatTime(s.start_at)} <Text span size="xs" c="dimmed" ff="monospace">{s.start_time_unix_nano} ns</Text>
            </Field>
            <Field label="end">
              {formatTime(s.end_at)} <Text span size="xs" c="dimmed" ff="monospace">{s.end_time_unix_nano} ns</Text>
            </Field>
            <Field label="duration">
              <span data-testid="span-drawer-duration">{formatNs(s.duration_ns)}</span>
            </Field>
            {g && (
              <Field label="LLM call">
                {g.model ?? '—'} · {g.inputTokens ?? '?'} in · {g.outputTokens ?? '?'} out
              </Field>
            )}
            {s.run_id && (
              <Field label="run">
                <Anchor component={Link} to={`/p/${project}/runs/${s.run_id}`} ff="monospace" size="sm">
                  {s.run_id}
                </Anchor>
                {s.attempt !== null && s.attempt !== undefined ? ` · attempt ${s.attempt}` : ''}
              </Field>
            )}
          </Stack>
          <Section title={`Attributes${s.dropped_attributes_count ? ` (${s.dropped_attributes_count} dropped)` : ''}`}>
            <Attributes attrs={s.attributes} testid="span-attributes" />
          </Section>
          <Section title={`Events (${s.events?.length ?? 0})`}>
            {(s.events ?? []).length === 0 ? (
              <Text size="xs" c="dimmed">
                none
              </Text>
            ) : (
              <Stack gap="xs" data-testid="span-events">
                {(s.events ?? []).map((e, i) => (
                  <Stack key={i} gap={2}>
                    <Text size="sm">
                      <Text span ff="monospace" c="dimmed" size="xs">
                        +{formatNs(offsetNs(s.start_time_unix_nano, e.time_unix_nano))}
                      </Text>{' '}
                      {e.name}
                    </Text>
                    <Attributes attrs={e.attributes as Record<string, AnyValue> | undefined} testid="event-attributes" />
                  </Stack>
                ))}
              </Stack>
            )}
          </Section>
          <Section title={`Links (${s.links?.length ?? 0})`}>
            {(s.links ?? []).length === 0 ? (
              <Text size="xs" c="dimmed">
                none
              </Text>
            ) : (
              <Stack gap="xs" data-testid="span-links">
                {(s.links ?? []).map((l, i) => (
                  <Stack key={i} gap={2}>
                    <Group gap={4}>
                      <Anchor component={Link} to={`/p/${project}/traces/${l.trace_id}?span=${l.span_id}`} ff="monospace" size="xs">
                        {l.trace_id} / {l.span_id}
                      </Anchor>
                      <Copy value={`${l.trace_id}/${l.span_id}`} label="link" />
                    </Group>
                    <Attributes attrs={l.attributes as Record<string, AnyValue> | undefined} testid="link-attributes" />
                  </Stack>
                ))}
              </Stack>
            )}
          </Section>
          <Section title="Resource">
            <Attributes attrs={s.resource?.attributes as Record<string, AnyValue> | undefined} testid="resource-attributes" />
          </Section>
          <Section title="Scope">
            <Text size="sm" ff="monospace">
              {s.scope?.name || '—'}
              {s.scope?.version ? ` ${s.scope.version}` : ''}
            </Text>
            {s.scope?.attributes && Object.keys(s.scope.attributes).length > 0 && (
              <Attributes attrs={s.scope.attributes as Record<string, AnyValue>} testid="scope-attributes" />
            )}
          </Section>
        </Stack>
      )}
    </Drawer>
  );
}
