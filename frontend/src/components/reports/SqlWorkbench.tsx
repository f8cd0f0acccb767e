// Ad-hoc SQL: the editor (CodeMirror, its own lazy chunk), the report schema beside it,
// the result as a table and a chart (line, bar or table, with x/y/series columns), saving
// it as a named report with its chart, CSV download, and the project's saved reports (run,
// edit, delete). Statements run on the server's read-only login, over the current
// project's rows only.
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import {
  Accordion,
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Grid,
  Group,
  Kbd,
  Modal,
  MultiSelect,
  ScrollArea,
  SegmentedControl,
  Select,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery } from '@tanstack/react-query';
import { ApiError, errorText } from '../../api/client';
import {
  downloadCsv,
  runSaved,
  runSql,
  savedReportsQuery,
  schemaQuery,
  useDeleteReport,
  useSaveReport,
} from '../../api/reports';
import type { ChartSpec, QueryResult, SavedReport } from '../../api/types';
import { formatRelative, formatReplicaLag } from '../../lib/format';
import { chartProblem, guessChart, resultToChart } from '../../lib/reportChart';
import { useCan } from '../guards';
import { EmptyState, ErrorState, LoadingRows } from '../QueryState';
import { ReportChart } from '../ReportChart';
import { ResultTable } from '../ResultTable';

const SqlEditor = lazy(() => import('../SqlEditor'));

const EXAMPLE = `-- runs that ended in the last 7 days, per day and status
select date_trunc('day', ended_at) as day, status, count(*) as runs
from runs
where ended_at > now() - interval '7 days'
group by 1, 2
order by 1, 2`;

/** Saves a Blob under a file name, the way a link with `download` does. */
function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const fileName = (name: string) => (name.trim().replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'report') + '.csv';

function SchemaList({ slug }: { slug: string }) {
  const q = useQuery(schemaQuery(slug));
  return (
    <Card withBorder p="xs" data-testid="report-schema">
      <Title order={5} mb={4}>
        report schema
      </Title>
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.isPending ? (
        <LoadingRows rows={8} height={18} />
      ) : (
        <ScrollArea.Autosize mah={560}>
          <Accordion multiple variant="filled" chevronPosition="left" styles={{ control: { paddingBlock: 2 }, label: { paddingBlock: 4 } }}>
            {q.data.map((o) => (
              <Accordion.Item key={`${o.what}:${o.name}`} value={`${o.what}:${o.name}`}>
                <Accordion.Control>
                  <Group gap={6} wrap="nowrap">
                    <Text size="sm" ff="monospace">
                      {o.name}
                    </Text>
                    {o.what === 'function' && <Badge size="xs" variant="light">fn</Badge>}
                  </Group>
                </Accordion.Control>
                <Accordion.Panel>
                  {o.what === 'view' ? (
                    <Stack gap={0}>
                      {o.columns.map((c) => (
                        <Group key={c.name} justify="space-between" gap="xs" wrap="nowrap">
                          <Text size="xs" ff="monospace">
                            {c.name}
                          </Text>
                          <Text size="xs" c="dimmed" truncate>
                            {c.type}
                          </Text>
                        </Group>
                      ))}
                    </Stack>
                  ) : (
                    <Text size="xs" ff="monospace" style={{ wordBreak: 'break-word' }}>
                      ({o.columns[0]?.name}) → {o.columns[0]?.type}
                    </Text>
                  )}
                </Accordion.Panel>
              </Accordion.Item>
            ))}
          </Accordion>
        </ScrollArea.Autosize>
      )}
    </Card>
  );
}

