// The compare view's first paint for BENCH_COMPARE_RUNS runs (50) × BENCH_COMPARE_POINTS
// points (10,000) of one key in real Chromium (playwright-core driving /usr/bin/chromium,
// headless). Makes project "bench", the runs and each run's train/loss series, then, in
// rounds, a fresh tab loads /p/bench/compare?runs=…: the time from navigation to the
// overlaid train/loss chart drawn with every run's series (the chart's data-points reaching
// runs × the downsampled length; a MutationObserver installed before the page's scripts),
// then to the frame after; and the metric requests' count and time (Resource Timing).
// Measured, never asserted. Run by tests/bench/compare_paint.sh.
import { launchChromium } from '../lib/chromium.mjs';
import { BASE, ROUNDS, call, log, median, setUpBench, signIn } from './paint.mjs';

const RUNS = Number(process.env.BENCH_COMPARE_RUNS ?? 50);
const POINTS = Number(process.env.BENCH_COMPARE_POINTS ?? 10000);
/** Points a series the compare view draws: the server's pick for GET /runs/compare without
 * points (up to 500 within its bound; 500 for 50 runs of one key), as the per-run reads'
 * METRIC_POINTS before it. */
const SHOWN = Math.min(POINTS, 500);

const token = await setUpBench('bench-metrics');
const ids = [];
for (let r = 0; r < RUNS; r++) {
  const run = await call('POST', '/api/v1/runs', { token, body: { kind: 'train', name: `trial-${r}`, queue: 'gpu', params: { lr: 1e-4 * (1 + r), seed: r } } });
  for (let i = 0; i < POINTS; i += 10000) {
    const n = Math.min(10000, POINTS - i);
    const metrics = Array.from({ length: n }, (_, j) => {
      const s = i + j;
      return { key: 'train/loss', step: s, value: 2 * Math.exp(-s / (2000 + 50 * r)) + 0.1 + 0.05 * Math.sin(s * 0.37 + r) };
    });
    await call('POST', `/api/v1/runs/${run.id}/metrics`, { token, body: { metrics } });
  }
  ids.push(run.id);
}
log(`${RUNS} runs × ${POINTS} points of train/loss stored`);

const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript((want) => {
    window.__paint = new Promise((resolve) => {
      const mo = new MutationObserver(() => {
        const c = document.querySelector('[data-testid="compare-train/loss"]');
        if (!c || Number(c.dataset.points) < want) return;
        mo.disconnect();
        const dom = performance.now();
        requestAnimationFrame(() => setTimeout(() => resolve({ dom, painted: performance.now(), points: Number(c.dataset.points) }), 0));
      });
      mo.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-points'] });
    });
  }, RUNS * SHOWN);
  await signIn(context);

  const url = `${BASE}/p/bench/compare?runs=${ids.join(',')}`;
  const res = [];
  // Round 0 warms the browser's cache of the static files; it is not counted.
  for (let r = 0; r <= ROUNDS; r++) {
    const page = await context.newPage();
    await page.goto(url);
    const m = await page.evaluate(async () => {
      const p = await window.__paint;
      const reqs = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/runs/'));
      // Series come from the per-run reads (/runs/{run}/metrics?key=…) or the one batch read
      // (/runs/compare?…), whichever the built frontend makes.
      const series = reqs.filter((e) => e.name.includes('/metrics?') || e.name.includes('/runs/compare?'));
      const end = reqs.length ? Math.max(...reqs.map((e) => e.responseEnd)) : NaN;
      return {
        ...p,
        requests: reqs.length,
        seriesRequests: series.length,
        lastResponse: end,
        after: p.dom - end,
        bytes: series.reduce((a, e) => a + (e.encodedBodySize || 0), 0),
        raw: series.reduce((a, e) => a + (e.decodedBodySize || 0), 0),
      };
    });
    await page.close();
    if (r === 0) continue;
    res.push(m);
    log(`round ${r}: ${m.requests} run/metric requests (${m.seriesRequests} series), last response at ${m.lastResponse.toFixed(0)} ms; chart with ${m.points} points in the DOM at ${m.dom.toFixed(0)} ms (${m.after.toFixed(0)} ms after the last response), painted at ${m.painted.toFixed(0)} ms`);
  }
  console.log(`compare view, ${RUNS} runs × ${POINTS} points (train/loss, ${SHOWN} a series drawn); rounds ${ROUNDS} after one warm-up; times from navigation start`);
  console.log(
    `first paint median ${median(res.map((x) => x.painted)).toFixed(0)} ms (min ${Math.min(...res.map((x) => x.painted)).toFixed(0)}, max ${Math.max(...res.map((x) => x.painted)).toFixed(0)}); last API response ${median(res.map((x) => x.lastResponse)).toFixed(0)} ms; last response to chart ${median(res.map((x) => x.after)).toFixed(0)} ms; ${res[0].requests} requests (${res[0].seriesRequests} series: ${(res[0].bytes / 1e6).toFixed(2)} MB gzip, ${(res[0].raw / 1e6).toFixed(2)} MB JSON) (medians)`,
  );
} finally {
  await browser.close();
}
