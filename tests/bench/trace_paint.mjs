// The trace view's first paint for a BENCH_TRACE_SPANS-span trace (5,000) in real Chromium
// (playwright-core driving /usr/bin/chromium, headless). Makes project "bench", a run and
// the trace (a root, 50 steps, the rest leaves under them, every 10th leaf an LLM call with
// GenAI attributes, every 97th in error), sent through POST /v1/traces in batches of 500
// and tied to the run by the resource's runwatch.run_id. Then, in alternating rounds, a
// fresh tab loads the trace page (GET /traces/{id}, one answer) and the run's Traces tab
// (GET /runs/{run}/spans, pages of 1000): the time from navigation to the waterfall's first
// rows in the DOM (a MutationObserver installed before the page's scripts), to the frame
// after (requestAnimationFrame, then a task: the rows painted), and the span requests'
// time (Resource Timing); then the frame times while the trace page's waterfall scrolls
// (BENCH_FRAMES frames). Measured, never asserted. Run by tests/bench/trace_paint.sh.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launchChromium } from '../lib/chromium.mjs';
import { BASE, ROUNDS, call, log, median, setUpBench, signIn } from './paint.mjs';

const SPANS = Number(process.env.BENCH_TRACE_SPANS ?? 5000);

const token = await setUpBench('bench-otel');
const run = await call('POST', '/api/v1/runs', { token, body: { kind: 'rollout', name: 'bench-trace', queue: 'agents' } });

// The trace: a root, 50 steps under it, the other spans as leaves spread over the steps.
const trace = randomBytes(16).toString('hex');
const id = (i) => (i + 1).toString(16).padStart(16, '0');
const t0 = BigInt(Date.now() - 3_600_000) * 1_000_000n;
const ns = (us) => String(t0 + BigInt(us) * 1000n);
const STEPS = 50;
const spans = [{ traceId: trace, spanId: id(0), name: 'agent.rollout', kind: 1, startTimeUnixNano: ns(0), endTimeUnixNano: ns(SPANS * 200 + 1000), status: { code: 1 } }];
for (let s = 1; s <= STEPS; s++)
  spans.push({ traceId: trace, spanId: id(s), parentSpanId: id(0), name: `step-${s}`, kind: 1, startTimeUnixNano: ns((s - 1) * (SPANS * 200) / STEPS), endTimeUnixNano: ns(s * (SPANS * 200) / STEPS) });
for (let i = STEPS + 1; i < SPANS; i++) {
  const step = 1 + ((i - STEPS - 1) % STEPS);
  const start = (step - 1) * (SPANS * 200) / STEPS + ((i * 37) % 1000) * 10;
  const llm = i % 10 === 0;
  spans.push({
    traceId: trace,
    spanId: id(i),
    parentSpanId: id(step),
    name: llm ? 'llm.chat' : `tool-${i % 7}`,
    kind: llm ? 3 : 1,
    startTimeUnixNano: ns(start),
    endTimeUnixNano: ns(start + 50 + (i % 400)),
    ...(i % 97 === 0 ? { status: { code: 2, message: 'failed' } } : {}),
    attributes: llm
      ? [
          { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
          { key: 'gen_ai.usage.input_tokens', value: { intValue: String(100 + i) } },
          { key: 'gen_ai.usage.output_tokens', value: { intValue: String(i % 300) } },
        ]
      : [{ key: 'tool.arg', value: { stringValue: `argument ${i}` } }, { key: 'tool.n', value: { intValue: String(i) } }],
  });
}
const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'bench-agent' } }, { key: 'runwatch.run_id', value: { stringValue: run.id } }] };
for (let i = 0; i < spans.length; i += 500) {
  const res = await fetch(BASE + '/v1/traces', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'bench' }, spans: spans.slice(i, i + 500) }] }] }),
  });
  assert.equal(res.status, 200, `POST /v1/traces: ${res.status} ${await res.text()}`);
}
log(`trace ${trace}: ${spans.length} spans stored, tied to run ${run.id}`);

