// The agent-lightning store's dashboard views end to end, in a real browser against a real
// stack (tests/e2e/run.sh): rollouts, attempts, spans and two versions of a resources
// snapshot go in through the store's own API (/api/v1/agl, a project token, as
// agent-lightning's client sends them); the Rollouts view shows agent-lightning's columns
// (a rollout whose attempt timed out as "requeuing - timeout"), a rollout that succeeds
// changes without a reload (live stream), a rollout with two attempts expands to them, Raw
// JSON and View traces open; the Resources page shows the snapshot's
// versions, which is latest, a diff of the two (its api_key redacted), and the rollouts that
// used it. A screenshot of each view goes to RUNWATCH_E2E_OUT (rollouts-*.png).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { BASE, LIVE, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-rollouts';

const steps = new Steps('e2e rollouts', 'FAILED-rollouts-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;

let page;
const shot = (name) => screenshot(page, name);

const hex = (bytes) => randomBytes(bytes).toString('hex');
const llm = (model, temperature) => ({
  resource_type: 'llm',
  endpoint: 'http://vllm.internal:8000/v1',
  model,
  sampling_parameters: { temperature },
  api_key: 'sk-e2e-secret-0123456789abcdef',
});
const prompt = { resource_type: 'prompt_template', template: 'Answer briefly: {question}', engine: 'f-string' };

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E rollouts', 'e2e-agl');
  const agl = (method, path, body) => call(method, '/agl' + path, { token, body });

  // Resources, twice: one id at versions 1 and 2 (the trainer's next step), the latest.
  const rs = (await agl('POST', '/resources', { main_llm: llm('qwen2.5-7b', 0.7), main_prompt: prompt })).resources_id;
  await agl('POST', `/resources/${rs}`, { main_llm: llm('qwen2.5-7b-step-2', 0.5), main_prompt: prompt });

  // Four rollouts; all dequeued by runner-1. A fails and is retried (runner-2 takes attempt
  // 2, a span makes it run); B succeeds; C still prepares; D times out and waits to retry.
  const enq = await agl('POST', '/queues/rollouts/enqueue', {
    rollouts: [
      { input: { question: 'What is the capital of France? Answer in one word.' }, mode: 'train', config: { max_attempts: 2, retry_condition: ['failed'] } },
      { input: { question: '2 + 2' }, mode: 'train' },
      { input: { question: 'Name a prime above 100' }, mode: 'val' },
      { input: { question: 'Summarise the attached paper' }, mode: 'test', config: { max_attempts: 3, retry_condition: ['timeout'] } },
    ],
  });
  const [A, B, C, D] = enq.map((r) => r.rollout_id);
  const got = await agl('POST', '/queues/rollouts/dequeue', { limit: 4, worker_id: 'runner-1' });
  assert.equal(got.length, 4);
  const t0 = Date.now() / 1000 - 30;
  const span = (rollout, attempt, seq, name, start, end) =>
    agl('POST', '/spans', {
      rollout_id: rollout,
      attempt_id: attempt,
      sequence_id: seq,
      trace_id: hex(16),
      span_id: hex(8),
      name,
      start_time: t0 + start,
      end_time: t0 + end,
      attributes: { 'gen_ai.request.model': 'qwen2.5-7b' },
    });
  await span(A, '1', 1, 'agent.rollout', 0, 2);
  await agl('POST', `/rollouts/${A}/attempts/1`, { status: 'failed' });
  await agl('POST', `/rollouts/${B}/attempts/1`, { status: 'succeeded' });
  await agl('POST', `/rollouts/${D}/attempts/1`, { status: 'timeout' });
  const again = await agl('POST', '/queues/rollouts/dequeue', { limit: 1, worker_id: 'runner-2' });
  assert.equal(again[0]?.rollout_id, A);
  await span(A, '2', 2, 'agent.rollout', 5, 9);

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1800, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const row = (id) => page.locator(`[data-testid=rollout-row][data-rollout-id="${id}"]`);
    const cells = (id) => row(id).locator('td').allTextContents();

    await step('rollouts: log in and open the Rollouts view', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}/rollouts`);
      await page.getByTestId('rollouts-table').waitFor({ timeout: WAIT });
      await page.getByRole('link', { name: 'Rollouts', exact: true }).waitFor();
    });

    await step("rollouts: agent-lightning's columns, statuses as rollout - attempt", async () => {
      assert.equal(await page.locator('[data-testid=rollout-row]').count(), 4);
      const heads = await page.getByTestId('rollouts-table').locator('thead th').allTextContents();
      assert.deepEqual(heads.slice(1), [
        'Rollout', 'Attempt', 'Input', 'Status', 'Resources ID', 'Mode', 'Start', 'Duration', 'Last heartbeat', 'Worker', 'Actions',
      ]);
      // [expand, rollout, attempt, input, status, resources, mode, start, duration, heartbeat, worker, actions]
      const a = await cells(A);
      assert.equal(a[1], A.slice(0, 8));
      assert.equal(a[2], '2 of 2');
      assert.equal(a[3].length, 35, `input cut to 35 characters: ${a[3]}`);
      assert.ok(a[3].startsWith('{"question":"What is the capital'));
      assert.equal(a[4], 'running');
      assert.equal(a[5], `${rs} v2`);
      assert.equal(a[6], 'train');
      assert.notEqual(a[9], '—'); // its span was a heartbeat
      assert.equal(a[10], 'runner-2');
      assert.equal((await cells(B))[4], 'succeeded');
      assert.equal((await cells(C))[4], 'preparing');
      assert.equal((await cells(C))[10], 'runner-1');
      assert.equal((await cells(D))[4], 'requeuing - timeout');
      assert.equal((await cells(D))[6], 'test');
      // Only the rollout with several attempts expands.
      assert.equal(await page.getByTestId('rollout-expand').count(), 1);
      await shot('rollouts-01-view');
    });

    const liveName = 'rollouts: a rollout that succeeds changes in the view without a reload (polling off)';
    if (!LIVE) skip(liveName, 'this tree has no live stream');
    else
      await step(liveName, async () => {
        // Polling off (the refresh preference), so only the live stream can bring the change.
        await page.evaluate(() => window.localStorage.setItem('runwatch.refresh', '0'));
        await page.reload();
        await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
        await row(C).waitFor({ timeout: WAIT });
        await agl('POST', `/rollouts/${C}/attempts/1`, { status: 'succeeded' });
        await row(C).getByTestId('rollout-status').getByText('succeeded', { exact: true }).waitFor({ timeout: WAIT });
      });

    await step('rollouts: a rollout with two attempts expands to them, fetched on opening', async () => {
      const fetched = page.waitForResponse((r) => r.url().includes(`/api/v1/rollouts/${A}/attempts`));
      await row(A).getByTestId('rollout-expand').click();
      await fetched;
      const attempts = page.getByTestId('attempt-row');
      await attempts.nth(1).waitFor({ timeout: WAIT });
      const first = await attempts.nth(0).locator('td').allTextContents();
      const second = await attempts.nth(1).locator('td').allTextContents();
      assert.equal(first[2], '1');
      assert.equal(first[4], 'failed');
      assert.equal(first[10], 'runner-1');
      assert.equal(second[2], '2');
      assert.equal(second[4], 'running');
      assert.equal(second[10], 'runner-2');
      await shot('rollouts-02-attempts');
    });

    await step('rollouts: Raw JSON shows the rollout as the API sent it', async () => {
      await row(D).getByRole('button', { name: 'Raw JSON' }).click();
      const drawer = page.getByRole('dialog');
      await drawer.getByText(`"id": "${D}"`).waitFor({ timeout: WAIT });
      await drawer.getByText('"status": "timeout"').waitFor();
      await shot('rollouts-03-raw-json');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached', timeout: WAIT });
    });

    await step("rollouts: View traces opens the rollout's spans", async () => {
      await row(A).getByRole('link', { name: 'View traces' }).click();
      await page.waitForURL(new RegExp(`/runs/${A}\\?tab=traces`), { timeout: WAIT });
      await page.locator('[data-testid=waterfall][data-spans="2"]').waitFor({ timeout: WAIT });
      await shot('rollouts-04-traces');
    });

    await step('resources: versions, the latest, a diff of the two, secrets redacted', async () => {
      await page.goto(`${BASE}/p/${SLUG}/resources`);
      await page.getByTestId('resources-table').waitFor({ timeout: WAIT });
      await page.getByTestId('resources-row').first().waitFor({ timeout: WAIT });
      const r = await page.getByTestId('resources-row').allTextContents();
      assert.equal(r.length, 1);
      assert.ok(r[0].includes(rs) && r[0].includes('latest') && r[0].includes('v2 of 2'), r[0]);
      // The versions come from a request of their own, after the table's: wait for both.
      await page.getByTestId('resources-version').nth(1).waitFor({ timeout: WAIT });
      const versions = await page.getByTestId('resources-version').allTextContents();
      assert.equal(versions.length, 2);
      assert.ok(versions[0].startsWith('v2 newest') && versions[0].includes('Diff with v1'), versions[0]);
      assert.ok(versions[1].startsWith('v1'), versions[1]);
      const diff = page.getByTestId('resources-diff');
      await diff.waitFor({ timeout: WAIT });
      const lines = (op) =>
        diff.locator(`[data-op=${op}]`).evaluateAll((els) => els.map((e) => e.textContent.slice(2).trim()));
      assert.deepEqual(await lines('removed'), ['"model": "qwen2.5-7b",', '"temperature": 0.7']);
      assert.deepEqual(await lines('added'), ['"model": "qwen2.5-7b-step-2",', '"temperature": 0.5']);
      assert.ok((await lines('same')).includes('"api_key": "[redacted]",'));
      assert.ok(!(await page.content()).includes('sk-e2e-secret'), 'the api_key is redacted');
      assert.match(await page.getByTestId('diff-summary').textContent(), /^4 changed lines between v1 and v2/);
      await shot('resources-01-diff');
      // The diff is the URL's: v2 against itself shows no difference, then back to v1 → v2.
      await page.goto(`${BASE}/p/${SLUG}/resources?id=${rs}&from=2&to=2`);
      await page.getByTestId('diff-summary').getByText('No difference').waitFor({ timeout: WAIT });
      await page.getByRole('button', { name: 'Diff with v1' }).click();
      await page.waitForURL(/from=1&to=2/, { timeout: WAIT });
      await page.getByTestId('diff-summary').getByText(/^4 changed lines/).waitFor({ timeout: WAIT });
    });

    await step('resources: the rollouts that used it, each with its version', async () => {
      const used = page.getByTestId('resources-rollouts');
      await used.waitFor({ timeout: WAIT });
      await used.locator('tbody tr').nth(3).waitFor({ timeout: WAIT });
      const rows = await used.locator('tbody tr').allTextContents();
      assert.equal(rows.length, 4);
      assert.ok(rows.every((t) => t.includes('v2')), rows.join(' | '));
      await page.getByRole('link', { name: 'All its rollouts in the Rollouts view' }).click();
      await page.waitForURL(new RegExp(`/rollouts\\?resources_id=${rs}`), { timeout: WAIT });
      await page.locator('[data-testid=rollout-row]').nth(3).waitFor({ timeout: WAIT });
      await shot('resources-02-rollouts');
    });

    await step('rollouts: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
