// What the browser benchmarks (tests/bench/*_paint.mjs) share: the environment their .sh
// sets (bench_start_dashboard_stack in lib.sh), a log line, a median, the JSON API as the
// admin (cookie) or a token calls it (Node's fetch), the fixtures (project "bench" and a
// producer token) and the browser's sign-in. Measured, never asserted: these only set up.
import assert from 'node:assert/strict';

export const BASE = process.env.BENCH_URL;
export const EMAIL = process.env.RUNWATCH_ADMIN_EMAIL;
export const PASSWORD = process.env.RUNWATCH_ADMIN_PASSWORD;
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
assert.ok(BASE && EMAIL && PASSWORD, 'run through the benchmark .sh of the same name');

export const log = (s) => process.stderr.write(`bench: ${s}\n`);
export const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};

let cookie = '';
/** METHOD PATH (from the origin: /api/v1/…) with a JSON body, as the token's holder or else as
 * the admin once signed in (the cookie of the last answer that set one); a status other than
 * 2xx throws. */
export async function call(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json', 'X-Runwatch-CSRF': '1' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (cookie) headers.Cookie = cookie;
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  const sc = res.headers.get('set-cookie');
  if (sc) cookie = sc.split(';')[0];
  return text ? JSON.parse(text) : null;
}

/** The admin signed in over the API, project "bench" made and a producer token TOKEN_NAME
 * (read and write); returns the token's secret. */
export async function setUpBench(tokenName) {
  await call('POST', '/api/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });
  await call('POST', '/api/v1/projects', { body: { slug: 'bench', name: 'Benchmark' } });
  const { token } = await call('POST', '/api/v1/projects/bench/tokens', { body: { name: tokenName, scopes: ['read', 'write'] } });
  return token;
}

/** The admin signed in through the login page of a tab of CONTEXT (the session cookie then
 * serves every tab the rounds open); the tab is closed once the app shows project bench. */
export async function signIn(context) {
  const login = await context.newPage();
  await login.goto(BASE + '/login');
  await login.getByLabel('Email').fill(EMAIL);
  await login.getByLabel('Password').fill(PASSWORD);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await login.waitForURL(/\/p\/bench/);
  await login.close();
}
