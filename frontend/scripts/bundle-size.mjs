#!/usr/bin/env node
// Initial JavaScript of the built app: the entry script and every module index.html
// preloads, gzipped (level 9, as a proxy for nginx's gzip), against the budget from
// issue 6. Exits 1 over budget, or when the build holds a source map, so `make test`
// catches a regression.
//   node scripts/bundle-size.mjs [dist] [--budget-kb=300] [--json]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const dist = args.find((a) => !a.startsWith('--')) ?? 'dist';
const budgetKb = Number((args.find((a) => a.startsWith('--budget-kb=')) ?? '--budget-kb=300').split('=')[1]);
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = new Set();
for (const m of html.matchAll(/<script[^>]+src="\/?([^"]+\.js)"/g)) initial.add(m[1]);
for (const m of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/?([^"]+\.js)"/g)) initial.add(m[1]);
if (initial.size === 0) {
  console.error('bundle-size: no script found in index.html');
  process.exit(1);
}
const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1);
let total = 0;
const rows = [];
for (const f of [...initial].sort()) {
  const size = gz(f);
  total += size;
  rows.push({ file: f, gzip: size, raw: readFileSync(join(dist, f)).length });
}
let lazy = 0;
for (const f of readdirSync(join(dist, 'assets'))) {
  if (f.endsWith('.js') && !initial.has(`assets/${f}`)) lazy += gz(`assets/${f}`);
}
if (args.includes('--json')) {
  console.log(JSON.stringify({ initial: rows, initial_gzip: total, lazy_gzip: lazy, budget_kb: budgetKb }));
} else {
  for (const r of rows) console.log(`${kb(r.gzip).padStart(8)} kB gz  ${kb(r.raw).padStart(8)} kB raw  ${r.file}`);
  console.log(`initial JS: ${kb(total)} kB gzipped (budget ${budgetKb} kB); lazy chunks: ${kb(lazy)} kB gzipped`);
}
// No source maps are shipped (vite.config.ts: build.sourcemap false); nginx refuses them too.
const maps = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.map'));
if (maps.length) {
  console.error(`bundle-size: source maps in ${dist}/assets (a production build ships none): ${maps.join(' ')}`);
  process.exit(1);
}
if (total > budgetKb * 1024) {
  console.error(`bundle-size: initial JS ${kb(total)} kB gzipped is over the ${budgetKb} kB budget`);
  process.exit(1);
}
