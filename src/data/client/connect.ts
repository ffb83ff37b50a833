// connect(): the SDK's entry. One client per data API address; tables and counters are
// views over its one transport, typed by the application's schema.

import { Counter } from './counter.js';
import { Table } from './table.js';
import { Transport, type FetchLike } from './transport.js';

export interface ConnectOptions {
  /** The region node's data API address (its mesh/admin address), e.g. `http://127.0.3.1:7070`. */
  readonly url: string;
  /** The application token: the value of the env var `security.app_token_env` names (default MERIDIAN_APP_TOKEN). */
  readonly token: string;
  /** Time allowed for one attempt, answer body included. Default 2000 ms. */
  readonly timeoutMs?: number;
  /**
   * Attempts after the first, made only when no answer came (network error, timeout)
   * or the answer was 502, 503 or 504 — never after a 4xx. Default 3. A call takes at
   * most (retries + 1) × timeoutMs plus retries × backoffMaxMs.
   */
  readonly retries?: number;
  /** Default: the global fetch. */
  readonly fetch?: FetchLike;
  /** Upper bound of the first retry's pause (full jitter), doubling per retry. Default 50 ms. */
  readonly backoffBaseMs?: number;
  /** Cap of any one pause between attempts. Default 1000 ms. */
  readonly backoffMaxMs?: number;
}

/** Table names of `Schema` whose rows are numbers: the ones `counter()` accepts. */
export type CounterTables<Schema> = { [K in keyof Schema]: Schema[K] extends number ? K : never }[keyof Schema] & string;

/** A connection to one region node's data API. */
export interface MeridianClient<Schema> {
  /** The table `name`, its values typed by the schema. */
  table<K extends keyof Schema & string>(name: K): Table<Schema[K]>;
  /** The counter table `name` (`type: counter` in the topology). */
  counter<K extends CounterTables<Schema>>(name: K): Counter;
}

/**
 * Connects to a region node's data API. Nothing is sent until the first call.
 *
 * ```ts
 * import { connect } from 'meridian/client';
 * type Shop = { carts: { region: string; items: string[] }; views: number };
 * const db = connect<Shop>({ url: process.env.MERIDIAN_DATA_URL!, token: process.env.MERIDIAN_APP_TOKEN! });
 * await db.table('carts').put('c1', { region: 'eu-west-1', items: [] });
 * const cart = await db.table('carts').get('c1', { consistency: { maxStalenessMs: 500 } });
 * await db.counter('views').increment('home');
 * ```
 *
 * Every write (put, delete, increment) gets one idempotency key per call, sent on each
 * of its retries, so a write whose answer was lost is applied once.
 *
 * @throws TypeError or RangeError at once for a malformed url, token or bound.
 */
export function connect<Schema = Record<string, unknown>>(opts: ConnectOptions): MeridianClient<Schema> {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw new TypeError(`connect: url ${JSON.stringify(opts.url)} is not a URL; expected like http://127.0.3.1:7070`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`connect: url must be http or https, got ${parsed.protocol}`);
  if (typeof opts.token !== 'string' || opts.token === '') throw new TypeError('connect: token is required (the application token, e.g. from MERIDIAN_APP_TOKEN)');
  const timeoutMs = opts.timeoutMs ?? 2000;
  const retries = opts.retries ?? 3;
  const backoffBaseMs = opts.backoffBaseMs ?? 50;
  const backoffMaxMs = opts.backoffMaxMs ?? 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`connect: timeoutMs must be > 0, got ${timeoutMs}`);
  // Bounded so that a misconfiguration cannot turn one call into an unbounded loop.
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw new RangeError(`connect: retries must be an integer in 0..10, got ${retries}`);
  if (!(backoffBaseMs >= 0) || !(backoffMaxMs >= backoffBaseMs)) throw new RangeError('connect: expected 0 <= backoffBaseMs <= backoffMaxMs');
  const fetchFn: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));

  const transport = new Transport({ url: opts.url, token: opts.token, timeoutMs, retries, fetch: fetchFn, backoffBaseMs, backoffMaxMs, random: Math.random });
  const newKey = (): string => globalThis.crypto.randomUUID();
  return {
    table: <K extends keyof Schema & string>(name: K) => new Table<Schema[K]>(name, transport, newKey),
    counter: (name) => new Counter(name, transport, newKey),
  };
}
