// What a run leaves behind, end to end in a real browser against a real stack
// (tests/e2e/run.sh): a run posts a leaderboard table (an AutoML engine's columns, in its
// order), checkpoints and an uploaded model through the API with a project token; the run
// page renders the table as sent (column order, number formats, right-aligned numbers),
// sorts it by a click (numbers as numbers, text as text), shows rows appended while it is
// open (live), lists the checkpoints by step, promotes the model, and the Artifacts page
// shows the promotion with its lineage and demotes it; the Request tab shows the run's
// params and input as two columns. Screenshots go to RUNWATCH_E2E_OUT (artifacts-*.png).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { BASE, EMAIL, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-artifacts';

const steps = new Steps('e2e artifacts', 'FAILED-artifacts-');
const step = (name, fn) => steps.step(name, fn);
const call = api.call;

let page;
const shot = (name) => screenshot(page, name);

const COLUMNS = ['model', 'score_val', 'eval_metric', 'pred_time_val', 'fit_time', 'stack_level', 'can_infer'];
const ROWS = [
  ['WeightedEnsemble_L2', 0.91234567, 'accuracy', 0.00001234, 12.5, 2, true],
  ['LightGBMXT', 0.90412, 'accuracy', 0.0123, 3.25, 1, true],
  ['CatBoost', 0.8999, 'accuracy', 0.004567, 45.125, 1, true],
];

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E artifacts', 'e2e-art');
  const as = (method, path, body) => call(method, path, { token, body });

  const run = await as('POST', '/runs', {
    kind: 'automl',
    name: 'tabular-predictor',
    status: 'running',
    params: { time_limit: 600, presets: 'best_quality', hyperparameters: { GBM: { num_boost_round: 200 } } },
    input: { train_data: 's3://data/adult/train.csv', label: 'class' },
  });
  const R = run.id;
  await as('POST', `/runs/${R}/tables/leaderboard`, { columns: COLUMNS, rows: ROWS });
  await as('POST', `/runs/${R}/artifacts`, {
    artifacts: [100, 300, 200].map((s) => ({ name: `ckpt-${s}`, kind: 'checkpoint', uri: `s3://ckpt/${R}/${s}.pt`, step: s })),
  });
  const bytes = Buffer.from('pretend these are the weights of WeightedEnsemble_L2\n'.repeat(40));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const up = await fetch(`${BASE}/api/v1/runs/${R}/artifacts/upload?name=predictor.pkl&kind=model&sha256=${sha}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(up.status, 201, await up.text());
  await as('PATCH', `/runs/${R}`, { status: 'succeeded' });

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1500, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const table = () => page.getByTestId('run-table-leaderboard');
    const column = (i) =>
      table().locator('tbody tr').evaluateAll((trs, k) => trs.map((tr) => tr.children[k].textContent), i);

    await step('artifacts: log in and open the run page on its Tables tab', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}/runs/${R}?tab=tables`);
      await table().waitFor({ timeout: WAIT });
    });

    await step('tables: the columns in the engine order, numbers formatted and right-aligned', async () => {
      const heads = await table().locator('thead th').allTextContents();
      assert.deepEqual(heads, COLUMNS);
      assert.deepEqual(await column(1), ['0.9123', '0.9041', '0.8999']);
      assert.deepEqual(await column(3), ['1.2340e-5', '0.0123', '0.0046']);
      assert.deepEqual(await column(4), ['12.5000', '3.2500', '45.1250']);
      assert.deepEqual(await column(5), ['2', '1', '1']);
      assert.deepEqual(await column(6), ['true', 'true', 'true']);
      const style = await table()
        .locator('tbody tr')
        .first()
        .evaluate((tr) => [1, 0].map((k) => {
          const s = getComputedStyle(tr.children[k]);
          return [s.textAlign, s.fontVariantNumeric];
        }));
      assert.deepEqual(style[0], ['right', 'tabular-nums']);
      assert.notEqual(style[1][0], 'right');
    });

    await step('tables: a click sorts numbers as numbers, again reverses; text as text', async () => {
      await table().locator('thead th').nth(4).getByRole('button').click(); // fit_time, numeric: desc first
      assert.deepEqual(await column(4), ['45.1250', '12.5000', '3.2500']);
      await table().locator('thead th').nth(4).getByRole('button').click();
      assert.deepEqual(await column(4), ['3.2500', '12.5000', '45.1250']);
      await table().locator('thead th').nth(0).getByRole('button').click(); // model, text: asc first
      assert.deepEqual(await column(0), ['CatBoost', 'LightGBMXT', 'WeightedEnsemble_L2']);
    });

    await step('tables: rows appended while the page is open arrive live', async () => {
      await as('POST', `/runs/${R}/tables/leaderboard`, {
        mode: 'append',
        columns: COLUMNS,
        rows: [['NeuralNetTorch', 0.87, 'accuracy', 0.00009, 120.0625, 1, false]],
      });
      await table().getByText('NeuralNetTorch').waitFor({ timeout: WAIT });
      await table().getByText('4 rows').waitFor({ timeout: WAIT });
      const row = table().locator('tbody tr', { hasText: 'NeuralNetTorch' });
      assert.deepEqual(await row.locator('td').allTextContents(), [
        'NeuralNetTorch', '0.8700', 'accuracy', '9.0000e-5', '120.0625', '1', 'false',
      ]);
      await shot('artifacts-01-leaderboard');
    });

    await step('checkpoints: by step, newest first', async () => {
      await page.getByRole('tab', { name: 'Artifacts' }).click();
      const list = page.getByTestId('run-artifacts');
      await list.waitFor({ timeout: WAIT });
      await page.getByText('Checkpoints', { exact: true }).click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-artifacts] tbody tr').length === 3, null, { timeout: WAIT });
      const names = await list.locator('tbody tr td:first-child').allTextContents();
      assert.deepEqual(names, ['ckpt-300', 'ckpt-200', 'ckpt-100']);
      await shot('artifacts-02-checkpoints');
    });

    await step('promotion: the uploaded model of the succeeded run becomes ranker v1', async () => {
      await page.getByText('All artifacts', { exact: true }).click();
      const row = page.getByTestId('run-artifacts').locator('tbody tr', { hasText: 'predictor.pkl' });
      await row.waitFor({ timeout: WAIT });
      assert.ok((await row.textContent()).includes(sha.slice(0, 12)));
      await row.getByRole('button', { name: 'Promote' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Name').fill('tabular-ranker');
      await dialog.getByLabel('Note').fill('best validation accuracy');
      await dialog.getByRole('button', { name: 'Promote' }).click();
      await dialog.waitFor({ state: 'detached', timeout: WAIT });
      await page.getByRole('link', { name: 'Artifacts', exact: true }).first().click();
      const list = page.getByTestId('promotions');
      await list.waitFor({ timeout: WAIT });
      const entry = list.locator('tbody tr', { hasText: 'tabular-ranker' });
      const text = await entry.textContent();
      for (const want of ['v1', 'model', sha.slice(0, 12), 'predictor.pkl', 'tabular-predictor', 'succeeded', EMAIL, 'live'])
        assert.ok(text.includes(want), `${want} in ${text}`);
      await shot('artifacts-03-promotion');
    });

    await step('promotion: demoted by the admin, with a reason, shown on request', async () => {
      const entry = page.getByTestId('promotions').locator('tbody tr', { hasText: 'tabular-ranker' });
      await entry.getByRole('button', { name: 'Demote' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Reason').fill('regressed on the holdout set');
      await dialog.getByRole('button', { name: 'Demote' }).click();
      await dialog.waitFor({ state: 'detached', timeout: WAIT });
      await page.getByText('Nothing promoted yet').waitFor({ timeout: WAIT });
      await page.getByText('Show demoted', { exact: true }).click();
      const row = page.getByTestId('promotions').locator('tbody tr', { hasText: 'tabular-ranker' });
      await row.getByText('regressed on the holdout set', { exact: false }).waitFor({ timeout: WAIT });
      assert.ok((await row.textContent()).includes('demoted'));
      await shot('artifacts-04-demoted');
    });

    await step("checkpoints: the project's, newest first, each with its run", async () => {
      await page.getByRole('tab', { name: 'Checkpoints' }).click();
      const list = page.getByTestId('project-checkpoints');
      await list.locator('tbody tr').nth(2).waitFor({ timeout: WAIT });
      assert.deepEqual(await list.locator('tbody tr td:first-child').allTextContents(), ['ckpt-200', 'ckpt-300', 'ckpt-100']);
      assert.ok((await list.textContent()).includes('tabular-predictor'));
    });

    await step('request: params and input as two columns of keys and values', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${R}?tab=request`);
      const params = page.getByTestId('snapshot-params');
      await params.waitFor({ timeout: WAIT });
      const rows = await params.locator('tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
      // In PostgreSQL's jsonb order (shorter keys first), as the run stores them.
      assert.deepEqual(rows, [
        ['presets', 'best_quality'],
        ['time_limit', '600'],
        ['hyperparameters.GBM.num_boost_round', '200'],
      ]);
      assert.ok((await page.getByTestId('snapshot-input').textContent()).includes('s3://data/adult/train.csv'));
      await page.getByText('No experiment').waitFor();
      await shot('artifacts-05-request');
    });

    await step('artifacts: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
