// Per-browser preferences kept in localStorage: the auto-refresh interval of views the
// live stream does not keep current, the time zone every time is shown in (lib/format.ts
// reads it), and the last project opened. (The colour scheme is kept by Mantine's own
// colour-scheme manager.)
import { useSyncExternalStore } from 'react';

export const REFRESH_CHOICES = [0, 5, 15, 60, 300] as const;
export type RefreshSeconds = (typeof REFRESH_CHOICES)[number];

const REFRESH_KEY = 'runwatch.refresh';
const PROJECT_KEY = 'runwatch.project';
const ZONE_KEY = 'runwatch.timezone';
const listeners = new Set<() => void>();

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}
function write(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    /* private mode: the choice lasts until reload */
  }
  listeners.forEach((l) => l());
}

export function getRefreshSeconds(): RefreshSeconds {
  const n = Number(read(REFRESH_KEY) ?? '15');
  return (REFRESH_CHOICES as readonly number[]).includes(n) ? (n as RefreshSeconds) : 15;
}
export function setRefreshSeconds(s: RefreshSeconds): void {
  write(REFRESH_KEY, String(s));
}

function subscribe(l: () => void) {
  listeners.add(l);
  const onStorage = (e: StorageEvent) => {
    if (e.key === REFRESH_KEY || e.key === ZONE_KEY) l();
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(l);
    window.removeEventListener('storage', onStorage);
  };
}

/** The refresh interval in ms for TanStack Query's refetchInterval (false = off). */
export function useRefetchInterval(): number | false {
  const s = useSyncExternalStore(subscribe, getRefreshSeconds, getRefreshSeconds);
  return s === 0 ? false : s * 1000;
}
export function useRefreshSeconds(): RefreshSeconds {
  return useSyncExternalStore(subscribe, getRefreshSeconds, getRefreshSeconds);
}

export function getLastProject(): string | null {
  return read(PROJECT_KEY);
}
export function setLastProject(slug: string): void {
  if (read(PROJECT_KEY) !== slug) write(PROJECT_KEY, slug);
}

/** Times show in the browser's zone (`local`, the default) or in `utc`. */
export type TimeZonePref = 'local' | 'utc';
export const TIME_ZONE_CHOICES: readonly TimeZonePref[] = ['local', 'utc'];

export function getTimeZone(): TimeZonePref {
  return read(ZONE_KEY) === 'utc' ? 'utc' : 'local';
}
export function setTimeZone(z: TimeZonePref): void {
  write(ZONE_KEY, z);
}
/** The zone, re-rendering the caller when it changes (the app shell keys its pages on it,
 * so every formatted time follows at once). */
export function useTimeZone(): TimeZonePref {
  return useSyncExternalStore(subscribe, getTimeZone, getTimeZone);
}
