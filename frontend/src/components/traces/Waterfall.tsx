// The waterfall of a trace (or of a run's traces): one row per span, nested under its
// parent and indented, its bar on the trace's time axis (from the trace's start), red when
// its status is error, with its duration; a subtree collapses from its toggle. Rows are
// virtualised (TanStack Virtual): only those on screen are in the DOM, so 5,000 spans
// scroll like 50. LLM calls show their model and tokens (lib/trace genAiOf).
import { memo, useCallback, useMemo, useRef, useState } from 'react';
import { Button, Group, Text } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Span } from '../../api/spans';
import {
  axisTicks,
  buildTree,
  flatten,
  formatNs,
  genAiOf,
  statusName,
  type TraceInfo,
  type WaterfallRow,
} from '../../lib/trace';
import classes from './Waterfall.module.css';

export const WATERFALL_ROW = 26;
const INDENT = 14;

const pct = (v: number, of: number) => (of > 0 ? (v / of) * 100 : 0);

function GenAiLabel({ span }: { span: Span }) {
  const g = genAiOf(span);
  if (!g) return null;
  const tokens =
    g.inputTokens !== null || g.outputTokens !== null
      ? ` · ${g.inputTokens ?? '?'}→${g.outputTokens ?? '?'} tok`
      : '';
  return (
    <span className={classes.genai} data-testid="span-genai">
      {g.model ?? 'llm'}
      {tokens}
    </span>
  );
}

interface RowProps {
  row: WaterfallRow;
  top: number;
  selected: boolean;
  collapsed: boolean;
  onToggle: (key: string) => void;
  onSelect: (span: Span) => void;
}

const Row = memo(function Row({ row, top, selected, collapsed, onToggle, onSelect }: RowProps) {
  const style = { transform: `translateY(${top}px)`, height: WATERFALL_ROW };
  if (row.kind === 'trace') {
    const t = row.trace;
    return (
      <div className={`${classes.row} ${classes.traceRow}`} style={style} data-testid="trace-row" data-trace-id={t.traceId}>
        <div className={classes.name}>
          <span className={classes.label}>
            {t.rootName || 'trace'} <Text span size="xs" c="dimmed" ff="monospace">{t.traceId.slice(0, 12)}</Text>
          </span>
        </div>
        <div className={classes.lane}>
          <span className={classes.dur} style={{ left: 0 }}>
            {t.spanCount} spans · {formatNs(t.durNs)}
            {t.errorCount ? ` · ${t.errorCount} errors` : ''}
          </span>
        </div>
      </div>
    );
  }
  const s = row.span;
  const status = statusName(s.status?.code);
  const left = pct(row.startOff, row.trace.durNs);
  const width = pct(row.durNs, row.trace.durNs);
  const late = left + width > 75;
  return (
    <div
      className={classes.row}
      style={style}
      data-testid="span-row"
      data-span-id={s.span_id}
      data-depth={row.depth}
      data-status={status}
      data-selected={selected}
      onClick={() => onSelect(s)}
    >
      <div className={classes.name} style={{ paddingLeft: row.depth * INDENT }}>
        {row.childCount > 0 ? (
          <button
            type="button"
            className={classes.toggle}
            aria-label={collapsed ? `expand ${s.name}` : `collapse ${s.name}`}
            aria-expanded={!collapsed}
            data-testid="span-toggle"
            onClick={(e) => {
              e.stopPropagation();
              onToggle(row.key);
            }}
          >
            {collapsed ? '▶' : '▼'}
          </button>
        ) : (
          <span className={classes.toggle} />
        )}
        <span className={`${classes.label} ${status === 'error' ? classes.errorName : ''}`} title={s.name}>
          {s.name}
        </span>
        {collapsed && (
          <Text span size="xs" c="dimmed">
            +{row.childCount}
          </Text>
        )}
        <GenAiLabel span={s} />
      </div>
      <div className={classes.lane}>
        <div className={classes.bar} data-status={status} style={{ left: `${left}%`, width: `${width}%` }} />
        <span
          className={classes.dur}
          data-testid="span-duration"
          style={late ? { right: `${100 - left}%` } : { left: `${left + width}%` }}
        >
          {formatNs(row.durNs)}
        </span>
      </div>
    </div>
  );
});

function Axis({ trace, nameWidth }: { trace: TraceInfo | null; nameWidth: string }) {
  return (
    <div className={classes.axis}>
      <div className={classes.name} style={{ paddingLeft: 8 }}>
        <Text size="xs" c="dimmed">
          span
        </Text>
      </div>
      <div className={classes.lane} style={{ ['--name-width' as string]: nameWidth }}>
        {trace
          ? axisTicks(trace.durNs).map((t) => (
              <span key={t} className={classes.tick} style={{ left: `${pct(t, trace.durNs)}%` }}>
                {formatNs(t)}
              </span>
            ))
          : (
            <span className={classes.tick} style={{ left: 0 }}>
              each trace from its start
            </span>
          )}
      </div>
    </div>
  );
}

export interface WaterfallProps {
  spans: readonly Span[];
  selected?: string | null;
  onSelect: (span: Span) => void;
  /** Height of the scrolling area in pixels (default: up to 70% of the window). */
  height?: number;
}

export function Waterfall({ spans, selected, onSelect, height }: WaterfallProps) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const scrollRef = useRef<HTMLDivElement>(null);
  const tree = useMemo(() => buildTree(spans), [spans]);
  const rows = useMemo(() => flatten(tree, collapsed), [tree, collapsed]);
  const single = tree.traces.length === 1 ? tree.traces[0]!.info : null;

  const onToggle = useCallback((key: string) => {
    setCollapsed((cur) => {
      const next = new Set(cur);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  }, []);
  const collapseAll = () => {
    const next = new Set<string>();
    for (const r of flatten(tree, new Set())) if (r.kind === 'span' && r.childCount > 0 && r.depth > 0) next.add(r.key);
    setCollapsed(next);
  };

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => WATERFALL_ROW,
    overscan: 20,
    getItemKey: (i) => rows[i]?.key ?? i,
    initialRect: { width: 1000, height: 600 },
  });
  const viewH = height ?? Math.min(Math.max(rows.length, 4) * WATERFALL_ROW + 2, Math.round(window.innerHeight * 0.7));
  const nameWidth = 'clamp(220px, 38%, 520px)';

  return (
    <div data-testid="waterfall" data-spans={tree.size} data-rows={rows.length}>
      <Group gap="xs" mb={6} justify="space-between">
        <Text size="xs" c="dimmed">
          {tree.size} spans
          {tree.traces.length > 1 ? ` in ${tree.traces.length} traces` : single ? ` · ${formatNs(single.durNs)}` : ''}
        </Text>
        <Group gap={4}>
          <Button size="compact-xs" variant="subtle" onClick={() => setCollapsed(new Set())} disabled={collapsed.size === 0}>
            Expand all
          </Button>
          <Button size="compact-xs" variant="subtle" onClick={collapseAll}>
            Collapse all
          </Button>
        </Group>
      </Group>
      <div className={classes.frame} style={{ ['--name-width' as string]: nameWidth }}>
        <Axis trace={single} nameWidth={nameWidth} />
        <div ref={scrollRef} className={classes.scroll} style={{ height: viewH }} data-testid="waterfall-scroll">
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const row = rows[v.index]!;
              return (
                <Row
                  key={v.key}
                  row={row}
                  top={v.start}
                  selected={row.kind === 'span' && row.key === selected}
                  collapsed={collapsed.has(row.key)}
                  onToggle={onToggle}
                  onSelect={onSelect}
                />
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
