// The tables a run emits (leaderboards), each rendered as the engine sent it: its columns
// in their order (no column name is known here), click a header to sort (numbers as
// numbers, text as text: lib/runTables.ts), cells by formatTableCell (lib/format.ts),
// numeric cells right-aligned in tabular figures. Rows appended while it is open arrive
// from the run.table live message (live/apply.ts).
import { useMemo, useState } from 'react';
import { Badge, Group, ScrollArea, Stack, Table, Text, UnstyledButton } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { runTablesQuery, type RunTable } from '../api/artifacts';
import { formatTableCell, formatRelative } from '../lib/format';
import { isNumericColumn, sortRows, type SortDir } from '../lib/runTables';
import { EmptyState, ErrorState, LoadingRows } from './QueryState';

const numericStyle = { textAlign: 'right', fontVariantNumeric: 'tabular-nums' } as const;

function EmittedTable({ table }: { table: RunTable }) {
  const [sort, setSort] = useState<{ col: number; dir: SortDir } | null>(null);
  const numeric = useMemo(
    () => table.columns.map((_, i) => isNumericColumn(table.rows, i)),
    [table.columns, table.rows],
  );
  const rows = useMemo(
    () => (sort ? sortRows(table.rows, sort.col, sort.dir) : table.rows),
    [table.rows, sort],
  );
  const toggle = (col: number) =>
    setSort((s) =>
      s && s.col === col
        ? { col, dir: s.dir === 'asc' ? 'desc' : 'asc' }
        : { col, dir: numeric[col] ? 'desc' : 'asc' },
    );

  return (
    <Stack gap={4} data-testid={`run-table-${table.name}`}>
      <Group gap="xs">
        <Text fw={600}>{table.name}</Text>
        <Badge variant="light" size="sm">
          {table.row_count} {table.row_count === 1 ? 'row' : 'rows'}
        </Badge>
        <Text size="xs" c="dimmed">
          updated {formatRelative(table.updated_at)}
        </Text>
      </Group>
      <ScrollArea type="auto">
        <Table striped highlightOnHover withTableBorder fz="sm">
          <Table.Thead>
            <Table.Tr>
              {table.columns.map((c, i) => (
                <Table.Th
                  key={i}
                  style={numeric[i] ? numericStyle : undefined}
                  aria-sort={
                    sort?.col === i ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'
                  }
                >
                  <UnstyledButton onClick={() => toggle(i)} fw={600} fz="sm" data-column={i}>
                    {c}
                    {sort?.col === i ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                  </UnstyledButton>
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row, r) => (
              <Table.Tr key={r}>
                {table.columns.map((_, i) => {
                  const cell = formatTableCell(row[i] ?? null);
                  return (
                    <Table.Td key={i} style={cell.numeric ? numericStyle : undefined}>
                      {cell.text}
                    </Table.Td>
                  );
                })}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </Stack>
  );
}

export function RunTables({ project, run }: { project: string; run: string }) {
  const q = useQuery(runTablesQuery(project, run));
  if (q.isPending) return <LoadingRows rows={4} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data.length === 0)
    return (
      <EmptyState title="No tables yet">
        <Text size="sm" c="dimmed">
          A run posts tables with POST /api/v1/runs/{'{id}'}/tables/{'{name}'} (run.table in Python).
        </Text>
      </EmptyState>
    );
  return (
    <Stack gap="lg">
      {q.data.map((t) => (
        <EmittedTable key={t.name} table={t} />
      ))}
    </Stack>
  );
}
