// Experiments end to end, in a real browser against a real stack (tests/e2e/run.sh): the
// Experiments list with its filters; an experiment's page with its states, flags and job
// history (a launcher's run made through the API, linked both ways with the run page);
// Start sets the desired state and the page shows the pending launch; the flags editor
// refuses a value of the wrong type and saves a good one chosen by typeahead; Clone; and a
// 2 x 4 grid over nodes x model.layers creates 8 experiments in one request (again: none,
// the names are taken). Screenshots go to
// RUNWATCH_E2E_OUT (experiments-*.png).
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { BASE, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-experiments';

const steps = new Steps('e2e experiments', 'FAILED-experiments-');
const step = (name, fn) => steps.step(name, fn);
const call = api.call;

let page;
const shot = (name) => screenshot(page, name);

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E experiments', 'e2e-launcher');
  const as = (method, path, body) => call(method, path, { token, body });

  // Three experiments with flags the schema learns from; the first ran once (a launcher's
  // claim, a run that exited 3, the report) and runs again now.
  const mk = (name, flags, extra = {}) =>
    as('POST', '/experiments', { name, flags, kind: 'train', queue: 'gpu', tags: ['e2e'], ...extra });
  const base = await mk('resnet-base', { nodes: 1, lr: 0.001, model: { layers: 12, act: 'relu' }, fp16: true });
  await mk('resnet-wide', { nodes: 2, lr: 0.0003, model: { layers: 24, act: 'gelu' }, fp16: false });
  await mk('bert-small', { nodes: 4, lr: 0.01, model: { layers: 6, act: 'gelu' }, fp16: true }, { tags: ['nlp'] });
  await as('PATCH', `/experiments/${base.id}`, { desired_state: 'running' });
  const launch = async () => {
    const lease = await as('POST', `/experiments/${base.id}/claim`, { launcher: 'e2e', action: 'launch' });
    const run = await as('POST', '/runs', { kind: 'train', queue: 'gpu', experiment_id: base.id, params: base.flags });
    await as('POST', `/experiments/${base.id}/report`, { lease_id: lease.lease_id, outcome: 'done', run_id: run.id });
    return run;
  };
  const first = await launch();
  await as('PATCH', `/runs/${first.id}`, { status: 'running' });
  await as('PATCH', `/runs/${first.id}`, { status: 'failed', result: { exit_code: 3 }, error: { type: 'Exit', message: 'exit code 3' } });
  const second = await launch();

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    await step('experiments: log in and open the list, filtered by name and tag', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}/experiments`);
      await page.getByTestId('experiments-table').waitFor({ timeout: WAIT });
      assert.equal(await page.locator('[data-testid=experiments-table] tbody tr').count(), 3);
      await shot('experiments-01-list');
      await page.getByTestId('experiments-q').fill('resnet');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=experiments-table] tbody tr').length === 2, null, { timeout: WAIT });
      await page.getByTestId('experiments-q').fill('');
      await page.getByLabel('tag').fill('nlp');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=experiments-table] tbody tr').length === 1, null, { timeout: WAIT });
      await page.getByLabel('tag').fill('');
    });

    await step('experiment page: states, flags and the job history (created, submitted, started, ended, exit code)', async () => {
      await page.getByRole('link', { name: 'resnet-base', exact: true }).click();
      await page.getByTestId('experiment-page').waitFor({ timeout: WAIT });
      await page.locator('[data-testid=experiment-page][data-actual=running]').waitFor({ timeout: WAIT });
      const rows = page.locator('[data-testid=job-history] tbody tr');
      await rows.nth(1).waitFor({ timeout: WAIT });
      assert.equal(await rows.count(), 2);
      const heads = await page.getByTestId('job-history').locator('thead th').allTextContents();
      assert.deepEqual(heads, ['Run', 'Status', 'Created', 'Submitted', 'Started', 'Ended', 'Exit code or error']);
      assert.match(await rows.nth(1).textContent(), /exit 3/);
      assert.match(await rows.nth(0).textContent(), /queued/);
      await shot('experiments-02-page');
    });

    await step('run page: links to its experiment, and back', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${second.id}`);
      const link = page.getByTestId('run-experiment');
      await link.getByText('resnet-base').waitFor({ timeout: WAIT });
      await shot('experiments-03-run-link');
      await link.click();
      await page.waitForURL(new RegExp(`/experiments/${base.id}$`), { timeout: WAIT });
    });

    await step('Stop and Start set the desired state; the pending action follows', async () => {
      await page.getByTestId('exp-stop').click();
      await page.getByText('Pending action').locator('..').getByText('stop').waitFor({ timeout: WAIT });
      // The launcher stops it: the run ends, the stop is reported.
      const lease = await as('POST', `/experiments/${base.id}/claim`, { launcher: 'e2e', action: 'stop' });
      await as('PATCH', `/runs/${second.id}`, { status: 'cancelled' });
      await as('POST', `/experiments/${base.id}/report`, { lease_id: lease.lease_id, outcome: 'done' });
      await page.locator('[data-testid=experiment-page][data-actual=stopped]').waitFor({ timeout: 3 * WAIT });
      await page.getByTestId('exp-start').click();
      await page.getByText('Pending action').locator('..').getByText('launch').waitFor({ timeout: WAIT });
      const e = await as('GET', `/experiments/${base.id}`);
      assert.equal(e.desired_state, 'running');
      assert.equal(e.action, 'launch');
    });

    await step('flags editor: a wrong type is refused, naming the flag; typeahead offers paths and values', async () => {
      await page.getByTestId('flags-edit').click();
      const json = page.getByTestId('flags-json');
      await json.fill('{"nodes": "many", "lr": 0.001, "model": {"layers": 12, "act": "relu"}, "fp16": true}');
      const problems = page.getByTestId('flags-problems');
      await problems.getByText('nodes must be an integer').waitFor({ timeout: WAIT });
      assert.ok(await page.getByTestId('flags-save').isDisabled());
      await shot('experiments-04-flags-invalid');
      await json.fill('{"nodes": 1, "lr": 0.001, "model": {"layers": 12, "act": "relu"}, "fp16": true}');
      await page.getByTestId('flag-path').fill('model.a');
      await page.getByRole('option', { name: 'model.act' }).click();
      await page.getByTestId('flag-value').click();
      await page.getByRole('option', { name: 'gelu' }).click();
      await page.getByTestId('flag-set').click();
      assert.match(await json.inputValue(), /"act": "gelu"/);
      assert.ok(!(await page.getByTestId('flags-save').isDisabled()));
      await shot('experiments-05-flags-typeahead');
      await page.getByTestId('flags-save').click();
      await page.getByTestId('flags-edit').waitFor({ timeout: WAIT });
      const e = await as('GET', `/experiments/${base.id}`);
      assert.equal(e.flags.model.act, 'gelu');
    });

    await step('clone makes a copy with the same flags', async () => {
      await page.getByTestId('clone-open').click();
      await page.getByTestId('clone-name').fill('resnet-base-clone');
      await page.getByTestId('clone-create').click();
      await page.getByRole('heading', { name: 'resnet-base-clone' }).waitFor({ timeout: WAIT });
      const list = await as('GET', '/experiments?q=resnet-base-clone');
      assert.equal(list.items.length, 1);
      assert.equal(list.items[0].flags.model.act, 'gelu');
    });

    await step('grid: 2 x 4 over nodes x model.layers creates 8 experiments', async () => {
      await page.goto(`${BASE}/p/${SLUG}/experiments/${base.id}`);
      await page.getByTestId('grid-open').click();
      const dialog = page.getByRole('dialog');
      await dialog.getByTestId('grid-flags').click();
      await page.getByRole('option', { name: 'nodes', exact: true }).click();
      await page.getByRole('option', { name: 'model.layers', exact: true }).click();
      await page.keyboard.press('Escape');
      await dialog.getByTestId('grid-values-nodes').fill('1, 2');
      await dialog.getByTestId('grid-values-model.layers').fill('6, 12, 24, 48');
      await dialog.getByTestId('grid-count').getByText('2 × 4 = 8 experiments').waitFor({ timeout: WAIT });
      await shot('experiments-06-grid');
      await dialog.getByTestId('grid-create').click();
      await dialog.getByTestId('grid-done').getByText('Created 8 experiments').waitFor({ timeout: 3 * WAIT });
      const made = await as('GET', '/experiments?tag=grid');
      assert.equal(made.items.length, 8);
      const combos = new Set(made.items.map((x) => `${x.flags.nodes}x${x.flags.model.layers}`));
      assert.equal(combos.size, 8);
      assert.ok(made.items.every((x) => x.desired_state === 'stopped' && x.flags.model.act === 'gelu'));
      // The same grid again: every name is taken, so the one request makes none of them and
      // says which member failed.
      await dialog.getByTestId('grid-create').click();
      await dialog.getByText(/experiments\[0\]: an experiment of this name exists/).waitFor({ timeout: 3 * WAIT });
      assert.equal((await as('GET', '/experiments?tag=grid')).items.length, 8);
      await page.keyboard.press('Escape');
      await page.goto(`${BASE}/p/${SLUG}/experiments`);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=experiments-table] tbody tr').length === 12, null, { timeout: WAIT });
      await shot('experiments-07-grid-list');
    });

    await step('experiments: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
