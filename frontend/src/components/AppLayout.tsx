// The app shell: header (project switcher, live indicator, theme, user menu) and the
// navigation. Pages render in the main area. Below the `sm` breakpoint (phones, 390 px)
// the header keeps only the burger, the name, the live dot and the theme; the project
// switcher, Settings and Log out move into the burger's menu. The global keys (`/`, j/k,
// Enter, `?`) live in KeyboardShortcuts. Pages are keyed on the time-zone setting, so
// every time on screen follows a change at once (lib/format.ts reads the setting).
import {
  ActionIcon,
  AppShell,
  Burger,
  Group,
  Menu,
  NavLink,
  Select,
  Stack,
  Text,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { useLogout } from '../api/auth';
import { useTimeZone } from '../lib/prefs';
import { useMe, useProject } from './guards';
import { KeyboardShortcuts } from './KeyboardShortcuts';
import { LiveIndicator } from './LiveIndicator';

const NAV = [
  { to: '', label: 'Overview' },
  { to: 'runs', label: 'Runs' },
  { to: 'experiments', label: 'Experiments' },
  { to: 'leaderboard', label: 'Leaderboard' },
  { to: 'traces', label: 'Traces' },
  { to: 'rollouts', label: 'Rollouts' },
  { to: 'artifacts', label: 'Artifacts' },
  { to: 'resources', label: 'Resources' },
  { to: 'workers', label: 'Workers' },
  { to: 'celery', label: 'Celery' },
  { to: 'failures', label: 'Failures' },
  { to: 'reports', label: 'Reports' },
  { to: 'settings', label: 'Settings' },
];
/** Instance administration (users, projects) and the audit log: instance admins; a
 * project's admins read its audit entries. */
const ADMIN_NAV = [
  { to: 'admin', label: 'Admin', instanceOnly: true },
  { to: 'audit', label: 'Audit', instanceOnly: false },
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
  const zone = useTimeZone();
  const base = `/p/${project.slug}`;
  const section = loc.pathname.slice(base.length).split('/')[1] ?? '';
  const isAdmin = !!me.user?.is_admin;
  const navItems = [
    ...NAV,
    ...ADMIN_NAV.filter((n) => isAdmin || (!n.instanceOnly && project.role === 'admin')),
  ];
  const doLogout = () => logout.mutate(undefined, { onSettled: () => nav('/login', { replace: true }) });
  const projects = (me.projects ?? []).map((p) => ({ value: p.slug ?? '', label: p.name ?? p.slug ?? '' }));
  const switchProject = (slug: string | null) => {
    if (!slug) return;
    close();
    nav(`/p/${slug}${section ? '/' + section : ''}`);
  };

  return (
    <AppShell
      header={{ height: 52 }}
      navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding={{ base: 'xs', sm: 'md' }}
    >
      <KeyboardShortcuts onEscape={close} />
      <AppShell.Header>
        <Group h="100%" px={{ base: 'xs', sm: 'md' }} justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap" miw={0}>
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label="Menu"
              data-testid="burger"
            />
            <Text fw={700} component={Link} to={base}>
              Runwatch
            </Text>
            <Select
              aria-label="Project"
              data-testid="project-switcher"
              size="xs"
              w={180}
              visibleFrom="sm"
              allowDeselect={false}
              value={project.slug}
              data={projects}
              onChange={switchProject}
            />
          </Group>
          <Group gap="sm" wrap="nowrap">
            <LiveIndicator />
            <ThemeToggle />
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton data-testid="user-menu" visibleFrom="sm">
                  <Text size="sm" truncate maw={220}>
                    {me.user?.display_name || me.user?.email}
                  </Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{me.user?.email}</Menu.Label>
                <Menu.Item component={Link} to={`${base}/settings`}>
                  Settings
                </Menu.Item>
                <Menu.Item color="red" onClick={doLogout}>
                  Log out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" data-testid="navbar">
        <Select
          aria-label="Project"
          data-testid="project-switcher-mobile"
          size="xs"
          mb="xs"
          hiddenFrom="sm"
          allowDeselect={false}
          value={project.slug}
          data={projects}
          onChange={switchProject}
          comboboxProps={{ withinPortal: true }}
        />
        {navItems.map((n) => (
          <NavLink
            key={n.label}
            component={Link}
            to={n.to ? `${base}/${n.to}` : base}
            label={n.label}
            active={section === n.to}
            onClick={close}
          />
        ))}
        <Stack gap={0} mt="auto" hiddenFrom="sm" data-testid="mobile-account">
          <Text size="xs" c="dimmed" px="sm" py={4} truncate>
            {me.user?.email}
          </Text>
          <NavLink component="button" label="Log out" c="red" onClick={doLogout} data-testid="mobile-logout" />
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main miw={0}>
        <Outlet key={zone} />
      </AppShell.Main>
    </AppShell>
  );
}
