// Routes, each page its own chunk (React.lazy), so the first load carries only the shell.
// The trace views' loaders start their span fetch at navigation, while the sign-in check
// and the page's chunk load, instead of after them (docs/PERFORMANCE.md, the trace view's
// first paint); they return at once, the page reads the same query from the cache.
import { lazy, Suspense, type ReactNode } from 'react';
import { createBrowserRouter, Navigate, type LoaderFunctionArgs } from 'react-router-dom';
import { Center, Loader } from '@mantine/core';
import { RequireAuth, ProjectRoute, ProjectRedirect } from './components/guards';
import { AppLayout } from './components/AppLayout';
import { queryClient } from './queryClient';
import { runSpansQuery, traceQuery } from './api/spans';

const LoginPage = lazy(() => import('./pages/LoginPage'));
const OverviewPage = lazy(() => import('./pages/OverviewPage'));
const RunsPage = lazy(() => import('./pages/RunsPage'));
const RunDetailPage = lazy(() => import('./pages/RunDetailPage'));
const TracesPage = lazy(() => import('./pages/TracesPage'));
const TracePage = lazy(() => import('./pages/TracePage'));
const RolloutsPage = lazy(() => import('./pages/RolloutsPage'));
const ResourcesPage = lazy(() => import('./pages/ResourcesPage'));
const WorkersPage = lazy(() => import('./pages/WorkersPage'));
const CeleryRegistryPage = lazy(() => import('./pages/CeleryRegistryPage'));
const WorkerDetailPage = lazy(() => import('./pages/WorkerDetailPage'));
const SettingsPage = lazy(() => import('./pages/SettingsPage'));
const ReportsPage = lazy(() => import('./pages/ReportsPage'));
const FailuresPage = lazy(() => import('./pages/FailuresPage'));
const FailureGroupPage = lazy(() => import('./pages/FailureGroupPage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));

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
              { index: true, element: page(<OverviewPage />) },
              { path: 'runs', element: page(<RunsPage />) },
              { path: 'runs/:runId', element: page(<RunDetailPage />), loader: runLoader },
              { path: 'traces', element: page(<TracesPage />) },
              { path: 'traces/:traceId', element: page(<TracePage />), loader: traceLoader },
              { path: 'rollouts', element: page(<RolloutsPage />) },
              { path: 'resources', element: page(<ResourcesPage />) },
              { path: 'workers', element: page(<WorkersPage />) },
              { path: 'celery', element: page(<CeleryRegistryPage />) },
              { path: 'workers/:workerId', element: page(<WorkerDetailPage />) },
              { path: 'reports', element: page(<ReportsPage />) },
              { path: 'failures', element: page(<FailuresPage />) },
              { path: 'failures/:fingerprint', element: page(<FailureGroupPage />) },
              { path: 'settings', element: page(<SettingsPage />) },
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