function ChartControls({ result, spec, onChange }: { result: QueryResult; spec: ChartSpec; onChange: (s: ChartSpec) => void }) {
  const cols = result.columns.map((c) => c.name ?? '');
  const ys = spec.y === undefined ? [] : Array.isArray(spec.y) ? spec.y : [spec.y];
  return (
    <Group gap="sm" align="flex-end" wrap="wrap">
      <SegmentedControl
        size="xs"
        data-testid="chart-type"
        value={spec.type}
        onChange={(t) => {
          const type = t as ChartSpec['type'];
          // Switching to a chart from a table: start from the guess for this result.
          if (type !== 'table' && !spec.x) onChange({ ...guessChart(result), type });
          else onChange({ ...spec, type });
        }}
        data={[
          { value: 'table', label: 'Table' },
          { value: 'line', label: 'Line' },
          { value: 'bar', label: 'Bar' },
        ]}
      />
      {spec.type !== 'table' && (
        <>
          <Select size="xs" w={160} label="x" data={cols} value={spec.x ?? null} onChange={(x) => onChange({ ...spec, x: x ?? undefined })} />
          <MultiSelect size="xs" miw={180} label="y" data={cols} value={ys} onChange={(y) => onChange({ ...spec, y: y.length ? y : undefined })} />
          <Select size="xs" w={160} label="series (one line per value)" clearable data={cols} value={spec.series ?? null} onChange={(s) => onChange({ ...spec, series: s ?? undefined })} />
        </>
      )}
    </Group>
  );
}

interface Editing {
  id?: number;
  name: string;
}

