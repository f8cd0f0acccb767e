// Entry: providers (Mantine, TanStack Query), the router, and the session-loss hook.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider, localStorageColorSchemeManager } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from 'react-router-dom';
import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { ApiError, setUnauthenticatedHandler } from './api/client';
import { authKeys } from './api/auth';
import { router } from './routes';
import { theme } from './theme';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // Client errors do not get better by asking again; outages and network errors may.
      retry: (count, err) =>
        count < 2 && !(err instanceof ApiError && err.status >= 400 && err.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

// A 401 anywhere means the session ended (expired, logged out elsewhere, password
// changed): forget who we were, and the route guard sends the person to the login page.
setUnauthenticatedHandler(() => queryClient.setQueryData(authKeys.me, null));

export const colorSchemeManager = localStorageColorSchemeManager({ key: 'runwatch.theme' });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="auto" colorSchemeManager={colorSchemeManager}>
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} future={{ v7_startTransition: true }} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
