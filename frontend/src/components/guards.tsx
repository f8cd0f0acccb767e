// Route guards: a signed-in user (else the login page, coming back afterwards), and a
// project the user belongs to (its slug in the URL), which also opens the live stream.
import { createContext, useContext, useEffect } from 'react';
import { Navigate, Outlet, useLocation, useParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Anchor, Center, Container, Loader, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';
import { meQuery } from '../api/auth';
import type { Me, Project } from '../api/types';
import { ErrorState } from './QueryState';
import { LiveProvider } from '../live/LiveProvider';
import { getLastProject, setLastProject } from '../lib/prefs';
import { CreateProjectForm } from './CreateProjectForm';

/** What the pages see in the moment between logging out and leaving them: no one. */
const SIGNED_OUT = { projects: [] } as unknown as Me;

export function useMe(): Me {
  const { data } = useQuery(meQuery);
  // RequireAuth renders its children only once this is known and non-null; logging out
  // sets it to null while they are still mounted, until the sign-in page replaces them.
  return data ?? SIGNED_OUT;
}

export function RequireAuth() {
  const { data, error, isPending, refetch } = useQuery(meQuery);
  const loc = useLocation();
  if (isPending)
    return (
      <Center h="100vh">
        <Loader />
      </Center>
    );
  if (error)
    return (
      <Container size="sm" py="xl">
        <ErrorState error={error} onRetry={() => void refetch()} />
      </Container>
    );
  if (!data || !data.user) {
    const next = loc.pathname + loc.search;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}

export function ProjectRedirect() {
  const me = useMe();
  const projects = me.projects ?? [];
  if (projects.length === 0) return <NoProject />;
  const last = getLastProject();
  const p = projects.find((x) => x.slug === last) ?? projects[0]!;
  return <Navigate to={`/p/${p.slug}`} replace />;
}

function NoProject() {
  const me = useMe();
  return (
    <Container size="sm" py="xl">
      <Stack>
        <Title order={2}>No project yet</Title>
        <Text>
          {me.user?.is_admin
            ? 'Create the first project; producers then send runs to it with a project token.'
            : 'You are not a member of any project. Ask a project admin to add you.'}
        </Text>
        {me.user?.is_admin && <CreateProjectForm />}
      </Stack>
    </Container>
  );
}

export interface CurrentProject {
  slug: string;
  id: number;
  name: string;
  role: NonNullable<Project['role']>;
}

const ProjectContext = createContext<CurrentProject | null>(null);

export function useProject(): CurrentProject {
  const p = useContext(ProjectContext);
  if (!p) throw new Error('useProject outside a project route');
  return p;
}

export function ProjectRoute() {
  const { project: slug = '' } = useParams();
  const me = useMe();
  const p = (me.projects ?? []).find((x) => x.slug === slug);
  useEffect(() => {
    if (p?.slug) setLastProject(p.slug);
  }, [p?.slug]);
  if (!p || p.id === undefined || !p.slug)
    return (
      <Container size="sm" py="xl">
        <Stack>
          <Title order={2}>No such project</Title>
          <Text>
            There is no project “{slug}”, or you are not one of its members.{' '}
            <Anchor component={Link} to="/">
              Go to your projects
            </Anchor>
          </Text>
        </Stack>
      </Container>
    );
  const cur: CurrentProject = { slug: p.slug, id: p.id, name: p.name ?? p.slug, role: p.role ?? 'viewer' };
  return (
    <ProjectContext.Provider value={cur}>
      <LiveProvider slug={cur.slug} projectId={cur.id}>
        <Outlet />
      </LiveProvider>
    </ProjectContext.Provider>
  );
}

const RANK = { viewer: 1, member: 2, admin: 3 } as const;
/** Whether the current user's role in the project is at least `role`. */
export function useCan(role: keyof typeof RANK): boolean {
  const p = useProject();
  const me = useMe();
  return !!me.user?.is_admin || RANK[p.role] >= RANK[role];
}
