// One trace (GET /traces/{id}): its waterfall and span drawer, and where it came from.
import { Alert, Anchor, Group, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { traceQuery } from '../api/spans';
import { useProject } from '../components/guards';
import { ErrorState, LoadingRows } from '../components/QueryState';
import { TraceView } from '../components/traces/TraceView';
import { Copy } from '../components/traces/SpanDrawer';

export default function TracePage() {
  const { traceId = '' } = useParams();
  const { slug } = useProject();
  const q = useQuery(traceQuery(slug, traceId));
  const root = q.data?.spans.find((s) => !s.parent_span_id) ?? q.data?.spans[0];
  const runs = [...new Set((q.data?.spans ?? []).map((s) => s.run_id).filter((r): r is string => !!r))];

  return (
    <Stack gap="md" data-testid="trace-page">
      <Stack gap={4}>
        <Text size="sm">
          <Anchor component={Link} to={`/p/${slug}/traces`}>
            Traces
          </Anchor>{' '}
          /
        </Text>
        <Title order={2}>{root?.name ?? 'trace'}</Title>
        <Group gap={4}>
          <Text size="xs" ff="monospace" c="dimmed">
            {traceId}
          </Text>
          <Copy value={traceId} label="trace id" />
          {runs.slice(0, 5).map((r) => (
            <Anchor key={r} component={Link} to={`/p/${slug}/runs/${r}?tab=traces`} size="xs" ff="monospace">
              run {r.slice(0, 8)}
            </Anchor>
          ))}
        </Group>
      </Stack>
      {q.isPending ? (
        <LoadingRows rows={8} height={22} />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        <>
          {q.data.truncated && (
            <Alert color="yellow" title="Not every span is shown">
              The trace holds more spans than one answer carries; the earliest are shown.
            </Alert>
          )}
          <TraceView spans={q.data.spans} project={slug} />
        </>
      )}
    </Stack>
  );
}
