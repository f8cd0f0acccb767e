// Debian's Chromium through playwright-core, as every browser test and bench launches it:
// the package from the dashboard's node_modules (no browser download), /usr/bin/chromium
// unless RUNWATCH_CHROMIUM names another, headless.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../frontend/package.json'));
export const { chromium } = require('playwright-core');

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.RUNWATCH_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Chromium refuses its sandbox as root (CI containers); the pages are our own.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}
