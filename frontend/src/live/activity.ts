// The overview's live activity feed: the newest live messages, a bounded ring.
import { useSyncExternalStore } from 'react';
import type { LiveMessage } from './apply';

export const ACTIVITY_CAP = 50;

export interface ActivityItem extends LiveMessage {
  at: number;
}

let items: ActivityItem[] = [];
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

export const activity = {
  push(msg: LiveMessage): void {
    // Heartbeats are too chatty for a feed a person reads.
    if (msg.type === 'run.heartbeat' || msg.type === 'run.metrics') return;
    // A run.event may carry its whole batch (up to 32 KiB), which the feed never shows.
    const kept = msg.type === 'run.event' ? { ...msg, data: undefined } : msg;
    items = [{ ...kept, at: Date.now() }, ...items].slice(0, ACTIVITY_CAP);
    notify();
  },
  clear(): void {
    if (items.length === 0) return;
    items = [];
    notify();
  },
};

export function useActivity(): ActivityItem[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => items,
    () => items,
  );
}
