// One worker: identity, status, labels, its latest resource sample and its runs.
import { Anchor, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { workerQuery } from '../api/workers';
import { runsListQuery } from '../api/runs';
import { useProject } from '../components/guards';
import { ErrorState, LoadingRows } from '../components/QueryState';
import { StatusBadge } from '../components/StatusBadges';
import { JsonBlock } from '../components/Json';
import { RunsTable } from '../components/RunsTable';
import { formatRelative, formatTime } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { useNow } from '../lib/useNow';

export default function WorkerDetailPage() {
  const { workerId = '' } = useParams();
  const id = Number(workerId);
  const { slug } = useProject();
  const refetchInterval = useRefetchInterval();
  const w = useQuery({ ...workerQuery(slug, id), refetchInterval, enabled: Number.isInteger(id) });
  const runs = useInfiniteQuery(runsListQuery(slug, { worker: workerId }, () => ({ worker: workerId })));
  const now = useNow(1000);

  if (!Number.isInteger(id)) return <ErrorState error={new Error('not a worker id')} />;
  if (w.isPending) return <LoadingRows rows={6} />;
  if (w.error) return <ErrorState error={w.error} onRetry={() => void w.refetch()} />;
  const d = w.data;
  const list = runs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Stack>
      <Text size="sm">
        <Anchor component={Link} to={`/p/${slug}/workers`}>
          Workers
        </Anchor>{' '}
        /
      </Text>
      <Group>
        <Title order={2}>{d.name}</Title>
        <StatusBadge status={d.status} />
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
          <div>
            <Text size="xs" c="dimmed">Host</Text>
            <Text size="sm">{d.host}{d.pid ? ` (pid ${d.pid})` : ''}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Started</Text>
            <Text size="sm">{formatTime(d.started_at)}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Last heartbeat</Text>
            <Text size="sm" title={formatTime(d.last_heartbeat_at)}>{formatRelative(d.last_heartbeat_at, now)}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Stopped</Text>
            <Text size="sm">{formatTime(d.stopped_at)}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">Kinds</Text>
            <Text size="sm">{(d.kinds ?? []).join(', ') || 'any'}</Text>
          </div>
        </SimpleGrid>
      </Card>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack gap={4}>
          <Text fw={600} size="sm">Latest resource sample</Text>
          <JsonBlock value={d.resources ?? null} mah={240} />
        </Stack>
        <Stack gap={4}>
          <Text fw={600} size="sm">Labels</Text>
          <JsonBlock value={d.labels ?? {}} mah={240} />
        </Stack>
      </SimpleGrid>
      <Title order={4}>Runs on this worker</Title>
      {runs.isPending ? (
        <LoadingRows />
      ) : runs.error && !runs.data ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : list.length === 0 ? (
        <Text size="sm" c="dimmed">No runs yet.</Text>
      ) : (
        <RunsTable
          project={slug}
          runs={list}
          now={now}
          hasMore={!!runs.hasNextPage}
          loadingMore={runs.isFetchingNextPage}
          onLoadMore={() => void runs.fetchNextPage()}
          height="400px"
        />
      )}
    </Stack>
  );
}
