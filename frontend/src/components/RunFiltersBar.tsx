// The runs table's filter bar. Every control writes the URL (lib/runFilters), so the
// view can be shared by link; typed fields wait a moment before they do. Given the
// project, the worker filter offers the project's workers by name (the URL keeps the id).
import { useEffect, useState } from 'react';
import { ActionIcon, Button, Group, MultiSelect, Select, TextInput, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { RUN_STATUSES, type RunStatus } from '../api/types';
import { useWorkerNames } from './WorkerName';
import { useQuery } from '@tanstack/react-query';
import { runValuesQuery } from '../api/runs';
import {
  DEFAULT_FILTERS,
  isFiltered,
  RANGES,
  SORT_KEYS,
  type RangeKey,
  type RunFilters,
  type SortKey,
} from '../lib/runFilters';

function DebouncedInput({
  label,
  value,
  onChange,
  placeholder,
  w = 130,
  inputMode,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  w?: number;
  inputMode?: 'numeric';
}) {
  const [text, setText] = useState(value);
  const [debounced] = useDebouncedValue(text, 350);
  useEffect(() => setText(value), [value]); // back/forward, "clear filters"
  useEffect(() => {
    if (debounced.trim() !== value) onChange(debounced.trim());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);
  return (
    <TextInput
      size="xs"
      label={label}
      placeholder={placeholder}
      w={w}
      value={text}
      inputMode={inputMode}
      {...(label === 'Search' ? { 'data-kb-search': true } : {})}
      onChange={(e) => setText(e.currentTarget.value)}
    />
  );
}

/** `datetime-local` wants `YYYY-MM-DDTHH:mm` in local time; the URL keeps that text. */
function LocalTimeInput({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  return (
    <TextInput
      size="xs"
      type="datetime-local"
      label={label}
      value={value}
      w={190}
      onChange={(e) => onChange(e.currentTarget.value)}
    />
  );
}

/** A filter offering the project's values of a field (kinds, queues); the URL keeps the value. */
function ValueSelect({ project, field, label, value, onChange }: { project: string; field: 'kind' | 'queue'; label: string; value: string; onChange: (v: string) => void }) {
  const q = useQuery(runValuesQuery(project, field));
  const data = [...(q.data ?? [])];
  if (value && !data.includes(value)) data.unshift(value);
  return (
    <Select
      size="xs"
      label={label}
      placeholder="any"
      searchable
      clearable
      w={150}
      data={data}
      value={value || null}
      onChange={(v) => onChange(v ?? '')}
      nothingFoundMessage={q.isPending ? 'loading…' : `no ${field} by that name`}
      data-testid={`${field}-filter`}
    />
  );
}

/** The project's workers by name; the id goes into the URL. */
function WorkerSelect({ project, value, onChange }: { project: string; value: string; onChange: (v: string) => void }) {
  const names = useWorkerNames(project);
  const data = [...names.entries()].map(([id, name]) => ({ value: String(id), label: name || `#${id}` }));
  if (value && !names.has(Number(value))) data.push({ value, label: `#${value}` });
  data.sort((a, b) => a.label.localeCompare(b.label));
  return (
    <Select
      size="xs"
      label="Worker"
      placeholder="any"
      searchable
      clearable
      w={160}
      data={data}
      value={value || null}
      onChange={(v) => onChange(v ?? '')}
      nothingFoundMessage="no worker by that name"
      data-testid="worker-filter"
    />
  );
}

export function RunFiltersBar({
  value,
  onChange,
  project,
}: {
  value: RunFilters;
  onChange: (f: RunFilters) => void;
  /** The project, to offer its workers by name; without it the worker is typed by id. */
  project?: string;
}) {
  const set = <K extends keyof RunFilters>(k: K, v: RunFilters[K]) => onChange({ ...value, [k]: v });
  const [custom, setCustom] = useState(false);
  const rangeValue = value.range || (custom || value.from || value.to ? 'custom' : 'any');
  return (
    <Group align="flex-end" gap="xs" wrap="wrap" data-testid="run-filters">
      <DebouncedInput label="Search" placeholder="id or name" value={value.q} onChange={(v) => set('q', v)} w={180} />
      <MultiSelect
        size="xs"
        label="Status"
        placeholder={value.status.length ? undefined : 'any'}
        data={RUN_STATUSES}
        value={value.status}
        onChange={(v) => set('status', v as RunStatus[])}
        w={240}
        clearable
      />
      {project ? (
        <>
          <ValueSelect project={project} field="kind" label="Kind" value={value.kind} onChange={(v) => set('kind', v)} />
          <ValueSelect project={project} field="queue" label="Queue" value={value.queue} onChange={(v) => set('queue', v)} />
        </>
      ) : (
        <>
          <DebouncedInput label="Kind" value={value.kind} onChange={(v) => set('kind', v)} />
          <DebouncedInput label="Queue" value={value.queue} onChange={(v) => set('queue', v)} />
        </>
      )}
      <DebouncedInput label="Tag" value={value.tag} onChange={(v) => set('tag', v)} />
      {project ? (
        <WorkerSelect project={project} value={value.worker} onChange={(v) => set('worker', v)} />
      ) : (
        <DebouncedInput
          label="Worker id"
          value={value.worker}
          inputMode="numeric"
          onChange={(v) => set('worker', /^[0-9]*$/.test(v) ? v : value.worker)}
          w={90}
        />
      )}
      <Select
        size="xs"
        label="Created"
        w={120}
        allowDeselect={false}
        value={rangeValue}
        data={[
          { value: 'any', label: 'any time' },
          ...Object.keys(RANGES).map((r) => ({ value: r, label: `last ${r}` })),
          { value: 'custom', label: 'from – to' },
        ]}
        onChange={(v) => {
          setCustom(v === 'custom');
          if (v === 'any') onChange({ ...value, range: '', from: '', to: '' });
          else if (v === 'custom') onChange({ ...value, range: '' });
          else if (v) onChange({ ...value, range: v as RangeKey, from: '', to: '' });
        }}
      />
      {rangeValue === 'custom' && (
        <>
          <LocalTimeInput label="From" value={value.from} onChange={(v) => set('from', v)} />
          <LocalTimeInput label="To" value={value.to} onChange={(v) => set('to', v)} />
        </>
      )}
      <Select
        size="xs"
        label="Sort by"
        w={110}
        allowDeselect={false}
        value={value.sort}
        data={SORT_KEYS.map((k) => ({ value: k, label: k }))}
        onChange={(v) => v && set('sort', v as SortKey)}
      />
      <Tooltip label={value.order === 'desc' ? 'newest / longest first' : 'oldest / shortest first'}>
        <ActionIcon
          variant="default"
          size="lg"
          aria-label={`order ${value.order}`}
          onClick={() => set('order', value.order === 'desc' ? 'asc' : 'desc')}
        >
          {value.order === 'desc' ? '↓' : '↑'}
        </ActionIcon>
      </Tooltip>
      {isFiltered(value) && (
        <Button size="xs" variant="subtle" onClick={() => onChange({ ...DEFAULT_FILTERS, sort: value.sort, order: value.order })}>
          Clear filters
        </Button>
      )}
    </Group>
  );
}
