// Administration and the "everywhere" items of the dashboard, end to end in a real browser
// against a real stack (tests/e2e/run.sh): the Admin page (create a user, reset their
// password — the new one signs in over the API —, disable them; rename a project and see
// its members, and the empty members table explaining itself), the Audit page (filters,
// cursor pages), every page at 390×844 without horizontal overflow and with Log out
// reachable from the burger, status badges in the dark theme, the time-zone setting
// reaching every time, the keyboard (`/`, j/k, Enter, Esc, `?`), and loading: a cold load
// of the overview and of the runs page fetches no URL twice, and hovering a run row
// prefetches its page. A screenshot per item goes to RUNWATCH_E2E_OUT (admin-*.png).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BASE, EMAIL, OUT, Steps, WAIT, api, launchChromium, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-admin';
const BARE = 'e2e-admin-bare';
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const steps = new Steps('e2e admin', 'FAILED-admin-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;

let page;
async function shot(name, p = page) {
  await p.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: WAIT });
  await p.screenshot({ path: join(OUT, `admin-${name}.png`), fullPage: true });
}

/** Counts the page's API requests by URL (the live stream aside: it stays open), and
 * how many are still out, so a step can wait until the page has asked all it will. */
function countRequests(p) {
  const counts = new Map();
  const state = { pending: 0, counts, order: [] };
  const isApi = (r) => r.url().includes('/api/v1/') && !r.url().includes('/api/v1/stream');
  p.on('request', (r) => {
    if (!isApi(r)) return;
    counts.set(r.url(), (counts.get(r.url()) ?? 0) + 1);
    state.order.push(['asked', r.url().replace(BASE, '')]);
    state.pending++;
  });
  const done = (r) => {
    if (!isApi(r)) return;
    state.order.push(['answered', r.url().replace(BASE, '')]);
    state.pending--;
  };
  p.on('requestfinished', done);
  p.on('requestfailed', done);
  return state;
}
const dupes = (counts) => [...counts].filter(([, n]) => n > 1).map(([u, n]) => `${n}× ${u.replace(BASE, '')}`);

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E admin', 'e2e-admin');
  const admin = api.cookie;
  await call('POST', '/projects', { cookie: admin, body: { slug: BARE, name: 'E2E bare' } });
  const worker = await call('POST', '/workers', { token, body: { name: 'gpu-admin-e2e-with-a-long-name', host: 'gpu-admin-e2e', kinds: ['train', 'eval'] } });
  const runs = [];
  for (const [name, end] of [
    ['e2e-admin-ok', 'succeeded'],
    ['e2e-admin-cancelled', 'cancelled'],
    ['e2e-admin-failed', 'failed'],
    ['e2e-admin-running', null],
    ['e2e-admin-queued', undefined],
  ]) {
    const r = await call('POST', '/runs', { token, body: { kind: 'train', name, queue: 'gpu', input: { dataset: 'imagenet', lr: 0.1 } } });
    runs.push(r);
    if (end === undefined) continue;
    await call('PATCH', `/runs/${r.id}`, { token, body: { status: 'running' } });
    if (end === 'failed')
      await call('PATCH', `/runs/${r.id}`, { token, body: { status: 'failed', error: { type: 'CUDAOutOfMemory', message: 'tried to allocate 20.00 GiB' } } });
    else if (end) await call('PATCH', `/runs/${r.id}`, { token, body: { status: end } });
  }
  // A project with no members, as `runwatch-api token create --create-project` leaves one
  // (a producer-only project): the members table must say what that means.
  let bareEmptied = true;
  try {
    execFileSync(join(repo, 'deploy', 'stack.sh'), ['psql', '-v', 'ON_ERROR_STOP=1', '-qAtc', `DELETE FROM project_members WHERE project_id = (SELECT id FROM projects WHERE slug = '${BARE}')`], { stdio: 'pipe' });
  } catch (e) {
    bareEmptied = false;
    console.log(`# could not empty ${BARE}: ${String(e.stderr ?? e).split('\n')[0]}`);
  }

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    // A zone away from UTC, so "local" and "UTC" differ on screen.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light', timezoneId: 'Asia/Kolkata' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('dialog', (d) => void d.accept());

    await step('admin: log in; instance admins have Admin and Audit in the navigation', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}`);
      await page.getByRole('link', { name: 'Admin', exact: true }).waitFor({ timeout: WAIT });
      await page.getByRole('link', { name: 'Audit', exact: true }).waitFor({ timeout: WAIT });
    });

    const email = `ana-${Date.now()}@admin.e2e`;
    const newPassword = 'reset-by-the-admin-e2e';
    await step('admin: create a user, reset their password (it signs in), disable them', async () => {
      await page.getByRole('link', { name: 'Admin', exact: true }).click();
      await page.waitForURL(`${BASE}/p/${SLUG}/admin`);
      const form = page.getByTestId('new-user');
      await form.getByLabel('Email').fill(email);
      await form.getByLabel('Name').fill('Ana E2E');
      await form.getByLabel('Password').fill('first-password-e2e');
      await form.getByRole('button', { name: 'Create user' }).click();
      const row = page.locator(`[data-user="${email}"]`);
      await row.waitFor({ timeout: WAIT });
      await row.getByRole('button', { name: 'Reset password' }).click();
      const dlg = page.getByRole('dialog');
      await dlg.getByLabel('New password').fill(newPassword);
      await dlg.getByRole('button', { name: 'Reset password' }).click();
      await page.getByText(`Password of ${email} reset`).waitFor({ timeout: WAIT });
      // The new password signs in; the first no longer does.
      await call('POST', '/auth/login', { body: { email, password: newPassword } });
      await assert.rejects(call('POST', '/auth/login', { body: { email, password: 'first-password-e2e' } }), /401/);
      api.cookie = admin;
      await row.getByRole('button', { name: 'Disable' }).click();
      await row.getByTestId('disabled-badge').waitFor({ timeout: WAIT });
      await assert.rejects(call('POST', '/auth/login', { body: { email, password: newPassword } }), /401/);
      api.cookie = admin;
      await shot('1-users');
    });

    await step('admin: rename a project; its members drawer lists the admin', async () => {
      await page.locator(`[data-project="${SLUG}"]`).getByRole('button', { name: 'Manage' }).click();
      const drawer = page.getByTestId('project-drawer');
      await drawer.getByLabel('Name').fill('E2E admin renamed');
      await drawer.getByRole('button', { name: 'Rename' }).click();
      await page.locator(`[data-project="${SLUG}"]`).getByText('E2E admin renamed').waitFor({ timeout: WAIT });
      await drawer.getByTestId('members').getByText(EMAIL).waitFor({ timeout: WAIT });
      await shot('2-project-drawer');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached', timeout: WAIT });
    });

    if (bareEmptied)
      await step('admin: a project without members explains its empty members table', async () => {
        await page.locator(`[data-project="${BARE}"]`).getByRole('button', { name: 'Manage' }).click();
        const empty = page.getByTestId('project-drawer').getByTestId('members-empty');
        await empty.waitFor({ timeout: WAIT });
        assert.match(await empty.textContent(), /viewer.*member.*admin/s);
        await shot('3-members-empty');
        await page.keyboard.press('Escape');
      });
    else skip('admin: a project without members explains its empty members table', 'psql on the stack was not available');

    await step('audit: filter by actor and action; the entries match; cursor pages load', async () => {
      await page.getByRole('link', { name: 'Audit', exact: true }).click();
      await page.waitForURL(`${BASE}/p/${SLUG}/audit`);
      await page.getByTestId('audit-table').waitFor({ timeout: WAIT });
      await page.goto(`${BASE}/p/${SLUG}/audit?action=user&actor=${encodeURIComponent(EMAIL)}`);
      await page.getByTestId('audit-table').waitFor({ timeout: WAIT });
      const actions = await page.locator('[data-testid=audit-table] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
      assert.ok(actions.includes('user.password_reset') && actions.includes('user.create') && actions.includes('user.update'), actions.join(','));
      assert.ok(actions.every((a) => a.startsWith('user.')), actions.join(','));
      await shot('4-audit');
      // Everything, 50 to a page: the login entries of this stack's specs fill more than one.
      await page.goto(`${BASE}/p/${SLUG}/audit`);
      await page.getByTestId('audit-table').waitFor({ timeout: WAIT });
      const rows = page.locator('[data-testid=audit-table] tbody tr');
      const first = await rows.count();
      const more = page.getByTestId('audit-more');
      if (await more.isVisible()) {
        await more.click();
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid=audit-table] tbody tr').length > n, first, { timeout: WAIT });
      } else assert.ok(first < 50, `${first} entries and no next page`);
    });

    await step('time zone: choosing UTC in Settings shows every time in UTC', async () => {
      await page.goto(`${BASE}/p/${SLUG}/settings`);
      await page.getByTestId('zone-choice').getByText('UTC', { exact: true }).click();
      const run = await call('GET', `/runs/${runs[0].id}`, { token });
      const utc = new Date(run.started_at).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      const started = page.locator(`[data-run-id="${runs[0].id}"] td[data-col=started]`);
      await started.waitFor({ timeout: WAIT });
      assert.equal(await started.textContent(), utc);
      await shot('5-utc-runs');
      // The run page and the audit log follow the same setting.
      await page.goto(`${BASE}/p/${SLUG}/audit`);
      await page.getByTestId('audit-table').waitFor({ timeout: WAIT });
      assert.match(await page.locator('[data-testid=audit-table] tbody tr td').first().textContent(), / UTC$/);
      await page.goto(`${BASE}/p/${SLUG}/settings`);
      await page.getByTestId('zone-choice').getByText('Local', { exact: false }).click();
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      await started.waitFor({ timeout: WAIT });
      // Kolkata is UTC+5:30: the same instant, read there.
      const local = new Date(Date.parse(run.started_at) + 5.5 * 3600e3).toISOString().slice(0, 19).replace('T', ' ');
      assert.equal(await started.textContent(), local);
    });

    await step('keyboard: / focuses search, j/k move, Enter opens, Esc closes, ? shows help', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      await page.locator('[data-kb-row]').first().waitFor({ timeout: WAIT });
      await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-kb-search')), true);
      await page.keyboard.press('Escape');
      await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
      // Each key's move is awaited in the page (a re-render after the key, not at once): read
      // at once, a busy box showed the row before the move, and Enter opened another run.
      const ids = await page.locator('[data-kb-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kb-row')));
      const activeIs = (id) => page.locator(`[data-kb-row="${id}"][data-kb-active]`).waitFor({ timeout: WAIT });
      await page.keyboard.press('j');
      await activeIs(ids[0]);
      await page.keyboard.press('j');
      await activeIs(ids[1]);
      await page.keyboard.press('k');
      await activeIs(ids[0]);
      await page.keyboard.press('j');
      const second = ids[1];
      await activeIs(second);
      await shot('6-keyboard');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${BASE}/p/${SLUG}/runs/${second}`, { timeout: WAIT });
      await page.keyboard.press('?');
      await page.getByTestId('kb-help-table').waitFor({ timeout: WAIT });
      await shot('6-keyboard-help');
      await page.keyboard.press('Escape');
      await page.getByTestId('kb-help-table').waitFor({ state: 'detached', timeout: WAIT });
      // j/k on the workers list too; Enter opens the worker.
      await page.goto(`${BASE}/p/${SLUG}/workers`);
      await page.locator('[data-kb-row]').first().waitFor({ timeout: WAIT });
      await page.keyboard.press('j');
      await page.locator('[data-kb-row][data-kb-active]').waitFor({ timeout: WAIT });
      await page.keyboard.press('Enter');
      await page.waitForURL(`${BASE}/p/${SLUG}/workers/${worker.id}`, { timeout: WAIT });
    });

    await step('loading: a cold overview and a cold runs page fetch no URL twice', async () => {
      for (const path of ['', '/runs']) {
        const cold = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        const p = await cold.newPage();
        await signIn(p);
        await p.goto('about:blank');
        const req = countRequests(p);
        await p.goto(`${BASE}/p/${SLUG}${path}`);
        if (path === '') await p.getByTestId('count-started').waitFor({ timeout: WAIT });
        else await p.locator('[data-kb-row]').first().waitFor({ timeout: WAIT });
        await p.waitForFunction(() => !document.querySelector('[aria-busy=true]'), null, { timeout: WAIT });
        // Done when nothing is out: what the page asks for, it has asked.
        const deadline = Date.now() + WAIT;
        while (req.pending > 0 && Date.now() < deadline) await p.waitForTimeout(50);
        assert.equal(req.pending, 0, 'requests still out');
        console.log(`# cold ${path || '/'}: ${[...req.counts].map(([u, n]) => `${n}× ${u.replace(BASE, '')}`).join(', ')}`);
        assert.deepEqual(dupes(req.counts), []);
        // No waterfall: the page's data was asked for before the session check answered
        // (the route loader starts both), not after it and the page's code.
        const meAnswered = req.order.findIndex(([e, u]) => e === 'answered' && u === '/api/v1/auth/me');
        const late = req.order.slice(meAnswered).filter(([e, u]) => e === 'asked' && /\/api\/v1\/(runs|anomalies|reports|workers)\?/.test(u));
        assert.ok(meAnswered >= 0, 'no /auth/me');
        assert.deepEqual(late, [], 'data asked for only after the session check');
        if (path === '') await shot('7-overview-cold', p);
        await cold.close();
      }
    });

    await step('loading: hovering a run row prefetches the run page', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      const target = runs[2];
      const row = page.locator(`[data-testid=runs-table] [data-run-id="${target.id}"]`);
      await row.waitFor({ timeout: WAIT });
      const asked = page.waitForRequest((r) => r.url().endsWith(`/api/v1/runs/${target.id}`), { timeout: WAIT });
      await row.hover();
      await asked;
      // Opened now, it needs no fetch of the run: the page paints from the cache.
      const again = [];
      page.on('request', (r) => {
        if (r.url().endsWith(`/api/v1/runs/${target.id}`)) again.push(r.url());
      });
      await row.getByRole('link').first().click();
      await page.waitForURL(`${BASE}/p/${SLUG}/runs/${target.id}`);
      await page.getByText('e2e-admin-failed').first().waitFor({ timeout: WAIT });
      assert.deepEqual(again, []);
    });

    await step('dark theme: every status badge is legible (CANCELLED too)', async () => {
      const dark = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
      const p = await dark.newPage();
      await signIn(p);
      await p.goto(`${BASE}/p/${SLUG}/runs`);
      const badge = p.locator(`[data-run-id="${runs[1].id}"] td[data-col=status] .mantine-Badge-root`).first();
      await badge.waitFor({ timeout: WAIT });
      // The colour the browser draws, against the dark body: 4.5:1 at least.
      const ratio = await badge.evaluate((el) => {
        const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => {
          const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const a = lum(rgb(getComputedStyle(el).color));
        const b = lum(rgb(getComputedStyle(document.body).backgroundColor));
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      });
      assert.ok(ratio >= 4.5, `cancelled badge contrast ${ratio.toFixed(2)}`);
      await shot('8-dark-badges', p);
      await dark.close();
    });

    await step('mobile 390×844: every page without horizontal overflow; Log out in the burger menu', async () => {
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const p = await phone.newPage();
      p.on('pageerror', (e) => pageErrors.push(String(e)));
      await signIn(p);
      const groups = await call('GET', `/failure-groups?project=${SLUG}`, { token });
      const fp = groups.items?.[0]?.fingerprint;
      assert.ok(fp, 'the failed run makes a failure group');
      const pages = ['', 'runs', `runs/${runs[2].id}`, 'traces', 'rollouts', 'resources', 'workers', `workers/${worker.id}`, 'failures', `failures/${fp}`, 'reports', 'reports?tab=sql', 'settings', 'admin', 'audit'];
      const over = [];
      for (const path of pages) {
        await p.goto(`${BASE}/p/${SLUG}${path ? '/' + path : ''}`);
        await p.locator('main').waitFor({ timeout: WAIT });
        await p.waitForFunction(() => !document.querySelector('[aria-busy=true]') && !document.querySelector('.mantine-Loader-root'), null, { timeout: WAIT });
        const m = await p.evaluate(() => ({ sw: document.scrollingElement.scrollWidth, iw: window.innerWidth }));
        if (m.sw > m.iw) over.push(`${path || 'overview'}: ${m.sw} > ${m.iw}`);
        await shot(`9-mobile-${(path || 'overview').replace(/\/.*/, '-detail').replace(/\?tab=/, '-')}`, p);
      }
      assert.deepEqual(over, []);
      // The runs list keeps Status on screen.
      await p.goto(`${BASE}/p/${SLUG}/runs`);
      const status = p.locator(`[data-run-id="${runs[0].id}"] td[data-col=status]`);
      await status.waitFor({ timeout: WAIT });
      const box = await status.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
      // Log out from the burger.
      await p.getByTestId('burger').click();
      await p.getByTestId('mobile-logout').click();
      await p.waitForURL(/\/login/, { timeout: WAIT });
      await phone.close();
    });

    await step('admin: no uncaught errors in the pages', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
