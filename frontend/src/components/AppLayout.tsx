// The app shell: header (project switcher, live indicator, theme, user menu) and the
// navigation. Pages render in the main area.
import {
  ActionIcon,
  AppShell,
  Burger,
  Group,
  Menu,
  NavLink,
  Select,
  Text,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { useLogout } from '../api/auth';
import { useMe, useProject } from './guards';
import { LiveIndicator } from './LiveIndicator';

const NAV = [
  { to: '', label: 'Overview' },
  { to: 'runs', label: 'Runs' },
  { to: 'traces', label: 'Traces' },
  { to: 'rollouts', label: 'Rollouts' },
  { to: 'resources', label: 'Resources' },
  { to: 'workers', label: 'Workers' },
  { to: 'celery', label: 'Celery' },
  { to: 'failures', label: 'Failures' },
  { to: 'reports', label: 'Reports' },
  { to: 'settings', label: 'Settings' },
];

export function ThemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme('light');
  const next = computed === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={`Switch to ${next} theme`}>
      <ActionIcon
        variant="default"
        aria-label={`Switch to ${next} theme`}
        data-testid="theme-toggle"
        onClick={() => setColorScheme(next)}
      >
        {computed === 'dark' ? '☀' : '☾'}
      </ActionIcon>
    </Tooltip>
  );
}

export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure();
  const me = useMe();
  const project = useProject();
  const loc = useLocation();
  const nav = useNavigate();
  const logout = useLogout();
  const base = `/p/${project.slug}`;
  const section = loc.pathname.slice(base.length).split('/')[1] ?? '';

  return (
    <AppShell
      header={{ height: 52 }}
      navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Text fw={700} component={Link} to={base}>
              Runwatch
            </Text>
            <Select
              aria-label="Project"
              data-testid="project-switcher"
              size="xs"
              w={180}
              allowDeselect={false}
              value={project.slug}
              data={(me.projects ?? []).map((p) => ({ value: p.slug ?? '', label: p.name ?? p.slug ?? '' }))}
              onChange={(slug) => slug && nav(`/p/${slug}${section ? '/' + section : ''}`)}
            />
          </Group>
          <Group gap="sm" wrap="nowrap">
            <LiveIndicator />
            <ThemeToggle />
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton data-testid="user-menu">
                  <Text size="sm">{me.user?.display_name || me.user?.email}</Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{me.user?.email}</Menu.Label>
                <Menu.Item component={Link} to={`${base}/settings`}>
                  Settings
                </Menu.Item>
                <Menu.Item
                  color="red"
                  onClick={() =>
                    logout.mutate(undefined, { onSettled: () => nav('/login', { replace: true }) })
                  }
                >
                  Log out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {NAV.map((n) => (
          <NavLink
            key={n.label}
            component={Link}
            to={n.to ? `${base}/${n.to}` : base}
            label={n.label}
            active={section === n.to}
            onClick={close}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
