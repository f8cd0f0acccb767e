import { useState } from 'react';
import { Alert, Button, Group, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { api, ApiError, errorText } from '../api/client';
import { authKeys } from '../api/auth';
import type { Project } from '../api/types';

/** Instance admins create a project (slug + name); the new project opens at once. */
export function CreateProjectForm() {
  const qc = useQueryClient();
  const nav = useNavigate();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const m = useMutation({
    mutationFn: () => api<Project>('/projects', { method: 'POST', body: { slug, name } }),
    onSuccess: async (p) => {
      await qc.invalidateQueries({ queryKey: authKeys.me });
      nav(`/p/${p.slug}`);
    },
  });
  const fieldErr = (f: string) =>
    m.error instanceof ApiError && m.error.field === f ? m.error.message : undefined;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        m.mutate();
      }}
    >
      <Group align="flex-end">
        <TextInput label="Slug" placeholder="ml" value={slug} onChange={(e) => setSlug(e.currentTarget.value)} error={fieldErr('slug')} required />
        <TextInput label="Name" placeholder="ML team" value={name} onChange={(e) => setName(e.currentTarget.value)} error={fieldErr('name')} required />
        <Button type="submit" loading={m.isPending}>
          Create project
        </Button>
      </Group>
      {m.error && !(m.error instanceof ApiError && m.error.field) && (
        <Alert color="red" mt="sm">
          {errorText(m.error)}
        </Alert>
      )}
    </form>
  );
}
