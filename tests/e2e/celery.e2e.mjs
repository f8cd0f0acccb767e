// The Celery views end to end, in a real browser against a real stack (tests/e2e/run.sh):
// Celery events go in through POST /api/v1/celery/events with a project token, as
// runwatch-celery posts them (a worker online and beating, tasks that succeed, fail, retry,
// and one no worker knew). The Celery registry lists each task name with its runs, failure
// rate and workers, the unregistered name first and highlighted; a Celery run's page shows
// its Celery fields; the workers page shows the Celery worker's load, active and processed;
// a chord's root shows the canvas in the run graph (the group a node, the callback after it).
// A screenshot of each view goes to RUNWATCH_E2E_OUT (celery-*.png).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { BASE, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-celery';
const steps = new Steps('e2e celery', 'FAILED-celery-');
const step = (name, fn) => steps.step(name, fn);
const call = api.call;

let page;
const shot = (name) => screenshot(page, name);

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E celery', 'e2e-celery');
  const post = (events) => call('POST', '/celery/events', { token, body: { events, now: Date.now() / 1000 } });
  const host = 'celery@e2e-1';
  const t = Date.now() / 1000 - 60;
  const beat = (type, dt) => ({
    type, hostname: host, timestamp: t + dt, received: Date.now() / 1000, freq: 60, active: 1, processed: 41,
    loadavg: [0.42, 0.3, 0.25], sw_ident: 'py-celery', sw_ver: '5.2.6', sw_sys: 'Linux', pid: 4242,
  });
  const task = (name, args, end, dt) => {
    const id = randomUUID();
    return [
      id,
      [
        { type: 'task-received', uuid: id, hostname: host, timestamp: t + dt, name, args, kwargs: '{}', retries: 0, root_id: id },
        { type: 'task-started', uuid: id, hostname: host, timestamp: t + dt + 0.1 },
        { ...end, uuid: id, hostname: host, timestamp: t + dt + 1.5 },
      ],
    ];
  };
  const ok = (result) => ({ type: 'task-succeeded', result, runtime: 1.4 });
  const [addId, add1] = task('app.add', '(2, 3)', ok('5'), 1);
  const [, add2] = task('app.add', '(4, 4)', ok('8'), 2);
  const [, boom] = task('app.boom', "('x',)", { type: 'task-failed', exception: "ValueError('bad input')", traceback: 'Traceback…' }, 3);
  const nope = randomUUID();
  await post([beat('worker-online', 0), beat('worker-heartbeat', 2), ...add1, ...add2, ...boom,
    { type: 'task-failed', uuid: nope, hostname: host, timestamp: t + 5, exception: "NotRegistered('app.nope')" }]);
  // A chord as the bridge reports it: a root task starts a group of two header tasks (their
  // group id from the result backend, as backend-meta events), and the callback is applied
  // by the header that finished last (Celery names it parent and root's descendant).
  const root = randomUUID(), h1 = randomUUID(), h2 = randomUUID(), cb = randomUUID();
  const group = randomUUID();
  const run = (id, name, parent, dt) => [
    { type: 'task-received', uuid: id, hostname: host, timestamp: t + dt, name, args: '()', kwargs: '{}', retries: 0, root_id: root, ...(parent ? { parent_id: parent } : {}) },
    { type: 'task-started', uuid: id, hostname: host, timestamp: t + dt + 0.1 },
    { type: 'task-succeeded', uuid: id, hostname: host, timestamp: t + dt + 1, result: 'None', runtime: 0.9 },
  ];
  const meta = (id, g) => ({ type: 'backend-meta', uuid: id, status: 'SUCCESS', date_done: t + 12, children: [], ...(g ? { group_id: g } : {}) });
  await post([...run(root, 'app.pipeline', null, 6), ...run(h1, 'app.fetch', root, 7), ...run(h2, 'app.fetch', root, 8),
    meta(root), meta(h1, group), meta(h2, group), ...run(cb, 'app.merge', h2, 10), meta(cb)]);

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    await step('celery: log in and open the Celery registry from the nav', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}`);
      await page.getByRole('link', { name: 'Celery', exact: true }).click();
      await page.getByTestId('celery-registry').waitFor({ timeout: WAIT });
    });

    await step('celery registry: every name, the unregistered one first and highlighted', async () => {
      const rows = page.locator('[data-testid=celery-task-row]');
      assert.equal(await rows.count(), 6); // add, boom, nope and the chord's pipeline, fetch, merge
      const first = await rows.nth(0).locator('td').allTextContents();
      assert.ok(first[0].startsWith('app.nope') && first[0].includes('unregistered'), first.join(' | '));
      assert.equal(await rows.nth(0).getAttribute('data-unregistered'), 'true');
      const add = await rows.filter({ hasText: 'app.add' }).locator('td').allTextContents();
      assert.equal(add[1], '2');
      assert.equal(add[2], '0.0%');
      assert.equal(add[6], host);
      const boomRow = await rows.filter({ hasText: 'app.boom' }).locator('td').allTextContents();
      assert.ok(boomRow[2].startsWith('100'), boomRow[2]);
      await shot('celery-01-registry');
    });

    await step('celery run page: hostname, retries, runtime and the repr strings', async () => {
      await page.goto(`${BASE}/p/${SLUG}/runs/${addId}`);
      const panel = page.getByTestId('celery-run');
      await panel.waitFor({ timeout: WAIT });
      assert.equal(await panel.getAttribute('data-celery-state'), 'SUCCESS');
      const text = await panel.textContent();
      for (const want of [host, '(2, 3)', '5', 'Retries']) assert.ok(text.includes(want), `${want} in ${text}`);
      await shot('celery-02-run');
    });

    await step('celery workers: pool load, active, processed and sessions on the workers page', async () => {
      await page.goto(`${BASE}/p/${SLUG}/workers`);
      const table = page.getByTestId('celery-workers');
      await table.locator('[data-testid=celery-worker-row]').first().waitFor({ timeout: WAIT });
      const cells = await table.locator('[data-testid=celery-worker-row]').first().locator('td').allTextContents();
      assert.equal(cells[0], host);
      assert.equal(cells[2], '0.42 / 0.30 / 0.25');
      assert.equal(cells[3], '1');
      assert.equal(cells[4], '41');
      assert.ok(cells[5].startsWith('1'), cells[5]);
      assert.equal(cells[7], '5.2.6');
      await shot('celery-03-workers');
    });

    await step('celery flow graph: a chord as a group node, its callback linked from the group', async () => {
      const g = await call('GET', `/runs/${root}/graph`, { token });
      const kinds = g.edges.map((e) => `${e.kind}:${e.source}->${e.target}`);
      for (const want of [`child:${root}->${h1}`, `child:${root}->${h2}`, `group:${group}->${cb}`])
        assert.ok(kinds.includes(want), `${want} in ${kinds.join(' ')}`);
      await page.goto(`${BASE}/p/${SLUG}/runs/${root}`);
      await page.getByRole('tab', { name: 'Graph' }).click();
      await page.locator('[data-testid=graph-canvas][data-ready=true]').waitFor({ timeout: WAIT });
      await page.locator('[data-testid=graph-cluster]', { hasText: group.slice(0, 8) }).first().waitFor({ timeout: WAIT });
      await page.locator('[data-testid=graph-run]', { hasText: 'app.merge' }).waitFor({ timeout: WAIT });
      await shot('celery-04-flow-graph');
    });

    await step('celery: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
