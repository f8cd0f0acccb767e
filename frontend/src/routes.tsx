// Routes, each page its own chunk (React.lazy), so the first load carries only the shell.
// The trace views' loaders start their span fetch at navigation, while the sign-in check
// and the page's chunk load, instead of after them (docs/PERFORMANCE.md, the trace view's
// first paint); they return at once, the page reads the same query from the cache. The
// overview and runs loaders do the same for those pages' first requests and their chunk,
// so a cold load asks for the session, the code and the data at once rather than one
// after another (docs/PERFORMANCE.md, "No waterfall on the overview and runs pages").
import { lazy, Suspense, type ReactNode } from 'react';
import { createBrowserRouter, Navigate, type LoaderFunctionArgs } from 'react-router-dom';
import { Center, Loader } from '@mantine/core';
import { RequireAuth, ProjectRoute, ProjectRedirect } from './components/guards';
import { AppLayout } from './components/AppLayout';
import { queryClient } from './queryClient';
import { runSpansQuery, traceQuery } from './api/spans';
import { prefetchOverview } from './api/overview';
import { runsListQuery } from './api/runs';
import { thresholdsQuery } from './api/reports';
import { workersQuery } from './api/workers';
import { parseRunFilters, runFiltersToApi, runFiltersToSearch } from './lib/runFilters';

const LoginPage = lazy(() => import('./pages/LoginPage'));
const loadOverview = () => import('./pages/OverviewPage');
const loadRuns = () => import('./pages/RunsPage');
const OverviewPage = lazy(loadOverview);
const RunsPage = lazy(loadRuns);
const RunDetailPage = lazy(() => import('./pages/RunDetailPage'));
const TracesPage = lazy(() => import('./pages/TracesPage'));
const TracePage = lazy(() => import('./pages/TracePage'));
const RolloutsPage = lazy(() => import('./pages/RolloutsPage'));
const ArtifactsPage = lazy(() => import('./pages/ArtifactsPage'));
const ResourcesPage = lazy(() => import('./pages/ResourcesPage'));
const WorkersPage = lazy(() => import('./pages/WorkersPage'));
const ExperimentsPage = lazy(() => import('./pages/ExperimentsPage'));
const ExperimentPage = lazy(() => import('./pages/ExperimentPage'));
const CeleryRegistryPage = lazy(() => import('./pages/CeleryRegistryPage'));
const WorkerDetailPage = lazy(() => import('./pages/WorkerDetailPage'));
const SettingsPage = lazy(() => import('./pages/SettingsPage'));
const ReportsPage = lazy(() => import('./pages/ReportsPage'));
const FailuresPage = lazy(() => import('./pages/FailuresPage'));
const FailureGroupPage = lazy(() => import('./pages/FailureGroupPage'));
const AdminPage = lazy(() => import('./pages/AdminPage'));
const AuditPage = lazy(() => import('./pages/AuditPage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));
const ComparePage = lazy(() => import('./pages/ComparePage'));
const LeaderboardPage = lazy(() => import('./pages/LeaderboardPage'));

/** Starts a fetch into the cache unless it holds the data already; never waits for it (an
 * error shows on the page, whose query asks again). */
function prefetch(p: Promise<unknown>): null {
  p.catch(() => {});
  return null;
}

function traceLoader({ params }: LoaderFunctionArgs) {
  return prefetch(queryClient.ensureQueryData(traceQuery(params.project ?? '', params.traceId ?? '')));
}

/** A run opened on its Traces tab (?tab=traces): its spans. */
function runLoader({ params, request }: LoaderFunctionArgs) {
  if (new URL(request.url).searchParams.get('tab') !== 'traces') return null;
  return prefetch(queryClient.ensureQueryData(runSpansQuery(params.project ?? '', params.runId ?? '')));
}

function overviewLoader({ params }: LoaderFunctionArgs) {
  void loadOverview().catch(() => {});
  prefetchOverview(queryClient, params.project ?? '').forEach(prefetch);
  return null;
}

/** The runs list's first page under the URL's filters, keyed as RunsPage keys it. */
function runsLoader({ params, request }: LoaderFunctionArgs) {
  const slug = params.project ?? '';
  const filters = parseRunFilters(new URL(request.url).searchParams);
  const key = Object.fromEntries(runFiltersToSearch(filters));
  void loadRuns().catch(() => {});
  prefetch(queryClient.prefetchInfiniteQuery(runsListQuery(slug, key, (anchor) => runFiltersToApi(filters, anchor))));
  prefetch(queryClient.prefetchQuery(thresholdsQuery(slug)));
  // The table names each run's worker from the project's worker list.
  prefetch(queryClient.prefetchQuery(workersQuery(slug)));
  return null;
}

function page(el: ReactNode) {
  return (
    <Suspense
      fallback={
        <Center py="xl">
          <Loader size="sm" />
        </Center>
      }
    >
      {el}
    </Suspense>
  );
}

export const router = createBrowserRouter([
  { path: '/login', element: page(<LoginPage />) },
  {
    element: <RequireAuth />,
    children: [
      { path: '/', element: <ProjectRedirect /> },
      {
        path: '/p/:project',
        element: <ProjectRoute />,
        children: [
          {
            element: <AppLayout />,
            children: [
              { index: true, element: page(<OverviewPage />), loader: overviewLoader },
              { path: 'runs', element: page(<RunsPage />), loader: runsLoader },
              { path: 'runs/:runId', element: page(<RunDetailPage />), loader: runLoader },
              { path: 'compare', element: page(<ComparePage />) },
              { path: 'leaderboard', element: page(<LeaderboardPage />) },
              { path: 'traces', element: page(<TracesPage />) },
              { path: 'traces/:traceId', element: page(<TracePage />), loader: traceLoader },
              { path: 'rollouts', element: page(<RolloutsPage />) },
              { path: 'artifacts', element: page(<ArtifactsPage />) },
              { path: 'resources', element: page(<ResourcesPage />) },
              { path: 'workers', element: page(<WorkersPage />) },
              { path: 'experiments', element: page(<ExperimentsPage />) },
              { path: 'experiments/:experimentId', element: page(<ExperimentPage />) },
              { path: 'celery', element: page(<CeleryRegistryPage />) },
              { path: 'workers/:workerId', element: page(<WorkerDetailPage />) },
              { path: 'reports', element: page(<ReportsPage />) },
              { path: 'failures', element: page(<FailuresPage />) },
              { path: 'failures/:fingerprint', element: page(<FailureGroupPage />) },
              { path: 'settings', element: page(<SettingsPage />) },
              { path: 'admin', element: page(<AdminPage />) },
              { path: 'audit', element: page(<AuditPage />) },
              { path: '*', element: page(<NotFoundPage />) },
            ],
          },
        ],
      },
      { path: '/runs', element: <Navigate to="/" replace /> },
      { path: '*', element: page(<NotFoundPage />) },
    ],
  },
], {
  future: { v7_relativeSplatPath: true, v7_fetcherPersist: true, v7_normalizeFormMethod: true, v7_partialHydration: true, v7_skipActionErrorRevalidation: true },
});
