// A project's traces: the list of traces (GET /traces: root span name, span count, errors,
// duration, start), newest first, and a search of single spans (GET /spans: name,
// attribute key=value, status, least duration, time range). Filters live in the URL and
// apply on Search; a trace or a span opens the trace page.
import { useState, type FormEvent } from 'react';
import {
  Anchor,
  Badge,
  Button,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { spanSearchQuery, tracesListQuery, type Span, type TraceSummary } from '../api/spans';
import { useProject } from '../components/guards';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { formatTime, parseTimeInput, toTimeInput } from '../lib/format';
import { formatNs, genAiOf, statusName } from '../lib/trace';

const TRACE_FIELDS = ['name', 'from', 'to'] as const;
const SPAN_FIELDS = ['name', 'attr', 'status', 'min_duration_ms', 'from', 'to'] as const;

/** A datetime-local value (the zone chosen in Settings) as RFC 3339 UTC, or '' when unset. */
function toRfc3339(local: string): string {
  if (!local) return '';
  const ms = parseTimeInput(local);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/** RFC 3339 back to a datetime-local value. */
function toLocal(iso: string | null): string {
  return iso ? toTimeInput(iso) : '';
}

function pick(params: URLSearchParams, fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = params.get(f);
    if (v) out[f] = v;
  }
  return out;
}

function StatusBadge({ code }: { code: number | undefined }) {
  const s = statusName(code);
  return (
    <Badge size="xs" variant="light" color={s === 'error' ? 'red' : s === 'ok' ? 'green' : 'gray'}>
      {s}
    </Badge>
  );
}

function TraceList({ slug, filters }: { slug: string; filters: Record<string, string> }) {
  const q = useInfiniteQuery(tracesListQuery(slug, filters));
  if (q.isPending) return <LoadingRows rows={6} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const items: TraceSummary[] = q.data.pages.flatMap((p) => p.items);
  if (items.length === 0)
    return (
      <EmptyState title={Object.keys(filters).length ? 'No trace matches these filters' : 'No traces yet'}>
        <Text size="sm" c="dimmed" maw={640} ta="center">
          Point an OpenTelemetry exporter at {window.location.origin}/v1/traces with a project token
          (Authorization: Bearer rw_…). A trace is listed once its root span has arrived.
        </Text>
      </EmptyState>
    );
  return (
    <Stack gap="xs">
      <Table fz="sm" striped highlightOnHover data-testid="traces-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>root span</Table.Th>
            <Table.Th>spans</Table.Th>
            <Table.Th>errors</Table.Th>
            <Table.Th>duration</Table.Th>
            <Table.Th>start</Table.Th>
            <Table.Th>trace</Table.Th>
            <Table.Th>run</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((t) => (
            <Table.Tr key={`${t.trace_id}:${t.root_span_id}`} data-trace-id={t.trace_id} data-kb-row={`${t.trace_id}:${t.root_span_id}`}>
              <Table.Td>
                <Anchor component={Link} to={`/p/${slug}/traces/${t.trace_id}`} size="sm">
                  {t.root_name || '(unnamed)'}
                </Anchor>
              </Table.Td>
              <Table.Td>{t.span_count}</Table.Td>
              <Table.Td>
                {t.error_count > 0 ? (
                  <Badge size="sm" color="red" variant="light">
                    {t.error_count}
                  </Badge>
                ) : (
                  0
                )}
              </Table.Td>
              <Table.Td ff="monospace">{formatNs(t.duration_ns)}</Table.Td>
              <Table.Td>{formatTime(t.start_at)}</Table.Td>
              <Table.Td ff="monospace" c="dimmed">
                {t.trace_id.slice(0, 12)}
              </Table.Td>
              <Table.Td>
                {t.run_id ? (
                  <Anchor component={Link} to={`/p/${slug}/runs/${t.run_id}?tab=traces`} ff="monospace" size="sm">
                    {t.run_id.slice(0, 8)}
                  </Anchor>
                ) : (
                  '—'
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {q.hasNextPage && (
        <Button variant="default" size="xs" onClick={() => void q.fetchNextPage()} loading={q.isFetchingNextPage}>
          More traces
        </Button>
      )}
    </Stack>
  );
}

function SpanResults({ slug, filters }: { slug: string; filters: Record<string, string> }) {
  const q = useInfiniteQuery(spanSearchQuery(slug, filters));
  if (q.isPending) return <LoadingRows rows={6} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const items: Span[] = q.data.pages.flatMap((p) => p.items);
  if (items.length === 0) return <EmptyState title="No span matches these filters" />;
  return (
    <Stack gap="xs">
      <Table fz="sm" striped highlightOnHover data-testid="spans-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>span</Table.Th>
            <Table.Th>status</Table.Th>
            <Table.Th>duration</Table.Th>
            <Table.Th>LLM</Table.Th>
            <Table.Th>start</Table.Th>
            <Table.Th>trace</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((s) => {
            const g = genAiOf(s);
            return (
              <Table.Tr key={`${s.trace_id}:${s.span_id}`} data-span-id={s.span_id} data-kb-row={`${s.trace_id}:${s.span_id}`}>
                <Table.Td>
                  <Anchor component={Link} to={`/p/${slug}/traces/${s.trace_id}?span=${s.span_id}`} size="sm">
                    {s.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <StatusBadge code={s.status?.code} />
                </Table.Td>
                <Table.Td ff="monospace">{formatNs(s.duration_ns)}</Table.Td>
                <Table.Td ff="monospace" fz="xs">
                  {g ? `${g.model ?? 'llm'} ${g.inputTokens ?? '?'}→${g.outputTokens ?? '?'}` : ''}
                </Table.Td>
                <Table.Td>{formatTime(s.start_at)}</Table.Td>
                <Table.Td ff="monospace" c="dimmed">
                  {s.trace_id.slice(0, 12)}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {q.hasNextPage && (
        <Button variant="default" size="xs" onClick={() => void q.fetchNextPage()} loading={q.isFetchingNextPage}>
          More spans
        </Button>
      )}
    </Stack>
  );
}

export default function TracesPage() {
  const { slug } = useProject();
  const [params, setParams] = useSearchParams();
  const view = params.get('view') === 'spans' ? 'spans' : 'traces';
  // The form's fields; the URL holds what was searched.
  const [name, setName] = useState(params.get('name') ?? '');
  const [attr, setAttr] = useState(params.get('attr') ?? '');
  const [status, setStatus] = useState<string | null>(params.get('status'));
  const [minMs, setMinMs] = useState<string | number>(params.get('min_duration_ms') ?? '');
  const [from, setFrom] = useState(toLocal(params.get('from')));
  const [to, setTo] = useState(toLocal(params.get('to')));

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const next = new URLSearchParams();
    if (view === 'spans') next.set('view', 'spans');
    const all: Record<string, string> = {
      name: name.trim(),
      attr: attr.trim(),
      status: status ?? '',
      min_duration_ms: minMs === '' ? '' : String(minMs),
      from: toRfc3339(from),
      to: toRfc3339(to),
    };
    for (const f of view === 'spans' ? SPAN_FIELDS : TRACE_FIELDS) if (all[f]) next.set(f, all[f]!);
    setParams(next);
  };
  const setView = (v: string) => {
    const next = new URLSearchParams(params);
    if (v === 'spans') next.set('view', 'spans');
    else {
      next.delete('view');
      for (const f of SPAN_FIELDS) if (!(TRACE_FIELDS as readonly string[]).includes(f)) next.delete(f);
    }
    setParams(next);
  };
  const filters = pick(params, view === 'spans' ? SPAN_FIELDS : TRACE_FIELDS);

  return (
    <Stack gap="md" data-testid="traces-page">
      <Group justify="space-between">
        <Title order={2}>Traces</Title>
        <SegmentedControl
          size="xs"
          value={view}
          onChange={setView}
          data={[
            { value: 'traces', label: 'Traces' },
            { value: 'spans', label: 'Span search' },
          ]}
          data-testid="traces-view"
        />
      </Group>
      <form onSubmit={submit}>
        <Group gap="xs" align="flex-end">
          <TextInput
            size="xs"
            label={view === 'spans' ? 'Span name' : 'Root span name'}
            placeholder="exact name"
            data-kb-search
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            w={200}
          />
          {view === 'spans' && (
            <>
              <TextInput
                size="xs"
                label="Attribute"
                placeholder="key=value"
                value={attr}
                onChange={(e) => setAttr(e.currentTarget.value)}
                w={220}
              />
              <Select
                size="xs"
                label="Status"
                placeholder="any"
                clearable
                data={['unset', 'ok', 'error']}
                value={status}
                onChange={setStatus}
                w={100}
              />
              <NumberInput size="xs" label="Min duration (ms)" min={0} value={minMs} onChange={setMinMs} w={130} />
            </>
          )}
          <TextInput size="xs" type="datetime-local" label="From" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          <TextInput size="xs" type="datetime-local" label="To" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
          <Button size="xs" type="submit">
            Search
          </Button>
        </Group>
      </form>
      {view === 'spans' ? <SpanResults slug={slug} filters={filters} /> : <TraceList slug={slug} filters={filters} />}
    </Stack>
  );
}
