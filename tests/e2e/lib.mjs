// What the browser specs (tests/e2e/*.e2e.mjs) share: the environment
// tests/e2e/run.sh sets, the API as an admin and a producer call it (Node's fetch, no
// browser), and TAP steps that keep a screenshot of a failure and never let a run that
// failed outside a step end green.
import assert from 'node:assert/strict';
import { join } from 'node:path';

export { launchChromium } from '../lib/chromium.mjs';

export const BASE = process.env.RUNWATCH_E2E_URL;
export const OUT = process.env.RUNWATCH_E2E_OUT;
export const LIVE = process.env.RUNWATCH_E2E_STREAM === '1';
export const EMAIL = process.env.RUNWATCH_ADMIN_EMAIL;
export const PASSWORD = process.env.RUNWATCH_ADMIN_PASSWORD;
assert.ok(BASE && OUT && EMAIL && PASSWORD, 'run through tests/e2e/run.sh');
// How long a step waits for what must appear (a page, a live update): long enough that only
// a bug, never a busy machine, runs past it; a wait that succeeds ends at once.
export const WAIT = 60_000;

/** The JSON API under /api/v1; `api.cookie` is the session cookie of the last response
 * that set one (the admin's login). Without a token a call is a browser-style (cookie)
 * write, so it carries the CSRF header. A status other than 2xx throws. */
export const api = {
  cookie: '',
  async call(method, path, { body, token, cookie } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    if (cookie) headers.Cookie = cookie;
    if (!token) headers['X-Runwatch-CSRF'] = '1';
    const res = await fetch(BASE + '/api/v1' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) api.cookie = setCookie.split(';')[0];
    return text ? JSON.parse(text) : null;
  },
};

/** The admin signed in over the API (`api.cookie`), project SLUG named NAME made, and a
 * producer token TOKEN_NAME with read and write scopes: the fixtures every spec starts from.
 * Returns the project and the token's secret. */
export async function setUpProject(slug, name, tokenName) {
  await api.call('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } });
  const project = await api.call('POST', '/projects', { cookie: api.cookie, body: { slug, name } });
  const { token } = await api.call('POST', `/projects/${slug}/tokens`, {
    cookie: api.cookie,
    body: { name: tokenName, scopes: ['read', 'write'] },
  });
  return { project, token };
}

/** The admin signed in through the login page, as a user would; resolves once the app has
 * taken them to a project. */
export async function signIn(page, email = EMAIL, password = PASSWORD) {
  await page.goto(BASE + '/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/p\//, { timeout: WAIT });
}

/** One spec's TAP steps. A failed step prints its error, saves a full-page screenshot of
 * `page` (set it once the browser is up) as <failPrefix><n>.png and ends the spec: the
 * steps after it depend on it. */
/** A full-page screenshot NAME.png in OUT, taken once the page's animations have ended (so
 * a screenshot never catches a drawer half open). */
export async function screenshot(page, name) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: WAIT });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

export class Steps {
  constructor(label, failPrefix) {
    this.label = label;
    this.failPrefix = failPrefix;
    this.page = null;
    this.n = 0;
    this.passed = 0;
    this.skipped = 0;
    this.failed = 0;
  }

  async step(name, fn) {
    const n = ++this.n;
    try {
      await fn();
      this.passed++;
      console.log(`ok ${n} - ${name}`);
    } catch (err) {
      this.failed++;
      console.log(`not ok ${n} - ${name}\n  ${String(err?.stack ?? err).split('\n').join('\n  ')}`);
      if (this.page)
        await this.page.screenshot({ path: join(OUT, `${this.failPrefix}${n}.png`), fullPage: true }).catch(() => {});
      throw err;
    }
  }

  skip(name, why) {
    this.skipped++;
    console.log(`ok ${++this.n} - ${name} # SKIP ${why}`);
  }

  /** Runs main, then cleanup, prints the plan and the summary, and exits: non-zero when a
   * step failed or anything outside one (fixtures, the browser) threw. */
  async run(main, cleanup) {
    try {
      await main();
    } catch (err) {
      if (!this.failed) {
        this.failed++;
        console.log(`not ok - outside a step: ${String(err?.stack ?? err)}`);
      }
    } finally {
      await cleanup?.();
    }
    console.log(`1..${this.n}`);
    console.log(
      `${this.label}: ${this.passed} passed, ${this.skipped} skipped, ${this.failed} failed; screenshots in ${OUT}`,
    );
    process.exit(this.failed ? 1 : 0);
  }
}
