import { useEffect, useState } from 'react';
import { serverNow } from './clock';

/** The current time by the server's clock (lib/clock), refreshed every `ms`: for durations
 * and ages that keep counting. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => serverNow());
  useEffect(() => {
    const t = setInterval(() => setNow(serverNow()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
