// Reading the API's answers into typed values. The node is trusted to send the value's
// type (the schema is the application's promise), but the envelope is checked, so a
// wrong or truncated answer is a clear error rather than an undefined deep in the app.

import { MeridianDataError } from './errors.js';
import type { Deleted, Page, Row, RowVersion } from './types.js';

type Json = Record<string, unknown>;

function bad(what: string, body: unknown): MeridianDataError {
  return new MeridianDataError({ status: 200, code: 'bad_response', reason: `${what}: ${JSON.stringify(body)?.slice(0, 200)}`, retryable: false });
}

function object(body: unknown, what: string): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(`${what} is not an object`, body);
  return body as Json;
}

export function readRow<V>(body: unknown, servedBy: string | null): Row<V> {
  const o = object(body, 'row');
  if (typeof o.table !== 'string' || typeof o.key !== 'string' || typeof o.version !== 'string' || !('value' in o)) throw bad('row without table, key, value and version', body);
  const region = typeof o.region === 'string' ? o.region : servedBy ?? '';
  return { table: o.table, key: o.key, value: o.value as V, version: o.version as RowVersion, home: typeof o.home === 'string' ? o.home : null, region };
}

export function readDeleted(body: unknown, servedBy: string | null): Deleted {
  const o = object(body, 'delete answer');
  if (typeof o.table !== 'string' || typeof o.key !== 'string' || typeof o.version !== 'string' || o.deleted !== true) throw bad('delete answer without table, key, deleted and version', body);
  return { table: o.table, key: o.key, deleted: true, version: o.version as RowVersion, region: typeof o.region === 'string' ? o.region : servedBy ?? '' };
}

export function readPage<V>(body: unknown, servedBy: string | null): Page<V> {
  const o = object(body, 'page');
  if (!Array.isArray(o.rows) || !(typeof o.cursor === 'string' || o.cursor === null || o.cursor === undefined)) throw bad('page without rows and cursor', body);
  return { rows: o.rows.map((r: unknown) => readRow<V>(r, servedBy)), cursor: typeof o.cursor === 'string' ? o.cursor : null };
}

export function readTotal(body: unknown): number {
  const o = object(body, 'counter');
  if (typeof o.value !== 'number' || !Number.isFinite(o.value)) throw bad('counter without a numeric value', body);
  return o.value;
}
