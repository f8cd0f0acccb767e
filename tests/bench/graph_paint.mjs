// The run graph's first paint for a BENCH_GRAPH_RUNS-run tree (5,000) in real Chromium
// (playwright-core driving /usr/bin/chromium, headless). Makes project "bench" and the tree
// through POST /runs (8 at a time): a root, ten stages chained by depends_on, the other
// runs spread under the stages, the children of even stages in a group (a Celery group),
// those of odd ones a plain fan-out. Then, in rounds, a fresh tab loads the root's Graph
// tab: the time from navigation to the drawn nodes in the DOM (a MutationObserver
// installed before the page's scripts; the canvas says data-ready once laid out), to the
// frame after (requestAnimationFrame, then a task), and the graph request's time (Resource
// Timing). Measured, never asserted. Run by tests/bench/graph_paint.sh.
import { launchChromium } from '../lib/chromium.mjs';
import { BASE, ROUNDS, call, log, median, setUpBench, signIn } from './paint.mjs';

const RUNS = Number(process.env.BENCH_GRAPH_RUNS ?? 5000);

const token = await setUpBench('bench-graph');
const mk = (body) => call('POST', '/api/v1/runs', { token, body: { kind: 'bench.task', ...body } });

const STAGES = 10;
const root = await mk({ name: 'bench.root', status: 'running' });
const stages = [];
for (let s = 0; s < STAGES; s++)
  stages.push(await mk({ name: `stage.${s}`, parent_id: root.id, status: 'running', ...(s ? { depends_on: [stages[s - 1].id] } : {}) }));
const leaves = RUNS - 1 - STAGES;
let next = 0;
const statuses = ['running', 'queued'];
async function worker() {
  while (next < leaves) {
    const i = next++;
    const s = i % STAGES;
    await mk({ name: `task.${i}`, parent_id: stages[s].id, status: statuses[i % 2], ...(s % 2 === 0 ? { group_id: `group-${s}` } : {}) });
  }
}
const t0 = Date.now();
await Promise.all(Array.from({ length: 8 }, worker));
log(`tree of ${RUNS} runs made in ${((Date.now() - t0) / 1000).toFixed(1)} s (root ${root.id})`);

const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(() => {
    window.__paint = new Promise((resolve) => {
      const mo = new MutationObserver(() => {
        const c = document.querySelector('[data-testid=graph-canvas][data-ready=true]');
        if (!c || !c.querySelector('.react-flow__node')) return;
        mo.disconnect();
        const dom = performance.now();
        requestAnimationFrame(() =>
          setTimeout(() => resolve({ dom, painted: performance.now(), nodes: c.querySelectorAll('.react-flow__node').length }), 0),
        );
      });
      mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-ready'] });
    });
  });
  await signIn(context);

  const url = `${BASE}/p/bench/runs/${root.id}?tab=graph`;
  const api = `/api/v1/runs/${root.id}/graph`;
  const xs = [];
  // Round 0 warms the browser's cache of the static files; it is not counted.
  for (let r = 0; r <= ROUNDS; r++) {
    const page = await context.newPage();
    await page.goto(url);
    const m = await page.evaluate(async (apiPath) => {
      const p = await window.__paint;
      const reqs = performance.getEntriesByType('resource').filter((e) => e.name.includes(apiPath));
      const start = reqs.length ? Math.min(...reqs.map((e) => e.startTime)) : NaN;
      const end = reqs.length ? Math.max(...reqs.map((e) => e.responseEnd)) : NaN;
      return { ...p, start, fetchMs: end - start, after: p.dom - end, bytes: reqs.reduce((a, e) => a + (e.encodedBodySize || 0), 0), raw: reqs.reduce((a, e) => a + (e.decodedBodySize || 0), 0) };
    }, api);
    const summary = await page.getByTestId('graph-summary').textContent();
    await page.close();
    if (r === 0) continue;
    xs.push(m);
    log(`round ${r}: graph request from ${m.start.toFixed(0)} ms taking ${m.fetchMs.toFixed(0)} ms (${(m.bytes / 1e6).toFixed(2)} MB, ${(m.raw / 1e6).toFixed(2)} MB decoded); nodes in the DOM at ${m.dom.toFixed(0)} ms (${m.after.toFixed(0)} ms after the response: view, ELK layout, React Flow), painted at ${m.painted.toFixed(0)} ms; ${m.nodes} nodes drawn (${summary})`);
  }
  console.log(`graph of ${RUNS} runs; rounds ${ROUNDS} (after one warm-up); times from navigation start`);
  console.log(
    `root's Graph tab: first paint median ${median(xs.map((x) => x.painted)).toFixed(0)} ms (min ${Math.min(...xs.map((x) => x.painted)).toFixed(0)}, max ${Math.max(...xs.map((x) => x.painted)).toFixed(0)}); of which before the graph request ${median(xs.map((x) => x.start)).toFixed(0)} ms, the request ${median(xs.map((x) => x.fetchMs)).toFixed(0)} ms (${(xs[0].bytes / 1e6).toFixed(2)} MB gzip, ${(xs[0].raw / 1e6).toFixed(2)} MB JSON), response to nodes ${median(xs.map((x) => x.after)).toFixed(0)} ms; ${xs[0].nodes} nodes drawn (medians)`,
  );
} finally {
  await browser.close();
}
