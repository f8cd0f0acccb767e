// Session: who is signed in (`/auth/me`), login, logout, password change.
import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from './client';
import type { Me, User } from './types';

export const authKeys = { me: ['auth', 'me'] as const };

/** `null` when nobody is signed in (a 401), so pages can redirect instead of erroring. */
export const meQuery = queryOptions({
  queryKey: authKeys.me,
  queryFn: async ({ signal }): Promise<Me | null> => {
    try {
      return await api<Me>('/auth/me', { signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
  staleTime: 60_000,
});

export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { email: string; password: string }) =>
      api<{ user: User }>('/auth/login', { method: 'POST', body: v }),
    onSuccess: async () => {
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'auth' });
      await qc.invalidateQueries({ queryKey: authKeys.me });
    },
  });
}

export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<void>('/auth/logout', { method: 'POST' }),
    onSettled: () => {
      qc.clear();
      qc.setQueryData(authKeys.me, null);
    },
  });
}

export function useChangePassword() {
  return useMutation({
    mutationFn: (v: { current_password: string; new_password: string }) =>
      api<void>('/auth/password', { method: 'POST', body: v }),
  });
}
