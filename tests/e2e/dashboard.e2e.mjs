// The dashboard end to end, in a real browser against a real stack (tests/e2e/run.sh
// starts both): log in; create a run with a producer token over the API and see it appear
// in the runs table; open it; see an event arrive; cancel it; switch the theme; a failed
// run lands in a failure group; the Reports page runs SQL, saves it and downloads CSV;
// anomaly thresholds are saved in Settings; signed out elsewhere, the open page goes to the
// sign-in page by itself. A screenshot of each page goes to RUNWATCH_E2E_OUT.
//
// Live steps: with RUNWATCH_E2E_STREAM=1 (run.sh sets it when the tree has the live hub's
// stream) the run and the event must appear WITHOUT a reload, and the connection
// indicator must say "live". With 0 those two checks are reported as SKIPPED, loudly, and
// the test checks the same data after a reload instead — so the REST path is still tested
// and the skip is visible in every run's output.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BASE, EMAIL, LIVE, OUT, PASSWORD, Steps, WAIT, api, launchChromium, setUpProject } from './lib.mjs';

const steps = new Steps('e2e', 'FAILED-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;
const shot = (name) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });

let browser;
let page;
const pageErrors = [];
const cspViolations = [];

async function main() {
  console.log(`e2e against ${BASE}; live steps ${LIVE ? 'ON' : 'OFF (no stream in this tree)'}`);
  // Fixtures over the API: a project, a producer token with write scope, a worker.
  const { project, token } = await setUpProject('e2e', 'E2E team', 'e2e-producer');
  const worker = await call('POST', '/workers', { token, body: { name: 'gpu-e2e', host: 'gpu-e2e', kinds: ['train'] } });

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
  // Content-Security-Policy (nginx/security_headers.conf): every violation the page
  // reports, from the DOM event and from Chromium's console message, fails the last step.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`),
    );
  });
  page = await context.newPage();
  steps.page = page;
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (/Content Security Policy|CSP violation/i.test(m.text())) cspViolations.push(m.text());
  });

  await step('log in', async () => {
    const first = await page.goto(BASE + '/');
    // The dashboard runs under the policy nginx sends, so the last step means something.
    assert.match(first.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // A wrong password is shown in words, from the API's error.
    await page.getByRole('alert').filter({ hasText: 'invalid email or password' }).waitFor({ timeout: WAIT });
    await shot('01-login-error');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${BASE}/p/e2e`, { timeout: WAIT });
    await page.getByRole('heading', { name: 'E2E team' }).waitFor({ timeout: WAIT });
    await shot('02-overview-empty');
  });

  await step('open the runs page: empty state with the first-run hint', async () => {
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.waitForURL(`${BASE}/p/e2e/runs`);
    await page.getByText('No runs yet').waitFor({ timeout: WAIT });
    await page.getByText('Send the first run with a project token').waitFor();
    await shot('03-runs-empty');
  });

  if (LIVE) {
    await step('the connection indicator says live', async () => {
      await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
    });
  } else {
    skip('the connection indicator says live', 'no live stream in this tree');
  }

  const run = await call('POST', '/runs', {
    token,
    body: { kind: 'train', name: 'e2e-resnet', queue: 'gpu', input: { dataset: 'imagenet' }, tags: ['e2e'] },
  });
  const row = page.locator(`[data-testid=runs-table] [data-run-id="${run.id}"]`);
  if (LIVE) {
    await step('a run created over the API appears in the table without a reload', async () => {
      await row.waitFor({ timeout: WAIT });
      await shot('04-runs-live-row');
    });
  } else {
    skip('a run created over the API appears in the table without a reload', 'no live stream in this tree');
    await step('a run created over the API is in the table after a reload', async () => {
      await page.reload();
      await row.waitFor({ timeout: WAIT });
      await shot('04-runs-row');
    });
  }

  await step('the row shows the run: status badge, name, input, URL filters', async () => {
    await row.getByText('queued').waitFor();
    await row.getByText('e2e-resnet').waitFor();
    await row.getByText('{"dataset":"imagenet"}').waitFor();
    // A filter writes the URL; a view that excludes the run hides it; clearing restores it.
    await page.getByRole('textbox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'failed' }).click();
    await page.keyboard.press('Escape');
    await page.waitForURL(/status=failed/);
    await page.getByText('No runs match these filters').waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await row.waitFor({ timeout: WAIT });
    assert.equal(new URL(page.url()).search, '');
  });

  await step('open the run', async () => {
    await row.getByRole('link', { name: run.id.slice(0, 8) }).click();
    await page.waitForURL(`${BASE}/p/e2e/runs/${run.id}`);
    await page.locator('[data-testid=run-detail][data-status=queued]').waitFor({ timeout: WAIT });
    await page.getByText(run.id).waitFor();
    await page.getByText('No events yet').waitFor({ timeout: WAIT });
    await shot('05-run-detail');
  });

  await call('POST', `/runs/${run.id}/events`, {
    token,
    body: { events: [{ level: 'warning', message: 'hello from the e2e producer' }] },
  });
  const line = page.locator('[data-testid=event-log]').getByText('hello from the e2e producer');
  if (LIVE) {
    await step('an event sent over the API arrives in the log without a reload', async () => {
      await line.waitFor({ timeout: WAIT });
      await shot('06-run-event-live');
    });
  } else {
    skip('an event sent over the API arrives in the log without a reload', 'no live stream in this tree');
    await step('an event sent over the API is in the log after a reload', async () => {
      await page.reload();
      await line.waitFor({ timeout: WAIT });
      await shot('06-run-event');
    });
  }

  await step('the run list sorts by duration on the server (URL ?sort=duration)', async () => {
    await page.goto(`${BASE}/p/e2e/runs?sort=duration&order=asc`);
    // The queued run has no duration, so a duration sort lists nothing: the server sorted.
    await page.getByText('only runs that have started and ended are listed').waitFor({ timeout: WAIT });
    await page.getByText('No runs match these filters').waitFor({ timeout: WAIT });
    await page.goBack();
    await page.locator('[data-testid=run-detail][data-status=queued]').waitFor({ timeout: WAIT });
  });

  await step('cancel the run, with confirmation', async () => {
    await page.getByTestId('cancel-run').click();
    await page.getByRole('dialog').getByText('Cancel this run?').waitFor();
    await shot('07-cancel-confirm');
    await page.getByTestId('confirm-cancel').click();
    await page.locator('[data-testid=run-detail][data-status=cancelled]').waitFor({ timeout: WAIT });
    // Only while it can be cancelled: the button is gone now.
    assert.equal(await page.getByTestId('cancel-run').count(), 0);
    const after = await call('GET', `/runs/${run.id}`, { token });
    assert.equal(after.status, 'cancelled');
    await shot('08-run-cancelled');
  });

  await step('workers page lists the registered worker', async () => {
    await page.getByRole('link', { name: 'Workers', exact: true }).click();
    await page.getByTestId('workers-table').getByText('gpu-e2e').first().waitFor({ timeout: WAIT });
    await shot('09-workers');
    await page.getByTestId('workers-table').getByRole('link', { name: 'gpu-e2e' }).click();
    await page.getByTestId('worker-sessions').getByText('gpu-e2e').waitFor({ timeout: WAIT });
    await shot('09b-worker-detail');
  });

  await step('switch theme, and it persists across a reload', async () => {
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: WAIT });
    await shot('10-settings-light');
    const scheme = () => page.locator('html').getAttribute('data-mantine-color-scheme');
    assert.equal(await scheme(), 'light');
    await page.getByTestId('theme-toggle').click();
    await page.waitForFunction(() => document.documentElement.dataset.mantineColorScheme === 'dark');
    await page.reload();
    await page.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: WAIT });
    assert.equal(await scheme(), 'dark');
    await shot('11-settings-dark');
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByTestId('status-counts').waitFor({ timeout: WAIT });
    await shot('12-overview-dark');
  });

  await step('create a producer token in Settings: shown once', async () => {
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByTestId('tokens').getByLabel('Name').fill('from-the-browser');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = await page.getByTestId('new-token').textContent({ timeout: WAIT });
    assert.match(shown ?? '', /^rw_/);
    const me = await call('GET', '/auth/me', { token: shown });
    assert.equal(me.token.name, 'from-the-browser');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('tokens').getByText('from-the-browser').waitFor();
  });

  // A failed run, reported as a producer does, lands in a failure group.
  const failedRun = await call('POST', '/runs', { token, body: { kind: 'train', name: 'e2e-oom', queue: 'gpu' } });
  await call('PATCH', `/runs/${failedRun.id}`, { token, body: { status: 'running' } });
  await call('PATCH', `/runs/${failedRun.id}`, {
    token,
    body: { status: 'failed', error: { type: 'CUDAOutOfMemory', message: 'tried to allocate 20.00 GiB on device 3' } },
  });

  await step('the failed run appears in a failure group, whose page lists it', async () => {
    await page.getByRole('link', { name: 'Failures', exact: true }).click();
    await page.waitForURL(`${BASE}/p/e2e/failures`);
    const group = page.getByTestId('failure-groups').getByRole('row').filter({ hasText: 'CUDAOutOfMemory' });
    await group.waitFor({ timeout: WAIT });
    await group.getByText('tried to allocate 20.00 GiB on device 3').waitFor();
    await group.getByText('train').waitFor();
    await shot('13-failures');
    await group.getByRole('link', { name: 'CUDAOutOfMemory' }).click();
    await page.waitForURL(/\/p\/e2e\/failures\/[0-9a-f]{16}$/);
    const runRow = page.locator(`[data-testid=group-runs] [data-run-id="${failedRun.id}"]`);
    await runRow.waitFor({ timeout: WAIT });
    await shot('14-failure-group');
    await runRow.getByRole('link', { name: failedRun.id.slice(0, 8) }).click();
    await page.locator('[data-testid=run-detail][data-status=failed]').waitFor({ timeout: WAIT });
  });

  await step('overview: exact counts of the last 24 h', async () => {
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByTestId('anomalies').getByText('Nothing stuck, stale, interrupted or past its lease.').waitFor({ timeout: WAIT });
    // One run failed and one was cancelled in the last 24 h, from the throughput report.
    await page.getByTestId('count-failed').getByText('1', { exact: true }).waitFor({ timeout: WAIT });
    await page.getByTestId('count-cancelled').getByText('1', { exact: true }).waitFor({ timeout: WAIT });
    await shot('15-overview-counts');
  });

  await step('reports: the built-in cards draw the runs', async () => {
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    await page.waitForURL(`${BASE}/p/e2e/reports`);
    await page.getByTestId('report-throughput').getByText(/started, per day, by status/).waitFor({ timeout: WAIT });
    await page.getByTestId('report-failure-rate').getByRole('cell', { name: 'train' }).waitFor({ timeout: WAIT });
    await page.getByTestId('report-duration').getByRole('cell', { name: 'train' }).waitFor({ timeout: WAIT });
    // The percentiles say how close they are (daily histograms, migration 0009).
    await page.getByTestId('report-duration-precision').getByText('percentiles within ±1%').waitFor({ timeout: WAIT });
    await shot('16-reports-builtin');
  });

  const reportSql = 'select status, count(*) as runs from runs group by 1 order by 1';
  await step('reports: run a SQL statement and see its rows and chart', async () => {
    await page.getByRole('tab', { name: 'SQL' }).click();
    await page.waitForURL(/tab=sql/);
    // The schema list comes from the database's own catalogue, through the same endpoint.
    await page.getByTestId('report-schema').getByText('failure_groups_30d').waitFor({ timeout: WAIT });
    const editor = page.getByTestId('sql-editor');
    await editor.waitFor({ timeout: WAIT });
    await editor.fill(reportSql);
    await page.getByTestId('run-sql').click();
    const result = page.getByTestId('query-result');
    await result.getByTestId('row-count').getByText('2 rows').waitFor({ timeout: WAIT });
    await result.getByTestId('result-table').getByRole('cell', { name: 'cancelled' }).waitFor();
    await result.getByTestId('result-table').getByRole('cell', { name: 'failed' }).waitFor();
    // A name and a number: a bar chart is offered first.
    await result.getByTestId('result-chart').waitFor();
    await shot('17-reports-sql');
    // A statement the database refuses is shown in words.
    await editor.fill('select password_hash from public.users');
    await page.getByTestId('run-sql').click();
    await page.getByTestId('query-error').waitFor({ timeout: WAIT });
    assert.match((await page.getByTestId('query-error').textContent()) ?? '', /permission denied|does not exist/);
    await editor.fill(reportSql);
    await page.getByTestId('run-sql').click();
    await result.getByTestId('row-count').getByText('2 rows').waitFor({ timeout: WAIT });
  });

  await step('reports: save the statement with its chart, and find it in the list', async () => {
    await page.getByRole('button', { name: 'Save as report…' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('e2e runs by status');
    await page.getByTestId('save-report').click();
    await page.getByTestId('editing-name').getByText('Editing “e2e runs by status”').waitFor({ timeout: WAIT });
    await page.getByTestId('saved-reports').locator('[data-report="e2e runs by status"]').waitFor({ timeout: WAIT });
    const saved = await call('GET', '/reports/saved?project=e2e', { cookie: api.cookie });
    const mine = saved.items.find((r) => r.name === 'e2e runs by status');
    assert.ok(mine, 'the saved report is listed by the API');
    assert.equal(mine.sql, reportSql);
    assert.equal(mine.chart.type, 'bar');
    await shot('18-reports-saved');
  });

  await step('reports: download the result as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.getByTestId('download-csv').click()]);
    assert.equal(download.suggestedFilename(), 'e2e-runs-by-status.csv');
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines[0], 'status,runs');
    assert.deepEqual(lines.slice(1).sort(), ['cancelled,1', 'failed,1']);
  });

  await step('reports: delete the saved report, with confirmation', async () => {
    const row = page.getByTestId('saved-reports').locator('[data-report="e2e runs by status"]');
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByText('Delete this saved report?').waitFor();
    await page.getByTestId('confirm-delete-report').click();
    await page.getByTestId('saved-reports').getByText('No saved reports yet').waitFor({ timeout: WAIT });
    const saved = await call('GET', '/reports/saved?project=e2e', { cookie: api.cookie });
    assert.equal(saved.items.length, 0);
    // The editor lets go of a report that no longer exists.
    await page.getByTestId('editing-name').getByText('New query').waitFor();
  });

  await step('settings: a project admin saves the anomaly thresholds', async () => {
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    const box = page.getByTestId('thresholds');
    const stuck = box.getByLabel('Stuck after (seconds)');
    await stuck.waitFor({ timeout: WAIT });
    assert.equal(await stuck.inputValue(), '300');
    await stuck.fill('600');
    await page.getByTestId('save-thresholds').click();
    await box.getByText(/last changed/).waitFor({ timeout: WAIT });
    const t = await call('GET', '/projects/e2e/anomaly-thresholds', { cookie: api.cookie });
    assert.equal(t.stuck_after_s, 600);
    await shot('19-settings-thresholds');
  });

  // A worker claims a run and stops while it runs: the run is interrupted.
  const lost = await call('POST', '/runs', { token, body: { kind: 'train', name: 'e2e-lost', queue: 'e2e-q' } });
  const claimed = await call('POST', '/queues/e2e-q/claim', { token, body: { worker_id: worker.id, lease_s: 600 } });
  assert.equal(claimed.id, lost.id);
  await call('POST', `/workers/${worker.id}/stop`, { token });

  await step('overview: an interrupted run shows in the anomalies panel', async () => {
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    const panel = page.getByTestId('anomalies');
    await panel.getByTestId('anomaly-interrupted').getByText('1', { exact: true }).waitFor({ timeout: WAIT });
    await panel.getByRole('link', { name: lost.id.slice(0, 8) }).waitFor();
    await shot('20-overview-anomalies');
  });

  if (LIVE) {
    // The session ends elsewhere (signed out in another tab, here over the API with the
    // page's own cookie): the hub ends the page's stream with `event: revoked`, and the
    // page goes to the sign-in page by itself, without a reload or a reconnect loop.
    await step('signed out elsewhere: the open page goes to sign-in', async () => {
      await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
      const session = (await page.context().cookies()).find((c) => c.name === 'rw_session');
      assert.ok(session, 'the page has a session cookie');
      await call('POST', '/auth/logout', { cookie: `rw_session=${session.value}` });
      await page.waitForURL(/\/login/, { timeout: WAIT });
      await page.getByLabel('Email').waitFor({ timeout: WAIT });
      await shot('21-signed-out-elsewhere');
    });
  } else {
    skip('signed out elsewhere: the open page goes to sign-in', 'no live stream in this tree');
  }

  await step('no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });

  await step('no Content-Security-Policy violations', async () => {
    assert.deepEqual(cspViolations, []);
  });
  void project;
}

await steps.run(main, () => browser?.close());
