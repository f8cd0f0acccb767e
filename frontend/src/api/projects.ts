// Project administration: members and producer tokens.
import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { Member, NewToken, Page, Role, Token } from './types';

const p = (slug: string) => `/projects/${encodeURIComponent(slug)}`;

export const projectKeys = {
  members: (slug: string) => ['projects', slug, 'members'] as const,
  tokens: (slug: string) => ['projects', slug, 'tokens'] as const,
};

export const membersQuery = (slug: string) =>
  queryOptions({
    queryKey: projectKeys.members(slug),
    queryFn: async ({ signal }) => (await api<Page<Member>>(`${p(slug)}/members`, { signal })).items,
  });

export const tokensQuery = (slug: string) =>
  queryOptions({
    queryKey: projectKeys.tokens(slug),
    queryFn: async ({ signal }) => (await api<Page<Token>>(`${p(slug)}/tokens`, { signal })).items,
  });

export function useAddMember(slug: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { email: string; role: Role }) =>
      api<Member>(`${p(slug)}/members`, { method: 'POST', body: v }),
    onSuccess: () => qc.invalidateQueries({ queryKey: projectKeys.members(slug) }),
  });
}

export function useSetMemberRole(slug: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { user_id: number; role: Role }) =>
      api<Member>(`${p(slug)}/members/${v.user_id}`, { method: 'PATCH', body: { role: v.role } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: projectKeys.members(slug) }),
  });
}

export function useRemoveMember(slug: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (userId: number) =>
      api<void>(`${p(slug)}/members/${userId}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: projectKeys.members(slug) }),
  });
}

export function useCreateToken(slug: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { name: string; scopes: string[]; expires_at: string | null }) =>
      api<NewToken>(`${p(slug)}/tokens`, { method: 'POST', body: v }),
    onSuccess: () => qc.invalidateQueries({ queryKey: projectKeys.tokens(slug) }),
  });
}

export function useRevokeToken(slug: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api<void>(`${p(slug)}/tokens/${id}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: projectKeys.tokens(slug) }),
  });
}
