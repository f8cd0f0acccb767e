// Admin (instance admins): the instance's users — create, rename, promote, disable or
// enable, reset a password — and its projects — create, rename, and each one's members.
// Everything here goes through the same endpoints as the shell's `runwatch-api` commands,
// and every change lands in the audit log (the Audit page). There is no project archive
// in the API, so none here.
import { useState } from 'react';
import { Link } from 'react-router-dom';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Drawer,
  Group,
  Modal,
  PasswordInput,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery } from '@tanstack/react-query';
import { ApiError, errorText } from '../api/client';
import { usersQuery, useCreateUser, useRenameProject, useResetPassword, useUpdateUser } from '../api/admin';
import type { Project, User } from '../api/types';
import { CreateProjectForm } from '../components/CreateProjectForm';
import { useMe } from '../components/guards';
import { ProjectMembers } from '../components/ProjectMembers';
import { EmptyState, ErrorState, LoadingRows } from '../components/QueryState';
import { formatTime } from '../lib/format';

const fieldError = (err: unknown, field: string) =>
  err instanceof ApiError && err.field === field ? err.message : undefined;
const otherError = (err: unknown, fields: string[]) =>
  err && !(err instanceof ApiError && err.field && fields.includes(err.field)) ? errorText(err) : null;

function NewUser() {
  const create = useCreateUser();
  const [v, setV] = useState({ email: '', display_name: '', password: '', is_admin: false });
  const fields = ['email', 'display_name', 'password'];
  return (
    <form
      data-testid="new-user"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate(v, {
          onSuccess: (u) => {
            setV({ email: '', display_name: '', password: '', is_admin: false });
            notifications.show({ color: 'teal', message: `User ${u.email} created.` });
          },
        });
      }}
    >
      <Group align="flex-end" gap="xs" mb="sm">
        <TextInput label="Email" type="email" required value={v.email} onChange={(e) => setV({ ...v, email: e.currentTarget.value })} error={fieldError(create.error, 'email')} />
        <TextInput label="Name" value={v.display_name} onChange={(e) => setV({ ...v, display_name: e.currentTarget.value })} error={fieldError(create.error, 'display_name')} />
        <PasswordInput label="Password" required w={180} value={v.password} onChange={(e) => setV({ ...v, password: e.currentTarget.value })} error={fieldError(create.error, 'password')} />
        <Checkbox label="Instance admin" mb={8} checked={v.is_admin} onChange={(e) => setV({ ...v, is_admin: e.currentTarget.checked })} />
        <Button type="submit" loading={create.isPending}>
          Create user
        </Button>
      </Group>
      {otherError(create.error, fields) && (
        <Alert color="red" mb="sm">
          {otherError(create.error, fields)}
        </Alert>
      )}
    </form>
  );
}

