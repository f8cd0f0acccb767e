// A run's live event log: the newest lines (lib/eventLog caps them), level colours, a
// level and text filter, and follow (stick to the newest) or pause (freeze the view
// while new lines are counted).
import { useEffect, useMemo, useRef, useState } from 'react';
import { Badge, Button, Group, MultiSelect, ScrollArea, Text, TextInput } from '@mantine/core';
import type { RunEvent } from '../api/types';
import { EVENT_LOG_CAP, LEVEL_COLOR } from '../lib/eventLog';
import { formatTime } from '../lib/format';
import classes from './EventLog.module.css';

const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'];

export function EventLog({ events }: { events: RunEvent[] }) {
  const [follow, setFollow] = useState(true);
  const [frozen, setFrozen] = useState<RunEvent[] | null>(null);
  const [levels, setLevels] = useState<string[]>([]);
  const [text, setText] = useState('');
  const viewport = useRef<HTMLDivElement>(null);

  const shown = frozen ?? events;
  const newCount = frozen ? events.filter((e) => !frozen.includes(e)).length : 0;
  const filtered = useMemo(() => {
    const t = text.trim().toLowerCase();
    return shown.filter(
      (e) =>
        (levels.length === 0 || levels.includes(e.level ?? 'info')) &&
        (!t || (e.message ?? '').toLowerCase().includes(t) || (e.kind ?? '').toLowerCase().includes(t)),
    );
  }, [shown, levels, text]);

  useEffect(() => {
    if (follow && viewport.current) viewport.current.scrollTop = viewport.current.scrollHeight;
  }, [filtered, follow]);

  const pause = () => {
    setFollow(false);
    setFrozen(events);
  };
  const resume = () => {
    setFrozen(null);
    setFollow(true);
  };

  return (
    <div>
      <Group gap="xs" mb="xs" align="flex-end">
        <MultiSelect size="xs" placeholder="all levels" data={LEVELS} value={levels} onChange={setLevels} w={220} aria-label="levels" clearable />
        <TextInput size="xs" placeholder="filter text" value={text} onChange={(e) => setText(e.currentTarget.value)} w={200} aria-label="filter events" />
        {frozen ? (
          <Button size="xs" variant="light" onClick={resume} data-testid="log-follow">
            Follow{newCount ? ` (${newCount} new)` : ''}
          </Button>
        ) : (
          <Button size="xs" variant="default" onClick={pause} data-testid="log-pause">
            Pause
          </Button>
        )}
        <Text size="xs" c="dimmed">
          newest {EVENT_LOG_CAP} kept · {events.length} shown
        </Text>
      </Group>
      <ScrollArea h={360} viewportRef={viewport} className={classes.log} type="auto">
        {filtered.length === 0 ? (
          <Text size="sm" c="dimmed" p="sm">
            {events.length === 0 ? 'No events yet. They appear here as the run reports them.' : 'No event matches the filter.'}
          </Text>
        ) : (
          <div data-testid="event-log">
            {filtered.map((e) => (
              <div key={e.id} className={classes.line} data-level={e.level}>
                <span className={classes.ts}>{formatTime(e.ts)}</span>
                <Badge size="xs" variant="light" color={LEVEL_COLOR[e.level ?? 'info'] ?? 'gray'} w={70}>
                  {e.level}
                </Badge>
                {e.kind && e.kind !== 'log' && <span className={classes.kind}>{e.kind}</span>}
                <span className={classes.msg}>{e.message}</span>
                {e.data && Object.keys(e.data).length > 0 && (
                  <span className={classes.data}>{JSON.stringify(e.data)}</span>
                )}
              </div>
            ))}
          </div>
        )}
      </ScrollArea>
    </div>
  );
}
