// The one way the app talks to /api/v1: same-origin fetch with the session cookie, the
// CSRF header on every write (auth.c refuses cookie-authenticated writes without it), and
// every failure turned into an ApiError whose message can be shown to a person as is.
// Every answer's Date header teaches lib/clock the server's time (clock-skew correction).
import { noteServerDate } from '../lib/clock';

export const CSRF_HEADER = 'X-Runwatch-CSRF';

/** An error from the API (its `{"error":{code,message,field}}` body) or from the network. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Words for a person: the API's message, naming the field when it names one. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.field && !err.message.includes(err.field)) return `${err.message} (${err.field})`;
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

let onUnauthenticated: (() => void) | null = null;

/** Called once by the app: what to do when a request finds the session gone. */
export function setUnauthenticatedHandler(fn: (() => void) | null): void {
  onUnauthenticated = fn;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON: a proxy's page, an empty body */
  }
  const e = (body as { error?: { code?: string; message?: string; field?: string } } | null)
    ?.error;
  if (e && typeof e.message === 'string')
    return new ApiError(res.status, e.code ?? 'error', e.message, e.field);
  const words =
    res.status === 502 || res.status === 503 || res.status === 504
      ? 'the server is unavailable, retry shortly'
      : `the server answered ${res.status} ${res.statusText}`.trim();
  return new ApiError(res.status, 'http_' + res.status, words);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

async function send(path: string, opts: RequestOptions, accept: string): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: accept };
  if (method !== 'GET') headers[CSRF_HEADER] = '1';
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  const sentMs = Date.now();
  try {
    res = await fetch(withQuery(`/api/v1${path}`, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'cannot reach the server (network error)');
  }
  noteServerDate(res.headers?.get?.('Date'), sentMs, Date.now());
  if (!res.ok) {
    const err = await toApiError(res);
    // The login call itself answers 401 for a wrong password: that is not a lost session.
    if (res.status === 401 && path !== '/auth/login' && onUnauthenticated) onUnauthenticated();
    throw err;
  }
  return res;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts, 'application/json');
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A JSON answer and its headers (the built-in reports say in them where they were read). */
export async function apiWithHeaders<T>(
  path: string,
  opts: RequestOptions = {},
): Promise<{ data: T; headers: Headers }> {
  const res = await send(path, opts, 'application/json');
  const text = await res.text();
  return { data: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** A non-JSON answer (CSV): its body as a Blob and its headers; errors as api() throws them. */
export async function apiBlob(
  path: string,
  accept: string,
  opts: RequestOptions = {},
): Promise<{ blob: Blob; headers: Headers }> {
  const res = await send(path, opts, accept);
  return { blob: await res.blob(), headers: res.headers };
}