export function SqlWorkbench({ slug }: { slug: string }) {
  const canSave = useCan('member');
  const [sql, setSql] = useState(EXAMPLE);
  const [spec, setSpec] = useState<ChartSpec>({ type: 'table' });
  const [editing, setEditing] = useState<Editing>({ name: '' });
  const [saveOpen, setSaveOpen] = useState(false);
  const [ranAt, setRanAt] = useState<{ ms: number; at: number } | null>(null);
  const schema = useQuery(schemaQuery(slug));
  const saved = useQuery(savedReportsQuery(slug));
  const save = useSaveReport(slug);
  const del = useDeleteReport(slug);
  const [confirmDelete, setConfirmDelete] = useState<SavedReport | null>(null);

  const run = useMutation({
    mutationFn: async (v: { sql: string } | { saved: number }) => {
      const t0 = performance.now();
      const res = 'saved' in v ? await runSaved(v.saved) : await runSql(slug, v.sql);
      setRanAt({ ms: performance.now() - t0, at: Date.now() });
      return res;
    },
    onSuccess: (res, v) => {
      // A fresh statement gets a chart guessed from its columns; a saved one keeps its own.
      if (!('saved' in v) && (!spec.x || chartProblem(res, spec))) setSpec(guessChart(res));
    },
  });
  const csv = useMutation({
    mutationFn: (what: { sql: string } | { saved: number; name: string }) =>
      downloadCsv('saved' in what ? { saved: what.saved } : { project: slug, sql: what.sql }),
    onSuccess: ({ blob, truncated }, what) => {
      saveBlob(blob, fileName('name' in what ? what.name : editing.name || 'query'));
      if (truncated) notifications.show({ color: 'yellow', message: 'The CSV was cut at the row limit.' });
    },
  });

  const result = run.data;
  const chart = useMemo(() => (result ? resultToChart(result, spec) : null), [result, spec]);
  const problem = result ? chartProblem(result, spec) : null;

  useEffect(() => {
    // A new project: whatever was being edited belonged to the old one.
    setEditing({ name: '' });
    run.reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [slug]);

  const doRun = () => {
    if (sql.trim()) run.mutate({ sql });
  };
  const open = (r: SavedReport) => {
    setSql(r.sql ?? '');
    setSpec(r.chart ?? { type: 'table' });
    setEditing({ id: r.id, name: r.name ?? '' });
    if (r.id !== undefined) run.mutate({ saved: r.id });
  };

  return (
    <Grid gutter="md">
      <Grid.Col span={{ base: 12, lg: 9 }}>
        <Stack gap="sm">
          <Card withBorder p="sm">
            <Group justify="space-between" mb={6}>
              <Text size="sm" fw={600} data-testid="editing-name">
                {editing.id !== undefined ? `Editing “${editing.name}”` : 'New query'}
              </Text>
              <Text size="xs" c="dimmed">
                read-only, this project’s rows, 5 s and 10,000 rows at most · <Kbd size="xs">Ctrl</Kbd>+<Kbd size="xs">Enter</Kbd> runs
              </Text>
            </Group>
            <Suspense fallback={<Skeleton height={160} />}>
              <SqlEditor value={sql} onChange={setSql} onRun={doRun} schema={schema.data ?? []} />
            </Suspense>
            <Group mt="sm" gap="xs">
              <Button size="xs" onClick={doRun} loading={run.isPending} disabled={!sql.trim()} data-testid="run-sql">
                Run
              </Button>
              {canSave && (
                <Button size="xs" variant="default" onClick={() => setSaveOpen(true)} disabled={!sql.trim()}>
                  {editing.id !== undefined ? 'Save…' : 'Save as report…'}
                </Button>
              )}
              <Button size="xs" variant="default" loading={csv.isPending} disabled={!sql.trim()} onClick={() => csv.mutate({ sql })} data-testid="download-csv">
                Download CSV
              </Button>
              {editing.id !== undefined && (
                <Button
                  size="xs"
                  variant="subtle"
                  onClick={() => {
                    setEditing({ name: '' });
                  }}
                >
                  Detach (new query)
                </Button>
              )}
            </Group>
            {csv.error && (
              <Alert color="red" mt="xs" role="alert">
                CSV: {errorText(csv.error)}
              </Alert>
            )}
          </Card>

          {run.error ? (
            <Alert color="red" title="The statement failed" role="alert" data-testid="query-error">
              <Text size="sm">{errorText(run.error)}</Text>
              {run.error instanceof ApiError && run.error.code && (
                <Text size="xs" c="dimmed">
                  {run.error.code}
                </Text>
              )}
            </Alert>
          ) : run.isPending ? (
            <LoadingRows rows={6} />
          ) : result ? (
            <Card withBorder p="sm" data-testid="query-result">
              <Group justify="space-between" mb="xs" wrap="wrap">
                <Group gap="xs">
                  <Text size="sm" data-testid="row-count">
                    {result.row_count} {result.row_count === 1 ? 'row' : 'rows'}
                  </Text>
                  {result.truncated && (
                    <Badge color="yellow" variant="light">
                      cut at the row or byte limit
                    </Badge>
                  )}
                  {ranAt && (
                    <Text size="xs" c="dimmed">
                      in {Math.round(ranAt.ms)} ms
                    </Text>
                  )}
                  {result.replica_lag_s != null && (
                    <Text
                      size="xs"
                      c={result.replica_lag_s > 60 ? 'yellow' : 'dimmed'}
                      data-testid="replica-lag"
                      title="Ad-hoc SQL reads a streaming replica; this is how long ago its last replayed commit was"
                    >
                      from a replica, {formatReplicaLag(result.replica_lag_s)} behind
                    </Text>
                  )}
                </Group>
                <ChartControls result={result} spec={spec} onChange={setSpec} />
              </Group>
              {spec.type !== 'table' &&
                (problem ? (
                  <Text size="sm" c="dimmed" mb="xs">
                    No chart: {problem}.
                  </Text>
                ) : chart ? (
                  <ReportChart data={chart} type={spec.type} testid="result-chart" />
                ) : null)}
              {result.row_count === 0 ? (
                <Text size="sm" c="dimmed">
                  The statement returned no rows.
                </Text>
              ) : (
                <ResultTable result={result} />
              )}
            </Card>
          ) : (
            <Text size="sm" c="dimmed">
              Run a statement to see its rows. The tables are the views listed on the right; they hold only the rows of this project.
            </Text>
          )}

          <Card withBorder p="sm" data-testid="saved-reports">
            <Title order={4} mb="xs">
              Saved reports
            </Title>
            {saved.error ? (
              <ErrorState error={saved.error} onRetry={() => void saved.refetch()} />
            ) : saved.isPending ? (
              <LoadingRows rows={3} />
            ) : saved.data.length === 0 ? (
              <EmptyState title="No saved reports yet">
                <Text size="sm" c="dimmed">
                  Write a statement above, run it, choose a chart, and save it: the team sees it here.
                </Text>
              </EmptyState>
            ) : (
              <Table fz="sm" highlightOnHover>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>name</Table.Th>
                    <Table.Th>chart</Table.Th>
                    <Table.Th>updated</Table.Th>
                    <Table.Th />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {saved.data.map((r) => (
                    <Table.Tr key={r.id} data-report={r.name}>
                      <Table.Td>
                        <Anchor component="button" onClick={() => open(r)}>
                          {r.name}
                        </Anchor>
                      </Table.Td>
                      <Table.Td>{r.chart?.type ?? 'table'}</Table.Td>
                      <Table.Td c="dimmed">{formatRelative(r.updated_at)}</Table.Td>
                      <Table.Td>
                        <Group gap={4} justify="flex-end" wrap="nowrap">
                          <Button size="compact-xs" variant="light" onClick={() => open(r)}>
                            Run
                          </Button>
                          <Button size="compact-xs" variant="default" onClick={() => r.id !== undefined && csv.mutate({ saved: r.id, name: r.name ?? 'report' })}>
                            CSV
                          </Button>
                          {canSave && (
                            <Button size="compact-xs" variant="subtle" color="red" onClick={() => setConfirmDelete(r)}>
                              Delete
                            </Button>
                          )}
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Card>
        </Stack>
      </Grid.Col>
      <Grid.Col span={{ base: 12, lg: 3 }}>
        <SchemaList slug={slug} />
      </Grid.Col>

      <SaveDialog
        opened={saveOpen}
        onClose={() => {
          setSaveOpen(false);
          save.reset();
        }}
        editing={editing}
        pending={save.isPending}
        error={save.error}
        onSave={(name, asNew) =>
          save.mutate(
            { id: asNew ? undefined : editing.id, name, sql, chart: spec },
            {
              onSuccess: (r) => {
                setEditing({ id: r.id, name: r.name ?? name });
                setSaveOpen(false);
                notifications.show({ color: 'teal', message: `Saved “${r.name}”.` });
              },
            },
          )
        }
      />
      <Modal opened={!!confirmDelete} onClose={() => setConfirmDelete(null)} title="Delete this saved report?">
        <Stack>
          <Text size="sm">
            “{confirmDelete?.name}” will be gone for everyone in the project.
          </Text>
          {del.error && <Alert color="red">{errorText(del.error)}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmDelete(null)}>
              Keep it
            </Button>
            <Button
              color="red"
              loading={del.isPending}
              data-testid="confirm-delete-report"
              onClick={() =>
                confirmDelete?.id !== undefined &&
                del.mutate(confirmDelete.id, {
                  onSuccess: () => {
                    if (editing.id === confirmDelete.id) setEditing({ name: '' });
                    setConfirmDelete(null);
                  },
                })
              }
            >
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Grid>
  );
}

function SaveDialog({
  opened,
  onClose,
  editing,
  pending,
  error,
  onSave,
}: {
  opened: boolean;
  onClose: () => void;
  editing: Editing;
  pending: boolean;
  error: unknown;
  onSave: (name: string, asNew: boolean) => void;
}) {
  const [name, setName] = useState(editing.name);
  useEffect(() => {
    if (opened) setName(editing.name);
  }, [opened, editing.name]);
  const nameError = error instanceof ApiError && error.field === 'name' ? error.message : undefined;
  return (
    <Modal opened={opened} onClose={onClose} title={editing.id !== undefined ? 'Save report' : 'Save as a report'}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSave(name, false);
        }}
      >
        <Stack>
          <TextInput label="Name" required data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} error={nameError} maxLength={200} />
          <Text size="xs" c="dimmed">
            The statement and the chart as shown now are saved.
          </Text>
          {error && !nameError ? <Alert color="red">{errorText(error)}</Alert> : null}
          <Group justify="flex-end">
            {editing.id !== undefined && (
              <Button variant="default" loading={pending} disabled={!name.trim()} onClick={() => onSave(name, true)}>
                Save as new
              </Button>
            )}
            <Button type="submit" loading={pending} disabled={!name.trim()} data-testid="save-report">
              {editing.id !== undefined ? 'Save changes' : 'Save'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
