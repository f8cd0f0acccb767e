// The dashboard's trace view end to end, in a real browser against a real stack
// (tests/e2e/run.sh starts both, after dashboard.e2e.mjs): a trace goes in through the
// real OTLP endpoint (POST /v1/traces, OTLP JSON, a project token) tied to a run; the
// run's Traces tab shows the waterfall (rows nested by parent, collapse and expand), a
// span's drawer shows its attributes typed, a second batch appears live without a reload
// (with RUNWATCH_E2E_STREAM=1), the LLM call's row shows its model and tokens, and the
// project's Traces page lists the trace, opens it, and finds a span by attribute. A
// screenshot of each view goes to RUNWATCH_E2E_OUT (traces-*.png).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { BASE, LIVE, Steps, WAIT, api, launchChromium, screenshot, setUpProject, signIn } from './lib.mjs';

const SLUG = 'e2e-traces';

const steps = new Steps('e2e traces', 'FAILED-traces-');
const step = (name, fn) => steps.step(name, fn);
const skip = (name, why) => steps.skip(name, why);
const call = api.call;

/** POST /v1/traces (the OTLP/HTTP path an exporter uses), OTLP JSON. */
async function otlp(token, spans, resourceAttrs) {
  const res = await fetch(BASE + '/v1/traces', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: resourceAttrs },
          scopeSpans: [{ scope: { name: 'e2e-agent', version: '0.3.1' }, spans }],
        },
      ],
    }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /v1/traces: ${res.status} ${text}`);
  assert.deepEqual(JSON.parse(text), { partialSuccess: {} });
}

let page;
// After the page's transitions (a drawer sliding in) have finished, so the picture shows
// what a person sees once it is still.
const shot = (name) => screenshot(page, name);

// ---- the trace: an agent's rollout with a planning step, an LLM call that used a tool
// (which failed), all tied to the run through the resource's runwatch.run_id.
const hex = (bytes) => randomBytes(bytes).toString('hex');
const TRACE = hex(16);
const ID = { root: hex(8), plan: hex(8), llm: hex(8), tool: hex(8), answer: hex(8), late: hex(8) };
const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const at = (ms) => String(T0 + BigInt(Math.round(ms * 1e6)));
const v = {
  s: (x) => ({ stringValue: x }),
  i: (x) => ({ intValue: String(x) }),
  d: (x) => ({ doubleValue: x }),
  b: (x) => ({ boolValue: x }),
};
function otlpSpan(id, parent, name, startMs, endMs, extra = {}) {
  return {
    traceId: TRACE,
    spanId: id,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind: 1,
    startTimeUnixNano: at(startMs),
    endTimeUnixNano: at(endMs),
    ...extra,
  };
}
const firstBatch = [
  otlpSpan(ID.root, null, 'agent.rollout', 0, 2400, { status: { code: 1 } }),
  otlpSpan(ID.plan, ID.root, 'plan', 20, 180, {
    attributes: [
      { key: 'plan.goal', value: v.s('find the answer') },
      { key: 'plan.steps', value: v.i(3) },
      { key: 'plan.temperature', value: v.d(0.25) },
      { key: 'plan.cached', value: v.b(false) },
      { key: 'plan.tools', value: { arrayValue: { values: [v.s('search'), v.s('calc')] } } },
      { key: 'plan.budget', value: { kvlistValue: { values: [{ key: 'tokens', value: v.i(4096) }] } } },
      { key: 'plan.big', value: v.i('9223372036854775807') },
    ],
    events: [{ timeUnixNano: at(90), name: 'plan.ready', attributes: [{ key: 'plan.size', value: v.i(3) }] }],
  }),
  otlpSpan(ID.llm, ID.root, 'llm.chat', 200, 1900, {
    kind: 3,
    attributes: [
      { key: 'gen_ai.system', value: v.s('openai') },
      { key: 'gen_ai.request.model', value: v.s('gpt-4o-mini') },
      { key: 'gen_ai.usage.input_tokens', value: v.i(812) },
      { key: 'gen_ai.usage.output_tokens', value: v.i(64) },
    ],
    links: [{ traceId: TRACE, spanId: ID.plan, attributes: [{ key: 'link.why', value: v.s('plan') }] }],
  }),
  otlpSpan(ID.tool, ID.llm, 'tool.search', 400, 1100, { status: { code: 2, message: 'search backend timed out' } }),
  otlpSpan(ID.answer, ID.root, 'answer', 1950, 2350),
];
const lateBatch = [otlpSpan(ID.late, ID.root, 'reflect', 2360, 2390)];

async function main() {
  const { token } = await setUpProject(SLUG, 'E2E traces', 'e2e-otel');
  const run = await call('POST', '/runs', { token, body: { kind: 'rollout', name: 'e2e-agent-rollout', queue: 'agents' } });
  const resource = [
    { key: 'service.name', value: v.s('e2e-agent') },
    { key: 'runwatch.run_id', value: v.s(run.id) },
  ];
  await otlp(token, firstBatch, resource);

  const browser = await launchChromium();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    steps.page = page;
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const row = (id) => page.locator(`[data-testid=span-row][data-span-id="${id}"]`);

    await step('traces: log in and open the run', async () => {
      await signIn(page);
      await page.goto(`${BASE}/p/${SLUG}/runs/${run.id}`);
      await page.locator('[data-testid=run-detail]').waitFor({ timeout: WAIT });
      if (LIVE) await page.locator('[data-testid=live-status][data-status=live]').waitFor({ timeout: WAIT });
    });

    await step("traces: the run's Traces tab shows the waterfall, nested by parent", async () => {
      await page.getByRole('tab', { name: 'Traces' }).click();
      await page.waitForURL(/tab=traces/);
      await page.locator('[data-testid=waterfall][data-spans="5"]').waitFor({ timeout: WAIT });
      const rows = await page.locator('[data-testid=span-row]').evaluateAll((els) =>
        els.map((e) => [e.querySelector('[title]')?.getAttribute('title'), e.dataset.depth, e.dataset.status]),
      );
      // Depth first, siblings by start: the root, plan, llm.chat and its tool, answer.
      assert.deepEqual(rows, [
        ['agent.rollout', '0', 'ok'],
        ['plan', '1', 'unset'],
        ['llm.chat', '1', 'unset'],
        ['tool.search', '2', 'error'],
        ['answer', '1', 'unset'],
      ]);
      assert.equal(await row(ID.root).getByTestId('span-duration').textContent(), '2.4s');
      assert.equal(await row(ID.tool).getByTestId('span-duration').textContent(), '700ms');
      await shot('traces-01-run-waterfall');
    });

    await step('traces: a subtree collapses and expands', async () => {
      await page.getByRole('button', { name: 'collapse llm.chat' }).click();
      await row(ID.tool).waitFor({ state: 'detached', timeout: WAIT });
      assert.equal(await page.locator('[data-testid=span-row]').count(), 4);
      await shot('traces-02-collapsed');
      await page.getByRole('button', { name: 'expand llm.chat' }).click();
      await row(ID.tool).waitFor({ timeout: WAIT });
      assert.equal(await page.locator('[data-testid=span-row]').count(), 5);
    });

    await step("traces: the LLM call's row shows its model and tokens", async () => {
      assert.equal(await row(ID.llm).getByTestId('span-genai').textContent(), 'gpt-4o-mini · 812→64 tok');
    });

    await step("traces: a span's drawer shows ids, status, typed attributes, events and links", async () => {
      await row(ID.plan).click();
      await page.waitForURL(new RegExp(`span=${ID.plan}`));
      const drawer = page.getByTestId('span-drawer');
      await drawer.waitFor({ timeout: WAIT });
      assert.equal(await drawer.getByTestId('span-span-id').textContent(), ID.plan);
      assert.equal(await drawer.getByTestId('span-trace-id').textContent(), TRACE);
      const attrs = await drawer
        .getByTestId('span-attributes')
        .locator('tr')
        .evaluateAll((trs) => trs.map((tr) => [tr.dataset.attr, tr.dataset.kind, tr.querySelector('[data-testid=attr-value]').textContent]));
      assert.deepEqual(attrs, [
        ['plan.big', 'int', '9223372036854775807'],
        ['plan.budget', 'kvlist', '{"tokens":4096}'],
        ['plan.cached', 'bool', 'false'],
        ['plan.goal', 'string', 'find the answer'],
        ['plan.steps', 'int', '3'],
        ['plan.temperature', 'double', '0.25'],
        ['plan.tools', 'array', '["search","calc"]'],
      ]);
      // Each value has its copy button.
      assert.equal(await drawer.getByTestId('span-attributes').getByRole('button', { name: /^copy / }).count(), 7);
      await drawer.getByTestId('span-events').getByText('plan.ready').waitFor();
      await drawer.getByTestId('span-events').getByText('+70ms').waitFor();
      await drawer.getByTestId('resource-attributes').getByText('e2e-agent').waitFor();
      await drawer.getByText('e2e-agent 0.3.1').waitFor();
      await shot('traces-03-span-drawer');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached', timeout: WAIT });
    });

    await step("traces: an error span's drawer shows its status message, a link its target", async () => {
      await row(ID.tool).click();
      const drawer = page.getByTestId('span-drawer');
      await drawer.getByTestId('span-status').filter({ hasText: 'error' }).waitFor({ timeout: WAIT });
      await drawer.getByText('search backend timed out').waitFor();
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached', timeout: WAIT });
      await row(ID.llm).click();
      await drawer.getByTestId('span-links').getByText(`${TRACE} / ${ID.plan}`).waitFor({ timeout: WAIT });
      await drawer.getByText('812 in · 64 out', { exact: false }).waitFor();
      await shot('traces-04-llm-drawer');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached', timeout: WAIT });
    });

    await otlp(token, lateBatch, resource);
    if (LIVE) {
      await step('traces: a span of a later batch appears without a reload', async () => {
        await row(ID.late).waitFor({ timeout: WAIT });
        await page.locator('[data-testid=waterfall][data-spans="6"]').waitFor();
        assert.equal(await row(ID.late).getAttribute('data-depth'), '1');
        await shot('traces-05-live-span');
      });
    } else {
      skip('traces: a span of a later batch appears without a reload', 'no live stream in this tree');
      await page.reload();
      await row(ID.late).waitFor({ timeout: WAIT });
    }

    await step("traces: the project's Traces page lists the trace with its counts", async () => {
      await page.getByRole('link', { name: 'Traces', exact: true }).click();
      await page.waitForURL(`${BASE}/p/${SLUG}/traces`);
      const tr = page.locator(`[data-testid=traces-table] tr[data-trace-id="${TRACE}"]`);
      await tr.waitFor({ timeout: WAIT });
      const cells = await tr.locator('td').allTextContents();
      assert.equal(cells[0], 'agent.rollout');
      assert.equal(cells[1], '6'); // spans
      assert.equal(cells[2], '1'); // errors
      assert.equal(cells[3], '2.4s');
      assert.equal(cells[6], run.id.slice(0, 8));
      await shot('traces-06-traces-page');
    });

    await step('traces: the trace opens on its own page, the same waterfall', async () => {
      await page.locator(`[data-testid=traces-table] tr[data-trace-id="${TRACE}"]`).getByRole('link', { name: 'agent.rollout' }).click();
      await page.waitForURL(`${BASE}/p/${SLUG}/traces/${TRACE}`);
      await page.locator('[data-testid=trace-page] [data-testid=waterfall][data-spans="6"]').waitFor({ timeout: WAIT });
      assert.equal(await row(ID.tool).getAttribute('data-status'), 'error');
      await page.getByRole('heading', { name: 'agent.rollout' }).waitFor();
      await shot('traces-07-trace-page');
    });

    await step('traces: the span search finds the LLM call by attribute and opens it', async () => {
      await page.goto(`${BASE}/p/${SLUG}/traces?view=spans`);
      await page.getByLabel('Attribute').fill('gen_ai.request.model=gpt-4o-mini');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/attr=gen_ai.request.model/);
      // The unfiltered list (every span) was on screen before: wait until it is replaced.
      await page.locator(`[data-testid=spans-table] tr[data-span-id="${ID.plan}"]`).waitFor({ state: 'detached', timeout: WAIT });
      const hit = page.locator(`[data-testid=spans-table] tr[data-span-id="${ID.llm}"]`);
      await hit.waitFor({ timeout: WAIT });
      assert.equal(await page.locator('[data-testid=spans-table] tbody tr').count(), 1);
      await hit.getByText('gpt-4o-mini 812→64').waitFor();
      await shot('traces-08-span-search');
      await hit.getByRole('link', { name: 'llm.chat' }).click();
      await page.getByTestId('span-drawer').waitFor({ timeout: WAIT });
      assert.equal(await page.getByTestId('span-drawer-title').textContent(), 'llm.chat');
    });

    await step('traces: no uncaught errors in the page', async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await browser.close();
  }
}

await steps.run(main);
