// The run graph end to end (issue 18, "Graphs and timelines"), in a real browser against a
// real stack (tests/e2e/run.sh): a Celery-shaped tree goes in through POST /runs (a root, a
// group of three with a grandchild, a chord callback after that group and one of its runs,
// a sweep of 20 trials in a group of their own). The run page's Graph tab draws it: lineage
// both ways, the small group open and the 20 trials folded into one node that unfolds on a
// click, a run changing status without a reload (live stream), a click through to a run.
// Timelines (the tree's, a run's attempts, a worker's), a pipeline's stage DAG with its
// bottleneck and a stage's partition skew, and the runs list's roots-only view with a root
// expanded into its tree. Screenshots go to RUNWATCH_E2E_OUT (graph-*.png).
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { BASE, LIVE, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-graph';

const steps = new Steps('e2e graph', 'FAILED-graph-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;

let page;
const shot = (name) => screenshot(page, name);

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E graph', 'e2e-graph');
  const run = (body) => call('POST', '/runs', { token, body: { kind: 'celery.task', ...body } });
  const status = (id, s) => call('PATCH', `/runs/${id}`, { token, body: { status: s } });

  const root = await run({ name: 'flow.root', status: 'running' });
  const members = [];
  for (let i = 0; i < 3; i++)
    members.push(await run({ name: `fetch.${i}`, parent_id: root.id, group_id: 'header-1', status: 'running' }));
  await status(members[0].id, 'succeeded');
  await status(members[1].id, 'failed');
  const grand = await run({ name: 'fetch.0.retry-helper', parent_id: members[0].id });
  const callback = await run({
    name: 'reduce.callback',
    parent_id: root.id,
    after_group: 'header-1',
    depends_on: [members[2].id],
  });
  const trials = [];
  for (let i = 0; i < 20; i++) trials.push(await run({ name: `trial.${i}`, parent_id: root.id, group_id: 'sweep-7', status: 'running' }));
  for (let i = 0; i < 20; i += 3) await status(trials[i].id, 'succeeded');
  // A step that a worker retried: attempt 1 fails and will retry, attempt 2 succeeds.
  const worker = await call('POST', '/workers', { token, body: { name: 'graph-e2e-w', host: 'graph-e2e-w', kinds: ['celery.task'] } });
  const step1 = await run({ name: 'train.step', parent_id: root.id });
  await call('POST', `/runs/${step1.id}/attempts`, { token, body: { worker_id: worker.id } });
  await call('PATCH', `/runs/${step1.id}/attempts/1`, { token, body: { status: 'failed', retry: true } });
  await call('POST', `/runs/${step1.id}/attempts`, { token, body: { worker_id: worker.id } });
  await call('PATCH', `/runs/${step1.id}/attempts/2`, { token, body: { status: 'succeeded' } });

  // A pipeline: three stages in a chain reporting the pipeline/ metrics; train is slow (its
  // upstream is backpressured) and its partition 0 runs hot.
  const pipe = await run({ name: 'nightly.pipeline', kind: 'pipeline', status: 'running' });
  const stages = {};
  let prev = null;
  for (const [name, tp, lag, bp] of [['etl', 1200, 100, 0.7], ['train', 300, 9000, 0.1], ['eval', 800, 50, 0.05]]) {
    const st = await run({ name, parent_id: pipe.id, status: 'running', ...(prev ? { depends_on: [prev] } : {}) });
    stages[name] = st;
    prev = st.id;
    const metrics = [
      { key: 'pipeline/throughput', value: tp, step: 1 },
      { key: 'pipeline/lag', value: lag, step: 1 },
      { key: 'pipeline/backpressure', value: bp, step: 1 },
    ];
    for (let p = 0; p < 4; p++) metrics.push({ key: `pipeline/partition/${p}/lag`, value: p === 0 ? lag * 0.55 : lag * 0.15, step: 1 });
    await call('POST', `/runs/${st.id}/metrics`, { token, body: { metrics } });
  }

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const canvas = page.locator('[data-testid=graph-canvas][data-ready=true]');
    const runNode = (name) => page.locator('[data-testid=graph-run]', { hasText: name });

    await step('graph: log in, the callback has a Graph tab that draws its whole tree', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}/runs/${callback.id}`);
      await page.getByRole('tab', { name: 'Graph' }).click();
      await canvas.waitFor({ timeout: WAIT });
      await runNode('reduce.callback').waitFor({ timeout: WAIT });
      assert.match(await page.getByTestId('graph-summary').textContent(), /^27 runs in this tree/);
      // Root, three members, the grandchild, the callback, the step: drawn one by one.
      assert.equal(await page.locator('[data-testid=graph-run]').count(), 7);
      assert.equal(await runNode('fetch.1').getAttribute('data-status'), 'failed');
      assert.equal(await runNode('fetch.0').first().getAttribute('data-status'), 'succeeded');
      await shot('graph-01-graph');
    });

    await step('graph: lineage both ways (ancestors of a grandchild, descendants of the root)', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${grand.id}?tab=graph`);
      const lineage = page.getByTestId('run-lineage');
      await lineage.waitFor({ timeout: WAIT });
      await lineage.getByRole('link', { name: 'flow.root' }).waitFor({ timeout: WAIT });
      await lineage.getByRole('link', { name: 'fetch.0' }).waitFor();
      assert.equal(await page.getByTestId('lineage-descendants').textContent(), '0');
      await canvas.waitFor({ timeout: WAIT });
      await shot('graph-02-lineage');
      await page.goto(`${BASE}/p/${SLUG}/runs/${root.id}?tab=graph`);
      await page.getByTestId('lineage-descendants').getByText('26').waitFor({ timeout: WAIT });
    });

    await step('graph: the 20 trials are one folded group node that unfolds on a click', async () => {
      await canvas.waitFor({ timeout: WAIT });
      const folded = page.locator('[data-testid=graph-cluster][data-folded=true]', { hasText: 'sweep-7' });
      await folded.waitFor({ timeout: WAIT });
      assert.match(await folded.textContent(), /group sweep-7 \(20\)/);
      assert.match(await folded.textContent(), /13 running · 7 succeeded/);
      await shot('graph-03-collapsed-group');
      await folded.click();
      await page.locator('[data-testid=graph-cluster][data-folded=false]', { hasText: 'sweep-7' }).waitFor({ timeout: WAIT });
      await runNode('trial.19').waitFor({ timeout: WAIT });
      assert.equal(await page.locator('[data-testid=graph-run]').count(), 27);
      await shot('graph-04-unfolded-group');
    });

    const liveName = 'graph: a run that succeeds turns in the graph without a reload';
    if (!LIVE) skip(liveName, 'this tree has no live stream');
    else
      await step(liveName, async () => {
        await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
        await status(members[2].id, 'succeeded');
        await page.locator('[data-testid=graph-run][data-status=succeeded]', { hasText: 'fetch.2' }).waitFor({ timeout: WAIT });
      });

    await step("timeline: the root's runs on one time axis, the retried step marked", async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${root.id}?tab=graph`);
      await page.locator('label', { hasText: 'Timeline' }).click();
      const tl = page.locator('[data-testid=tree-timeline][data-rows="27"]');
      await tl.waitFor({ timeout: WAIT });
      await tl.locator('[data-testid=tree-timeline-row]', { hasText: 'train.step · 1 retry' }).waitFor();
      await shot('graph-05-timeline');
    });

    await step("timeline: a run's attempts, one bar each", async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${step1.id}?tab=attempts`);
      const tl = page.locator('[data-testid=attempts-timeline][data-rows="2"]');
      await tl.waitFor({ timeout: WAIT });
      const rows = tl.locator('[data-testid=attempts-timeline-row]');
      assert.equal(await rows.nth(0).getAttribute('data-status'), 'failed');
      assert.equal(await rows.nth(1).getAttribute('data-status'), 'succeeded');
      await shot('graph-06-attempts-timeline');
    });

    await step("timeline: a worker's runs with its online session as a band", async () => {
      await page.goto(`${BASE}/p/${SLUG}/workers/${worker.id}`);
      const tl = page.locator('[data-testid=worker-timeline][data-rows="1"]');
      await tl.waitFor({ timeout: WAIT });
      assert.equal(await tl.locator('[data-testid=worker-timeline-band]').count(), 1);
      await tl.locator('[data-testid=worker-timeline-row]', { hasText: 'train.step' }).waitFor();
      await shot('graph-07-worker-timeline');
      await page.goto(`${BASE}/p/${SLUG}/runs/${callback.id}?tab=graph`);
      await canvas.waitFor({ timeout: WAIT });
    });

    await step('pipeline: the stage DAG with throughput, lag and backpressure, the bottleneck marked', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${pipe.id}?tab=graph`);
      await page.locator('label', { hasText: 'Pipeline' }).click();
      const dag = page.getByTestId('pipeline-dag');
      await dag.waitFor({ timeout: WAIT });
      const cards = dag.getByTestId('pipeline-stage');
      await cards.nth(2).getByText('throughput 800/s').waitFor({ timeout: WAIT });
      assert.deepEqual(
        (await cards.allTextContents()).map((t) => t.split(/running|bottleneck/)[0]),
        ['etl', 'train', 'eval'],
      );
      const hot = dag.locator('[data-testid=pipeline-stage][data-bottleneck=true]');
      assert.equal(await hot.count(), 1);
      assert.match(await hot.textContent(), /^trainbottleneck/);
      await dag.getByText('70%').waitFor();
      await shot('graph-08-pipeline');
    });

    await step("pipeline: a stage's page shows its per-partition skew", async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${stages.train.id}?tab=graph`);
      await page.locator('label', { hasText: 'Pipeline' }).click();
      const skew = page.getByTestId('partition-skew');
      await skew.waitFor({ timeout: WAIT });
      await skew.getByText(/^lag: skew 2\.20× \(max \/ mean\)/).waitFor({ timeout: WAIT });
      await shot('graph-09-partition-skew');
      await page.goto(`${BASE}/p/${SLUG}/runs/${callback.id}?tab=graph`);
      await canvas.waitFor({ timeout: WAIT });
    });

    await step('runs list: roots only with child counts, a root expands into its tree', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs`);
      await page.locator('label', { hasText: 'Roots only' }).click();
      await page.waitForURL(/roots=1/, { timeout: WAIT });
      const rows = page.getByTestId('root-row');
      await rows.nth(1).waitFor({ timeout: WAIT });
      assert.equal(await rows.count(), 2);
      const flow = rows.filter({ hasText: 'flow.root' });
      assert.equal(await flow.getByTestId('child-count').textContent(), '25');
      assert.equal(await rows.filter({ hasText: 'nightly.pipeline' }).getByTestId('child-count').textContent(), '3');
      await flow.getByTestId('root-expand').click();
      await page.locator('[data-testid=tree-row][data-depth="2"]', { hasText: 'fetch.0.retry-helper' }).waitFor({ timeout: WAIT });
      assert.equal(await page.getByTestId('tree-row').count(), 26);
      await shot('graph-10-roots-only');
      await page.goto(`${BASE}/p/${SLUG}/runs/${callback.id}?tab=graph`);
      await canvas.waitFor({ timeout: WAIT });
    });

    await step('graph: a click on a run opens its page', async () => {
      await runNode('reduce.callback').click();
      await page.waitForURL(new RegExp(`/runs/${callback.id}`), { timeout: WAIT });
      await page.getByTestId('run-detail').waitFor({ timeout: WAIT });
    });

    await step('graph: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
