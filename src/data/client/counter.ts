// A counter table (`type: counter`): conflict-free, so increments are accepted in every
// region and add up everywhere. An increment is not idempotent by nature, which is why
// each call carries one idempotency key through all its retries.

import { readTotal } from './rows.js';
import { consistencyQuery, orNull, rowPath, type KeyMaker } from './table.js';
import type { Transport } from './transport.js';
import type { CallOptions, Consistency, IncrementOptions } from './types.js';

/** One counter table. Get one from `client.counter(name)`. */
export class Counter {
  constructor(readonly name: string, private readonly transport: Transport, private readonly newKey: KeyMaker) {}

  /** Adds `by` (an integer, may be negative) to the key's count and answers with the total this region now sees. */
  async increment(key: string, by = 1, opts: IncrementOptions = {}): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment ${this.name}/${key}: by must be a safe integer, got ${by}`);
    const a = await this.transport.send({
      method: 'POST',
      path: `${rowPath(this.name, key)}/increment`,
      body: { json: { by } },
      headers: { 'idempotency-key': opts.idempotencyKey ?? this.newKey() },
      signal: opts.signal,
    });
    return readTotal(a.body);
  }

  /** The key's count as this region sees it; 0 for a key never incremented. */
  async get(key: string, opts: CallOptions & { consistency?: Consistency } = {}): Promise<number> {
    const total = await orNull((async () => {
      const a = await this.transport.send({ method: 'GET', path: rowPath(this.name, key), query: consistencyQuery(opts.consistency), signal: opts.signal });
      return readTotal(a.body);
    })());
    return total ?? 0;
  }
}
