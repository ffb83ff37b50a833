// One data API call over fetch, with the client's retry policy: a bounded number of
// attempts, each bounded by a timeout, separated by jittered exponential backoff, and
// only when no answer came or the answer was 502/503/504 — never after a 4xx, which
// would answer the same again. Writes carry an idempotency key fixed by the caller for
// the whole call, so an attempt whose answer was lost is not applied twice.
//
// Built on web-standard fetch, AbortSignal and setTimeout only, so the SDK runs in Node,
// Deno, Bun and edge runtimes alike (STYLE.md, Hono).

import { MeridianDataError, retryableStatuses } from './errors.js';

/** The part of `fetch` the client uses; pass your own to add tracing or a custom agent. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** The node's data API origin, e.g. http://127.0.3.1:7070 (a path prefix is kept). */
  readonly url: string;
  readonly token: string;
  /** Per attempt, response body included. */
  readonly timeoutMs: number;
  /** Attempts after the first, for retryable failures only. */
  readonly retries: number;
  readonly fetch: FetchLike;
  /** The first backoff's upper bound; each retry doubles it up to backoffMaxMs. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** [0, 1): the jitter's source; injectable so tests are deterministic. */
  readonly random: () => number;
}

export interface ApiCall {
  readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  /** Below /data/v1, already percent-encoded: /tables/carts/rows/c1 */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** JSON-serialisable; absent for GET and DELETE. `null` is a value, so presence is explicit. */
  readonly body?: { readonly json: unknown };
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal | undefined;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly servedBy: string | null;
}

const apiBase = '/data/v1';

export class Transport {
  private readonly base: string;

  constructor(private readonly o: TransportOptions) {
    this.base = o.url.replace(/\/+$/, '');
  }

  /** The 2xx answer of the call; any other outcome is thrown as a MeridianDataError. */
  async send(call: ApiCall): Promise<ApiAnswer> {
    const url = this.url(call);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.o.token}` };
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body.json);
      headers['content-type'] = 'application/json';
    }
    for (const [k, v] of Object.entries(call.headers ?? {})) if (v !== undefined) headers[k] = v;

    for (let attempt = 0; ; attempt++) {
      throwIfAborted(call.signal);
      const outcome = await this.attempt(url, { method: call.method, headers, ...(body !== undefined && { body }) }, call.signal);
      if (outcome instanceof MeridianDataError) {
        if (!outcome.retryable || attempt >= this.o.retries) throw outcome;
        await sleep(this.backoffMs(attempt, outcome.retryAfterMs), call.signal);
        continue;
      }
      return outcome;
    }
  }

  private url(call: ApiCall): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) q.set(k, v);
    const qs = q.toString();
    return `${this.base}${apiBase}${call.path}${qs === '' ? '' : `?${qs}`}`;
  }

  /** Full jitter (a uniform pause up to the capped exponential bound), or the server's Retry-After when it asks for longer. */
  private backoffMs(attempt: number, retryAfterMs: number | null): number {
    const bound = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** attempt);
    const jittered = this.o.random() * bound;
    return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, this.o.backoffMaxMs));
  }

  private async attempt(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<ApiAnswer | AttemptError> {
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let res: Response;
    let text: string;
    try {
      res = await this.o.fetch(url, { ...init, signal: combined });
      text = await res.text();
    } catch (e) {
      if (signal?.aborted === true) throw aborted(signal);
      if (timeout.aborted) return new AttemptError({ status: 0, code: 'timeout', reason: `no answer from ${this.base} within ${this.o.timeoutMs} ms`, retryable: true, cause: e });
      return new AttemptError({ status: 0, code: 'network', reason: `${this.base} unreachable: ${describe(e)}`, retryable: true, cause: e });
    }
    const servedBy = res.headers.get('x-meridian-served-by');
    const parsed = parseJson(text);
    if (res.status >= 200 && res.status < 300) {
      if (parsed === undefined) throw new MeridianDataError({ status: res.status, code: 'bad_response', reason: `the answer is not JSON: ${snippet(text)}`, retryable: false, servedBy });
      return { status: res.status, body: parsed, servedBy };
    }
    const retryable = retryableStatuses.has(res.status);
    const err = errorBody(parsed);
    const init2 = err === null
      ? { status: res.status, code: `http_${res.status}`, reason: snippet(text) || res.statusText || 'no reason given', retryable, servedBy }
      : { status: res.status, code: err.error, reason: err.reason, retryable, servedBy, ...('current' in err && { current: err.current }) };
    if (!retryable) throw new MeridianDataError(init2);
    return new AttemptError(init2, retryAfter(res.headers.get('retry-after')));
  }
}

/** A failed attempt that may be retried; thrown as it is when the retries run out. */
class AttemptError extends MeridianDataError {
  constructor(init: ConstructorParameters<typeof MeridianDataError>[0], readonly retryAfterMs: number | null = null) {
    super(init);
  }
}

function errorBody(x: unknown): { error: string; reason: string; current?: string | null } | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  if (typeof o.error !== 'string') return null;
  const out: { error: string; reason: string; current?: string | null } = { error: o.error, reason: typeof o.reason === 'string' ? o.reason : o.error };
  if (typeof o.current === 'string' || o.current === null) out.current = o.current;
  return out;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Retry-After in seconds (the HTTP-date form is not worth a clock comparison here). */
function retryAfter(h: string | null): number | null {
  if (h === null || !/^\d+$/.test(h.trim())) return null;
  return Number(h.trim()) * 1000;
}

const snippet = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text).trim();

function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}

function aborted(signal: AbortSignal): MeridianDataError {
  return new MeridianDataError({ status: 0, code: 'aborted', reason: 'the caller aborted the call', retryable: false, cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw aborted(signal);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(aborted(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