function ResetPassword({ user, onClose }: { user: User | null; onClose: () => void }) {
  const reset = useResetPassword();
  const [pw, setPw] = useState('');
  const close = () => {
    setPw('');
    reset.reset();
    onClose();
  };
  return (
    <Modal opened={user !== null} onClose={close} title={`Reset the password of ${user?.email ?? ''}`}>
      <form
        data-testid="reset-password"
        onSubmit={(e) => {
          e.preventDefault();
          if (!user?.id) return;
          reset.mutate(
            { id: user.id, password: pw },
            {
              onSuccess: () => {
                notifications.show({ color: 'teal', message: `Password of ${user.email} reset; their sessions ended.` });
                close();
              },
            },
          );
        }}
      >
        <Stack>
          <Text size="sm" c="dimmed">
            Their sessions end at once; hand them the new password by a channel you trust.
          </Text>
          <PasswordInput label="New password" required data-autofocus value={pw} onChange={(e) => setPw(e.currentTarget.value)} error={fieldError(reset.error, 'password')} />
          {otherError(reset.error, ['password']) && <Alert color="red">{otherError(reset.error, ['password'])}</Alert>}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={reset.isPending}>
              Reset password
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function Users() {
  const me = useMe();
  const q = useQuery(usersQuery);
  const update = useUpdateUser();
  const [resetting, setResetting] = useState<User | null>(null);
  return (
    <Card withBorder data-testid="users">
      <Title order={4} mb="sm">
        Users
      </Title>
      <NewUser />
      {update.error && (
        <Alert color="red" mb="sm">
          {errorText(update.error)}
        </Alert>
      )}
      {q.isPending ? (
        <LoadingRows rows={4} />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table fz="sm" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Email</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {q.data.map((u) => {
                const self = u.id === me.user?.id;
                return (
                  <Table.Tr key={u.id} data-kb-row={u.id} data-user={u.email} opacity={u.disabled ? 0.6 : 1}>
                    <Table.Td>{u.email}</Table.Td>
                    <Table.Td>{u.display_name}</Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {u.is_admin && <Badge variant="light">instance admin</Badge>}
                        {u.disabled && (
                          <Badge variant="light" color="gray" data-testid="disabled-badge">
                            disabled
                          </Badge>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>{formatTime(u.created_at)}</Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap" justify="flex-end">
                        <Button size="xs" variant="subtle" onClick={() => setResetting(u)}>
                          Reset password
                        </Button>
                        {!self && (
                          <Button
                            size="xs"
                            variant="subtle"
                            color={u.disabled ? 'teal' : 'red'}
                            onClick={() => {
                              if (u.disabled || window.confirm(`Disable ${u.email}? Their sessions end at once.`))
                                update.mutate({ id: u.id ?? 0, disabled: !u.disabled });
                            }}
                          >
                            {u.disabled ? 'Enable' : 'Disable'}
                          </Button>
                        )}
                        {!self && (
                          <Button size="xs" variant="subtle" color="gray" onClick={() => update.mutate({ id: u.id ?? 0, is_admin: !u.is_admin })}>
                            {u.is_admin ? 'Demote' : 'Make admin'}
                          </Button>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <ResetPassword user={resetting} onClose={() => setResetting(null)} />
    </Card>
  );
}

function RenameProject({ p }: { p: Project }) {
  const rename = useRenameProject();
  const [name, setName] = useState(p.name ?? '');
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        rename.mutate({ slug: p.slug ?? '', name }, { onSuccess: () => notifications.show({ color: 'teal', message: 'Project renamed.' }) });
      }}
    >
      <Group align="flex-end" gap="xs">
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={rename.error ? errorText(rename.error) : undefined} />
        <Button type="submit" variant="default" loading={rename.isPending} disabled={name === p.name}>
          Rename
        </Button>
      </Group>
    </form>
  );
}

function Projects() {
  const me = useMe();
  const [open, setOpen] = useState<string | null>(null);
  const projects = me.projects ?? [];
  const cur = projects.find((p) => p.slug === open) ?? null;
  return (
    <Card withBorder data-testid="projects">
      <Title order={4} mb="sm">
        Projects
      </Title>
      <CreateProjectForm />
      {projects.length === 0 ? (
        <EmptyState title="No projects yet" />
      ) : (
        <Table.ScrollContainer minWidth={480}>
          <Table fz="sm" striped mt="sm">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Project</Table.Th>
                <Table.Th>Slug</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {projects.map((p) => (
                <Table.Tr key={p.slug} data-kb-row={p.slug} data-project={p.slug}>
                  <Table.Td>
                    <Anchor component={Link} to={`/p/${p.slug}`}>
                      {p.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td ff="monospace">{p.slug}</Table.Td>
                  <Table.Td>{formatTime(p.created_at)}</Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="subtle" onClick={() => setOpen(p.slug ?? null)}>
                      Manage
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Drawer opened={cur !== null} onClose={() => setOpen(null)} position="right" size="lg" title={cur ? `Project ${cur.name}` : ''}>
        {cur && (
          <Stack data-testid="project-drawer">
            <RenameProject key={cur.slug} p={cur} />
            <ProjectMembers slug={cur.slug ?? ''} canAdmin />
          </Stack>
        )}
      </Drawer>
    </Card>
  );
}

export default function AdminPage() {
  const me = useMe();
  if (!me.user?.is_admin)
    return (
      <Stack>
        <Title order={2}>Admin</Title>
        <Text c="dimmed">Only instance admins manage users and projects.</Text>
      </Stack>
    );
  return (
    <Stack>
      <Title order={2}>Admin</Title>
      <Users />
      <Projects />
    </Stack>
  );
}
