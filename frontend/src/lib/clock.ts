// The server's clock, as the browser's plus an offset: every relative time ("12s ago"),
// age and running duration is counted from serverNow(), so a browser whose clock runs
// behind the server's never shows a run that started "in 2s". The offset is learnt from
// the Date header of every API answer (api/client.ts calls noteServerDate). The header
// has whole seconds (RFC 9110, truncated), so one answer says only that the offset lies in
// [date - received, date + 1 s - sent]; the bounds of all answers are intersected, which
// narrows it to well under a second after a few requests. When the intervals stop
// overlapping (either clock was stepped), the newest answer starts over.

let lo = -Infinity;
let hi = Infinity;
let offsetMs = 0;

/** Records one answer: its Date header and when (browser clock, ms) the request left and
 * the answer came. Bad or missing headers are ignored. */
export function noteServerDate(date: string | null | undefined, sentMs: number, receivedMs: number): void {
  if (!date) return;
  const server = Date.parse(date);
  if (!Number.isFinite(server) || receivedMs < sentMs) return;
  const a = server - receivedMs;
  const b = server + 1000 - sentMs;
  if (a > hi || b < lo) {
    lo = a;
    hi = b;
  } else {
    lo = Math.max(lo, a);
    hi = Math.min(hi, b);
  }
  offsetMs = Math.round((lo + hi) / 2);
}

/** Milliseconds to add to the browser's clock to get the server's. */
export function serverOffsetMs(): number {
  return offsetMs;
}

/** The server's now, in ms since the epoch. */
export function serverNow(): number {
  return Date.now() + offsetMs;
}

/** For tests: forget what was learnt. */
export function resetServerClock(): void {
  lo = -Infinity;
  hi = Infinity;
  offsetMs = 0;
}
