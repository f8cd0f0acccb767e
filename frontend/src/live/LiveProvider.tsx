// The app's one EventSource on /api/v1/stream for the open project. The browser
// reconnects by itself and sends Last-Event-ID, so the hub replays what was missed. When
// the browser gives up (an HTTP error: hub restarting, nginx 502) we open a new stream
// with the last id in the query (`last_event_id`), which the hub replays from the same
// way; when the hub cannot (`event: reset`), or we never had an id, the cached views are
// refetched over REST. When who we are changes (`event: revoked`: signed out elsewhere, a
// revoked token, removed from a project, a disabled account), the hub ends the stream and
// we ask /auth/me before opening another: a lost session leads to the sign-in page
// (RequireAuth), not to a reconnect loop.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  applyLiveMessage,
  LIVE_TYPES,
  newLiveContext,
  resyncAll,
  type LiveMessage,
} from './apply';
import { activity } from './activity';
import { authKeys } from '../api/auth';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

const LiveStatusContext = createContext<LiveStatus>('offline');
export const useLiveStatus = () => useContext(LiveStatusContext);

const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30000;

export function LiveProvider({
  slug,
  projectId,
  children,
}: {
  slug: string;
  projectId: number;
  children: ReactNode;
}) {
  const qc = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const retryMs = useRef(RETRY_MIN_MS);

  useEffect(() => {
    const ctx = newLiveContext(qc, slug, projectId);
    let es: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let closed = false;
    let opens = 0;
    let lastId = '';
    activity.clear();

    const onMessage = (ev: MessageEvent<string>) => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      let msg: LiveMessage;
      try {
        msg = JSON.parse(ev.data) as LiveMessage;
      } catch {
        return;
      }
      if (!msg.type) msg.type = ev.type;
      if (applyLiveMessage(ctx, msg)) activity.push(msg);
    };

    const open = () => {
      if (closed) return;
      setStatus(opens === 0 ? 'connecting' : 'reconnecting');
      const resume = lastId ? `&last_event_id=${encodeURIComponent(lastId)}` : '';
      const src = new EventSource(`/api/v1/stream?project=${projectId}${resume}`, {
        withCredentials: true,
      });
      es = src;
      src.onopen = () => {
        retryMs.current = RETRY_MIN_MS;
        setStatus('live');
        // Without an id to resume from, what happened while we were away is only in the
        // REST API. With one, the hub replays it or says `reset`.
        if (opens++ > 0 && !resume) resyncAll(ctx);
      };
      src.onerror = () => {
        if (closed) return;
        if (src.readyState === EventSource.CONNECTING) {
          setStatus('reconnecting');
          return;
        }
        // CLOSED: an HTTP error or a wrong content type. The browser will not retry. A
        // 401 means the session is gone: asking who we are shows the sign-in page.
        setStatus(navigator.onLine ? 'reconnecting' : 'offline');
        src.close();
        void qc.invalidateQueries({ queryKey: authKeys.me });
        opens = Math.max(opens, 1);
        retry = setTimeout(open, retryMs.current);
        retryMs.current = Math.min(retryMs.current * 2, RETRY_MAX_MS);
      };
      src.onmessage = onMessage;
      for (const t of LIVE_TYPES) src.addEventListener(t, onMessage as EventListener);
      src.addEventListener('reset', () => resyncAll(ctx));
      src.addEventListener('revoked', () => {
        // Closed before the browser reconnects by itself: who we are decides what next.
        src.close();
        setStatus('reconnecting');
        void qc.invalidateQueries({ queryKey: authKeys.me }).finally(() => {
          // Signed out: RequireAuth has gone to the sign-in page and unmounted us. Still
          // signed in (a narrowed role): a new stream, whose projects nginx recomputes.
          if (!closed && qc.getQueryData(authKeys.me)) open();
        });
      });
    };

    const onOffline = () => setStatus('offline');
    const onOnline = () => {
      if (es && es.readyState === EventSource.OPEN) setStatus('live');
      else if (es && es.readyState === EventSource.CLOSED) {
        if (retry) clearTimeout(retry);
        retryMs.current = RETRY_MIN_MS;
        open();
      }
    };
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    open();
    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      es?.close();
      ctx.refetch.clear();
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('online', onOnline);
    };
  }, [qc, slug, projectId]);

  return <LiveStatusContext.Provider value={status}>{children}</LiveStatusContext.Provider>;
}
