// A project's members: who they are, their role (project admins change it), adding by
// email and removing. Shared by Settings (the current project) and the Admin page (any
// project). An empty list says what members are and how to add one.
import { useState } from 'react';
import { Alert, Button, Card, Group, Select, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { ApiError, errorText } from '../api/client';
import { membersQuery, useAddMember, useRemoveMember, useSetMemberRole } from '../api/projects';
import type { Role } from '../api/types';
import { formatTime } from '../lib/format';
import { useRefetchInterval } from '../lib/prefs';
import { useMe } from './guards';
import { EmptyState, ErrorState, LoadingRows } from './QueryState';

const fieldError = (err: unknown, field: string) =>
  err instanceof ApiError && err.field === field ? err.message : undefined;
const generalError = (err: unknown, fields: string[]) =>
  err && !(err instanceof ApiError && err.field && fields.includes(err.field)) ? errorText(err) : null;

const ROLES: Role[] = ['viewer', 'member', 'admin'];

export function ProjectMembers({ slug, canAdmin }: { slug: string; canAdmin: boolean }) {
  const me = useMe();
  const refetchInterval = useRefetchInterval();
  const q = useQuery({ ...membersQuery(slug), refetchInterval });
  const add = useAddMember(slug);
  const setRole = useSetMemberRole(slug);
  const remove = useRemoveMember(slug);
  const [email, setEmail] = useState('');
  const [role, setNewRole] = useState<Role>('member');
  const rowError = setRole.error ?? remove.error;

  return (
    <Card withBorder data-testid="members">
      <Title order={4} mb="sm">
        Members
      </Title>
      {canAdmin && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate({ email, role }, { onSuccess: () => setEmail('') });
          }}
        >
          <Group align="flex-end" mb="md">
            <TextInput label="Email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={fieldError(add.error, 'email')} />
            <Select label="Role" data={ROLES} value={role} allowDeselect={false} onChange={(v) => v && setNewRole(v as Role)} w={120} />
            <Button type="submit" loading={add.isPending}>
              Add member
            </Button>
          </Group>
          {generalError(add.error, ['email']) && (
            <Alert color="red" mb="sm">
              {generalError(add.error, ['email'])}
            </Alert>
          )}
        </form>
      )}
      {rowError && (
        <Alert color="red" mb="sm">
          {errorText(rowError)}
        </Alert>
      )}
      {q.isPending ? (
        <LoadingRows rows={3} />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.length === 0 ? (
        <EmptyState title="No members yet">
          <Text size="sm" c="dimmed" maw={520} ta="center" data-testid="members-empty">
            Members are the people who see this project: a <b>viewer</b> reads it, a{' '}
            <b>member</b> also writes runs, an <b>admin</b> also manages members and tokens.
            Instance admins see every project without being members.
            {canAdmin ? ' Add someone by the email they sign in with (an instance admin creates the account first).' : ' A project admin adds people.'}
          </Text>
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={480}>
        <Table fz="sm" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Email</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Since</Table.Th>
              {canAdmin && <Table.Th />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((m) => (
              <Table.Tr key={m.user_id}>
                <Table.Td>{m.display_name}</Table.Td>
                <Table.Td>{m.email}</Table.Td>
                <Table.Td>
                  {canAdmin ? (
                    <Select
                      size="xs"
                      w={110}
                      data={ROLES}
                      value={m.role ?? 'viewer'}
                      allowDeselect={false}
                      aria-label={`role of ${m.email}`}
                      onChange={(v) => v && v !== m.role && setRole.mutate({ user_id: m.user_id ?? 0, role: v as Role })}
                    />
                  ) : (
                    m.role
                  )}
                </Table.Td>
                <Table.Td>{formatTime(m.created_at)}</Table.Td>
                {canAdmin && (
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      onClick={() => {
                        const self = m.user_id === me.user?.id;
                        if (window.confirm(self ? 'Remove yourself from this project?' : `Remove ${m.email} from this project?`))
                          remove.mutate(m.user_id ?? 0);
                      }}
                    >
                      Remove
                    </Button>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        </Table.ScrollContainer>
      )}
    </Card>
  );
}

