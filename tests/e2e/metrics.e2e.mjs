// The metrics views end to end, in a real browser against a real stack (tests/e2e/run.sh):
// a run's charts on its page by default, grouped by key prefix, with EMA smoothing, a log y
// axis, x by time, full screen and learning-rate ticks that read as distinct numbers; a
// point posted while the page is open reaches its chart without a reload (live stream).
// A screenshot of each view goes to RUNWATCH_E2E_OUT (metrics-*.png).
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { BASE, LIVE, OUT, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-metrics';

const steps = new Steps('e2e metrics', 'FAILED-metrics-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;

let page;
const shot = (name) => screenshot(page, name);

/** A training run's curves: loss falling with noise, lr warm-up then decay between 1e-4
 * and 3e-4 (the case whose ticks all read "0"), eval accuracy, GPU use, one bare key. */
function curves(seed, n = 200) {
  const pts = [];
  let r = seed;
  const noise = () => ((r = (r * 16807) % 2147483647) / 2147483647 - 0.5);
  const t0 = Date.now() - n * 1000;
  for (let s = 0; s < n; s++) {
    const ts = new Date(t0 + s * 1000).toISOString();
    pts.push({ key: 'train/loss', step: s, ts, value: 2.5 * Math.exp(-s / (60 + seed)) + 0.2 + 0.15 * noise() });
    pts.push({ key: 'train/lr', step: s, ts, value: s < 20 ? 1e-4 + (2e-4 * s) / 20 : 3e-4 - (2e-4 * (s - 20)) / (n - 20) });
    if (s % 10 === 0) pts.push({ key: 'eval/accuracy', step: s, ts, value: 0.5 + 0.4 * (1 - Math.exp(-s / 80)) + 0.02 * noise() });
    pts.push({ key: 'system/gpu_util', step: s, ts, value: 80 + 10 * noise() });
    if (s % 20 === 0) pts.push({ key: 'epoch', step: s, ts, value: Math.floor(s / 20) });
  }
  return pts;
}

async function postCurves(token, run, seed) {
  const pts = curves(seed);
  for (let i = 0; i < pts.length; i += 500) await call('POST', `/runs/${run}/metrics`, { token, body: { metrics: pts.slice(i, i + 500) } });
}

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E metrics', 'e2e-metrics');
  const run = await call('POST', '/runs', { token, body: { project: SLUG, kind: 'train', name: 'resnet-lr3e-4', queue: 'gpu', params: { lr: 3e-4, batch: 64 } } });
  await postCurves(token, run.id, 1);
  // A sweep: a parent and three trials differing in lr only, each with curves and a summary.
  const sweep = await call('POST', '/runs', { token, body: { project: SLUG, kind: 'sweep', name: 'lr-sweep', queue: 'gpu' } });
  const trials = [];
  for (const [i, lr] of [1e-4, 3e-4, 1e-3].entries()) {
    const t = await call('POST', '/runs', {
      token,
      body: { project: SLUG, kind: 'train', name: `trial-lr${lr}`, queue: 'gpu', parent_id: sweep.id, params: { lr, batch: 64, opt: { name: 'adam' } } },
    });
    await postCurves(token, t.id, 2 + i * 20);
    await call('PATCH', `/runs/${t.id}`, { token, body: { summary: { 'eval/accuracy': 0.8 + i * 0.05, 'train/loss': 0.5 - i * 0.1 } } });
    trials.push(t);
  }

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const chart = (key) => page.locator(`[data-testid="metric-${key}"] .uplot`);

    await step('metrics: log in, open a run: its charts are on the page, grouped by prefix', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}/runs/${run.id}`);
      await page.getByTestId('run-metrics').waitFor({ timeout: WAIT });
      for (const k of ['train/loss', 'train/lr', 'eval/accuracy', 'system/gpu_util', 'epoch']) await chart(k).waitFor({ timeout: WAIT });
      const groups = await page.locator('[data-testid^=metric-group-]').evaluateAll((els) => els.map((e) => e.dataset.testid));
      assert.deepEqual(groups, ['metric-group-train', 'metric-group-eval', 'metric-group-system', 'metric-group-other']);
      await shot('metrics-01-grouped');
    });

    await step('metrics: a group collapses and opens again', async () => {
      const group = page.getByTestId('metric-group-system');
      const control = group.locator('[data-accordion-control]');
      // Mantine's Collapse shuts the panel to height 0 (the chart inside keeps its size).
      const panelHeight = (want) =>
        page.waitForFunction(
          (open) => {
            const h = document.querySelector('[data-testid=metric-group-system] .mantine-Accordion-panel')?.getBoundingClientRect().height ?? 0;
            return open ? h > 100 : h === 0;
          },
          want,
          { timeout: WAIT },
        );
      await control.click();
      await page.waitForFunction(() => document.querySelector('[data-testid=metric-group-system] [data-accordion-control]')?.getAttribute('aria-expanded') === 'false', null, { timeout: WAIT });
      await panelHeight(false);
      await control.click();
      await panelHeight(true);
    });

    await step('metrics: lr ticks read as distinct numbers (not "0 0 0 0")', async () => {
      const ticks = (await chart('train/lr').getAttribute('data-yticks')).split('|');
      assert.ok(ticks.length >= 3, ticks.join(' '));
      assert.equal(new Set(ticks).size, ticks.length, `distinct: ${ticks.join(' ')}`);
      assert.ok(ticks.some((t) => /e-4$/.test(t)), `scientific: ${ticks.join(' ')}`);
      await chart('train/lr').scrollIntoViewIfNeeded();
      await page.getByTestId('metric-group-train').screenshot({ path: join(OUT, 'metrics-02-lr-ticks.png') });
    });

    await step('metrics: smoothing draws the EMA over the faint raw line', async () => {
      const slider = page.getByTestId('run-metrics').getByRole('slider', { name: 'smoothing' });
      await slider.focus();
      for (let i = 0; i < 90; i++) await page.keyboard.press('ArrowRight');
      await page.getByTestId('run-metrics').getByText('Smoothing (EMA) 0.90').waitFor({ timeout: WAIT });
      await chart('train/loss').locator('.u-legend').getByText('train/loss (raw)').waitFor({ timeout: WAIT });
      await shot('metrics-03-smoothing');
    });

    await step('metrics: log y axis (ticks at powers of ten)', async () => {
      await page.getByTestId('run-metrics').getByText('Log y').click();
      await page.waitForFunction(() => {
        const t = document.querySelector('[data-testid="metric-train/loss"] .uplot')?.dataset.yticks ?? '';
        return t.split('|').includes('1');
      }, null, { timeout: WAIT });
      await shot('metrics-04-log');
    });

    await step('metrics: x by relative time reads as durations', async () => {
      await page.getByTestId('run-metrics').getByText('Relative', { exact: true }).click();
      await page.waitForFunction(() => {
        const t = document.querySelector('[data-testid="metric-train/loss"] .uplot')?.dataset.xticks ?? '';
        return /\dm \d+s/.test(t);
      }, null, { timeout: WAIT });
      await page.getByTestId('run-metrics').getByText('Step', { exact: true }).click();
    });

    await step('metrics: a chart goes full screen', async () => {
      await page.getByTestId('metric-full-train/loss').click();
      const dialog = page.getByRole('dialog');
      await dialog.locator('[data-testid="metric-train/loss"] .uplot').waitFor({ timeout: WAIT });
      const h = await dialog.locator('[data-testid="metric-train/loss"]').evaluate((e) => e.getBoundingClientRect().height);
      assert.ok(h > 500, `full-screen chart height ${h}`);
      await shot('metrics-05-fullscreen');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached', timeout: WAIT });
    });

    const liveName = 'metrics: a point posted while the page is open reaches its chart (polling off)';
    if (!LIVE) skip(liveName, 'this tree has no live stream');
    else
      await step(liveName, async () => {
        await page.evaluate(() => window.localStorage.setItem('runwatch.refresh', '0'));
        await page.reload();
        await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
        await chart('epoch').waitFor({ timeout: WAIT });
        await call('POST', `/runs/${run.id}/metrics`, { token, body: { metrics: [{ key: 'epoch', step: 1000, value: 99 }] } });
        await page.getByTestId('run-metrics').getByText('11 points').waitFor({ timeout: WAIT });
      });

    await step('compare: tick two runs in the runs list and press Compare', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      await page.getByTestId('runs-table').waitFor({ timeout: WAIT });
      await page.getByRole('checkbox', { name: `select ${trials[0].name}` }).check();
      await page.getByRole('checkbox', { name: `select ${trials[2].name}` }).check();
      await page.getByTestId('compare-bar').getByText('2 selected').waitFor({ timeout: WAIT });
      await page.getByTestId('compare-button').click();
      await page.waitForURL(new RegExp(`/compare\\?runs=${trials[0].id},${trials[2].id}$`), { timeout: WAIT });
      await page.locator('[data-testid=compare][data-runs="2"]').waitFor({ timeout: WAIT });
    });

    await step('compare: a sweep compares all its trials; params that differ, summaries side by side, overlaid charts', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${sweep.id}`);
      await page.getByTestId('compare-trials').getByText('Compare 3 trials').click();
      await page.locator('[data-testid=compare][data-runs="3"]').waitFor({ timeout: WAIT });
      await page.getByTestId('compare-row').nth(2).waitFor({ timeout: WAIT });
      assert.deepEqual(await page.getByTestId('compare-param').allTextContents(), ['lr']);
      assert.deepEqual(await page.getByTestId('compare-summary').allTextContents(), ['eval/accuracy', 'train/loss']);
      const rows = await page.getByTestId('compare-row').allTextContents();
      for (const t of trials) assert.ok(rows.some((r) => r.includes(t.name)), `${t.name} in ${rows.join(' | ')}`);
      assert.ok(rows.some((r) => r.includes('0.001') && r.includes('0.9')), rows.join(' | '));
      for (const k of ['train/loss', 'train/lr', 'eval/accuracy', 'system/gpu_util']) await page.locator(`[data-testid="compare-${k}"] .uplot`).waitFor({ timeout: WAIT });
      // One line per run in the legend (3 runs, plus the x column).
      assert.equal(await page.locator('[data-testid="compare-train/loss"] .u-legend .u-series').count(), 4);
      await shot('metrics-06-compare');
      await page.getByText('All params', { exact: true }).click();
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=compare-param]')].map((e) => e.textContent).join(',') === 'batch,lr,opt.name', null, { timeout: WAIT });
      // The comparison is its URL: a reload shows the same runs.
      await page.reload();
      await page.locator('[data-testid=compare][data-runs="3"]').waitFor({ timeout: WAIT });
    });

    await step('leaderboard: runs ranked by a summary metric, lowest first, columns from the URL', async () => {
      await page.goto(`${BASE}/p/${SLUG}/leaderboard?metric=train/loss&order=asc&kind=train&cols=p:lr,s:eval/accuracy`);
      await page.getByTestId('leaderboard-row').nth(2).waitFor({ timeout: WAIT });
      const rows = await page.getByTestId('leaderboard-row').allTextContents();
      assert.equal(rows.length, 3, rows.join(' | '));
      // Lowest loss first: the third trial (0.3), then the second (0.4), the first (0.5).
      assert.ok(rows[0].startsWith('1' + trials[2].name), rows[0]);
      assert.ok(rows[2].startsWith('3' + trials[0].name), rows[2]);
      assert.deepEqual(await page.getByTestId('leaderboard-col').allTextContents(), ['lr', 'eval/accuracy']);
      await shot('metrics-07-leaderboard');
      await page.getByText('Highest first').click();
      await page.waitForURL((u) => !u.searchParams.has('order'), { timeout: WAIT });
      await page.waitForFunction((name) => document.querySelector('[data-testid=leaderboard-row]')?.textContent?.startsWith('1' + name), trials[0].name, { timeout: WAIT });
    });

    await step('metrics: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
