// The run page's link to the run's experiment (by name, once fetched; by id before).
import { Anchor } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { experimentQuery } from '../../api/experiments';

export function ExperimentLink({ project, id }: { project: string; id: number }) {
  const q = useQuery({ ...experimentQuery(project, id), staleTime: 60_000 });
  return (
    <Anchor component={Link} to={`/p/${project}/experiments/${id}`} data-testid="run-experiment">
      {q.data?.name ?? `#${id}`}
    </Anchor>
  );
}