const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Before any of the page's scripts: note when the first span row of a full waterfall
  // enters the DOM, then when the next frame has run (the rows painted).
  await context.addInitScript((want) => {
    window.__paint = new Promise((resolve) => {
      const mo = new MutationObserver(() => {
        const w = document.querySelector(`[data-testid=waterfall][data-spans="${want}"]`);
        if (!w || !w.querySelector('[data-testid=span-row]')) return;
        mo.disconnect();
        const dom = performance.now();
        requestAnimationFrame(() => setTimeout(() => resolve({ dom, painted: performance.now(), rows: w.querySelectorAll('[data-testid=span-row]').length }), 0));
      });
      mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-spans'] });
    });
  }, SPANS);
  await signIn(context);

  const views = {
    trace: { url: `${BASE}/p/bench/traces/${trace}`, api: `/api/v1/traces/${trace}` },
    run: { url: `${BASE}/p/bench/runs/${run.id}?tab=traces`, api: `/api/v1/runs/${run.id}/spans` },
  };
  const res = { trace: [], run: [] };
  // Round 0 warms the browser's cache of the static files; it is not counted.
  for (let r = 0; r <= ROUNDS; r++) {
    for (const name of r % 2 ? ['trace', 'run'] : ['run', 'trace']) {
      const page = await context.newPage();
      await page.goto(views[name].url);
      const m = await page.evaluate(async (api) => {
        const p = await window.__paint;
        const reqs = performance.getEntriesByType('resource').filter((e) => e.name.includes(api));
        const start = reqs.length ? Math.min(...reqs.map((e) => e.startTime)) : NaN;
        const end = reqs.length ? Math.max(...reqs.map((e) => e.responseEnd)) : NaN;
        return { ...p, start, fetchMs: end - start, after: p.dom - end, requests: reqs.length, bytes: reqs.reduce((a, e) => a + (e.encodedBodySize || 0), 0), raw: reqs.reduce((a, e) => a + (e.decodedBodySize || 0), 0) };
      }, views[name].api);
      await page.close();
      if (r === 0) continue;
      res[name].push(m);
      log(`round ${r} ${name}: span requests from ${m.start.toFixed(0)} ms, ${m.requests} taking ${m.fetchMs.toFixed(0)} ms (${(m.bytes / 1e6).toFixed(2)} MB, ${(m.raw / 1e6).toFixed(2)} MB decoded); rows in the DOM at ${m.dom.toFixed(0)} ms (${m.after.toFixed(0)} ms after the last response), painted at ${m.painted.toFixed(0)} ms; ${m.rows} rows in the DOM`);
    }
  }
  // Scrolling the trace page's waterfall (all spans loaded): 200 px a frame, bouncing at
  // the ends, for BENCH_FRAMES frames; the time between frames.
  const FRAMES = Number(process.env.BENCH_FRAMES ?? 600);
  const sp = await context.newPage();
  await sp.goto(views.trace.url);
  await sp.evaluate(() => window.__paint);
  const frames = await sp.getByTestId('waterfall-scroll').evaluate(
    (el, n) =>
      new Promise((resolve) => {
        const times = [];
        let dir = 1;
        let last = 0;
        let most = 0;
        function tick(now) {
          times.push(now - last);
          last = now;
          if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) dir = -1;
          else if (el.scrollTop <= 0) dir = 1;
          el.scrollTop += dir * 200;
          most = Math.max(most, el.querySelectorAll('[data-testid=span-row]').length);
          if (times.length < n) requestAnimationFrame(tick);
          else resolve({ times: times.slice(1), most });
        }
        requestAnimationFrame((now) => {
          last = now;
          requestAnimationFrame(tick);
        });
      }),
    FRAMES,
  );
  await sp.close();
  const ft = [...frames.times].sort((a, b) => a - b);
  const scroll = `median frame ${median(ft).toFixed(2)} ms, p95 ${ft[Math.floor(0.95 * (ft.length - 1))].toFixed(2)} ms, max ${ft[ft.length - 1].toFixed(1)} ms, frames > 50 ms ${ft.filter((t) => t > 50).length} of ${ft.length}, at most ${frames.most} rows in the DOM`;
  console.log(`trace of ${SPANS} spans; rounds ${ROUNDS} (after one warm-up), alternating; times from navigation start`);
  console.log(`scrolling the trace page's waterfall at 200 px a frame: ${scroll}`);
  for (const [name, label] of [['trace', 'trace page (GET /traces/{id})'], ['run', "run's Traces tab (GET /runs/{run}/spans, pages of 1000)"]]) {
    const xs = res[name];
    console.log(
      `${label}: first paint median ${median(xs.map((x) => x.painted)).toFixed(0)} ms (min ${Math.min(...xs.map((x) => x.painted)).toFixed(0)}, max ${Math.max(...xs.map((x) => x.painted)).toFixed(0)}); of which before the first span request ${median(xs.map((x) => x.start)).toFixed(0)} ms, span requests ${median(xs.map((x) => x.fetchMs)).toFixed(0)} ms (${(xs[0].bytes / 1e6).toFixed(2)} MB gzip, ${(xs[0].raw / 1e6).toFixed(2)} MB JSON), last response to rows ${median(xs.map((x) => x.after)).toFixed(0)} ms; ${xs[0].rows} rows in the DOM (medians)`,
    );
  }
} finally {
  await browser.close();
}
