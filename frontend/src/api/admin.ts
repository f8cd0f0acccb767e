// Instance administration (instance admins): users (create, rename, promote, disable,
// reset a password), project renames, and the audit log with its filters, in pages.
// Project members and tokens are api/projects.ts's, shared with Settings.
import { infiniteQueryOptions, queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from './client';
import { authKeys } from './auth';
import type { AuditEntry, Page, Project, User } from './types';

export const adminKeys = {
  users: ['admin', 'users'] as const,
  audit: (f: AuditFilters) => ['admin', 'audit', f] as const,
};

export const usersQuery = queryOptions({
  queryKey: adminKeys.users,
  queryFn: async ({ signal }) => (await api<Page<User>>('/users', { signal })).items,
});

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { email: string; display_name: string; password: string; is_admin: boolean }) =>
      api<User>('/users', { method: 'POST', body: v }),
    onSuccess: () => qc.invalidateQueries({ queryKey: adminKeys.users }),
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: { id: number; display_name?: string; is_admin?: boolean; disabled?: boolean }) =>
      api<User>(`/users/${id}`, { method: 'PATCH', body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: adminKeys.users }),
  });
}

export function useResetPassword() {
  return useMutation({
    mutationFn: ({ id, password }: { id: number; password: string }) =>
      api<User>(`/users/${id}/password`, { method: 'POST', body: { password } }),
  });
}

export function useRenameProject() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ slug, name }: { slug: string; name: string }) =>
      api<Project>(`/projects/${encodeURIComponent(slug)}`, { method: 'PATCH', body: { name } }),
    // The switcher and every page's project name come from /auth/me.
    onSuccess: () => qc.invalidateQueries({ queryKey: authKeys.me }),
  });
}

/** The Audit page's filters, as GET /audit takes them ('' = any). */
export interface AuditFilters {
  project: string;
  actor: string;
  action: string;
  since: string; // RFC 3339
  until: string;
}

export const AUDIT_PAGE = 50;

export const auditQuery = (f: AuditFilters) =>
  infiniteQueryOptions({
    queryKey: adminKeys.audit(f),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<Page<AuditEntry>>('/audit', {
        query: { ...f, limit: AUDIT_PAGE, cursor: pageParam ?? undefined },
        signal,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
