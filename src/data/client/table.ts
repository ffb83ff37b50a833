// A table of the application's schema: typed reads, writes, deletes and listing over
// the data API. Every write is one call with one idempotency key, whatever the retries.

import { MeridianDataError } from './errors.js';
import { readDeleted, readPage, readRow } from './rows.js';
import type { Transport } from './transport.js';
import type { Consistency, DeleteOptions, Deleted, GetOptions, ListOptions, Page, PutOptions, Row } from './types.js';

/** Makes an idempotency key: one per call, reused by every retry of that call. */
export type KeyMaker = () => string;

export const rowPath = (table: string, key: string): string => `/tables/${encodeURIComponent(table)}/rows/${encodeURIComponent(key)}`;

export function consistencyQuery(c: Consistency | undefined): Record<string, string | undefined> {
  if (c === undefined) return {};
  if (c === 'local' || c === 'strong') return { consistency: c };
  if (!Number.isFinite(c.maxStalenessMs) || c.maxStalenessMs < 0) throw new RangeError(`maxStalenessMs must be a number of ms >= 0, got ${c.maxStalenessMs}`);
  return { max_staleness_ms: String(Math.floor(c.maxStalenessMs)) };
}

/** null for a row that is not there; any other failure is thrown. */
export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof MeridianDataError && e.status === 404 && e.code === 'not_found') return null;
    throw e;
  }
}

/** One table, its rows typed `V`. Get one from `client.table(name)`. */
export class Table<V> {
  constructor(readonly name: string, private readonly transport: Transport, private readonly newKey: KeyMaker) {}

  /**
   * Reads one row; null when there is none.
   * @throws MeridianDataError — `unknown_table`, `residency`, `not_fresh`, `not_implemented` (strong, for now), ...
   */
  async get(key: string, opts: GetOptions = {}): Promise<Row<V> | null> {
    return orNull((async () => {
      const a = await this.transport.send({
        method: 'GET',
        path: rowPath(this.name, key),
        query: { ...consistencyQuery(opts.consistency), home: opts.home },
        signal: opts.signal,
      });
      return readRow<V>(a.body, a.servedBy);
    })());
  }

  /**
   * Writes one row and answers with it as stored (its new version, its home).
   * `ifVersion` makes it a compare-and-set, `ifAbsent` a create; either failing throws
   * `version_conflict` with the row's `current` version.
   */
  async put(key: string, value: V, opts: PutOptions = {}): Promise<Row<V>> {
    if (value === undefined) throw new TypeError(`put ${this.name}/${key}: the value is undefined; a row holds a JSON value (use delete to remove it)`);
    if (opts.ifVersion !== undefined && opts.ifAbsent === true) throw new TypeError('put: ifVersion and ifAbsent do not go together');
    const a = await this.transport.send({
      method: 'PUT',
      path: rowPath(this.name, key),
      body: { json: value },
      headers: {
        'idempotency-key': opts.idempotencyKey ?? this.newKey(),
        'if-match': opts.ifVersion,
        'if-none-match': opts.ifAbsent === true ? '*' : undefined,
        'x-meridian-home': opts.home,
      },
      signal: opts.signal,
    });
    return readRow<V>(a.body, a.servedBy);
  }

  /** Deletes one row; null when there was none. A conditional delete that lost throws version_conflict. */
  async delete(key: string, opts: DeleteOptions = {}): Promise<Deleted | null> {
    const idempotencyKey = opts.idempotencyKey ?? this.newKey();
    return orNull((async () => {
      const a = await this.transport.send({
        method: 'DELETE',
        path: rowPath(this.name, key),
        headers: { 'idempotency-key': idempotencyKey, 'if-match': opts.ifVersion, 'x-meridian-home': opts.home },
        signal: opts.signal,
      });
      return readDeleted(a.body, a.servedBy);
    })());
  }

  /** One page of rows in key order; pass the page's `cursor` back for the next. */
  async list(opts: ListOptions = {}): Promise<Page<V>> {
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 1000)) throw new RangeError(`list: limit must be an integer in 1..1000, got ${opts.limit}`);
    const a = await this.transport.send({
      method: 'GET',
      path: `/tables/${encodeURIComponent(this.name)}/rows`,
      query: { prefix: opts.prefix, limit: opts.limit === undefined ? undefined : String(opts.limit), cursor: opts.cursor },
      signal: opts.signal,
    });
    return readPage<V>(a.body, a.servedBy);
  }

  /** Every row (with the prefix), page by page: `for await (const row of t.rows()) ...`. */
  async *rows(opts: Omit<ListOptions, 'cursor'> = {}): AsyncGenerator<Row<V>, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...opts, ...(cursor !== undefined && { cursor }) });
      yield* page.rows;
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined);
  }
}
