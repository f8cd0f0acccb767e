// The app's one TanStack Query client, in a module of its own so that the routes' loaders
// (routes.tsx) can start a page's fetch into the same cache the page then reads.
import { QueryClient } from '@tanstack/react-query';
import { ApiError, setUnauthenticatedHandler } from './api/client';
import { authKeys } from './api/auth';

export const queryClient = new QueryClient({
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
