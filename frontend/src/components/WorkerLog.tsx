// A worker's live log tail: its own lines (POST /workers/{id}/events), the newest
// WORKER_LOG_CAP (5,000) kept, virtualised (@tanstack/react-virtual: the DOM holds the
// ~30 lines on screen, not 5,000), following the newest line unless the reader scrolls
// up or pauses. New lines come from worker.event messages (live/apply.ts).
import { useEffect, useMemo, useRef, useState } from 'react';
import { Badge, Button, Group, MultiSelect, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { WORKER_LOG_CAP, workerEventsQuery } from '../api/workers';
import type { WorkerEvent } from '../api/types';
import { LEVEL_COLOR } from '../lib/eventLog';
import { formatTime } from '../lib/format';
import { ErrorState, LoadingRows } from './QueryState';
import classes from './EventLog.module.css';

const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'];
const LINE_H = 20;

export function WorkerLog({ project, worker }: { project: string; worker: number }) {
  const q = useQuery(workerEventsQuery(project, worker));
  const [levels, setLevels] = useState<string[]>([]);
  const [text, setText] = useState('');
  const [follow, setFollow] = useState(true);
  const scrollRef = useRef<HTMLDivElement>(null);
  const events = q.data ?? [];

  const filtered = useMemo(() => {
    const t = text.trim().toLowerCase();
    if (!t && levels.length === 0) return events;
    return events.filter(
      (e) =>
        (levels.length === 0 || levels.includes(e.level ?? 'info')) &&
        (!t || (e.message ?? '').toLowerCase().includes(t) || (e.kind ?? '').toLowerCase().includes(t)),
    );
  }, [events, levels, text]);

  const virtualizer = useVirtualizer({
    count: filtered.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => LINE_H,
    overscan: 20,
    getItemKey: (i) => filtered[i]?.id ?? i,
  });

  useEffect(() => {
    if (follow && filtered.length) virtualizer.scrollToIndex(filtered.length - 1, { align: 'end' });
  }, [filtered.length, follow, virtualizer]);

  if (q.isPending) return <LoadingRows rows={4} height={18} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;

  const items = virtualizer.getVirtualItems();
  return (
    <div>
      <Group gap="xs" mb="xs" align="flex-end">
        <MultiSelect size="xs" placeholder="all levels" data={LEVELS} value={levels} onChange={setLevels} w={220} aria-label="levels" clearable />
        <TextInput size="xs" placeholder="filter text" value={text} onChange={(e) => setText(e.currentTarget.value)} w={200} aria-label="filter log" />
        <Button size="xs" variant={follow ? 'default' : 'light'} onClick={() => setFollow(!follow)} data-testid="worker-log-follow">
          {follow ? 'Pause' : 'Follow'}
        </Button>
        <Text size="xs" c="dimmed" data-testid="worker-log-count">
          newest {WORKER_LOG_CAP.toLocaleString('en')} kept · {events.length} lines
        </Text>
      </Group>
      <div
        ref={scrollRef}
        className={classes.log}
        style={{ height: 360, overflow: 'auto' }}
        data-testid="worker-log"
        onWheel={(e) => {
          // Scrolling up to read stops the follow; the button brings it back.
          if (e.deltaY < 0 && follow) setFollow(false);
        }}
      >
        {filtered.length === 0 ? (
          <Text size="sm" c="dimmed" p="sm">
            {events.length === 0
              ? 'No log lines yet. A worker sends them with POST /api/v1/workers/{id}/events; they appear here as they come.'
              : 'No line matches the filter.'}
          </Text>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {items.map((vi) => {
              const e = filtered[vi.index] as WorkerEvent;
              return (
                <div
                  key={vi.key}
                  data-index={vi.index}
                  ref={virtualizer.measureElement}
                  className={classes.line}
                  data-level={e.level}
                  data-testid="worker-log-line"
                  style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${vi.start}px)` }}
                >
                  <span className={classes.ts}>{formatTime(e.ts)}</span>
                  <Badge size="xs" variant="light" color={LEVEL_COLOR[e.level ?? 'info'] ?? 'gray'} w={70} style={{ flexShrink: 0 }}>
                    {e.level}
                  </Badge>
                  {e.kind && e.kind !== 'log' && <span className={classes.kind}>{e.kind}</span>}
                  <span className={classes.msg}>{e.message}</span>
                  {e.data && Object.keys(e.data).length > 0 && <span className={classes.data}>{JSON.stringify(e.data)}</span>}
                </div>
              );
            })}
          </div>
        )}
      </div>
    </div>
  );
}
