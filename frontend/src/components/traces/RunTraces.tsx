// The run page's Traces tab: the run's spans (every trace they belong to), loaded once in
// sequence order and then kept current by the live stream (run.spans: only the new spans
// are fetched, api/spans.ts fetchNewRunSpans).
import { Alert, Code, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { RUN_SPANS_CAP, runSpansQuery } from '../../api/spans';
import { EmptyState, ErrorState, LoadingRows } from '../QueryState';
import { TraceView } from './TraceView';

export function RunTraces({ project, run }: { project: string; run: string }) {
  const q = useQuery(runSpansQuery(project, run));
  if (q.isPending) return <LoadingRows rows={6} height={22} />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data.spans.length === 0)
    return (
      <EmptyState title="No spans yet">
        <Stack gap={4} maw={720}>
          <Text size="sm" c="dimmed">
            Spans appear here live when an OpenTelemetry exporter sends them to /v1/traces with a project token, and
            the span or its resource carries this run's id:
          </Text>
          <Code block>{`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${window.location.origin}/v1/traces
OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer rw_…"
OTEL_RESOURCE_ATTRIBUTES=runwatch.run_id=${run}`}</Code>
        </Stack>
      </EmptyState>
    );
  return (
    <Stack gap="xs">
      {q.data.capped && (
        <Alert color="yellow" title="Not every span is shown">
          The run has more than {RUN_SPANS_CAP.toLocaleString()} spans; the first {RUN_SPANS_CAP.toLocaleString()} are shown.
        </Alert>
      )}
      <TraceView spans={q.data.spans} project={project} />
    </Stack>
  );
}
