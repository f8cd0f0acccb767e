// The runs page scrolling 10,000 loaded rows in real Chromium (playwright-core driving
// /usr/bin/chromium, headless), against the same page holding 100 rows, in interleaved
// rounds. Each measurement scrolls the table's box by a fixed step on every animation
// frame (bouncing at the ends) for BENCH_FRAMES frames and records the time between
// frames (requestAnimationFrame); it prints the median, p95 and max frame time and the
// frames over 50 ms. Run by tests/bench/runs_scroll.sh, which starts the stack and seeds
// the runs.
import { launchChromium } from '../lib/chromium.mjs';
import { BASE, log, signIn } from './paint.mjs';

const ROWS = Number(process.env.BENCH_SCROLL_ROWS ?? 10000);
const FRAMES = Number(process.env.BENCH_FRAMES ?? 600);
const STEP = Number(process.env.BENCH_STEP_PX ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const q = (xs, p) => {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor(p * (a.length - 1) + 0.5))];
};
const median = (xs) => q(xs, 0.5);

const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await signIn(context);

  // The page with every row loaded: scroll to the end until the last page has come.
  const big = await context.newPage();
  await big.goto(BASE + '/p/bench/runs');
  // The count line reads "N runs · M loaded, more below" (the total once counted).
  const loaded = big.getByTestId('runs-count');
  await loaded.getByText(/\d+ loaded/).waitFor();
  const t0 = Date.now();
  for (;;) {
    const text = (await loaded.textContent()) ?? '';
    const n = Number(/(\d+) loaded/.exec(text)?.[1] ?? 0);
    if (n >= ROWS && !text.includes('more below')) break;
    await big.getByTestId('runs-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await big.waitForFunction(
      (prev) => {
        const el = document.querySelector('[data-testid=runs-count]');
        return el && el.textContent !== prev;
      },
      text,
      { timeout: 30_000 },
    );
  }
  log(`${ROWS} rows loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s (pages of 100 fetched as the end came into view)`);

  // The same page holding 100 rows (tag t0 has exactly 100 runs): the baseline.
  const small = await context.newPage();
  await small.goto(BASE + '/p/bench/runs?tag=t0');
  await small.getByTestId('runs-count').getByText(/\b100 loaded/).waitFor();

  async function measure(page) {
    return page.getByTestId('runs-scroll').evaluate(
      (el, { frames, step }) =>
        new Promise((resolve) => {
          const times = [];
          let dir = 1;
          let last = performance.now();
          const dom = [];
          function tick(now) {
            times.push(now - last);
            last = now;
            if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) dir = -1;
            else if (el.scrollTop <= 0) dir = 1;
            el.scrollTop += dir * step;
            if (times.length % 50 === 0) dom.push(el.querySelectorAll('tbody').length);
            if (times.length < frames) requestAnimationFrame(tick);
            else resolve({ times: times.slice(1), tbodies: Math.max(...dom) });
          }
          requestAnimationFrame((now) => {
            last = now;
            requestAnimationFrame(tick);
          });
        }),
      { frames: FRAMES, step: STEP },
    );
  }

  const res = { big: [], small: [] };
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [name, page] of [['small', small], ['big', big]]) {
      await page.bringToFront();
      const m = await measure(page);
      const s = { median: median(m.times), p95: q(m.times, 0.95), max: Math.max(...m.times), long: m.times.filter((t) => t > 50).length, tbodies: m.tbodies };
      res[name].push(s);
      log(`round ${r} ${name === 'big' ? ROWS : 100} rows: median ${s.median.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, max ${s.max.toFixed(1)} ms, ${s.long} frames > 50 ms, at most ${s.tbodies} row groups in the DOM`);
    }
  }
  const agg = (k, f) => median(res[k].map((x) => x[f]));
  console.log(`rows ${ROWS}; frames ${FRAMES} per round at ${STEP} px per frame; rounds ${ROUNDS}`);
  for (const k of ['small', 'big'])
    console.log(
      `${k === 'big' ? ROWS : 100} rows: median frame ${agg(k, 'median').toFixed(2)} ms, p95 ${agg(k, 'p95').toFixed(2)} ms, max ${agg(k, 'max').toFixed(1)} ms, frames > 50 ms ${agg(k, 'long')}, DOM row groups ${agg(k, 'tbodies')} (medians of rounds)`,
    );
  console.log(`ratio ${ROWS} / 100 rows: median ${(agg('big', 'median') / agg('small', 'median')).toFixed(3)}, p95 ${(agg('big', 'p95') / agg('small', 'p95')).toFixed(3)}`);
} finally {
  await browser.close();
}
