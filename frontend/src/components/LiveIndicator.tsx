import { Badge, Tooltip } from '@mantine/core';
import { useLiveStatus, type LiveStatus } from '../live/LiveProvider';

const LOOK: Record<LiveStatus, { color: string; label: string; hint: string }> = {
  live: { color: 'teal', label: 'live', hint: 'updates arrive as they happen' },
  connecting: { color: 'gray', label: 'connecting', hint: 'opening the live stream' },
  reconnecting: { color: 'yellow', label: 'reconnecting', hint: 'the live stream dropped; retrying' },
  offline: { color: 'red', label: 'offline', hint: 'no network; pages show what was last loaded' },
};

export function LiveIndicator() {
  const s = useLiveStatus();
  const l = LOOK[s];
  return (
    <Tooltip label={l.hint}>
      <Badge color={l.color} variant="dot" data-testid="live-status" data-status={s}>
        {l.label}
      </Badge>
    </Tooltip>
  );
}
