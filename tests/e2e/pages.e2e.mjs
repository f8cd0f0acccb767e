// The overview, runs and workers pages end to end (issue 18, "Overview, runs and workers"),
// in a real browser against a real stack (tests/e2e/run.sh), with the browser's clock two
// minutes behind the server's: times never read "in 2m" (the dashboard learns the offset
// from the API's Date header); status badges whole; the 24 h throughput trend; the live
// feed in words with run names, and the In flight list moving with it; the runs table's
// total, clickable rows (mouse and keyboard), queued age, "0 %" progress, names whole, the
// kind/queue/worker filters offering the project's values (workers by name); the run page's
// worker by name and attempts without an empty error box; a worker's live log tail (5,000
// lines kept, virtualised); the built-in report charts (whole-number ticks, date labels, a
// lone bar in a 7-day window, an empty chart saying why). Screenshots: RUNWATCH_E2E_OUT,
// pages-*.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { BASE, OUT, Steps, WAIT, api, launchChromium, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-pages';
const EMPTY = 'e2e-pages-empty';
const SKEW_MS = 120_000; // the browser runs this far behind the server

const steps = new Steps('e2e pages', 'FAILED-pages-');
const step = (name, fn) => steps.step(name, fn);
const call = api.call;

let page;
async function shot(name) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: WAIT });
  await page.screenshot({ path: join(OUT, `pages-${name}.png`), fullPage: true });
}

