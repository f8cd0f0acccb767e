// The compare view's one request, end to end (tests/e2e/run.sh): three runs compared make
// one GET /runs/compare and no per-run read (before it, three a run); a point posted to one
// of the runs while the page is open reaches its chart through the live stream; removing a
// run keeps the page on screen and asks once more. Screenshot: cmp-01-compare.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { BASE, LIVE, OUT, Steps, WAIT, api, launchChromium, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-cmp';

const steps = new Steps('e2e cmp', 'FAILED-cmp-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E compare', 'e2e-cmp');
  const runs = [];
  for (const [i, lr] of [1e-4, 3e-4, 1e-3].entries()) {
    const r = await call('POST', '/runs', { token, body: { project: SLUG, kind: 'train', name: `cmp-lr${lr}`, params: { lr } } });
    const metrics = [];
    for (let s = 0; s < 50; s++) metrics.push({ key: 'train/loss', step: s, value: 2 * Math.exp(-s / (20 + 10 * i)) });
    for (let s = 0; s < 5; s++) metrics.push({ key: 'eval/acc', step: s * 10, value: 0.5 + 0.1 * s + 0.01 * i });
    await call('POST', `/runs/${r.id}/metrics`, { token, body: { metrics } });
    runs.push(r);
  }

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const reads = [];
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.pathname.startsWith('/api/v1/runs/')) reads.push(u.pathname + u.search);
    });

    await step('cmp: three runs compared in one request, no per-run reads', async () => {
      await signIn(page);
      reads.length = 0;
      await page.goto(`${BASE}/p/${SLUG}/compare?runs=${runs.map((r) => r.id).join(',')}`);
      await page.getByTestId('compare-row').nth(2).waitFor({ timeout: WAIT });
      await page.waitForFunction(() => document.querySelector('[data-testid="compare-train/loss"]')?.getAttribute('data-points') === '150', null, { timeout: WAIT });
      await page.locator('[data-testid="compare-eval/acc"] .uplot').waitFor({ timeout: WAIT });
      const compare = reads.filter((p) => p.startsWith('/api/v1/runs/compare?'));
      assert.equal(compare.length, 1, reads.join('\n'));
      assert.deepEqual(reads.filter((p) => !p.startsWith('/api/v1/runs/compare?')), [], 'no per-run reads');
      await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: WAIT });
      await page.screenshot({ path: join(OUT, 'cmp-01-compare.png'), fullPage: true });
    });

    const liveName = 'cmp: a point posted to a compared run reaches its chart (live stream, polling off)';
    if (!LIVE) skip(liveName, 'this tree has no live stream');
    else
      await step(liveName, async () => {
        await page.evaluate(() => window.localStorage.setItem('runwatch.refresh', '0'));
        await page.reload();
        await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
        await page.waitForFunction(() => document.querySelector('[data-testid="compare-train/loss"]')?.getAttribute('data-points') === '150', null, { timeout: WAIT });
        await call('POST', `/runs/${runs[1].id}/metrics`, { token, body: { metrics: [{ key: 'train/loss', step: 50, value: 0.1 }] } });
        await page.waitForFunction(() => document.querySelector('[data-testid="compare-train/loss"]')?.getAttribute('data-points') === '151', null, { timeout: WAIT });
      });

    await step('cmp: removing a run asks once more, for the two left', async () => {
      reads.length = 0;
      await page.getByRole('button', { name: `remove ${runs[0].name}` }).click();
      await page.locator('[data-testid=compare][data-runs="2"]').waitFor({ timeout: WAIT });
      await page.getByTestId('compare-row').nth(1).waitFor({ timeout: WAIT });
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="compare-train/loss"]')?.getAttribute('data-points')) >= 100 && document.querySelector('[data-testid="compare-train/loss"]')?.getAttribute('data-lines') === '2', null, { timeout: WAIT });
      const compare = reads.filter((p) => p.startsWith('/api/v1/runs/compare?'));
      assert.equal(compare.length, 1, reads.join('\n'));
      assert.ok(compare[0].includes(`runs=${runs[1].id}%2C${runs[2].id}`) || compare[0].includes(`runs=${runs[1].id},${runs[2].id}`), compare[0]);
    });

    await step('cmp: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
