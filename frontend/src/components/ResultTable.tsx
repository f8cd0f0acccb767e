// A query result as a table: the column names and types in a sticky header, and only the
// rows in view in the DOM (@tanstack/react-virtual), so the 10,000 rows an ad-hoc query may
// return scroll as smoothly as ten.
import { useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { Box, Table, Text } from '@mantine/core';
import type { QueryResult } from '../api/types';
import { cellText, isNumberType } from '../lib/reportChart';

const ROW = 30;
/** Up to this many rows are simply rendered; past it only those in view. */
const PLAIN_MAX = 200;

export function ResultTable({ result, maxHeight = 420 }: { result: QueryResult; maxHeight?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const rows = result.rows;
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => box.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  const plain = rows.length <= PLAIN_MAX;
  const items = plain ? rows.map((_, index) => ({ index })) : v.getVirtualItems();
  const padTop = plain ? 0 : (v.getVirtualItems()[0]?.start ?? 0);
  const last = plain ? undefined : v.getVirtualItems()[items.length - 1];
  const padBottom = plain ? 0 : v.getTotalSize() - (last?.end ?? 0);
  const numeric = result.columns.map((c) => isNumberType(c.type));
  if (result.columns.length === 0) return <Text size="sm">The statement returned no columns.</Text>;
  return (
    <Box ref={box} mah={maxHeight} style={{ overflow: 'auto' }} data-testid="result-table">
      <Table striped highlightOnHover fz="xs" stickyHeader withColumnBorders style={{ whiteSpace: 'nowrap' }}>
        <Table.Thead>
          <Table.Tr>
            {result.columns.map((c, i) => (
              <Table.Th key={i} ta={numeric[i] ? 'right' : undefined}>
                {c.name}{' '}
                <Text span size="xs" c="dimmed" fw={400}>
                  {c.type}
                </Text>
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {padTop > 0 && (
            <tr aria-hidden>
              <td colSpan={result.columns.length} style={{ height: padTop, padding: 0 }} />
            </tr>
          )}
          {items.map((it) => {
            const row = rows[it.index]!;
            return (
              <Table.Tr key={it.index} h={ROW} data-row={it.index}>
                {row.map((cell, j) => (
                  <Table.Td key={j} ta={numeric[j] ? 'right' : undefined} maw={420} style={{ overflow: 'hidden', textOverflow: 'ellipsis' }} title={cellText(cell)}>
                    {cell === null ? <Text span size="xs" c="dimmed">null</Text> : cellText(cell)}
                  </Table.Td>
                ))}
              </Table.Tr>
            );
          })}
          {padBottom > 0 && (
            <tr aria-hidden>
              <td colSpan={result.columns.length} style={{ height: padBottom, padding: 0 }} />
            </tr>
          )}
        </Table.Tbody>
      </Table>
    </Box>
  );
}