/** Relative times in the page's text that lie in the future ("in 2m"). */
const futureTimes = async () => (await page.locator('body').innerText()).match(/\bin \d+[smhd]\b/g) ?? [];

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E pages', 'e2e-pages');
  await call('POST', '/projects', { cookie: api.cookie, body: { slug: EMPTY, name: 'E2E pages, empty' } });
  const t = (method, path, body) => call(method, path, { token, body });

  const gpu = (await t('POST', '/workers', { name: 'gpu-alpha', host: 'node-1' })).id;
  const cpu = (await t('POST', '/workers', { name: 'cpu-beta', host: 'node-2' })).id;
  const LONG = 'resnet-50-training-run-with-a-long-descriptive-name';
  const run = (name, kind, queue) => t('POST', '/runs', { name, kind, queue });
  const claim = (queue, worker) => t('POST', `/queues/${queue}/claim`, { worker_id: worker, lease_s: 3600 });

  const r1 = (await run(LONG, 'train', 'gpu')).id;
  assert.equal((await claim('gpu', gpu)).id, r1);
  await t('POST', `/runs/${r1}/heartbeat`, { progress: 0 });
  const r3 = (await run('flaky-job', 'train', 'gpu')).id;
  assert.equal((await claim('gpu', gpu)).id, r3);
  await t('PATCH', `/runs/${r3}`, { status: 'failed', error: { type: 'OOM', message: 'CUDA out of memory' } });
  const r4 = (await run('eval-sweep', 'eval', 'cpu')).id;
  assert.equal((await claim('cpu', cpu)).id, r4);
  await t('PATCH', `/runs/${r4}`, { status: 'succeeded' });
  const r2 = (await run('etl-nightly', 'etl', 'cpu')).id; // stays queued
  await t('POST', `/workers/${gpu}/events`, {
    events: [
      { message: 'worker started: 8 GPUs', kind: 'boot' },
      { message: 'GPU 3 temperature 91 C', level: 'warning' },
      { message: 'GPU 5 lost (Xid 79)', level: 'error' },
    ],
  });

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, colorScheme: 'light' });
    // The browser's clock, two minutes slow: every Date in the page is shifted.
    await context.addInitScript((skew) => {
      const Real = Date;
      const realNow = Real.now.bind(Real);
      class Slow extends Real {
        constructor(...a) {
          if (a.length === 0) super(realNow() - skew);
          else super(...a);
        }
        static now() {
          return realNow() - skew;
        }
      }
      globalThis.Date = Slow;
    }, SKEW_MS);
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    await step('pages: log in with a browser clock two minutes slow', async () => {
      await signIn(page);
      const skew = await page.evaluate(() => Date.now());
      assert.ok(Date.now() - skew > 100_000, 'the page runs behind');
    });

    await step('overview: no time in the future, whole status badges, the throughput trend', async () => {
      await page.goto(`${BASE}/p/${SLUG}`);
      await page.getByTestId('status-counts').waitFor({ timeout: WAIT });
      await page.getByTestId('throughput-trend').locator('rect').first().waitFor({ timeout: WAIT });
      // A run started seconds ago reads "… ago" / "just now", not "in 2m".
      await page.getByText('Recent failures').waitFor();
      await page.getByRole('cell', { name: 'flaky-job' }).waitFor({ timeout: WAIT });
      assert.deepEqual(await futureTimes(), []);
      // Badges are never clipped: each label's text fits its box (no ellipsis).
      const clipped = await page.locator('.mantine-Badge-root').evaluateAll((els) =>
        els
          .filter((e) => {
            const l = e.querySelector('.mantine-Badge-label') ?? e;
            return l.scrollWidth > l.clientWidth + 1 || e.scrollWidth > e.clientWidth + 1;
          })
          .map((e) => e.textContent),
      );
      assert.deepEqual(clipped, []);
      const badges = await page.locator('.mantine-Badge-root').allTextContents();
      assert.ok(badges.includes('failed') && badges.includes('running'), badges.join(','));
      // The trend: whole-number ticks.
      const ticks = await page.getByTestId('throughput-trend').locator('[data-tick]').allTextContents();
      assert.ok(ticks.length >= 2 && ticks.every((x) => /^\d+$/.test(x)), ticks.join(','));
      await shot('01-overview');
    });

    await step('overview: the live feed says what happened, by name, and In flight follows at once', async () => {
      const live = (await run('live-feed-run', 'train', 'gpu')).id;
      assert.equal((await claim('gpu', gpu)).id, live);
      const feed = page.getByTestId('activity');
      await feed.getByText('“live-feed-run”').first().waitFor({ timeout: WAIT });
      await feed.getByText('started').first().waitFor({ timeout: WAIT });
      await page.getByRole('cell', { name: 'live-feed-run' }).first().waitFor({ timeout: WAIT });
      await t('POST', `/runs/${live}/events`, { message: 'epoch 1 done' });
      await feed.getByText('logged epoch 1 done').waitFor({ timeout: WAIT });
      await t('POST', `/workers/${gpu}/events`, { message: 'fan speed 80%' });
      await feed.getByText('worker gpu-alpha').first().waitFor({ timeout: WAIT });
      const text = await feed.innerText();
      assert.ok(!/run\.(event|updated|created)/i.test(text), text);
      assert.deepEqual(await futureTimes(), []);
      await shot('02-overview-feed');
    });

    await step('runs: total, queued age, "0 %" progress, names whole, workers by name', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      await page.getByTestId('runs-table').waitFor({ timeout: WAIT });
      await page.getByTestId('runs-count').getByText(/^5 runs · /).waitFor({ timeout: WAIT });
      const row = (id) => page.locator(`tbody[data-run-id="${id}"]`);
      await row(r2).getByTestId('queued-age').getByText(/^waiting \d/).waitFor({ timeout: WAIT });
      assert.equal(await row(r1).getByTestId('progress-text').innerText(), '0 %');
      const name = row(r1).getByTestId('run-name');
      assert.equal(await name.innerText(), LONG);
      assert.ok(await name.evaluate((e) => e.scrollWidth <= e.clientWidth + 1), 'the name is not cut');
      const heads = await page.getByTestId('runs-table').locator('thead th').allTextContents();
      assert.ok(!heads.includes('Input'), 'no empty Input column');
      assert.equal(await row(r1).getByTestId('worker-link').innerText(), 'gpu-alpha');
      assert.equal(await row(r4).getByTestId('worker-link').innerText(), 'cpu-beta');
      assert.deepEqual(await futureTimes(), []);
      await shot('03-runs');
    });

    await step('runs: a row opens its run by click, and by keyboard on its name', async () => {
      const row = page.locator(`tbody[data-run-id="${r4}"]`);
      await row.locator('td').nth(7).click(); // a plain cell, not a link
      await page.waitForURL(new RegExp(`/runs/${r4}$`), { timeout: WAIT });
      await page.goBack();
      await page.getByTestId('runs-table').waitFor({ timeout: WAIT });
      await page.locator(`tbody[data-run-id="${r3}"]`).getByTestId('run-name').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(new RegExp(`/runs/${r3}$`), { timeout: WAIT });
      await page.goBack();
      await page.getByTestId('runs-table').waitFor({ timeout: WAIT });
    });

    await step("runs: kind, queue and worker filters offer the project's values", async () => {
      await page.getByTestId('kind-filter').click();
      for (const k of ['train', 'eval', 'etl']) await page.getByRole('option', { name: k, exact: true }).waitFor({ timeout: WAIT });
      await page.getByRole('option', { name: 'etl', exact: true }).click();
      await page.waitForURL(/kind=etl/, { timeout: WAIT });
      await page.getByTestId('runs-count').getByText(/^1 run · /).waitFor({ timeout: WAIT });
      await page.getByTestId('queue-filter').click();
      await page.getByRole('option', { name: 'cpu', exact: true }).waitFor({ timeout: WAIT });
      await page.keyboard.press('Escape');
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      await page.getByTestId('worker-filter').click();
      await page.getByRole('option', { name: 'gpu-alpha', exact: true }).click();
      await page.waitForURL(new RegExp(`worker=${gpu}`), { timeout: WAIT });
      await page.getByTestId('runs-count').getByText(/^3 runs · /).waitFor({ timeout: WAIT });
      await shot('04-runs-filters');
    });

    await step('run page: the worker by name; an attempt without an error has no error box', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${r4}?tab=attempts`);
      await page.getByRole('tab', { name: 'Attempts' }).waitFor({ timeout: WAIT });
      const attempts = page.getByRole('tabpanel');
      await attempts.getByRole('link', { name: 'cpu-beta' }).waitFor({ timeout: WAIT });
      assert.equal(await attempts.locator('code').count(), 0, 'no empty error box');
      assert.ok((await page.getByTestId('run-detail').innerText()).includes('cpu-beta'));
      await shot('05-run-attempts');
      await page.goto(`${BASE}/p/${SLUG}/runs/${r3}?tab=attempts`);
      await page.getByRole('tabpanel').locator('code').getByText(/CUDA out of memory/).waitFor({ timeout: WAIT });
    });

    await step("worker page: the worker's own log, live, the newest 5,000 lines, virtualised", async () => {
      await page.goto(`${BASE}/p/${SLUG}/workers/${gpu}`);
      const log = page.getByTestId('worker-log');
      await log.getByText('GPU 5 lost (Xid 79)').waitFor({ timeout: WAIT });
      await t('POST', `/workers/${gpu}/events`, { message: 'live: drained 2 jobs' });
      await log.getByText('live: drained 2 jobs').waitFor({ timeout: WAIT });
      await shot('06-worker-log');
      // 6,000 more lines in six batches (each past a live frame's budget: fetched).
      for (let b = 0; b < 6; b++)
        await t('POST', `/workers/${gpu}/events`, {
          events: Array.from({ length: 1000 }, (_, i) => ({ message: `bulk line ${b * 1000 + i}` })),
        });
      await page.getByTestId('worker-log-count').getByText(/· 5000 lines$/).waitFor({ timeout: WAIT });
      await log.getByText('bulk line 5999').waitFor({ timeout: WAIT });
      const inDom = await log.locator('[data-testid=worker-log-line]').count();
      assert.ok(inDom > 0 && inDom < 200, `virtualised: ${inDom} lines in the DOM`);
      await shot('07-worker-log-5000');
    });

    await step('reports: whole-number ticks, date labels, a lone bar in 7 days, an empty chart says why', async () => {
      await page.goto(`${BASE}/p/${SLUG}/reports`);
      const card = page.getByTestId('report-throughput');
      await card.getByText(/started, per day, by status/).waitFor({ timeout: WAIT });
      const ticks = await card.locator('[data-tick]').allTextContents();
      assert.ok(ticks.length >= 2 && ticks.every((x) => /^\d+$/.test(x)), ticks.join(','));
      const labels = await card.locator('[data-xlabel]').allTextContents();
      assert.ok(labels.length >= 7 && labels.every((x) => /^[A-Z][a-z]{2} \d{1,2}$/.test(x)), labels.join(','));
      const widths = await card.locator('rect').evaluateAll((els) => els.map((e) => Number(e.getAttribute('width'))));
      assert.ok(widths.length >= 1 && widths.every((w) => w <= 48), widths.join(','));
      await shot('08-reports');
      await page.goto(`${BASE}/p/${EMPTY}`);
      await page.getByTestId('throughput-trend').getByText('No runs started or ended in the last 24 hours.').waitFor({ timeout: WAIT });
      await shot('09-empty-chart');
    });

    await step('pages: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
