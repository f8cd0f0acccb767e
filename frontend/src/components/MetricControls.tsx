// The controls above metric charts (run page and compare): EMA smoothing, log y axis and
// what x is (step, wall-clock time, time since the start).
import { Group, SegmentedControl, Slider, Stack, Switch, Text } from '@mantine/core';
import type { ChartView } from './MetricChart';
import type { XMode } from '../lib/metricsView';

export function MetricControls({ view, onChange }: { view: ChartView; onChange: (v: ChartView) => void }) {
  return (
    <Group gap="lg" align="flex-end" wrap="wrap" data-testid="metric-controls">
      <Stack gap={2} w={220}>
        <Text size="xs" c="dimmed">
          Smoothing (EMA) {view.smoothing > 0 ? view.smoothing.toFixed(2) : 'off'}
        </Text>
        <Slider
          min={0}
          max={0.99}
          step={0.01}
          value={view.smoothing}
          onChange={(smoothing) => onChange({ ...view, smoothing })}
          label={(v) => v.toFixed(2)}
          thumbLabel="smoothing"
          data-testid="metric-smoothing"
        />
      </Stack>
      <Switch
        label="Log y"
        checked={view.log}
        onChange={(e) => onChange({ ...view, log: e.currentTarget.checked })}
        data-testid="metric-log"
      />
      <SegmentedControl
        size="xs"
        value={view.xMode}
        onChange={(v) => onChange({ ...view, xMode: v as XMode })}
        data={[
          { value: 'step', label: 'Step' },
          { value: 'time', label: 'Time' },
          { value: 'relative', label: 'Relative' },
        ]}
        aria-label="x axis"
        data-testid="metric-x"
      />
    </Group>
  );
}
