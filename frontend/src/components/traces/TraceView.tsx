// A waterfall with its span drawer: the run page's Traces tab and the trace page share
// it. The selected span is kept in the URL (?span=), so a link can open one.
import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { Span } from '../../api/spans';
import { spanKey } from '../../lib/trace';
import { Waterfall } from './Waterfall';
import { SpanDrawer } from './SpanDrawer';

export function TraceView({ spans, project, height }: { spans: readonly Span[]; project: string; height?: number }) {
  const [params, setParams] = useSearchParams();
  const want = params.get('span');
  const selected = useMemo(() => (want ? spans.find((s) => s.span_id === want) ?? null : null), [spans, want]);
  const select = (s: Span | null) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (s?.span_id) next.set('span', s.span_id);
        else next.delete('span');
        return next;
      },
      { replace: true },
    );
  return (
    <>
      <Waterfall spans={spans} selected={selected ? spanKey(selected) : null} onSelect={select} height={height} />
      <SpanDrawer span={selected} project={project} onClose={() => select(null)} />
    </>
  );
}
