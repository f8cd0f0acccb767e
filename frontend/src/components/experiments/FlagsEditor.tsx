// The flags editor of an experiment: JSON checked as it is typed against the project's
// inferred flag schema (lib/flags), and a quick-set row whose path and value boxes offer
// the paths and values seen (typeahead). Saving is refused while a check says error.
import { useMemo, useState } from 'react';
import { Alert, Autocomplete, Button, Group, List, Stack, Text, Textarea } from '@mantine/core';
import { errorText } from '../../api/client';
import type { FlagSchema } from '../../api/types';
import { checkFlags, parseValue, setPath, type Flags } from '../../lib/flags';

export function FlagsEditor({
  flags,
  schema,
  saving,
  error,
  onSave,
  onCancel,
}: {
  flags: Flags;
  schema: FlagSchema | undefined;
  saving: boolean;
  error: unknown;
  onSave: (flags: Flags) => void;
  onCancel: () => void;
}) {
  const [text, setText] = useState(() => JSON.stringify(flags, null, 2));
  const [path, setPathText] = useState('');
  const [value, setValue] = useState('');
  const check = useMemo(() => checkFlags(text, schema), [text, schema]);
  const paths = schema?.paths ?? [];
  const chosen = paths.find((p) => p.path === path);
  const valueOptions = (chosen?.values ?? []).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));

  function quickSet() {
    if (!check.flags || !path) return;
    const keys = chosen?.keys ?? path.split('.');
    setText(JSON.stringify(setPath(check.flags, keys, parseValue(value, chosen?.type)), null, 2));
  }

  return (
    <Stack gap="xs" data-testid="flags-editor">
      <Group align="flex-end" gap="xs">
        <Autocomplete
          label="Flag"
          placeholder="model.layers"
          data={paths.map((p) => p.path)}
          value={path}
          onChange={setPathText}
          data-testid="flag-path"
          w={220}
        />
        <Autocomplete
          label={chosen ? `Value (${chosen.type})` : 'Value'}
          data={valueOptions}
          value={value}
          onChange={setValue}
          data-testid="flag-value"
          w={180}
        />
        <Button variant="light" onClick={quickSet} disabled={!check.flags || !path} data-testid="flag-set">
          Set
        </Button>
      </Group>
      <Textarea
        label="Flags (JSON)"
        autosize
        minRows={6}
        maxRows={24}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
        data-testid="flags-json"
        error={check.ok ? undefined : 'fix the errors below before saving'}
      />
      {check.problems.length > 0 && (
        <List size="sm" data-testid="flags-problems">
          {check.problems.map((p, i) => (
            <List.Item key={i} c={p.severity === 'error' ? 'red' : 'dimmed'} data-severity={p.severity}>
              {p.message}
            </List.Item>
          ))}
        </List>
      )}
      {error ? <Alert color="red">{errorText(error)}</Alert> : null}
      <Group justify="flex-end">
        <Button variant="default" onClick={onCancel}>
          Cancel
        </Button>
        <Button
          disabled={!check.ok}
          loading={saving}
          onClick={() => check.flags && onSave(check.flags)}
          data-testid="flags-save"
        >
          Save flags
        </Button>
      </Group>
      {paths.length === 0 && (
        <Text size="xs" c="dimmed">
          No flags seen in this project yet: anything goes.
        </Text>
      )}
    </Stack>
  );
}
