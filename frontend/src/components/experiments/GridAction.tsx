// The grid action: a cartesian product over chosen flags of an experiment creates one new
// experiment per combination (2 values of nodes x 4 of layers = 8), each a copy of this
// one with those flags set, named "<name> [nodes=2,layers=12]", stopped until started; all
// in one request, made whole or not at all.
import { useMemo, useState } from 'react';
import { Alert, Button, Group, Modal, MultiSelect, Stack, Text, TextInput } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { api, errorText } from '../../api/client';
import { experimentKeys } from '../../api/experiments';
import type { Experiment, FlagSchema } from '../../api/types';
import { gridProduct, leafPaths, parseValue, type Flags } from '../../lib/flags';

const GRID_MAX = 256;

export function GridAction({ experiment, schema }: { experiment: Experiment; schema: FlagSchema | undefined }) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<number | null>(null);
  const flags = (experiment.flags ?? {}) as Flags;
  const options = useMemo(() => {
    const s = new Set(leafPaths(flags).map((k) => k.join('.')));
    for (const p of schema?.paths ?? []) s.add(p.path);
    return [...s].sort();
  }, [flags, schema]);
  const typeOf = (path: string) => schema?.paths.find((p) => p.path === path)?.type;
  const axes = chosen.map((path) => ({
    keys: path.split('.'),
    values: (values[path] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
      .map((v) => parseValue(v, typeOf(path))),
  }));
  const combos = gridProduct(flags, axes);
  const counts = axes.map((a) => a.values.length).filter((n) => n > 0);

  function seen(path: string): string {
    const p = schema?.paths.find((x) => x.path === path);
    return (p?.values ?? []).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  }

  // One request for the whole grid: the server makes every combination or none, so a
  // name already taken leaves no half-made grid behind.
  async function create() {
    setBusy(true);
    setError(null);
    setMade(null);
    try {
      const res = await api<{ items: Experiment[] }>('/experiments', {
        method: 'POST',
        body: {
          project: experiment.project,
          experiments: combos.map((c) => ({
            name: `${experiment.name} [${c.suffix}]`.slice(0, 200),
            description: experiment.description,
            flags: c.flags,
            kind: experiment.kind,
            queue: experiment.queue,
            tags: [...(experiment.tags ?? []), 'grid'],
          })),
        },
      });
      setMade(res.items.length);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      void qc.invalidateQueries({ queryKey: experimentKeys.all(experiment.project) });
    }
  }

  return (
    <>
      <Button variant="light" onClick={() => setOpen(true)} data-testid="grid-open">
        Grid…
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Grid over flags" size="lg">
        <Stack>
          <MultiSelect
            label="Flags to vary"
            data={options}
            value={chosen}
            onChange={(v) => {
              setChosen(v);
              setMade(null);
            }}
            searchable
            data-testid="grid-flags"
          />
          {chosen.map((path) => (
            <TextInput
              key={path}
              label={`${path} values (comma-separated)`}
              description={seen(path) ? `seen: ${seen(path)}` : undefined}
              value={values[path] ?? ''}
              onChange={(e) => setValues({ ...values, [path]: e.currentTarget.value })}
              data-testid={`grid-values-${path}`}
            />
          ))}
          <Text size="sm" data-testid="grid-count">
            {counts.length > 0 ? `${counts.join(' × ')} = ${combos.length} experiments` : 'Choose flags and their values'}
          </Text>
          {combos.length > GRID_MAX && <Alert color="red">At most {GRID_MAX} at once.</Alert>}
          {error ? <Alert color="red">{errorText(error)}</Alert> : null}
          {made !== null && !error && (
            <Alert color="teal" data-testid="grid-done">
              Created {made} experiments (stopped: start them from the list or their pages).
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              Close
            </Button>
            <Button
              onClick={() => void create()}
              loading={busy}
              disabled={counts.length === 0 || combos.length > GRID_MAX}
              data-testid="grid-create"
            >
              Create {counts.length > 0 ? combos.length : ''} experiments
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
