// Status badge logic: which colour a status gets, which derived states apply (stuck,
// stale: derived, never stored, from the project's anomaly thresholds, the same numbers
// the server's anomalies panel uses; docs/ARCHITECTURE.md, "The run lifecycle"), and
// whether the latest attempt is worth showing beside the run (only when it says something
// the run's status does not), and how legible each badge colour is (WCAG contrast).
import type { AnomalyThresholds, Run, RunStatus } from '../api/types';
import { BADGE_BG_ALPHA, BADGE_SURFACES, BADGE_TEXT, badgeTint, type BadgeHue, type Scheme } from '../theme';
import { serverNow } from './clock';

export const STATUS_COLOR: Record<string, string> = {
  queued: 'gray',
  running: 'blue',
  retrying: 'orange',
  succeeded: 'teal',
  failed: 'red',
  cancelled: 'dark',
  stuck: 'yellow',
  stale: 'yellow',
  online: 'teal',
  idle: 'teal',
  busy: 'blue',
  draining: 'orange',
  offline: 'gray',
  stopped: 'dark',
};

export function statusColor(status: string | null | undefined): string {
  return (status && STATUS_COLOR[status]) || 'gray';
}

export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export function isTerminal(status: string | null | undefined): boolean {
  return !!status && TERMINAL.has(status);
}

/** A run can be cancelled while it has not ended and no cancel is pending. */
export function canCancel(run: Pick<Run, 'status' | 'cancel_requested'>): boolean {
  return !!run.status && !isTerminal(run.status) && !run.cancel_requested;
}

/** The thresholds the badges derive from: GET /projects/{p}/anomaly-thresholds. */
export type BadgeThresholds = Pick<AnomalyThresholds, 'stuck_after_s' | 'stale_after_s'>;

/** "5 minutes", "1 hour", "90 seconds": a threshold in words, for a badge's title. */
export function formatThreshold(s: number): string {
  const unit = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (s % 3600 === 0) return unit(s / 3600, 'hour');
  if (s % 60 === 0) return unit(s / 60, 'minute');
  return unit(s, 'second');
}

export interface Badge {
  label: string;
  color: string;
  title: string;
}

/**
 * The badges of a run's status cell: its status; the latest attempt's status when it
 * differs (e.g. run retrying, attempt #2 failed); derived `stuck`/`stale` by the project's
 * thresholds (none while they are unknown: a badge never guesses); a pending cancel.
 */
export function runBadges(
  run: Pick<
    Run,
    'status' | 'latest_attempt' | 'last_heartbeat_at' | 'started_at' | 'created_at' | 'queued_at'
  > & { cancel_requested?: boolean },
  thresholds: BadgeThresholds | undefined,
  now: number = serverNow(),
): Badge[] {
  const status = (run.status ?? 'queued') as RunStatus;
  const out: Badge[] = [{ label: status, color: statusColor(status), title: `run ${status}` }];
  const a = run.latest_attempt;
  if (a && a.status && a.status !== status) {
    out.push({
      label: `#${a.seq} ${a.status}`,
      color: statusColor(a.status),
      title: `attempt ${a.seq} ${a.status}`,
    });
  }
  // The server's test (report.anomalies): older than now minus the threshold.
  if (status === 'running' && thresholds) {
    const last = Date.parse(run.last_heartbeat_at ?? run.started_at ?? '');
    if (Number.isFinite(last) && (now - last) / 1000 > thresholds.stuck_after_s)
      out.push({
        label: 'stuck',
        color: statusColor('stuck'),
        title: `no heartbeat for over ${formatThreshold(thresholds.stuck_after_s)}`,
      });
  }
  if (status === 'queued' && thresholds) {
    const since = Date.parse(run.queued_at ?? run.created_at ?? '');
    if (Number.isFinite(since) && (now - since) / 1000 > thresholds.stale_after_s)
      out.push({
        label: 'stale',
        color: statusColor('stale'),
        title: `queued for over ${formatThreshold(thresholds.stale_after_s)}`,
      });
  }
  if (run.cancel_requested && !isTerminal(status))
    out.push({ label: 'cancelling', color: 'grape', title: 'cancel requested' });
  return out;
}

// WCAG 2 contrast (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio), for the badge test.
type Rgb = [number, number, number];
function rgb(hex: string): Rgb {
  const h = hex.replace('#', '');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;
}
function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
/** The contrast ratio of two colours, 1 to 21. */
export function contrastRatio(a: string | Rgb, b: string | Rgb): number {
  const x = luminance(typeof a === 'string' ? rgb(a) : a);
  const y = luminance(typeof b === 'string' ? rgb(b) : b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}
const over = (fg: Rgb, alpha: number, bg: Rgb): Rgb => fg.map((v, i) => v * alpha + bg[i]! * (1 - alpha)) as Rgb;

/** A `light` badge of `hue` in `scheme` (theme.ts: its text, and Mantine's tint laid over
 * each surface it sits on): the lowest contrast of its text against its background. */
export function badgeContrast(hue: BadgeHue, scheme: Scheme): number {
  const text = BADGE_TEXT[scheme][hue];
  const tint = rgb(badgeTint(hue));
  return Math.min(
    ...BADGE_SURFACES[scheme].map((s) => contrastRatio(text, over(tint, BADGE_BG_ALPHA[scheme], rgb(s)))),
  );
}
