// The overview's live activity feed: the newest live messages, a bounded ring, and the
// names of the runs they were about (a run.event carries only the run's id; the feed says
// the run's name, lib/activityText).
import { useSyncExternalStore } from 'react';
import type { LiveMessage } from './apply';
import { serverNow } from '../lib/clock';

export const ACTIVITY_CAP = 50;

export interface ActivityItem extends LiveMessage {
  at: number;
}

const NAMES_CAP = 2000;
const names = new Map<string, { name?: string; kind?: string }>();

/** The name and kind of a run a live message named, when one has told them. */
export function activityRunName(id: string): { name?: string; kind?: string } | undefined {
  return names.get(id);
}

function learnName(msg: LiveMessage): void {
  const d = msg.data as { id?: string; name?: string | null; kind?: string | null } | null | undefined;
  const id = msg.run ?? d?.id;
  if (!id || !d || (!d.name && !d.kind)) return;
  names.delete(id);
  names.set(id, { name: d.name ?? undefined, kind: d.kind ?? undefined });
  if (names.size > NAMES_CAP) names.delete(names.keys().next().value as string);
}

/** A run.event's batch (up to 32 KiB) shrunk to what the feed says: how many, and the
 * first one's level and message. */
function summarise(msg: LiveMessage): LiveMessage {
  const d = (msg.data ?? {}) as { count?: number; events?: { level?: string; message?: string }[] };
  const first = Array.isArray(d.events) ? d.events[0] : undefined;
  const w = msg.data as { worker_id?: number; worker_name?: string } | null | undefined;
  return {
    ...msg,
    data: {
      count: d.count ?? (Array.isArray(d.events) ? d.events.length : 1),
      level: first?.level,
      message: first?.message?.slice(0, 200),
      ...(msg.type === 'worker.event' ? { worker_id: w?.worker_id, worker_name: w?.worker_name } : {}),
    },
  };
}

let items: ActivityItem[] = [];
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

export const activity = {
  push(msg: LiveMessage): void {
    // Heartbeats are too chatty for a feed a person reads.
    if (msg.type === 'run.heartbeat' || msg.type === 'run.metrics') return;
    if (msg.type === 'run.created' || msg.type === 'run.updated') learnName(msg);
    const kept = msg.type === 'run.event' || msg.type === 'worker.event' ? summarise(msg) : msg;
    items = [{ ...kept, at: serverNow() }, ...items].slice(0, ACTIVITY_CAP);
    notify();
  },
  clear(): void {
    names.clear();
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
